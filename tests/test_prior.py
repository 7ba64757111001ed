"""The classical prior: Telea's fill, with sketch strokes as region boundaries."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

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


# ----------------------------------------------------------------------------- harmonic
def test_harmonic_fill_reproduces_a_linear_ramp():
    """Laplace's equation is solved exactly by a linear ramp: the fill is the ramp (to a
    grey level), where Telea's march leaves streaks."""
    ramp = np.tile(np.linspace(20, 220, 64), (64, 1))
    rgb = np.stack([ramp, 255 - ramp, np.full_like(ramp, 90)], -1).round().astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[10:54, 14:50] = True
    fill = classical_prior(rgb, mask, method="harmonic").astype(int)
    assert np.abs(fill - rgb)[mask].max() <= 1
    assert np.array_equal(fill[~mask], rgb[~mask])


def test_harmonic_strokes_across_the_hole_split_it_like_walls():
    rgb, mask, sketch = _diagonal_scene()
    walled = classical_prior(rgb, mask, sketch, method="harmonic").astype(int)
    red, blue = np.array([200, 40, 30]), np.array([30, 50, 210])
    assert np.abs(walled[40, 20] - red).sum() < 10 and np.abs(walled[20, 40] - blue).sum() < 10
    assert np.array_equal(walled[~mask], rgb[~mask])


def test_a_harmonic_stroke_that_stops_inside_the_hole_still_steers_beside_it():
    """The walled Telea prior ignores a stroke that separates nothing; the harmonic one
    keeps the two sides of it apart, and blends them only past its loose end."""
    rgb, mask, _ = _diagonal_scene()
    partial = np.zeros(mask.shape, np.uint8)
    cv2.line(partial, (0, 0), (40, 40), 255, 1)  # enters at the corner, stops at (40, 40)
    plain = classical_prior(rgb, mask, method="harmonic").astype(int)
    steered = classical_prior(rgb, mask, partial, method="harmonic").astype(int)

    def split(img: np.ndarray) -> int:  # colour difference across the diagonal beside the stroke
        return int(np.abs(img[30, 26] - img[26, 30]).sum())

    assert split(steered) > split(plain) + 100
    assert split(steered) > 300  # nearly red against blue (|diff| 370)


def test_a_harmonic_pocket_enclosed_by_strokes_is_solved_finite():
    rgb, mask, _ = _diagonal_scene()
    ring = np.zeros(mask.shape, np.uint8)
    cv2.circle(ring, (32, 32), 10, 255, 1)
    fill = classical_prior(rgb, mask, ring, method="harmonic")
    assert fill.dtype == np.uint8 and fill.shape == rgb.shape
    telea = classical_prior(rgb, mask)
    # no known pixel to reach: the pocket settles on (the mean of) Telea's fill there
    assert abs(int(fill[32, 32].astype(int).sum()) - int(telea[28:37, 28:37].reshape(-1, 3).mean(0).sum())) < 60


def test_unknown_prior_method_is_refused():
    rgb, mask, _ = _diagonal_scene()
    with pytest.raises(ValueError, match="prior method"):
        classical_prior(rgb, mask, method="poisson")


def test_inference_feeds_each_network_the_prior_it_was_trained_on():
    import torch

    from app.inference.predict import _prepare
    from app.model import InpaintGenerator, ModelConfig

    rgb, mask, sketch = _diagonal_scene()
    for method in ("telea", "harmonic"):
        g = InpaintGenerator(ModelConfig(guided=True, prior=method))
        p = _prepare(g, rgb, mask, sketch, torch.device("cpu"))
        fed = ((p.prior[0].permute(1, 2, 0).numpy() + 1.0) * 127.5).round().astype(int)[:64, :64]
        assert np.abs(fed - classical_prior(rgb, mask, sketch, method=method)).max() <= 1


def test_a_harmonic_hole_too_large_to_solve_directly_is_solved_at_half_size(monkeypatch):
    import app.inference.prior as prior

    rgb, mask, sketch = _diagonal_scene()
    exact = classical_prior(rgb, mask, sketch, method="harmonic").astype(int)
    monkeypatch.setattr(prior, "MAX_DIRECT", 400)  # the 40 x 40 hole has ~1,500 unknowns
    halved = classical_prior(rgb, mask, sketch, method="harmonic").astype(int)
    assert np.array_equal(halved[~mask], rgb[~mask])
    assert np.abs(halved - exact)[mask].mean() < 8  # red and blue still kept apart
    assert np.abs(halved[40, 20] - np.array([200, 40, 30])).sum() < 30


@pytest.mark.parametrize("box", [(slice(20, 50), slice(0, 25)), (slice(0, 12), slice(30, 60)),
                                 (slice(20, 50), slice(1, 25)), (slice(40, 64), slice(50, 80)),
                                 (slice(30, 50), slice(30, 60))])
def test_a_fill_never_reads_what_the_hole_hides(box):
    """OpenCV's inpaint reads the pixels under its mask near the image's edge; the removed
    object (or, in an evaluation, the truth) must not shape the fill."""
    from app.inference.engines import load_engine
    from app.inference.prior import opencv_inpaint

    rng = np.random.default_rng(4)
    rgb = cv2.GaussianBlur(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8), (0, 0), 2)
    hole = np.zeros((64, 80), bool)
    hole[box] = True
    other = rgb.copy()
    other[hole] = (255, 0, 255)
    for flag in (cv2.INPAINT_TELEA, cv2.INPAINT_NS):
        assert np.array_equal(opencv_inpaint(rgb, hole, 3, flag), opencv_inpaint(other, hole, 3, flag))
    assert np.array_equal(classical_prior(rgb, hole, method="harmonic"), classical_prior(other, hole, method="harmonic"))
    for name in ("telea", "ns"):
        engine = load_engine(name, "cpu")
        assert np.array_equal(engine.fill(rgb, hole).image, engine.fill(other, hole).image)
    if box == (slice(30, 50), slice(30, 60)):  # 2 px and more from the edge: OpenCV's own call, as before
        plain = cv2.inpaint(rgb, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
        assert np.array_equal(opencv_inpaint(rgb, hole), plain)
