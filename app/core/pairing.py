"""Pairing photos with their masks and sketches by file name, one rule for every command
(``batch``, ``evaluate --mask-dir``): photo.jpg <- photo.png, photo_mask.png,
photo-mask.png, or LaMa's photo_mask001.png (in that order of preference); sketches the
same with "sketch"."""

from __future__ import annotations

import re
from pathlib import Path

MASK_WORD = "mask"
SKETCH_WORD = "sketch"
# When a stem has several candidate files, prefer lossless ones (a JPEG mask is noisy).
EXT_PREFERENCE = {ext: i for i, ext in enumerate((".png", ".tif", ".tiff", ".bmp", ".webp",
                                                    ".jpg", ".jpeg"))}

PairIndex = dict[str, list[tuple[int, int, str, Path]]]


def index_partners(files: list[Path], word: str) -> PairIndex:
    """Index a folder of masks (or sketches) by the photo stem they belong to.

    Built in one pass so that pairing stays linear in big folders. Each entry carries a
    rank: 0 exact stem, 1 "_mask", 2 "-mask", 3 "_mask<digits>" (LaMa's naming).
    """
    pattern = re.compile(rf"^(?P<base>.+?)(?:(?P<u>_{word})|(?P<d>-{word})|(?P<n>_{word}\d+))$",
                         re.IGNORECASE)
    index: PairIndex = {}
    for path in files:
        ext_rank = EXT_PREFERENCE.get(path.suffix.lower(), 99)
        index.setdefault(path.stem.casefold(), []).append((0, ext_rank, path.name, path))
        found = pattern.match(path.stem)
        if found:
            rank = 1 if found.group("u") else 2 if found.group("d") else 3
            index.setdefault(found.group("base").casefold(), []).append(
                (rank, ext_rank, path.name, path))
    for entries in index.values():
        entries.sort(key=lambda e: e[:3])
    return index


def partner(image: Path, index: PairIndex, *, exact: bool = True) -> Path | None:
    """The mask (or sketch) for ``image``; never the image itself. ``exact=False`` skips
    same-stem files, for masks kept in the photos' own folder (photo.png is a photo)."""
    for rank, _ext, _name, candidate in index.get(image.stem.casefold(), []):
        if rank == 0 and not exact:
            continue
        if candidate.resolve() != image.resolve():
            return candidate
    return None


def partners(stem: str, index: PairIndex) -> list[Path]:
    """Every file ``index`` pairs with the photo stem ``stem``, best first."""
    return [entry[3] for entry in index.get(stem.casefold(), [])]
