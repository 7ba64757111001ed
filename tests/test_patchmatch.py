"""PatchMatch engine, the texture stage and auto's situations (issue: fills with real texture)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core.errors import TemperaError
from app.inference import patchmatch
from app.inference.engines import load_engine
from app.inference.situation import is_thin, ring_texture, situation
from app.inference.texture import GENTLE_LIMIT, combine, texture_stage

ROOT = Path(__file__).resolve().parent.parent
needs_pm = pytest.mark.skipif(patchmatch.unavailable_reason() is not None, reason="pypatchmatch not installed")


def stripes(h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.arange(w)[None, :, None]
    base = np.where((x // 4) % 2 == 0, 200, 60) + np.zeros((h, 1, 3))
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def two_halves(h: int = 64, w: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top half red, bottom half green; a hole in the red half; protect = the rest of the red half."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[: h // 2] = (220, 30, 30)
    rgb[h // 2 :] = (30, 200, 40)
    mask = np.zeros((h, w), bool)
    mask[8:20, 20:44] = True
    protect = np.zeros((h, w), bool)
    protect[: h // 2] = True
    return rgb, mask, protect


@needs_pm
def test_patchmatch_copies_texture_and_keeps_known_pixels():
    rgb = stripes()
    mask = np.zeros(rgb.shape[:2], bool)
    mask[20:44, 30:62] = True
    result = load_engine("patchmatch").fill(rgb, mask)
    assert result.engine == "patchmatch" and result.device == "CPU" and result.notice is None
    assert np.array_equal(result.image[~mask], rgb[~mask])
    # texture, not a smear: the fill's spread matches the stripes', Telea's does not
    inside = result.image[mask].astype(float).std()
    smooth = load_engine("telea").fill(rgb, mask).image[mask].astype(float).std()
    assert inside > 0.7 * rgb[~mask].astype(float).std() and inside > 1.5 * smooth


@needs_pm
def test_protected_pixels_are_never_copied_from():
    rgb, mask, protect = two_halves()
    free = load_engine("patchmatch").fill(rgb, mask).image[mask].astype(int)
    shielded = load_engine("patchmatch").fill(rgb, mask, protect=protect).image
    assert free[:, 0].mean() > 150  # unprotected: red from around the hole
    assert shielded[mask][:, 1].mean() > 150 and shielded[mask][:, 0].mean() < 80  # only green was allowed
    assert np.array_equal(shielded[~mask], rgb[~mask])  # protected pixels themselves stay


@pytest.mark.parametrize("name", ["telea", "ns"])
def test_diffusion_reads_no_protected_pixel(name):
    rgb, mask, protect = two_halves()
    free = load_engine(name).fill(rgb, mask).image[mask].astype(int)
    shielded = load_engine(name).fill(rgb, mask, protect=protect).image
    assert free[:, 0].mean() > 150  # unprotected: red from around the hole
    assert shielded[mask][:, 1].mean() > 150 and shielded[mask][:, 0].mean() < 80  # only green was allowed
    assert np.array_equal(shielded[~mask], rgb[~mask])  # protected pixels themselves stay


@needs_pm
def test_seeds_give_variations_and_repeat_exactly():
    rgb = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    mask = np.zeros((48, 64), bool)
    mask[12:36, 16:48] = True
    engine = load_engine("patchmatch")
    a, b, a2 = (engine.fill(rgb, mask, seed=s).image for s in (0, 1, 0))
    assert np.array_equal(a, a2) and not np.array_equal(a, b)
    assert engine.randomized and not load_engine("telea").randomized


def test_crop_boxes_hold_each_region_with_context_and_merge_overlaps():
    mask = np.zeros((400, 600), bool)
    mask[10:20, 10:20] = True
    mask[300:340, 500:560] = True
    mask[30:40, 30:40] = True  # near the first: their boxes overlap and merge
    boxes = patchmatch.crop_boxes(mask, min_margin=16, max_margin=64)
    assert len(boxes) == 2
    covered = np.zeros_like(mask)
    for y0, y1, x0, x1 in boxes:
        covered[y0:y1, x0:x1] = True
        assert (y1 - y0) * (x1 - x0) < mask.size / 4  # context, not the whole photo
    assert covered[mask].all()


@needs_pm
def test_separate_holes_are_searched_at_once_with_the_same_fill_as_one_by_one(monkeypatch):
    rgb = stripes(120, 480, seed=5)
    mask = np.zeros(rgb.shape[:2], bool)
    for x in (20, 140, 260, 380):  # four holes whose crops do not meet
        mask[40:70, x : x + 40] = True
    boxes = patchmatch.crop_boxes(mask, min_margin=16, max_margin=32)
    assert len(boxes) == 4
    threads: set[str] = set()
    real = patchmatch._fill_crop

    def spy(*args, **kw):
        import threading

        threads.add(threading.current_thread().name)
        return real(*args, **kw)

    monkeypatch.setattr(patchmatch, "_fill_crop", spy)
    monkeypatch.setattr(patchmatch, "search_threads", lambda n: min(n, 2))
    seen: list[tuple[int, int]] = []
    together = patchmatch.patchmatch_fill(rgb, mask, seed=3, boxes=boxes, progress=lambda d, t: seen.append((d, t)))
    assert len(threads) == 2 and all(name.startswith("patchmatch-crop") for name in threads)
    assert [c for c in seen if c != (0, 0)] == [(1, 4), (2, 4), (3, 4), (4, 4)]  # (0, 0): heartbeats
    monkeypatch.setattr(patchmatch, "search_threads", lambda n: 1)
    threads.clear()
    alone = patchmatch.patchmatch_fill(rgb, mask, seed=3, boxes=boxes)
    assert len(threads) == 1
    assert np.array_equal(together, alone) and np.array_equal(together[~mask], rgb[~mask])


def test_search_threads_are_bounded_by_regions_and_cores():
    assert patchmatch.search_threads(1) == 1 and patchmatch.search_threads(0) == 1
    assert 1 <= patchmatch.search_threads(100) <= patchmatch.MAX_SEARCH_THREADS


def test_the_seed_gate_lets_one_seed_in_together_and_holds_another_back():
    import threading
    import time

    class Lib:
        def __init__(self):
            self.seeds: list[int] = []

        def set_random_seed(self, seed):
            self.seeds.append(seed)

    gate, lib, order = patchmatch._SeedGate(), Lib(), []
    inside = threading.Event()
    release = threading.Event()

    def run(seed, wait):
        with gate.hold(lib, seed):
            order.append(("in", seed))
            inside.set()
            if wait:
                release.wait(5)
            order.append(("out", seed))

    first = threading.Thread(target=run, args=(1, True))
    first.start()
    inside.wait(5)
    run(1, False)  # the same seed goes in beside the running fill
    other = threading.Thread(target=run, args=(2, False))
    other.start()
    time.sleep(0.1)
    assert ("in", 2) not in order  # another seed waits for the running fill
    release.set()
    first.join(5)
    other.join(5)
    last_out = max(i for i, event in enumerate(order) if event == ("out", 1))
    assert order.index(("in", 2)) > last_out and lib.seeds == [1, 2]


def test_the_seed_gate_takes_turns_in_order_so_a_stream_of_one_seed_cannot_starve_another():
    import threading
    import time

    class Lib:
        def set_random_seed(self, seed):
            pass

    gate, lib, order = patchmatch._SeedGate(), Lib(), []
    lock = threading.Lock()

    def run(seed, tag, hold=0.05):
        with gate.hold(lib, seed):
            with lock:
                order.append(("in", tag))
            time.sleep(hold)
            with lock:
                order.append(("out", tag))

    threads = []
    for seed, tag in ((1, "a"), (2, "other"), (1, "b"), (1, "c")):  # "other" arrives before b and c
        threads.append(threading.Thread(target=run, args=(seed, tag), kwargs={"hold": 0.2 if tag == "a" else 0.05}))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while gate._tickets < len(threads) and time.monotonic() < deadline:  # it has arrived
            time.sleep(0.001)
    for t in threads:
        t.join(5)
    entered = [tag for event, tag in order if event == "in"]
    assert entered == ["a", "other", "b", "c"] or entered == ["a", "other", "c", "b"]
    # b and c (one seed) went in together once "other" was done
    assert order.index(("in", "b")) > order.index(("out", "other"))
    assert order.index(("in", "c")) < order.index(("out", "b")) or order.index(("in", "b")) < order.index(("out", "c"))


def test_unavailable_library_is_one_line_and_nothing_else_breaks(monkeypatch):
    monkeypatch.setattr(patchmatch, "_STATE", {"module": None, "why": "OSError: libpatchmatch.so: cannot open"})
    with pytest.raises(TemperaError, match=r"PatchMatch is not available .*pip install pypatchmatch") as info:
        load_engine("patchmatch")
    assert "\n" not in str(info.value)
    with pytest.raises(TemperaError, match="needs PatchMatch"):
        load_engine("mtsa-texture", "cpu")
    rgb, mask, _ = two_halves()
    auto = load_engine("auto", "cpu")
    assert "PatchMatch is not available" in auto.startup_notice
    assert auto.fill(rgb, mask).engine == "telea"  # the default order's first available engine


@needs_pm
@pytest.mark.parametrize("method", ["guided", "split", "blend"])
def test_texture_stage_follows_the_base_and_adds_detail(method):
    rng = np.random.default_rng(0)
    # left half blue-ish, right half yellow-ish, both grainy; the hole straddles the middle
    rgb = np.zeros((64, 96, 3), np.float64)
    rgb[:, :48] = (40, 60, 200)
    rgb[:, 48:] = (220, 200, 40)
    rgb = np.clip(rgb + rng.normal(0, 15, rgb.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((64, 96), bool)
    if method == "blend":  # a broad stroke: the join takes all of the network's layout deep in it
        mask[24:40, 8:88] = True
    else:
        mask[16:48, 24:72] = True
    base = rgb.copy()
    base[mask] = (40, 60, 200)  # the "network" says: blue all through the hole
    out = texture_stage(rgb, mask, lambda: base, method=method, seed=0)
    assert np.array_equal(out[~mask], rgb[~mask])
    hole = out[mask].astype(float)
    if method == "blend":
        # the gentle join: toward the base's blue deep in the hole, but by no more than
        # GENTLE_LIMIT grey levels (a disagreement this large is a ghost, not a shade)
        copy = patchmatch.patchmatch_fill(rgb, mask, seed=0)
        moved = out[24:40, 56:88].astype(float) - copy[24:40, 56:88]
        assert moved[..., 2].mean() > 5 and moved[..., 0].mean() < -5  # toward blue
        assert np.sqrt((moved ** 2).sum(-1)).max() <= GENTLE_LIMIT + 1
        unlimited = texture_stage(rgb, mask, lambda: base, method=method, seed=0, limit=None)
        yellow = unlimited[24:40, 56:88].reshape(-1, 3).astype(float).mean(0)
        assert yellow[2] > 60 and yellow[0] < 200  # without the limit: about halfway
        stroke = texture_stage(rgb, mask, lambda: base, method=method, seed=0, join="stroke")
        assert stroke[mask].astype(float)[:, 2].mean() > 150  # the join that takes all of it: blue
        assert stroke[24:40, 56:88, 2].mean() > yellow[2] + 20
    else:
        assert hole[:, 2].mean() > 150 and hole[:, 0].mean() < 110  # it followed the base: blue
    assert hole.std(0).mean() > 6  # with grain, where the base is flat
    with pytest.raises(ValueError, match="texture method"):
        texture_stage(rgb, mask, lambda: base, method="blur")


def test_compactness_share_tells_blobs_from_strokes_at_any_scale():
    from app.core.maskops import depth_in_hole
    from app.inference.texture import compactness_share

    def share(mask):
        return compactness_share(mask, depth_in_hole(mask))

    for f in (1, 4):  # the same shapes, 4x larger
        mask = np.zeros((100 * f, 200 * f), np.uint8)
        cv2.circle(mask, (50 * f, 50 * f), 30 * f, 1, -1)  # a blob
        cv2.line(mask, (100 * f, 20 * f), (190 * f, 80 * f), 1, 8 * f)  # a brush stroke
        mask = mask.astype(bool)
        s = share(mask)
        assert s[50 * f, 50 * f] == 1.0 and s[50 * f, 145 * f] == 0.0
        assert not s[~mask].any()


def test_blend_takes_less_of_the_network_deep_in_a_blob_than_in_a_stroke():
    """The network's flat blue in a grainy yellow photo: deep inside a round hole the
    shape-reading join moves the copy only part of the way to it (COMPACT_CAP), in a stroke
    all the way; the shipped gentle join part of the way in both."""
    from app.inference.texture import combine

    rng = np.random.default_rng(2)
    rgb = np.clip(np.full((128, 256, 3), (220, 200, 40), float) + rng.normal(0, 10, (128, 256, 3)), 0, 255)
    rgb = rgb.astype(np.uint8)
    shapes = np.zeros((128, 256), np.uint8)
    cv2.circle(shapes, (64, 64), 40, 1, -1)
    cv2.line(shapes, (140, 20), (240, 110), 1, 24)
    mask = shapes.astype(bool)
    base = rgb.copy()
    base[mask] = (40, 60, 200)
    out = combine(rgb, mask, base, rgb, "blend", join="shape", limit=None).astype(float)  # the copy: the photo itself
    blob_centre, stroke_centre = out[64, 64], out[65, 190]
    assert 90 < blob_centre[2] < 160  # about halfway to the network's blue
    assert stroke_centre[2] > 170  # all the way
    # without reading shapes ("stroke") the blob is joined like a stroke
    assert combine(rgb, mask, base, rgb, "blend", join="stroke")[64, 64, 2] > 170
    # the "gentle" join treats both as blobs: about halfway in each without its limit, and
    # with it (shipped) no pixel moves further than GENTLE_LIMIT
    gentle = combine(rgb, mask, base, rgb, "blend", limit=None).astype(float)
    assert 90 < gentle[64, 64, 2] < 160 and 90 < gentle[65, 190, 2] < 160
    limited = combine(rgb, mask, base, rgb, "blend").astype(float)
    moved = np.sqrt(((limited - rgb) ** 2).sum(-1))
    assert moved.max() <= GENTLE_LIMIT + 1 and moved[64, 64] > GENTLE_LIMIT - 1
    with pytest.raises(ValueError, match="join"):
        combine(rgb, mask, base, rgb, "blend", join="soft")


@needs_pm
def test_texture_stage_is_the_join_of_its_own_search_and_leaves_its_inputs_alone():
    """texture_stage writes the join into its own PatchMatch fill (no copy of the photo):
    the same pixels as combine() on that fill, and the caller's arrays untouched."""
    from app.inference.patchmatch import patchmatch_fill
    from app.inference.texture import combine

    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 255, (80, 120, 3), dtype=np.uint8)
    mask = np.zeros((80, 120), bool)
    mask[20:60, 30:90] = True
    base = rgb.copy()
    base[mask] = (40, 60, 200)
    before, base_before = rgb.copy(), base.copy()
    out = texture_stage(rgb, mask, lambda: base, method="blend", seed=3)
    assert np.array_equal(out, combine(rgb, mask, base, patchmatch_fill(rgb, mask, seed=3), "blend"))
    assert np.array_equal(rgb, before) and np.array_equal(base, base_before)
    assert out is not rgb and np.array_equal(out[~mask], rgb[~mask])


