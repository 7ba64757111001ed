"""Grow / shrink / invert mask and the feathered composite."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.feather import (
    DEFAULT_FEATHER_PX,
    feather_alpha,
    feather_composite,
    feather_hole,
)
from app.core.maskops import distance_to, grow_mask, invert_mask, shrink_mask


def square(h=60, w=80, box=(20, 15, 50, 40)) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[box[1]:box[3], box[0]:box[2]] = True
    return m


def brute_distance(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    yy, xx = np.mgrid[0:mask.shape[0], 0:mask.shape[1]]
    d = np.sqrt((yy[..., None] - ys) ** 2 + (xx[..., None] - xs) ** 2)
    return d.min(axis=2)


def test_grow_adds_exactly_the_pixels_within_the_distance() -> None:
    m = np.zeros((40, 50), bool)
    m[20, 25] = True
    m[10:13, 5:9] = True
    g = grow_mask(m, 4)
    assert np.array_equal(g, brute_distance(m) <= 4 + 1e-6)
    assert np.array_equal(grow_mask(m, 0), m) and grow_mask(m, 0) is not m
    assert not grow_mask(np.zeros((5, 5), bool), 3).any()


def test_shrink_undoes_grow_on_a_square_and_keeps_frame_contact() -> None:
    m = square()
    s = shrink_mask(m, 4)
    assert s.sum() == (30 - 8) * (25 - 8)
    assert np.array_equal(shrink_mask(grow_mask(m, 4), 4), m)
    edge = np.zeros((30, 30), bool)
    edge[:, :10] = True  # touches the left frame
    assert shrink_mask(edge, 3)[:, 0].all() and not shrink_mask(edge, 3)[:, 7:].any()
    assert not shrink_mask(m, 40).any()


def test_invert() -> None:
    m = square()
    assert np.array_equal(invert_mask(m), ~m)


def test_distance_to_empty_is_infinite() -> None:
    assert np.isinf(distance_to(np.zeros((3, 3), bool))).all()


def test_feather_alpha_is_one_inside_and_fades_outside() -> None:
    m = square()
    a = feather_alpha(m, 3)
    assert (a[m] == 1).all()
    d = brute_distance(m)
    ring = (~m) & (d <= 3)
    assert np.allclose(a[ring], 1 - d[ring] / 4, atol=1e-5)
    assert (a[d > 3] == 0).all()
    assert np.array_equal(feather_alpha(m, 0), m.astype(np.float32))


def test_feather_composite_never_touches_pixels_farther_than_px() -> None:
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    filled = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    m = square()
    for px in (0, 1, 3, 7):
        out = feather_composite(original, filled, m, px)
        d = brute_distance(m)
        assert np.array_equal(out[m], filled[m])
        assert np.array_equal(out[d > px + 1e-6], original[d > px + 1e-6])
        ring = (~m) & (d <= px)
        if px:
            w = (1 - d[ring] / (px + 1))[:, None]
            expect = np.rint(original[ring] + (filled[ring].astype(float) - original[ring]) * w)
            assert np.abs(out[ring].astype(int) - expect).max() <= 1
    assert np.array_equal(feather_composite(original, filled, np.zeros((60, 80), bool), 3), original)
    with pytest.raises(ValueError):
        feather_composite(original, filled[:10], m, 3)


def test_feather_hole_covers_the_ring() -> None:
    m = square()
    hole = feather_hole(m, DEFAULT_FEATHER_PX)
    assert hole[feather_alpha(m, DEFAULT_FEATHER_PX) > 0].all()
    assert DEFAULT_FEATHER_PX > 0


def test_feather_leaves_protected_pixels_outside_the_hole_alone() -> None:
    rng = np.random.default_rng(1)
    original = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    filled = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    m = square()
    protect = np.zeros_like(m)
    protect[:, :35] = True  # covers part of the hole and the ring on its left
    kept = protect & ~m
    assert (feather_alpha(m, 4, protect)[kept] == 0).all()
    assert np.array_equal(feather_alpha(m, 4, protect)[m], np.ones(m.sum(), np.float32))
    hole = feather_hole(m, 4, protect)
    assert hole[m].all() and not hole[kept].any()
    assert np.array_equal(hole | kept, feather_hole(m, 4) | kept)
    out = feather_composite(original, filled, m, 4, protect)
    assert np.array_equal(out[kept], original[kept]) and np.array_equal(out[m], filled[m])
    ring = (feather_alpha(m, 4) > 0) & ~m & ~protect
    assert np.array_equal(out[ring], feather_composite(original, filled, m, 4)[ring])
    with pytest.raises(ValueError):
        feather_hole(m, 4, protect[:10])


def test_masks_go_to_bool_and_to_opencv_without_a_copy_when_they_can():
    from app.core.maskops import as_bool, as_uint8

    mask = np.zeros((6, 8), bool)
    mask[2:4, 3:6] = True
    assert as_bool(mask) is mask  # already bool: the same array
    grey = mask.astype(np.uint8) * 255
    assert as_bool(grey).dtype == bool and np.array_equal(as_bool(grey), mask)
    view = as_uint8(mask)
    assert view.dtype == np.uint8 and np.shares_memory(view, mask) and np.array_equal(view, mask.astype(np.uint8))
    strided = mask[:, ::2]  # not contiguous: a copy, the same values
    assert not np.shares_memory(as_uint8(strided), mask) and np.array_equal(as_uint8(strided), strided)
    assert np.array_equal(as_uint8(grey), mask.astype(np.uint8))  # 0/255 becomes 0/1
