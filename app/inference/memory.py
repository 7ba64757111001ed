"""Peak memory of a block of code on the CPU, for the benchmark.

Resident memory (RSS) is a poor measure there: after the first fill the C allocator keeps
the freed pages, so every later fill reuses them and the RSS growth reads zero. With glibc
we sample the bytes *in use* instead (``mallinfo2``: small-block arenas plus mmapped
blocks, which is where torch's CPU tensors live), so each measurement is the working
memory of that fill alone, whatever ran before it. Elsewhere (macOS, Windows, musl) we
fall back to RSS growth, as `python main.py benchmark --help` says. A large hole's patch
search runs in a child process (``search_process``): the resident memory of each such child
running at a sample is added, so a fill's peak counts its search wherever it runs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from collections.abc import Callable

from .search_process import live_children


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _heap_reader() -> Callable[[], int] | None:
    """Bytes malloc has handed out and not got back, or None without glibc >= 2.33."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    fn.argtypes = []

    def read() -> int:
        info = fn()
        return int(info.uordblks + info.hblkhd)

    return read


def _rss() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource

        scale = 1 if os.uname().sysname == "Darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _children_rss() -> int:
    """The resident bytes of the child searches running now (0 where /proc is not there)."""
    total = 0
    for pid in live_children():
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):  # ended between the listing and the read, or no /proc
            pass
    return total


_HEAP = _heap_reader()


class PeakSampler:
    """``with PeakSampler() as s: ...`` then ``s.delta_mb``: the peak above the level at entry,
    sampled every `interval` seconds by a background thread (and at both ends)."""

    def __init__(self, interval: float = 0.001, reader: Callable[[], int] | None = None) -> None:
        self.interval = interval
        own = reader or _HEAP or _rss
        self.read = own if reader is not None else (lambda: own() + _children_rss())
        self.base = self.peak = 0
        self._stop = threading.Event()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.read())
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self.base = self.peak = self.read()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.read())

    @property
    def delta_mb(self) -> float:
        return max(0, self.peak - self.base) / 2**20
