"""Fill engines by name: the MTSA checkpoints, PatchMatch, OpenCV's classical fills, the
texture engine (``texture_engine.py``) and ``auto`` (``auto.py``).

No engine downloads anything: networks come from checkpoints in ``model_weights/`` (or
``$TEMPERA_WEIGHTS``); PatchMatch comes from the installed ``pypatchmatch`` wheel.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from app.core.errors import TemperaError
from app.core.fill_result import FillResult
from app.core.imageio import luma
from app.core.maskops import as_bool, as_uint8
from app.core.names import ENGINE_NAMES, NETWORK_ENGINES, TEXTURE_ENGINE
from app.model import InpaintGenerator

from . import patchmatch
from .checkpoint import load_generator
from .device import cpu_fallback_notice, describe, on_cpu_after_oom, resolve_device
from .predict import explain, predict
from .prior import opencv_inpaint
from .situation import has_strokes

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (parts done, parts in all): the network's fill, each hole region

CLASSICAL_ENGINES = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
CLASSICAL_RADIUS = 5
WEIGHTS_ENV = "TEMPERA_WEIGHTS"


def default_weights_dir() -> Path:
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "model_weights"


def installed_checkpoints(weights_dir: Path | None = None) -> dict[str, Path]:
    """Engine name -> checkpoint path for every ``<engine>.pt`` with its JSON sidecar."""
    folder = Path(weights_dir) if weights_dir else default_weights_dir()
    found = {}
    for name in NETWORK_ENGINES:
        path = folder / f"{name}.pt"
        if path.is_file() and path.with_suffix(".json").is_file():
            found[name] = path
    return found


GRAY_SPREAD = 3  # grey levels between a pixel's channels that still count as gray (JPEG noise)
GRAY_SAMPLE = 100_000  # known pixels looked at, at most


def looks_gray(rgb: np.ndarray, hole: np.ndarray) -> bool:
    """Whether the photo around the hole is black and white stored as colour: nearly every
    known pixel (all but 1 in 1,000) has its channels within GRAY_SPREAD of each other."""
    step = max(1, hole.size // GRAY_SAMPLE)  # a strided sample: a 24 MP photo costs what 0.1 MP does
    known = ~hole.reshape(-1)[::step]
    if not known.any():
        return False
    pixels = rgb.reshape(-1, 3)[::step][known]
    spread = pixels.max(axis=1).astype(np.int16) - pixels.min(axis=1)
    return float(np.mean(spread > GRAY_SPREAD)) <= 0.001


def gray_in_hole(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` with its hole pixels turned to their luma (ITU-R 601) in all three channels."""
    out = image.copy()
    out[hole] = luma(out[hole])[:, None]
    return out


