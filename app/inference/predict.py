"""The one inference function: pad, run, crop back, composite; plus the HD strategy.

Used by the GUI worker, the batch command and the evaluation alike, so every path fills
the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from app.core.maskops import as_bool, as_uint8, thin_strokes
from app.core.names import REFERENCE_SIDE, SKETCH_STROKE_WIDTH
from app.model import InpaintGenerator
from app.model.attention_stats import attention_stats, effective_keys
from app.model.config import CLASSICAL_PRIORS
from app.model.mtsa import AttentionRecord, attention_weights

from .prior import classical_prior

HD_STRATEGIES = ("crop", "resize")
DEFAULT_TRIGGER = 800  # long side above which the HD strategy takes over
DEFAULT_MARGIN = 128  # context kept around each hole region in the crop strategy
# with ``work_side``, a region's crop goes through the network at the photo's work scale,
# but never below this short side (a network needs some context around the hole to read)
MIN_CROP_SIDE = 128
PAD_MULTIPLE = 8
# Strokes that would reach a guided network this many times wider than it was trained with
# are redrawn at the trained width (_as_trained). At 2x (a 512-px photo at full size)
# redrawing them lowered KID and raised edge-following but also ST-LPIPS (docs/RESULTS.md),
# so they pass as drawn there; at about 4x the network drew a wide stroke's two borders.
THIN_FROM = 3.0


def _pad_amounts(size: int) -> int:
    return (-size) % PAD_MULTIPLE


def _to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W[, C]) numpy -> (1, C, H, W) float tensor."""
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().unsqueeze(0).to(device)


@dataclass
class _Prepared:
    image: torch.Tensor
    mask: torch.Tensor  # what the network is shown as hole: the hole and protected pixels
    hole: torch.Tensor  # the hole alone
    sketch: torch.Tensor | None
    prior: torch.Tensor | None
    protect: torch.Tensor | None
    size: tuple[int, int]  # unpadded (h, w)


def _prepare(generator: InpaintGenerator, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None, device: torch.device,
             protect: np.ndarray | None = None) -> _Prepared:
    h, w = mask.shape
    ph, pw = _pad_amounts(h), _pad_amounts(w)
    shield = protect & ~mask if protect is not None and protect.any() else None
    # the network reads no protected pixel: it is shown them as hole (the classical prior
    # fills them from around, as Telea and NS do), its attention takes them out of its keys,
    # and only the real hole is composited (_run)
    unseen = mask | shield if shield is not None and shield.any() else mask
    # a guided network's prior already treats the strokes as region boundaries (prior.py)
    strokes = sketch if generator.config.guided else None
    method = generator.config.prior
    prior = classical_prior(rgb, unseen, strokes, method=method) if method in CLASSICAL_PRIORS else None

    def pad(a: np.ndarray) -> np.ndarray:
        # 'symmetric' works for any image size, even smaller than the pad
        spec = ((0, ph), (0, pw)) + ((0, 0),) * (a.ndim - 2)
        return np.pad(a, spec, mode="symmetric") if (ph or pw) else a

    image_t = _to_tensor(pad(rgb), device) / 127.5 - 1.0
    mask_t = _to_tensor(pad(unseen.astype(np.float32)), device)
    sketch_t = None
    if sketch is not None and generator.config.guided:
        # strokes only count inside the hole: the network never saw any outside it
        sketch_t = _to_tensor(pad(((sketch > 127) & mask).astype(np.float32)), device)
    prior_t = _to_tensor(pad(prior), device) / 127.5 - 1.0 if prior is not None else None
    protect_t = _to_tensor(pad(shield.astype(np.float32)), device) if shield is not None else None
    hole_t = _to_tensor(pad(mask.astype(np.float32)), device) if shield is not None else mask_t
    return _Prepared(image_t, mask_t, hole_t, sketch_t, prior_t, protect_t, (h, w))


def _autocast(device: torch.device):
    # bf16 on CUDA (Hopper/Ampere run it at full rate); full precision elsewhere
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.inference_mode()
def _run(generator: InpaintGenerator, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None, device: torch.device,
         protect: np.ndarray | None = None, *, over_protected: bool = False) -> np.ndarray:
    """Fill one image that fits the network whole; returns the composited uint8 result.
    ``over_protected``: the network's fill replaces the protected pixels too (for a fill
    that is scaled up: its interpolation at the hole's edge must not read their colour)."""
    p = _prepare(generator, rgb, mask, sketch, device, protect)
    with _autocast(device):
        out = generator(p.image, p.mask, p.sketch, p.prior, p.protect).refined
    h, w = p.size
    pred = ((out[0, :, :h, :w].float().clamp(-1, 1) + 1.0) * 127.5).round().byte()
    pred = pred.permute(1, 2, 0).cpu().numpy()
    written = mask | protect if over_protected and protect is not None else mask
    return np.where(written[..., None], pred, rgb)


