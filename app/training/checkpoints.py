"""The resumable training state (RUN_DIR/checkpoints/last.pt).

Everything is stored as tensors, numbers, strings, lists and dicts, so that
`torch.load(path, weights_only=True)` reads it back: a checkpoint never runs code.
The engine checkpoint that the app loads is exported separately (app.inference.checkpoint).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.core.atomic import atomic_write

FORMAT = "tempera-train-1"


def capture_rng() -> dict[str, Any]:
    """torch (CPU + every CUDA device), numpy's global and Python's generators."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, py_state, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "state": list(py_state), "gauss": gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np_state["keys"].cpu().numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def save_train_state(path: Path, state: dict[str, Any]) -> Path:
    """Atomic: a crash mid-write leaves the previous last.pt intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda fh: torch.save({"format": FORMAT, **state}, fh))


def load_train_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    state = torch.load(Path(path), map_location=device, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a Tempera training checkpoint")
    return state
