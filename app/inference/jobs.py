"""How many fills to run at once on this machine: one per core this process may use, for
engines whose fill keeps about one core busy (``Engine.one_core``: a patch search, OpenCV's
diffusion, the texture stage, ``auto``); a network on the CPU already spreads over every
core. The batch runner and ``evaluate`` fill several photos at once by this rule, and a
photo's separate holes are searched at once by it (``patchmatch.search_threads``)."""

from __future__ import annotations

import os

MAX_JOBS = 16


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_jobs(engine: object) -> int:
    """Photos to fill at once with ``engine``: one per core when its fill keeps one core
    busy (``one_core``), else 1."""
    if not getattr(engine, "one_core", False):
        return 1
    return max(1, min(usable_cores(), MAX_JOBS))
