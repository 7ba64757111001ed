"""predict(), checkpoints and engines on the CPU with small random networks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from app.core.errors import TemperaError
from app.inference import engines as engines_mod
from app.inference import patchmatch
from app.inference.auto import AutoEngine
from app.inference.checkpoint import load_generator, save_checkpoint
from app.inference.device import resolve_device
from app.inference.engines import NetworkEngine, installed_checkpoints, load_engine
from app.inference.predict import explain, predict
from app.model import InpaintGenerator, ModelConfig


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return InpaintGenerator(ModelConfig(channels=8, heads=2)).eval()


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    rgb = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    mask = np.zeros((h, w), bool)
    mask[h // 4 : h // 2, w // 3 : 2 * w // 3] = True
    return rgb, mask


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (101, 7 * 13)])
def test_output_size_equals_input_for_odd_sizes(generator, size):
    rgb, mask = _photo(*size)
    out = predict(generator, rgb, mask)
    assert out.shape == rgb.shape and out.dtype == np.uint8


def test_pixels_outside_the_hole_are_untouched(generator):
    rgb, mask = _photo(90, 120)
    out = predict(generator, rgb, mask)
    assert np.array_equal(out[~mask], rgb[~mask])
    assert not np.array_equal(out[mask], rgb[mask])


def test_the_network_reads_no_protected_pixel(generator):
    rgb, mask = _photo(64, 80, seed=5)
    protect = np.zeros_like(mask)
    protect[8:40, 10:26] = True  # beside the hole, left of it
    other = rgb.copy()
    other[protect] = 255 - other[protect]
    a = predict(generator, rgb, mask, protect=protect)
    b = predict(generator, other, mask, protect=protect)
    assert np.array_equal(a[mask], b[mask])  # their colour reaches the fill neither way
    for side in (32, 40):  # nor when the fill is made smaller and scaled up into the hole
        small_a = predict(generator, rgb, mask, protect=protect, work_side=side)
        small_b = predict(generator, other, mask, protect=protect, work_side=side)
        assert np.array_equal(small_a[mask], small_b[mask])
    assert np.array_equal(a[~mask], rgb[~mask])  # and they are not written
    # without the protection the same change does reach the fill
    assert not np.array_equal(predict(generator, rgb, mask)[mask], predict(generator, other, mask)[mask])


def test_a_black_and_white_photo_stored_as_rgb_gets_no_colour_in_its_fill(generator):
    rgb, mask = _photo(64, 80, seed=6)
    gray = np.repeat(rgb[..., :1], 3, axis=2)
    gray[::7, ::5, 2] += 2  # JPEG-like chroma noise: still black and white
    engine = NetworkEngine("mtsa", generator, torch.device("cpu"))
    out = engine.fill(gray, mask).image
    assert (out[mask][:, 0] == out[mask][:, 1]).all() and (out[mask][:, 1] == out[mask][:, 2]).all()
    assert np.array_equal(out[~mask], gray[~mask])
    coloured = engine.fill(rgb, mask).image  # a colour photo keeps the network's colours
    assert (coloured[mask][:, 0] != coloured[mask][:, 1]).any()


def test_a_large_photo_s_crops_each_give_a_chance_to_stop(generator):
    rgb = np.zeros((300, 1000, 3), np.uint8)
    mask = np.zeros((300, 1000), bool)
    mask[100:140, 60:100] = True
    mask[100:140, 880:920] = True  # far apart: two crops
    calls: list[int] = []
    predict(generator, rgb, mask, trigger=256, between=lambda: calls.append(1))
    assert len(calls) == 2

    class Stop(Exception):
        pass

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        predict(generator, rgb, mask, trigger=256, between=stop)


def test_empty_mask_returns_a_copy(generator):
    rgb, _ = _photo(40, 40)
    out = predict(generator, rgb, np.zeros((40, 40), bool))
    assert np.array_equal(out, rgb) and out is not rgb


def _network_inputs(generator):
    """Record the (h, w) of every image the generator is run on; returns (sizes, remove)."""
    seen: list[tuple[int, int]] = []
    handle = generator.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    return seen, handle.remove


@pytest.mark.slow  # a 1600 x 1200 photo
def test_hd_crop_never_runs_the_whole_photo(generator):
    rgb, _ = _photo(1200, 1600)
    mask = np.zeros((1200, 1600), bool)
    mask[100:140, 200:260] = True
    mask[100:110, 280:290] = True  # 20 px from the first hole: filled in the same crop
    mask[900:950, 1300:1380] = True
    seen, remove = _network_inputs(generator)
    try:
        out = predict(generator, rgb, mask, trigger=800, margin=128)
    finally:
        remove()
    assert len(seen) == 2 and all(max(s) <= 800 for s in seen)
    assert np.array_equal(out[~mask], rgb[~mask])
    assert not np.array_equal(out[mask], rgb[mask])


@pytest.mark.slow  # a 1000 x 900 photo
def test_hd_resize_strategy_keeps_size_and_known_pixels(generator):
    rgb, mask = _photo(900, 1000)
    out = predict(generator, rgb, mask, hd="resize", trigger=400)
    assert out.shape == rgb.shape and np.array_equal(out[~mask], rgb[~mask])


def test_work_side_fills_at_that_short_side_and_keeps_known_pixels(generator):
    rgb, mask = _photo(120, 200)
    seen, remove = _network_inputs(generator)
    try:
        out = predict(generator, rgb, mask, work_side=48)
        small = predict(generator, rgb[20:60, 60:120], mask[20:60, 60:120], work_side=48)  # already smaller
    finally:
        remove()
    assert seen[0][0] >= 48 and seen[0][0] < 120  # 48 rounded up to the network's multiple of 8
    assert seen[1] == (40, 64)  # filled as it is (padded to a multiple of 8)
    assert out.shape == rgb.shape and np.array_equal(out[~mask], rgb[~mask])
    assert not np.array_equal(out[mask], rgb[mask]) and small.shape == (40, 60, 3)


def test_work_side_fills_a_large_photos_crops_at_its_scale_but_not_below_the_floor(generator):
    from app.inference import predict as predict_mod

    # a 1000 x 600 photo at work side 300 has a work scale of 0.5: a crop of 300 x 260
    # goes through at half size, a crop whose half would be under MIN_CROP_SIDE at that floor
    assert predict_mod._crop_scale((600, 1000), (260, 300), 300) == 0.5
    assert predict_mod._crop_scale((600, 1000), (200, 160), 300) == 128 / 160
    assert predict_mod._crop_scale((600, 1000), (100, 90), 300) == 1.0
    assert predict_mod._crop_scale((600, 1000), (260, 300), None) == 1.0
    rgb, _ = _photo(600, 1000)
    mask = np.zeros((600, 1000), bool)
    mask[100:230, 100:200] = True  # its crop: 258 x 228 with the margin of 64 on each side
    seen, remove = _network_inputs(generator)
    try:
        out = predict(generator, rgb, mask, trigger=800, margin=128, work_side=300)
        full = predict(generator, rgb, mask, trigger=800, margin=128)
    finally:
        remove()
    assert max(seen[0]) < 200 and min(seen[1]) >= 228  # half size with work_side, full without
    assert np.array_equal(out[~mask], rgb[~mask]) and not np.array_equal(out[mask], rgb[mask])
    assert np.array_equal(full[~mask], rgb[~mask])


def test_sparse_predict_gives_a_large_photos_crops_over_it_without_a_copy(generator):
    from app.inference.predict import PatchedImage

    rgb, _ = _photo(600, 1000)
    mask = np.zeros((600, 1000), bool)
    mask[100:160, 100:200] = True
    mask[400:450, 700:800] = True  # far apart: two crops
    dense = predict(generator, rgb, mask, trigger=800, margin=128, work_side=300)
    sparse = predict(generator, rgb, mask, trigger=800, margin=128, work_side=300, sparse=True)
    assert isinstance(sparse, PatchedImage) and len(sparse.patches) == 2 and sparse.shape == rgb.shape
    assert np.array_equal(np.asarray(sparse), dense)
    for box in ((slice(50, 300), slice(20, 260)), (slice(0, 600), slice(650, 1000)), (slice(500, 600), slice(0, 50)),
                (slice(None), slice(None))):
        assert np.array_equal(sparse[box], dense[box])  # any box: the same pixels
    small = predict(generator, rgb[:200, :300], mask[:200, :300], sparse=True)  # goes through whole
    assert isinstance(small, np.ndarray)


def test_explain_attention_avoids_the_hole(generator):
    rgb, mask = _photo(96, 128)
    result = explain(generator, rgb, mask, None, (60, 30))
    att = result["attention"]
    assert att.shape == mask.shape and abs(att.sum() - 1) < 1e-4
    assert att[mask].sum() < 1e-6
    assert result["temperature"].shape == mask.shape


def test_explain_works_with_patch_attention():
    from app.model import InpaintGenerator, ModelConfig

    torch.manual_seed(0)
    g = InpaintGenerator(ModelConfig(attention_patch=3)).eval()
    rgb, mask = _photo(96, 128)
    result = explain(g, rgb, mask, None, (60, 30))
    assert abs(result["attention"].sum() - 1) < 1e-4 and result["attention"][mask].sum() < 1e-6
    assert 0 < result["attn_distinct"] <= 1


def test_explain_leaves_nothing_behind(generator):
    # the attention record travels in the return value: explaining twice gives the same
    # maps, and fills before and after an explain are identical
    rgb, mask = _photo(64, 80, seed=3)
    fill = predict(generator, rgb, mask)
    first = explain(generator, rgb, mask, None, (40, 20))
    second = explain(generator, rgb, mask, None, (40, 20))
    for key in ("attention", "temperature", "grid"):
        assert np.array_equal(first[key], second[key])
    assert np.array_equal(predict(generator, rgb, mask), fill)


def test_checkpoint_round_trip(tmp_path, generator):
    path = save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config, {"steps": 3})
    loaded, info = load_generator(path)
    assert info["meta"]["steps"] == 3 and loaded.config == generator.config
    for a, b in zip(generator.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_truncated_checkpoint_is_a_clear_error(tmp_path, generator):
    path = save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(TemperaError, match="SHA-256"):
        load_generator(path)
    with pytest.raises(TemperaError, match="could not be read"):
        load_generator(path, verify=False)


def test_mismatched_checkpoint_is_a_clear_error(tmp_path, generator):
    path = save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    info = json.loads(path.with_suffix(".json").read_text())
    info["config"]["channels"] = 16
    path.with_suffix(".json").write_text(json.dumps(info))
    with pytest.raises(TemperaError, match="does not fit its config"):
        load_generator(path)


class _Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def test_checkpoint_cannot_execute_code(tmp_path, generator, capsys):
    path = save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    torch.save({"x": _Boom()}, path)
    with pytest.raises(TemperaError):
        load_generator(path, verify=False)
    assert "pwned" not in capsys.readouterr().out


def test_missing_sidecar(tmp_path, generator):
    path = save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    path.with_suffix(".json").unlink()
    with pytest.raises(TemperaError, match="sidecar"):
        load_generator(path)


def test_engines_by_name(tmp_path, generator):
    rgb, mask = _photo(64, 80)
    for name in ("telea", "ns"):
        result = load_engine(name).fill(rgb, mask)
        assert result.engine == name and np.array_equal(result.image[~mask], rgb[~mask])
    with pytest.raises(TemperaError, match="not installed"):
        load_engine("mtsa", "cpu", tmp_path)
    with pytest.raises(TemperaError, match="unknown engine"):
        load_engine("deepfill")
    save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    assert set(installed_checkpoints(tmp_path)) == {"mtsa"}
    engine = load_engine("mtsa", "cpu", tmp_path)
    assert engine.device == "CPU"
    assert engine.fill(rgb, mask).image.shape == rgb.shape
    with pytest.raises(TemperaError, match="mask is 80 x 10"):
        engine.fill(rgb, np.zeros((10, 80), bool))


def test_guided_network_hands_a_hole_without_strokes_to_the_plain_one(tmp_path, generator):
    rgb, mask = _photo(64, 80)
    guided = InpaintGenerator(ModelConfig(channels=8, heads=2, guided=True))
    save_checkpoint(tmp_path / "mtsa-guided.pt", guided, guided.config)
    alone = load_engine("mtsa-guided", "cpu", tmp_path)
    assert alone.fill(rgb, mask).engine == "mtsa-guided"  # no plain network installed: fills itself
    save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    engine = load_engine("mtsa-guided", "cpu", tmp_path)
    plain = load_engine("mtsa", "cpu", tmp_path).fill(rgb, mask).image
    sketch = np.zeros(mask.shape, np.uint8)
    sketch[~mask] = 255  # strokes outside the hole do not count
    for sk in (None, sketch):
        result = engine.fill(rgb, mask, sk)
        assert result.engine == "mtsa" and np.array_equal(result.image, plain)
    ys, xs = np.nonzero(mask)
    sketch[ys.min():ys.max(), xs.mean().astype(int)] = 255  # a stroke down the hole
    steered = engine.fill(rgb, mask, sketch)
    assert steered.engine == "mtsa-guided" and not np.array_equal(steered.image, plain)
    # the attention view explains the network that fills
    point = (int(xs.mean()), int(ys.mean()))
    assert np.array_equal(engine.explain(rgb, mask, None, point)["attention"],
                          load_engine("mtsa", "cpu", tmp_path).explain(rgb, mask, None, point)["attention"])
    # auto's guided network does the same, with auto's own plain network
    auto = load_engine("auto", "cpu", tmp_path)
    assert auto.engine("mtsa-guided").fill(rgb, mask).engine == "mtsa"
    assert auto.engine("mtsa-guided").without_strokes is auto.engine("mtsa")
    # and so does the texture engine, built by name or by auto: one network of each kind
    if patchmatch.unavailable_reason() is None:
        for texture in (load_engine("mtsa-texture", "cpu", tmp_path), auto.engine("mtsa-texture")):
            assert texture.guided_network.without_strokes is texture.network
        assert auto.engine("mtsa-texture").network is auto.engine("mtsa")


def test_auto_without_checkpoints_says_so_and_uses_what_is_there(tmp_path):
    rgb, _ = _photo(100, 100)
    auto = load_engine("auto", "cpu", tmp_path)
    assert isinstance(auto, AutoEngine) and "no MTSA checkpoint" in auto.startup_notice
    assert "no recorded routes" in auto.startup_notice
    large = np.zeros((100, 100), bool)
    large[10:60, 10:80] = True  # 35 % -> bucket 30-40
    result = auto.fill(rgb, large)
    assert result.engine == "patchmatch"  # the default order's first available engine
    assert np.array_equal(result.image[~large], rgb[~large])


def test_one_place_says_which_engines_can_be_had(tmp_path, generator, monkeypatch):
    from app.inference.engines import EngineSet

    engines = EngineSet("cpu", tmp_path)
    assert engines.unavailable("telea") is None
    assert "mtsa.pt" in engines.unavailable("mtsa") and "mtsa-guided.pt" in engines.unavailable("mtsa-guided")
    save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    engines = EngineSet("cpu", tmp_path)
    assert engines.unavailable("mtsa") is None
    with pytest.raises(TemperaError, match="mtsa-guided.pt"):
        engines.get("mtsa-guided")  # building says what checking says
    monkeypatch.setattr(patchmatch, "_STATE", {"module": None, "why": "OSError: no .so"})
    assert "needs PatchMatch" in engines.unavailable("mtsa-texture")
    assert load_engine("auto", "cpu", tmp_path).available == ["telea", "ns", "mtsa"]
    monkeypatch.undo()
    if patchmatch.unavailable_reason() is None:
        assert engines.unavailable("mtsa-texture") is None
        assert load_engine("auto", "cpu", tmp_path).available == ["telea", "ns", "patchmatch", "mtsa", "mtsa-texture"]


def test_auto_follows_the_recorded_routes(tmp_path, generator):
    import json

    rgb, _ = _photo(100, 100)
    small = np.zeros((100, 100), bool)
    small[40:52, 40:52] = True  # 1.4 % -> bucket 10-20 (clamped)
    large = np.zeros((100, 100), bool)
    large[10:60, 10:80] = True  # 35 % -> bucket 30-40
    save_checkpoint(tmp_path / "mtsa.pt", generator, generator.config)
    routes = {}
    for texture in ("smooth", "textured"):
        routes[f"10-20/{texture}/plain"] = ["ns", "mtsa"]
        routes[f"30-40/{texture}/plain"] = ["mtsa", "telea"]
    (tmp_path / "auto.json").write_text(json.dumps({"routes": routes}))
    auto = load_engine("auto", "cpu", tmp_path)
    assert auto.startup_notice is None or "routes" not in auto.startup_notice
    first, second = auto.fill(rgb, small), auto.fill(rgb, large)
    assert first.engine == "ns" and second.engine == "mtsa"
    assert not hasattr(auto, "last_choice")  # nothing to fish out of the engine
    # the attention view explains with the engine that fills that hole
    assert auto.explain(rgb, small, None, (45, 45)) is None
    assert auto.explain(rgb, large, None, (40, 30))["attention"].shape == large.shape
    # strokes in the hole: only sketch-following engines; none installed -> the texture engine
    sketch = np.zeros((100, 100), np.uint8)
    sketch[30, 10:80] = 255
    assert auto.fill(rgb, large, sketch).engine == "mtsa-texture"


def test_cuda_out_of_memory_retries_on_cpu(generator, monkeypatch):
    rgb, mask = _photo(48, 48)
    engine = NetworkEngine("mtsa", generator, torch.device("cpu"))
    engine.torch_device = torch.device("cuda")  # pretend: the first call "runs out" there
    calls = []

    def fake_predict(gen, *args, device, **kwargs):
        calls.append(device.type)
        if device.type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return predict(gen, *args, device=device, **kwargs)

    monkeypatch.setattr(engines_mod, "predict", fake_predict)
    monkeypatch.setattr(engines_mod.torch.cuda, "is_available", lambda: False)
    result = engine.fill(rgb, mask)
    assert calls == ["cuda", "cpu"] and result.image.shape == rgb.shape
    assert "out of memory" in result.notice and engine.device == "CPU" and result.device == "CPU"
    assert engine.fill(rgb, mask).notice is None and calls[-1] == "cpu"  # stays on the CPU, said once


def test_a_fill_whose_network_moved_to_the_cpu_under_it_follows_it_there(generator, monkeypatch):
    rgb, mask = _photo(48, 48)
    engine = NetworkEngine("mtsa", generator, torch.device("cpu"))
    engine.torch_device = torch.device("cuda")  # pretend: two fills run at once on a GPU
    calls = []

    def fake_predict(gen, *args, device, **kwargs):
        calls.append(device.type)
        if device.type == "cuda":
            # the other fill ran out of memory and moved the network: this one now fails
            # with a device mismatch, not with an out-of-memory error of its own
            engine.torch_device = torch.device("cpu")
            raise RuntimeError("Expected all tensors to be on the same device")
        return predict(gen, *args, device=device, **kwargs)

    monkeypatch.setattr(engines_mod, "predict", fake_predict)
    result = engine.fill(rgb, mask)
    assert calls == ["cuda", "cpu"] and "continuing on the CPU" in result.notice
    engine.torch_device = torch.device("cuda")

    def broken(gen, *args, device, **kwargs):
        raise RuntimeError("a real bug")  # the device did not change: the error stands

    monkeypatch.setattr(engines_mod, "predict", broken)
    with pytest.raises(RuntimeError, match="a real bug"):
        engine.fill(rgb, mask)


def test_device_resolution(monkeypatch):
    monkeypatch.delenv("TEMPERA_DEVICE", raising=False)
    assert resolve_device("cpu").type == "cpu"
    monkeypatch.setenv("TEMPERA_DEVICE", "cpu")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(TemperaError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(TemperaError, match="no CUDA"):
            resolve_device("cuda")


def test_hole_regions_are_found_inside_the_holes_bounding_box_alike_the_whole_image():
    """``_regions`` only looks at the holes' bounding box grown by the margin; the boxes are
    those of the whole-image dilation, for holes anywhere (edges, corners, several)."""
    import cv2

    from app.inference.predict import _regions

    def whole_image(mask: np.ndarray, margin: int) -> list[tuple[int, int, int, int]]:
        h, w = mask.shape
        grow = cv2.dilate(mask.astype(np.uint8), np.ones((margin + 1, margin + 1), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(grow, connectivity=8)
        half = margin // 2
        return sorted((max(0, y - half), min(h, y + bh + half), max(0, x - half), min(w, x + bw + half))
                      for x, y, bw, bh, _ in stats[1:count])

    rng = np.random.default_rng(0)
    for trial in range(40):
        mask = np.zeros((300, 400), bool)
        for _ in range(rng.integers(1, 4)):
            y, x = rng.integers(0, 300), rng.integers(0, 400)
            mask[y : y + rng.integers(1, 60), x : x + rng.integers(1, 60)] = True
        margin = int(rng.integers(1, 120))
        assert sorted(_regions(mask, margin)) == whole_image(mask, margin), trial
    assert _regions(np.zeros((50, 50), bool), 16) == []


@pytest.mark.parametrize("short, thinned", [(256, False), (512, False), (1024, True)])
def test_strokes_reach_a_guided_network_at_the_width_it_was_trained_with(short, thinned, monkeypatch):
    """The pen is as wide relative to the photo as training strokes were to a 256-px image;
    a network filling a large photo at full size gets them redrawn at the trained width."""
    import cv2

    from app.core.names import SKETCH_STROKE_WIDTH, stroke_width_for
    from app.inference import predict as predict_mod

    torch.manual_seed(0)
    guided = InpaintGenerator(ModelConfig(channels=8, heads=2, guided=True)).eval()
    rgb, _ = _photo(short, short)
    mask = np.zeros((short, short), bool)
    mask[short // 4 : 3 * short // 4, short // 4 : 3 * short // 4] = True
    sketch = np.zeros((short, short), np.uint8)
    pen = stroke_width_for((short, short))
    cv2.line(sketch, (short // 5, short // 2), (4 * short // 5, short // 2 + short // 10), 255, pen)
    seen: list[np.ndarray] = []
    real = predict_mod._prepare

    def spy(generator, rgb, mask, sketch, *args, **kw):
        seen.append(sketch)
        return real(generator, rgb, mask, sketch, *args, **kw)

    monkeypatch.setattr(predict_mod, "_prepare", spy)
    out = predict(guided, rgb, mask, sketch, trigger=2000)  # the whole photo at full size
    assert np.array_equal(out[~mask], rgb[~mask])
    given = seen[0] > 127
    if not thinned:
        assert np.array_equal(given, sketch > 127)
        return
    assert pen >= 4 * SKETCH_STROKE_WIDTH
    across = given[:, short // 2]  # a column through the stroke's middle
    assert 1 <= across.sum() <= SKETCH_STROKE_WIDTH + 1 < (sketch[:, short // 2] > 127).sum()
    # along its middle: inside the pen's stroke, as long as it less its round ends
    assert not (given & ~(cv2.dilate(sketch, np.ones((3, 3), np.uint8)) > 127)).any()
    assert given[:, short // 5 + pen : 4 * short // 5 - pen].any(axis=0).all()