def _regions(mask: np.ndarray, margin: int) -> list[tuple[int, int, int, int]]:
    """Boxes (y0, y1, x0, x1) around hole regions, with holes closer than the margin merged."""
    h, w = mask.shape
    m8 = as_uint8(mask)
    # only the holes' bounding box, grown by the margin, can change: a small hole in a
    # 24 MP photo should not cost two passes over 24 million pixels (0.19 s)
    bx, by, bbw, bbh = cv2.boundingRect(m8)
    if bbw == 0 or bbh == 0:
        return []
    wy0, wx0 = max(0, by - margin - 1), max(0, bx - margin - 1)
    wy1, wx1 = min(h, by + bbh + margin + 1), min(w, bx + bbw + margin + 1)
    # one rectangular dilation: OpenCV runs it separably
    grow = cv2.dilate(m8[wy0:wy1, wx0:wx1], np.ones((margin + 1, margin + 1), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grow, connectivity=8)
    boxes = []
    for i in range(1, count):
        x, y, bw, bh, _ = stats[i]
        x, y = x + wx0, y + wy0
        half = margin // 2
        boxes.append((max(0, y - half), min(h, y + bh + half), max(0, x - half), min(w, x + bw + half)))
    return boxes


def _shrunk_protect(protect: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
    """The protect mask at a reduced ``size`` (w, h): a pixel stays protected if any pixel it
    covers was, so no source slips out of the protection by downscaling."""
    if protect is None:
        return None
    # in float: a uint8 average of 0/1 rounds a partly protected pixel down to 0
    return cv2.resize(protect.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0


def _work_scale(h: int, w: int, work_side: int | None) -> float:
    """The scale at which an h x w image goes through the network for ``work_side`` (see
    :func:`predict`): 1.0 without one, or when the image is no larger."""
    return 1.0 if work_side is None else min(1.0, work_side / min(h, w))


def _crop_scale(photo_hw: tuple[int, int], crop_hw: tuple[int, int], work_side: int | None) -> float:
    """The scale at which a region's crop of a large photo goes through the network: 1.0
    without ``work_side``; with it, the whole photo's work scale, raised so that the crop's
    short side stays at least MIN_CROP_SIDE (and never above 1.0)."""
    if work_side is None:
        return 1.0
    floor = MIN_CROP_SIDE / min(crop_hw)
    return min(1.0, max(_work_scale(*photo_hw, work_side), floor))


def _as_trained(sketch: np.ndarray | None, photo_short: int, scale: float) -> np.ndarray | None:
    """``sketch`` (uint8, white strokes) for a network that fills at ``scale`` of a photo whose
    short side is ``photo_short``. The editor's pen is as wide relative to the photo as the
    training strokes were to a 256-px image (``stroke_width_for``); a network filling a
    large photo's crop at full size would see strokes many times wider than any it learnt
    from, and drew both borders of one as lines. From THIN_FROM times the trained width
    on, the strokes are redrawn along their middle so that they reach the network at the
    trained width (SKETCH_STROKE_WIDTH); at the evaluation's 256 and 512 px nothing changes."""
    if sketch is None or photo_short * scale / REFERENCE_SIDE < THIN_FROM:
        return sketch
    width = max(SKETCH_STROKE_WIDTH, round(SKETCH_STROKE_WIDTH / scale))
    return thin_strokes(sketch > 127, width).astype(np.uint8) * 255


def _resize_fill(generator, rgb, mask, sketch, device, scale: float, protect=None) -> np.ndarray:
    """Fill at ``scale`` (< 1) of the size, upscale the prediction, paste it into the hole
    at full size."""
    h, w = mask.shape
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    small_rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    small_mask |= cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    small_sketch = None
    if sketch is not None:
        small_sketch = (cv2.resize(sketch, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
    small_out = _run(generator, small_rgb, small_mask, small_sketch, device, _shrunk_protect(protect, size),
                     over_protected=True)
    up = cv2.resize(small_out, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.where(mask[..., None], up, rgb)


class PatchedImage:
    """A large photo with the network's filled crops over it, without a copy of the photo:
    indexing a box gives that box's pixels (a new array), ``np.asarray`` the whole image.
    For callers that read the fill only near its holes (the texture stage's join): on a
    24 MP photo the full copy is 72 MB that is written once and read in a few boxes."""

    def __init__(self, rgb: np.ndarray, patches: list[tuple[tuple[int, int, int, int], np.ndarray]]) -> None:
        self.rgb = rgb
        self.patches = patches  # ((y0, y1, x0, x1), the crop's pixels), crops that do not overlap
        self.shape = rgb.shape
        self.dtype = rgb.dtype

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        h, w = self.shape[:2]
        y0, y1, _ = key[0].indices(h)
        x0, x1, _ = key[1].indices(w)
        out = self.rgb[y0:y1, x0:x1].copy()
        for (a0, a1, b0, b1), patch in self.patches:
            top, bottom, left, right = max(a0, y0), min(a1, y1), max(b0, x0), min(b1, x1)
            if top < bottom and left < right:
                out[top - y0 : bottom - y0, left - x0 : right - x0] = patch[top - a0 : bottom - a0, left - b0 : right - b0]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:, :]
        return out if dtype is None else out.astype(dtype)


def predict(
    generator: InpaintGenerator,
    rgb: np.ndarray,
    mask: np.ndarray,
    sketch: np.ndarray | None = None,
    *,
    device: torch.device | None = None,
    hd: str = "crop",
    trigger: int = DEFAULT_TRIGGER,
    margin: int = DEFAULT_MARGIN,
    protect: np.ndarray | None = None,
    work_side: int | None = None,
    sparse: bool = False,
    between: Callable[[], None] | None = None,
) -> np.ndarray | PatchedImage:
    """Fill ``mask`` (bool, True = hole) in ``rgb`` (uint8 HxWx3); pixels outside stay exact.

    ``protect`` (bool, True = never borrow from here): the network is shown those pixels
    as hole (its convolutions read none of them) and its attention takes them out of its
    keys; they are not written.

    Images whose long side exceeds ``trigger`` never go through the network whole: with
    ``hd="crop"`` each hole region is filled in a crop with ``margin`` of context at full
    resolution (crops that are still too large are filled by resizing that crop); with
    ``hd="resize"`` the whole image is filled at reduced size and the hole upscaled.

    ``work_side``: an image that goes through whole is filled at most at this short side
    (resized down, the fill upscaled into the hole). For callers that want only the fill's
    layout, not its detail: the texture stage, whose join takes the network's low
    frequencies only, at a quarter of the network's cost for a 512-px photo. A larger
    photo's region crops are filled at the same scale as the whole photo would be, but
    with a short side of at least MIN_CROP_SIDE (:func:`_crop_scale`). ``sparse``: such a
    photo's result is a :class:`PatchedImage` (the crops over ``rgb``, no full copy).
    ``between()`` is called after each crop of a large photo: a caller that raises
    there stops the fill between crops (the editor's cancel).
    """
    if hd not in HD_STRATEGIES:
        raise ValueError(f"hd must be one of {HD_STRATEGIES}, got {hd!r}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("rgb must be an (H, W, 3) uint8 array")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask is {mask.shape[1]} x {mask.shape[0]} but the image is {rgb.shape[1]} x {rgb.shape[0]}")
    mask = as_bool(mask)
    device = device or next(generator.parameters()).device
    if not mask.any():
        return rgb.copy()
    h, w = mask.shape
    protect = protect.astype(bool) if protect is not None else None
    if max(h, w) <= trigger:
        scale = _work_scale(h, w, work_side)
        sketch = _as_trained(sketch, min(h, w), scale)
        if scale < 1.0:
            return _resize_fill(generator, rgb, mask, sketch, device, scale, protect)
        return _run(generator, rgb, mask, sketch, device, protect)
    if hd == "resize":
        scale = trigger / max(h, w)
        return _resize_fill(generator, rgb, mask, _as_trained(sketch, min(h, w), scale), device, scale, protect)
    patches = []
    for y0, y1, x0, x1 in _regions(mask, margin):  # crops that do not overlap
        crop = (slice(y0, y1), slice(x0, x1))
        sub_sketch = sketch[crop] if sketch is not None else None
        sub_protect = protect[crop] if protect is not None else None
        scale = min(_crop_scale((h, w), (y1 - y0, x1 - x0), work_side), trigger / max(y1 - y0, x1 - x0))
        sub_sketch = _as_trained(sub_sketch, min(h, w), min(1.0, scale))
        if scale >= 1.0:
            filled = _run(generator, rgb[crop], mask[crop], sub_sketch, device, sub_protect)
        else:
            filled = _resize_fill(generator, rgb[crop], mask[crop], sub_sketch, device, scale, sub_protect)
        patches.append(((y0, y1, x0, x1), filled))
        if between is not None:  # a chance to stop between crops (an abandoned fill raises here)
            between()
    patched = PatchedImage(rgb, patches)
    return patched if sparse else np.asarray(patched)


@torch.inference_mode()
def attention_record(generator: InpaintGenerator, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None,
                     *, device: torch.device | None = None) -> AttentionRecord:
    """The MTSA layer's record of one forward pass at the image's own size (no HD strategy):
    what `evaluate` measures the attention on."""
    device = device or next(generator.parameters()).device
    p = _prepare(generator, rgb, mask.astype(bool), sketch, device)
    return generator(p.image, p.mask, p.sketch, p.prior, p.protect, record=True).attention


@torch.inference_mode()
def explain(
    generator: InpaintGenerator,
    rgb: np.ndarray,
    mask: np.ndarray,
    sketch: np.ndarray | None,
    point_xy: tuple[int, int],
    *,
    device: torch.device | None = None,
    trigger: int = DEFAULT_TRIGGER,
    protect: np.ndarray | None = None,
    work_side: int | None = None,
) -> dict[str, np.ndarray | float]:
    """Where the MTSA layer borrowed from for the pixel at ``point_xy``, and its temperatures.

    ``protect`` (bool, True = never borrow from here) is applied as in :func:`predict`, so
    the map shows no source inside a protected area; ``work_side`` as in :func:`predict`, so
    the map is of the pass whose fill the caller uses.

    Returns ``attention`` (H, W) float32 summing to about one over the image and
    ``temperature`` (H, W) float32 (mean over heads), both at the image's size; ``attn_keys``,
    the clicked pixel's effective keys (exp of its attention's entropy), and ``attn_distinct``,
    the hole's distinct sources per hole token (app/model/attention_stats.py; NaN when the
    hole has nothing to borrow from).
    """
    device = device or next(generator.parameters()).device
    h, w = mask.shape
    scale = min(1.0, trigger / max(h, w), _work_scale(h, w, work_side))
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    small_rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    small_mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0 if scale < 1 else mask.astype(bool)
    small_sketch = None
    if sketch is not None:
        small_sketch = cv2.resize(sketch, size, interpolation=cv2.INTER_NEAREST) if scale < 1 else sketch
    if protect is not None:
        protect = _shrunk_protect(protect, size) if scale < 1 else protect.astype(bool)
    p = _prepare(generator, small_rgb, small_mask, small_sketch, device, protect)
    record = generator(p.image, p.mask, p.sketch, p.prior, p.protect, record=True).attention
    gh, gw = record.grid
    ph, pw = p.image.shape[-2:]
    x, y = point_xy
    col = min(gw - 1, max(0, int(x * scale / pw * gw)))
    row = min(gh - 1, max(0, int(y * scale / ph * gh)))
    attn = attention_weights(record, row, col)[0].float().cpu().numpy()
    tau = record.temperature[0].float().mean(0).cpu().numpy()

    def to_image(grid: np.ndarray, interpolation: int) -> np.ndarray:
        sh, sw = p.size
        full = cv2.resize(grid, (pw, ph), interpolation=interpolation)[:sh, :sw]
        return cv2.resize(full, (w, h), interpolation=interpolation).astype(np.float32)

    attention = to_image(attn, cv2.INTER_NEAREST)
    total = float(attention.sum())
    if total > 0:
        attention /= total
    stats = attention_stats(record, p.hole if p.protect is not None else None)
    return {"attention": attention, "temperature": to_image(tau, cv2.INTER_LINEAR), "grid": np.array([row, col, gh, gw]),
            "attn_keys": float(effective_keys(torch.from_numpy(attn).flatten())),
            "attn_distinct": stats.distinct if stats is not None else float("nan")}