def _blue_over_yellow(size: int, row: int, *, seed: int) -> np.ndarray:
    """A grainy size x size photo: blue above ``row``, yellow from it on."""
    rng = np.random.default_rng(seed)
    rgb = np.zeros((size, size, 3), np.float64)
    rgb[:row] = (40, 60, 200)
    rgb[row:] = (220, 200, 40)
    return np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["split", "blend"])
def test_texture_join_hands_the_layout_along_a_stroke_to_the_network(method):
    """Grainy blue above, grainy yellow below, a hole across the boundary near the left edge
    of the hole (so PatchMatch's copy there comes from right beside it, not the layout) and
    a stroke along the boundary: on the stroke the network's sharp edge is kept, and far
    from it the join is the same as without strokes."""
    rgb = _blue_over_yellow(96, 48, seed=1)
    mask = np.zeros((96, 96), bool)
    mask[20:76, 20:76] = True
    base = rgb.copy()
    base[20:76, 20:76] = (40, 60, 200)
    base[48:76, 20:76] = (220, 200, 40)  # the network: the boundary where the stroke is
    copied = rgb.copy()
    copied[mask] = (130, 130, 120)  # a copy that ignores the boundary
    strokes = np.zeros((96, 96), bool)
    strokes[48, :] = True
    plain = combine(rgb, mask, base, copied, method).astype(int)
    steered = combine(rgb, mask, base, copied, method, strokes=strokes).astype(int)
    assert np.array_equal(steered[48, 22:74], base[48, 22:74].astype(int))  # the stroke: the network's
    assert np.abs(plain[48, 22:74] - base[48, 22:74]).mean() > 20
    assert np.array_equal(steered[~mask], rgb[~mask])
    far = np.zeros_like(mask)
    far[20:28] = True  # 20 px from the stroke: beyond its reach at this size
    assert np.array_equal(steered[far & mask], plain[far & mask])
    if method == "blend":  # beside the stroke the gentle join's limit gives way to the network
        beside = np.sqrt(((steered[50, 22:74] - copied[50, 22:74].astype(int)) ** 2).sum(-1))
        assert beside.min() > 2 * GENTLE_LIMIT


