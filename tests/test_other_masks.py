"""scripts/other_masks.py: holes from generators the app never trains or tunes on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import other_masks

from app.core.masks_io import load_mask


@pytest.mark.parametrize("kind", other_masks.KINDS)
@pytest.mark.parametrize("ratio", [0.15, 0.45])
def test_each_kind_covers_the_share_it_was_asked_for(kind, ratio):
    mask = other_masks.GENERATORS[kind](np.random.default_rng(3), 256, ratio)
    assert mask.shape == (256, 256) and mask.dtype == bool
    assert abs(mask.mean() - ratio) < 0.012


def test_masks_fall_in_the_centre_square_at_the_photos_size_and_repeat_exactly(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((60, 100, 3), np.uint8)).save(photos / "wide.png")
    Image.fromarray(np.zeros((90, 40, 3), np.uint8)).save(photos / "tall.jpg")
    first = other_masks.write_masks(photos, tmp_path / "a", "lasso", 1, seed=5)
    again = other_masks.write_masks(photos, tmp_path / "b", "lasso", 1, seed=5)
    assert first == again == 10  # 2 photos x 5 buckets
    wide = load_mask(tmp_path / "a" / "wide" / "30-40-0.png", (100, 60))
    assert wide.shape == (60, 100)
    assert not wide[:, :20].any() and not wide[:, 80:].any()  # outside the 60 x 60 centre square
    assert 0.25 < wide[:, 20:80].mean() < 0.45
    for name in ("wide", "tall"):
        for f in sorted((tmp_path / "a" / name).iterdir()):
            assert np.array_equal(np.array(Image.open(f)), np.array(Image.open(tmp_path / "b" / name / f.name)))
    other = other_masks.write_masks(photos, tmp_path / "c", "noise", 1, seed=5)
    assert other == 10
