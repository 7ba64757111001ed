"""The editing document: plain numpy layers plus what was loaded, no Qt.

``image`` (H, W, 3) uint8, ``mask`` (H, W) bool (True = hole), ``sketch`` (H, W) uint8
{0, 255}, ``protect`` (H, W) bool (True = no fill may copy from here). The widget
converts widget coordinates to image pixels once and calls these methods; undo commands
call ``apply_diff``. Listeners hear ``(layer, box)`` after every change (box None = the
whole layer) so views repaint only what changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.core.atomic import atomic_write
from app.core.brush import Box, Patch, apply_patch
from app.core.errors import TemperaError
from app.core.imageio import opaque_in_hole, refuse_overwrite
from app.core.names import output_suffix
from app.core.undo import PaintDiff

LAYERS = ("image", "mask", "sketch", "protect")
# and one the user never paints: pixels a fill made opaque in a photo with transparency
EDIT_LAYERS = (*LAYERS, "opaque")
Listener = Callable[[str, "Box | None"], None]


@dataclass(frozen=True)
class Snapshot:
    """An immutable copy of what a fill needs; ``request_id`` identifies the request."""

    request_id: int
    image: np.ndarray
    mask: np.ndarray
    sketch: np.ndarray
    protect: np.ndarray  # bool (H, W): areas no fill may borrow from


class Document:
    def __init__(
        self,
        image: np.ndarray,
        *,
        source: Any = None,
        path: Path | None = None,
        mask: np.ndarray | None = None,
        sketch: np.ndarray | None = None,
        protect: np.ndarray | None = None,
    ) -> None:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        # Our own writable copy: loaded pixels may be a read-only view of decoder memory.
        self.image = np.array(image, dtype=np.uint8, order="C", copy=True)
        # The pixels as opened, shown while Tab is held; shares the loader's buffer (no
        # second copy of a 24 MP photo) and is never written.
        self.original = np.ascontiguousarray(image)
        self.mask = np.zeros((h, w), bool) if mask is None else self._checked(mask, bool)
        self.sketch = np.zeros((h, w), np.uint8) if sketch is None else self._checked(sketch, np.uint8)
        self.protect = np.zeros((h, w), bool) if protect is None else self._checked(protect, bool)
        self.opaque = np.zeros((h, w), bool)  # filled pixels: opaque whatever the photo's alpha
        self.source = source  # app.core.imageio.LoadedImage or None (pasted)
        self.path = path  # the file that was opened (never overwritten by Ctrl+S)
        self.save_path: Path | None = None  # where Ctrl+S writes, once chosen
        self.save_quality: int | str = "keep"  # chosen with save_path (imageio.KEEP, LOSSLESS or 1-100)
        self.last_mask: np.ndarray | None = None  # mask (and sketch) of the last fill
        self.last_sketch: np.ndarray | None = None
        self.fills = 0  # applied image edits minus undone ones: image differs from the original
        self.image_version = 0  # bumped on every image change (autosave, stale fill results)
        self._listeners: list[Listener] = []

    def _checked(self, array: np.ndarray, dtype: type) -> np.ndarray:
        if array.shape != self.size_hw:
            raise TemperaError(
                f"layer is {array.shape[1]}x{array.shape[0]} but the image is {self.width}x{self.height}"
            )
        return np.ascontiguousarray(array.astype(dtype, copy=True))

    # -- geometry -----------------------------------------------------------------------
    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def size_wh(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def size_hw(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def name(self) -> str:
        """The file this document is saved to, else the one it was opened from."""
        shown = self.save_path or self.path
        return shown.name if shown else "Pasted image"

    def suggested_save_name(self) -> str:
        """``photo-inpainted.jpg`` next to the original; PNG for pasted images."""
        if self.path is None:
            return "pasted-inpainted.png"
        return f"{self.path.stem}-inpainted{output_suffix(self.path.suffix.lower()) if self.path.suffix else '.png'}"

    # -- listeners ----------------------------------------------------------------------
    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def notify(self, layer: str, box: Box | None = None) -> None:
        if layer == "image":
            self.image_version += 1
        for fn in list(self._listeners):
            fn(layer, box)

    def layer(self, name: str) -> np.ndarray:
        if name not in EDIT_LAYERS:
            raise KeyError(name)
        return getattr(self, name)

    # -- edits --------------------------------------------------------------------------
    def paint(self, layer: str, patch: Patch, value: bool | int) -> bool:
        """Paint ``value`` where ``patch`` is set; notifies and returns True when changed."""
        if apply_patch(self.layer(layer), patch, value):
            self.notify(layer, patch.box)
            return True
        return False

    def apply_diff(self, diff: PaintDiff, *, undo: bool) -> None:
        diff.apply(self.layer(diff.layer), undo=undo)
        self.notify(diff.layer, diff.box)

    def set_layer(self, name: str, array: np.ndarray) -> None:
        """Replace a whole layer (imported mask or sketch, restored autosave)."""
        current = self.layer(name)
        if array.shape != current.shape:
            raise TemperaError(
                f"{name} is {array.shape[1]}x{array.shape[0]} but the image is {self.width}x{self.height}"
            )
        current[...] = array.astype(current.dtype, copy=False)
        self.notify(name, None)

    def snapshot(self, request_id: int) -> Snapshot:
        """Copies, so later strokes cannot change what the worker is filling."""
        return Snapshot(request_id, self.image.copy(), self.mask.copy(), self.sketch.copy(), self.protect.copy())

    def has_hole(self) -> bool:
        return bool(self.mask.any())

    def image_edited(self) -> bool:
        return self.fills > 0

    def has_alpha(self) -> bool:
        alpha = getattr(self.source, "alpha", None)
        return alpha is not None and alpha.shape == self.mask.shape

    def alpha(self, box: Box | None = None) -> np.ndarray | None:
        """The photo's transparency as edited (None when it has none): the holes filled are
        opaque (the ``opaque`` layer, set by each fill and undone with it), so a fill of a
        transparent area shows and is saved. ``box`` (x0, y0, x1, y1) returns that part only."""
        if not self.has_alpha():
            return None
        x0, y0, x1, y1 = box if box is not None else (0, 0, self.width, self.height)
        part = (slice(y0, y1), slice(x0, x1))
        return opaque_in_hole(self.source.alpha[part], self.opaque[part])


def save_layer_png(path: Path, layer: np.ndarray, protect: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Write a mask (bool) or sketch (uint8) as a single-channel 0/255 PNG, atomically;
    never over one of ``protect`` (the photo that was opened)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    refuse_overwrite(path, protect)
    data = (layer > 0).astype(np.uint8) * 255 if layer.dtype == bool else layer.astype(np.uint8)
    try:
        return atomic_write(path, lambda fh: Image.fromarray(data, mode="L").save(fh, format="PNG", optimize=False))
    except OSError as exc:
        raise TemperaError(f"cannot write {path}: {exc.strerror or exc}") from exc