def test_along_strokes_the_patch_search_copies_to_the_side_the_network_put_there(monkeypatch):
    """Blue above, yellow below at row 64 outside the hole; the user drew the boundary lower
    in the hole (row 82) and the network's fill follows the stroke. A free search continues
    the photo's boundary and copies yellow into rows 68-78; along strokes the search is
    guided by the network's fill and copies blue there."""
    from app.inference import texture

    rgb = _blue_over_yellow(128, 64, seed=3)
    mask = np.zeros((128, 128), bool)
    mask[40:104, 30:98] = True
    base = rgb.copy()
    base[40:82, 30:98] = (40, 60, 200)
    base[82:104, 30:98] = (220, 200, 40)
    strokes = np.zeros((128, 128), bool)
    strokes[81:83, 30:98] = True
    copies, guides = [], []
    real = texture.patchmatch.patchmatch_fill

    def spy(*a, **kw):
        guides.append(kw.get("guide"))
        copies.append(real(*a, **kw))
        return copies[-1]

    monkeypatch.setattr(texture.patchmatch, "patchmatch_fill", spy)
    blue = []
    for given in (None, strokes):
        out = texture_stage(rgb, mask, lambda: base, strokes=given, seed=1)
        assert np.array_equal(out[~mask], rgb[~mask])
        band = copies[-1][68:78, 34:94].astype(int)
        blue.append(float((band[..., 2] - band[..., 0]).mean()))  # pure blue: 160, yellow: -180
    assert guides[0] is None and guides[1] is not None
    assert blue[1] > 120 and blue[1] > blue[0] + 30


