"""ST-LPIPS weights from ``$TEMPERA_STLPIPS_DIR`` when the wheel is not installed (the GPU kit)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch

from app.evaluation import perceptual


def _wheel_alex() -> Path:
    """The installed wheel's AlexNet weights, or skip the test."""
    try:
        return perceptual.stlpips_weights_path("alex")
    except perceptual.PerceptualUnavailable:
        pytest.skip("stlpips-pytorch wheel not installed")


def _without_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the wheel look absent, as on the GPU machine."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == perceptual.STLPIPS_PACKAGE else real(name, *a))


def test_loads_copied_weights_via_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel_file = _wheel_alex()
    reference = perceptual.load_stlpips("alex")  # from the wheel, before it "disappears"
    folder = tmp_path / "stlpips"
    folder.mkdir()
    shutil.copyfile(wheel_file, folder / "alex_shift_tolerant.pth")
    _without_wheel(monkeypatch)
    monkeypatch.delenv(perceptual.STLPIPS_DIR_ENV, raising=False)
    with pytest.raises(perceptual.PerceptualUnavailable):
        perceptual.stlpips_weights_path("alex")

    monkeypatch.setenv(perceptual.STLPIPS_DIR_ENV, str(folder))
    assert perceptual.stlpips_weights_path("alex") == folder / "alex_shift_tolerant.pth"
    net = perceptual.load_stlpips("alex")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 48, 48, generator=g) * 2 - 1
    y = torch.rand(2, 3, 48, 48, generator=g) * 2 - 1
    with torch.no_grad():
        assert torch.equal(net(x, y), reference(x, y))


def test_wheel_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel_file = _wheel_alex()
    monkeypatch.setenv(perceptual.STLPIPS_DIR_ENV, str(tmp_path))  # empty folder: must not matter
    assert perceptual.stlpips_weights_path("alex") == wheel_file


def test_env_folder_without_the_file_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _without_wheel(monkeypatch)
    monkeypatch.setenv(perceptual.STLPIPS_DIR_ENV, str(tmp_path))
    with pytest.raises(perceptual.PerceptualUnavailable, match="vgg_shift_tolerant.pth"):
        perceptual.stlpips_weights_path("vgg")
