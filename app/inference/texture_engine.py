"""``mtsa-texture``: an MTSA network fills at its working size, the texture stage puts the
photo's own texture on it at full resolution (``texture.py``). A sketch in the hole
selects the guided network, so the fill keeps following the strokes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

from app.core.fill_result import FillResult
from app.core.names import TEXTURE_ENGINE

from .engines import Engine, NetworkEngine, has_strokes
from .patchmatch import crop_boxes, patchmatch_fill
from .texture import combine, texture_stage

TEXTURE_METHOD = "blend"  # measured against "guided" and "split" on held-out photos (docs/RESULTS.md)


@contextmanager
def _one_core_less():
    """While PatchMatch runs on one core, a network on the CPU leaves that core to it
    (torch's threads would otherwise compete with it; a GPU network is unaffected)."""
    threads = torch.get_num_threads()
    if threads > 1:
        torch.set_num_threads(threads - 1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class TextureEngine(Engine):
    name = TEXTURE_ENGINE
    randomized = True

    def __init__(self, network: NetworkEngine, guided: NetworkEngine | None = None, *,
                 method: str = TEXTURE_METHOD) -> None:
        self.network = network
        self.guided_network = guided
        self.guided = guided is not None
        self.method = method

    def _network_for(self, mask, sketch) -> NetworkEngine:
        if self.guided_network is not None and has_strokes(sketch, mask):
            return self.guided_network
        return self.network

    @property
    def device(self) -> str:
        return self.network.device

    def _fill(self, rgb, mask, sketch, protect, seed, progress):
        net = self._network_for(mask, sketch)
        if self.method in ("split", "blend"):
            # the patch search does not need the network's fill: run it beside the network
            # (the native library releases the GIL), so the two cost about the longer one.
            # Progress counts the network as one part and each hole region as one more.
            boxes = crop_boxes(mask)
            parts = len(boxes) + 1
            done = [0]
            lock = threading.Lock()

            def step(*_: int) -> None:
                with lock:
                    done[0] += 1
                    if progress is not None:
                        progress(done[0], parts)

            with ThreadPoolExecutor(1, thread_name_prefix="patchmatch") as pool, _one_core_less():
                copied = pool.submit(patchmatch_fill, rgb, mask, protect=protect, seed=seed, progress=step,
                                     boxes=boxes)
                base, notice = net.network_fill(rgb, mask, sketch, protect)
                step()
                out = combine(rgb, mask, base, copied.result(), self.method)
        else:
            base, notice = net.network_fill(rgb, mask, sketch, protect)
            out = texture_stage(rgb, mask, base, method=self.method, protect=protect, seed=seed, progress=progress)
        return FillResult(out, self.name, net.device, notice, seed)

    def warmup(self) -> None:
        for net in (self.network, self.guided_network):
            if net is not None:
                net.warmup()

    def explain(self, rgb, mask, sketch, point_xy, protect=None):
        return self._network_for(mask, sketch).explain(rgb, mask, sketch, point_xy, protect)
