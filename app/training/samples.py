"""A PNG grid of training samples: one row per fixed sample, columns
masked input | prior | coarse | refined | target.

Watching the same few photos and holes over a run shows what the losses cannot: whether
fills gain structure or just blur.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

COLUMNS = ("masked input", "prior", "coarse", "refined", "target")
_HOLE_GREY = np.array([128, 128, 128], dtype=np.uint8)
_SKETCH_RGB = np.array([255, 32, 32], dtype=np.uint8)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B,3,H,W) in [-1, 1] -> (B,H,W,3) uint8."""
    x = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round()
    return x.permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()


def sample_grid(image: torch.Tensor, mask: torch.Tensor, sketch: torch.Tensor, prior: torch.Tensor,
                coarse: torch.Tensor, refined: torch.Tensor, *, gap: int = 2) -> np.ndarray:
    """The grid as (rows*H, 5*W, 3) uint8; outputs are composited, as the app shows them."""
    m = mask.detach().float().cpu()
    hole = m[:, 0].numpy() > 0.5
    strokes = sketch.detach().float().cpu()[:, 0].numpy() > 0.5
    target = to_uint8(image)
    masked = target.copy()
    masked[hole] = _HOLE_GREY
    masked[strokes & hole] = _SKETCH_RGB   # the strokes the guided net was asked to follow
    comp = lambda pred: to_uint8(m.to(pred.device) * pred + (1 - m.to(pred.device)) * image)  # noqa: E731
    columns = [masked, to_uint8(prior), comp(coarse), comp(refined), target]
    b, h, w, _ = target.shape
    grid = np.full((b * h + (b - 1) * gap, len(columns) * w + (len(columns) - 1) * gap, 3), 255, np.uint8)
    for r in range(b):
        for c, col in enumerate(columns):
            y, x = r * (h + gap), c * (w + gap)
            grid[y:y + h, x:x + w] = col[r]
    return grid


def save_grid(path: Path, grid: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)
    return path