def _grass(size: int, seed: int) -> np.ndarray:
    """One hue of fine texture: thin blades, lighter and darker, a little yellower or bluer."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.float32)
    img[:] = (90, 170, 60)
    for _ in range(size * 2):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        colour = np.array((90, 170, 60)) * rng.uniform(0.6, 1.3) + rng.normal(0, 12, 3)
        cv2.line(img, (x, y), (x + int(rng.integers(-2, 3)), y + int(rng.integers(8, 24))), colour.tolist(), 1)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_colour_groups_split_areas_of_other_colours_not_the_grain_of_one():
    from app.inference.colour_groups import LAB_UNIT, group_map

    grass = group_map(_grass(128, 0), 0.5)
    assert grass.dtype == np.float32 and grass.shape == (128, 128, 3)
    assert not np.ptp(grass.reshape(-1, 3), axis=0).any()  # light and dark blades of one lawn: one group, a free search
    rgb = _blue_over_yellow(128, 64, seed=3)
    groups = group_map(rgb, 0.5)
    assert 0 <= groups.min() and groups.max() <= patchmatch.GUIDE_MAX and not groups[..., 2].any()
    sky, sand = groups[20:44, 10:118, :2].reshape(-1, 2), groups[84:108, 10:118, :2].reshape(-1, 2)
    assert not np.ptp(sky, axis=0).any() and not np.ptp(sand, axis=0).any()  # one value each, whatever the grain
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    apart = np.linalg.norm(lab[20:44].reshape(-1, 3).mean(0) - lab[84:108].reshape(-1, 3).mean(0))
    # the two areas as far apart as their colours, in the chroma guide's units
    assert np.linalg.norm(sky[0] - sand[0]) == pytest.approx(apart * LAB_UNIT, rel=0.15)
    assert np.array_equal(groups, group_map(rgb, 0.5))  # the same groups every time


@needs_pm
def test_the_stroke_search_keeps_the_grain_of_a_one_coloured_texture():
    """A walkthrough drew a stroke across a hole in a lawn and got a green smear: the guide
    was the network's smooth colour, matched pixel by pixel against the blades' colours.
    The colour groups leave the search free within the lawn: it copies blades as a free
    search does."""
    from app.inference import texture

    def detail(img, where):
        f = img.astype(np.float32)
        return float(np.abs(f - cv2.GaussianBlur(f, (0, 0), 2))[where].mean())

    sums = np.zeros(3)  # free, colour groups, chroma; over four lawns (one alone is noisy)
    for seed in range(4):
        rgb = _grass(128, seed)
        mask = np.zeros((128, 128), bool)
        mask[34:94, 30:98] = True
        base = rgb.copy()
        base[mask] = rgb[~mask].mean(0).astype(np.uint8)  # a network's smooth fill
        kw = {"seed": 1, "guide_weight": texture.stroke_guide_weight(mask.shape)}
        free = patchmatch.patchmatch_fill(rgb, mask, seed=1)
        groups = patchmatch.patchmatch_fill(rgb, mask, guide=texture._StrokeGuide(base, texture._scale(mask)), **kw)
        chroma = patchmatch.patchmatch_fill(rgb, mask, guide=cv2.GaussianBlur(base, (0, 0), 2), **kw)
        sums += [detail(free, mask), detail(groups, mask), detail(chroma, mask)]
    assert sums[1] > 0.9 * sums[0] and sums[1] > 1.3 * sums[2]


def test_the_stroke_search_weighs_the_network_less_on_large_photos(monkeypatch):
    """0.5 up to a 512-px short side, 0.1 from 768 px on, linear between; the texture
    stage hands that weight to the stroke search."""
    from app.inference import texture

    weight = texture.stroke_guide_weight
    assert weight((256, 256)) == weight((512, 4000)) == 0.5
    assert weight((768, 768)) == weight((2048, 3640)) == pytest.approx(0.1)
    assert weight((640, 900)) == pytest.approx(0.3)
    assert weight((4000, 600)) > weight((4000, 700))  # the short side decides
    given = []

    def spy(*a, **kw):
        given.append(kw.get("guide_weight"))
        return a[0].copy()

    monkeypatch.setattr(texture.patchmatch, "patchmatch_fill", spy)
    for side in (300, 900):
        rgb = np.zeros((side, side, 3), np.uint8)
        mask = np.zeros((side, side), bool)
        mask[100:140, 100:140] = True
        strokes = np.zeros_like(mask)
        strokes[120, 100:140] = True
        texture_stage(rgb, mask, lambda rgb=rgb: rgb, strokes=strokes)
    assert given == [0.5, pytest.approx(0.1)]


def test_situation_tells_scratches_sizes_textures_and_strokes():
    flat = np.full((100, 100, 3), 128, np.uint8)
    noisy = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    scratch = np.zeros((100, 100), bool)
    scratch[50:53, 5:95] = True
    block = np.zeros((100, 100), bool)
    block[20:70, 20:70] = True  # 25 %
    assert is_thin(scratch) and not is_thin(block)
    assert ring_texture(noisy, block) > 20 > ring_texture(flat, block)
    sketch = np.zeros((100, 100), np.uint8)
    sketch[40, 10:90] = 255
    s = situation(noisy, block, sketch)
    assert (s.bucket, s.textured, s.strokes, s.thin) == ("20-30", True, True, False)
    assert s.key == "20-30/textured/sketch"
    assert situation(flat, block, None).key == "20-30/smooth/plain"


@needs_pm
def test_inpaint_cli_writes_variations_and_honours_protect(tmp_path):
    rgb, mask, protect = two_halves()
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "hole.png")
    Image.fromarray(protect.astype(np.uint8) * 255).save(tmp_path / "keep.png")
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), "inpaint", str(tmp_path / "photo.png"),
                          "--mask", str(tmp_path / "hole.png"), "--protect", str(tmp_path / "keep.png"),
                          "--engine", "patchmatch", "--variations", "2", "--seed", "5", "--feather", "0"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    outs = [tmp_path / f"photo-inpainted-v{i}.png" for i in (1, 2)]
    assert all(p.is_file() for p in outs) and "(seed 5)" in run.stdout and "(seed 6)" in run.stdout
    for p in outs:
        filled = np.asarray(Image.open(p).convert("RGB"))
        assert filled[mask][:, 1].mean() > 150  # green: the red half was protected


def test_paired_kid_leaves_each_fill_out_of_its_own_truth():
    from app.evaluation.metrics import paired_kid

    rng = np.random.default_rng(0)
    real = rng.normal(size=(30, 8))
    same = paired_kid(real, real.copy(), np.arange(30))
    shifted = paired_kid(real, real + 1.5, np.arange(30))
    assert abs(same) < 0.2 * shifted and shifted > 0
    # a fill identical to its own truth gains nothing from that pairing
    near = paired_kid(real, real + 0.01, np.arange(30))
    assert abs(near - same) < 0.05 * shifted
    with pytest.raises(ValueError, match="truth"):
        paired_kid(real, real, np.arange(29))


def test_paired_kid_is_not_raised_by_several_holes_in_one_photo():
    from app.evaluation.metrics import paired_kid, paired_kid_se

    rng = np.random.default_rng(1)
    real = rng.normal(size=(30, 8))
    truth = np.repeat(np.arange(30), 2)  # two holes per photo (two mask kinds, or --per-bucket 2)
    # two fills of one photo share its known pixels: they are alike, but that is not a
    # realism the set of truths lacks, so the originals still score 0 ...
    assert abs(paired_kid(real, real[truth], truth)) < 1e-9
    twins = real[truth] + rng.normal(scale=0.05, size=(60, 8))
    assert abs(paired_kid(real, twins, truth) - paired_kid(real, twins[::2], np.arange(30))) < 0.01
    # ... and a shift still shows, as large as with one hole per photo
    one = paired_kid(real, real + 1.5, np.arange(30))
    assert paired_kid(real, real[truth] + 1.5, truth) == pytest.approx(one, rel=0.05)
    assert paired_kid_se(real, twins, truth) > 0
    with pytest.raises(ValueError, match="2 photos"):
        paired_kid(real, real[[3, 3]], np.array([3, 3]))


def test_guided_patchmatch_map_is_inside_the_librarys_range():
    guide = cv2.cvtColor(np.full((8, 8, 3), 255, np.uint8), cv2.COLOR_BGR2RGB)
    ijmap = patchmatch._guide_map(guide)
    assert ijmap.dtype == np.float32 and ijmap.shape == (8, 8, 3)
    assert ijmap.max() < 0.5 and ijmap.min() >= 0


@needs_pm
def test_the_library_steers_by_the_guides_first_two_channels_only():
    """What _guide_map's docstring says of the library: the third channel is not used."""
    lib = patchmatch._library()
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    hole = np.zeros((64, 64), np.uint8)
    hole[20:44, 20:44] = 1
    guide = (rng.random((64, 64, 3)) * 0.49).astype(np.float32)
    outs = []
    for channel in (None, 2, 0):
        g = guide.copy()
        if channel is not None:
            g[..., channel] = (rng.random((64, 64)) * 0.49).astype(np.float32)
        lib.set_random_seed(0)
        outs.append(lib.inpaint_regularity(image, hole, g, patch_size=3, guide_weight=1.0))
    assert np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])


