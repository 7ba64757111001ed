"""Turn any Pillow image mode into the app's arrays: RGB uint8 (H, W, 3) + optional alpha.

Pillow modes differ in depth (1, 8, 16, 32-bit int, float) and colour model (gray,
palette, CMYK, YCbCr, LAB). Deep modes are *scaled* to 8 bit, never clipped, so a 16-bit
scan does not come out white.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

_ALPHA_MODES = {"RGBA": "RGBA", "RGBa": "RGBA", "LA": "LA", "La": "LA", "PA": "RGBA"}


def _scale_16(arr: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 with rounding (65535 -> 255, 32768 -> 128)."""
    wide = arr.astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def _stretch(arr: np.ndarray) -> np.ndarray:
    """Linear min..max -> 0..255, for data with no known range."""
    arr = arr.astype(np.float64)
    finite = np.isfinite(arr)
    if not finite.any():
        return np.zeros(arr.shape, np.uint8)
    lo, hi = float(arr[finite].min()), float(arr[finite].max())
    arr = np.where(finite, arr, lo)
    if hi <= lo:
        return np.full(arr.shape, 255 if lo > 0 else 0, np.uint8)
    return np.round((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def gray8(img: Image.Image, fmt: str | None = None) -> np.ndarray:
    """A single-channel 8-bit view of a gray image of any depth (modes 1, L, I*, F); ``fmt``
    is the file's format when ``img`` no longer says it (a turned copy)."""
    mode = img.mode
    if mode.startswith("I;16"):
        # np.asarray knows the byte order of I;16 / I;16B / I;16L.
        return _scale_16(np.asarray(img))
    if mode == "I":
        arr = np.asarray(img)
        # Mode I mostly comes from 16-bit PNG/PGM data: keep that scale when the values fit
        # it, so a dark 16-bit image stays dark. A 32-bit integer TIFF whose values all fit
        # 8 bits holds 8-bit data stored wide (as float TIFFs of 0-255 do, below): taken as
        # it is, not as a nearly black 16-bit image. Anything else is stretched.
        if arr.size and arr.min() >= 0 and arr.max() <= 255 and (fmt or img.format) == "TIFF":
            return arr.astype(np.uint8)
        if arr.size and arr.min() >= 0 and arr.max() <= 65535:
            return _scale_16(arr)
        return _stretch(arr)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        finite = arr[np.isfinite(arr)]
        if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
            # Normalised float data (the usual HDR/scientific export convention).
            return np.round(np.nan_to_num(arr, nan=0.0) * 255.0).astype(np.uint8)
        if finite.size and finite.min() >= 0.0 and finite.max() <= 255.0:
            return np.round(np.nan_to_num(arr, nan=0.0)).astype(np.uint8)
        return _stretch(arr)
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _cmyk_to_rgb(img: Image.Image, icc: bytes | None) -> tuple[Image.Image, bool]:
    """CMYK -> RGB through the embedded profile when littleCMS can use it.

    Returns (image, colour_managed). A naive conversion is the fallback: colours are off,
    but the user still gets a picture.
    """
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            out = ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
            if out is not None:
                return out, True
        except Exception:  # noqa: BLE001 - a broken profile must not stop the load
            pass
    return img.convert("RGB"), False


def icc_colour_space(icc: bytes | None) -> bytes | None:
    """The ICC header's data colour space signature, e.g. b'RGB ', b'GRAY', b'CMYK'."""
    if not icc or len(icc) < 20:
        return None
    return bytes(icc[16:20])


def to_rgb_alpha(
    img: Image.Image, icc: bytes | None = None, fmt: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """(rgb uint8 (H,W,3), alpha uint8 (H,W) or None, icc to keep for the RGB pixels).

    The ICC profile is kept only when it describes RGB data: a gray or CMYK profile
    attached to the converted RGB pixels would make other programs mis-render them.
    """
    mode = img.mode
    alpha: np.ndarray | None = None
    keep_icc = icc if icc_colour_space(icc) == b"RGB " else None

    if mode == "P" and "transparency" in img.info:
        img, mode = img.convert("RGBA"), "RGBA"
    if mode in _ALPHA_MODES:
        img = img.convert(_ALPHA_MODES[mode])  # un-premultiplies RGBa/La
        arr = np.asarray(img)
        alpha = np.ascontiguousarray(arr[..., -1])
        if img.mode == "LA":
            rgb = np.repeat(arr[..., :1], 3, axis=2)
        else:
            rgb = arr[..., :3]
        return np.ascontiguousarray(rgb, dtype=np.uint8), alpha, keep_icc

    if mode == "CMYK":
        img, _managed = _cmyk_to_rgb(img, icc)
        return np.ascontiguousarray(np.asarray(img), dtype=np.uint8), None, None

    if mode in ("1", "L", "I", "F") or mode.startswith("I;16"):
        gray = gray8(img, fmt)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2)), None, None

    if mode != "RGB":  # P, RGBX, YCbCr, LAB, HSV, ...
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img), dtype=np.uint8), None, keep_icc
