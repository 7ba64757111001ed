"""Image files in and out: the app's only door to disk for pixels.

``load_image`` gives upright 8-bit RGB (+ alpha) with the metadata worth keeping;
``save_image`` writes it back atomically with that metadata, and a JPEG written from a
JPEG with the source's tables and subsampling (:mod:`app.core.jpeg_settings`). Masks and sketches are read
by :mod:`app.core.masks_io` (re-exported here, as the layer contract names this module).
numpy + Pillow only: no torch, no Qt (``tests/test_layers.py`` checks).
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from app.core.atomic import atomic_write
from app.core.errors import TemperaError
from app.core.image_open import DEFAULT_MAX_PIXELS, PNG_XMP_KEY, WEBP_LOSSLESS, Metadata, open_oriented, pixel_limit
from app.core.jpeg_settings import DEFAULT_QUALITY, KEEP, JpegSettings, match_source, stored
from app.core.names import IMAGE_EXTENSIONS, IMAGE_FORMATS, READ_ONLY_FORMATS
from app.core.pixel_modes import to_rgb_alpha

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_QUALITY",
    "IMAGE_SUFFIXES",
    "KEEP",
    "LOSSLESS",
    "WHITE",
    "JpegSettings",
    "LoadedImage",
    "Metadata",
    "alpha_would_be_lost",
    "copy_unchanged",
    "flatten_alpha",
    "load_image",
    "require_save_format",
    "save_format",
    "save_image",
    "load_mask",
    "mask_from_alpha",
    "load_sketch",
    "pixel_limit",
    "refuse_overwrite",
    "luma",
]

IMAGE_SUFFIXES = frozenset(IMAGE_EXTENSIONS) | {".gif", ".ppm", ".pgm", ".pbm"}  # what opens
_ALPHA_FORMATS = {"PNG", "WEBP", "AVIF", "TIFF"}  # JPEG cannot hold alpha; BMP readers ignore it
_ICC_FORMATS = {"PNG", "JPEG", "WEBP", "AVIF", "TIFF"}
_EXIF_FORMATS = {"PNG", "JPEG", "WEBP", "AVIF", "TIFF"}
_ORIENTATION_TAG = 0x0112
_LOSSLESS_TIFF = {"raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits"}
_GRAY_FORMATS = {"PNG", "JPEG", "TIFF", "BMP", "AVIF"}  # formats with a gray mode (and LA: PNG, TIFF)
_GRAY_MODES = {"1", "L", "LA", "La", "I", "F"}  # Pillow modes of gray sources, and I;16*
_DPI_FORMATS = {"JPEG", "PNG", "TIFF"}
_XMP_TAG = 700  # a TIFF's XMP packet
_SUB_IFD_TAGS = (0x8769, 0x8825, 0xA005)  # EXIF's pointers to its Exif, GPS and Interop directories
_JPEG_EXIF_MAX = 65533 - 8  # APP1 payload limit, less Pillow's own header bytes
WHITE = (255, 255, 255)  # what transparency is flattened onto, as in GIMP and Photoshop


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is ambiguous
class LoadedImage:
    rgb: np.ndarray  # (H, W, 3) uint8, EXIF orientation applied
    alpha: np.ndarray | None  # (H, W) uint8 or None
    icc_profile: bytes | None  # only an RGB profile; gray/CMYK profiles do not fit `rgb`
    exif: bytes | None  # with orientation reset to 1
    path: Path | None
    format: str | None  # Pillow format name, e.g. "JPEG"
    mode: str  # original Pillow mode, e.g. "I;16", "CMYK", "P"
    jpeg: JpegSettings | None = None  # a JPEG source's tables and subsampling
    bits: int = 8  # bits per channel in the file; every result is written with 8
    compression: str | None = None  # a TIFF's compression, which a TIFF result keeps when lossless
    frames: int = 1  # frames or pages in the file: only the first is filled and written
    meta: Metadata = Metadata()  # dpi, XMP, comments, a gray profile: written back where they fit

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), Pillow order."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    @property
    def gray(self) -> bool:
        """A gray photo (1-bit, 8-, 16- or 32-bit gray, with or without alpha): written gray."""
        return self.mode in _GRAY_MODES or self.mode.startswith("I;16")


# Pillow modes with more than 8 bits per channel (a 16-bit RGB PNG opens as "RGB" already
# cut to 8 bits, so its header is read too: _png_bit_depth)
_DEEP_MODES = {"I;16": 16, "I;16L": 16, "I;16B": 16, "I;16N": 16, "I": 32, "F": 32}


def _bits(opened, path: Path) -> int:
    """Bits per channel in the file: a PNG or PGM/PPM opens 16-bit gray as mode I too, and a
    16-bit RGB PNG or TIFF as RGB, so their containers decide."""
    if opened.mode == "I" and opened.format in ("PNG", "PPM"):
        return 16
    deep = _DEEP_MODES.get(opened.mode)
    if deep:
        return deep
    if opened.format == "TIFF" and opened.bits and opened.bits > 8:
        return opened.bits
    return 16 if opened.format == "PNG" and _png_bit_depth(path) == 16 else 8


def _png_bit_depth(path: Path) -> int | None:
    """The bit depth in a PNG's IHDR chunk (byte 24 of the file), or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(25)
    except OSError:
        return None
    if len(head) == 25 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24]
    return None


