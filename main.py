"""Tempera: ``python main.py [IMAGE]`` opens the editor; ``python main.py COMMAND ...`` runs the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.cli import COMMAND_NAMES
    from app.cli import main as cli_main

    if argv and (argv[0] in COMMAND_NAMES or argv[0].startswith("-")):
        return cli_main(argv)
    if len(argv) > 1:
        return cli_main(argv)  # let argparse explain what is wrong
    from app.ui.app import run_gui  # PySide6 is imported only when the editor starts

    return run_gui(argv[0] if argv else None)


if __name__ == "__main__":
    sys.exit(main())
