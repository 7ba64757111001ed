"""A large patch search in a process of its own, so that a cancel stops it at once.

The native PatchMatch library cannot be interrupted once a search starts: a 40 % hole in a
24 MP photo searches for over a minute, and a cancelled fill kept a core busy that long and
held up the next one. A crop with at least CHILD_MIN_HOLE hole pixels (a few seconds of
search on these machines) is therefore searched by a child Python process
(:mod:`._search_child`, which imports only NumPy and the library). Its arrays travel as
``.npy`` files in a temporary folder, removed after (or, when this process was killed, by
the next search). While it runs, the caller's ``poll()`` is called every POLL_S seconds;
when ``poll`` raises, the child is killed and the exception goes on. A native crash or an
out-of-memory kill there ends the child, not the editor, and a child whose parent is gone
ends too. Where no child can run (no interpreter to start, a frozen install), searches stay
in this process. Smaller crops always do: a child costs about 0.2-0.5 s to start and to
hand its arrays over.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.core.errors import TemperaError

from ._search_child import NO_ROOM, UNAVAILABLE

CHILD_MIN_HOLE = 250_000  # hole pixels in one crop; searched in-process below (under ~3 s)
POLL_S = 0.2
STALE_S = 24 * 3600  # where a process cannot be asked whether it lives: a folder this old is a leftover
_MODULE = "app.inference._search_child"
_PREFIX = "tempera-search-"  # + the starting process's id + "-" + a random part
_LIVE: set[int] = set()  # the process ids of the searches running now
_LOCK = threading.Lock()  # searches start and end in several threads
_NO_CHILD: list[str] = []  # why no child could search here, once known: none is tried again


def live_children() -> list[int]:
    """The process ids of the child searches running now (the benchmark counts their memory)."""
    with _LOCK:
        return list(_LIVE)


class SearchFailed(TemperaError):
    """The child's search ended without a fill (crashed, killed by the system, or failed)."""


class NoChild(SearchFailed):
    """No child could search here (it could not start, or the library did not load in it):
    the caller may search in its own process instead."""


def wanted(hole_pixels: int) -> bool:
    """Whether a crop with this many hole pixels is searched in a child process
    (``TEMPERA_SEARCH_PROCESS=0`` keeps every search in-process)."""
    return (hole_pixels >= CHILD_MIN_HOLE and not _NO_CHILD
            and not getattr(sys, "frozen", False)  # a bundled app's executable is the app, not Python
            and os.environ.get("TEMPERA_SEARCH_PROCESS", "1") != "0")


def _sweep() -> None:
    """Remove the folders of searches whose process was killed before it could (the folder's
    name holds that process's id; a live process's folders are left alone; where no process
    can be asked, those older than STALE_S)."""
    import shutil

    try:
        leftovers = list(Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"))
    except OSError:
        return
    for folder in leftovers:
        try:
            pid = int(folder.name[len(_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid, folder):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int, folder: Path) -> bool:
    if os.name != "posix":  # no cheap check of the process: its folder's age
        try:
            return time.time() - folder.stat().st_mtime < STALE_S
        except OSError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _package_root() -> str:
    import app

    return str(Path(app.__file__).resolve().parent.parent)


def search(image: np.ndarray, hole: np.ndarray, *, shield: np.ndarray | None, guide: np.ndarray | None,
           seed: int, patch_size: int, guide_weight: float, poll: Callable[[], None] | None) -> np.ndarray:
    """The library's fill of ``image`` (BGR uint8) where ``hole`` (uint8) is set, searched in
    a child process; ``shield`` and ``guide`` as the library takes them. ``poll()`` is called
    while the child runs (raise there to stop it). Raises :class:`SearchFailed` in one line
    when the child ends without a fill (:class:`NoChild` when none could search: the arrays
    could not be handed over, say on a full disk, or no child could run here)."""
    _sweep()
    spec = {"seed": int(seed), "patch_size": int(patch_size),
            "guide_weight": float(guide_weight), "shield": shield is not None, "guide": guide is not None}
    try:
        tmp = tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}-", ignore_cleanup_errors=True)
    except OSError as exc:
        raise NoChild(f"no folder for the search process ({exc})") from exc
    with tmp:
        folder = Path(tmp.name)
        try:
            (folder / "args.json").write_text(json.dumps(spec), encoding="utf-8")
            for name, array in (("image", image), ("hole", hole), ("shield", shield), ("guide", guide)):
                if array is not None:
                    np.save(folder / f"{name}.npy", np.ascontiguousarray(array))
        except OSError as exc:  # a full or read-only temporary folder: search here this time
            raise NoChild(f"cannot hand the search its arrays ({exc})") from exc
        code = _run(folder, poll)
        if code == 0 and (folder / "out.npy").exists():
            try:
                return np.load(folder / "out.npy", allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise SearchFailed(f"the patch search's fill could not be read back ({exc})") from exc
        if code == NO_ROOM:  # searched, but no room for the fill: search here this time
            raise NoChild("no room in the temporary folder for the search's fill")
        try:
            said = (folder / "stderr.txt").read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            said = []
        if said:
            why = said[-1]
        elif code == -9:  # SIGKILL, and not ours: the kernel's out-of-memory killer, most often
            why = "killed by the system, perhaps for lack of memory; a smaller hole needs less"
        else:
            why = f"ended by signal {-code}" if code < 0 else f"exit code {code}"
        if code == UNAVAILABLE or (code > 0 and not (folder / "started").exists()):
            # the library, or this module, cannot load in a child here (a frozen install)
            _NO_CHILD.append(f"no search process could run here ({why})")
            raise NoChild(_NO_CHILD[-1])
        raise SearchFailed(f"the patch search stopped without a fill ({why})")


def _run(folder: Path, poll: Callable[[], None] | None) -> int:
    """Run the child on ``folder`` to its end, calling ``poll()`` while it runs (the child is
    killed when ``poll`` raises, and the exception goes on); its exit code."""
    root = _package_root()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    # a session (or process group) of its own: a Ctrl+C at the terminal reaches this process
    # only, which decides (a batch's first Ctrl+C lets the photos being filled finish,
    # searches included); stdin stays open, unwritten, until the search ends: the child
    # ends when it closes (this process gone)
    own_group = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if os.name == "nt"
                 else {"start_new_session": True})
    proc: subprocess.Popen | None = None
    with open(folder / "stderr.txt", "wb") as err:
        try:
            try:
                proc = subprocess.Popen([sys.executable, "-m", _MODULE, str(folder)], cwd=root, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, **own_group)
            except OSError as exc:
                if isinstance(exc, (FileNotFoundError, PermissionError)) or exc.errno == errno.ENOEXEC:
                    _NO_CHILD.append(f"no search process could start ({exc})")  # none will, here
                raise NoChild(f"no search process could start ({exc})") from exc
            with _LOCK:
                _LIVE.add(proc.pid)
            while True:
                try:
                    return proc.wait(timeout=POLL_S)
                except subprocess.TimeoutExpired:
                    if poll is not None:
                        poll()
        finally:
            if proc is not None:
                if proc.poll() is None:  # stopped (poll raised, Ctrl-C): the search goes with it
                    proc.kill()
                    proc.wait()
                if proc.stdin is not None:
                    proc.stdin.close()
                with _LOCK:
                    _LIVE.discard(proc.pid)
