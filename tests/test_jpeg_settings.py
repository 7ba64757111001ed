"""A JPEG saved from a JPEG keeps its tables and subsampling; transparency is never dropped silently."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from app.core.errors import TemperaError
from app.core.fill_result import FillResult
from app.core.imageio import KEEP, alpha_would_be_lost, flatten_alpha, load_image, save_image
from app.core.jpeg_settings import estimate_quality, ijg_table


def photo_like(w: int = 256, h: int = 192, seed: int = 1) -> np.ndarray:
    """Smooth shapes plus texture: compresses like a photo, not like flat test colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.dstack([128 + 90 * np.sin(x / 23 + c) * np.cos(y / 31 - c) for c in (0.0, 1.3, 2.6)])
    noise = cv2.GaussianBlur(rng.normal(0, 25, (h, w, 3)).astype(np.float32), (0, 0), 1.2)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _fill_hole(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros(rgb.shape[:2], bool)
    mask[60:110, 80:150] = True
    out = rgb.copy()
    out[mask] = (40, 200, 90)
    return out, mask


@pytest.mark.parametrize("quality", [10, 35, 50, 75, 80, 92, 100])
def test_quality_of_ijg_tables_is_recovered_exactly(quality: int) -> None:
    assert estimate_quality(ijg_table(quality)) == (quality, True)


def test_camera_tables_give_the_nearest_quality() -> None:
    table = list(ijg_table(87))
    table[5] += 3  # a camera's own, slightly different table
    assert estimate_quality(table) == (87, False)


@pytest.mark.parametrize("quality, subsampling", [(80, 2), (70, 1), (92, 0)])
def test_jpeg_from_jpeg_keeps_tables_subsampling_and_pixels_outside_the_hole(
        tmp_path: Path, quality: int, subsampling: int) -> None:
    src = tmp_path / "src.jpg"
    Image.fromarray(photo_like()).save(src, quality=quality, subsampling=subsampling)
    img = load_image(src)
    assert img.jpeg is not None and img.jpeg.quality == quality and img.jpeg.standard
    assert img.jpeg.subsampling == subsampling
    edited, mask = _fill_hole(img.rgb)
    out = save_image(tmp_path / "out.jpg", edited, jpeg=img.jpeg)
    with Image.open(src) as a, Image.open(out) as b:
        assert b.quantization == a.quantization
        assert JpegImagePlugin.get_sampling(b) == subsampling
    back = load_image(out).rgb.astype(int)
    # Pixels in 16 x 16 blocks the hole does not touch (those it touches are re-encoded).
    touched = np.zeros_like(mask)
    touched[48:112, 80:160] = True
    assert not (mask & ~touched).any()
    diff = np.abs(back - img.rgb.astype(int)).max(axis=2)[~touched]
    # Old behaviour (quality 95, 4:4:4 for every JPEG) changed 10-65 % of these pixels.
    assert np.count_nonzero(diff) / diff.size < 0.05
    assert diff.mean() < 0.1
    # The result is no bigger than the source: same tables, optimised Huffman codes.
    assert out.stat().st_size < src.stat().st_size * 1.1


def test_an_explicit_quality_still_wins_and_png_sources_get_95(tmp_path: Path) -> None:
    src = tmp_path / "src.jpg"
    Image.fromarray(photo_like()).save(src, quality=60)
    img = load_image(src)
    out = save_image(tmp_path / "q90.jpg", img.rgb, jpeg=img.jpeg, quality=90)
    with Image.open(out) as b:
        assert estimate_quality(b.quantization[0]) == (90, True)
    png = tmp_path / "src.png"
    Image.fromarray(photo_like()).save(png)
    loaded = load_image(png)
    assert loaded.jpeg is None
    out = save_image(tmp_path / "from_png.jpg", loaded.rgb, jpeg=loaded.jpeg, quality=KEEP)
    with Image.open(out) as b:
        assert estimate_quality(b.quantization[0]) == (95, True)
    with pytest.raises(TemperaError, match="quality"):
        save_image(tmp_path / "bad.jpg", loaded.rgb, quality=0)


def test_gray_and_rotated_422_sources(tmp_path: Path) -> None:
    gray = tmp_path / "gray.jpg"
    Image.fromarray(photo_like()[..., 0]).save(gray, quality=85)
    settings = load_image(gray).jpeg
    assert settings is not None and len(settings.qtables) == 1 and settings.subsampling == 0
    assert settings.describe() == "quality 85, gray"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: saved turned back, so 4:2:2 stays as it was
    rotated = tmp_path / "rot.jpg"
    Image.fromarray(photo_like()).save(rotated, quality=85, subsampling=1, exif=exif)
    img = load_image(rotated)
    assert img.rgb.shape[:2] == (256, 192) and img.jpeg.subsampling == 1 and img.jpeg.orientation == 6


@pytest.mark.parametrize("orientation", [3, 6, 8, 5])
def test_a_turned_phone_photo_keeps_its_unedited_pixels_as_an_upright_one_does(tmp_path: Path, orientation) -> None:
    upright = photo_like(448, 288)
    exif = Image.Exif()
    exif[0x0112] = orientation
    turned = tmp_path / "phone.jpg"
    # stored as a camera would, so that the orientation turns it upright
    from app.core.jpeg_settings import stored

    Image.fromarray(stored(upright, orientation)).save(turned, quality=90, exif=exif)
    Image.fromarray(upright).save(tmp_path / "plain.jpg", quality=90)
    changes = {}
    for name in ("phone.jpg", "plain.jpg"):
        img = load_image(tmp_path / name)
        assert img.rgb.shape == upright.shape
        out, mask = _fill_hole(img.rgb)
        saved = save_image(tmp_path / f"out-{name}", out, exif=img.exif, jpeg=img.jpeg, original=img.rgb)
        back = load_image(saved)
        assert back.rgb.shape == upright.shape  # shown upright
        assert np.abs(back.rgb[mask].astype(int) - (40, 200, 90)).mean() < 8  # the fill where it was put
        changes[name] = np.abs(back.rgb[~mask].astype(int) - img.rgb[~mask]).mean()
    assert Image.open(tmp_path / "out-phone.jpg").getexif().get(0x0112) == orientation
    assert changes["phone.jpg"] < 2 * changes["plain.jpg"] + 0.02, changes


def test_transparency_is_never_dropped_silently(tmp_path: Path) -> None:
    rgb = np.zeros((6, 8, 3), np.uint8)
    alpha = np.full((6, 8), 255, np.uint8)
    assert not alpha_would_be_lost(tmp_path / "o.jpg", alpha)  # opaque: nothing to lose
    save_image(tmp_path / "opaque.jpg", rgb, alpha=alpha)
    alpha[:, :4] = 0
    for ext in ("jpg", "bmp"):
        assert alpha_would_be_lost(tmp_path / f"o.{ext}", alpha)
        with pytest.raises(TemperaError, match="cannot hold transparency"):
            save_image(tmp_path / f"o.{ext}", rgb, alpha=alpha)
        assert not (tmp_path / f"o.{ext}").exists()
        out = save_image(tmp_path / f"o.{ext}", rgb, alpha=alpha, flatten=True)
        back = np.asarray(Image.open(out).convert("RGB")).astype(int)
        assert back[:, :4].min() >= 250 and back[:, 4:].max() <= 5  # transparent -> white
    assert not alpha_would_be_lost(tmp_path / "o.png", alpha)
    half = flatten_alpha(np.zeros((1, 1, 3), np.uint8), np.full((1, 1), 128, np.uint8))
    assert tuple(half[0, 0]) == (127, 127, 127)


# ---------------------------------------------------------------- command line and batch


class _Grey:
    """A fill engine that paints the hole grey (the batch needs only ``fill``)."""

    name = "grey"

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        out = rgb.copy()
        out[mask] = 128
        return FillResult(out, self.name)


def _job(tmp_path: Path) -> tuple[Path, Path]:
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(photo_like()).save(images / "a.jpg", quality=72, subsampling=2)
    rgba = np.dstack([photo_like(seed=2), np.full((192, 256), 255, np.uint8)])
    rgba[:, :40, 3] = 0
    Image.fromarray(rgba, "RGBA").save(images / "b.png")
    mask = np.zeros((192, 256), np.uint8)
    mask[60:110, 80:150] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    return images, tmp_path / "m.png"


def test_batch_keeps_each_jpegs_quality_unless_one_is_given(tmp_path: Path) -> None:
    from app.inference.batch import run_batch

    images, mask = _job(tmp_path)
    report = run_batch(images, mask, tmp_path / "keep", engine=_Grey(), fmt="keep")
    assert report.ok == ["a.jpg", "b.png"] and not report.notes
    with Image.open(tmp_path / "keep" / "a.jpg") as out:
        assert estimate_quality(out.quantization[0]) == (72, True)
        assert JpegImagePlugin.get_sampling(out) == 2
    report = run_batch(images, mask, tmp_path / "jpg90", engine=_Grey(), fmt="jpg", quality=90)
    with Image.open(tmp_path / "jpg90" / "a.jpg") as out:
        assert estimate_quality(out.quantization[0]) == (90, True)
    # A transparent PNG written as JPEG: flattened onto white, and the summary says so.
    assert report.notes == [("b.png", "transparency flattened onto white (.jpg cannot store it)")]
    assert "note: b.png: transparency flattened onto white" in report.summary()
    flat = np.asarray(Image.open(tmp_path / "jpg90" / "b.jpg").convert("RGB"))
    assert flat[:, :30].min() >= 245


def test_cli_quality_default_keeps_the_source(tmp_path: Path, capsys) -> None:
    from app.cli import main as cli_main

    images, mask = _job(tmp_path)
    out = tmp_path / "a-out.jpg"
    assert cli_main(["inpaint", str(images / "a.jpg"), "--mask", str(mask), "-o", str(out),
                     "--engine", "telea"]) == 0
    with Image.open(out) as saved:
        assert estimate_quality(saved.quantization[0]) == (72, True)
    assert cli_main(["inpaint", str(images / "b.png"), "--mask", str(mask), "-o",
                     str(tmp_path / "b.jpg"), "--engine", "telea"]) == 0
    err = capsys.readouterr().err
    assert "note: b.png has transparency, which .jpg cannot store; flattened onto white" in err
    assert cli_main(["batch", "--images", str(images), "--masks", str(mask), "--out",
                     str(tmp_path / "o"), "--engine", "telea", "--format", "jpg", "--quality", "50"]) == 0
    with Image.open(tmp_path / "o" / "a.jpg") as saved:
        assert estimate_quality(saved.quantization[0]) == (50, True)


def test_match_source_brings_unedited_pixels_closer_than_plain_reencoding(tmp_path: Path) -> None:
    from app.core.jpeg_settings import match_source

    # Strong contrast clips colours, where plain re-encoding drifts most.
    bright = np.clip(photo_like(seed=4).astype(int) * 2 - 120, 0, 255).astype(np.uint8)
    src = tmp_path / "src.jpg"
    Image.fromarray(bright).save(src, quality=75, subsampling=2)
    img = load_image(src)
    edited, mask = _fill_hole(img.rgb)
    results = {}
    for name, rounds in (("plain", 1), ("matched", 3)):
        pixels = match_source(edited, img.rgb, img.jpeg, rounds=rounds)
        assert np.array_equal(pixels[mask], edited[mask])  # the edit itself is never nudged
        out = tmp_path / f"{name}.jpg"
        Image.fromarray(pixels).save(out, **img.jpeg.save_options())
        back = np.asarray(Image.open(out).convert("RGB")).astype(int)
        diff = np.abs(back - img.rgb.astype(int)).max(axis=2)[~mask]
        results[name] = (int(diff.max()), int(np.count_nonzero(diff)))
    assert results["matched"][1] < results["plain"][1]  # fewer unedited pixels change
    assert results["matched"][0] <= results["plain"][0]
    # save_image does this when given the decoded source
    out = save_image(tmp_path / "saved.jpg", edited, jpeg=img.jpeg, original=img.rgb)
    back = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert np.count_nonzero(np.abs(back - img.rgb.astype(int)).max(axis=2)[~mask]) == results["matched"][1]


def test_match_source_works_on_the_edits_box_on_the_mcu_grid_and_leaves_the_rest(tmp_path: Path, monkeypatch) -> None:
    from app.core import jpeg_settings

    src = tmp_path / "src.jpg"
    Image.fromarray(photo_like(seed=5)).save(src, quality=75, subsampling=2)
    img = load_image(src)
    h, w = img.rgb.shape[:2]
    edited = img.rgb.copy()
    edited[30:41, 50:63] = (10, 200, 30)
    seen: list[tuple[int, ...]] = []
    real = jpeg_settings._matched

    def spy(rgb, *args):
        seen.append(rgb.shape)
        return real(rgb, *args)

    monkeypatch.setattr(jpeg_settings, "_matched", spy)
    pixels = jpeg_settings.match_source(edited, img.rgb, img.jpeg)
    assert jpeg_settings.MATCH_MARGIN == 48
    assert seen == [(96, 112, 3)]  # rows 0-96 and columns 0-112: the edit and 48 px, out to the 16-px grid
    far = np.ones((h, w), bool)
    far[max(0, 30 - 64) : 41 + 64, max(0, 50 - 64) : 63 + 64] = False
    assert np.array_equal(pixels[far], edited[far])  # far from the edit: plain re-encoding
    assert np.array_equal(pixels[30:41, 50:63], edited[30:41, 50:63])
