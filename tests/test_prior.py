"""The classical prior: Telea's fill, with sketch strokes as region boundaries."""

from __future__ import annotations

import cv2
import numpy as np

from app.inference.prior import classical_prior


def _diagonal_scene(size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Red below the diagonal, blue above it; a square hole across it; a stroke along it."""
    yy, xx = np.mgrid[0:size, 0:size]
    rgb = np.where((yy > xx)[..., None], np.uint8([200, 40, 30]), np.uint8([30, 50, 210])).astype(np.uint8)
    mask = np.zeros((size, size), bool)
    mask[12:52, 12:52] = True
    sketch = np.zeros((size, size), np.uint8)
    cv2.line(sketch, (0, 0), (size - 1, size - 1), 255, 1)
    return rgb, mask, sketch


def test_without_strokes_it_is_telea():
    rgb, mask, _ = _diagonal_scene()
    plain = cv2.inpaint(rgb, mask.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    assert np.array_equal(classical_prior(rgb, mask), plain)
    assert np.array_equal(classical_prior(rgb, mask, np.zeros(mask.shape, np.uint8)), plain)


def test_strokes_along_a_thin_stripe_keep_it_across_the_hole():
    """A red pole through a large hole, its two edges sketched: Telea fades it to purple in
    the middle, the walled prior keeps it red (and the blue around it blue)."""
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:] = (30, 50, 210)
    rgb[28:37] = (200, 40, 30)
    mask = np.zeros((64, 64), bool)
    mask[8:56, 8:56] = True
    sketch = np.zeros((64, 64), np.uint8)
    sketch[27, :] = 255
    sketch[37, :] = 255
    plain = classical_prior(rgb, mask).astype(int)
    walled = classical_prior(rgb, mask, sketch).astype(int)
    red, blue = np.array([200, 40, 30]), np.array([30, 50, 210])
    assert np.abs(walled[32, 32] - red).sum() < 0.5 * np.abs(plain[32, 32] - red).sum()
    assert np.abs(walled[16, 32] - blue).sum() < 10
    assert np.array_equal(walled[~mask], rgb[~mask])  # the known pixels are untouched


def test_a_stroke_that_separates_nothing_or_lies_outside_the_hole_changes_nothing():
    rgb, mask, _ = _diagonal_scene()
    plain = classical_prior(rgb, mask)
    partial = np.zeros(mask.shape, np.uint8)
    cv2.line(partial, (12, 12), (40, 40), 255, 1)  # stops short of the hole's far edge
    assert np.array_equal(classical_prior(rgb, mask, partial), plain)
    outside = np.zeros(mask.shape, np.uint8)
    outside[2:6, :] = 255
    assert np.array_equal(classical_prior(rgb, mask, outside), plain)


def test_a_region_enclosed_by_strokes_keeps_the_plain_fill():
    rgb, mask, _ = _diagonal_scene()
    ring = np.zeros(mask.shape, np.uint8)
    cv2.circle(ring, (32, 32), 10, 255, 1)  # a closed loop inside the hole: its inside has no known edge
    walled = classical_prior(rgb, mask, ring)
    plain = classical_prior(rgb, mask)
    inside = np.zeros(mask.shape, np.uint8)
    cv2.circle(inside, (32, 32), 7, 1, -1)
    assert np.abs(walled.astype(int) - plain.astype(int))[inside.astype(bool)].max() == 0
