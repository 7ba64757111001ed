"""End-to-end training on a tiny network: checkpoints the app loads, exact resume, clean
stops, run-folder outputs and the CLI. Everything runs on the CPU at 64 px in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from app.training.config import TrainConfig
from app.training.loop import train

SIZE = 64


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six synthetic 'photos' with edges and texture, larger than the crop."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:112]
    for i in range(6):
        img = np.dstack([(xx * (2 + i)) % 256, (yy * 3 + 40 * i) % 256, ((xx // 8 + yy // 8) % 2) * 200 + 20])
        img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"photo{i}.png")
    return folder


def tiny(photos: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=photos, out=out, image_size=SIZE, batch=2, steps=3, channels=8, perceptual_net="none",
                adv_start=1, save_every=100, sample_every=0, seed=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def _state(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)


def test_tiny_run_writes_a_checkpoint_the_app_loads(photos: Path, tmp_path: Path) -> None:
    from app.inference.checkpoint import load_generator
    from app.inference.engines import load_engine

    run = tmp_path / "run"
    events: list[dict] = []
    # the real ST-LPIPS network from its wheel (AlexNet trunk: the cheap one)
    exported = train(tiny(photos, run, steps=3, sample_every=2, perceptual_net="alex"), progress_fn=events.append)

    assert exported == run / "mtsa.pt" and exported.with_suffix(".json").is_file()
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("step") == 3
    last_step = [e for e in events if e["event"] == "step"][-1]
    assert last_step["images_seen"] == 6 and last_step["images_per_s"] > 0
    assert {"l1_hole", "l1_valid", "perceptual", "adv", "fm", "d_hinge"} <= set(last_step["losses"])
    assert all(np.isfinite(v) for v in last_step["losses"].values())

    config = json.loads((run / "config.json").read_text())
    assert config["steps"] == 3 and config["image_size"] == SIZE and config["variant"] == "mtsa"
    assert config["perceptual_net"] == "alex" and config["weights"]["adv"] == 0.1
    assert config["model"]["channels"] == 8 and config["model"]["prior"] == "telea"

    # samples at step 0, 2 and the final step 3: 4 rows x 5 columns of 64 px tiles, 2 px gaps
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert samples == ["step_0000000.png", "step_0000002.png", "step_0000003.png"]
    grid = np.asarray(Image.open(run / "samples" / "step_0000003.png"))
    assert grid.shape == (4 * SIZE + 3 * 2, 5 * SIZE + 4 * 2, 3)

    state = _state(run)  # plain tensors and containers: loads with weights_only=True
    assert state["step"] == 3 and state["ema"]["num_updates"] == 3

    generator, info = load_generator(exported)
    assert info["meta"]["steps"] == 3 and info["meta"]["images_seen"] == 6
    assert info["meta"]["image_size"] == SIZE and info["meta"]["data"]["train_images"] == 6
    assert {"wall_time_s", "hardware"} <= set(info["meta"])
    ema = state["ema"]["module"]
    assert all(torch.equal(v, ema[k].cpu()) for k, v in generator.state_dict().items())

    engine = load_engine("mtsa", device="cpu", weights_dir=run)
    rgb = np.asarray(Image.open(photos / "photo0.png"))[:80, :100].copy()
    mask = np.zeros(rgb.shape[:2], bool)
    mask[20:50, 30:70] = True
    out = engine.fill(rgb, mask).image
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out[~mask], rgb[~mask])


def test_resume_continues_exactly(photos: Path, tmp_path: Path) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    small = dict(image_size=32)
    train(tiny(photos, straight, steps=4, **small))
    train(tiny(photos, split, steps=2, **small))
    # the resumed half loads its data in a worker process: neither may change the samples
    train(tiny(photos, split, steps=4, resume=True, workers=1, **small))
    a, b = _state(straight), _state(split)
    assert a["step"] == b["step"] == 4
    for part in ("generator", "discriminator"):
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), f"{part}.{name} differs after resume"
    for name, tensor in a["ema"]["module"].items():
        assert torch.equal(tensor, b["ema"]["module"][name]), f"ema.{name} differs after resume"
    for opt in ("opt_g", "opt_d"):
        for idx, s in a[opt]["state"].items():
            assert torch.equal(s["exp_avg_sq"], b[opt]["state"][idx]["exp_avg_sq"])
    # the exported checkpoint counts the whole run, not just the resumed half
    meta = json.loads((split / "mtsa.json").read_text())["meta"]
    assert meta["steps"] == 4 and meta["images_seen"] == 8


def test_abort_saves_a_resumable_checkpoint(photos: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    calls = iter(range(100))
    events: list[dict] = []
    train(tiny(photos, run, steps=50, holdout=2), progress_fn=events.append, abort_fn=lambda: next(calls) >= 2)
    assert _state(run)["step"] == 2
    assert events[-1]["event"] == "aborted" and events[-1]["step"] == 2
    meta = json.loads((run / "mtsa.json").read_text())["meta"]
    assert meta["steps"] == 2 and meta["data"]["train_images"] == 4 and meta["data"]["holdout_excluded"] == 2
    assert len((run / "holdout.txt").read_text().split()) == 2

    # --time-limit: this session's budget is spent (a microsecond) before its first step
    events.clear()
    train(tiny(photos, run, steps=50, holdout=2, resume=True, time_limit_min=1e-8), progress_fn=events.append)
    assert events[-1]["event"] == "time limit" and _state(run)["step"] == 2


def test_held_out_photos_never_train(photos: Path, tmp_path: Path) -> None:
    import shutil

    from app.training.data import training_files

    data = tmp_path / "data"
    shutil.copytree(photos, data)
    (data / "split.json").write_text(json.dumps({"holdout": ["photo0"]}))
    kept, held = training_files(tiny(data, tmp_path / "run"))
    assert [p.stem for p in held] == ["photo0"] and len(kept) == 5
    kept2, held2 = training_files(tiny(data, tmp_path / "run", holdout=2))
    assert len(kept2) == 3 and len(held2) == 3 and not {p.stem for p in kept2} & {p.stem for p in held2}
    assert "photo0" not in {p.stem for p in kept2}
    # the extra split is the same whatever the training seed (evaluation must rebuild it)
    assert training_files(tiny(data, tmp_path / "run", holdout=2, seed=5))[1] == held2


def test_ctrl_c_saves_before_exiting(photos: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"

    def interrupt_at_step_2(event: dict) -> None:
        if event["event"] == "step" and event["step"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # (the constant-temperature ablation, for coverage)
        train(tiny(photos, run, steps=50, constant_temperature=True), progress_fn=interrupt_at_step_2)
    assert _state(run)["step"] == 2
    assert (run / "mtsa-const.pt").is_file()


def test_init_from_starts_a_new_run_from_exported_weights(photos: Path, tmp_path: Path) -> None:
    from app.inference.checkpoint import load_generator

    first = train(tiny(photos, tmp_path / "first", steps=2))
    # guided may differ from the source checkpoint; stop before the first step to compare
    second = train(tiny(photos, tmp_path / "second", steps=5, guided=True, init_from=first, channels=None),
                   abort_fn=lambda: True)
    assert second.name == "mtsa-guided.pt"
    g1, _ = load_generator(first)
    g2, info = load_generator(second)
    assert g2.config.guided and info["meta"]["steps"] == 0 and info["meta"]["init_from"] == str(first)
    assert all(torch.equal(v, g2.state_dict()[k]) for k, v in g1.state_dict().items())
    state = _state(tmp_path / "second")
    assert state["step"] == 0 and state["opt_g"]["state"] == {}  # fresh optimisers
    # the architecture came from the checkpoint and is recorded, so --resume rebuilds it
    assert json.loads((tmp_path / "second" / "config.json").read_text())["channels"] == 8


def test_init_from_may_switch_between_classical_priors_only(photos: Path, tmp_path: Path) -> None:
    from app.inference.checkpoint import load_generator

    first = train(tiny(photos, tmp_path / "first", steps=1))  # Telea's prior
    second = train(tiny(photos, tmp_path / "second", steps=1, guided=True, init_from=first, channels=None,
                        prior="harmonic", sketch_prob=1.0))
    g2, _ = load_generator(second)
    assert g2.config.prior == "harmonic"
    # without --prior a warm restart keeps the checkpoint's prior (it used to fall back to Telea's)
    third = train(tiny(photos, tmp_path / "keeps", steps=1, guided=True, init_from=second, channels=None))
    assert load_generator(third)[0].config.prior == "harmonic"
    assert json.loads((tmp_path / "keeps" / "config.json").read_text())["prior"] == "harmonic"
    with pytest.raises(ValueError, match="cannot continue as 'none'"):
        train(tiny(photos, tmp_path / "third", steps=1, init_from=first, channels=None, prior="none"))


def test_injected_perceptual_network_is_optimised(photos: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, ...]] = []

    def perceptual(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(a.shape))
        return (a - b).pow(2).mean(dim=(1, 2, 3))

    events: list[dict] = []
    # the guided variant: half of the samples carry generated sketch strokes
    out = train(tiny(photos, tmp_path / "run", steps=2, adv_start=100, guided=True, image_size=32),
                progress_fn=events.append, perceptual_fn=perceptual)
    steps = [e for e in events if e["event"] == "step"]
    assert calls and calls[0] == (2, 3, 32, 32)
    assert "perceptual" in steps[-1]["losses"] and "adv" not in steps[-1]["losses"]
    assert out.name == "mtsa-guided.pt"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["effective_sketch_prob"] == 0.5


def _cli(*argv: str) -> int:
    from app.cli import main

    return main(["train", *argv])


def test_cli_trains_resumes_and_reports_user_errors(photos: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    common = ["--data", str(photos), "--out", str(run)]
    assert _cli(*common, "--image-size", "64", "--batch", "2", "--steps", "1", "--channels", "8",
                "--perceptual", "none", "--sample-every", "0", "--device", "cpu") == 0
    err = capsys.readouterr().err
    assert "step 1/1" in err and "img/s" in err and "ETA" in err

    # an existing run is never overwritten by accident
    assert _cli(*common, "--steps", "2") == 2
    assert capsys.readouterr().err.startswith("error: ")
    # --resume keeps the run's settings (channels 8, 64 px) without repeating them
    assert _cli(*common, "--steps", "2", "--resume") == 0
    assert "from step 1 to 2" in capsys.readouterr().err
    assert _state(run)["step"] == 2
    assert json.loads((run / "config.json").read_text())["channels"] == 8
    assert _cli(*common, "--steps", "2", "--resume") == 2  # nothing left to train: say so
    assert "already at step 2" in capsys.readouterr().err
    assert _cli(*common, "--steps", "3", "--resume", "--guided") == 2  # what differs, in words
    err = capsys.readouterr().err.strip()
    assert "holds a different model: the run was trained without --guided; pass the run's flags" in err
    assert "ModelConfig(" not in err and len(err.splitlines()) == 1

    assert _cli("--data", str(tmp_path / "missing"), "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert _cli(*common[:2], "--out", str(tmp_path / "y"), "--image-size", "60") == 2
    assert "multiple of 8" in capsys.readouterr().err


@pytest.mark.slow  # a training process of its own
def test_sigint_to_the_command_saves_and_exits_130(photos: Path, tmp_path: Path) -> None:
    """A real Ctrl+C: the first SIGINT finishes the step, saves, and exits with 130."""
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    run = tmp_path / "run"
    cmd = [sys.executable, str(root / "main.py"), "train", "--data", str(photos), "--out", str(run),
           "--image-size", "32", "--batch", "1", "--steps", "100000", "--channels", "8", "--perceptual", "none",
           "--sample-every", "0", "--device", "cpu"]
    proc = subprocess.Popen(cmd, cwd=root, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        for line in proc.stderr:  # the first progress line comes after step 1
            if line.startswith("step 1/"):
                break
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 130, rest
    assert "stopped early" in rest
    step = _state(run)["step"]
    assert 1 <= step < 100000
    assert json.loads((run / "mtsa.json").read_text())["meta"]["steps"] == step


def test_ema_warms_up_then_averages() -> None:
    from app.training.ema import EMA

    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model)  # warm-up decay (1 + 0) / (10 + 0) = 0.1: the shadow mostly follows
    assert ema.module.weight.item() == pytest.approx(0.9)
    ema.num_updates = 10**6  # long after warm-up: the configured decay
    ema.update(model)
    assert ema.module.weight.item() == pytest.approx(0.9 + 0.001 * 0.1)
    assert not ema.module.weight.requires_grad
    restored = EMA(model, decay=0.999)
    restored.load_state_dict(ema.state_dict())
    assert restored.num_updates == ema.num_updates and torch.equal(restored.module.weight, ema.module.weight)


def test_resume_keeps_the_warm_start_in_the_exported_meta(photos: Path, tmp_path: Path) -> None:
    """Steps behind a checkpoint are counted across --init-from and --resume."""
    first = train(tiny(photos, tmp_path / "first", steps=2))
    run = tmp_path / "second"
    base = ["--data", str(photos), "--out", str(run), "--image-size", "64", "--batch", "2",
            "--sample-every", "0", "--perceptual", "none", "--device", "cpu"]
    assert _cli(*base, "--steps", "1", "--init-from", str(first)) == 0
    assert _cli(*base, "--steps", "2", "--resume") == 0
    info = json.loads((run / "mtsa.json").read_text())
    assert info["meta"]["steps"] == 2 and info["meta"]["init_from"] == str(first)
    from app.inference.checkpoint import sha256_of
    assert info["meta"]["init_sha256"] == sha256_of(first)  # what it started from, kept by --resume
