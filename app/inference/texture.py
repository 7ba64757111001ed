"""The texture stage: the network decides what goes in the hole, the photo supplies texture.

A network filling at its working size gives the right colours and structure but no grain.
The texture stage copies the photo's own pixels at full resolution with PatchMatch and
keeps the network in charge of the structure, in one of two ways (chosen by measurement,
see docs/RESULTS.md):

- ``guided``: PatchMatch whose patch distance also compares each source patch with the
  network's (slightly blurred) fill, so it copies grain that fits the network's layout;
  the approach of guided PatchMatch for camera-resolution inpainting (Zhang et al. 2022).
- ``split``: a frequency split; the network's fill below ``sigma`` plus the detail
  (image minus its blur) of a free PatchMatch fill above it.

``protect`` (True = never copy from here) reaches PatchMatch as its global mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import patchmatch

METHODS = ("guided", "split")
GUIDE_BLUR = 2.0  # px: the guide's fine detail is the network's noise, not structure
SPLIT_SIGMA = 3.0  # px at full resolution


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma)


def texture_stage(
    rgb: np.ndarray,
    mask: np.ndarray,
    base: np.ndarray,
    *,
    method: str = "guided",
    protect: np.ndarray | None = None,
    seed: int = 0,
    guide_weight: float = 1.0,
    progress=None,
) -> np.ndarray:
    """Put the photo's texture on ``base`` (the network's composited fill of ``rgb``).

    Returns the composited uint8 image; pixels outside ``mask`` are ``rgb``'s exactly.
    """
    if method not in METHODS:
        raise ValueError(f"texture method must be one of {METHODS}, got {method!r}")
    mask = mask.astype(bool)
    if not mask.any():
        return rgb.copy()
    if method == "guided":
        guide = cv2.GaussianBlur(base, (0, 0), GUIDE_BLUR)
        return patchmatch.patchmatch_fill(rgb, mask, protect=protect, seed=seed, guide=guide,
                                          guide_weight=guide_weight, progress=progress)
    copied = patchmatch.patchmatch_fill(rgb, mask, protect=protect, seed=seed, progress=progress)
    return frequency_split(rgb, mask, base, copied)


def frequency_split(rgb: np.ndarray, mask: np.ndarray, base: np.ndarray, copied: np.ndarray,
                    sigma: float = SPLIT_SIGMA) -> np.ndarray:
    """``base`` below ``sigma`` plus ``copied``'s detail above it, inside the hole."""
    out = _blur(base, sigma) + copied.astype(np.float32) - _blur(copied, sigma)
    out = np.clip(out, 0, 255).round().astype(np.uint8)
    return np.where(mask[..., None], out, rgb)