@needs_pm
def test_texture_engine_reports_progress_per_part(tmp_path):
    from app.inference.checkpoint import save_checkpoint
    from app.model import InpaintGenerator, ModelConfig

    g = InpaintGenerator(ModelConfig(channels=8, heads=2))
    save_checkpoint(tmp_path / "mtsa.pt", g, g.config)
    engine = load_engine("mtsa-texture", "cpu", tmp_path)
    rgb = stripes(64, 400)
    mask = np.zeros((64, 400), bool)
    mask[10:20, 8:20] = True
    mask[40:56, 340:360] = True  # two regions far apart: two crops
    seen: list[tuple[int, int]] = []
    result = engine.fill(rgb, mask, progress=lambda d, t: seen.append((d, t)))
    assert result.engine == "mtsa-texture" and np.array_equal(result.image[~mask], rgb[~mask])
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]


@needs_pm
def test_texture_engine_hands_the_strokes_in_the_hole_to_the_join(tmp_path, monkeypatch):
    import app.inference.texture_engine as texture_engine
    from app.inference.checkpoint import save_checkpoint
    from app.model import InpaintGenerator, ModelConfig

    for name, guided in (("mtsa", False), ("mtsa-guided", True)):
        g = InpaintGenerator(ModelConfig(channels=8, heads=2, guided=guided))
        save_checkpoint(tmp_path / f"{name}.pt", g, g.config)
    engine = load_engine("mtsa-texture", "cpu", tmp_path)
    seen: list = []
    real = texture_engine.texture_stage
    monkeypatch.setattr(texture_engine, "texture_stage",
                        lambda *a, **kw: seen.append(kw.get("strokes")) or real(*a, **kw))
    rgb, mask, _ = two_halves()
    sketch = np.zeros(mask.shape, np.uint8)
    sketch[14, :] = 255  # crosses the hole
    engine.fill(rgb, mask, sketch)
    engine.fill(rgb, mask)
    assert seen[0] is not None and seen[0][14, 30] and not seen[0][5, 30]
    assert seen[1] is None


