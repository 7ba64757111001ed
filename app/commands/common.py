"""Argument helpers shared by the sub-commands."""

from __future__ import annotations

import argparse

from app.core.names import ENGINE_NAMES


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", default="auto", choices=ENGINE_NAMES, help="fill engine (default: auto)")
    parser.add_argument(
        "--device",
        default="auto",
        help="auto|cpu|cuda|mps (default: auto = $TEMPERA_DEVICE, else CUDA, MPS, CPU)",
    )
