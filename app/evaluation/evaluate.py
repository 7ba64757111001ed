"""Evaluation on whole held-out photos: every engine fills the same crops and holes.

Protocol (docs/DATA.md): each image in the folder is resized so its short side equals
``crop`` and centre-cropped to ``crop x crop``; the holes are ``evaluation_masks`` (fixed
seed) per hole-ratio bucket, ``per_bucket`` different masks per image and bucket. Each
engine's output is composited with the ground truth (only hole pixels count as filled).
Per engine x bucket: PSNR, SSIM, L1 (whole image and hole), ST-LPIPS (AlexNet trunk),
FID / KID (Inception pool features of fills vs. the ground-truth crops), in guided
runs how well the fill's edges follow the sketch (edge F1 within 2 px), and for network
engines how much the attention discriminates (effective keys per hole query and distinct
sources per hole token, app/model/attention_stats.py).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from app.core.atomic import atomic_write_text
from app.core.errors import TemperaError
from app.core.fill_result import FillResult
from app.core.imageio import load_image
from app.core.names import ALL_BUCKET, IMAGE_EXTENSIONS, MASK_KINDS, REFERENCE_SIDE, SKETCH_SOURCES
from app.data.masks import evaluation_masks
from app.data.sketch import edge_map, make_sketch, zhang_suen_thin
from app.evaluation import metrics
from app.inference.jobs import default_jobs

MAX_CROP = 4096  # a 4096-px crop already holds 16 MP per case; beyond that a typo, not a protocol
SKETCH_SEED = 0  # the guided evaluation's sketches are fixed, like its masks
EDGE_TOLERANCE = 2.0
METRIC_KEYS = ("psnr", "ssim", "l1", "lpips", "lpips_vgg", "l1_hole", "fid", "kid", "kid_se", "edge_f1",
               "attn_keys", "attn_distinct")


class FillEngine(Protocol):
    name: str
    guided: bool

    def fill(self, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None) -> FillResult: ...


@dataclass
class EvalImage:
    name: str
    rgb: np.ndarray  # (crop, crop, 3) uint8
    size: tuple[int, int] | None = None  # the photo's own (width, height), before the crop


@dataclass
class EvalCase:
    image: int  # index into the image list
    bucket: str
    mask: np.ndarray
    sketch: np.ndarray | None = None  # uint8 {0,255}, inside the hole (guided runs)


@dataclass
class Variant:
    """One column of the results: an engine, with or without the sketch."""

    label: str
    engine: FillEngine
    use_sketch: bool


@dataclass
class EvalResult:
    rows: list[dict[str, Any]]
    fills: dict[str, list[np.ndarray]] = field(default_factory=dict)  # label -> per case
    # label -> metric -> one value per case (psnr, lpips, lpips_vgg where scored): what
    # scripts/auto_routes.py ranks engines by per situation; set metrics (FID, KID) stay in rows
    per_case: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ----------------------------------------------------------------------------- inputs
def center_crop(rgb: np.ndarray, crop: int) -> np.ndarray:
    """Resize so the short side is ``crop``, then take the centre ``crop x crop``."""
    h, w = rgb.shape[:2]
    s = crop / min(h, w)
    if s != 1.0:
        nw, nh = max(crop, round(w * s)), max(crop, round(h * s))
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
        h, w = rgb.shape[:2]
    y0, x0 = (h - crop) // 2, (w - crop) // 2
    return np.ascontiguousarray(rgb[y0 : y0 + crop, x0 : x0 + crop])


def load_eval_images(data_dir: str | Path, crop: int = 256, limit: int | None = None) -> list[EvalImage]:
    """Every image under ``data_dir`` (sorted, hidden folders skipped), or its first
    ``limit``, as a centre crop."""
    root = Path(data_dir)
    if not root.is_dir():
        raise TemperaError(f"--data {root} is not a folder")
    if crop < 16 or crop % 8 or crop > MAX_CROP:
        raise TemperaError(f"--crop must be a multiple of 8 from 16 to {MAX_CROP}, got {crop}")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    images = []
    for p in paths[:limit]:
        # the app's own reader: EXIF orientation, 16-bit, palette, a one-line error naming the file
        rgb = load_image(p).rgb
        images.append(EvalImage(p.stem, center_crop(rgb, crop), (rgb.shape[1], rgb.shape[0])))
    if not images:
        raise TemperaError(f"no images found under {root}")
    return images


def canny_sketch(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A sketch drawn another way than the training sketches: OpenCV Canny edges of the
    true image inside the hole, at the editor's pen width (uint8 {0, 255})."""
    from app.core.names import stroke_width_for

    grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
    edges = cv2.Canny(grey, 60, 150) > 0
    width = stroke_width_for(mask.shape)
    if width > 1:
        edges = cv2.dilate(edges.astype(np.uint8), np.ones((width, width), np.uint8)) > 0
    return ((edges & mask).astype(np.uint8)) * 255