@needs_pm
def test_texture_engine_runs_the_network_at_layout_size_unless_strokes_need_its_detail(tmp_path):
    from app.inference.checkpoint import save_checkpoint
    from app.inference.texture_engine import LAYOUT_SIDE
    from app.model import InpaintGenerator, ModelConfig

    for name, guided in (("mtsa", False), ("mtsa-guided", True)):
        g = InpaintGenerator(ModelConfig(channels=8, heads=2, guided=guided))
        save_checkpoint(tmp_path / f"{name}.pt", g, g.config)
    engine = load_engine("mtsa-texture", "cpu", tmp_path)
    side = LAYOUT_SIDE + 64
    rgb = stripes(side, side)
    mask = np.zeros((side, side), bool)
    mask[100:140, 120:170] = True
    sketch = np.zeros(mask.shape, np.uint8)
    sketch[120, :] = 255  # crosses the hole
    seen: list[tuple[int, int]] = []
    for net in (engine.network, engine.guided_network):
        net.generator.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    plain = engine.fill(rgb, mask)
    stroked = engine.fill(rgb, mask, sketch)
    engine.explain(rgb, mask, None, (140, 120))  # the map is of the pass the fill used
    assert seen == [(LAYOUT_SIDE, LAYOUT_SIDE), (side, side), (LAYOUT_SIDE, LAYOUT_SIDE)]
    for result in (plain, stroked):
        assert np.array_equal(result.image[~mask], rgb[~mask])


