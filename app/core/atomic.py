"""Writing a file so that it appears complete or not at all.

A temporary file in the target's own folder is written, flushed, fsynced, given the
final permissions and renamed over the target; on any failure it is removed and an
existing target is left as it was. A writer killed outright (``kill -9``) cannot remove its
temporary; the next write to the same target does, once that writer's process is gone.
Every writer in the project (images, checkpoints, training state, settings, autosave,
layer PNGs, reports) goes through :func:`atomic_write`.
"""

from __future__ import annotations

import os
import tempfile
import time
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


STALE_AFTER_S = 600.0  # a temporary untouched this long whose writer is gone is a leftover


def _process_gone(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. another user's process: alive
        return False
    return False


def _sweep_stale(folder: Path, name: str) -> None:
    """Remove the temporaries of ``name`` that a killed writer (``kill -9``, a power cut)
    left in ``folder``: its process is gone and the file has not changed for
    STALE_AFTER_S. A writer still at work, or of another machine, is never touched."""
    prefix = f".{name}."
    now = time.time()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
                    continue
                pid_text = entry.name[len(prefix):].split(".", 1)[0]
                try:
                    if (pid_text.isdigit() and int(pid_text) != os.getpid()
                            and now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
                            and _process_gone(int(pid_text))):
                        os.unlink(entry.path)
                except OSError:
                    continue
    except OSError:
        return


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
    _sweep_stale(folder, path.name)
    # the writer's pid in the name lets a later write tell a killed writer's leftover
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None and exc.strerror:
            exc.filename = str(path)  # a full disk says so at flush, naming no file: this one
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


def check_writable(folder: str | os.PathLike[str], what: str) -> None:
    """Raise a one-line error unless a file can be written in ``folder`` (checked by writing
    one, which also holds on network shares where permission bits say little): a batch
    must not fill every photo to find at the end that it can save none. ``what`` names
    the folder for the user ("the output folder")."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".tempera-probe."):
            pass
    except OSError as exc:
        raise TemperaError(f"cannot write in {what} {folder}: {exc.strerror or exc}") from None