class Engine:
    """Common face of every engine: ``fill`` returns a :class:`FillResult`.

    ``fill(rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None)``:
    ``mask`` and ``protect`` are bool (True = fill here / never copy from here), ``sketch``
    uint8 (white strokes), ``drawn`` (bool) the hole as the user drew it when ``mask`` is
    that hole grown by a feather ring (``auto`` classifies the drawn hole, as its routes
    were measured on holes without a ring; the others fill ``mask`` and ignore it),
    ``seed`` picks the variation where the engine has randomness (PatchMatch's search),
    ``progress(done, total)`` is called as parts of the fill finish (the network's fill,
    each hole region PatchMatch fills), and ``progress(0, 0)`` between smaller steps (the
    network's crops of a large photo) and while a large hole's search runs in its child
    process: no news, but a caller may raise there to stop (the child is killed).
    Pixels outside the hole are the input's exactly. ``startup_notice`` is what loading the
    engine has to say (fixed after loading); everything about one fill is in its result.
    """

    name: str = ""
    guided: bool = False
    startup_notice: str | None = None
    randomized: bool = False  # whether different seeds give different fills
    says_strokes_ignored: bool = False  # its own notice says when it ignored strokes (auto)
    # whether a fill keeps about one core busy (a patch search, OpenCV's diffusion), so a
    # batch fills several photos at once; a network on the CPU already uses every core
    one_core: bool = False

    @property
    def device(self) -> str:
        return "CPU"

    def fill(self, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None, *,
             protect: np.ndarray | None = None, seed: int = 0, progress: Progress | None = None,
             drawn: np.ndarray | None = None) -> FillResult:
        check_inputs(rgb, mask, sketch, protect, drawn)
        mask = as_bool(mask)
        protect = as_bool(protect) if protect is not None and protect.any() else None
        if not mask.any():
            return FillResult(rgb.copy(), self.name, self.device, None, seed)
        drawn = as_bool(drawn) & mask if drawn is not None else None
        result = self._fill(rgb, mask, sketch, protect, seed, progress,
                            drawn=drawn if drawn is not None and drawn.any() else None)
        if looks_gray(rgb, mask):  # a black-and-white photo kept as RGB: no colour in its fill
            result = replace(result, image=gray_in_hole(result.image, mask))
        if not (self.guided or self.says_strokes_ignored) and has_strokes(sketch, mask):  # said, not dropped unsaid
            ignored = (f"{self.name} does not follow sketch strokes: they were ignored "
                       "(auto, mtsa-texture and mtsa-guided follow them)")
            result = replace(result, notice="; ".join(n for n in (result.notice, ignored) if n))
        return result

    def _fill(self, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None, protect: np.ndarray | None,
              seed: int, progress: Progress | None, drawn: np.ndarray | None = None) -> FillResult:
        raise NotImplementedError

    def warmup(self) -> None:
        """Run one small fill so the first real one is not slow."""
        rgb = np.full((64, 64, 3), 128, np.uint8)
        mask = np.zeros((64, 64), bool)
        mask[24:40, 24:40] = True
        self.fill(rgb, mask)

    def explain(self, rgb, mask, sketch, point_xy, protect=None) -> dict[str, np.ndarray] | None:
        return None


def check_inputs(rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None,
                 protect: np.ndarray | None = None, drawn: np.ndarray | None = None) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise TemperaError("the image must be 8-bit RGB")
    for what, layer in (("mask", mask), ("sketch", sketch), ("protect mask", protect), ("drawn hole", drawn)):
        if layer is not None and layer.shape[:2] != rgb.shape[:2]:
            raise TemperaError(f"the {what} is {layer.shape[1]} x {layer.shape[0]} but the image is "
                               f"{rgb.shape[1]} x {rgb.shape[0]}")


class ClassicalEngine(Engine):
    """OpenCV's Telea (fast marching) or Navier-Stokes fill; ignores sketches."""

    one_core = True

    def __init__(self, name: str) -> None:
        if name not in CLASSICAL_ENGINES:
            raise TemperaError(f"unknown classical engine {name!r}")
        self.name = name
        self._flag = CLASSICAL_ENGINES[name]

    def _fill(self, rgb, mask, sketch, protect, seed, progress, drawn=None):
        # diffusion reads the pixels around the hole's edge; protected ones there are
        # filled too (and thrown away), so it reads none of them
        reach = mask if protect is None else _with_protected_neighbours(mask, protect)
        out = opencv_inpaint(rgb, reach, CLASSICAL_RADIUS, self._flag)
        return FillResult(np.where(mask[..., None], out, rgb), self.name, self.device, None, seed)


def _with_protected_neighbours(mask: np.ndarray, protect: np.ndarray) -> np.ndarray:
    """``mask`` plus every protected area within diffusion's reach of it (whole connected
    areas: diffusing into one reads its far side next)."""
    side = 2 * CLASSICAL_RADIUS + 3
    near = cv2.dilate(as_uint8(mask), np.ones((side, side), np.uint8)).view(bool) & protect & ~mask
    if not near.any():
        return mask
    _, labels = cv2.connectedComponents(as_uint8(protect & ~mask), connectivity=8)
    touching = np.unique(labels[near])
    return mask | np.isin(labels, touching[touching > 0])


