"""Argument helpers shared by the sub-commands."""

from __future__ import annotations

import argparse

from app.core.errors import TemperaError
from app.core.names import DEVICE_HELP, ENGINE_NAMES, parse_device


def device_arg(text: str) -> str:
    """argparse ``type`` for ``--device``: every command accepts the same spellings."""
    try:
        return parse_device(text)
    except TemperaError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_device_arg(parser: argparse.ArgumentParser, *, default: str | None = "auto", what: str = "") -> None:
    """``--device``, parsed the same way by every command; ``what`` says what runs there."""
    parser.add_argument("--device", default=default, type=device_arg, metavar="DEVICE",
                        help=f"{what + ': ' if what else ''}{DEVICE_HELP}")


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", default="auto", choices=ENGINE_NAMES, help="fill engine (default: auto)")
    add_device_arg(parser)
