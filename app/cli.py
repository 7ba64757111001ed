"""Command-line entry: argparse sub-commands, one module each in ``app.commands``.

User errors (``TemperaError``) print one line and exit 2; nothing prints a traceback for
bad input.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app import __version__
from app.core.errors import TemperaError
from app.core.imageio import IMAGE_SUFFIXES
from app.core.names import short_name

# sub-command name -> module in app.commands (each exposes register(subparsers))
COMMANDS = {
    "inpaint": "inpaint",
    "batch": "batch",
    "benchmark": "benchmark",
    "train": "train",
    "evaluate": "evaluate",
    "sketch": "sketch",
    "fetch-data": "fetch_data",
}
COMMAND_NAMES = tuple(COMMANDS)

EPILOG = """examples:
  python main.py photo.jpg                                  open the editor
  python main.py inpaint photo.jpg --mask hole.png          fill, writes photo-inpainted.jpg
  python main.py inpaint photo.jpg --mask hole.png --sketch lines.png --engine mtsa-guided -o out.png
  python main.py batch --images shots/ --masks masks/ --out filled/
  python main.py benchmark --sizes 256,512 --json bench.json
"""


class _Parser(argparse.ArgumentParser):
    """argparse that says a usage error in one line, as every other error is said, with
    where to read more, instead of the whole usage block. Sub-command parsers are made of
    this class too (argparse gives them their parent's)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tempera",
        description="Tempera: sketch-guided neural inpainting (MTSA). Without a command, opens the editor.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tempera {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        qualified = f"app.commands.{module_name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:  # a missing dependency inside the command is a real error
                raise
            continue  # a command not installed in this build (e.g. a trimmed package)
        module.register(sub)
    parser.commands = sub.choices  # name -> the command's parser, for its errors
    return parser


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, ``timeout``, a service manager) stops a command at once, as a
    second Ctrl+C does: a file being written is removed rather than left as a temporary
    beside its target, and a batch stops the photos being filled too (a service manager
    kills what has not stopped within seconds; a first Ctrl+C, which lets them finish,
    may take minutes). ``train`` installs its own handler on top (it saves first)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def on_terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def os_error_line(exc: OSError, longest: int = 80) -> str:
    """The system's words for ``exc`` on one line, with the file it names (a very long name
    shortened in the middle, as it may be the problem)."""
    words = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    if exc.filename is None:
        return words
    return f"{words}: {short_name(os.fsdecode(exc.filename), longest)}"


EMPTY_MEANS = {"device"}  # options whose empty value has a meaning (the device: auto)


def _refuse_empty(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """An empty value (``--out ""``: most often a shell variable that was never set) is an
    error, not the current folder: fetch-data, batch and train wrote there."""
    command = parser.commands.get(getattr(args, "command", None) or "")
    if command is None:
        return
    for action in command._actions:
        value = getattr(args, action.dest, None)
        empties = value if isinstance(value, list) else [value]
        if action.dest not in EMPTY_MEANS and any(isinstance(v, str) and not v.strip() for v in empties):
            name = max(action.option_strings, key=len) if action.option_strings else (action.metavar or action.dest)
            command.error(f"{name} is empty (an unset shell variable?)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the command's own parser, which knows its help
        command = parser.commands.get(getattr(args, "command", None) or "", parser)
        hint = ""
        if args.command == "inpaint" and any(Path(e).suffix.lower() in IMAGE_SUFFIXES for e in extra):
            hint = "; inpaint fills one photo, batch a folder of them"
        command.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    _refuse_empty(parser, args)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with _terminate_as_interrupt():
            return int(args.func(args) or 0)
    except TemperaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # what no command foresaw (a name too long, a full disk under a report)
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
