"""Document, brush rasterising, settings and autosave: numpy only, no Qt."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core import brush
from app.core.autosave import AutosaveState, AutosaveStore
from app.core.document import Document, save_layer_png
from app.core.errors import TemperaError
from app.core.settings import load_settings, save_settings


def make_doc(w: int = 64, h: int = 48) -> Document:
    return Document(np.full((h, w, 3), 100, np.uint8), path=Path("/photos/beach.JPG"))


def test_stroke_is_binary_with_requested_width() -> None:
    patch = brush.stroke([(10, 20), (50, 20)], 5, (64, 48))
    assert patch is not None
    doc = make_doc()
    doc.paint("sketch", patch, 255)
    assert set(np.unique(doc.sketch)) == {0, 255}
    # Same rasterisation as cv2.line with that thickness, which the sketch generator uses.
    ref = np.zeros((48, 64), np.uint8)
    cv2.line(ref, (10, 20), (50, 20), 255, 5, cv2.LINE_8)
    assert np.array_equal(doc.sketch, ref)


def test_dot_rect_and_lasso() -> None:
    dot = brush.stroke([(5, 5)], 3, (64, 48))
    assert dot is not None and dot.area.sum() >= 5
    rect = brush.rectangle((40, 30), (10, 5), (64, 48))
    assert rect is not None and rect.box == (10, 5, 41, 31) and rect.area.all()
    lasso = brush.polygon([(0, 0), (20, 0), (0, 20)], (64, 48))
    assert lasso is not None and lasso.area[2, 2] and not lasso.area[-1, -1]
    assert brush.polygon([(0, 0), (5, 5)], (64, 48)) is None
    assert brush.rectangle((-50, -50), (-10, -10), (64, 48)) is None


def test_paint_notifies_with_box_and_reports_no_change() -> None:
    doc = make_doc()
    seen: list[tuple[str, object]] = []
    doc.add_listener(lambda layer, box: seen.append((layer, box)))
    patch = brush.rectangle((1, 1), (3, 3), doc.size_wh)
    assert patch is not None
    assert doc.paint("mask", patch, True)
    assert not doc.paint("mask", patch, True)  # already painted: no event, no undo step
    assert seen == [("mask", (1, 1, 4, 4))]
    assert doc.mask.sum() == 9


def test_snapshot_is_independent_and_names() -> None:
    doc = make_doc()
    snap = doc.snapshot(7)
    doc.mask[:] = True
    assert snap.request_id == 7 and not snap.mask.any()
    assert doc.suggested_save_name() == "beach-inpainted.jpg"
    assert Document(np.zeros((2, 2, 3), np.uint8)).suggested_save_name() == "pasted-inpainted.png"
    phone = Document(np.zeros((2, 2, 3), np.uint8), path=Path("IMG_0001.HEIC"))
    assert phone.suggested_save_name() == "IMG_0001-inpainted.jpg"  # HEIC is read, not written


def test_set_layer_rejects_wrong_size() -> None:
    doc = make_doc()
    with pytest.raises(TemperaError, match="64x48"):
        doc.set_layer("mask", np.zeros((10, 10), bool))


def test_save_layer_png(tmp_path: Path) -> None:
    mask = np.zeros((8, 9), bool)
    mask[2:4, 3:5] = True
    out = save_layer_png(tmp_path / "m.png", mask)
    data = np.asarray(Image.open(out))
    assert data.shape == (8, 9) and set(np.unique(data)) == {0, 255}
    assert np.array_equal(data > 0, mask)


def test_settings_fall_back_on_bad_user_values(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"brush_size": 12, "undo_limit": -3, "colour": "x"}))
    s = load_settings(path)
    assert s.brush_size == 12
    assert s.undo_limit == 60  # the shipped default
    assert len(s.problems) == 2
    s.add_recent("/a.png")
    s.add_recent("/b.png")
    s.add_recent("/a.png")
    save_settings(s, path)
    assert load_settings(path).recent_files[:2] == [str(Path("/a.png").resolve()), str(Path("/b.png").resolve())]
    path.write_text(json.dumps({"batch_paths": {"images": 3}, "batch_format": "gif"}))
    s = load_settings(path)
    assert (s.batch_paths, s.batch_format, len(s.problems)) == ({}, "keep", 2)
    path.write_text("{not json")
    assert load_settings(path).problems


def test_autosave_round_trip_and_clear(tmp_path: Path) -> None:
    store = AutosaveStore(tmp_path)
    assert store.read() is None
    mask = np.zeros((30, 40), bool)
    mask[3:9, 4:7] = True
    sketch = np.zeros((30, 40), np.uint8)
    sketch[10, :] = 255
    image = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    store.write(AutosaveState("/p.jpg", mask, sketch, image, 123.0, image_key=1))
    got = AutosaveStore(tmp_path).read()
    assert got is not None and got.source_path == "/p.jpg" and got.saved_at == 123.0
    assert np.array_equal(got.mask, mask) and np.array_equal(got.sketch, sketch)
    assert got.image is not None and np.array_equal(got.image, image)
    assert got.save_path is None and got.save_quality == "keep" and got.name == "p.jpg"
    store.write(AutosaveState("/p.jpg", mask, sketch, image, 123.5, image_key=1, save_path="/out/q.jpg",
                              save_quality=88))
    got = AutosaveStore(tmp_path).read()
    assert (got.save_path, got.save_quality, got.name) == ("/out/q.jpg", 88, "q.jpg")  # the name saved as
    store.write(AutosaveState("/p.jpg", mask, sketch, None, 124.0))
    assert list(tmp_path.glob("image-*.npy")) == []  # the unreferenced image is gone
    store.clear()
    assert store.read() is None and not any(tmp_path.iterdir())


def test_autosave_corrupt_file_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / "session.npz").write_bytes(b"garbage")
    assert AutosaveStore(tmp_path).read() is None


def test_document_copies_read_only_pixels() -> None:
    loaded = np.frombuffer(bytes(12 * 3), np.uint8).reshape(3, 4, 3)  # like a decoder buffer
    doc = Document(loaded)
    assert doc.image.flags.writeable and doc.image is not loaded
    patch = brush.rectangle((0, 0), (1, 1), doc.size_wh)
    assert patch is not None
    doc.image[0, 0] = 5
    assert loaded[0, 0, 0] == 0 and doc.original[0, 0, 0] == 0
