"""Tempera: ``python main.py [IMAGE]`` opens the editor; ``python main.py COMMAND ...`` runs the CLI."""

from __future__ import annotations

import os
import sys

VERBOSE = ("-v", "--verbose")  # the one global option that also goes with the editor


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.cli import COMMAND_NAMES
    from app.cli import main as cli_main

    rest = [a for a in argv if a not in VERBOSE]
    if len(rest) < len(argv) and (not rest or not (rest[0] in COMMAND_NAMES or rest[0].startswith("-"))):
        # the global -v with the editor (``main.py -v photo.jpg``, ``main.py photo.jpg -v``)
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
        argv = rest
    if argv and (argv[0] in COMMAND_NAMES or argv[0].startswith("-")):
        return cli_main(argv)
    if len(argv) > 1:
        if not any(a.startswith("-") for a in argv):
            print(f"error: the editor opens one photo at a time, got {len(argv)}: {' '.join(argv)} "
                  "(to fill many, see: python main.py batch --help)", file=sys.stderr)
            return 2
        return cli_main(argv)  # let argparse explain what is wrong
    return _editor(argv[0] if argv else None)


def _editor(path: str | None) -> int:
    problem = _no_display()
    if problem:
        if path and not os.path.exists(path):  # the first thing to fix: no editor could open it
            problem = f"{path} does not exist"
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from app.ui.app import run_gui  # PySide6 is imported only when the editor starts

    return run_gui(path)


def _no_display() -> str | None:
    """Why the editor cannot open a window here (Linux without X11 or Wayland and no Qt
    platform chosen), as one line instead of Qt's abort; None when it can try."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return None  # another platform chosen (offscreen, wayland, vnc...): Qt is left to try
    display = os.environ.get("DISPLAY", "").strip()
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return None
    if display:
        if _x_server_answers(display):
            return None
        return (f"no X server answers at DISPLAY={display!r}; start one or correct DISPLAY, "
                "or use the commands: python main.py --help")
    return ("no display to open the editor on (neither DISPLAY nor WAYLAND_DISPLAY is set); run it in a "
            "desktop session, or use the commands: python main.py --help")


def _x_server_answers(display: str) -> bool:
    """False only when DISPLAY names an X server that certainly is not there (its socket
    refuses), where Qt would abort; a form this does not know is left to Qt."""
    import re
    import socket

    m = re.fullmatch(r"(?P<host>[^:/]*):(?P<num>\d+)(?:\.\d+)?", display)
    if m is None:
        return True
    host, num = m["host"], int(m["num"])
    if host in ("", "unix"):
        # the server's socket, on the file system or in Linux's abstract namespace
        for path in (f"/tmp/.X11-unix/X{num}", f"\0/tmp/.X11-unix/X{num}"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                try:
                    s.connect(path)
                    return True
                except OSError:
                    continue
        return False
    try:
        socket.create_connection((host, 6000 + num), timeout=3).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
