"""User-facing errors.

A ``TemperaError`` carries one line meant for the user (CLI stderr, a dialog). Anything
else that escapes is a bug and may show a traceback.
"""

from __future__ import annotations


class TemperaError(Exception):
    """An error whose message is a single line a user can act on."""

    def __str__(self) -> str:  # keep it one line whatever was passed in
        return " ".join(super().__str__().split())
