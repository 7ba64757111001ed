"""Filling one loaded photo: the steps around an engine's fill, shared by ``inpaint`` and
``batch`` so the two can never drift apart.

Before the fill (:func:`prepare_fill`, once per photo, however many variations follow):
the plan the editor makes too (``app.core.fill_plan``: what no fill may copy from, the
feather ring, the refusal of a hole with nothing to copy from, what the engine is shown).
The fill (:meth:`PreparedFill.fill`) composites the engine's result onto the real pixels,
fading the feather ring in. Its result is written by :meth:`PreparedFill.save`, with the
photo's metadata; the saved alpha makes the filled pixels opaque (``opaque_in_hole``); a
photo with nothing to fill is its own file, copied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from app.core.errors import TemperaError
from app.core.feather import feather_composite
from app.core.fill_plan import plan_fill
from app.core.fill_result import FillResult
from app.core.imageio import KEEP, LoadedImage, alpha_would_be_lost, copy_unchanged, opaque_in_hole, save_image


class FillEngine(Protocol):
    """What a photo fill needs of an engine (``engines.Engine`` is one)."""

    name: str

    def fill(self, rgb: np.ndarray, mask: np.ndarray, sketch: np.ndarray | None = None, *,
             protect: np.ndarray | None = None, seed: int = 0, progress=None,
             drawn: np.ndarray | None = None) -> FillResult: ...


@dataclass(frozen=True)
class PreparedFill:
    """One photo, ready to be filled any number of times (one per seed)."""

    img: LoadedImage
    mask: np.ndarray  # bool, True = the hole the user asked for
    sketch: np.ndarray | None
    protect: np.ndarray | None  # the user's protect mask and the hidden pixels: never copied from
    feather: int  # px of the ring beyond the hole that is filled and faded in
    hole: np.ndarray  # what the engine fills: the hole and its feather ring
    seen: np.ndarray  # the pixels the engine is shown
    alpha: np.ndarray | None  # the alpha to save: filled pixels opaque

    @property
    def empty(self) -> bool:
        return not self.mask.any()

    def fill(self, engine: FillEngine, *, seed: int = 0, progress=None) -> tuple[np.ndarray, FillResult]:
        """The photo with its hole filled by ``engine`` (uint8 RGB, pixels beyond the feather
        ring exactly the photo's) and the engine's result (which engine filled, notices)."""
        result = engine.fill(self.seen, self.hole, self.sketch, protect=self.protect, seed=seed, progress=progress,
                             drawn=self.mask)
        if result.image.shape != self.img.rgb.shape:
            name = self.img.path.name if self.img.path is not None else "the photo"
            raise TemperaError(f"the {engine.name} engine returned {result.image.shape} for {name}")
        return feather_composite(self.img.rgb, result.image, self.mask, self.feather, self.protect), result

    def save(self, path: str | Path, pixels: np.ndarray, *, quality: int | str = KEEP,
             protect: Iterable[str | Path] = ()) -> tuple[Path, bool]:
        """Write ``pixels`` (this photo, filled) to ``path`` atomically, never over one of
        ``protect`` (the inputs), with the photo's alpha, colour profile, EXIF, JPEG settings,
        gray mode and other metadata (dpi, XMP, comments); transparency a format cannot hold
        is flattened onto white. With nothing to fill, the photo's own file is copied byte for
        byte where ``path`` keeps its format and no other ``quality`` is asked
        (``copy_unchanged``). The path, and whether it was such a copy."""
        img = self.img
        if self.empty:
            copied = copy_unchanged(img, path, quality=quality, protect=protect)
            if copied is not None:
                return copied, True
        saved = save_image(path, pixels, alpha=self.alpha, icc_profile=img.icc_profile, exif=img.exif,
                           quality=quality, jpeg=img.jpeg, original=img.rgb, flatten=True, protect=protect,
                           gray=img.gray, compression=img.compression, meta=img.meta)
        return saved, False

    def loses_alpha(self, out: str | Path) -> bool:
        """True when ``out``'s format cannot keep the photo's transparency."""
        return alpha_would_be_lost(out, self.alpha)


def prepare_fill(img: LoadedImage, mask: np.ndarray, *, sketch: np.ndarray | None = None,
                 protect: np.ndarray | None = None, feather: int = 0) -> PreparedFill:
    """Everything a fill of ``img`` needs that does not depend on the seed; TemperaError
    when nothing is left to copy from. ``mask`` and ``protect`` are bool masks of the
    photo's size, ``sketch`` uint8 or None, ``feather`` px (0 = off)."""
    mask = np.asarray(mask, bool)
    plan = plan_fill(img.rgb, img.alpha, mask, protect, feather)
    return PreparedFill(img=img, mask=mask, sketch=sketch, protect=plan.protect, feather=int(feather),
                        hole=plan.hole, seen=plan.seen, alpha=opaque_in_hole(img.alpha, mask))
