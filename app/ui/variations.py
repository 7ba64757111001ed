"""Fill variations: every fill offers up to three candidates; keys 1, 2 and 3 pick one.

The first candidate is the fill itself, applied at once. When the engine searches (its
results differ with the seed: PatchMatch, the texture engine, auto choosing either), the
other two are computed in the background with seeds 1 and 2, one after the other, as
ordinary fill requests on the same snapshot: a new fill, Esc or another photo supersedes
them like any request. Picking candidate 2 or 3 is one undo step that swaps the fill's
pixels, and a later pick replaces it instead of adding another: however often the user
compares, Ctrl+Z goes back to the first candidate and then undoes the fill, and picking 1
leaves just the fill. Picks are offered only while every step after the fill on the undo
stack is such a pick, so a pick never reverts later edits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.core.feather import feather_composite
from app.core.fill_result import FillResult
from app.core.maskops import bounds
from app.core.names import engine_label
from app.core.undo import diff_arrays
from app.ui.commands import DiffCommand
from app.ui.worker import Request

COUNT = 3
PICK = "Use variation"  # the undo text of a pick, "Use variation 2"


def composite(request: Request, result: FillResult) -> np.ndarray:
    """What a fill puts in the photo: the engine's result, its feathered ring faded into the
    snapshot (the request carries the user's hole and the feather width)."""
    snap = request.snapshot
    hole, px = request.extra.get("hole", snap.mask), request.extra.get("feather", 0)
    # onto the snapshot even without a feather: the engine may have seen other pixels outside
    # the hole (imageio.fill_input), which must not reach the photo
    return feather_composite(snap.image, result.image, hole, px, snap.protect)


class VariationController(QObject):
    """Keeps the candidates of the last fill and applies the one the user picks."""

    changed = Signal(str)  # a status line for the user

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.request: Request | None = None  # the fill the candidates belong to
        self.images: list[np.ndarray | None] = []
        self._fill_index = -1  # the undo stack's index right after the fill
        self._computing: int | None = None  # the candidate being computed in the background
        self.engine: str | None = None  # the engine that made the fill, as the editor chose it
        self.unsaid: str | None = None  # why no variations came, for when the status line is free

    def forget(self) -> None:
        """Another photo is open: the last fill's candidates belong to the one before (a
        pick would put that photo's pixels in this one), and their memory is freed."""
        self.request, self.images = None, []
        self._fill_index, self._computing = -1, None
        self.engine, self.unsaid = None, None

    # -- the fill and its candidates -----------------------------------------------------
    def started(self, request: Request, image: np.ndarray, searches: bool, lead: str = "",
                engine: str | None = None) -> None:
        """The fill ``request`` was applied as ``image``; ask for the other candidates.

        ``lead`` (what the fill did) starts the status line, so that saying which candidate
        is being computed does not hide which engine filled. ``engine``: the engine (as the
        editor chose it) that filled; candidates come from it only, so none is asked for
        once another engine is chosen.
        """
        self.engine, self.unsaid = engine, None
        self.request, self.images = request, [image] + [None] * (COUNT - 1)
        self._fill_index = self.window.undo_stack.index()
        self._computing = None
        if searches:
            self._ask(1, lead)
        elif lead:
            self.changed.emit(f"{lead}; Ctrl+Z undoes it")

    def _ask(self, index: int, lead: str) -> None:
        base = self.request
        assert base is not None
        inference = self.window.inference
        chosen = inference.engine.name if inference.engine is not None else None
        if inference.loading or (self.engine is not None and chosen != self.engine):
            # another engine was chosen: its fill would be no variation of this one. Said
            # now, and again once that engine is ready (its loading news covers this line).
            self.unsaid = f"{lead}; no variations: another engine was chosen"
            self.changed.emit(self.unsaid)
            return
        snap = dataclasses.replace(base.snapshot, request_id=inference.new_id())
        extra = dict(base.extra, variation=index, seed=index, base=id(base))
        inference.submit(Request("fill", snap, extra=extra))
        self._computing = index
        self.changed.emit(f"{lead}; computing variation {index + 1} of {COUNT}…")

    def arrived(self, request: Request, result: FillResult) -> None:
        """A background candidate came back."""
        if self.request is None or request.extra.get("base") != id(self.request):
            return  # belongs to an older fill
        index = int(request.extra["variation"])
        self._computing = None
        image = composite(request, result)
        if any(other is not None and np.array_equal(other, image) for other in self.images):
            self.changed.emit(f"{engine_label(result.engine)} gives one result for this hole: no variations")
            return
        self.images[index] = image
        if not self._picks_on_top():  # the fill was undone meanwhile: kept for a redo, said to no one
            return  # and no more asked for: the search would run for a fill that is not shown
        ready = ", ".join(str(i + 1) for i, im in enumerate(self.images) if im is not None)
        if index + 1 < COUNT:
            self._ask(index + 1, f"Variation {index + 1} of {COUNT} ready (press {ready})")
        else:
            self.changed.emit(f"Variation {index + 1} of {COUNT} ready: press {ready} to compare")

    def _picks_on_top(self) -> bool:
        """Whether everything after the fill on the undo stack is a pick of its variations
        (and the fill was of the photo open now)."""
        stack = self.window.undo_stack
        if self._fill_index < 0 or stack.index() < self._fill_index:
            return False
        if self.request is None or self.request.extra.get("doc") != id(self.window.doc):
            return False
        return all(stack.command(i).text().startswith(PICK) for i in range(self._fill_index, stack.index()))

    @property
    def current(self) -> int:
        """The candidate the photo shows now (0-based)."""
        stack = self.window.undo_stack
        if not self._picks_on_top() or stack.index() == self._fill_index:
            return 0
        return int(stack.command(stack.index() - 1).text().split()[-1]) - 1

    def stopped(self) -> None:
        """The background candidates were cancelled (Esc) or failed: none is coming."""
        self._computing = None

    def pending(self, index: int) -> bool:
        """Whether candidate ``index`` is still to come (being computed, or queued after it)."""
        return (self._computing is not None and self._computing <= index < len(self.images)
                and self.images[index] is None and self.window.inference.busy and self._picks_on_top())

    def available(self, index: int) -> bool:
        return (0 <= index < len(self.images) and self.images[index] is not None
                and self.window.doc is not None and self._picks_on_top())

    # -- picking -------------------------------------------------------------------------
    def pick(self, index: int) -> bool:
        """Show candidate ``index`` (0-based) in the photo: the fill for 0, else one undo step
        on top of it (in place of an earlier pick's)."""
        if not self.available(index):
            if self.pending(index):
                self.changed.emit(f"Variation {index + 1} of {COUNT} is still being computed; "
                                  "the status line says when it is ready")
            else:
                self.changed.emit(f"No variation {index + 1} for the last fill" if self.request is not None
                                  else "Fill first: a fill offers up to three variations (1, 2, 3)")
            return False
        if index == self.current:
            self.changed.emit(f"Variation {index + 1} of {COUNT} is shown")
            return True
        doc, stack = self.window.doc, self.window.undo_stack
        while stack.index() > self._fill_index:  # an earlier pick is on top: this one replaces it
            stack.undo()
        if index == 0:  # the fill itself: no step of its own
            self.changed.emit(f"Variation 1 of {COUNT}; Ctrl+Z undoes the fill")
            return True
        # the candidates differ only within the hole the engine filled (ring included)
        diff = diff_arrays("image", doc.image, self.images[index], bounds(self.request.snapshot.mask))
        if diff is not None:
            stack.push(DiffCommand(doc, [diff], f"{PICK} {index + 1}", applied=False))
        self.changed.emit(f"Variation {index + 1} of {COUNT}; Ctrl+Z goes back to variation 1")
        return True
