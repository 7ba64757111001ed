"""Shared test fixtures. Qt runs offscreen so GUI tests work on headless CI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# `pytest` (not only `python -m pytest`) from a plain checkout: make `import app` work.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


def gradient_rgb(width: int = 48, height: int = 32) -> np.ndarray:
    """A smooth, asymmetric test picture: rotations and flips all give different arrays."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    b = ((x + 2 * y) % 256).astype(np.uint8)
    return np.dstack([r, g, b])


@pytest.fixture
def photo_path(tmp_path: Path) -> Path:
    """A small synthetic RGB JPEG (48 x 32) carrying EXIF (camera make, orientation 1)."""
    exif = Image.Exif()
    exif[0x010F] = "TemperaCam"  # Make
    exif[0x0112] = 1  # Orientation: upright
    path = tmp_path / "photo.jpg"
    Image.fromarray(gradient_rgb()).save(path, "JPEG", quality=95, exif=exif)
    return path


@pytest.fixture(autouse=True)
def _no_shipped_weights(request, tmp_path_factory, monkeypatch):
    """Tests see an empty weights folder unless marked ``shipped_weights``.

    Behaviour under test (auto's fallback, "not installed" errors, timings of random
    networks) must not change when checkpoints are added to model_weights/; the shipped
    files themselves are checked in tests/test_shipped_weights.py.
    """
    if request.node.get_closest_marker("shipped_weights"):
        monkeypatch.delenv("TEMPERA_WEIGHTS", raising=False)
        return
    monkeypatch.setenv("TEMPERA_WEIGHTS", str(tmp_path_factory.mktemp("no_weights")))


@pytest.fixture(autouse=True)
def _own_config_dirs(tmp_path_factory, monkeypatch):
    """Every test gets empty settings and autosave folders: the developer's own settings
    (brush size, recent files, the batch dialog's folders) must not change what a test
    sees, and no test may leave an autosaved session that the real editor then offers to
    restore."""
    monkeypatch.setenv("TEMPERA_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("TEMPERA_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(autouse=True)
def _mask_question_answered(monkeypatch):
    """Closing a window with a painted mask asks whether to drop it (a modal box that would
    wait forever offscreen): tests drop it unless they answer the question themselves."""
    if "app.ui.dialogs" not in sys.modules:
        import importlib.util

        if importlib.util.find_spec("PySide6") is None:
            return
    from app.ui import dialogs

    monkeypatch.setattr(dialogs, "ask_discard_mask", lambda *a: True)
