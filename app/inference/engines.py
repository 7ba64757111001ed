"""Fill engines by name: the MTSA checkpoints and OpenCV's classical fills.

No engine downloads anything: networks come from checkpoints in ``model_weights/`` (or
``$TEMPERA_WEIGHTS``), and ``auto`` falls back to the classical fill, saying why.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from app.core.errors import TemperaError
from app.core.names import ENGINE_NAMES, NETWORK_ENGINES, bucket_of
from app.model import InpaintGenerator

from .checkpoint import load_generator, read_info
from .device import describe, is_out_of_memory, resolve_device
from .predict import explain, predict

log = logging.getLogger(__name__)

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


class Engine:
    """Common face of every engine: ``fill`` returns the composited uint8 image."""

    name: str = ""
    guided: bool = False
    notice: str | None = None

    @property
    def device(self) -> str:
        return "CPU"

    def fill(self, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def warmup(self) -> None:
        """Run one small fill so the first real one is not slow."""
        rgb = np.full((64, 64, 3), 128, np.uint8)
        mask = np.zeros((64, 64), bool)
        mask[24:40, 24:40] = True
        self.fill(rgb, mask)

    def explain(self, rgb, mask, sketch, point_xy) -> dict[str, np.ndarray] | None:
        return None


def _check_inputs(rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise TemperaError("the image must be 8-bit RGB")
    if mask.shape != rgb.shape[:2]:
        raise TemperaError(f"the mask is {mask.shape[1]} x {mask.shape[0]} but the image is {rgb.shape[1]} x {rgb.shape[0]}")
    if sketch is not None and sketch.shape != rgb.shape[:2]:
        raise TemperaError(
            f"the sketch is {sketch.shape[1]} x {sketch.shape[0]} but the image is {rgb.shape[1]} x {rgb.shape[0]}"
        )


class ClassicalEngine(Engine):
    """OpenCV's Telea (fast marching) or Navier-Stokes fill; ignores sketches."""

    def __init__(self, name: str) -> None:
        if name not in CLASSICAL_ENGINES:
            raise TemperaError(f"unknown classical engine {name!r}")
        self.name = name
        self._flag = CLASSICAL_ENGINES[name]

    def fill(self, rgb, mask, sketch=None):
        _check_inputs(rgb, mask, sketch)
        mask = mask.astype(bool)
        if not mask.any():
            return rgb.copy()
        out = cv2.inpaint(rgb, mask.astype(np.uint8) * 255, CLASSICAL_RADIUS, self._flag)
        return np.where(mask[..., None], out, rgb)


class NetworkEngine(Engine):
    """An MTSA checkpoint on a device, falling back to the CPU when the GPU runs out of memory."""

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

    def _to_cpu(self, error: BaseException) -> None:
        self.notice = f"{describe(self.torch_device)} ran out of memory; continuing on the CPU"
        log.warning("%s (%s)", self.notice, str(error).splitlines()[0] if str(error) else type(error).__name__)
        self.torch_device = torch.device("cpu")
        self.generator.to(self.torch_device)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(self.generator, *args, device=self.torch_device, **kwargs)
        except Exception as exc:
            if self.torch_device.type == "cpu" or not is_out_of_memory(exc):
                raise
            self._to_cpu(exc)
            return fn(self.generator, *args, device=self.torch_device, **kwargs)

    def fill(self, rgb, mask, sketch=None):
        _check_inputs(rgb, mask, sketch)
        return self._call(predict, rgb, mask.astype(bool), sketch if self.guided else None, hd=self.hd)

    def explain(self, rgb, mask, sketch, point_xy):
        _check_inputs(rgb, mask, sketch)
        if not mask.any():
            return None
        return self._call(explain, rgb, mask.astype(bool), sketch if self.guided else None, point_xy)


def _wins(info: dict[str, Any]) -> dict[str, bool]:
    """Per-bucket verdicts recorded in a checkpoint's sidecar by the evaluation."""
    meta = info.get("meta", {}) if isinstance(info, dict) else {}
    wins = meta.get("beats_classical", {})
    return {str(k): bool(v) for k, v in wins.items()} if isinstance(wins, dict) else {}


