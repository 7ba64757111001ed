"""Paint diffs: exact round trips, one diff per drag, memory that scales with the stroke."""

from __future__ import annotations

import numpy as np

from app.core import brush
from app.core.maskops import bounds
from app.core.undo import StrokeRecorder, diff_arrays, diff_region


def test_diff_region_round_trip_rgb() -> None:
    rng = np.random.default_rng(0)
    before = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    after = before.copy()
    after[10:20, 5:9] = 7
    diff = diff_arrays("image", before, after)
    assert diff is not None and diff.box == (5, 10, 9, 20)
    work = after.copy()
    diff.apply(work, undo=True)
    assert np.array_equal(work, before)
    diff.apply(work, undo=False)
    assert np.array_equal(work, after)


def test_no_change_gives_no_diff() -> None:
    a = np.zeros((5, 5), bool)
    assert diff_region("mask", a, a.copy(), (0, 0, 5, 5)) is None


def test_one_drag_is_one_diff_and_undo_is_exact() -> None:
    mask = np.zeros((600, 700), bool)
    mask[:50, :50] = True  # pre-existing content must survive undo
    original = mask.copy()
    rec = StrokeRecorder("mask", mask)
    points = [(10.0, 10.0), (300.0, 200.0), (650.0, 580.0)]
    for a, b in zip(points[:-1], points[1:], strict=True):
        patch = brush.stroke([a, b], 30, (700, 600))
        assert patch is not None
        rec.touch(patch.box)
        brush.apply_patch(mask, patch, True)
    diff = rec.finish()
    assert diff is not None
    painted = mask.copy()
    diff.apply(mask, undo=True)
    assert np.array_equal(mask, original)
    diff.apply(mask, undo=False)
    assert np.array_equal(mask, painted)


def test_diff_memory_is_bounded_by_the_change() -> None:
    image = np.zeros((4000, 6000, 3), np.uint8)
    rec = StrokeRecorder("image", image)
    rec.touch((100, 100, 110, 110))
    image[100:110, 100:110] = 255
    diff = rec.finish()
    assert diff is not None
    assert diff.box == (100, 100, 110, 110)
    assert diff.nbytes < 1000  # 100 pixels, not 72 MB



def test_a_diff_within_the_fill_s_box_is_the_whole_diff() -> None:
    rng = np.random.default_rng(0)
    before = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    after = before.copy()
    hole = np.zeros((60, 80), bool)
    hole[10:30, 20:50] = True
    after[hole] = 7
    assert bounds(hole) == (20, 10, 50, 30) and bounds(np.zeros((4, 4), bool)) is None
    whole, boxed = diff_arrays("image", before, after), diff_arrays("image", before, after, bounds(hole))
    assert boxed is not None and whole is not None and boxed.box == whole.box
    assert np.array_equal(boxed.changed, whole.changed) and np.array_equal(boxed.new, whole.new)
    assert np.array_equal(boxed.old, whole.old)