LOSSLESS = "lossless"  # the quality that writes a WebP lossless (formats without the choice ignore it)


def load_note(img: LoadedImage) -> str | None:
    """One line on what of the photo's file a result does not keep: CMYK colours (the result
    is RGB), more than 8 bits per channel (the result has 8), frames or pages after the
    first; None when it keeps all."""
    said = []
    if img.mode == "CMYK":  # a printer's colours: edited on screen, and written, as RGB
        said.append("CMYK colours; the result is written as RGB")
    if img.bits > 8:
        said.append(f"{img.bits} bits per channel; the result is written with 8")
    if img.frames > 1:
        said.append(f"{img.frames} frames or pages; only the first is filled and written")
    if not said:
        return None
    name = img.path.name if img.path is not None else "the photo"
    return f"{name} has " + "; it has ".join(said)


def _hidden(alpha: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fully transparent pixels outside the hole: their colour is hidden (often black)."""
    return (alpha == 0) & ~np.asarray(hole, bool)


def keep_from(protect: np.ndarray | None, alpha: np.ndarray | None, hole: np.ndarray) -> np.ndarray | None:
    """What no fill may copy from: the user's protect mask and the photo's fully transparent
    pixels outside the hole (their colours are hidden, often black). None when nothing is."""
    keep = None if protect is None else np.asarray(protect, bool)
    if alpha is not None:
        hidden = _hidden(alpha, hole)
        if hidden.any():
            keep = hidden if keep is None else keep | hidden
    return keep


def fill_input(rgb: np.ndarray, alpha: np.ndarray | None, hole: np.ndarray) -> np.ndarray:
    """The pixels an engine is given: fully transparent pixels outside the hole show the
    mean colour of the visible ones instead of their hidden colour (often black), which a
    network's convolutions would otherwise carry into the fill. Results are composited onto
    the real pixels, so the hidden colours are kept in the file."""
    if alpha is None:
        return rgb
    hidden = _hidden(alpha, hole)
    visible = alpha > 0
    if not hidden.any() or not visible.any():
        return rgb
    out = rgb.copy()
    out[hidden] = np.round(rgb[visible].reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    return out


def opaque_in_hole(alpha: np.ndarray | None, hole: np.ndarray) -> np.ndarray | None:
    """The alpha to save with a fill: the filled pixels become opaque (a fill of a
    transparent area would otherwise stay invisible); None stays None."""
    if alpha is None:
        return None
    return np.where(np.asarray(hole, bool), np.uint8(255), alpha)


def load_image(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> LoadedImage:
    """Read any supported image as upright RGB uint8 (+ alpha). TemperaError on bad input."""
    path = Path(path)
    opened = open_oriented(path, max_pixels=max_pixels)
    try:
        rgb, alpha, icc = to_rgb_alpha(opened.image, opened.icc_profile, opened.format)
    except (ValueError, OSError) as exc:  # e.g. a colour model Pillow cannot convert
        raise TemperaError(f"cannot read {path.name}: {_reason(exc)}") from None
    loaded = LoadedImage(
        rgb=rgb,
        alpha=alpha,
        icc_profile=icc,
        exif=opened.exif,
        path=path,
        format=opened.format,
        mode=opened.mode,
        jpeg=opened.jpeg,
        bits=_bits(opened, path),
        compression=opened.compression,
        frames=opened.frames,
        meta=opened.meta,
    )
    log.info("opened %s: %d x %d, %s %s, %d bits per channel%s%s%s", path, rgb.shape[1], rgb.shape[0],
             loaded.format, loaded.mode, loaded.bits, ", with transparency" if alpha is not None else "",
             ", with a colour profile" if icc else "", f", {loaded.frames} frames" if loaded.frames > 1 else "")
    return loaded


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        # Hard links and case-insensitive file systems resolve to different strings.
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwrite(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Raise TemperaError when ``path`` is one of ``inputs`` (also through a hard link)."""
    path = Path(path)
    for other in map(Path, inputs):
        if _same_file(path, other):
            via = "" if other.name == path.name else f" ({path.name} is a link to it)"
            raise TemperaError(f"refusing to overwrite the input {other.name}{via}; "
                               f"choose another output name or folder")


def _check_array(rgb: np.ndarray, alpha: np.ndarray | None) -> None:
    # Programming errors, not user errors: a ValueError with a traceback is right here.
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 (H, W, 3), got {getattr(rgb, 'dtype', type(rgb))} "
                         f"{getattr(rgb, 'shape', '')}")
    if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]):
        raise ValueError(f"alpha must be uint8 {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}")


