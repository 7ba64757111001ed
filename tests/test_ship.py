"""Shipping checkpoints: per-bucket verdicts, refusal to replace a better one, model card."""

from __future__ import annotations

import json

import pytest
import torch

from app.core.errors import TemperaError
from app.evaluation.ship import beats_classical, better_in_most_buckets, ship
from app.inference.checkpoint import load_generator, save_checkpoint
from app.model import InpaintGenerator, ModelConfig

BUCKETS = ("10-20", "20-30", "30-40")


def _rows(engine, lpips):
    return [{"engine": engine, "bucket": b, "psnr": 20.0, "ssim": 0.8, "l1": 0.05, "lpips": v}
            for b, v in zip(BUCKETS, lpips, strict=True)]


TELEA = _rows("telea", [0.10, 0.20, 0.30])


@pytest.fixture()
def run_checkpoint(tmp_path):
    torch.manual_seed(0)
    g = InpaintGenerator(ModelConfig(channels=8, heads=2))
    return save_checkpoint(tmp_path / "run" / "mtsa.pt", g, g.config, {"steps": 10, "images_seen": 80, "image_size": 64})


def test_beats_classical_per_bucket():
    rows = TELEA + _rows("mtsa", [0.12, 0.18, 0.25])
    assert beats_classical(rows, "mtsa") == {"10-20": False, "20-30": True, "30-40": True}
    with pytest.raises(TemperaError):
        beats_classical(TELEA, "mtsa")


def test_better_in_most_buckets():
    old = {r["bucket"]: r for r in _rows("mtsa", [0.1, 0.2, 0.3])}
    new = {r["bucket"]: r for r in _rows("mtsa", [0.09, 0.21, 0.29])}
    assert better_in_most_buckets(new, old)[0]
    worse = {r["bucket"]: r for r in _rows("mtsa", [0.09, 0.21, 0.31])}
    assert not better_in_most_buckets(worse, old)[0]


def _independent(vgg, kid, psnr_all):
    rows = {b: {"lpips": 0.1, "lpips_vgg": v, "kid": k, "psnr": 20.0} for b, v, k in zip(BUCKETS, vgg, kid, strict=True)}
    rows["all"] = {"psnr": psnr_all}
    return rows


def test_shipping_is_judged_on_metrics_the_network_was_not_trained_on():
    old = _independent([0.10, 0.20, 0.30], [0.010, 0.020, 0.030], 21.0)
    better = _independent([0.09, 0.19, 0.31], [0.009, 0.021, 0.029], 21.1)
    ok, why = better_in_most_buckets(better, old)
    assert ok and "ST-LPIPS-vgg / KID in 4 of 6" in why and "PSNR 21.10 vs 21.00" in why
    blurrier = _independent([0.09, 0.19, 0.29], [0.009, 0.019, 0.029], 20.9)  # better look, PSNR -0.1 dB
    ok, why = better_in_most_buckets(blurrier, old)
    assert not ok and "(worse)" in why
    # ST-LPIPS-alex (the training loss) alone decides only when nothing else was recorded
    legacy = {b: {"lpips": r["lpips"] + 0.01} for b, r in old.items() if b != "all"}
    ok, why = better_in_most_buckets(better, legacy)
    assert ok and "predates the independent metrics" in why


def test_ship_installs_with_evidence_and_auto_reads_it(tmp_path, run_checkpoint):
    weights = tmp_path / "weights"
    rows = TELEA + _rows("mtsa", [0.12, 0.18, 0.25])
    decision = ship(run_checkpoint, rows, weights)
    assert decision.shipped
    info = json.loads((weights / "mtsa.json").read_text())
    assert info["meta"]["beats_classical"] == {"10-20": False, "20-30": True, "30-40": True}
    assert info["meta"]["total_steps"] == 10
    load_generator(weights / "mtsa.pt")  # the checksum was rewritten for the copy
    card = (weights / "mtsa.md").read_text()
    assert "20-30, 30-40" in card and "| mtsa | 10-20 |" in card


def test_ship_keeps_a_better_installed_checkpoint(tmp_path, run_checkpoint):
    weights = tmp_path / "weights"
    assert ship(run_checkpoint, TELEA + _rows("mtsa", [0.09, 0.18, 0.25]), weights).shipped
    before = (weights / "mtsa.json").read_text()
    decision = ship(run_checkpoint, TELEA + _rows("mtsa", [0.11, 0.19, 0.26]), weights)
    assert not decision.shipped and "kept the installed" in decision.reason
    assert (weights / "mtsa.json").read_text() == before
    assert ship(run_checkpoint, TELEA + _rows("mtsa", [0.11, 0.19, 0.26]), weights, force=True).shipped


def test_total_steps_follow_warm_restarts(tmp_path, run_checkpoint):
    g = InpaintGenerator(ModelConfig(channels=8, heads=2, guided=True))
    child = save_checkpoint(tmp_path / "guided" / "mtsa-guided.pt", g, g.config,
                            {"steps": 5, "images_seen": 40, "init_from": str(run_checkpoint)})
    rows = TELEA + _rows("mtsa-guided+sketch", [0.09, 0.18, 0.25])
    ship(child, rows, tmp_path / "w", eval_label="mtsa-guided+sketch")
    meta = json.loads((tmp_path / "w" / "mtsa-guided.json").read_text())["meta"]
    assert meta["total_steps"] == 15 and meta["total_images_seen"] == 120


