"""The project's photo manifest (``manifest.csv`` beside this module): one row per training
or held-out photo, naming the registry package it comes from and the size it becomes."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import TemperaError

MANIFEST_PATH = Path(__file__).with_name("manifest.csv")
MAX_SHORT_SIDE = 1024
REQUIRED_COLUMNS = (
    "id", "category", "registry", "package", "version", "path_in_package",
    "orig_w", "orig_h", "out_w", "out_h", "grayscale_source", "license_hint",
)
REGISTRIES = ("debian", "pypi", "npm")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]+$")


# ----------------------------------------------------------------------------- manifest
@dataclass(frozen=True)
class PhotoEntry:
    """One manifest row: where a training photo comes from and what it becomes."""

    id: str
    category: str
    registry: str
    package: str
    version: str
    path_in_package: str
    orig_w: int
    orig_h: int
    out_w: int
    out_h: int
    grayscale_source: bool
    license_hint: str

    @property
    def source(self) -> tuple[str, str, str]:
        return (self.registry, self.package, self.version)

    @property
    def clean_version(self) -> str:
        """The version without remarks such as ``"2.1 (sdist)"``."""
        return self.version.split()[0]


def read_manifest(path: str | Path = MANIFEST_PATH) -> list[PhotoEntry]:
    """Parse and validate the manifest; a malformed file is a user error, not a crash."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemperaError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError:
        raise TemperaError(f"manifest {path} is not a UTF-8 CSV file") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise TemperaError(f"manifest {path} lacks columns: {', '.join(missing)}")
    entries: list[PhotoEntry] = []
    seen: set[str] = set()
    for lineno, row in enumerate(reader, start=2):
        try:
            entry = PhotoEntry(
                id=row["id"].strip(),
                category=row["category"].strip(),
                registry=row["registry"].strip(),
                package=row["package"].strip(),
                version=row["version"].strip(),
                path_in_package=row["path_in_package"].strip(),
                orig_w=int(row["orig_w"]),
                orig_h=int(row["orig_h"]),
                out_w=int(row["out_w"]),
                out_h=int(row["out_h"]),
                grayscale_source=row["grayscale_source"].strip() in ("1", "true", "True"),
                license_hint=row["license_hint"].strip(),
            )
        except (TypeError, ValueError) as exc:
            raise TemperaError(f"manifest {path} line {lineno}: bad number ({exc})") from exc
        if not _SAFE_ID.match(entry.id):
            raise TemperaError(f"manifest {path} line {lineno}: id {entry.id!r} is not a safe file name")
        if entry.id in seen:
            raise TemperaError(f"manifest {path} line {lineno}: duplicate id {entry.id}")
        if entry.registry not in REGISTRIES:
            raise TemperaError(f"manifest {path} line {lineno}: unknown registry {entry.registry!r}")
        if capped_size(entry.orig_w, entry.orig_h) != (entry.out_w, entry.out_h):
            raise TemperaError(
                f"manifest {path} line {lineno}: out size {entry.out_w}x{entry.out_h} does not match "
                f"{entry.orig_w}x{entry.orig_h} capped at {MAX_SHORT_SIDE}"
            )
        seen.add(entry.id)
        entries.append(entry)
    if not entries:
        raise TemperaError(f"manifest {path} has no rows")
    return entries


# ----------------------------------------------------------------------------- images
def capped_size(w: int, h: int, max_short: int = MAX_SHORT_SIDE) -> tuple[int, int]:
    """(w, h) scaled so that the short side is at most ``max_short`` (never upscaled)."""
    short = min(w, h)
    if short <= max_short:
        return (w, h)
    scale = max_short / short
    # the short side is exactly max_short; the long side rounds like the manifest does
    if w <= h:
        return (max_short, int(round(h * scale)))
    return (int(round(w * scale)), max_short)