def require_save_format(path: str | os.PathLike[str]) -> str:
    """The Pillow format ``path`` saves as; a TemperaError naming the known extensions
    when there is none (checked before a fill or a run, and again by save_image)."""
    fmt = save_format(path)
    if fmt is None:
        path = Path(path)
        if path.suffix.lower() in READ_ONLY_FORMATS:
            raise TemperaError(f"cannot save {path.name}: {path.suffix.lstrip('.').upper()} photos are read, "
                               f"not written; save as {READ_ONLY_FORMATS[path.suffix.lower()]} or another of "
                               f"{', '.join(sorted(IMAGE_FORMATS))}")
        raise TemperaError(f"cannot save {path.name}: unknown extension {path.suffix or '(none)'!r}; "
                           f"use one of {', '.join(sorted(IMAGE_FORMATS))}")
    return fmt


def save_format(path: str | os.PathLike[str]) -> str | None:
    """The Pillow format a file name saves as ("JPEG" for x.jpg), None when unknown."""
    return IMAGE_FORMATS.get(Path(path).suffix.lower())


def alpha_would_be_lost(path: str | os.PathLike[str], alpha: np.ndarray | None) -> bool:
    """True when ``alpha`` has transparency and ``path``'s format (JPEG, BMP) cannot keep it."""
    fmt = save_format(path)
    return (alpha is not None and fmt is not None and fmt not in _ALPHA_FORMATS
            and bool((alpha < 255).any()))