def test_total_steps_of_a_run_shipped_twice_count_its_steps_once(tmp_path, run_checkpoint):
    # a run warm-started from the installed checkpoint, shipped at its step 5, resumed and
    # shipped again at step 8: its init_from file is by then its own step-5 install
    weights = tmp_path / "w"
    ship(run_checkpoint, TELEA + _rows("mtsa", [0.12, 0.18, 0.25]), weights)  # 10 steps, 80 images
    g = InpaintGenerator(ModelConfig(channels=8, heads=2))
    installed = str(weights / "mtsa.pt")
    first = save_checkpoint(tmp_path / "run2" / "a" / "mtsa.pt", g, g.config,
                            {"steps": 5, "images_seen": 40, "init_from": installed})
    assert ship(first, TELEA + _rows("mtsa", [0.11, 0.17, 0.24]), weights).shipped
    assert json.loads((weights / "mtsa.json").read_text())["meta"]["total_steps"] == 15
    again = save_checkpoint(tmp_path / "run2" / "b" / "mtsa.pt", g, g.config,
                            {"steps": 8, "images_seen": 64, "init_from": installed})
    assert ship(again, TELEA + _rows("mtsa", [0.10, 0.16, 0.23]), weights).shipped
    meta = json.loads((weights / "mtsa.json").read_text())["meta"]
    assert meta["total_steps"] == 18 and meta["total_images_seen"] == 144


def test_total_steps_of_a_new_run_from_a_file_that_was_itself_warm_started_there(tmp_path, run_checkpoint):
    # the GPU pass: every pass starts from .gpu_kit/weights/mtsa.pt, so the checkpoint found
    # there (the last pass's) names that same path; the new run recorded its start's SHA-256
    from app.inference.checkpoint import sha256_of
    weights = tmp_path / "w"
    ship(run_checkpoint, TELEA + _rows("mtsa", [0.12, 0.18, 0.25]), weights)  # 10 steps, 80 images
    g = InpaintGenerator(ModelConfig(channels=8, heads=2))
    kit = tmp_path / "kit" / "mtsa.pt"
    last_pass = save_checkpoint(tmp_path / "pass1" / "mtsa.pt", g, g.config,
                                {"steps": 5, "images_seen": 40, "init_from": str(kit)})
    kit.parent.mkdir()
    ship(last_pass, TELEA + _rows("mtsa", [0.11, 0.17, 0.24]), kit.parent)  # the kit's copy: 5 more
    assert json.loads((kit.parent / "mtsa.json").read_text())["meta"]["total_steps"] == 5
    torch.manual_seed(1)
    g2 = InpaintGenerator(ModelConfig(channels=8, heads=2))
    this_pass = save_checkpoint(tmp_path / "pass2" / "mtsa.pt", g2, g2.config,
                                {"steps": 8, "images_seen": 64, "init_from": str(kit),
                                 "init_sha256": sha256_of(kit)})
    assert ship(this_pass, TELEA + _rows("mtsa", [0.10, 0.16, 0.23]), weights).shipped
    meta = json.loads((weights / "mtsa.json").read_text())["meta"]
    assert meta["total_steps"] == 13 and meta["total_images_seen"] == 104  # not 8 - 5 + 5


def test_total_steps_of_a_run_shipped_twice_with_its_start_recorded(tmp_path, run_checkpoint):
    from app.inference.checkpoint import sha256_of
    weights = tmp_path / "w"
    ship(run_checkpoint, TELEA + _rows("mtsa", [0.12, 0.18, 0.25]), weights)  # 10 steps, 80 images
    installed = weights / "mtsa.pt"
    start = {"init_from": str(installed), "init_sha256": sha256_of(installed)}
    g = InpaintGenerator(ModelConfig(channels=8, heads=2))
    first = save_checkpoint(tmp_path / "run2" / "a" / "mtsa.pt", g, g.config, {"steps": 5, "images_seen": 40, **start})
    assert ship(first, TELEA + _rows("mtsa", [0.11, 0.17, 0.24]), weights).shipped
    assert json.loads((weights / "mtsa.json").read_text())["meta"]["total_steps"] == 15
    again = save_checkpoint(tmp_path / "run2" / "b" / "mtsa.pt", g, g.config, {"steps": 8, "images_seen": 64, **start})
    assert ship(again, TELEA + _rows("mtsa", [0.10, 0.16, 0.23]), weights).shipped
    meta = json.loads((weights / "mtsa.json").read_text())["meta"]
    assert meta["total_steps"] == 18 and meta["total_images_seen"] == 144


def test_ship_script_reads_evaluate_json_for_the_run_and_the_installed_one(tmp_path, run_checkpoint, capsys):
    """Both --eval and --installed-eval take `evaluate --json` files as written ({"rows": [...]})."""
    from scripts.ship_checkpoints import main

    weights = tmp_path / "weights"
    first = tmp_path / "first.json"
    first.write_text(json.dumps({"rows": TELEA + _rows("mtsa", [0.09, 0.18, 0.25])}))
    assert main(["--eval", str(first), "--weights-dir", str(weights), str(run_checkpoint)]) == 0
    worse = tmp_path / "worse.json"
    worse.write_text(json.dumps({"rows": TELEA + _rows("mtsa", [0.11, 0.19, 0.26])}))
    assert main(["--eval", str(worse), "--installed-eval", str(first), "--weights-dir", str(weights),
                 str(run_checkpoint)]) == 1
    assert "kept the installed" in capsys.readouterr().out
