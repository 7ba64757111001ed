"""A JPEG saved from a JPEG keeps the source's quantisation tables and chroma subsampling.

Re-encoding a photo at another quality or subsampling changes every pixel a little and
usually makes the file much bigger. Encoded again with its own tables and subsampling,
pixels decoded from those very tables come back as they were, all but about 1 % (mostly
blocks with clipped colours). :func:`match_source` then halves that again: a few rounds
of error feedback (encode, decode, nudge the unedited pixels against the error), keeping
for each 16 x 16 block the round that decodes closest to the source. Pillow can reuse the
tables itself
(``quality="keep"``) only from the Image object it decoded, which is long gone by save
time, so :func:`read_jpeg_settings` keeps what is needed at load time.

Pillow, numpy and OpenCV; no Qt, no torch.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, JpegImagePlugin

from app.core.maskops import bounds

DEFAULT_QUALITY = 95  # used when nothing better is known (a PNG saved as JPEG, a WebP)
KEEP = "keep"  # the quality value that means "as the source JPEG", as in Pillow
SUBSAMPLING_TEXT = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
MATCH_ROUNDS = 3  # encode + decode rounds of match_source; the first is plain re-encoding
MATCH_BLOCK = 16  # a whole MCU for every subsampling Pillow writes
MATCH_MAX_PIXELS = 30_000_000  # larger photos get plain re-encoding (24 MP: ~3 s, ~0.7 GB)
MATCH_MARGIN = 48  # px around the edits that the rounds cover (chroma upsampling reads across blocks)

# The IJG (libjpeg) example luminance table, natural order; quality q scales it.
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)


def ijg_table(quality: int, base: tuple[int, ...] = _IJG_LUMA) -> tuple[int, ...]:
    """libjpeg's ``jpeg_quality_scaling``: the table a given quality 1-100 writes."""
    q = min(100, max(1, int(quality)))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return tuple(min(255, max(1, (v * scale + 50) // 100)) for v in base)


_IJG_TABLES = {q: np.array(ijg_table(q)) for q in range(1, 101)}


def estimate_quality(luma: tuple[int, ...] | list[int]) -> tuple[int, bool]:
    """(IJG quality whose luminance table is nearest to ``luma``, exact match or not).

    Cameras and phones often write their own tables; the nearest IJG quality is then
    an estimate, good for showing the user, while saving reuses the tables themselves.
    """
    table = np.asarray(luma, dtype=np.int64)
    if table.size != 64:
        raise ValueError(f"a quantisation table has 64 entries, got {table.size}")
    errors = {q: int(np.abs(ref - table).sum()) for q, ref in _IJG_TABLES.items()}
    best = min(errors, key=lambda q: (errors[q], -q))
    return best, errors[best] == 0


@dataclass(frozen=True)
class JpegSettings:
    """What a JPEG encoder needs to write like the source did."""

    qtables: tuple[tuple[int, ...], ...]  # per component (Y, Cb[, Cr]), natural order
    subsampling: int  # Pillow's code: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0
    progressive: bool
    quality: int  # the IJG quality of the luminance table, or the nearest one
    standard: bool  # the tables are IJG's, so ``quality`` is exact
    # the source's EXIF orientation (1-8): its pixels are stored turned, and a save with
    # these settings stores them turned back the same way (``stored``), so its 8 x 8
    # blocks and its tables meet the pixels they were made for
    orientation: int = 1

    def describe(self) -> str:
        """'quality 80, 4:2:0' (or '≈ quality 87, 4:2:0' for a camera's own tables)."""
        approx = "" if self.standard else "≈ "
        colour = "gray" if len(self.qtables) == 1 else SUBSAMPLING_TEXT[self.subsampling]  # one channel: nothing subsampled
        return f"{approx}quality {self.quality}, {colour}"

    def save_options(self) -> dict:
        """Pillow ``save`` keywords that write with these tables and this subsampling."""
        return {"qtables": [list(t) for t in self.qtables], "subsampling": self.subsampling,
                "progressive": self.progressive, "optimize": True}


def read_jpeg_settings(img: Image.Image, *, orientation: int = 1) -> JpegSettings | None:
    """The settings of a decoded JPEG (``img`` as opened, before any transpose).

    ``orientation``: the file's EXIF orientation (1-8), kept so that a save stores the
    pixels as the source did. None for anything that is not a YCbCr or gray JPEG (CMYK,
    or not a JPEG at all).
    """
    if not isinstance(img, JpegImagePlugin.JpegImageFile):
        return None
    tables = getattr(img, "quantization", None) or {}
    layers = getattr(img, "layer", None) or []
    if not tables or len(layers) not in (1, 3):
        return None
    try:
        per_component = [tuple(int(v) for v in tables[comp[3]]) for comp in layers]
    except (KeyError, IndexError, TypeError):
        return None
    if any(len(t) != 64 for t in per_component):
        return None
    if len(per_component) == 3 and per_component[1] == per_component[2]:
        per_component = per_component[:2]  # Cb and Cr share a table, as usual
    if len(layers) == 1:  # gray: no chroma to subsample; colour added by a fill stays sharp
        subsampling = 0
    else:
        subsampling = JpegImagePlugin.get_sampling(img)
        if subsampling not in SUBSAMPLING_TEXT:  # 4:1:1 and other rare layouts
            subsampling = 2
    quality, standard = estimate_quality(per_component[0])
    orientation = int(orientation) if orientation in _UPRIGHT else 1
    return JpegSettings(tuple(per_component), subsampling, bool(img.info.get("progressive")),
                        quality, standard, orientation)


# EXIF orientation -> the transpose that makes the stored pixels upright (as Pillow's
# ImageOps.exif_transpose does), and the one that turns upright pixels back
_UPRIGHT = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
            7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
_BACK = {**_UPRIGHT, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def stored(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Upright pixels turned back to how a file with EXIF ``orientation`` stores them."""
    method = _BACK.get(orientation)
    if method is None:
        return rgb
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).transpose(method))


def _encode_decode(rgb: np.ndarray, options: dict) -> np.ndarray:
    """``rgb`` (H x W x 3, or H x W gray) through a JPEG encoder and back, in its own shape."""
    mode = "L" if rgb.ndim == 2 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode).save(buffer, format="JPEG", **options)
    buffer.seek(0)
    with Image.open(buffer) as back:
        return np.asarray(back if back.mode == mode else back.convert(mode))


def _block_scores(error: np.ndarray, block: int) -> np.ndarray:
    """Per block: worst pixel error first, then the summed error (one sortable number)."""
    h, w = error.shape
    hb, wb = -(-h // block), -(-w // block)
    padded = np.zeros((hb * block, wb * block), error.dtype)
    padded[:h, :w] = error
    blocks = padded.reshape(hb, block, wb, block)
    return blocks.max(axis=(1, 3)).astype(np.int64) * 1_000_000 + blocks.sum(axis=(1, 3), dtype=np.int64)


def match_source(rgb: np.ndarray, original: np.ndarray | None, settings: JpegSettings,
                 rounds: int = MATCH_ROUNDS, block: int = MATCH_BLOCK) -> np.ndarray:
    """The pixels to encode so that what was not edited decodes as close to ``original``
    (the source JPEG as decoded) as these tables allow. H x W x 3, or H x W for a gray
    JPEG written gray.

    Round 1 encodes ``rgb`` as it is; each next round adds the decoding error of the
    unedited pixels back to them (error feedback; edited pixels are left alone). Each
    block keeps the round whose unedited pixels decode closest (worst pixel, then sum),
    so no block ends up worse than plain re-encoding would leave it. uint8 throughout
    (saturating OpenCV arithmetic) to keep a 24 MP photo's working set small.
    """
    if original is None or original.shape != rgb.shape:
        return rgb
    h, w = rgb.shape[:2]
    if h * w > MATCH_MAX_PIXELS:
        return rgb
    edited = rgb != original
    edited = edited.any(axis=2) if edited.ndim == 3 else edited  # colour, or one gray channel
    if edited.all() or not edited.any():
        return rgb
    # Re-encoding with the source's own tables moves an unedited block far from the edits
    # by a level or so at most; the rounds matter where edited and unedited pixels share
    # blocks. So they run on the edits' box (with MATCH_MARGIN, on the MCU grid, where the
    # blocks are the same as in the whole photo) and the rest is left to plain re-encoding:
    # a fill in a 24 MP photo saved in about a second, not ten.
    x0, y0, x1, y1 = bounds(edited, MATCH_MARGIN)  # not None: some pixel was edited
    x0, y0 = x0 // block * block, y0 // block * block
    x1, y1 = min(w, -(-x1 // block) * block), min(h, -(-y1 // block) * block)
    if (y1 - y0) * (x1 - x0) < h * w:
        out = rgb.copy()
        box = (slice(y0, y1), slice(x0, x1))
        out[box] = _matched(np.ascontiguousarray(rgb[box]), edited[box], settings, rounds, block)
        return out
    return _matched(rgb, edited, settings, rounds, block)


def _matched(rgb: np.ndarray, edited: np.ndarray, settings: JpegSettings, rounds: int, block: int) -> np.ndarray:
    """:func:`match_source`'s rounds on ``rgb`` whose ``edited`` pixels are left alone."""
    h, w = rgb.shape[:2]
    options = {"qtables": [list(t) for t in settings.qtables], "subsampling": settings.subsampling}
    best = rgb.copy()
    best_scores: np.ndarray | None = None
    current = np.ascontiguousarray(rgb)
    for i in range(max(1, rounds)):
        decoded = _encode_decode(current, options)
        up = cv2.subtract(rgb, decoded)  # where the decoded pixel came out too dark
        down = cv2.subtract(decoded, rgb)  # and too bright (saturating: each >= 0)
        worst = cv2.max(up, down)
        worst = worst.max(axis=2) if worst.ndim == 3 else worst
        worst[edited] = 0
        scores = _block_scores(worst, block)
        if best_scores is None:
            best_scores = scores
        else:
            better = scores < best_scores
            if better.any():
                pixels = np.repeat(np.repeat(better, block, axis=0), block, axis=1)[:h, :w]
                best[pixels] = current[pixels]
                best_scores = np.where(better, scores, best_scores)
        if not best_scores.any() or i + 1 == rounds:
            break
        up[edited] = 0
        down[edited] = 0
        current = cv2.subtract(cv2.add(current, up), down)
    return best
