"""Argument helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from app.core.errors import TemperaError
from app.core.names import DEVICE_HELP, ENGINE_NAMES, parse_device


def device_arg(text: str) -> str:
    """argparse ``type`` for ``--device``: every command accepts the same spellings."""
    try:
        return parse_device(text)
    except TemperaError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def int_in(lo: int, hi: int, unit: str = ""):
    """argparse ``type``: an integer from ``lo`` to ``hi``; anything else is argparse's
    one-line usage error, which names the option and its command's --help."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be {lo}-{hi}{unit}, got {value}")
        return value

    return parse


def add_device_arg(parser: argparse.ArgumentParser, *, default: str | None = "auto", what: str = "") -> None:
    """``--device``, parsed the same way by every command; ``what`` says what runs there."""
    parser.add_argument("--device", default=default, type=device_arg, metavar="DEVICE",
                        help=f"{what + ': ' if what else ''}{DEVICE_HELP}")


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", default="auto", choices=ENGINE_NAMES, help="fill engine (default: auto)")
    add_device_arg(parser)


def check_report_path(path: str | None, flag: str, *, image: bool = False,
                      inside: Iterable[str | None] = (), inputs: Iterable[str] = ()) -> None:
    """Refuse a report output (``--json``, ``--grid``) before any work is done: a folder,
    an image format that cannot be written, a file inside an input folder (``inside``: it
    would overwrite a photo or mask, or be read as one next time) or one of ``inputs``.
    Its folder is created when missing, as a report usually goes to a new runs/ folder."""
    if not path:
        return
    from app.core.atomic import ensure_folder
    from app.core.imageio import refuse_overwrite, require_save_format

    out = Path(path)
    if out.is_dir():
        raise TemperaError(f"{flag} {out} is a folder; give a file name")
    if image:
        require_save_format(out)
    for folder in inside:
        if folder and Path(folder).is_dir() and out.resolve().is_relative_to(Path(folder).resolve()):
            raise TemperaError(f"refusing to write {flag} into the input folder {folder}; "
                               f"choose another folder")
    refuse_overwrite(out, inputs)
    ensure_folder(out.parent, flag)
