"""The checkpoints in model_weights/ are intact, safe to load, documented, and used by auto."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.inference.checkpoint import load_generator
from app.inference.engines import default_weights_dir, installed_checkpoints, load_engine

pytestmark = pytest.mark.shipped_weights

WEIGHTS = Path(__file__).resolve().parents[1] / "model_weights"
SHIPPED = sorted(p.stem for p in WEIGHTS.glob("*.pt"))


def test_the_default_weights_folder_is_model_weights():
    assert default_weights_dir() == WEIGHTS


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_loads_with_card_and_evidence(name):
    path = WEIGHTS / f"{name}.pt"
    assert path.stat().st_size < 50 * 2**20
    generator, info = load_generator(path)  # verifies the SHA-256 and the config
    meta = info["meta"]
    assert meta["total_steps"] >= meta["steps"] > 0
    assert set(meta["beats_classical"]) == {"10-20", "20-30", "30-40", "40-50", "50-60"}
    card = (WEIGHTS / f"{name}.md").read_text()
    for needed in ("training data", "steps in total", "hardware", "wall time", "ST-LPIPS", "Licence"):
        assert needed in card
    assert generator.config.guided == (name == "mtsa-guided")
    assert generator.config.constant_temperature == (name == "mtsa-const")


@pytest.mark.skipif(not (WEIGHTS / "auto.json").is_file(), reason="no auto routes shipped")
def test_auto_follows_the_recorded_routes():
    from app.inference.auto import read_routes
    from app.inference.situation import situation

    auto = load_engine("auto", "cpu")
    routes, threshold = read_routes()
    assert auto.startup_notice is None or "routes" not in auto.startup_notice
    rgb = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    mask = np.zeros((96, 128), bool)
    mask[20:60, 30:90] = True  # ~20 %: bucket 10-20 or 20-30
    where = situation(rgb, mask, texture_threshold=threshold)
    expected = next(n for n in routes[where.key] if n in auto.available)
    assert auto.fill(rgb, mask).engine == expected


@pytest.mark.skipif("mtsa-guided" not in SHIPPED, reason="no guided checkpoint shipped")
def test_the_sketch_changes_the_guided_fill():
    engine = load_engine("mtsa-guided", "cpu")
    engine.without_strokes = None  # the guided network's own fill without a sketch, not mtsa's
    rng = np.random.default_rng(1)
    rgb = np.clip(rng.normal(128, 30, (128, 128, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((128, 128), bool)
    mask[32:96, 32:96] = True
    sketch = np.zeros((128, 128), np.uint8)
    sketch[63:65, 32:96] = 255  # one horizontal stroke through the hole
    with_sketch = engine.fill(rgb, mask, sketch).image.astype(int)
    without = engine.fill(rgb, mask, None).image.astype(int)
    change = np.abs(with_sketch - without).mean(-1)
    near, far = change[60:68, 40:88].mean(), change[36:50, 40:88].mean()
    # the fill changes most along the stroke; away from it each side is now filled from its
    # own side of the hole (the walled prior), which changes it a little too (7.6 vs 1.9)
    assert near > 2.0 and near > 2.5 * far, (near, far)


@pytest.mark.skipif("mtsa-guided" not in SHIPPED, reason="no guided checkpoint shipped")
def test_a_stroke_along_a_boundary_keeps_both_sides_apart():
    """Sky over grass, the hole across the horizon, the horizon sketched: with the stroke
    the fill is closer to the truth on both sides of it than without."""
    engine = load_engine("mtsa-guided", "cpu")
    rng = np.random.default_rng(2)
    rgb = np.zeros((128, 128, 3), np.uint8)
    rgb[:70] = (150, 180, 230)
    rgb[70:] = (60, 130, 40)
    rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((128, 128), bool)
    mask[30:110, 10:120] = True  # wider than tall: Telea alone blends the two from left and right
    sketch = np.zeros((128, 128), np.uint8)
    sketch[69:71, :] = 255
    truth = rgb.astype(int)
    err = lambda out: np.abs(out.astype(int) - truth).mean(-1)[mask].mean()  # noqa: E731
    with_sketch, without = engine.fill(rgb, mask, sketch).image, engine.fill(rgb, mask, None).image
    assert err(with_sketch) < err(without), (err(with_sketch), err(without))


def test_installed_checkpoints_are_found():
    assert installed_checkpoints()  # the default folder holds them
