"""scripts/auto_routes.py: how engines are ranked per situation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import auto_routes

from app.evaluation.evaluate import EvalCase


def test_rank_is_the_mean_rank_over_the_independent_and_perceptual_metrics():
    table = {
        "blurry": {"lpips": 0.30, "lpips_vgg": 0.30, "kid": 0.030, "psnr": 30.0},  # best PSNR: irrelevant
        "textured": {"lpips": 0.20, "lpips_vgg": 0.10, "kid": 0.010, "psnr": 20.0},
        "mixed": {"lpips": 0.10, "lpips_vgg": 0.20, "kid": 0.020, "psnr": 25.0},
    }
    assert auto_routes.rank(table) == ["textured", "mixed", "blurry"]


def test_routes_group_holes_by_situation_with_their_evidence():
    cases = [EvalCase(0, "10-20", np.ones((2, 2), bool)), EvalCase(1, "10-20", np.ones((2, 2), bool))]
    results = {
        "a": {"per_case": {"lpips": [0.1, 0.3], "lpips_vgg": [0.1, 0.3], "psnr": [20, 20]}, "kid": {"10-20": 0.01}},
        "b": {"per_case": {"lpips": [0.2, 0.1], "lpips_vgg": [0.2, 0.1], "psnr": [20, 20]}, "kid": {"10-20": 0.02}},
    }
    routes, evidence = auto_routes.routes_from(cases, results, ["x", "y"])
    assert routes == {"x": ["a", "b"], "y": ["b", "a"]}
    assert evidence["x"]["a"]["n"] == 1 and evidence["y"]["b"]["kid"] == 0.02
