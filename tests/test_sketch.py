from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest

from app.core.names import SKETCH_STROKE_WIDTH, stroke_width_for
from app.data.sketch import _neighbour_count, make_sketch, zhang_suen_thin


def shapes_image(h: int = 256, w: int = 256, seed: int = 0) -> np.ndarray:
    """Flat-coloured shapes on a soft gradient plus mild noise: clear outlines to find."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.dstack([(x * 0.3 + 40), (y * 0.3 + 60), np.full((h, w), 90.0)]).astype(np.float32)
    img = np.ascontiguousarray(img.astype(np.uint8))
    cv2.rectangle(img, (20, 30), (110, 120), (220, 40, 40), -1)
    cv2.circle(img, (180, 80), 45, (30, 200, 60), -1)
    cv2.ellipse(img, (90, 190), (60, 30), 20, 0, 360, (240, 230, 60), -1)
    cv2.line(img, (150, 150), (240, 240), (10, 10, 10), 4)
    cv2.rectangle(img, (170, 170), (230, 210), (250, 250, 250), -1)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_output_is_binary_uint8_and_share_is_sane():
    sk = make_sketch(shapes_image(), seed=0)
    assert sk.dtype == np.uint8 and sk.shape == (256, 256)
    assert set(np.unique(sk)) <= {0, 255}
    share = (sk > 0).mean()
    assert 0.01 <= share <= 0.15, share


def test_width_one_is_one_pixel_thin():
    sk = make_sketch(shapes_image(), seed=0, width=1, drop=0.0) > 0
    assert sk.sum() > 200
    nb = _neighbour_count(sk)[sk]
    # a 1-px line has 1-2 neighbours, corners and junctions 3-4; blobs have more
    assert (nb > 4).mean() < 0.02
    # thinning it again removes (almost) nothing
    assert zhang_suen_thin(sk).sum() >= 0.97 * sk.sum()


def test_strokes_follow_the_shapes():
    img = shapes_image()
    sk = make_sketch(img, seed=0, width=1, drop=0.0) > 0
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mag = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    near_edge = cv2.dilate((mag > 60).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert near_edge[sk].mean() > 0.9


def test_deterministic_per_seed_and_different_across_seeds():
    img = shapes_image()
    a = make_sketch(img, seed=5)
    assert np.array_equal(a, make_sketch(img, seed=5))
    assert not np.array_equal(a, make_sketch(img, seed=6))


def test_nothing_outside_the_mask():
    img = shapes_image()
    mask = np.zeros((256, 256), bool)
    mask[40:200, 60:220] = True
    sk = make_sketch(img, mask, seed=1, drop=0.0)
    assert sk[~mask].max() == 0
    assert sk[mask].any()
    assert not make_sketch(img, np.zeros((256, 256), bool)).any()


def test_drops_reduce_strokes():
    img = shapes_image()
    full = (make_sketch(img, seed=2, drop=0.0, width=1) > 0).sum()
    some = (make_sketch(img, seed=2, drop=0.5, width=1) > 0).sum()
    none = (make_sketch(img, seed=2, drop=1.0, width=1) > 0).sum()
    assert none == 0 < some < full


def test_wider_strokes_cover_more():
    img = shapes_image()
    thin = (make_sketch(img, seed=0, drop=0.0, width=1) > 0).sum()
    thick = (make_sketch(img, seed=0, drop=0.0, width=3) > 0).sum()
    assert thick > 2 * thin


def test_flat_image_gives_no_strokes():
    assert not make_sketch(np.full((64, 64, 3), 128, np.uint8)).any()


def test_bad_input_raises():
    with pytest.raises(ValueError):
        make_sketch(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError):
        make_sketch(np.zeros((8, 8, 3), np.uint8), np.zeros((4, 4), bool))
    with pytest.raises(ValueError):
        make_sketch(np.zeros((8, 8, 3), np.uint8), drop=2.0)


def test_stroke_width_scales_with_image_size():
    assert stroke_width_for((256, 256)) == SKETCH_STROKE_WIDTH == 2
    assert stroke_width_for((1024, 2048)) == 8
    assert stroke_width_for((64, 64)) == 1


def test_zhang_suen_thins_a_bar_to_a_line():
    bar = np.zeros((20, 40), bool)
    bar[8:13, 5:35] = True
    thin = zhang_suen_thin(bar)
    assert thin.sum() < 40 and thin[:, 10:30].sum(axis=0).max() == 1


def test_sketch_command(tmp_path, capsys):
    from PIL import Image

    from app.commands import sketch as cmd

    src = tmp_path / "in.png"
    Image.fromarray(shapes_image(128, 160)).save(src)
    out = tmp_path / "out.png"
    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers())
    args = parser.parse_args(["sketch", str(src), "-o", str(out), "--seed", "1"])
    assert args.func(args) == 0
    arr = np.asarray(Image.open(out).convert("L"))
    assert arr.shape == (128, 160) and set(np.unique(arr)) <= {0, 255} and arr.max() == 255
    bad = parser.parse_args(["sketch", str(tmp_path / "missing.png"), "-o", str(out)])
    assert bad.func(bad) == 2
    capsys.readouterr()
    wide = parser.parse_args(["sketch", str(src), "-o", str(tmp_path / "wide.png"), "--width", "200"])
    assert wide.func(wide) == 0  # written, and said to be no sketch inpaint would take
    assert "warning: strokes cover over 40%" in capsys.readouterr().err
    Image.fromarray(np.zeros((128, 160), np.uint8)).save(tmp_path / "nohole.png")
    none = parser.parse_args(["sketch", str(src), "-o", str(tmp_path / "none.png"), "--mask", str(tmp_path / "nohole.png")])
    assert none.func(none) == 0
    assert "warning: no strokes inside the mask's hole" in capsys.readouterr().err


def test_lines_inside_closed_outlines_are_kept():
    img = np.full((128, 128, 3), 200, np.uint8)
    cv2.circle(img, (64, 64), 50, (0, 0, 0), 3)
    cv2.line(img, (50, 64), (80, 64), (0, 0, 0), 3)  # an "eye" inside a "face"
    sk = make_sketch(img, drop=0.0, width=1)
    assert sk[58:71, 52:78].any()