def test_fills_at_once_leave_torchs_threads_as_they_found_them():
    import threading

    import torch

    from app.inference.texture_engine import _one_core_less

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        inside, leave = threading.Barrier(2), threading.Event()
        seen: list[int] = []

        def fill():
            with _one_core_less():
                inside.wait(5)
                seen.append(torch.get_num_threads())
                leave.wait(5)

        other = threading.Thread(target=fill)
        other.start()
        with _one_core_less():
            inside.wait(5)
            seen.append(torch.get_num_threads())
            leave.set()
            other.join(5)
        # the second fill came in while the first held a core back: it still restores 2
        assert seen == [1, 1] and torch.get_num_threads() == 2
        with _one_core_less():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_holes_far_apart_join_in_boxes_of_their_own_as_one_box_would():
    from app.inference import texture

    rng = np.random.default_rng(4)
    rgb = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), (1600, 1200), interpolation=cv2.INTER_CUBIC)
    mask = np.zeros((1200, 1600), bool)
    for y, x in ((100, 100), (100, 1300), (900, 200), (950, 1350)):  # four corners: four groups
        mask[y : y + 80, x : x + 120] = True
    base = np.clip(rgb.astype(int) + (30, -20, 10), 0, 255).astype(np.uint8)  # a network that disagrees
    copied = rgb.copy()
    copied[mask] = np.clip(rgb[mask].astype(int) + rng.integers(-20, 20, (int(mask.sum()), 3)), 0, 255)
    joins = texture._Joins(mask, base, "blend", texture.SPLIT_SIGMA, texture.BLEND_DEPTH)
    assert len(joins.layouts) == 4
    covered = sum(layout.hole.size for layout in joins.layouts)
    assert covered < mask.size / 3  # their boxes, not the photo
    whole = texture._Layout(mask, base, "blend", texture.SPLIT_SIGMA, texture.BLEND_DEPTH).apply(rgb, copied)
    grouped = joins.apply(rgb, copied)
    assert np.abs(whole.astype(int) - grouped.astype(int)).max() <= 1  # the same join, to rounding
    assert not np.array_equal(grouped[mask], copied[mask]) and np.array_equal(grouped[~mask], rgb[~mask])
    # given away (``own``), the search's fill is joined in place, group by group, to the same result
    assert np.array_equal(joins.apply(rgb, copied.copy(), own=True), grouped)
    near = np.zeros_like(mask)
    near[100:180, 100:220] = near[100:180, 260:380] = True  # two holes 40 px apart: one group
    assert len(texture._Joins(near, base, "blend", texture.SPLIT_SIGMA, texture.BLEND_DEPTH).layouts) == 1
