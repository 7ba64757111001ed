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

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        self.calls.append({"rgb": rgb.copy(), "mask": mask.copy(), "protect": protect, "seed": seed, "drawn": drawn})
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
    assert np.array_equal(call["drawn"], mask)  # and the hole as drawn is said (auto classifies it)
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


def test_auto_routes_a_feathered_scratch_as_the_scratch_that_was_drawn(tmp_path):
    """The routes were measured on holes as drawn: the feather ring around a 3-px scratch
    must not make auto take it for a wider hole (and run a network for nothing)."""
    import json

    from app.inference.engines import load_engine

    (tmp_path / "auto.json").write_text(json.dumps({"routes": {"thin": ["ns"]}}))
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "p.png")
    mask = np.zeros((96, 128), bool)
    mask[40:43, 10:118] = True  # a scratch 3 px wide
    auto = load_engine("auto", "cpu", tmp_path)
    job = prepare_fill(load_image(tmp_path / "p.png"), mask, feather=3)
    assert not auto.choose(rgb, job.hole, None)[1].thin  # grown by the ring it is no scratch
    assert auto.fill(job.seen, job.hole).engine != "ns"
    _, result = job.fill(auto)
    assert result.engine == "ns"  # the scratch's route
