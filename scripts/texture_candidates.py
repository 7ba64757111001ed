"""Score texture-stage candidates on held-out photos, the way docs/RESULTS.md chose "blend".

    python scripts/texture_candidates.py --data data/photos/holdout --json runs/exp/candidates.json
    python scripts/texture_candidates.py --data data/photos/holdout --only blend32,split3,patchmatch

Each candidate joins the installed `mtsa` network's fill with a PatchMatch fill of the same
hole (seed 0) and is scored by `evaluate` (ST-LPIPS alex/vgg, FID/KID, PSNR, SSIM) on the
standard protocol: 256-px crops, mask seed 2023, one hole per photo and bucket. A few
minutes per candidate on one core.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from app.core.fill_result import FillResult
from app.evaluation import evaluate as ev
from app.inference.engines import load_engine
from app.inference.patchmatch import patchmatch_fill
from app.inference.texture import BLEND_DEPTH, GUIDE_BLUR, SPLIT_SIGMA, combine

_network: list = []  # the installed mtsa engine, loaded on first use
_cache: dict[tuple[int, int], np.ndarray] = {}


def network_fill(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The installed network's fill, computed once per hole (the candidates share it)."""
    if not _network:
        _network.append(load_engine("mtsa", "cpu"))
    key = (hash(rgb.tobytes()), hash(mask.tobytes()))
    if key not in _cache:
        _cache[key] = _network[0].fill(rgb, mask).image
    return _cache[key]


def _guide(rgb, mask):
    return cv2.GaussianBlur(network_fill(rgb, mask), (0, 0), GUIDE_BLUR)


def guided(weight: float):
    return lambda rgb, mask: patchmatch_fill(rgb, mask, guide=_guide(rgb, mask), guide_weight=weight)


def joined(method: str, sigma: float = SPLIT_SIGMA, depth: float = BLEND_DEPTH, guided_detail: bool = False):
    def fill(rgb, mask):
        copied = patchmatch_fill(rgb, mask, guide=_guide(rgb, mask) if guided_detail else None)
        return combine(rgb, mask, network_fill(rgb, mask), copied, method, sigma=sigma, depth=depth)
    return fill


CANDIDATES = {
    "patchmatch": lambda rgb, mask: patchmatch_fill(rgb, mask),
    "mtsa": network_fill,
    "guided_w1": guided(1.0),
    "split1.5": joined("split", sigma=1.5),
    "split2": joined("split", sigma=2.0),
    "split3": joined("split", sigma=3.0),
    "split3_guided": joined("split", sigma=3.0, guided_detail=True),
    "blend8": joined("blend", depth=8),
    "blend16": joined("blend", depth=16),
    "blend32": joined("blend", depth=32),
}


class Candidate:
    guided = False

    def __init__(self, name: str) -> None:
        self.name, self._fn = name, CANDIDATES[name]

    def fill(self, rgb, mask, sketch=None) -> FillResult:
        return FillResult(self._fn(rgb, mask.astype(bool)), self.name)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--only", default=",".join(CANDIDATES), help="comma-separated candidates")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    images = ev.load_eval_images(args.data, 256)
    cases = ev.build_cases(images, 1, seed=2023)
    variants = ev.variants_for([Candidate(n.strip()) for n in args.only.split(",") if n.strip()], False)
    res = ev.evaluate(images, cases, variants,
                      **ev.load_scorers(images, "cpu", note=lambda s: print(s, file=sys.stderr)),
                      progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(ev.markdown_table(res.rows))
    if args.json:
        ev.write_json(args.json, res.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