def _sketch_for(rgb: np.ndarray, mask: np.ndarray, sketches: str) -> np.ndarray:
    """A guided case's sketch: the project's generator (fixed seed) or Canny edges of the truth."""
    return make_sketch(rgb, mask, seed=SKETCH_SEED) if sketches == "project" else canny_sketch(rgb, mask)


def build_cases(
    images: Sequence[EvalImage], per_bucket: int = 1, *, seed: int = 2023, guided: bool = False,
    sketches: str = "project", masks: str = "free_form",
) -> list[EvalCase]:
    """Image x bucket x k cases; image i gets masks i*per_bucket .. i*per_bucket+k-1 of
    each bucket, so every image has different holes but every engine the same ones.
    ``sketches``: "project" (the training sketch generator) or "canny" (drawn another way);
    ``masks``: the hole shapes (``app.core.names.MASK_KINDS``; the networks train on free-form)."""
    if masks not in MASK_KINDS:
        raise TemperaError(f"--masks must be one of {', '.join(MASK_KINDS)}, got {masks!r}")
    if sketches not in SKETCH_SOURCES:
        raise TemperaError(f"--sketches must be one of {', '.join(SKETCH_SOURCES)}, got {sketches!r}")
    if per_bucket < 1:
        raise TemperaError(f"--per-bucket must be at least 1, got {per_bucket}")
    size = images[0].rgb.shape[:2]
    cases = []
    for bucket, ms in evaluation_masks(size, per_bucket * len(images), seed=seed, kind=masks).items():
        for i, img in enumerate(images):
            for k in range(per_bucket):
                m = ms[i * per_bucket + k]
                sk = _sketch_for(img.rgb, m, sketches) if guided else None
                cases.append(EvalCase(i, bucket, m, sk))
    return cases


def cases_from_holes(
    images: Sequence[EvalImage], holes: Sequence[tuple[int, np.ndarray]], *, guided: bool = False,
    sketches: str = "project",
) -> list[EvalCase]:
    """Cases from given holes (``(image index, bool mask)``, e.g. the user's mask files:
    app/evaluation/user_masks.py), each in the bucket of the share it covers, ordered by
    bucket; guided runs get sketches as :func:`build_cases` draws them."""
    from app.core.names import bucket_of
    from app.evaluation.user_masks import ORDER

    cases = []
    for i, m in holes:
        sk = _sketch_for(images[i].rgb, m, sketches) if guided else None
        cases.append(EvalCase(i, bucket_of(float(m.mean()), clamp=False), m, sk))
    return sorted(cases, key=lambda c: ORDER.index(c.bucket))


def variants_for(engines: Iterable[FillEngine], guided: bool) -> list[Variant]:
    """Guided engines in a guided run appear twice: with the sketch and without it."""
    out = []
    for e in engines:
        if guided and getattr(e, "guided", False):
            out.append(Variant(f"{e.name}+sketch", e, True))
            out.append(Variant(f"{e.name}-nosketch", e, False))
        else:
            out.append(Variant(e.name, e, False))
    return out


