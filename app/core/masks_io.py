"""Masks and sketches from image files, as the app's arrays.

Rules (the same for the GUI, the batch runner and evaluation):

* A file whose alpha channel really varies (some pixel not fully opaque) is read through
  its alpha: opaque (alpha > 127) marks, as strokes painted on a transparent layer do.
  But where most of the file is opaque and holds both black and white, it is a
  black/white mask with a few transparent pixels (an eraser's touch, a soft edge): there
  white and opaque marks. A fully opaque RGBA/LA file is read like a gray one, because
  editors often export a black/white mask with a solid alpha.
* Otherwise the luminance decides, thresholded at > 127 rather than > 0: masks saved as
  JPEG carry compression noise around the edges and in the "black" area. The exception
  is a 0/1 label map (max value 1, as written by ``np.save``-style scripts), where
  non-zero marks, so it does not come out empty. A mask whose brightest pixel is 2-127
  (a grey hole, a label map with more classes) is refused with a one-line error instead
  of coming out empty.
* Sketches: strokes are bright (luminance > 127). A file with real transparency is read as
  a mask is: strokes drawn on a transparent layer mark where opaque, whatever their colour
  (black pen lines included), and a mostly opaque black/white file by its bright pixels.
* EXIF orientation is applied, so a mask drawn on the camera's sideways JPEG lines up with
  the upright photo.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from app.core.errors import TemperaError
from app.core.image_open import open_oriented
from app.core.pixel_modes import gray8

if TYPE_CHECKING:
    from app.core.imageio import LoadedImage

_THRESHOLD = 127
# The most of a sketch that may be strokes: the project's own edge sketches of busy photos
# cover up to about a sixth of them; a photo or an overlay read as strokes, half or more.
MAX_STROKE_SHARE = 0.4


def _gray_and_alpha(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """(luminance uint8 (H,W), alpha uint8 (H,W) when it has real transparency, else None)."""
    mode = img.mode
    if mode == "PA" or (mode == "P" and "transparency" in img.info):
        img, mode = img.convert("RGBA"), "RGBA"
    alpha: np.ndarray | None = None
    if mode in ("RGBA", "RGBa", "LA", "La"):
        conv = img.convert("LA")
        arr = np.asarray(conv)
        gray, alpha = arr[..., 0], arr[..., 1]
        if alpha.min() == 255:
            alpha = None  # solid alpha carries no information
        return np.ascontiguousarray(gray), None if alpha is None else np.ascontiguousarray(alpha)
    if mode in ("1", "L", "I", "F") or mode.startswith("I;16"):
        return gray8(img), None
    return np.asarray(img.convert("L"), dtype=np.uint8), None


def _check_size(name: str, got: tuple[int, int], want: tuple[int, int], what: str) -> None:
    if tuple(got) != tuple(want):
        # A swapped width and height is almost always a mask drawn on a camera JPEG's
        # stored pixels, while Tempera (like every viewer) shows the photo upright.
        hint = (
            "; width and height are swapped: a camera photo is shown upright by its EXIF"
            f" orientation, so draw the {what} on it as Tempera shows it"
            if tuple(got) == tuple(want)[::-1]
            else ""
        )
        raise TemperaError(
            f"the {what} {name} is {got[0]} x {got[1]} but the image is {want[0]} x {want[1]}"
            f" (the {what} must have the image's size{hint})"
        )


def _painted_on_black(gray: np.ndarray, opaque: np.ndarray) -> bool:
    """Whether a mask with transparency is really a black/white one: most of it opaque,
    and its opaque pixels both dark and bright."""
    if opaque.mean() <= 0.5:
        return False
    seen = gray[opaque]
    return bool(seen.min() <= _THRESHOLD < seen.max())


def _opaque_marks(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What a file with real transparency marks: its opaque pixels (strokes on a transparent
    layer, whatever their colour), or its opaque bright ones when it is a black/white file
    with a few transparent pixels."""
    opaque = alpha > _THRESHOLD
    return opaque & (gray > _THRESHOLD) if _painted_on_black(gray, opaque) else opaque


def load_mask(
    path: str | os.PathLike[str], size: tuple[int, int], *, max_pixels: int | None = None, what: str = "mask"
) -> np.ndarray:
    """Read a mask file as bool (H, W), True = hole. ``size`` is the image's (width, height);
    ``what`` names the file in errors ("protect mask")."""
    path = Path(path)
    opened = open_oriented(path, max_pixels=max_pixels, role=what)
    _check_size(path.name, opened.image.size, size, what)
    gray, alpha = _gray_and_alpha(opened.image)
    if alpha is not None:
        return _opaque_marks(gray, alpha)
    top = int(gray.max()) if gray.size else 0
    if top == 1:
        return gray > 0
    if 1 < top <= _THRESHOLD:
        # grey or a label map (0/1/2): nothing would count, and the fill would silently
        # do nothing; say so rather than write the photo unchanged
        raise TemperaError(f"{path.name} has no pixel brighter than {_THRESHOLD} (its brightest is {top} of "
                           f"255): paint the hole white, or give a 0/1 mask")
    return gray > _THRESHOLD


def mask_from_alpha(img: LoadedImage) -> np.ndarray:
    """Holes where the image is transparent (alpha < 128), as bool (H, W).

    An image without an alpha channel has nothing to say about holes; that is a user
    error ("use transparency as mask" on a JPEG), reported rather than returning an empty
    mask that would silently do nothing.
    """
    if img.alpha is None:
        name = img.path.name if img.path is not None else "the image"
        raise TemperaError(f"{name} has no transparency to use as a mask")
    return img.alpha <= _THRESHOLD


def load_sketch(
    path: str | os.PathLike[str], size: tuple[int, int], *, max_pixels: int | None = None
) -> np.ndarray:
    """Read a sketch file as uint8 (H, W) in {0, 255}, 255 = stroke."""
    path = Path(path)
    opened = open_oriented(path, max_pixels=max_pixels, role="sketch")
    _check_size(path.name, opened.image.size, size, "sketch")
    gray, alpha = _gray_and_alpha(opened.image)
    strokes = gray > _THRESHOLD if alpha is None else _opaque_marks(gray, alpha)
    share = float(strokes.mean()) if strokes.size else 0.0
    if share > MAX_STROKE_SHARE:  # a photo, an overlay, an inverted sketch: its fill would be noise
        raise TemperaError(f"{path.name} is not a sketch: {share * 100:.0f} % of it counts as strokes (a sketch is "
                           "thin white lines on black, or lines on a transparent layer)")
    return np.where(strokes, np.uint8(255), np.uint8(0))
