"""What every engine's ``fill`` returns: the one result contract for the CLI, batch,
evaluation, benchmark and the editor.

No caller reads state off an engine after a fill: which engine really filled (``auto``
chooses per hole), on which device, and anything the user should be told travel here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FillResult:
    image: np.ndarray  # (H, W, 3) uint8, composited: pixels outside the hole are the input's
    engine: str  # the engine that actually filled, e.g. "mtsa-texture" when "auto" was asked
    device: str = "CPU"  # where it ran, e.g. "CPU" or "CUDA (NVIDIA H100)"
    notice: str | None = None  # one line for the user (a fallback, a skipped sketch), or None
    seed: int = 0  # the seed that produced it (variations differ only here)

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError("a fill result's image must be an (H, W, 3) uint8 array")
