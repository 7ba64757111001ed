"""scripts/attention_figure.py: where a network borrows from, for points across one hole."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import attention_figure
from removal_examples import ROW_HEIGHT

from app.core.maskops import depth_in_hole
from app.inference.checkpoint import save_checkpoint
from app.model import InpaintGenerator, ModelConfig


def test_points_are_deep_in_the_hole_and_apart():
    mask = np.zeros((100, 200), bool)
    mask[20:80, 10:190] = True
    points = attention_figure.spread_points(mask, 3)
    depth = depth_in_hole(mask)
    assert len(points) == 3 and all(depth[y, x] >= 0.4 * depth.max() for x, y in points)
    xs = sorted(x for x, _ in points)
    assert xs[1] - xs[0] > 50 and xs[2] - xs[1] > 50  # spread along the long hole, not bunched


def test_figure_has_a_row_per_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        cv2.imwrite(str(photos / f"p{i}.png"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    paths = []
    for name, guided in (("plain", False), ("guided", True)):
        g = InpaintGenerator(ModelConfig(channels=8, heads=2, guided=guided))
        (tmp_path / name).mkdir()
        paths.append(str(save_checkpoint(tmp_path / name / "net.pt", g, g.config)))
    out = tmp_path / "attention.jpg"
    argv = ["--data", str(photos), "--checkpoint", *paths, "--photo", "1", "--bucket", "30-40",
            "--points", "2", "--out", str(out)]
    assert attention_figure.main(argv) == 0
    grid = cv2.imread(str(out))
    rows = 2 * (ROW_HEIGHT + 4)
    assert grid.shape[0] == rows and grid.shape[1] == 4 * ROW_HEIGHT  # photo, fill, 2 points
