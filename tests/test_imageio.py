"""app.core.imageio: every input mode to upright RGB uint8, metadata, limits, atomic saves."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import gradient_rgb  # tests/ is on sys.path under pytest
from PIL import Image, ImageCms, PngImagePlugin

from app.core.errors import TemperaError
from app.core.imageio import DEFAULT_MAX_PIXELS, KEEP, LoadedImage, load_image, load_note, save_image

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation: int | None = None, make: str = "TemperaCam") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


def _assert_one_line_naming(exc: pytest.ExceptionInfo, name: str) -> None:
    text = str(exc.value)
    assert "\n" not in text
    assert name in text


def _temp_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- modes -> RGB uint8


def test_default_limit_is_150_mp() -> None:
    assert DEFAULT_MAX_PIXELS == 150_000_000


def test_jpeg_fixture_loads_with_exif(photo_path: Path) -> None:
    img = load_image(photo_path)
    assert isinstance(img, LoadedImage)
    assert img.rgb.shape == (32, 48, 3) and img.rgb.dtype == np.uint8
    assert img.size == (48, 32)
    assert img.format == "JPEG" and img.mode == "RGB" and img.alpha is None
    assert img.path == photo_path
    exif = Image.Exif()
    exif.load(img.exif)
    assert exif[0x010F] == "TemperaCam"
    assert np.abs(img.rgb.astype(int) - gradient_rgb()).mean() < 3


@pytest.mark.parametrize(
    "fmt, ext, exact",
    [("PNG", "png", True), ("BMP", "bmp", True), ("TIFF", "tif", True),
     ("WEBP", "webp", False), ("JPEG", "jpg", False)],
)
def test_each_format_loads(tmp_path: Path, fmt: str, ext: str, exact: bool) -> None:
    rgb = gradient_rgb()
    path = tmp_path / f"in.{ext}"
    Image.fromarray(rgb).save(path, fmt)
    img = load_image(path)
    assert img.format == fmt and img.rgb.shape == rgb.shape and img.rgb.dtype == np.uint8
    if exact:
        np.testing.assert_array_equal(img.rgb, rgb)
    else:
        assert np.abs(img.rgb.astype(int) - rgb).mean() < 4


def test_grayscale_l(tmp_path: Path) -> None:
    gray = np.array([[0, 100, 255]], np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    img = load_image(tmp_path / "g.png")
    assert img.mode == "L" and img.alpha is None
    np.testing.assert_array_equal(img.rgb, np.repeat(gray[..., None], 3, axis=2))


def test_la_keeps_alpha(tmp_path: Path) -> None:
    arr = np.array([[[10, 255], [200, 0], [90, 128]]], np.uint8)
    Image.fromarray(arr, "LA").save(tmp_path / "la.png")
    img = load_image(tmp_path / "la.png")
    assert img.mode == "LA"
    np.testing.assert_array_equal(img.rgb[..., 1], arr[..., 0])
    np.testing.assert_array_equal(img.alpha, arr[..., 1])


def test_palette_without_and_with_transparency(tmp_path: Path) -> None:
    pal = Image.new("P", (3, 1))
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    pal.putdata([0, 1, 2])
    pal.save(tmp_path / "p.png")
    img = load_image(tmp_path / "p.png")
    assert img.mode == "P" and img.alpha is None
    np.testing.assert_array_equal(img.rgb[0], [[255, 0, 0], [0, 255, 0], [0, 0, 255]])

    pal.save(tmp_path / "pt.png", transparency=1)
    img = load_image(tmp_path / "pt.png")
    assert img.alpha is not None
    np.testing.assert_array_equal(img.alpha[0], [255, 0, 255])
    np.testing.assert_array_equal(img.rgb[0, 0], [255, 0, 0])


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_gray_is_scaled_not_clipped(tmp_path: Path, mode: str) -> None:
    values = np.array([[0, 257, 32768, 65535]], np.uint16)
    im = Image.fromarray(values)  # I;16 (little endian)
    if mode == "I;16B":
        im = Image.frombytes("I;16B", (4, 1), values.astype(">u2").tobytes())
    path = tmp_path / "g16.tif"
    im.save(path)
    img = load_image(path)
    assert img.mode == mode
    np.testing.assert_array_equal(img.rgb[0, :, 0], [0, 1, 128, 255])
    assert (img.rgb[..., 0] == img.rgb[..., 2]).all()


def test_16_bit_png_gray(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 32768, 65535]], np.uint16)).save(tmp_path / "g.png")
    img = load_image(tmp_path / "g.png")
    np.testing.assert_array_equal(img.rgb[0, :, 0], [0, 128, 255])


def test_mode_i_16_bit_range_and_wide_range(tmp_path: Path) -> None:
    narrow = Image.fromarray(np.array([[0, 32768, 65535]], np.int32), "I")
    narrow.save(tmp_path / "i.tif")
    img = load_image(tmp_path / "i.tif")
    assert img.mode == "I"
    np.testing.assert_array_equal(img.rgb[0, :, 0], [0, 128, 255])
    wide = Image.fromarray(np.array([[-100_000, 0, 1_000_000]], np.int32), "I")
    wide.save(tmp_path / "w.tif")
    out = load_image(tmp_path / "w.tif").rgb[0, :, 0]
    assert out[0] == 0 and out[2] == 255 and out[1] == 23  # 100000 / 1100000 * 255


def test_a_32_bit_tiff_of_8_bit_values_and_a_16_bit_pgm(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 100, 255]], np.int32), "I").save(tmp_path / "w.tif")
    img = load_image(tmp_path / "w.tif")
    np.testing.assert_array_equal(img.rgb[0, :, 0], [0, 100, 255])  # 8-bit data stored wide, not black
    assert img.bits == 32
    Image.fromarray(np.array([[0, 100, 255]], np.uint16)).save(tmp_path / "d.png")
    np.testing.assert_array_equal(load_image(tmp_path / "d.png").rgb[0, :, 0], [0, 0, 1])  # a dark 16-bit photo stays dark
    Image.fromarray(np.array([[0, 32768, 65535]], np.uint16)).save(tmp_path / "g.pgm")
    pgm = load_image(tmp_path / "g.pgm")
    assert pgm.bits == 16  # opens as mode I, but a PGM holds at most 16 bits
    np.testing.assert_array_equal(pgm.rgb[0, :, 0], [0, 128, 255])


@pytest.mark.parametrize(
    "values, expected",
    [([0.0, 0.5, 1.0], [0, 128, 255]),            # normalised float
     ([0.0, 100.0, 255.0], [0, 100, 255]),        # 8-bit range stored as float
     ([-1.0, 0.0, 3.0], [0, 64, 255])],           # unknown range: stretched
)
def test_float_mode(tmp_path: Path, values: list[float], expected: list[int]) -> None:
    Image.fromarray(np.array([values], np.float32), "F").save(tmp_path / "f.tif")
    img = load_image(tmp_path / "f.tif")
    assert img.mode == "F"
    np.testing.assert_array_equal(img.rgb[0, :, 0], expected)


def test_16_bit_rgb(tmp_path: Path) -> None:
    deep = np.zeros((2, 2, 3), np.uint16)
    deep[..., 0], deep[..., 1] = 65535, 32768
    for ext in ("png", "tif"):
        cv2.imwrite(str(tmp_path / f"c.{ext}"), deep[..., ::-1])  # OpenCV writes BGR
        img = load_image(tmp_path / f"c.{ext}")
        np.testing.assert_array_equal(img.rgb[0, 0], [255, 128, 0])


def test_cmyk_jpeg_converts_and_drops_cmyk_profile(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red in naive CMYK
    cmyk.save(tmp_path / "c.jpg", quality=100)
    img = load_image(tmp_path / "c.jpg")
    assert img.mode == "CMYK" and img.icc_profile is None
    assert load_note(img) == "c.jpg has CMYK colours; the result is written as RGB"
    r, g, b = img.rgb[2, 2].astype(int)
    assert r > 240 and g < 15 and b < 15


def test_cmyk_with_bad_profile_falls_back(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (4, 4), (0, 0, 0, 255))
    cmyk.save(tmp_path / "c.tif", icc_profile=b"not a profile at all, just bytes")
    img = load_image(tmp_path / "c.tif")
    assert img.rgb.max() < 10 and img.icc_profile is None


def test_one_bit(tmp_path: Path) -> None:
    im = Image.new("1", (3, 1))
    im.putdata([0, 1, 0])
    im.save(tmp_path / "b.png")
    img = load_image(tmp_path / "b.png")
    np.testing.assert_array_equal(img.rgb[0, :, 0], [0, 255, 0])


def test_rgba_alpha_kept_and_reattached_on_png_save(tmp_path: Path) -> None:
    rgb = gradient_rgb(8, 6)
    alpha = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (6, 1))
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(img.alpha, alpha)
    np.testing.assert_array_equal(img.rgb, rgb)
    out = save_image(tmp_path / "o.png", img.rgb, alpha=img.alpha)
    back = Image.open(out)
    assert back.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(back)[..., 3], alpha)


def test_jpeg_and_bmp_flatten_alpha_only_when_asked(tmp_path: Path) -> None:
    rgb = gradient_rgb(8, 6)
    alpha = np.zeros((6, 8), np.uint8)
    for ext in ("jpg", "bmp"):
        with pytest.raises(TemperaError, match="transparency"):
            save_image(tmp_path / f"o.{ext}", rgb, alpha=alpha)
        out = save_image(tmp_path / f"o.{ext}", rgb, alpha=alpha, flatten=True)
        assert Image.open(out).mode == "RGB"


# ---------------------------------------------------------------- EXIF orientation


@pytest.mark.parametrize("orientation, k", [(6, -1), (3, 2), (8, 1)])
def test_exif_orientation_rotates_pixels_and_resets_tag(
    tmp_path: Path, orientation: int, k: int
) -> None:
    stored = gradient_rgb(12, 8)
    Image.fromarray(stored).save(tmp_path / "o.png", exif=_exif(orientation))
    img = load_image(tmp_path / "o.png")
    np.testing.assert_array_equal(img.rgb, np.rot90(stored, k=k))
    exif = Image.Exif()
    exif.load(img.exif)
    assert exif[0x0112] == 1 and exif[0x010F] == "TemperaCam"
    saved = save_image(tmp_path / "saved.jpg", img.rgb, exif=img.exif)
    again = Image.open(saved).getexif()
    assert again[0x0112] == 1 and again[0x010F] == "TemperaCam"
    # Loading what we saved must not rotate a second time.
    assert load_image(saved).size == img.size


def test_exif_orientation_on_camera_jpeg(tmp_path: Path) -> None:
    stored = gradient_rgb(40, 24)
    Image.fromarray(stored).save(tmp_path / "cam.jpg", quality=98, exif=_exif(6))
    img = load_image(tmp_path / "cam.jpg")
    assert img.size == (24, 40)
    assert np.abs(img.rgb.astype(int) - np.rot90(stored, k=-1)).mean() < 3


def test_tiff_layout_tags_not_carried_as_exif(tmp_path: Path) -> None:
    Image.fromarray(gradient_rgb()).save(tmp_path / "t.tif", exif=_exif(1))
    img = load_image(tmp_path / "t.tif")
    exif = Image.Exif()
    exif.load(img.exif)
    assert 256 not in exif and 273 not in exif and exif[0x010F] == "TemperaCam"
    out = save_image(tmp_path / "small.png", img.rgb[:4, :4], exif=img.exif)
    assert Image.open(out).size == (4, 4)


# ---------------------------------------------------------------- ICC


@pytest.mark.parametrize("ext", ["png", "jpg", "webp", "tif"])
def test_icc_profile_survives_round_trip(tmp_path: Path, ext: str) -> None:
    Image.fromarray(gradient_rgb()).save(tmp_path / f"in.{ext}", icc_profile=SRGB_ICC)
    img = load_image(tmp_path / f"in.{ext}")
    assert img.icc_profile == SRGB_ICC
    out = save_image(tmp_path / f"out.{ext}", img.rgb, icc_profile=img.icc_profile)
    assert load_image(out).icc_profile == SRGB_ICC


def test_gray_profile_not_attached_to_rgb(tmp_path: Path) -> None:
    gray_icc = bytearray(SRGB_ICC)
    gray_icc[16:20] = b"GRAY"
    Image.new("L", (4, 4), 50).save(tmp_path / "g.png", icc_profile=bytes(gray_icc))
    assert load_image(tmp_path / "g.png").icc_profile is None


def test_a_gray_photo_keeps_its_gray_profile_and_never_takes_an_rgb_one(tmp_path: Path) -> None:
    gray_icc = bytearray(SRGB_ICC)
    gray_icc[16:20] = b"GRAY"
    Image.new("L", (4, 4), 50).save(tmp_path / "g.png", icc_profile=bytes(gray_icc))
    Image.new("LA", (4, 4), (50, 200)).save(tmp_path / "la.png", icc_profile=SRGB_ICC)
    for name, want in (("g.png", bytes(gray_icc)), ("la.png", None)):
        img = load_image(tmp_path / name)
        for ext in ("png", "jpg", "tif"):  # formats with a gray mode: written gray
            out = save_image(tmp_path / f"out-{name}.{ext}", img.rgb, alpha=img.alpha, icc_profile=img.icc_profile,
                             gray=True, flatten=True, meta=img.meta)
            with Image.open(out) as written:
                assert written.mode in ("L", "LA") and written.info.get("icc_profile") == want, (name, ext)
    # WebP has no gray mode: written RGB, so the gray profile stays out of it
    img = load_image(tmp_path / "g.png")
    out = save_image(tmp_path / "g.webp", img.rgb, gray=True, meta=img.meta)
    with Image.open(out) as written:
        assert written.mode == "RGB" and not written.info.get("icc_profile")


# ---------------------------------------------------------------- other metadata

_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'
        b' tiff:Orientation="6"><dc:creator>Ann</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>')


def test_dpi_xmp_and_comment_of_a_jpeg_are_kept(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: the upright photo is 20 x 40
    exif[0x010F], exif[0x8298] = "TestCam", "(c) Ann"  # Make, Copyright: kept beside the XMP, TIFF too
    exif.get_ifd(0x8769)[0x9003] = "2026:01:01 10:00:00"  # DateTimeOriginal, in the EXIF sub-IFD
    Image.fromarray(gradient_rgb()[:20, :40]).save(tmp_path / "in.jpg", dpi=(300, 72), xmp=_XMP,
                                                   comment=b"shot at dawn", exif=exif)
    img = load_image(tmp_path / "in.jpg")
    assert img.size == (20, 40) and img.meta.dpi == (72.0, 300.0)  # turned a quarter: x and y swap
    for ext in ("jpg", "png", "webp", "tif"):
        out = save_image(tmp_path / f"out.{ext}", img.rgb, exif=img.exif, meta=img.meta)
        with Image.open(out) as written:
            xmp = written.info.get("xmp")
            assert xmp and b"<dc:creator>Ann</dc:creator>" in xmp, ext
            assert b'tiff:Orientation="1"' in xmp, ext  # the pixels are upright: never turned twice
            if ext != "webp":
                assert tuple(round(v) for v in written.info["dpi"]) == (72, 300), ext
            assert (written.info.get("comment") == b"shot at dawn") == (ext == "jpg"), ext
            kept = written.getexif()
            assert (kept.get(0x010F), kept.get(0x8298)) == ("TestCam", "(c) Ann"), ext
            if ext != "tif":  # Pillow writes no EXIF sub-directory into a TIFF
                assert kept.get_ifd(0x8769).get(0x9003) == "2026:01:01 10:00:00", ext


def test_a_png_s_text_chunks_are_kept(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Photog")
    info.add_itxt("Title", "Ünï")
    Image.fromarray(gradient_rgb()).save(tmp_path / "in.png", pnginfo=info, dpi=(300, 300))
    img = load_image(tmp_path / "in.png")
    out = save_image(tmp_path / "out.png", img.rgb, meta=img.meta)
    with Image.open(out) as written:
        assert written.text == {"Author": "Photog", "Title": "Ünï"}
        assert tuple(round(v) for v in written.info["dpi"]) == (300, 300)


def test_a_16_bit_tiff_and_a_file_of_several_frames_are_said(tmp_path: Path) -> None:
    deep = np.zeros((4, 6, 3), np.uint16)
    cv2.imwrite(str(tmp_path / "deep.tif"), deep)
    img = load_image(tmp_path / "deep.tif")
    assert img.bits == 16 and load_note(img) == "deep.tif has 16 bits per channel; the result is written with 8"
    frames = [Image.new("RGB", (6, 4), c) for c in ("red", "blue")]
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:])
    img = load_image(tmp_path / "pages.tif")
    assert img.frames == 2 and load_note(img) == "pages.tif has 2 frames or pages; only the first is filled and written"
    Image.new("RGB", (6, 4)).save(tmp_path / "one.png")
    assert load_note(load_image(tmp_path / "one.png")) is None


# ---------------------------------------------------------------- bad input


def test_truncated_jpeg_is_an_error(photo_path: Path, tmp_path: Path) -> None:
    data = photo_path.read_bytes()
    for i, cut in enumerate((len(data) // 2, 400)):
        bad = tmp_path / f"cut{i}.jpg"
        bad.write_bytes(data[:cut])
        with pytest.raises(TemperaError) as exc:
            load_image(bad)
        _assert_one_line_naming(exc, bad.name)


def test_truncated_png_is_an_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    bad = tmp_path / "cut.png"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(TemperaError) as exc:
        load_image(bad)
    _assert_one_line_naming(exc, "cut.png")


def test_random_bytes_missing_folder_and_unsupported(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(TemperaError) as exc:
        load_image(junk)
    _assert_one_line_naming(exc, "junk.jpg")
    with pytest.raises(TemperaError) as exc:
        load_image(tmp_path / "nothere.png")
    _assert_one_line_naming(exc, "nothere.png")
    (tmp_path / "adir.png").mkdir()
    with pytest.raises(TemperaError) as exc:
        load_image(tmp_path / "adir.png")
    _assert_one_line_naming(exc, "adir.png")
    Image.new("RGB", (16, 16)).save(tmp_path / "icon.ico")  # Pillow reads ICO; we do not
    with pytest.raises(TemperaError) as exc:
        load_image(tmp_path / "icon.ico")
    _assert_one_line_naming(exc, "icon.ico")


def test_pixel_limit_refuses_before_decoding(tmp_path: Path) -> None:
    Image.fromarray(gradient_rgb(200, 100)).save(tmp_path / "big.png")
    data = (tmp_path / "big.png").read_bytes()
    (tmp_path / "big.png").write_bytes(data[: len(data) // 2])  # decoding would fail
    with pytest.raises(TemperaError) as exc:
        load_image(tmp_path / "big.png", max_pixels=1000)
    text = str(exc.value)
    assert text.startswith("big.png is 200 x 100 = 0.02 MP, above the 0.001 MP limit")
    assert "TEMPERA_MAX_PIXELS" in text and "\n" not in text


def test_pixel_limit_from_environment(photo_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPERA_MAX_PIXELS", "1000")
    with pytest.raises(TemperaError, match="above the 0.001 MP limit"):
        load_image(photo_path)
    monkeypatch.setenv("TEMPERA_MAX_PIXELS", "lots")
    with pytest.raises(TemperaError, match="TEMPERA_MAX_PIXELS"):
        load_image(photo_path)
    monkeypatch.setenv("TEMPERA_MAX_PIXELS", "2000")
    assert load_image(photo_path).size == (48, 32)  # 1536 pixels: allowed


def test_pillow_bomb_error_becomes_our_message(
    photo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(TemperaError) as exc:  # 1536 px > 2 x 100: Pillow refuses in open()
        load_image(photo_path, max_pixels=100)
    assert "photo.jpg is 0.00154 MP, above the 0.0001 MP limit" in str(exc.value)


# ---------------------------------------------------------------- saving


@pytest.mark.parametrize("ext", ["png", "bmp", "tif", "tiff", "webp"])
def test_lossless_saves_round_trip_exactly(tmp_path: Path, ext: str) -> None:
    rgb = gradient_rgb()
    out = save_image(tmp_path / f"o.{ext}", rgb, lossless=True)
    assert out == tmp_path / f"o.{ext}"
    np.testing.assert_array_equal(load_image(out).rgb, rgb)


def test_jpeg_quality_is_used(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    lo = save_image(tmp_path / "lo.jpeg", rgb, quality=20)
    hi = save_image(tmp_path / "hi.jpg", rgb, quality=95)
    assert lo.stat().st_size < hi.stat().st_size
    assert Image.open(hi).format == "JPEG"


def test_unknown_extension_and_missing_folder(tmp_path: Path) -> None:
    rgb = gradient_rgb()
    with pytest.raises(TemperaError, match="unknown extension"):
        save_image(tmp_path / "o.gif", rgb)
    with pytest.raises(TemperaError, match="does not exist"):
        save_image(tmp_path / "no" / "o.png", rgb)
    assert not (tmp_path / "no").exists()


def test_save_success_leaves_no_temp_and_normal_permissions(tmp_path: Path) -> None:
    out = save_image(tmp_path / "o.png", gradient_rgb())
    assert _temp_leftovers(tmp_path) == []
    mode = stat.S_IMODE(out.stat().st_mode)
    assert mode == 0o666 & ~_current_umask()


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_failed_save_keeps_existing_file_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "o.png"
    target.write_bytes(b"the old file")

    def half_write_then_fail(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_write_then_fail)
    with pytest.raises(TemperaError) as exc:
        save_image(target, gradient_rgb())
    _assert_one_line_naming(exc, "o.png")
    assert "No space left" in str(exc.value)
    assert target.read_bytes() == b"the old file"
    assert _temp_leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]


def test_unexpected_failure_propagates_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self, fp, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save_image(tmp_path / "new.png", gradient_rgb())
    assert list(tmp_path.iterdir()) == []


def test_protect_refuses_the_input(photo_path: Path) -> None:
    before = photo_path.read_bytes()
    sneaky = photo_path.parent / "." / ".." / photo_path.parent.name / photo_path.name
    for target in (photo_path, sneaky):
        with pytest.raises(TemperaError, match="refusing to overwrite the input photo.jpg"):
            save_image(target, gradient_rgb(), protect=[str(photo_path)])
    assert photo_path.read_bytes() == before
    other = save_image(photo_path.with_name("out.jpg"), gradient_rgb(), protect=[photo_path])
    assert other.exists()


def test_protect_sees_hard_links(photo_path: Path) -> None:
    link = photo_path.with_name("link.jpg")
    os.link(photo_path, link)
    with pytest.raises(TemperaError, match=r"refusing to overwrite the input photo.jpg \(link.jpg is a link to it\)"):
        save_image(link, gradient_rgb(), protect=[photo_path])


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16"])
@pytest.mark.parametrize("compression, orientation, k", [
    (None, 6, -1), (None, 8, 1), (None, 3, 2), ("tiff_lzw", 6, -1),
])
def test_tiff_orientation(tmp_path: Path, mode: str, compression: str | None,
                          orientation: int, k: int) -> None:
    # Pillow rotates TIFFs itself while decoding; on its built-in path (uncompressed L,
    # RGBA, I;16, ...) orientations 5-8 came out scrambled.
    stored = gradient_rgb(12, 8)
    if mode == "I;16":
        im = Image.fromarray(stored[..., 0].astype(np.uint16) * 257)
    elif mode == "RGBA":
        im = Image.fromarray(np.dstack([stored, stored[..., 1]]), "RGBA")
    else:
        im = Image.fromarray(stored).convert(mode)
    kw = {"compression": compression} if compression else {}
    im.save(tmp_path / "o.tif", exif=_exif(orientation), **kw)
    img = load_image(tmp_path / "o.tif")
    expected = np.rot90(np.asarray(im.convert("RGB")) if mode != "I;16" else stored, k=k)
    np.testing.assert_array_equal(img.rgb[..., 0], expected[..., 0])
    if mode == "RGBA":
        np.testing.assert_array_equal(img.alpha, np.rot90(stored[..., 1], k=k))
    if img.exif is not None:
        exif = Image.Exif()
        exif.load(img.exif)
        assert exif.get(0x0112, 1) == 1


def test_truncated_tiff_is_an_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "t.tif")
    data = (tmp_path / "t.tif").read_bytes()
    (tmp_path / "t.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(TemperaError) as exc:
        load_image(tmp_path / "t.tif")
    _assert_one_line_naming(exc, "t.tif")


def test_oversized_exif_does_not_block_a_jpeg_save(tmp_path: Path) -> None:
    exif = _exif(1)
    exif[0x927C] = b"\0" * 70_000  # a bulky maker note: more than one JPEG segment holds
    out = save_image(tmp_path / "o.jpg", gradient_rgb(), exif=exif.tobytes())
    assert load_image(out).exif is None
    png = save_image(tmp_path / "o.png", gradient_rgb(), exif=exif.tobytes())
    assert len(load_image(png).exif) > 70_000  # PNG has no such limit: kept


HEIC = Path(__file__).parent / "data" / "phone-turned.heic"  # a phone's photo, stored turned (EXIF 6);
# 64 x 48 upright: red top-left, blue bottom-right quarter. Made with pillow-heif's encoder,
# which the project does not depend on (pi-heif decodes only).


def test_a_phone_s_heic_opens_upright_with_its_metadata() -> None:
    img = load_image(HEIC)
    assert img.format == "HEIF" and img.size == (64, 48)
    assert np.abs(img.rgb[5, 5].astype(int) - (220, 30, 30)).max() < 12
    assert np.abs(img.rgb[40, 60].astype(int) - (30, 40, 220)).max() < 12
    assert img.exif is not None and b"TemperaCam" in img.exif
    exif = Image.Exif()
    exif.load(img.exif)
    assert exif.get(0x0112, 1) == 1  # upright already: no second turn on save


def test_without_pi_heif_a_heic_is_refused_in_one_line(monkeypatch, tmp_path: Path) -> None:
    from app.core import image_open

    monkeypatch.setattr(image_open, "heif_available", lambda: False)
    monkeypatch.setattr(image_open, "READ_FORMATS", tuple(f for f in image_open.READ_FORMATS if f != "HEIF"))
    with pytest.raises(TemperaError, match=r"phone-turned.heic: HEIC/HEIF photos need the pi-heif package"):
        load_image(HEIC)


def test_a_folder_that_refuses_the_write_is_named_not_the_hidden_temporary_file(tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from app.core import imageio

    def refuse(path, write):  # as on a read-only mount: the temporary file cannot be made
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(Path(path).parent / f".{Path(path).name}.9463.tmp"))

    monkeypatch.setattr(imageio, "atomic_write", refuse)
    with pytest.raises(TemperaError) as exc:
        save_image(tmp_path / "x.png", gradient_rgb())
    assert str(exc.value) == f"cannot save x.png: cannot write in the folder {tmp_path}: {os.strerror(errno.EROFS)}"

    def locked(path, write):  # the rename over an immutable or locked file fails: that file refuses
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), str(Path(path).parent / f".{Path(path).name}.9.tmp"),
                      None, str(path))

    monkeypatch.setattr(imageio, "atomic_write", locked)
    with pytest.raises(TemperaError) as exc:
        save_image(tmp_path / "x.png", gradient_rgb())
    assert str(exc.value) == f"cannot save x.png: cannot replace the file there: {os.strerror(errno.EPERM)}"


def test_saving_as_heic_says_it_is_read_only(tmp_path: Path) -> None:
    with pytest.raises(TemperaError, match=r"HEIC photos are read, not written; save as \.jpg"):
        save_image(tmp_path / "x.heic", np.zeros((4, 4, 3), np.uint8))


def test_what_a_photo_is_written_as_when_no_format_is_chosen() -> None:
    from app.core.names import output_suffix

    assert [output_suffix(s) for s in (".JPG", ".png", ".avif", ".heic", ".HEIF", ".gif", ".ppm")] == \
        [".JPG", ".png", ".avif", ".jpg", ".jpg", ".png", ".png"]


def test_avif_round_trip_keeps_alpha_and_exif(tmp_path: Path) -> None:
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :24] = (200, 60, 40)
    alpha = np.full((32, 48), 255, np.uint8)
    alpha[:8, :8] = 0
    exif = Image.Exif()
    exif[0x010F] = "TemperaCam"
    out = save_image(tmp_path / "x.avif", rgb, alpha=alpha, exif=exif.tobytes(), quality=90)
    back = load_image(out)
    assert back.format == "AVIF" and back.alpha is not None and back.alpha[2, 2] == 0 and back.alpha[20, 30] == 255
    assert np.abs(back.rgb[16, 10].astype(int) - (200, 60, 40)).max() < 10
    assert back.exif is not None and b"TemperaCam" in back.exif


@pytest.mark.parametrize("source, written", [("raw", "raw"), ("tiff_adobe_deflate", "tiff_adobe_deflate"),
                                             ("jpeg", "tiff_lzw"), (None, "tiff_lzw")])
def test_a_tiff_keeps_its_lossless_compression(tmp_path: Path, source, written) -> None:
    rgb = gradient_rgb(40, 32)
    if source is None:  # a PNG source: LZW
        Image.fromarray(rgb).save(tmp_path / "in.png")
        img = load_image(tmp_path / "in.png")
    else:
        Image.fromarray(rgb).save(tmp_path / "in.tif", compression=source)
        img = load_image(tmp_path / "in.tif")
    out = save_image(tmp_path / "out.tif", img.rgb, compression=img.compression)
    assert Image.open(out).info.get("compression") == written


@pytest.mark.parametrize("lossless", [True, False])
def test_a_webp_result_is_lossless_when_its_source_was_unless_a_quality_is_given(tmp_path, lossless):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    src = tmp_path / "in.webp"
    Image.fromarray(rgb).save(src, lossless=lossless, quality=80)
    img = load_image(src)
    assert (img.compression == "lossless") is lossless
    kept = save_image(tmp_path / "kept.webp", img.rgb, quality=KEEP, compression=img.compression)
    back = np.asarray(Image.open(kept).convert("RGB"))
    assert np.array_equal(back, img.rgb) is lossless  # a lossless source loses nothing on the way out
    asked = save_image(tmp_path / "asked.webp", img.rgb, quality=90, compression=img.compression)
    assert not np.array_equal(np.asarray(Image.open(asked).convert("RGB")), img.rgb)  # --quality: lossy


def test_a_jpeg_the_encoder_cut_short_is_an_error_and_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    import io

    rgb = np.random.default_rng(3).integers(0, 255, (64, 96, 3), np.uint8)
    whole = io.BytesIO()
    Image.fromarray(rgb).save(whole, "JPEG", quality=90)
    real_save = Image.Image.save

    def stops_short(self, fp, format=None, **params):  # as Pillow's optimize path did on a full disk
        if format == "JPEG":
            fp.write(whole.getvalue()[:-200])
            return
        real_save(self, fp, format, **params)

    monkeypatch.setattr(Image.Image, "save", stops_short)
    with pytest.raises(TemperaError, match=r"^cannot save out\.jpg: the JPEG was cut short \(is the disk full\?\)$"):
        save_image(tmp_path / "out.jpg", rgb)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary
    save_image(tmp_path / "out.png", rgb)  # other formats are not read back
    monkeypatch.undo()
    save_image(tmp_path / "out.jpg", rgb)
    assert Image.open(tmp_path / "out.jpg").size == (96, 64)
