"""``mtsa-texture``: an MTSA network fills at its working size, the texture stage puts the
photo's own texture on it at full resolution (``texture.py``). A sketch in the hole
selects the guided network, so the fill keeps following the strokes, and the patch search
then runs after it, guided by its fill (``texture.stroke_guide_weight``).

Without strokes the join takes only the network's broadest layout, so the network fills
a photo that goes through it whole at LAYOUT_SIDE (its training scale) rather than at full
size: on a 512-px photo a quarter of the work beside the patch search, for fills that
score alike (docs/RESULTS.md, "The network at its training scale in the texture stage").
A larger photo's hole regions are filled in crops at the same scale, each at least
MIN_CROP_SIDE on its short side (``predict``), which leaves the patch searches of several
holes the machine (RESULTS.md, "Separate holes at once")."""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext

import torch

from app.core.fill_result import FillResult
from app.core.names import REFERENCE_SIDE, TEXTURE_ENGINE

from .engines import Engine, NetworkEngine
from .situation import has_strokes
from .texture import search_follows_network, texture_stage

TEXTURE_METHOD = "blend"  # measured against "guided" and "split" on held-out photos (docs/RESULTS.md)
# the short side at which the network fills for the join when no stroke asks for its detail:
# its training crops (0.5-1 of a photo's short side, resized to 256 px)
LAYOUT_SIDE = REFERENCE_SIDE


_CORES = threading.Lock()
_CORES_HELD = {"count": 0, "threads": 0}


@contextmanager
def _one_core_less():
    """While PatchMatch runs on one core, a network on the CPU leaves that core to it
    (torch's threads would otherwise compete with it; a GPU network is unaffected).
    Fills running at once (a batch) all take the setting from before the first of them,
    so none of them can lower it for good (torch keeps it per thread with OpenMP)."""
    with _CORES:
        if _CORES_HELD["count"] == 0:
            _CORES_HELD["threads"] = torch.get_num_threads()
        _CORES_HELD["count"] += 1
        threads = _CORES_HELD["threads"]
        if threads > 1:
            torch.set_num_threads(threads - 1)
    try:
        yield
    finally:
        with _CORES:
            _CORES_HELD["count"] -= 1
            if threads > 1:
                torch.set_num_threads(threads)


class TextureEngine(Engine):
    name = TEXTURE_ENGINE
    randomized = True
    one_core = True  # the patch search; the network beside it takes one core less

    def __init__(self, network: NetworkEngine, guided: NetworkEngine | None = None, *,
                 method: str = TEXTURE_METHOD) -> None:
        self.network = network
        self.guided_network = guided
        self.guided = guided is not None
        self.method = method

    def _network_for(self, strokes: bool) -> NetworkEngine:
        return self.guided_network if strokes and self.guided_network is not None else self.network

    @property
    def device(self) -> str:
        return self.network.device

    def _work_side(self, stroked: bool) -> int | None:
        """The join takes only the network's broad layout, except along strokes, where the
        network's own pixels draw the edge: without strokes it fills at the scale it was
        trained at (LAYOUT_SIDE), which leaves the patch search more of the machine."""
        return LAYOUT_SIDE if self.method == "blend" and not stroked else None

    def _fill(self, rgb, mask, sketch, protect, seed, progress, drawn=None):
        stroked = has_strokes(sketch, mask)
        net = self._network_for(stroked)
        notices: list[str | None] = []
        work_side = self._work_side(stroked)

        def network_fill():
            # the join reads the network's fill near the holes only: a large photo's crops
            # come back over the photo without a copy of it (predict's ``sparse``)
            base, notice = net.network_fill(rgb, mask, sketch, protect, work_side=work_side,
                                            sparse=self.method != "guided", progress=progress)
            notices.append(notice)
            return base

        # beside a parallel patch search the network leaves PatchMatch its core; a search
        # guided by the network's fill runs after it
        with nullcontext() if search_follows_network(self.method, stroked) else _one_core_less():
            strokes = sketch > 127 if stroked else None
            out = texture_stage(rgb, mask, network_fill, method=self.method, protect=protect, seed=seed,
                                progress=progress, strokes=strokes)
        return FillResult(out, self.name, net.device, notices[0], seed)

    def warmup(self) -> None:
        for net in (self.network, self.guided_network):
            if net is not None:
                net.warmup()

    def explain(self, rgb, mask, sketch, point_xy, protect=None):
        stroked = has_strokes(sketch, mask)
        return self._network_for(stroked).explain(rgb, mask, sketch, point_xy, protect, self._work_side(stroked))