# ----------------------------------------------------------------------------- scoring
def _mean(xs: Sequence[float]) -> float | None:
    vals = [x for x in xs if x is not None and not math.isnan(x)]
    if not vals:
        return None
    return float(np.mean(vals))  # a perfect fill (PSNR inf) makes the mean inf: reported as such


def run_fills(variant: Variant, images: Sequence[EvalImage], cases: Sequence[EvalCase],
              progress: Callable[[str], None] | None = None) -> list[np.ndarray]:
    """Every case's fill, in order. An engine whose fill keeps one core busy fills one case
    per core at once (``jobs.default_jobs``); its seeds are fixed, so the fills are the
    same as one after another."""
    t0 = time.perf_counter()

    def fill(c: EvalCase) -> np.ndarray:
        gt = images[c.image].rgb
        sketch = c.sketch if variant.use_sketch else None
        out = np.asarray(variant.engine.fill(gt.copy(), c.mask.copy(), sketch).image)
        if out.shape != gt.shape or out.dtype != np.uint8:
            raise TemperaError(f"engine {variant.label} returned {out.dtype} {out.shape}, expected uint8 {gt.shape}")
        # only the hole is the engine's work: keep the known pixels exactly
        return np.where(c.mask[..., None], out, gt)

    fills = []
    jobs = default_jobs(variant.engine)
    with ThreadPoolExecutor(jobs, thread_name_prefix="evaluate") if jobs > 1 else nullcontext() as pool:
        for n, out in enumerate(pool.map(fill, cases) if pool is not None else map(fill, cases), 1):
            fills.append(out)
            if progress and (n % 20 == 0 or n == len(cases)):
                progress(f"  {variant.label}: {n}/{len(cases)} fills ({time.perf_counter() - t0:.1f} s)")
    return fills


def case_attention(variant: Variant, rgb: np.ndarray, case: EvalCase) -> Any:
    """The attention statistics of a network engine's forward pass on one case (an extra
    pass with the MTSA record, on the same inputs as its fill); None for other engines."""
    engine = variant.engine
    generator = getattr(engine, "generator", None)
    if generator is None:
        return None
    from app.inference.predict import attention_record
    from app.model.attention_stats import attention_stats

    sketch = case.sketch if variant.use_sketch and getattr(engine, "guided", False) else None
    return attention_stats(attention_record(generator, rgb, case.mask, sketch, device=engine.torch_device))