def luma(rgb: np.ndarray) -> np.ndarray:
    """One gray channel (ITU-R 601 luma) of uint8 RGB pixels (any leading shape); equal
    channels give their own value exactly."""
    weights = np.array([299, 587, 114], np.uint32)  # sum 1000
    return ((rgb.astype(np.uint32) @ weights + 500) // 1000).astype(np.uint8)


def flatten_alpha(rgb: np.ndarray, alpha: np.ndarray, background: tuple[int, int, int] = WHITE) -> np.ndarray:
    """``rgb`` composited over ``background`` by ``alpha``, as an image editor flattens."""
    a = alpha.astype(np.float32)[..., None] / 255.0
    bg = np.asarray(background, np.float32)
    return np.rint(rgb.astype(np.float32) * a + bg * (1.0 - a)).astype(np.uint8)


def _meta_options(fmt: str, meta: Metadata, written_gray: bool) -> dict:
    """The save options that carry ``meta`` into a file of format ``fmt``: dpi (JPEG, PNG,
    TIFF), XMP (JPEG, PNG, WebP, AVIF, TIFF), a JPEG's comment into a JPEG, a PNG's text
    into a PNG; a gray profile only where the pixels are ``written_gray``."""
    opts: dict = {}
    if meta.dpi and fmt in _DPI_FORMATS:
        opts["dpi"] = meta.dpi
    if meta.xmp:
        if fmt in ("JPEG", "WEBP", "AVIF"):
            opts["xmp"] = meta.xmp
        elif fmt == "TIFF":
            opts["tiffinfo"] = {_XMP_TAG: meta.xmp}
    if meta.comment and fmt == "JPEG":
        opts["comment"] = meta.comment
    if fmt == "PNG" and (meta.text or meta.xmp):
        info = PngImagePlugin.PngInfo()
        for key, value in meta.text:
            try:
                value.encode("latin-1")
                info.add_text(key, value)
            except UnicodeEncodeError:  # tEXt holds Latin-1 only
                info.add_itxt(key, value)
        if meta.xmp:
            info.add_itxt(PNG_XMP_KEY, meta.xmp.decode("utf-8", "replace"))
        opts["pnginfo"] = info
    if written_gray and meta.gray_icc and fmt in _ICC_FORMATS:
        opts["icc_profile"] = meta.gray_icc
    return opts


def _save_options(fmt: str, *, icc: bytes | None, exif: bytes | None, quality: int | str,
                  jpeg: JpegSettings | None, lossless: bool, orientation: int = 1,
                  compression: str | None = None) -> dict:
    opts: dict = {}
    if icc and fmt in _ICC_FORMATS:
        opts["icc_profile"] = icc
    if orientation != 1 and not exif:
        exif = Image.Exif().tobytes()  # the turned pixels need their tag all the same
    if exif and fmt in _EXIF_FORMATS:
        parsed = Image.Exif()
        parsed.load(exif)  # accepts bytes with or without the "Exif\0\0" header
        if orientation != 1:
            parsed[_ORIENTATION_TAG] = orientation
        if fmt == "TIFF":
            # Pillow writes no EXIF sub-directory into a TIFF, and the offset that points to
            # one, copied from a camera's JPEG, made libtiff refuse the whole save: the main
            # directory's tags (camera, date, copyright) are kept, the sub-directories not
            for pointer in _SUB_IFD_TAGS:
                parsed.pop(pointer, None)
        if fmt == "JPEG" and len(parsed.tobytes()) > _JPEG_EXIF_MAX:
            # One JPEG APP1 segment holds 64 KB; a bulky maker note must not make the save
            # fail. The pixels matter more than the metadata.
            log.warning("EXIF too large for JPEG (%d bytes); saving without it", len(exif))
            if orientation != 1:  # but never without the tag that turns the pixels upright
                alone = Image.Exif()
                alone[_ORIENTATION_TAG] = orientation
                opts["exif"] = alone
        else:
            opts["exif"] = parsed
    if fmt == "JPEG" and quality == KEEP and jpeg is not None:
        opts.update(jpeg.save_options())  # the source's own tables and subsampling
        return opts
    keep_quality = quality == KEEP
    quality = DEFAULT_QUALITY if keep_quality else int(min(100, max(1, int(quality))))
    if fmt == "JPEG":
        opts["quality"] = quality
        # Full-resolution chroma at high quality: 4:2:0 smears the colour edges of a fill.
        opts["subsampling"] = 0 if quality >= 90 else 2
        opts["optimize"] = True
    elif fmt == "AVIF":
        opts["quality"] = quality
    elif fmt == "WEBP":
        # lossless when asked, or kept from a lossless WebP when no quality was given
        if lossless or (keep_quality and compression == WEBP_LOSSLESS):
            opts["lossless"] = True
            opts["quality"] = 100  # effort, for lossless
        else:
            opts["quality"] = quality
    elif fmt == "TIFF":
        # the source TIFF's own compression where it is lossless (an uncompressed scan stays
        # uncompressed); else LZW, lossless and readable everywhere
        opts["compression"] = compression if compression in _LOSSLESS_TIFF else "tiff_lzw"
    elif fmt == "PNG":
        opts["compress_level"] = 6
    return opts


def save_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    quality: int | str = KEEP,
    jpeg: JpegSettings | None = None,
    original: np.ndarray | None = None,
    flatten: bool = False,
    lossless: bool = False,
    protect: Iterable[str | os.PathLike[str]] = (),
    gray: bool = False,
    compression: str | None = None,
    meta: Metadata | None = None,
) -> Path:
    """Write ``rgb`` (+ alpha where the format holds it) to ``path`` atomically.

    The format comes from the extension. ``quality`` 1-100, ``LOSSLESS`` (a WebP written
    lossless, as ``lossless`` asks), or ``KEEP`` ("keep", the default): a JPEG written
    with ``jpeg`` (the source's settings) reuses its quantisation tables and chroma
    subsampling, and where ``rgb`` still equals ``original`` (the source as decoded) the
    encoder is steered to decode to those pixels again
    (:func:`~app.core.jpeg_settings.match_source`); without ``jpeg``, KEEP means 95.
    Transparency that the format cannot hold (JPEG, BMP) is an error unless ``flatten``
    asks to composite it onto white.

    The file appears complete or not at all: a temp file in the same folder is written,
    fsynced and renamed over ``path``; on any failure the temp file is removed and an
    existing ``path`` is left as it was. Refuses to write over any of ``protect`` (the
    inputs). The folder must exist. ``gray`` (a gray source, :attr:`LoadedImage.gray`):
    written with one channel (its luma) where the format has a gray mode. ``compression``
    (a TIFF source's, :attr:`LoadedImage.compression`): a TIFF is written with it when it is
    lossless, else with LZW. ``meta`` (:attr:`LoadedImage.meta`): the source's dpi, XMP,
    comment and text where the format holds them; a gray result carries the source's gray
    profile, never an RGB one.
    """
    path = Path(path)
    _check_array(rgb, alpha)
    fmt = require_save_format(path)  # the format comes from the extension
    _check_target(path, protect)
    if quality == LOSSLESS:
        lossless, quality = True, KEEP
    if quality != KEEP and not (isinstance(quality, int) and 1 <= quality <= 100):
        raise TemperaError(f"quality must be 1-100, {KEEP!r} or {LOSSLESS!r}, got {quality!r}")
    if alpha_would_be_lost(path, alpha):
        if not flatten:
            raise TemperaError(f"{path.name} cannot hold transparency ({fmt}); save as .png, "
                               f".webp or .tif to keep it, or flatten it onto white")
        rgb = flatten_alpha(rgb, alpha)  # type: ignore[arg-type]
    if gray:  # a gray photo stays gray: one channel, and no tint a fill may have brought
        rgb = luma(rgb)
        original = luma(original) if original is not None else None
    turned = 1
    if fmt == "JPEG" and quality == KEEP and jpeg is not None:
        if jpeg.orientation != 1:
            # a turned photo (a phone's) is stored as the source was, with its orientation
            # tag: its blocks and tables meet the pixels they were made for, so what was not
            # edited re-encodes as closely as an upright photo's does
            turned = jpeg.orientation
            rgb = stored(rgb, turned)
            original = stored(original, turned) if original is not None else None
        rgb = match_source(rgb, original, jpeg)

    if gray and fmt not in _GRAY_FORMATS:  # WebP has no gray mode: equal channels
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if alpha is not None and fmt in _ALPHA_FORMATS:
        img = Image.fromarray(np.dstack([rgb, alpha]), "LA" if rgb.ndim == 2 else "RGBA")
    else:
        img = Image.fromarray(np.ascontiguousarray(rgb), "L" if rgb.ndim == 2 else "RGB")
    written_gray = rgb.ndim == 2
    opts = _save_options(fmt, icc=None if written_gray else icc_profile, exif=exif, quality=quality, jpeg=jpeg,
                         lossless=lossless, orientation=turned, compression=compression)
    if meta is not None:
        opts.update(_meta_options(fmt, meta, written_gray))
    if "tiffinfo" in opts and isinstance(opts.get("exif"), Image.Exif):
        # Pillow writes a TIFF's tiffinfo instead of its exif: the XMP joins the EXIF's tags
        # (a JPEG's camera, date and copyright were lost in its TIFF result)
        opts["exif"].update(opts.pop("tiffinfo"))

    def write(fh) -> None:
        img.save(fh, format=fmt, **opts)
        if fmt == "JPEG":
            _check_jpeg_end(fh)

    return _write(path, write)


