"""Qt resource (``.rcc``) files read without Qt: GCompris ships its photos inside them.

The layout follows qtbase's ``rcc.cpp``: a ``qres`` header, a tree of nodes (directories
with their children, files with a data offset), a names table (UTF-16) and the data, each
entry optionally qCompress'ed (zlib) or zstd-compressed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

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