class AutoEngine(Engine):
    """Uses a network only where its recorded evaluation beats the classical fill.

    The choice is made per fill from the hole's share of the image, against the buckets
    recorded in the checkpoint's sidecar (``meta.beats_classical``). A sketch selects the
    guided checkpoint when one is installed.
    """

    name = "auto"

    def __init__(self, device: torch.device, weights_dir: Path | None = None, hd: str = "crop") -> None:
        self.hd = hd
        self.classical = ClassicalEngine("telea")
        self.torch_device = device
        self.checkpoints = installed_checkpoints(weights_dir)
        self.networks: dict[str, NetworkEngine] = {}
        self.wins: dict[str, dict[str, bool]] = {}
        for name in ("mtsa", "mtsa-guided"):
            if name in self.checkpoints:
                try:
                    self.wins[name] = _wins(read_info(self.checkpoints[name]))
                except TemperaError as exc:
                    log.warning("ignoring %s: %s", name, exc)
        if not self.wins:
            self.notice = "auto: no MTSA checkpoint is installed, using the classical Telea fill"
        elif not any(any(v.values()) for v in self.wins.values()):
            self.notice = "auto: the installed MTSA checkpoints do not beat Telea in their recorded evaluation, using Telea"
        else:
            self.notice = None
        self.last_choice = self.classical.name
        self.guided = "mtsa-guided" in self.wins

    @property
    def device(self) -> str:
        return describe(self.torch_device) if self.last_choice != "telea" else "CPU"

    def _network(self, name: str) -> NetworkEngine:
        if name not in self.networks:
            self.networks[name] = NetworkEngine.from_checkpoint(name, self.checkpoints[name], self.torch_device, self.hd)
        return self.networks[name]

    def choose(self, mask: np.ndarray, sketch: np.ndarray | None) -> tuple[Engine, str | None]:
        """The engine for this hole and sketch, and the notice to show when it is Telea."""
        has_sketch = sketch is not None and bool((sketch[mask.astype(bool)] > 127).any())
        order = ("mtsa-guided", "mtsa") if has_sketch else ("mtsa",)
        bucket = bucket_of(float(mask.mean()))
        for name in order:
            if self.wins.get(name, {}).get(bucket):
                return self._network(name), None
        if not self.wins:
            return self.classical, self.notice  # the start-up notice: nothing installed
        return self.classical, (
            f"auto: Telea for this {mask.mean() * 100:.0f} % hole (the network's recorded evaluation "
            f"does not beat it in the {bucket} % bucket)"
        )

    def fill(self, rgb, mask, sketch=None):
        _check_inputs(rgb, mask, sketch)
        engine, self.notice = self.choose(mask, sketch)
        self.last_choice = engine.name
        return engine.fill(rgb, mask, sketch)

    def warmup(self) -> None:
        for name in self.wins:
            self._network(name).warmup()

    def explain(self, rgb, mask, sketch, point_xy):
        # explain with the network this mask and sketch are filled with, so the map
        # belongs to the fill the user sees; None where auto fills with Telea
        engine, _ = self.choose(mask, sketch)
        return engine.explain(rgb, mask, sketch, point_xy)


def load_engine(
    name: str = "auto",
    device: str | torch.device = "auto",
    weights_dir: Path | None = None,
    *,
    hd: str = "crop",
) -> Engine:
    """Build an engine by name; raises ``TemperaError`` when it cannot be had here.

    ``hd`` is the large-photo strategy of the network engines ("crop" or "resize").
    """
    name = (name or "auto").strip().lower()
    if name not in ENGINE_NAMES:
        raise TemperaError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")
    if name in CLASSICAL_ENGINES:
        return ClassicalEngine(name)
    torch_device = device if isinstance(device, torch.device) else resolve_device(device)
    if name == "auto":
        return AutoEngine(torch_device, weights_dir, hd)
    checkpoints = installed_checkpoints(weights_dir)
    if name not in checkpoints:
        folder = Path(weights_dir) if weights_dir else default_weights_dir()
        raise TemperaError(f"engine {name!r} needs {folder / (name + '.pt')} and its .json, which are not installed")
    return NetworkEngine.from_checkpoint(name, checkpoints[name], torch_device, hd)