def _check_jpeg_end(fh) -> None:
    """Raise OSError unless the JPEG just written to ``fh`` ends with its end-of-image
    marker. With ``optimize``, Pillow's encoder writes the file's descriptor directly and
    ran out of a full disk without a word: a cut-short JPEG was reported saved. (Encoding
    to memory first is no way out: that path of Pillow's fails on noisy photos.)"""
    fh.flush()
    fd = fh.fileno()  # atomic_write's temporary, open for reading too (mkstemp)
    size = os.fstat(fd).st_size
    if size >= 2:
        os.lseek(fd, size - 2, os.SEEK_SET)  # os.pread is not on Windows; nothing is written after this
    if size < 2 or os.read(fd, 2) != b"\xff\xd9":
        raise OSError(errno.ENOSPC, "the JPEG was cut short (is the disk full?)")


def copy_unchanged(img: LoadedImage, path: str | os.PathLike[str], *, quality: int | str = KEEP,
                   protect: Iterable[str | os.PathLike[str]] = ()) -> Path | None:
    """A photo with nothing to fill, written as it came: ``img``'s file copied byte for
    byte to ``path`` (atomically, never over one of ``protect``) when ``path`` saves in the
    file's own format and no other ``quality`` was asked for. None, and nothing written,
    otherwise: the caller saves the pixels (:func:`save_image`)."""
    if img.path is None or img.format is None or quality != KEEP or save_format(path) != img.format:
        return None
    path = Path(path)
    _check_target(path, protect)
    try:
        data = Path(img.path).read_bytes()
    except OSError as exc:
        raise TemperaError(f"cannot save {path.name}: {_reason(exc)}") from None
    return _write(path, lambda fh: fh.write(data))


