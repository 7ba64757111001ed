"""Open an image file safely: size limit before decoding, strict decoding, EXIF orientation.

Everything that reads pixels from disk (photos, masks, sketches) goes through
:func:`open_oriented`, so every reader gets the same limits and the same one-line errors.
Pillow only; no torch, no Qt.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, TiffImagePlugin

from app.core.errors import TemperaError
from app.core.jpeg_settings import JpegSettings, read_jpeg_settings
from app.core.pixel_modes import icc_colour_space

DEFAULT_MAX_PIXELS = 150_000_000
MAX_PIXELS_ENV = "TEMPERA_MAX_PIXELS"

# Formats we decode. Restricting Pillow to these keeps its many exotic decoders (and their
# bugs) away from user files. (The JPEG opener also returns MPO, the multi-picture JPEG
# many cameras and phones write.)
READ_FORMATS = ("PNG", "JPEG", "WEBP", "AVIF", "HEIF", "TIFF", "BMP", "GIF", "PPM")
_FORMAT_LIST = "PNG, JPEG, WebP, AVIF, HEIC, TIFF or BMP"
_HEIF_SUFFIXES = (".heic", ".heif")
_HEIF: dict[str, bool] = {}


def heif_available() -> bool:
    """Whether HEIC/HEIF photos open: pi-heif's decoder, registered with Pillow once."""
    if "ok" not in _HEIF:
        try:
            import pi_heif  # type: ignore[import-not-found]

            pi_heif.register_heif_opener()
            _HEIF["ok"] = True
        except (ImportError, OSError):  # not installed, or its native library did not load
            _HEIF["ok"] = False
    return _HEIF["ok"]

# A truncated JPEG must be an error, not an image padded with grey. Pillow's default is
# False already; we set it again because another library may have flipped this global.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Pillow 13 applies TIFF orientation itself while loading, and on its built-in path for
# uncompressed files it scrambles orientations 5-8 (decodes into the already-swapped
# size). Its libtiff path gets them right, so every TIFF goes through libtiff.
# tests/test_imageio.py::test_tiff_orientation guards this.
TiffImagePlugin.READ_LIBTIFF = True

# TIFF "EXIF" from getexif() is the whole first IFD, including tags that describe the
# file's own layout. Copied into another file they would lie, so they are dropped.
_TIFF_LAYOUT_TAGS = (
    254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 322, 323,
    324, 325, 338, 339, 340, 341, 347, 530, 531, 532, 34675,
    700,  # the XMP packet: carried as such (Metadata), its orientation set upright
)

_ORIENTATION = 0x0112


def pixel_limit(max_pixels: int | None = None) -> int:
    """The pixel limit for one load: the argument, else env TEMPERA_MAX_PIXELS, else 150 MP."""
    if max_pixels is not None:
        limit = int(max_pixels)
    else:
        raw = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
        if not raw:
            limit = DEFAULT_MAX_PIXELS
        else:
            try:
                limit = int(float(raw))
            except ValueError:
                raise TemperaError(
                    f"{MAX_PIXELS_ENV}={raw!r} is not a number of pixels (e.g. 200000000)"
                ) from None
    if limit <= 0:
        raise TemperaError(f"the pixel limit must be positive, got {limit}")
    return limit


def _mp(pixels: float) -> str:
    """Megapixels for a message: '300', '12.5', '0.0001' (3 significant digits)."""
    return f"{pixels / 1e6:.3g}"


def limit_message(name: str, size: tuple[int, int], limit: int) -> str:
    w, h = size
    return (
        f"{name} is {w} x {h} = {_mp(w * h)} MP, above the {_mp(limit)} MP limit "
        f"(set {MAX_PIXELS_ENV} to raise it)"
    )


@dataclass(frozen=True, eq=False)
class Metadata:
    """What else a photo's file says that a retouched copy should say too (besides its
    colour profile and EXIF, kept on their own): print resolution, the XMP packet (creator,
    rights, keywords from Lightroom and the like), a JPEG's comment, a PNG's text chunks,
    and a gray photo's own gray colour profile (written only where the result is gray)."""

    dpi: tuple[float, float] | None = None  # (x, y) as the upright photo has it
    xmp: bytes | None = None  # its orientation set to 1: the pixels are upright
    comment: bytes | None = None  # a JPEG's COM segment
    text: tuple[tuple[str, str], ...] = ()  # a PNG's tEXt/zTXt/iTXt chunks, XMP aside
    gray_icc: bytes | None = None  # a gray photo's GRAY profile


