"""Choosing the compute device in one place: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import logging
import os

import torch

from app.core.errors import TemperaError
from app.core.names import parse_device

ENV_VAR = "TEMPERA_DEVICE"
log = logging.getLogger(__name__)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> tuple[str, ...]:
    """The choices that can run here, for a device list: auto and cpu always, then the GPUs
    this torch build sees (each CUDA GPU by index where there are several)."""
    found = ["auto", "cpu"]
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        found += ["cuda"] + ([f"cuda:{i}" for i in range(count)] if count > 1 else [])
    if _mps_available():
        found.append("mps")
    return tuple(found)


def resolve_device(name: str | None = "auto") -> torch.device:
    """Turn a user's choice (or ``$TEMPERA_DEVICE`` when the choice is auto) into a device.

    An explicit device that is not present is an error rather than a silent fallback: the
    user asked for it by name.
    """
    choice, source = parse_device(name), ""
    if choice == "auto":
        try:
            choice = parse_device(os.environ.get(ENV_VAR))
        except TemperaError as exc:
            raise TemperaError(f"${ENV_VAR}: {exc}") from None
        source = f" (from ${ENV_VAR})" if choice != "auto" else ""
    kind = choice.split(":", 1)[0]
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise TemperaError(f"device {choice!r}{source} was asked for but this torch build sees no CUDA GPU")
    if kind == "mps" and not _mps_available():
        raise TemperaError(f"device {choice!r}{source} was asked for but Apple MPS is not available")
    return torch.device(choice)


def describe(device: torch.device) -> str:
    """A short label for the status bar and reports, e.g. ``CUDA (NVIDIA H100)``."""
    if device.type == "cuda":
        try:
            return f"CUDA ({torch.cuda.get_device_name(device)})"
        except Exception:  # noqa: BLE001 - a broken driver should not break a label
            return "CUDA"
    return device.type.upper()


def is_out_of_memory(error: BaseException) -> bool:
    """True for the GPU out-of-memory errors that are worth retrying on the CPU."""
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(error, oom):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def cpu_fallback_notice(device: torch.device) -> str:
    """What a fill says when it continued on the CPU after ``device`` ran out of memory."""
    return f"{describe(device)} ran out of memory; continuing on the CPU"


def on_cpu_after_oom(run, device: torch.device, move_to_cpu) -> tuple[object, str | None]:
    """The one device-fallback rule: ``run(device)``; if a GPU runs out of memory, call
    ``move_to_cpu()`` (which returns the CPU device) and run again there, for good.

    Returns ``(result, notice)``; the notice says that the fill moved to the CPU, or is
    None. Any other error, and any error on the CPU, propagates unchanged.
    """
    try:
        return run(device), None
    except Exception as exc:
        if device.type == "cpu" or not is_out_of_memory(exc):
            raise
        notice = cpu_fallback_notice(device)
        log.warning("%s (%s)", notice, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        cpu = move_to_cpu()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return run(cpu), notice
