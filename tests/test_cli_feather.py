"""``--feather PX`` for inpaint and batch, ``--protect MASK`` parsing for inpaint."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.cli import main as cli_main
from app.core.feather import DEFAULT_FEATHER_PX
from app.core.maskops import distance_to


@pytest.fixture()
def scene(tmp_path):
    rng = np.random.default_rng(4)
    rgb = (rng.random((60, 80, 3)) * 255).astype(np.uint8)
    img = tmp_path / "photo.png"
    Image.fromarray(rgb).save(img)
    hole = np.zeros((60, 80), bool)
    hole[20:40, 25:55] = True
    mask = tmp_path / "hole.png"
    Image.fromarray(hole.astype(np.uint8) * 255).save(mask)
    return tmp_path, rgb, hole, img, mask


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_inpaint_feather_blends_only_the_ring(scene):
    tmp, rgb, hole, img, mask = scene
    d = distance_to(hole)
    hard, soft = tmp / "hard.png", tmp / "soft.png"
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "telea", "--feather", "0",
                     "-o", str(hard)]) == 0
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "telea", "-o", str(soft)]) == 0
    a, b = _read(hard), _read(soft)
    assert np.array_equal(a[~hole], rgb[~hole])  # 0: a hard edge, outside untouched
    far = d > DEFAULT_FEATHER_PX
    assert np.array_equal(b[far], rgb[far])  # the default feathers, but never beyond PX
    ring = (~hole) & ~far
    assert not np.array_equal(b[ring], rgb[ring])


def test_inpaint_protect_is_checked_like_a_mask(scene, capsys):
    tmp, _rgb, _hole, img, mask = scene
    small = tmp / "small.png"
    Image.new("L", (10, 10), 255).save(small)
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--protect", str(small), "--engine", "telea"]) == 2
    assert "10x10" in capsys.readouterr().err.replace(" ", "")
    everything = tmp / "all.png"
    Image.new("L", (80, 60), 255).save(everything)
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--protect", str(everything),
                     "--engine", "telea"]) == 2
    assert "nothing is left to copy from" in capsys.readouterr().err
    assert not (tmp / "photo-inpainted.png").exists()
    keep = np.zeros((60, 80), np.uint8)
    keep[:, :10] = 255
    Image.fromarray(keep).save(tmp / "keep.png")
    out = tmp / "out.png"
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--protect", str(tmp / "keep.png"),
                     "--engine", "telea", "-o", str(out)]) == 0
    assert out.is_file()
    with pytest.raises(SystemExit):
        cli_main(["inpaint", str(img), "--mask", str(mask), "--feather", "x"])


@pytest.mark.parametrize("engine", ["telea", "patchmatch", pytest.param("mtsa", marks=pytest.mark.shipped_weights)])
def test_inpaint_feather_ring_stops_at_protected_pixels(scene, engine):
    """Protect keeps its pixels as they were, even those inside the feather ring."""
    tmp, rgb, hole, img, mask = scene
    keep = np.zeros((60, 80), bool)
    keep[:, 55:58] = True  # hugging the hole's right side, inside the default ring
    keep[30:33, 10:60] = True  # and a band through the hole: the hole wins there
    Image.fromarray(keep.astype(np.uint8) * 255).save(tmp / "keep.png")
    out = tmp / f"out-{engine}.png"
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--protect", str(tmp / "keep.png"),
                     "--engine", engine, "--feather", "5", "--device", "cpu", "-o", str(out)]) == 0
    got = _read(out)
    outside = keep & ~hole
    assert np.array_equal(got[outside], rgb[outside])
    ring = (~hole) & ~keep & (distance_to(hole) <= 5)
    assert not np.array_equal(got[ring], rgb[ring])  # the rest of the ring is still feathered


def test_batch_feather(scene, capsys):
    tmp, rgb, hole, img, mask = scene
    (tmp / "imgs").mkdir()
    (tmp / "masks").mkdir()
    img.rename(tmp / "imgs" / "photo.png")
    mask.rename(tmp / "masks" / "photo.png")
    d = distance_to(hole)
    for px, out in ((0, "hard"), (5, "soft")):
        assert cli_main(["batch", "--images", str(tmp / "imgs"), "--masks", str(tmp / "masks"),
                         "--out", str(tmp / out), "--engine", "telea", "--feather", str(px)]) == 0
    a, b = _read(tmp / "hard" / "photo.png"), _read(tmp / "soft" / "photo.png")
    assert np.array_equal(a[~hole], rgb[~hole])
    assert np.array_equal(b[d > 5], rgb[d > 5]) and not np.array_equal(b[d <= 5], a[d <= 5])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:  # argparse's one-line usage error
        cli_main(["batch", "--images", str(tmp / "imgs"), "--masks", str(tmp / "masks"),
                  "--out", str(tmp / "x"), "--feather", "-1"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--feather: must be 0-100 pixels, got -1" in err and "\n" not in err


def test_batch_cancelled_exits_130_even_when_something_failed(scene, monkeypatch, capsys):
    """A script resumes a cancelled batch (--skip-existing) by its exit status, 130."""
    import app.inference.batch as batch_mod
    from app.inference.batch import BatchReport

    tmp, _rgb, _hole, img, mask = scene
    (tmp / "imgs").mkdir()
    (tmp / "masks").mkdir()
    img.rename(tmp / "imgs" / "photo.png")
    mask.rename(tmp / "masks" / "photo.png")

    def fake(*_a, **_k):
        return BatchReport(failed=[("photo.png", "bad mask")], cancelled=True, total=3, engine="telea")

    monkeypatch.setattr(batch_mod, "run_batch", fake)
    args = ["batch", "--images", str(tmp / "imgs"), "--masks", str(tmp / "masks"), "--out", str(tmp / "o"),
            "--engine", "telea"]
    assert cli_main(args) == 130
    monkeypatch.setattr(batch_mod, "run_batch", lambda *a, **k: BatchReport(failed=[("photo.png", "x")], total=1))
    assert cli_main(args) == 1
