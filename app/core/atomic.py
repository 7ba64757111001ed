"""Writing a file so that it appears complete or not at all.

A temporary file in the target's own folder is written, flushed, fsynced, given the
final permissions and renamed over the target; on any failure it is removed and an
existing target is left as it was. Every writer in the project (images, checkpoints,
training state, settings, autosave, layer PNGs) goes through :func:`atomic_write`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import TemperaError


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, before any threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless to skip where unsupported."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(fh)`` on a temporary binary file, then rename it over ``path``.

    The result keeps the permissions an existing ``path`` had; a new file gets the usual
    ``0666 & ~umask`` (mkstemp alone would leave it 0600). The folder must exist.
    """
    path = Path(path)
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_UMASK
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write` of ``text`` as UTF-8 (reports, configs, JSON)."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(data))


def ensure_folder(path: str | os.PathLike[str], what: str) -> Path:
    """Make ``path`` a folder (with its parents) or raise a one-line error saying why not;
    ``what`` names it for the user (e.g. "--out")."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise TemperaError(f"{what} {path} is a file, not a folder; choose a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TemperaError(f"cannot create the folder {path} for {what}: {exc.strerror or exc}") from None
    return path