def evaluate(
    images: Sequence[EvalImage],
    cases: Sequence[EvalCase],
    variants: Sequence[Variant],
    *,
    lpips_fn: Callable[[np.ndarray, list[int]], np.ndarray] | None = None,
    lpips_vgg_fn: Callable[[np.ndarray, list[int]], np.ndarray] | None = None,
    features_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    guided: bool = False,
    progress: Callable[[str], None] | None = None,
) -> EvalResult:
    """Fill every case with every variant and score it.

    ``lpips_fn(fills, image_indices)`` maps an (N,H,W,3) uint8 stack and the index of each
    fill's ground-truth image to N perceptual distances (see :class:`LpipsScorer`): the
    AlexNet trunk (the training loss) and ``lpips_vgg_fn`` the VGG trunk (not trained on);
    ``features_fn`` maps a stack to (N, D) features for FID/KID. Any may be None (skipped).
    """
    t0 = time.perf_counter()
    result = EvalResult(rows=[])
    buckets = list(dict.fromkeys(c.bucket for c in cases))
    real_feats = features_fn(np.stack([im.rgb for im in images])) if features_fn else None
    strokes = [zhang_suen_thin(c.sketch > 0) if c.sketch is not None else None for c in cases]
    for v in variants:
        if progress:
            progress(f"{v.label}: filling {len(cases)} holes")
        fills = run_fills(v, images, cases, progress)
        result.fills[v.label] = fills
        per: dict[str, list[float]] = {k: [] for k in ("psnr", "ssim", "l1", "l1_hole", "edge_f1")}
        attention = [case_attention(v, images[c.image].rgb, c) for c in cases]
        for c, f, st in zip(cases, fills, strokes, strict=True):
            gt = images[c.image].rgb
            per["psnr"].append(metrics.psnr(gt, f))
            per["ssim"].append(metrics.ssim(gt, f))
            per["l1"].append(metrics.l1(gt, f))
            per["l1_hole"].append(metrics.l1(gt, f, c.mask))
            if guided and st is not None:
                per["edge_f1"].append(metrics.edge_alignment(edge_map(f), st, c.mask, EDGE_TOLERANCE)["f1"])
        truth = [c.image for c in cases]
        stack = np.stack(fills)
        scorers = [name for name, fn in (("ST-LPIPS-alex", lpips_fn), ("ST-LPIPS-vgg", lpips_vgg_fn),
                                         ("Inception features for FID and KID", features_fn)) if fn is not None]
        if progress and scorers:  # the longest part of a run on a CPU: not a silence
            progress(f"  {v.label}: scoring {len(fills)} fills ({', '.join(scorers)})")
        lp = list(np.asarray(lpips_fn(stack, truth), float)) if lpips_fn is not None else None
        lpv = list(np.asarray(lpips_vgg_fn(stack, truth), float)) if lpips_vgg_fn is not None else None
        fake_feats = features_fn(stack) if features_fn else None
        result.per_case[v.label] = {"psnr": per["psnr"], **({"lpips": lp} if lp is not None else {}),
                                    **({"lpips_vgg": lpv} if lpv is not None else {})}
        for bucket in buckets + [ALL_BUCKET]:
            idx = [i for i, c in enumerate(cases) if bucket in (ALL_BUCKET, c.bucket)]
            row: dict[str, Any] = {
                "engine": v.label,
                "bucket": bucket,
                "psnr": _mean([per["psnr"][i] for i in idx]),
                "ssim": _mean([per["ssim"][i] for i in idx]),
                "l1": _mean([per["l1"][i] for i in idx]),
                "lpips": _mean([lp[i] for i in idx]) if lp is not None else None,
                "lpips_vgg": _mean([lpv[i] for i in idx]) if lpv is not None else None,
                "l1_hole": _mean([per["l1_hole"][i] for i in idx]),
            }
            if real_feats is not None and fake_feats is not None and len(idx) >= 2:
                # FID: the real side holds each fill's own ground truth, so an engine that
                # returns the original scores exactly 0. KID: each photo once, and a fill is
                # not compared with its own truth in the cross term (metrics.paired_kid)
                reals = real_feats[[cases[i].image for i in idx]]
                row["fid"] = metrics.fid(reals, fake_feats[idx])
                photos = sorted({cases[i].image for i in idx})
                if len(photos) >= 2:
                    where = {p: k for k, p in enumerate(photos)}
                    rows_of = np.array([where[cases[i].image] for i in idx])
                    row["kid"] = metrics.paired_kid(real_feats[photos], fake_feats[idx], rows_of)
                    if len(photos) >= metrics.KID_SE_MIN_PHOTOS:
                        row["kid_se"] = metrics.paired_kid_se(real_feats[photos], fake_feats[idx], rows_of)
            if guided and per["edge_f1"]:
                row["edge_f1"] = _mean([per["edge_f1"][i] for i in idx])
            if any(attention[i] is not None for i in idx):
                row["attn_keys"] = _mean([attention[i].keys for i in idx if attention[i] is not None])
                row["attn_distinct"] = _mean([attention[i].distinct for i in idx if attention[i] is not None])
            row["n"] = len(idx)
            result.rows.append(row)
    result.seconds = time.perf_counter() - t0
    return result