def _check_target(path: Path, protect: Iterable[str | os.PathLike[str]]) -> None:
    """What every writer checks before it writes ``path``: not one of ``protect`` (the
    inputs), its folder there, not a folder itself."""
    refuse_overwrite(path, protect)
    folder = path.parent
    if not folder.is_dir():
        raise TemperaError(f"cannot save {path.name}: the folder {folder} does not exist")
    if path.is_dir():
        raise TemperaError(f"cannot save {path}: it is a folder")


def _reason(exc: BaseException) -> str:
    """An exception's words on one line (its type where it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _write(path: Path, write) -> Path:
    """:func:`atomic_write` of ``path``, its failures as one line. The system's own words
    name the hidden temporary file the write goes through; the user is told of the folder."""
    try:
        atomic_write(path, write)
    except OSError as exc:
        if exc.strerror and exc.filename2 and Path(exc.filename2).name == path.name:
            # the rename over it failed: the file that is there refuses (locked, immutable)
            raise TemperaError(f"cannot save {path.name}: cannot replace the file there: {exc.strerror}") from None
        if exc.strerror and exc.filename and Path(exc.filename).name != path.name:
            raise TemperaError(f"cannot save {path.name}: cannot write in the folder {path.parent}: "
                               f"{exc.strerror}") from None
        raise TemperaError(f"cannot save {path.name}: {exc.strerror or _reason(exc)}") from None
    except (ValueError, RuntimeError) as exc:  # RuntimeError: an encoder (libtiff) refusing its options
        raise TemperaError(f"cannot save {path.name}: {_reason(exc)}") from None
    return path


# Re-exported so callers follow the contract's single module (imported last: masks_io
# only depends on image_open/pixel_modes, never on this module, so there is no cycle).
from app.core.masks_io import load_mask, load_sketch, mask_from_alpha  # noqa: E402
