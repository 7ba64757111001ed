"""What a fill needs before an engine runs: one sequence for the editor, ``inpaint`` and
``batch``, so that none of them can drift from the others.

The photo's fully transparent pixels outside the hole join what no fill may copy from
(``keep_from``), the hole grows by the feather ring, which stops at protected pixels
(``feather_hole``), a hole with nothing left to copy from is refused in one line, and the
engine is shown the photo with its hidden colours replaced (``fill_input``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.errors import TemperaError
from app.core.feather import feather_hole
from app.core.imageio import fill_input, keep_from
from app.core.maskops import nothing_to_fill_from


@dataclass(frozen=True)
class FillPlan:
    protect: np.ndarray | None  # never copied from: the protect mask and the hidden pixels
    hole: np.ndarray  # what the engine fills: the hole and its feather ring
    seen: np.ndarray  # the pixels the engine is shown (the photo itself when nothing is hidden)


def plan_fill(rgb: np.ndarray, alpha: np.ndarray | None, mask: np.ndarray,
              protect: np.ndarray | None = None, feather: int = 0) -> FillPlan:
    """The plan for filling ``mask`` (bool, the user's hole) in ``rgb`` with transparency
    ``alpha`` (or None), ``protect`` (bool or None) and a feather ring of ``feather`` px;
    TemperaError when nothing is left to copy from."""
    mask = np.asarray(mask, bool)
    protect = keep_from(protect, alpha, mask)  # transparent pixels hide no source either
    hole = feather_hole(mask, feather, protect)  # the engine fills the feather ring too
    problem = nothing_to_fill_from(hole, protect)
    if problem:
        raise TemperaError(problem)
    return FillPlan(protect=protect, hole=hole, seen=fill_input(rgb, alpha, mask))