@dataclass
class OpenedImage:
    """A fully decoded Pillow image with orientation applied, plus what we keep of its metadata."""

    image: Image.Image
    format: str | None
    mode: str  # the mode as stored in the file, before any conversion
    icc_profile: bytes | None
    exif: bytes | None  # orientation reset to 1; None when the file had no EXIF
    jpeg: JpegSettings | None = None  # a JPEG's tables and subsampling, to save it alike
    compression: str | None = None  # a TIFF's compression (Pillow's name) or a WebP's "lossless", to save it alike
    bits: int | None = None  # a TIFF's bits per sample (Pillow opens 16-bit RGB as 8-bit RGB)
    frames: int = 1  # frames or pages in the file; only the first is read
    meta: Metadata = Metadata()


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, EOFError) or "truncated" in text.lower():
        return "the file is truncated"  # Pillow words this several ways
    return text or type(exc).__name__


def _bomb_message(name: str, exc: Exception, limit: int) -> str:
    found = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = f"{_mp(int(found.group(1)))} MP" if found else "too large"
    return f"{name} is {pixels}, above the {_mp(limit)} MP limit (set {MAX_PIXELS_ENV} to raise it)"


def open_oriented(path: str | os.PathLike[str], *, max_pixels: int | None = None, role: str = "") -> OpenedImage:
    """Decode ``path`` completely, refusing it before decoding when it is over the limit.
    ``role`` ("mask", "sketch") goes before the file's name in errors, so a message says
    which input it is about.

    Raises TemperaError (one line naming the file) for a missing file, a folder, an
    unsupported or damaged file, and an image above the pixel limit.
    """
    path = Path(path)
    the = f"the {role} " if role else ""
    name = the + (path.name or str(path))
    limit = pixel_limit(max_pixels)
    if not path.exists():
        raise TemperaError(f"{the}{path} does not exist")
    if path.is_dir():
        raise TemperaError(f"{the}{path} is a folder, not an image")
    try:
        empty = path.stat().st_size == 0
    except OSError:
        empty = False  # unreadable: open() below says why
    if empty:
        raise TemperaError(f"cannot read {name}: the file is empty (0 bytes)")
    # Pillow's own bomb check runs inside Image.open (warning above the limit, error above
    # twice it). Keep its limit at least ours so it never refuses what we allow; anything
    # it does refuse is reported with our message below.
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < limit:
        Image.MAX_IMAGE_PIXELS = limit
    heif = heif_available()
    try:
        with warnings.catch_warnings():
            # We refuse oversize images ourselves, with a better message, right after open.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path, formats=READ_FORMATS)
    except Image.DecompressionBombError as exc:
        raise TemperaError(_bomb_message(name, exc, limit)) from None
    except Image.UnidentifiedImageError:
        if not heif and path.suffix.lower() in _HEIF_SUFFIXES:
            raise TemperaError(f"cannot read {name}: HEIC/HEIF photos need the pi-heif package "
                               "(pip install pi-heif)") from None
        raise TemperaError(
            f"cannot read {name}: not a {_FORMAT_LIST} image, or the file is damaged"
        ) from None
    except PermissionError:
        raise TemperaError(f"cannot read {name}: permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise TemperaError(f"cannot read {name}: {_describe(exc)}") from None

    with img:
        w, h = img.size
        if w <= 0 or h <= 0:
            raise TemperaError(f"cannot read {name}: it has no pixels ({w} x {h})")
        if w * h > limit:  # header size only: nothing has been decoded yet
            raise TemperaError(limit_message(name, (w, h), limit))
        mode = img.mode
        fmt = img.format
        try:
            # Decoding errors (truncated data, bad CRC, broken zlib stream) surface here.
            img.load()
            exif = img.getexif()
            orientation = exif.get(_ORIENTATION, 1)
            oriented = ImageOps.exif_transpose(img)
        except Image.DecompressionBombError as exc:  # e.g. a GIF frame larger than its header
            raise TemperaError(_bomb_message(name, exc, limit)) from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                IndexError, MemoryError) as exc:
            raise TemperaError(f"cannot read {name}: {_describe(exc)}") from None
        icc = img.info.get("icc_profile") or None
        # Read from the file as opened: the transposed copy no longer carries the tables.
        jpeg = read_jpeg_settings(img, orientation=orientation)
        compression = img.info.get("compression") if fmt == "TIFF" else None
        if fmt == "WEBP" and _webp_is_lossless(path):
            compression = WEBP_LOSSLESS
        bits = _tiff_bits(img) if fmt == "TIFF" else None
        frames = int(getattr(img, "n_frames", 1) or 1)
        meta = _metadata(img, orientation, icc)
    return OpenedImage(
        image=oriented,
        format=fmt,
        mode=mode,
        icc_profile=icc,
        exif=_kept_exif(exif, fmt),
        jpeg=jpeg,
        compression=compression,
        bits=bits,
        frames=frames,
        meta=meta,
    )


