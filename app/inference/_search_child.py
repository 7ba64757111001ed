"""One PatchMatch search in a process of its own (started by :mod:`.search_process`).

Run as ``python -m app.inference._search_child FOLDER``. ``FOLDER`` holds ``args.json``
(seed, patch_size, guide_weight and which optional arrays there are) and the arrays as
``.npy`` files: ``image`` (BGR uint8), ``hole`` (uint8), optionally ``shield`` (uint8, the
library's global mask) and ``guide`` (float32 HxWx3, the library's regularity map). The
fill is written to ``out.npy`` (through a temporary name, so a killed child leaves none).
A file ``started`` says the module ran. Imports only NumPy and the library, so it starts in
a fraction of a second.

Exit codes: 0 done; UNAVAILABLE the library cannot load here; NO_ROOM the fill could not be
written (a full temporary folder: the parent searches in its own process instead); 1 the
search failed (one line on stderr). The codes are unusual ones, so that no crash reads as
one of them (a native ``abort()`` exits with 3 on Windows).

The parent holds this process's stdin open and never writes to it: when the parent ends
without stopping the search (killed, or quit while a network pass ran), stdin reaches its
end and the search ends too, instead of running on for minutes with nobody to take its fill.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path

UNAVAILABLE = 69  # sysexits' EX_UNAVAILABLE
NO_ROOM = 74  # sysexits' EX_IOERR
ORPHANED = 75


def _watch() -> None:
    """Ends this process once its parent is gone: its end of stdin closes (the library
    releases the GIL while it searches, so this thread runs beside it)."""
    try:
        while os.read(0, 4096):  # the raw descriptor: no buffer lock held at the interpreter's exit
            pass
    except OSError:
        pass
    os._exit(ORPHANED)


def main(argv: list[str]) -> int:
    folder = Path(argv[1])
    spec = json.loads((folder / "args.json").read_text(encoding="utf-8"))
    (folder / "started").touch()  # this module runs here (what fails after is the search's)
    threading.Thread(target=_watch, daemon=True).start()
    import numpy as np

    logging.getLogger("patchmatch").setLevel(logging.ERROR)  # the parent says why, once
    import patchmatch  # type: ignore[import-not-found]

    if not patchmatch.patchmatch_available:
        print("its native library did not load", file=sys.stderr)
        return UNAVAILABLE

    def load(name: str):
        return np.load(folder / f"{name}.npy", allow_pickle=False)

    image, hole = load("image"), load("hole")
    shield = load("shield") if spec["shield"] else None
    patchmatch.set_random_seed(int(spec["seed"]))
    if spec["guide"]:
        out = patchmatch.inpaint_regularity(image, hole, load("guide"), global_mask=shield,
                                            patch_size=int(spec["patch_size"]),
                                            guide_weight=float(spec["guide_weight"]))
    else:
        out = patchmatch.inpaint(image, hole, global_mask=shield, patch_size=int(spec["patch_size"]))
    part = folder / "out.part.npy"
    try:
        np.save(part, np.ascontiguousarray(out))
        os.replace(part, folder / "out.npy")
    except OSError:
        return NO_ROOM
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - one line for the parent to pass on
        print(f"{type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        sys.exit(1)
