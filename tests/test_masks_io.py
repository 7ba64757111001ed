"""Masks and sketches from files: thresholds, alpha, orientation, size checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.errors import TemperaError
from app.core.imageio import load_image, load_mask, load_sketch, mask_from_alpha

W, H = 40, 24


def _square(value: int = 255, background: int = 0) -> np.ndarray:
    arr = np.full((H, W), background, np.uint8)
    arr[4:12, 10:30] = value
    return arr


def _expected() -> np.ndarray:
    return _square() > 0


def test_gray_png_mask(tmp_path: Path) -> None:
    Image.fromarray(_square()).save(tmp_path / "m.png")
    mask = load_mask(tmp_path / "m.png", (W, H))
    assert mask.dtype == bool and mask.shape == (H, W)
    np.testing.assert_array_equal(mask, _expected())


def test_rgb_mask_threshold_is_127(tmp_path: Path) -> None:
    arr = np.zeros((H, W, 3), np.uint8)
    arr[0, 0] = 127  # not a hole: dark grey is below the threshold
    arr[0, 1] = 128
    Image.fromarray(arr).save(tmp_path / "m.png")
    mask = load_mask(tmp_path / "m.png", (W, H))
    assert not mask[0, 0] and mask[0, 1] and mask.sum() == 1


def test_noisy_jpeg_mask(tmp_path: Path) -> None:
    Image.fromarray(_square()).save(tmp_path / "m.jpg", quality=40)
    raw = np.asarray(Image.open(tmp_path / "m.jpg"))
    assert ((raw > 0) != _expected()).any()  # the noise a "> 0" rule would turn into holes
    np.testing.assert_array_equal(load_mask(tmp_path / "m.jpg", (W, H)), _expected())


def test_zero_one_label_map(tmp_path: Path) -> None:
    Image.fromarray(_square(value=1)).save(tmp_path / "m.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", (W, H)), _expected())


def test_rgba_mask_uses_alpha_when_it_varies(tmp_path: Path) -> None:
    rgba = np.zeros((H, W, 4), np.uint8)  # black everywhere: only alpha can mark holes
    rgba[..., 3] = _square()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", (W, H)), _expected())


@pytest.mark.parametrize("alpha", ["one_clear_pixel", "all_254", "soft_edge"])
def test_a_black_and_white_mask_with_some_transparency_still_reads_white_as_hole(tmp_path: Path, alpha) -> None:
    a = np.full((H, W), 255, np.uint8)
    if alpha == "one_clear_pixel":
        a[0, 0] = 0
    elif alpha == "all_254":
        a[:] = 254
    else:
        a[:, :3] = 100  # a feathered border, as some editors export
    rgba = np.dstack([_square()] * 3 + [a])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", (W, H)), _expected())


def test_strokes_painted_on_transparency_read_by_their_alpha_whatever_their_colour(tmp_path: Path) -> None:
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[4:12, 10:20] = (255, 255, 255, 255)  # white strokes and dark red ones, on a clear layer
    rgba[4:12, 20:30] = (90, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", (W, H)), _expected())


def test_rgba_mask_with_solid_alpha_reads_luminance(tmp_path: Path) -> None:
    rgba = np.dstack([_square()] * 3 + [np.full((H, W), 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", (W, H)), _expected())


def test_la_and_one_bit_and_16_bit_masks(tmp_path: Path) -> None:
    la = np.dstack([np.zeros((H, W), np.uint8), _square()])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    Image.fromarray(_square()).convert("1").save(tmp_path / "b.png")
    Image.fromarray(_square().astype(np.uint16) * 257).save(tmp_path / "d.png")
    for name in ("la.png", "b.png", "d.png"):
        np.testing.assert_array_equal(load_mask(tmp_path / name, (W, H)), _expected(), name)


def test_wrong_size_names_both_sizes(tmp_path: Path) -> None:
    Image.new("L", (100, 80)).save(tmp_path / "mask.png")
    with pytest.raises(TemperaError) as exc:
        load_mask(tmp_path / "mask.png", (640, 480))
    text = str(exc.value)
    assert text.startswith("the mask mask.png is 100 x 80 but the image is 640 x 480")
    assert "\n" not in text
    assert "swapped" not in text  # the hint is only for a transposed size
    with pytest.raises(TemperaError, match="^the protect mask mask.png is 100 x 80"):
        load_mask(tmp_path / "mask.png", (640, 480), what="protect mask")


def test_mask_orientation_applied(tmp_path: Path) -> None:
    stored = _square()  # 40 x 24 as stored, displayed rotated 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "m.png", exif=exif)
    with pytest.raises(TemperaError, match="is 24 x 40 but the image is 40 x 24") as exc:
        load_mask(tmp_path / "m.png", (W, H))
    assert "width and height are swapped" in str(exc.value)
    mask = load_mask(tmp_path / "m.png", (H, W))
    np.testing.assert_array_equal(mask, np.rot90(stored, k=-1) > 0)


def test_damaged_mask_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "m.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(TemperaError, match="m.png"):
        load_mask(tmp_path / "m.png", (W, H))
    with pytest.raises(TemperaError, match="above"):
        Image.fromarray(_square()).save(tmp_path / "ok.png")
        load_mask(tmp_path / "ok.png", (W, H), max_pixels=100)


def test_mask_from_alpha(tmp_path: Path) -> None:
    rgba = np.full((H, W, 4), 200, np.uint8)
    rgba[..., 3] = 255 - _square()  # transparent square
    rgba[0, 0, 3] = 127  # mostly transparent: a hole
    rgba[0, 1, 3] = 128  # mostly opaque: kept
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    mask = mask_from_alpha(load_image(tmp_path / "cut.png"))
    expected = _expected()
    expected[0, 0] = True
    np.testing.assert_array_equal(mask, expected)


def test_mask_from_alpha_without_alpha(photo_path: Path) -> None:
    with pytest.raises(TemperaError, match="photo.jpg has no transparency"):
        mask_from_alpha(load_image(photo_path))


def test_sketch_gray(tmp_path: Path) -> None:
    arr = _square(value=200, background=60)
    Image.fromarray(arr).save(tmp_path / "s.png")
    sketch = load_sketch(tmp_path / "s.png", (W, H))
    assert sketch.dtype == np.uint8 and set(np.unique(sketch)) == {0, 255}
    np.testing.assert_array_equal(sketch, np.where(_expected(), 255, 0))


def test_sketch_strokes_on_a_transparent_layer_mark_whatever_their_colour(tmp_path: Path) -> None:
    # a pen layer exported from a paint program: black (its default pen) or white lines
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[4:12, 10:20] = [0, 0, 0, 255]  # black opaque stroke
    rgba[4:12, 20:30] = [255, 255, 255, 255]  # white opaque stroke
    rgba[20, 0] = [255, 255, 255, 10]  # bright but transparent: not a stroke
    Image.fromarray(rgba, "RGBA").save(tmp_path / "s.png")
    sketch = load_sketch(tmp_path / "s.png", (W, H))
    np.testing.assert_array_equal(sketch, np.where(_expected(), 255, 0))


def test_sketch_black_and_white_with_some_transparency_reads_white_strokes(tmp_path: Path) -> None:
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[4:12, 10:30, :3] = 255  # white strokes on opaque black
    rgba[20, 0, 3] = 0  # an eraser's touch
    Image.fromarray(rgba, "RGBA").save(tmp_path / "s.png")
    sketch = load_sketch(tmp_path / "s.png", (W, H))
    np.testing.assert_array_equal(sketch, np.where(_expected(), 255, 0))


def test_a_photo_or_an_overlay_given_as_a_sketch_is_refused(tmp_path: Path) -> None:
    photo = np.full((H, W), 200, np.uint8)  # mostly bright: most of it would count as strokes
    photo[:, :10] = 30
    Image.fromarray(photo).save(tmp_path / "photo.png")
    with pytest.raises(TemperaError, match=r"photo.png is not a sketch: 75 % of it counts as strokes"):
        load_sketch(tmp_path / "photo.png", (W, H))


def test_sketch_wrong_size(tmp_path: Path) -> None:
    Image.new("L", (5, 5)).save(tmp_path / "s.png")
    with pytest.raises(TemperaError, match="s.png is 5 x 5 but the image is 40 x 24"):
        load_sketch(tmp_path / "s.png", (W, H))