def _tiff_bits(img: Image.Image) -> int | None:
    """A TIFF's bits per sample (its BitsPerSample tag), or None."""
    try:
        value = img.tag_v2.get(258)  # type: ignore[attr-defined]
    except AttributeError:
        return None
    if isinstance(value, tuple):
        value = max(value, default=None)
    return int(value) if isinstance(value, int) else None


_XMP_ORIENTATION = re.compile(rb'(tiff:Orientation\s*=\s*["\'])\d(["\'])|(<tiff:Orientation>)\s*\d\s*(</tiff:Orientation>)')
PNG_XMP_KEY = "XML:com.adobe.xmp"  # the iTXt chunk that holds a PNG's XMP packet


def _upright_xmp(xmp: bytes) -> bytes:
    """The XMP packet with its orientation set to 1 (the pixels are turned upright)."""
    return _XMP_ORIENTATION.sub(lambda m: (m.group(1) + b"1" + m.group(2)) if m.group(1)
                                else (m.group(3) + b"1" + m.group(4)), xmp)


def _metadata(img: Image.Image, orientation: int, icc: bytes | None) -> Metadata:
    """The :class:`Metadata` of an opened file; what it cannot read is left out."""
    info = img.info
    dpi = info.get("dpi")
    try:
        dpi = (float(dpi[0]), float(dpi[1])) if dpi and dpi[0] > 0 and dpi[1] > 0 else None
    except (TypeError, ValueError, IndexError):
        dpi = None
    if dpi is not None and orientation in (5, 6, 7, 8):  # turned a quarter: x and y swap
        dpi = (dpi[1], dpi[0])
    xmp = info.get("xmp") or info.get(PNG_XMP_KEY)
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    xmp = _upright_xmp(xmp) if isinstance(xmp, bytes) and xmp.strip() else None
    comment = info.get("comment") if img.format == "JPEG" else None
    if isinstance(comment, str):
        comment = comment.encode("latin-1", "replace")
    text: tuple[tuple[str, str], ...] = ()
    if img.format == "PNG":
        chunks = getattr(img, "text", None) or {}
        text = tuple((str(k), str(v)) for k, v in chunks.items() if k != PNG_XMP_KEY)
    gray_icc = icc if icc_colour_space(icc) == b"GRAY" else None
    return Metadata(dpi=dpi, xmp=xmp, comment=comment or None, text=text, gray_icc=gray_icc)


WEBP_LOSSLESS = "lossless"  # OpenedImage.compression of a WebP whose picture is lossless


def _webp_is_lossless(path: Path) -> bool:
    """Whether a WebP file's picture is stored losslessly (its image chunk is "VP8L", not the
    lossy "VP8 "), read from the RIFF chunk headers alone."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
                return False
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return False
                kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind in (b"VP8L", b"VP8 "):
                    return kind == b"VP8L"
                if kind == b"ANMF":  # an animation's frame: its first picture chunk says
                    fh.seek(16, os.SEEK_CUR)
                    continue
                fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return False


def _kept_exif(exif: Image.Exif, fmt: str | None) -> bytes | None:
    """EXIF bytes to carry to the output: orientation reset, TIFF layout tags dropped."""
    if fmt == "TIFF":
        for tag in _TIFF_LAYOUT_TAGS:
            exif.pop(tag, None)
    if not len(exif) and not exif.get_ifd(0x8769) and not exif.get_ifd(0x8825):
        return None
    if _ORIENTATION in exif:
        # The pixels are already upright; a kept orientation would rotate them twice.
        exif[_ORIENTATION] = 1
    try:
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - malformed maker notes must not block opening a photo
        return None
