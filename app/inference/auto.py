"""``auto``: the engine that measured best for this kind of hole.

``model_weights/auto.json`` (written by ``scripts/auto_routes.py`` from an evaluation on
held-out photos) ranks the engines per situation: hole-size bucket x textured or smooth
surround x strokes or none, plus thin scratches. The ranking comes from perceptual
metrics the networks were not trained on (ST-LPIPS-vgg, KID) together with ST-LPIPS-alex,
never from PSNR or L1 alone, which reward blur. ``auto`` fills with the first engine of
the ranking that is available here (a checkpoint or PatchMatch may be missing) and says
in the result which engine that was. With strokes in the hole only engines that follow
strokes are candidates. Without a routes file it uses a fixed order and says so.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.core.errors import TemperaError
from app.core.fill_result import FillResult
from app.core.names import TEXTURE_ENGINE

from .device import describe
from .engines import Engine, EngineSet, default_weights_dir
from .situation import TEXTURE_THRESHOLD, Situation, situation

log = logging.getLogger(__name__)

ROUTES_FILE = "auto.json"
STROKE_ENGINES = (TEXTURE_ENGINE, "mtsa-guided")  # the engines that follow a sketch
DEFAULT_ORDER = (TEXTURE_ENGINE, "patchmatch", "mtsa", "telea")
DEFAULT_THIN = ("telea", "ns")
CANDIDATES = ("telea", "ns", "patchmatch", "mtsa", "mtsa-guided", TEXTURE_ENGINE)  # what auto may route to


def read_routes(weights_dir: Path | None = None) -> tuple[dict[str, list[str]], float]:
    """Situation key -> engines best first, and the texture threshold, from ``auto.json``;
    ({}, the default threshold) when the file is absent or unreadable."""
    path = (Path(weights_dir) if weights_dir else default_weights_dir()) / ROUTES_FILE
    if not path.is_file():
        return {}, TEXTURE_THRESHOLD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        routes = {str(k): [str(e) for e in v] for k, v in data["routes"].items()}
        return routes, float(data.get("texture_threshold", TEXTURE_THRESHOLD))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}, TEXTURE_THRESHOLD


class AutoEngine(Engine):
    name = "auto"
    randomized = True
    says_strokes_ignored = True
    one_core = True  # its routes are patch searches and diffusion; with strokes a network

    def __init__(self, device: torch.device, weights_dir: Path | None = None, hd: str = "crop") -> None:
        self.hd = hd
        self.torch_device = device
        self._set = EngineSet(device, weights_dir, hd)
        self.checkpoints = self._set.checkpoints
        self.routes, self.texture_threshold = read_routes(weights_dir)
        self.available = self._set.available(CANDIDATES)
        self.guided = "mtsa-guided" in self.available
        notes = []
        if not self.routes:
            notes.append("auto: no recorded routes (model_weights/auto.json), using the default order "
                         + " > ".join(DEFAULT_ORDER))
        if "patchmatch" not in self.available:
            notes.append(self._set.unavailable("patchmatch") or "")
        if "mtsa" not in self.checkpoints:
            notes.append("auto: no MTSA checkpoint is installed")
        self.startup_notice = "; ".join(n for n in notes if n) or None

    @property
    def device(self) -> str:
        return describe(self.torch_device)

    def engine(self, name: str) -> Engine:
        """The engine ``name``, built once and shared (the texture engine reuses the networks)."""
        if name not in self.available:
            raise TemperaError(f"auto: engine {name!r} is not available here")
        return self._set.get(name)

    def ranking(self, where: Situation) -> list[str]:
        """Engines for this situation, best measured first, limited to what is available."""
        if where.thin and not where.strokes:
            order = self.routes.get("thin", list(DEFAULT_THIN))
        else:
            order = self.routes.get(where.key, list(DEFAULT_ORDER))
        if where.strokes:
            order = [n for n in order if n in STROKE_ENGINES] or list(STROKE_ENGINES)
        ranked = [n for n in order if n in self.available]
        return ranked or ["telea"]

    def choose(self, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None) -> tuple[str, Situation]:
        where = situation(rgb, mask, sketch, texture_threshold=self.texture_threshold)
        return self.ranking(where)[0], where

    def _fill(self, rgb, mask, sketch, protect, seed, progress, drawn=None):
        # the routes were measured on holes as drawn: a feather ring would turn a scratch
        # into a wider hole and a hole into a larger one
        hole = mask if drawn is None else drawn
        name, where = self.choose(rgb, hole, sketch)
        if log.isEnabledFor(logging.INFO):  # main.py -v
            share = float(np.count_nonzero(hole)) / hole.size
            log.info("auto: a hole of %.1f %% (routed as %s %%)%s, %s surround, %s -> %s", 100 * share, where.bucket,
                     " (a thin scratch)" if where.thin else "", "textured" if where.textured else "smooth",
                     "with strokes" if where.strokes else "no strokes", name)
        strokes = sketch if name in STROKE_ENGINES else None  # the others would only say they ignore them
        # the chosen engine's own fill, not its public wrapper: this one's checked the inputs,
        # left an empty hole and greys a gray photo's hole already, and on a 24 MP photo the
        # wrapper's passes over the photo would cost its 200 x 150 hole about 20 ms again
        result = self.engine(name)._fill(rgb, mask, strokes, protect, seed, progress)
        notice = result.notice
        if where.strokes and name not in STROKE_ENGINES:
            notice = "; ".join(n for n in (notice, "no sketch-following engine is installed: the strokes were ignored")
                               if n)
        return FillResult(result.image, result.engine, result.device, notice, seed)

    def warmup(self) -> None:
        for name in ("mtsa", "mtsa-guided"):
            if name in self.available:
                self.engine(name).warmup()

    def explain(self, rgb, mask, sketch, point_xy, protect=None) -> dict[str, Any] | None:
        # the network inside the engine that fills this hole, so the map belongs to the
        # fill the user sees; None where auto fills without a network
        name, _ = self.choose(rgb, mask, sketch)
        return self.engine(name).explain(rgb, mask, sketch, point_xy, protect)