class PatchMatchEngine(Engine):
    """PatchMatch at full resolution (``pypatchmatch``): copies texture from the photo."""

    name = "patchmatch"
    randomized = True
    one_core = True

    def __init__(self) -> None:
        why = patchmatch.unavailable_reason()
        if why:
            raise TemperaError(why)

    def _fill(self, rgb, mask, sketch, protect, seed, progress, drawn=None):
        out = patchmatch.patchmatch_fill(rgb, mask, protect=protect, seed=seed, progress=progress)
        return FillResult(out, self.name, self.device, None, seed)


class NetworkEngine(Engine):
    """An MTSA checkpoint on a device; a GPU that runs out of memory hands over to the CPU."""

    def __init__(
        self,
        name: str,
        generator: InpaintGenerator,
        device: torch.device,
        *,
        info: dict[str, Any] | None = None,
        hd: str = "crop",
    ) -> None:
        self.name = name
        self.hd = hd
        self.generator = generator.to(device).eval()
        self.info = info or {}
        self.torch_device = device
        self.guided = bool(generator.config.guided)
        # a guided network's fill of a hole without strokes is worse than the plain
        # network's (it is trained on sketches; docs/RESULTS.md): such holes go there
        self.without_strokes: NetworkEngine | None = None

    @classmethod
    def from_checkpoint(cls, name: str, path: Path, device: torch.device, hd: str = "crop") -> NetworkEngine:
        generator, info = load_generator(Path(path), device)
        engine = cls(name, generator, device, info=info, hd=hd)
        engine.path = Path(path)
        return engine

    @property
    def device(self) -> str:
        return describe(self.torch_device)

    @property
    def meta(self) -> dict[str, Any]:
        return self.info.get("meta", {})

    def _call(self, fn, *args, **kwargs) -> tuple[Any, str | None]:
        """``fn(generator, *args, device=...)``, moved to the CPU for good when the GPU runs
        out of memory (the one fallback rule: :func:`app.inference.device.on_cpu_after_oom`)."""
        def to_cpu() -> torch.device:
            self.torch_device = torch.device("cpu")
            self.generator.to(self.torch_device)
            return self.torch_device

        device = self.torch_device
        try:
            return on_cpu_after_oom(lambda d: fn(self.generator, *args, device=d, **kwargs), device, to_cpu)
        except Exception:
            if self.torch_device == device:
                raise
            # a fill running at once with this one (a batch) ran out of GPU memory and moved
            # the network to the CPU under it: this fill goes there too, by the same rule
            return fn(self.generator, *args, device=self.torch_device, **kwargs), cpu_fallback_notice(device)

    def network_fill(self, rgb, mask, sketch, protect=None, work_side: int | None = None, sparse: bool = False,
                     progress: Progress | None = None) -> tuple[np.ndarray, str | None]:
        """The network's composited fill and the notice of a device fallback, if any;
        ``work_side`` and ``sparse``: see :func:`predict`. ``progress`` hears the heartbeat
        ``progress(0, 0)`` between the crops of a large photo (a chance to stop)."""
        between = (lambda: progress(0, 0)) if progress is not None else None
        return self._call(predict, rgb, mask, sketch if self.guided else None, hd=self.hd, protect=protect,
                          work_side=work_side, sparse=sparse, between=between)

    def _delegate(self, mask, sketch) -> NetworkEngine | None:
        if self.without_strokes is not None and not has_strokes(sketch, mask):
            return self.without_strokes
        return None

    def _fill(self, rgb, mask, sketch, protect, seed, progress, drawn=None):
        other = self._delegate(mask, sketch)
        if other is not None:
            return other._fill(rgb, mask, None, protect, seed, progress)  # reports the engine that filled
        out, notice = self.network_fill(rgb, mask, sketch, protect, progress=progress)
        return FillResult(out, self.name, self.device, notice, seed)

    def explain(self, rgb, mask, sketch, point_xy, protect=None, work_side: int | None = None):
        check_inputs(rgb, mask, sketch, protect)
        if not mask.any():
            return None
        other = self._delegate(mask, sketch)
        if other is not None:
            return other.explain(rgb, mask, None, point_xy, protect, work_side)
        out, _ = self._call(explain, rgb, mask.astype(bool), sketch if self.guided else None, point_xy,
                            protect=protect, work_side=work_side)
        return out


