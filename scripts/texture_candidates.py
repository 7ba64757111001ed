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
import torch

from app.core.fill_result import FillResult
from app.evaluation import evaluate as ev
from app.inference.engines import load_engine
from app.inference.patchmatch import patchmatch_fill
from app.inference.predict import attention_record
from app.inference.texture import BLEND_DEPTH, GUIDE_BLUR, SPLIT_SIGMA, combine
from app.model.mtsa import masked_softmax, zero_score_softmax

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


def attention_matrix(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The installed network's MTSA attention of every token over every token, averaged over
    heads, (N, N) with N = gh * gw, on the same pass as its fill (the image's own size)."""
    network_fill(rgb, mask)  # loads the engine
    rec = attention_record(_network[0].generator, rgb, mask, device=torch.device("cpu"))
    scores = rec.q @ rec.k.transpose(-1, -2)
    valid = rec.key_valid[:, None, None, :]
    rows = zero_score_softmax(scores, valid) if rec.constant else masked_softmax(scores, valid)
    return rows.mean(dim=1)[0].float().numpy(), rec.grid


def _known_blur(img: np.ndarray, known: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of the known pixels alone (normalised convolution)."""
    m = known.astype(np.float32)
    num = cv2.GaussianBlur(img * m[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(m, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-6)


def residual_aggregation(sigma: float = 3.0, mode: str = "soft"):
    """Contextual residual aggregation (HiFill, CVPR 2020) with the MTSA attention: the
    network's fill plus, per hole token, the attention-weighted sum of the known tokens'
    high-frequency residual (the photo minus its blur at ``sigma``). Tiles are twice a
    token's cell, overlap-added under tent windows so no cell grid shows. ``mode``:
    "soft" the attention as it is, "top1" each token copies from its most-attended source."""
    def fill(rgb, mask):
        h, w = mask.shape
        net = network_fill(rgb, mask).astype(np.float32)
        weights, (gh, gw) = attention_matrix(rgb, mask)
        if h % gh or w % gw:
            raise ValueError(f"{w}x{h} is not a multiple of the {gw}x{gh} token grid")
        ch, cw = h // gh, w // gw
        img = rgb.astype(np.float32)
        known = ~mask
        residual = np.where(known[..., None], img - _known_blur(img, known, sigma), 0.0).astype(np.float32)
        if mode == "top1":
            hard = np.zeros_like(weights)
            has = weights.sum(1) > 0
            hard[np.arange(len(weights))[has], weights[has].argmax(1)] = 1.0
            weights = hard
        # each token's tile: 2 cells wide, centred on the token (the residual padded by zeros)
        pad = ((ch // 2, ch // 2 + ch), (cw // 2, cw // 2 + cw), (0, 0))
        rp = np.pad(residual, pad)
        tiles = np.stack([rp[i * ch:i * ch + 2 * ch, j * cw:j * cw + 2 * cw]
                          for i in range(gh) for j in range(gw)]).reshape(gh * gw, -1)
        agg = (weights @ tiles).reshape(gh, gw, 2 * ch, 2 * cw, 3)
        tent = np.outer(1 - np.abs(np.arange(2 * ch) + 0.5 - ch) / ch, 1 - np.abs(np.arange(2 * cw) + 0.5 - cw) / cw)
        acc = np.zeros(rp.shape, np.float32)
        norm = np.zeros(rp.shape[:2], np.float32)
        for i in range(gh):
            for j in range(gw):
                acc[i * ch:i * ch + 2 * ch, j * cw:j * cw + 2 * cw] += agg[i, j] * tent[..., None]
                norm[i * ch:i * ch + 2 * ch, j * cw:j * cw + 2 * cw] += tent
        detail = (acc / np.maximum(norm, 1e-6)[..., None])[ch // 2:ch // 2 + h, cw // 2:cw // 2 + w]
        out = np.clip(net + detail, 0, 255)
        return np.where(mask[..., None], out, rgb).round().astype(np.uint8)
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
    "cra3": residual_aggregation(3.0),
    "cra3_top1": residual_aggregation(3.0, "top1"),
    "cra1.5": residual_aggregation(1.5),
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
