"""The GPU kit (scripts/pack_gpu_kit.py) and the probe's rate (scripts/train_probe.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_steady_rate_skips_the_warmup() -> None:
    probe = _script("train_probe")
    # 10 slow steps (loader start), then 10 steps/s
    events = [(5.0, 5), (10.0, 10), (11.0, 20), (12.0, 30)]
    assert probe.steady_rate(events, warmup=10) == pytest.approx(10.0)
    assert probe.steady_rate(events[:1], warmup=10) is None


def _photos(root: Path) -> None:
    rng = np.random.default_rng(0)
    ids = {"train": ["a", "b", "c"], "holdout": ["h1", "h2"]}
    for split, names in ids.items():
        (root / split).mkdir(parents=True)
        for k, name in enumerate(names):
            h, w = (300 + 40 * k, 520) if k % 2 else (600, 420)
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            Image.fromarray(img).save(root / split / f"{name}.png")
    (root / "split.json").write_text(json.dumps({"seed": 0, "holdout": ids["holdout"], "train": ids["train"]}))


def _weights(folder: Path) -> None:
    from app.inference.checkpoint import save_checkpoint
    from app.model.config import ModelConfig
    from app.model.generator import InpaintGenerator

    for name, kw in (("mtsa", {}), ("mtsa-const", {"constant_temperature": True}), ("mtsa-guided", {"guided": True})):
        cfg = ModelConfig(channels=8, **kw)
        save_checkpoint(folder / f"{name}.pt", InpaintGenerator(cfg), cfg, {"steps": 1})


def test_pack_tiny_kit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.evaluation import perceptual
    from app.evaluation.evaluate import load_eval_images

    try:
        perceptual.stlpips_weights_path("alex")
    except perceptual.PerceptualUnavailable:
        pytest.skip("stlpips-pytorch wheel not installed")
    pack = _script("pack_gpu_kit")
    data, weights, kit = tmp_path / "photos", tmp_path / "w", tmp_path / "kit"
    _photos(data)
    _weights(weights)
    assert pack.main(["--data", str(data), "--weights-dir", str(weights), "--out", str(kit), "--max-train", "2"]) == 0
    assert "kit " in capsys.readouterr().out

    jpgs = sorted((kit / "photos").rglob("*.jpg"))
    assert [p.stem for p in jpgs] == ["h1", "h2", "a", "b"]  # holdout/ then train/, first 2 training photos
    for p in jpgs:
        with Image.open(p) as im:
            assert im.format == "JPEG" and min(im.size) <= 384
    split = json.loads((kit / "photos" / "split.json").read_text())
    assert split["holdout"] == ["h1", "h2"] and split["train"] == ["a", "b"]
    # the evaluation crops are exactly what evaluate makes of the original PNGs
    for a, b in zip(load_eval_images(kit / "eval256", 256), load_eval_images(data / "holdout", 256), strict=True):
        assert a.name == b.name and np.array_equal(a.rgb, b.rgb)
    assert (kit / "stlpips" / "alex_shift_tolerant.pth").is_file()
    info = json.loads((kit / "kit.json").read_text())
    assert set(info["weights_sha256"]) == {"mtsa", "mtsa-const", "mtsa-guided"}
    assert info["photos"] == {"train": 2, "holdout": 2}

    # a rebuild replaces the kit; a folder that is not a kit is never wiped
    assert pack.main(["--data", str(data), "--weights-dir", str(weights), "--out", str(kit), "--max-train", "1"]) == 0
    assert len(list((kit / "photos" / "train").glob("*.jpg"))) == 1
    other = tmp_path / "precious"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert pack.main(["--data", str(data), "--weights-dir", str(weights), "--out", str(other)]) == 2
    assert (other / "keep.txt").is_file()


def test_pack_fails_clearly_without_checkpoints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _script("pack_gpu_kit")
    data = tmp_path / "photos"
    _photos(data)
    (tmp_path / "empty").mkdir()
    rc = pack.main(["--data", str(data), "--weights-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "kit")])
    assert rc == 2
    assert "missing" in capsys.readouterr().err


def test_gpu_pass_script_parses() -> None:
    import shutil
    import subprocess

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu_pass.sh")], check=True)
