"""One photo's fill (app.inference.photo_fill), the steps ``inpaint`` and ``batch`` share."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.cli import main as cli_main
from app.core.errors import TemperaError
from app.core.fill_result import FillResult
from app.core.imageio import load_image
from app.inference.photo_fill import prepare_fill


class Recorder:
    """Fills the hole with the mean of what it is shown outside the hole, and records it."""

    name = "recorder"

    def __init__(self, shape=None) -> None:
        self.calls: list[dict] = []
        self.shape = shape

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None):
        self.calls.append({"rgb": rgb.copy(), "mask": mask.copy(), "protect": protect, "seed": seed})
        out = rgb.copy()
        out[mask] = rgb[~mask].reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
        if self.shape is not None:
            out = np.zeros(self.shape, np.uint8)
        return FillResult(out, self.name)


def _transparent_photo(tmp_path):
    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 255
    rgba[:, :10] = (0, 0, 0, 0)  # a fully transparent strip with hidden black
    path = tmp_path / "cut.png"
    Image.fromarray(rgba, "RGBA").save(path)
    mask = np.zeros((40, 50), bool)
    mask[10:30, 20:40] = True
    return load_image(path), mask


def test_the_engine_is_shown_no_hidden_colour_and_may_not_copy_it(tmp_path):
    img, mask = _transparent_photo(tmp_path)
    user_protect = np.zeros_like(mask)
    user_protect[0:5, 45:50] = True
    job = prepare_fill(img, mask, protect=user_protect, feather=3)
    engine = Recorder()
    filled, result = job.fill(engine, seed=7)
    call = engine.calls[0]
    assert call["seed"] == 7 and result.engine == "recorder"
    assert (call["rgb"][:, :10] != 0).all()  # the hidden black is not what the engine sees
    assert call["protect"][:, :10].all() and call["protect"][0:5, 45:50].all()  # neither is copied from
    assert call["mask"].sum() > mask.sum()  # the feather ring is filled too
    assert (filled[:, :10] == 0).all()  # the file keeps its hidden colours
    assert (filled[mask] == 200).all()
    assert (job.alpha[mask] == 255).all() and (job.alpha[:, :10] == 0).all()  # the fill is visible


def test_nothing_to_copy_from_is_refused_before_any_fill(tmp_path):
    img, mask = _transparent_photo(tmp_path)
    with pytest.raises(TemperaError):
        prepare_fill(img, mask, protect=~mask)


def test_an_engine_returning_the_wrong_shape_is_an_error(tmp_path):
    img, mask = _transparent_photo(tmp_path)
    with pytest.raises(TemperaError, match="recorder engine returned"):
        prepare_fill(img, mask).fill(Recorder(shape=(4, 4, 3)))


def test_inpaint_and_batch_write_the_same_pixels(tmp_path):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 255, (48, 64, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:, :8, 3] = 0
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(rgba, "RGBA").save(photos / "p.png")
    mask = np.zeros((48, 64), np.uint8)
    mask[12:30, 20:44] = 255
    Image.fromarray(mask).save(tmp_path / "p.png")
    one = tmp_path / "one.png"
    assert cli_main(["inpaint", str(photos / "p.png"), "--mask", str(tmp_path / "p.png"), "-o", str(one),
                     "--engine", "telea", "--feather", "4", "--device", "cpu"]) == 0
    out = tmp_path / "out"
    assert cli_main(["batch", "--images", str(photos), "--masks", str(tmp_path / "p.png"), "--out", str(out),
                     "--engine", "telea", "--feather", "4", "--device", "cpu"]) == 0
    a, b = np.asarray(Image.open(one)), np.asarray(Image.open(out / "p.png"))
    assert a.shape == (48, 64, 4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a[..., :3], rgba[..., :3])  # something was filled
