"""Object selection (GrabCut) on synthetic scenes: a disc on a textured background."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.core.select import select_object


def scene(w: int, h: int, cx: int, cy: int, r: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    bg = cv2.resize(blocks, (w, h), interpolation=cv2.INTER_NEAREST)
    bg = (bg * 0.5 + rng.integers(0, 60, (h, w, 3))).astype(np.uint8)  # textured, every colour
    yy, xx = np.mgrid[0:h, 0:w]
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    img = bg.copy()
    img[disc] = np.clip(np.array([40, 200, 60]) + rng.integers(-15, 15, (int(disc.sum()), 3)), 0, 255)
    return img, disc


def as_mask(patch, shape) -> np.ndarray:
    m = np.zeros(shape, bool)
    x0, y0, x1, y1 = patch.box
    m[y0:y1, x0:x1] = patch.area
    return m


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_box_around_a_disc_selects_it() -> None:
    img, disc = scene(320, 240, 150, 120, 55)
    patch = select_object(img, (80, 50, 225, 190), halo=0)
    assert patch is not None
    assert iou(as_mask(patch, disc.shape), disc) > 0.9


def test_click_on_a_disc_selects_it() -> None:
    img, disc = scene(320, 240, 170, 110, 45, seed=1)
    patch = select_object(img, None, point=(180, 100), halo=0)
    assert patch is not None
    assert iou(as_mask(patch, disc.shape), disc) > 0.9


def test_large_photo_is_cut_downscaled_and_refined_at_full_size() -> None:
    img, disc = scene(2400, 1600, 1100, 800, 420, seed=2)
    patch = select_object(img, (640, 340, 1560, 1260), halo=0, work_side=400)
    assert patch is not None
    m = as_mask(patch, disc.shape)
    assert iou(m, disc) > 0.97
    # The edge is refined at full resolution: the outline is off by far less than the
    # 6 px one pixel of the 400 px working copy spans.
    edge = disc ^ cv2.erode(disc.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    dist = cv2.distanceTransform((~(m ^ cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)))
                                 .astype(np.uint8), cv2.DIST_L2, 5)
    assert float(np.median(dist[edge])) <= 2.0


def test_halo_grows_the_selection_a_few_pixels() -> None:
    img, disc = scene(320, 240, 150, 120, 55)
    tight = as_mask(select_object(img, (80, 50, 225, 190), halo=0), disc.shape)
    grown = as_mask(select_object(img, (80, 50, 225, 190), halo=3), disc.shape)
    assert grown[tight].all()
    extra = grown.sum() - tight.sum()
    perimeter = 2 * np.pi * 55
    assert 2 * perimeter < extra < 4 * perimeter  # about 3 px all round


def test_degenerate_boxes_give_nothing() -> None:
    img, _ = scene(100, 80, 50, 40, 20)
    assert select_object(img, (10, 10, 11, 40)) is None
    assert select_object(img, (200, 200, 300, 300)) is None
    with pytest.raises(ValueError):
        select_object(img, None)


def test_a_click_s_object_starts_the_cut_of_its_extent(monkeypatch: pytest.MonkeyPatch) -> None:
    # The extent was cut as a dragged box is ("outside is background", then the click): on a
    # box as large as the photo that left GrabCut nothing to learn the background from, and a
    # goat clicked on a mountain kept its rock and hills. Now the object the search found
    # starts that cut: no box is given to it, and its cells start as probably object.
    from app.core import select

    img, disc = scene(320, 240, 170, 110, 45, seed=1)
    calls: list[tuple[object, np.ndarray]] = []
    real = select._grabcut

    def spy(image, gc, rect, iters):
        calls.append((rect, gc.copy()))
        return real(image, gc, rect, iters)

    monkeypatch.setattr(select, "_grabcut", spy)
    patch = select_object(img, None, point=(180, 100), halo=0)
    assert patch is not None and iou(as_mask(patch, disc.shape), disc) > 0.9
    (search_rect, _), (cut_rect, start) = calls[-2], calls[-1]
    assert search_rect is None and cut_rect is None  # the search's last step, then the cut, no box
    x0, y0, x1, y1 = patch.box
    assert start.shape == (y1 - y0, x1 - x0)  # a small photo is cut at its own size
    inside = disc[y0:y1, x0:x1]
    began = np.isin(start, (cv2.GC_FGD, cv2.GC_PR_FGD))
    assert began[inside].mean() > 0.8 and began[~inside].mean() < 0.2


def test_a_selection_stops_between_grabcut_iterations_when_asked() -> None:
    from app.core.select import Stopped

    img, _disc = scene(320, 240, 170, 110, 45, seed=1)
    asked = []

    def stop() -> bool:  # the editor's Esc, after a few iterations
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(Stopped):
        select_object(img, None, point=(180, 100), stop=stop)
    assert len(asked) == 4  # heard at the first iteration after it was asked
    assert select_object(img, None, point=(180, 100), stop=lambda: False) is not None  # not asked: as before