class EngineSet:
    """Builds engines by name, each once, and shares them: the texture engine reuses the
    networks and a guided network hands holes without strokes to ``mtsa``. ``load_engine``
    and ``auto`` both build through one, so an engine is wired the same way wherever it is
    used. Raises ``TemperaError`` (one line) for an engine that cannot be had here."""

    def __init__(self, device: str | torch.device = "auto", weights_dir: Path | None = None,
                 hd: str = "crop") -> None:
        self._device = device
        self.hd = hd
        self.folder = Path(weights_dir) if weights_dir else default_weights_dir()
        self.checkpoints = installed_checkpoints(weights_dir)
        self._built: dict[str, Engine] = {}

    @property
    def torch_device(self) -> torch.device:
        """The networks' device, resolved when the first one is built (classical engines
        need none)."""
        if not isinstance(self._device, torch.device):
            self._device = resolve_device(self._device)
        return self._device

    def get(self, name: str) -> Engine:
        if name not in self._built:
            self._built[name] = self._build(name)
        return self._built[name]

    def unavailable(self, name: str) -> str | None:
        """Why ``name`` cannot be had here (one line), or None when it can; builds nothing."""
        if name in CLASSICAL_ENGINES:
            return None
        if name == "patchmatch":
            return patchmatch.unavailable_reason()
        needs = name
        if name == TEXTURE_ENGINE:
            why = patchmatch.unavailable_reason()
            if why:
                return f"{TEXTURE_ENGINE} needs PatchMatch: {why}"
            needs = "mtsa"
        if needs not in self.checkpoints:
            return f"engine {name!r} needs {self.folder / (needs + '.pt')} and its .json, which are not installed"
        return None

    def available(self, names) -> list[str]:
        """Those of ``names`` that can be had here, in their order."""
        return [n for n in names if self.unavailable(n) is None]

    def _build(self, name: str) -> Engine:
        why = self.unavailable(name)
        if why:
            raise TemperaError(why)
        if name in CLASSICAL_ENGINES:
            return ClassicalEngine(name)
        if name == "patchmatch":
            return PatchMatchEngine()
        if name == TEXTURE_ENGINE:
            from .texture_engine import TextureEngine

            guided = self.get("mtsa-guided") if "mtsa-guided" in self.checkpoints else None
            return TextureEngine(self.get("mtsa"), guided)  # type: ignore[arg-type]
        engine = NetworkEngine.from_checkpoint(name, self.checkpoints[name], self.torch_device, self.hd)
        log.info("%s: weights %s", name, self.checkpoints[name])  # main.py -v: which network fills
        if engine.guided and "mtsa" in self.checkpoints:
            engine.without_strokes = self.get("mtsa")  # type: ignore[assignment]
        return engine


def load_engine(
    name: str = "auto",
    device: str | torch.device = "auto",
    weights_dir: Path | None = None,
    *,
    hd: str = "crop",
) -> Engine:
    """Build an engine by name; raises ``TemperaError`` (one line) when it cannot be had here.

    ``hd`` is the large-photo strategy of the network engines ("crop" or "resize").
    """
    name = (name or "auto").strip().lower()
    if name not in ENGINE_NAMES:
        raise TemperaError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")
    if name == "auto":
        from .auto import AutoEngine

        return AutoEngine(device if isinstance(device, torch.device) else resolve_device(device), weights_dir, hd)
    return EngineSet(device, weights_dir, hd).get(name)