class LpipsScorer:
    """ST-LPIPS of fills against their ground-truth crops. The ground truth's trunk
    features are computed once per image (every engine and hole reuses them), which
    halves the cost of the metric: the shift-tolerant AlexNet runs its first conv at
    stride 1 and is the slowest part of a CPU evaluation after the Inception.

    Memory stays bounded at any ``--crop``: the features of one 1024-px crop take about
    half a GB, so references are kept only up to ``cache_bytes`` (later ones are computed
    again when needed), and a batch holds at most ``batch_size`` crops of 256 x 256 px
    worth of pixels (a 1024-px crop goes one at a time)."""

    def __init__(self, net: Any, images: Sequence[EvalImage], device: Any, batch_size: int = 8,
                 cache_bytes: int = 2 << 30) -> None:
        import torch

        self.net, self.device, self.batch_size = net, device, batch_size
        self.cache_bytes = cache_bytes
        self._torch = torch
        self._ref: dict[int, list[Any]] = {}
        self._cached = 0
        self.images = images

    def _tensor(self, stack: np.ndarray) -> Any:
        t = self._torch.tensor(stack).to(self.device)  # a copy: the crops are read-only
        return t.permute(0, 3, 1, 2).float() / 127.5 - 1.0

    def _reference(self, idx: int) -> list[Any]:
        if idx in self._ref:
            return self._ref[idx]
        with self._torch.no_grad():
            features = self.net.features(self._tensor(self.images[idx].rgb[None]))
        size = sum(f.element_size() * f.nelement() for f in features)
        if self._cached + size <= self.cache_bytes:
            self._ref[idx] = features
            self._cached += size
        return features

    def _batch(self, fills: np.ndarray) -> int:
        pixels = fills.shape[1] * fills.shape[2]  # an (N, H, W, 3) stack
        return max(1, min(self.batch_size, self.batch_size * REFERENCE_SIDE * REFERENCE_SIDE // max(1, pixels)))

    def __call__(self, fills: np.ndarray, image_indices: list[int]) -> np.ndarray:
        out = []
        step = self._batch(fills)
        with self._torch.no_grad():
            for i in range(0, len(fills), step):
                fx = self.net.features(self._tensor(fills[i : i + step]))
                refs = [self._reference(j) for j in image_indices[i : i + step]]
                fy = [self._torch.cat([r[k] for r in refs]) for k in range(len(fx))]
                out.append(self.net.compare(fx, fy).cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)


def load_scorers(images: Sequence[EvalImage], device: Any, *, lpips: bool = True, fid: bool = True,
                 note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The perceptual scorers :func:`evaluate` takes, as its keyword arguments: ST-LPIPS
    with the AlexNet and VGG trunks (``lpips_fn``, ``lpips_vgg_fn``) and the Inception
    features for FID/KID (``features_fn``). Where a wheel is missing that metric is skipped
    (None) and ``note`` hears why in one line."""
    from app.evaluation import perceptual

    scorers: dict[str, Any] = {"lpips_fn": None, "lpips_vgg_fn": None, "features_fn": None}
    if lpips:
        try:
            scorers["lpips_fn"] = LpipsScorer(perceptual.load_stlpips("alex", device), images, device)
            scorers["lpips_vgg_fn"] = LpipsScorer(perceptual.load_stlpips("vgg", device), images, device)
        except perceptual.PerceptualUnavailable as exc:
            if note:
                note(f"ST-LPIPS skipped: {exc}")
    if fid:
        try:
            scorers["features_fn"] = perceptual.InceptionFeatures(device)
        except perceptual.PerceptualUnavailable as exc:
            if note:
                note(f"FID/KID skipped: {exc}")
    return scorers


# ----------------------------------------------------------------------------- outputs
def _fmt(x: Any, digits: int) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


FEW_FOR_DISTRIBUTIONS = 10  # fills in a row below which FID and KID say little


def few_for_distributions(rows: Sequence[dict[str, Any]]) -> str | None:
    """A note when FID or KID rows stand on fewer than FEW_FOR_DISTRIBUTIONS fills (a
    ``--limit`` run): those compare two distributions, and a handful of samples is noise
    (KID may come out below zero). None otherwise."""
    counts = [int(r["n"]) for r in rows if ("fid" in r or "kid" in r) and "n" in r]
    if not counts or min(counts) >= FEW_FOR_DISTRIBUTIONS:
        return None
    return (f"FID and KID over {min(counts)} fills are noise (each compares two distributions); "
            "a KID below 0 means no difference was found")


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    cols = [("engine", "engine", None), ("bucket", "hole %", None), ("psnr", "PSNR dB", 2), ("ssim", "SSIM", 4),
            ("l1", "L1", 4), ("l1_hole", "L1 hole", 4), ("lpips", "ST-LPIPS", 4), ("lpips_vgg", "ST-LPIPS vgg", 4),
            ("fid", "FID", 1), ("kid", "KID", 4), ("kid_se", "KID SE", 4), ("edge_f1", "edge F1", 3),
            ("attn_keys", "eff. keys", 1), ("attn_distinct", "distinct src", 3), ("n", "n", None)]
    present = [c for c in cols if any(c[0] in r for r in rows)]
    lines = ["| " + " | ".join(c[1] for c in present) + " |",
             "|" + "|".join("---" if c[2] is None else "---:" for c in present) + "|"]
    for r in rows:
        cells = [str(r.get(k, "-")) if d is None else _fmt(r.get(k), d) for k, _, d in present]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def json_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows restricted to the documented keys and ``n`` (the holes behind the row); non-finite
    numbers become null (valid JSON)."""
    out = []
    for r in rows:
        o: dict[str, Any] = {"engine": r["engine"], "bucket": r["bucket"]}
        for k in METRIC_KEYS:
            if k in r or k in ("psnr", "ssim", "l1", "lpips", "lpips_vgg"):
                v = r.get(k)
                o[k] = None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
        if "n" in r:
            o["n"] = r["n"]
        out.append(o)
    return out


def write_json(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    return atomic_write_text(path, json.dumps(json_rows(rows), indent=1, allow_nan=False) + "\n")


def _label(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((18, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text[: max(1, img.shape[1] // 8)], (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], 0)


def example_grid(images: Sequence[EvalImage], cases: Sequence[EvalCase], fills: dict[str, list[np.ndarray]],
                 rows: int = 5) -> np.ndarray:
    """Rows = examples (one per bucket, cycling through images); columns = masked input
    (hole white, sketch red), each engine's fill, ground truth."""
    by_bucket: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        by_bucket.setdefault(c.bucket, []).append(i)
    chosen = []
    buckets = list(by_bucket)
    for r in range(min(rows, len(cases))):
        pool = by_bucket[buckets[r % len(buckets)]]
        chosen.append(pool[(r // len(buckets) * 7 + r * 3) % len(pool)])
    out_rows = []
    for n, i in enumerate(chosen):
        c = cases[i]
        gt = images[c.image].rgb
        masked = gt.copy()
        masked[c.mask] = 255
        if c.sketch is not None:
            masked[c.sketch > 0] = (230, 30, 30)
        tiles = [masked] + [f[i] for f in fills.values()] + [gt]
        if n == 0:
            names = ["input " + c.bucket + "%"] + list(fills) + ["ground truth"]
            tiles = [_label(t, s) for t, s in zip(tiles, names, strict=True)]
        else:
            tiles = [_label(tiles[0], c.bucket + "%")] + [_label(t, "") for t in tiles[1:]]
        sep = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
        row = tiles[0]
        for t in tiles[1:]:
            row = np.concatenate([row, sep, t], 1)
        out_rows.append(row)
    return np.concatenate(out_rows, 0)
