from __future__ import annotations

import numpy as np
import pytest

from app.core.names import BUCKETS, bucket_name
from app.data.masks import (
    evaluation_masks,
    fit_exact,
    free_form_mask,
    hole_ratio,
    make_mask_generator,
)


@pytest.mark.parametrize("ratio", [(0.1, 0.6), (0.1, 0.2), (0.5, 0.6), (0.3, 0.35)])
def test_free_form_ratio_inside_range_for_many_seeds(ratio):
    for seed in range(40):
        m = free_form_mask(np.random.default_rng(seed), (64, 80), ratio=ratio)
        assert m.dtype == bool and m.shape == (64, 80)
        assert ratio[0] <= hole_ratio(m) <= ratio[1], (seed, hole_ratio(m))


def test_free_form_is_deterministic_per_seed_and_varies_across_seeds():
    a = free_form_mask(np.random.default_rng(7), (96, 96))
    b = free_form_mask(np.random.default_rng(7), (96, 96))
    c = free_form_mask(np.random.default_rng(8), (96, 96))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_every_hole_kind_the_cli_offers_has_one_generator():
    from app.core.names import MASK_KINDS
    from app.data.masks import _GENERATORS

    assert tuple(_GENERATORS) == MASK_KINDS


@pytest.mark.parametrize("name", ["free_form", "box", "strokes", "object"])
def test_named_generators(name):
    gen = make_mask_generator(name, ratio=(0.2, 0.3))
    for seed in range(10):
        m = gen(np.random.default_rng(seed), (50, 70))
        assert m.dtype == bool and m.shape == (50, 70)
        assert 0.2 <= hole_ratio(m) <= 0.3


def test_box_generator_makes_rectangles_only():
    # a single box is its own bounding box; with several the mask is a union of them
    m = make_mask_generator("box", ratio=(0.1, 0.2))(np.random.default_rng(3), (100, 100))
    ys, xs = np.nonzero(m)
    assert m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].mean() > 0.2


def test_unknown_generator_and_option_raise():
    with pytest.raises(ValueError, match="unknown mask generator"):
        make_mask_generator("circles")
    with pytest.raises(ValueError):
        make_mask_generator("box", width=3)


def test_bad_ratio_raises():
    with pytest.raises(ValueError):
        free_form_mask(np.random.default_rng(0), (32, 32), ratio=(0.6, 0.1))


def test_fit_exact_grows_and_shrinks_to_the_count():
    m = np.zeros((20, 20), bool)
    m[5:10, 5:10] = True
    assert np.count_nonzero(fit_exact(m, 60)) == 60
    assert np.count_nonzero(fit_exact(m, 9)) == 9
    assert np.count_nonzero(fit_exact(np.zeros((8, 8), bool), 5)) == 5
    # shrinking keeps the inside of the hole, growing keeps the original hole
    assert fit_exact(m, 9)[7, 7]
    assert fit_exact(m, 60)[m].all()


def test_evaluation_masks_buckets_respected_and_deterministic():
    a = evaluation_masks((64, 64), per_bucket=3)
    b = evaluation_masks((64, 64), per_bucket=3)
    assert list(a) == [bucket_name(bk) for bk in BUCKETS] == ["10-20", "20-30", "30-40", "40-50", "50-60"]
    for bk in BUCKETS:
        masks = a[bucket_name(bk)]
        assert len(masks) == 3
        for m, m2 in zip(masks, b[bucket_name(bk)], strict=True):
            assert m.dtype == bool
            assert bk[0] <= hole_ratio(m) <= bk[1]
            assert np.array_equal(m, m2)
    # more masks per bucket keep the first ones; another seed changes them
    more = evaluation_masks((64, 64), per_bucket=5)
    assert all(np.array_equal(x, y) for x, y in zip(a["30-40"], more["30-40"][:3], strict=True))
    other = evaluation_masks((64, 64), per_bucket=3, seed=1)
    assert not np.array_equal(a["30-40"][0], other["30-40"][0])


def test_object_masks_are_smooth_blobs_not_strokes_or_boxes():
    import cv2

    gen = make_mask_generator("object", ratio=(0.1, 0.2))
    for seed in range(8):
        m = gen(np.random.default_rng(seed), (128, 128))
        n, labels = cv2.connectedComponents(m.astype(np.uint8))
        for i in range(1, n):
            blob = labels == i
            if blob.sum() < 200:  # a trimmed sliver at the frame
                continue
            # a filled outline, not a thin line: somewhere the blob is at least 12 px across
            depth = cv2.distanceTransform(blob.astype(np.uint8), cv2.DIST_L2, 3)
            assert depth.max() >= 6
            # not a rectangle: it fills clearly less than its bounding box
            ys, xs = np.nonzero(blob)
            box = (np.ptp(ys) + 1) * (np.ptp(xs) + 1)
            assert blob.sum() < 0.95 * box


def test_evaluation_masks_of_another_kind_differ_and_keep_the_buckets():
    free = evaluation_masks((64, 64), per_bucket=2)
    obj = evaluation_masks((64, 64), per_bucket=2, kind="object")
    assert list(free) == list(obj)
    for bucket, ms in obj.items():
        lo, hi = (int(v) / 100 for v in bucket.split("-"))
        assert all(lo <= hole_ratio(m) <= hi for m in ms)
        assert not any(np.array_equal(a, b) for a, b in zip(ms, free[bucket], strict=True))
    with pytest.raises(ValueError, match="unknown mask generator"):
        evaluation_masks((64, 64), per_bucket=1, kind="lasso")
