"""Evaluation holes from mask files: score the engines on holes drawn another way.

``evaluate --mask-dir DIR`` replaces the generated holes with the user's own: for a photo
``NAME.jpg`` in ``--data``, every mask ``batch`` would pair with it in ``DIR``
(``NAME.<ext>``, ``NAME_mask.<ext>``, ``NAME-mask``, ``NAME_mask001`` ...; one hole each)
and every mask file in ``DIR/NAME/``. A mask is drawn on the photo as it is (its size, upright by EXIF,
the app's mask rules: white or opaque = hole) and goes through the same resize and centre
crop as the photo. Each hole is scored in the bucket of the share of the crop it covers;
holes under 10 % or over 60 % get buckets of their own (``0-10``, ``60-100``) rather than
being counted with the nearest one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.core.errors import TemperaError
from app.core.masks_io import load_mask
from app.core.names import ABOVE_BUCKETS, BELOW_BUCKETS, BUCKETS, IMAGE_EXTENSIONS, bucket_name
from app.core.pairing import MASK_WORD, PairIndex, index_partners, partners

ORDER = [bucket_name(b) for b in (BELOW_BUCKETS, *BUCKETS, ABOVE_BUCKETS)]


def _mask_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not p.name.startswith("."))


def masks_for(mask_dir: Path, name: str, top: PairIndex | None = None) -> list[Path]:
    """The mask files for the photo whose file stem is ``name`` (none: an empty list): in
    ``mask_dir``, each file ``batch`` would pair with it (NAME.png, NAME_mask.png,
    NAME-mask.png, NAME_mask001.png ...), and every mask in the folder ``mask_dir/NAME``;
    ``top``: ``mask_dir``'s own files indexed, when the caller has done so already."""
    files = partners(name, index_partners(_mask_files(mask_dir), MASK_WORD) if top is None else top)
    sub = mask_dir / name
    if sub.is_dir():
        files += _mask_files(sub)
    return files


def load_user_holes(
    mask_dir: str | Path,
    photos: Sequence[tuple[str, tuple[int, int]]],
    to_crop: Callable[[np.ndarray], np.ndarray],
    note: Callable[[str], None] | None = None,
) -> list[tuple[int, np.ndarray]]:
    """``(photo index, hole)`` for every mask in ``mask_dir``; ``photos`` gives each photo's
    file stem and (width, height), ``to_crop`` maps an image of that size to the evaluation
    crop. Photos without a mask are left out (``note`` hears how many); a mask of the wrong
    size or an unreadable one is an error that names the file; an empty hole is skipped."""
    root = Path(mask_dir)
    if not root.is_dir():
        raise TemperaError(f"--mask-dir {root} is not a folder")
    holes: list[tuple[int, np.ndarray]] = []
    missing, empty = 0, []
    top = index_partners(_mask_files(root), MASK_WORD)  # listed once, not once per photo
    for i, (name, size) in enumerate(photos):
        files = masks_for(root, name, top)
        if not files:
            missing += 1
        for path in files:
            full = load_mask(path, size)
            hole = to_crop(full.astype(np.uint8) * 255) > 127
            if hole.any():
                holes.append((i, hole))
            else:
                empty.append(path.name)
    if not holes:
        raise TemperaError(f"no masks in {root} match the photos' names (NAME.png, NAME_mask.png or NAME/*.png "
                           "for a photo NAME.jpg), or every hole misses the evaluation crop")
    if note and missing:
        note(f"{missing} of {len(photos)} photo(s) have no mask in {root}: left out")
    if note and empty:
        note(f"{len(empty)} mask(s) leave no hole inside the centre crop, skipped: {', '.join(empty[:3])}"
             + (" ..." if len(empty) > 3 else ""))
    return holes
