"""The command line as a user runs it: real processes, real files."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def photo(tmp_path):
    rng = np.random.default_rng(1)
    rgb = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    img_path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).save(img_path, quality=95)
    mask = np.zeros((120, 160), np.uint8)
    mask[30:70, 40:100] = 255
    mask_path = tmp_path / "hole.png"
    Image.fromarray(mask).save(mask_path)
    return img_path, mask_path


def test_inpaint_writes_default_output_and_keeps_input(photo, capsys):
    img, mask = photo
    before = _digest(img)
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "telea"]) == 0
    out = img.with_name("photo-inpainted.jpg")
    assert out.is_file() and Image.open(out).size == (160, 120)
    assert _digest(img) == before
    assert "telea" in capsys.readouterr().out


def test_an_empty_mask_copies_the_photo_as_it_came(photo, tmp_path, capsys, monkeypatch):
    img, _ = photo
    empty = tmp_path / "empty.png"
    Image.fromarray(np.zeros((120, 160), np.uint8)).save(empty)
    import app.inference.engines as engines

    monkeypatch.setattr(engines, "load_engine", lambda *a, **k: pytest.fail("no engine for nothing to fill"))
    before = _digest(img)
    assert cli_main(["inpaint", str(img), "--mask", str(empty), "--variations", "2"]) == 0
    out, err = capsys.readouterr()
    assert "the mask is empty; nothing is filled" in err and out.count("copied unchanged") == 2
    for n in (1, 2):  # the same JPEG, not a re-encoded one
        assert (tmp_path / f"photo-inpainted-v{n}.jpg").read_bytes() == img.read_bytes()
    as_png = tmp_path / "as.png"  # another format: the pixels, as they decode
    assert cli_main(["inpaint", str(img), "--mask", str(empty), "-o", str(as_png)]) == 0
    assert "written unchanged as PNG" in capsys.readouterr().out
    assert np.array_equal(np.asarray(Image.open(as_png).convert("RGB")), np.asarray(Image.open(img).convert("RGB")))
    assert cli_main(["inpaint", str(img), "--mask", str(empty), "--quality", "50", "-o",
                     str(tmp_path / "q.jpg")]) == 0  # a quality asked for: re-encoded with it
    assert (tmp_path / "q.jpg").read_bytes() != img.read_bytes() and _digest(img) == before


def test_inpaint_line_names_auto_s_choice(photo, capsys):
    img, mask = photo
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "telea", "-o",
                     str(img.with_name("t.png"))]) == 0
    assert " with telea on " in capsys.readouterr().out  # the engine asked for: no note
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "auto", "-o",
                     str(img.with_name("a.png"))]) == 0
    assert re.search(r" with [a-z-]+ \(auto's choice\) on ", capsys.readouterr().out)


def test_inpaint_mask_from_alpha_makes_filled_pixels_opaque(tmp_path):
    rgba = np.full((40, 50, 4), 200, np.uint8)
    rgba[10:20, 10:30, 3] = 0
    src = tmp_path / "cut.png"
    Image.fromarray(rgba, "RGBA").save(src)
    out = tmp_path / "filled.png"
    assert cli_main(["inpaint", str(src), "--mask-from-alpha", "-o", str(out), "--engine", "ns"]) == 0
    result = np.asarray(Image.open(out))
    assert result.shape == (40, 50, 4)
    assert result[10:20, 10:30, 3].min() == 255  # the filled hole is opaque now
    assert result[30:, :, 3].max() == 200  # the rest keeps its own alpha


def test_inpaint_of_a_transparent_area_makes_the_fill_visible(tmp_path):
    rgba = np.full((40, 50, 4), 200, np.uint8)
    rgba[..., 0] = np.arange(50, dtype=np.uint8)[None, :] * 5
    rgba[10:20, 10:30, 3] = 0
    src = tmp_path / "cut.png"
    Image.fromarray(rgba, "RGBA").save(src)
    hole = np.zeros((40, 50), np.uint8)
    hole[8:22, 8:32] = 255  # a little larger than the transparent box
    Image.fromarray(hole).save(tmp_path / "hole.png")
    out = tmp_path / "filled.png"
    assert cli_main(["inpaint", str(src), "--mask", str(tmp_path / "hole.png"), "-o", str(out),
                     "--engine", "telea", "--feather", "0"]) == 0
    alpha = np.asarray(Image.open(out))[..., 3]
    assert (alpha[hole > 0] == 255).all()
    assert (alpha[hole == 0] == 200).all()


@pytest.mark.parametrize("engine", ["patchmatch", "telea", pytest.param("mtsa", marks=pytest.mark.shipped_weights)])
def test_a_fill_never_copies_the_hidden_colour_of_transparent_pixels(tmp_path, engine):
    rng = np.random.default_rng(3)
    rgba = np.dstack([rng.integers(120, 220, (48, 64, 3), dtype=np.uint8), np.full((48, 64), 255, np.uint8)])
    rgba[:, :12] = 0  # a transparent strip whose hidden colour is black
    src = tmp_path / "cut.png"
    Image.fromarray(rgba, "RGBA").save(src)
    hole = np.zeros((48, 64), np.uint8)
    hole[14:34, 8:36] = 255  # reaches into the strip
    Image.fromarray(hole).save(tmp_path / "hole.png")
    out = tmp_path / "out.png"
    assert cli_main(["inpaint", str(src), "--mask", str(tmp_path / "hole.png"), "-o", str(out),
                     "--engine", engine, "--device", "cpu"]) == 0
    got = np.asarray(Image.open(out))
    filled = got[hole > 0]
    assert (filled[:, 3] == 255).all()
    assert filled[:, :3].max(axis=1).min() > 60  # no black borrowed from the strip
    strip = np.zeros((48, 64), bool)
    strip[:, :12] = True
    outside = strip & (hole == 0)
    assert np.array_equal(got[outside], rgba[outside])  # the rest of the strip is left as it was


def test_inpaint_notes_a_deeper_photo_and_a_replaced_output(tmp_path, capsys):
    deep = (np.arange(40 * 50, dtype=np.uint16).reshape(40, 50) * 13)
    src = tmp_path / "deep.png"
    Image.fromarray(deep).save(src)  # mode I;16
    hole = np.zeros((40, 50), np.uint8)
    hole[10:20, 10:30] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    out = tmp_path / "out.png"
    args = ["inpaint", str(src), "--mask", str(tmp_path / "hole.png"), "-o", str(out), "--engine", "telea"]
    assert cli_main(args) == 0
    first = capsys.readouterr()
    assert "note: deep.png has 16 bits per channel; the result is written with 8" in first.err
    assert "replaced" not in first.out
    assert cli_main(args) == 0
    assert "(replaced the earlier file)" in capsys.readouterr().out
    rgb16 = np.zeros((40, 50, 3), np.uint16)  # a 16-bit RGB PNG opens as 8-bit RGB in Pillow
    import cv2
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16 + 4000)
    assert cli_main(["inpaint", str(tmp_path / "rgb16.png"), "--mask", str(tmp_path / "hole.png"),
                     "--engine", "telea"]) == 0
    assert "rgb16.png has 16 bits per channel" in capsys.readouterr().err


@pytest.mark.parametrize(
    "case, expect",
    [
        ("missing", "does not exist"),
        ("corrupt", "photo_bad.jpg"),
        ("wrong_size", "120"),
        ("overwrite_mask", "refusing to overwrite"),
        ("overwrite_photo", "refusing to overwrite the input photo.jpg"),
        ("bad_engine_missing", "not installed"),
        ("empty_photo", "cannot read empty.jpg: the file is empty"),
        ("text_as_mask", "cannot read the mask notes.png: not a"),
        ("empty_sketch", "cannot read the sketch lines.png: the file is empty"),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(photo, tmp_path, case, expect):
    img, mask = photo
    args = ["inpaint", str(img), "--mask", str(mask), "--engine", "telea"]
    if case == "missing":
        args[1] = str(tmp_path / "nope.jpg")
    elif case == "corrupt":
        bad = tmp_path / "photo_bad.jpg"
        bad.write_bytes(img.read_bytes()[:300])
        args[1] = str(bad)
    elif case == "wrong_size":
        small = tmp_path / "small.png"
        Image.new("L", (10, 10), 255).save(small)
        args[3] = str(small)
    elif case == "overwrite_mask":
        args += ["-o", str(mask)]
    elif case == "overwrite_photo":  # even named with -o, the photo is never written over
        args += ["-o", str(img)]
    elif case == "bad_engine_missing":
        args[-1] = "mtsa-const"
    elif case == "empty_photo":
        (tmp_path / "empty.jpg").write_bytes(b"")
        args[1] = str(tmp_path / "empty.jpg")
    elif case == "text_as_mask":
        (tmp_path / "notes.png").write_text("not an image")
        args[3] = str(tmp_path / "notes.png")
    elif case == "empty_sketch":
        (tmp_path / "lines.png").write_bytes(b"")
        args += ["--sketch", str(tmp_path / "lines.png")]
    before, photo_before = _digest(mask), _digest(img)
    proc = _run(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0]
    assert "Traceback" not in proc.stderr
    assert _digest(mask) == before and _digest(img) == photo_before
    assert not img.with_name("photo-inpainted.jpg").exists()


@pytest.mark.parametrize(
    "argv, expect",
    [
        (["inpaint", "photo.jpg"], "--mask"),
        (["inpaint", "photo.jpg", "--mask", "m.png", "--engine", "foo"], "invalid choice: 'foo'"),
        (["inpaint", "photo.jpg", "--mask", "m.png", "--seed", "abc"], "invalid int value"),
        (["batch", "--images", "x"], "--masks, --out"),
        (["a.png", "b.png"], "one photo at a time"),
        (["inpaint", "a.png", "b.png", "--mask", "m.png"], "batch a folder"),
        (["batch", "--images", "x", "--masks", "m", "--out", "o", "extra"], "tempera batch --help"),
        (["benchmark", "--bogus"], "tempera benchmark --help"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, argv, expect):
    proc = _run(*argv, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and "--help" in lines[0], proc.stderr


def test_batch_says_quality_does_not_apply_to_lossless_outputs(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(photos / "a.png")
    mask = np.zeros((20, 24), np.uint8)
    mask[5:10, 5:12] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    common = ["batch", "--images", str(photos), "--masks", str(tmp_path / "m.png"), "--engine", "telea"]
    assert cli_main([*common, "--out", str(tmp_path / "o1"), "--quality", "80"]) == 0  # keep: PNG in, PNG out
    assert "these PNG files are written losslessly" in capsys.readouterr().err
    assert cli_main([*common, "--out", str(tmp_path / "o2"), "--quality", "80", "--format", "jpg"]) == 0
    assert "--quality applies" not in capsys.readouterr().err


def test_options_an_engine_or_format_ignores_are_said(photo, tmp_path, capsys):
    img, mask = photo
    sketch = np.zeros((120, 160), np.uint8)
    sketch[50, 30:110] = 255  # a stroke across the hole
    Image.fromarray(sketch).save(tmp_path / "lines.png")
    out = tmp_path / "out.png"
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--sketch", str(tmp_path / "lines.png"),
                     "--engine", "telea", "-o", str(out), "--quality", "50"]) == 0
    err = capsys.readouterr().err
    assert "telea does not follow sketch strokes" in err
    assert "--quality applies to JPEG, WebP and AVIF only" in err
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "telea", "-o", str(tmp_path / "o.jpg"),
                     "--quality", "50"]) == 0
    err = capsys.readouterr().err
    assert "does not follow" not in err and "--quality" not in err
    away = np.zeros((120, 160), np.uint8)
    away[5, 5:60] = 255  # a stroke outside the hole: nothing to follow
    Image.fromarray(away).save(tmp_path / "away.png")
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--sketch", str(tmp_path / "away.png"),
                     "--engine", "telea", "-o", str(tmp_path / "o2.png")]) == 0
    captured = capsys.readouterr()
    assert "note: the sketch away.png has no strokes inside the hole; the fill does not use it" in captured.err
    assert "following the sketch" not in captured.out


@pytest.mark.parametrize("name, mode", [("g.png", "L"), ("g.jpg", "L"), ("la.png", "LA"), ("b.png", "L"), ("g.webp", "RGB"),
                                        ("g.avif", "L")])
def test_a_gray_photo_stays_gray(tmp_path, name, mode):
    rng = np.random.default_rng(0)
    gray = (rng.random((96, 128)) * 255).astype(np.uint8)
    src = tmp_path / name
    if name.startswith("la"):
        Image.fromarray(np.dstack([gray, np.full_like(gray, 255)]), "LA").save(src)
    elif name.startswith("b"):
        Image.fromarray(gray > 128).save(src)
    else:
        Image.fromarray(gray).save(src, **({"quality": 90} if name.endswith("jpg") else {}))
    mask = np.zeros((96, 128), np.uint8)
    mask[30:60, 40:90] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    out = tmp_path / f"out-{name}"
    assert cli_main(["inpaint", str(src), "--mask", str(tmp_path / "m.png"), "--engine", "patchmatch",
                     "--feather", "0", "-o", str(out)]) == 0
    back = Image.open(out)
    assert back.mode == mode
    if mode == "RGB":  # WebP has no gray mode: the fill is gray all the same
        arr = np.asarray(back).astype(int)
        assert np.abs(arr[..., 0] - arr[..., 1]).max() <= 2 and np.abs(arr[..., 1] - arr[..., 2]).max() <= 2
    if name.endswith("png"):  # lossless: what was not filled is exactly the photo's
        before = np.asarray(Image.open(src).convert("L"))
        assert np.array_equal(np.asarray(back.convert("L"))[mask == 0], before[mask == 0])


def test_help_lists_the_commands():
    proc = _run("--help")
    assert proc.returncode == 0
    for name in ("inpaint", "batch", "benchmark"):
        assert name in proc.stdout


@pytest.mark.slow  # times three engines
def test_benchmark_prints_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = cli_main(["benchmark", "--sizes", "64", "--device", "cpu", "--repeats", "1",
                     "--engines", "telea,mtsa,mtsa-const", "--json", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "| engine | size | device |" in table and "mtsa-const" in table and "telea" in table
    rows = json.loads(out.read_text())["rows"]
    assert {r["engine"] for r in rows} == {"telea", "mtsa", "mtsa-const"}
    net = [r for r in rows if r["engine"] == "mtsa"][0]
    assert net["gmacs"] > 0 and net["median_ms"] > 0 and net["size"] == 64
    # each square hole is timed without a sketch and with a stroke through it
    assert sorted(r["case"] for r in rows if r["engine"] == "telea") == ["64", "64 stroke"]


def test_benchmark_strokes_picks_the_square_holes(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli_main(["benchmark", "--sizes", "32,48", "--device", "cpu", "--repeats", "1",
                     "--engines", "telea", "--strokes", "without", "--json", str(out)]) == 0
    assert [r["case"] for r in json.loads(out.read_text())["rows"]] == ["32", "48"]
    assert cli_main(["benchmark", "--sizes", "32", "--device", "cpu", "--repeats", "1",
                     "--engines", "telea", "--strokes", "with", "--json", str(out)]) == 0
    assert [r["case"] for r in json.loads(out.read_text())["rows"]] == ["32 stroke"]


def test_benchmark_large_photos_warm_up_on_the_first_only(monkeypatch):
    import numpy as np
    import torch

    from app.core.fill_result import FillResult
    from app.inference import benchmark as bench

    rgb = np.zeros((1200, 1200, 3), np.uint8)  # "big" (over 4 million values), yet quick
    photos = []
    for label in ("24MP 200x150", "24MP 6x200x150", "24MP 5%"):
        mask = np.zeros((1200, 1200), bool)
        mask[500:600, 500:650] = True
        photos.append(bench.BenchCase(label, rgb, mask, None))
    labels = {id(p.mask): p.label for p in photos}
    calls: list[str] = []

    class Counting:
        name = "telea"

        def fill(self, image, hole, sketch=None):
            calls.append(labels[id(hole)])
            return FillResult(image.copy(), self.name)

    monkeypatch.setattr(bench, "large_cases", lambda: photos)
    monkeypatch.setattr(bench, "_engine", lambda name, device, weights: (Counting(), "-", torch.device("cpu")))
    rows = bench.run_benchmark([], torch.device("cpu"), engines=("telea",), repeats=3, large=True)
    assert [r.case for r in rows] == [p.label for p in photos] and [r.repeats for r in rows] == [3, 1, 1]
    # one untimed fill before the first 24 MP case only; the first (a second's fill) is timed
    # three times, as the small cases are, the slow ones once
    assert calls == ["24MP 200x150"] * 4 + ["24MP 6x200x150", "24MP 5%"]


def _eval_folder(tmp_path: Path) -> Path:
    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(3)
    for name in ("a", "b"):
        Image.fromarray((rng.random((80, 96, 3)) * 255).astype(np.uint8)).save(data / f"{name}.png")
    return data


@pytest.mark.parametrize("flag, target", [("--json", "a.png"), ("--grid", "b.png"), ("--json", "new.json")])
def test_evaluate_refuses_to_write_into_its_photos_before_running(tmp_path, capsys, flag, target):
    data = _eval_folder(tmp_path)
    before = {p.name: _digest(p) for p in data.iterdir()}
    code = cli_main(["evaluate", "--data", str(data), "--engines", "telea", "--no-fid", "--no-lpips",
                     "--crop", "32", "--device", "cpu", flag, str(data / target)])
    err = capsys.readouterr().err
    assert code == 2 and "refusing to write" in err and "evaluating" not in err  # refused before the run
    assert {p.name: _digest(p) for p in data.iterdir()} == before


@pytest.mark.parametrize("flag, name, expect", [
    ("--json", "folder", "is a folder"), ("--grid", "grid.gif", "unknown extension"),
])
def test_evaluate_and_benchmark_check_report_paths_first(tmp_path, capsys, flag, name, expect):
    data = _eval_folder(tmp_path)
    (tmp_path / "folder").mkdir()
    code = cli_main(["evaluate", "--data", str(data), "--engines", "telea", "--no-fid", "--no-lpips",
                     "--crop", "32", "--device", "cpu", flag, str(tmp_path / name)])
    err = capsys.readouterr().err
    assert code == 2 and expect in err and "evaluating" not in err and len(err.strip().splitlines()) == 1
    if flag == "--json":
        assert cli_main(["benchmark", "--sizes", "32", "--engines", "telea", "--repeats", "1",
                         "--strokes", "without", "--device", "cpu", "--json", str(tmp_path / name)]) == 2
        assert "is a folder" in capsys.readouterr().err


def test_evaluate_json_goes_to_a_new_folder_atomically(tmp_path, capsys):
    data = _eval_folder(tmp_path)
    out = tmp_path / "runs" / "eval.json"
    assert cli_main(["evaluate", "--data", str(data), "--engines", "telea", "--no-fid", "--no-lpips",
                     "--crop", "32", "--limit", "1", "--device", "cpu", "--json", str(out)]) == 0
    assert json.loads(out.read_text()) and not list(out.parent.glob(".*.tmp"))


@pytest.mark.parametrize("argv", [
    ["fetch-data", "--out", "{file}"],
    ["fetch-data", "--out", "{tmp}/d", "--manifest", "{file}"],
    ["train", "--data", "{tmp}", "--out", "{file}", "--steps", "1", "--device", "cpu"],
    ["evaluate", "--data", "{tmp}", "--crop", "100000", "--engines", "telea"],
])
def test_bad_folders_and_sizes_give_one_line(tmp_path, capsys, argv):
    file = tmp_path / "x.png"
    file.write_bytes(b"\x89PNG not really")
    argv = [a.format(file=file, tmp=tmp_path) for a in argv]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1


@pytest.mark.parametrize("case, expect", [
    ("whole", "the hole covers the whole image"),
    ("grey", "no pixel brighter than 127 (its brightest is 100"),
    ("gif", "unknown extension '.gif'"),
    ("seed", "--seed must be 0-4294967295"),
    ("v2_folder", "cannot save photo-inpainted-v2.png: it is a folder"),
    ("out_folder", "cannot save photo-inpainted.png: it is a folder; give a file name"),
    ("out_in_file", "hole.png is a file, not a folder"),
])
def test_refused_before_the_fill(photo, tmp_path, capsys, monkeypatch, case, expect):
    from app.inference import engines

    img, mask = photo
    out = tmp_path / "photo-inpainted.png"
    args = ["inpaint", str(img), "--mask", str(mask), "--engine", "telea", "-o", str(out)]
    if case in ("whole", "grey"):
        bad = tmp_path / f"{case}.png"
        Image.new("L", (160, 120), 255 if case == "whole" else 100).save(bad)
        args[3] = str(bad)
    elif case == "gif":
        args[-1] = str(tmp_path / "out.gif")
    elif case == "seed":
        args += ["--seed", str(2**32)]
    elif case == "out_folder":
        out.mkdir()
    elif case == "out_in_file":
        args[-1] = str(mask / "out.png")
    else:
        (tmp_path / "photo-inpainted-v2.png").mkdir()
        args += ["--variations", "2"]
    monkeypatch.setattr(engines, "load_engine", lambda *a, **k: pytest.fail("the fill ran"))
    assert cli_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expect in err
    assert (out.is_dir() or not out.exists()) and not (tmp_path / "photo-inpainted-v1.png").exists()


def test_a_mask_covering_most_of_the_photo_is_said_to_be_maybe_inverted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    mask = np.full((60, 80), 255, np.uint8)
    mask[20:40, 30:50] = 0  # the object painted black: the mask is inverted
    Image.fromarray(mask).save(tmp_path / "m.png")
    assert cli_main(["inpaint", str(tmp_path / "p.png"), "--mask", str(tmp_path / "m.png"), "--engine", "telea",
                     "--feather", "0", "-o", str(tmp_path / "o.png")]) == 0
    assert "warning: the mask covers 91.7 % of the photo (white marks what is filled: is it inverted?)" \
        in capsys.readouterr().err
    Image.fromarray(255 - mask).save(tmp_path / "m.png")
    assert cli_main(["inpaint", str(tmp_path / "p.png"), "--mask", str(tmp_path / "m.png"), "--engine", "telea",
                     "-o", str(tmp_path / "o.png")]) == 0
    assert "inverted" not in capsys.readouterr().err


def test_an_os_error_no_command_foresaw_is_one_line(photo, capsys):
    from app.cli import os_error_line

    img, mask = photo
    long_name = str(img.with_name("x" * 300 + ".png"))  # over every common file system's 255
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "telea", "-o", long_name]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert len(err) < 200 and "…" in err  # the name, shortened in the middle
    assert not any(p.name.startswith(".") for p in img.parent.iterdir())  # no temporary left
    assert os_error_line(OSError(28, "No space left on device", "/r/j.json")) == "No space left on device: /r/j.json"
    assert os_error_line(OSError(28, "No space left on device")) == "No space left on device"


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM") or sys.platform == "win32",
                    reason="POSIX signals")
def test_sigterm_stops_a_command_at_once_even_one_that_finishes_its_work_on_ctrl_c():
    import os
    import signal

    from app.cli import _terminate_as_interrupt

    asked: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda *a: asked.append(1))  # as batch's "finish, then stop"
    try:
        with pytest.raises(KeyboardInterrupt), _terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):  # the handler runs between bytecodes
                pass
        assert asked == []  # not the gentle first Ctrl+C: a service manager would kill it meanwhile
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_format_read_but_not_written_says_what_it_becomes(photo, tmp_path, capsys):
    img, mask = photo
    gif = tmp_path / "anim.gif"
    Image.open(img).save(gif)
    assert cli_main(["inpaint", str(gif), "--mask", str(mask), "--engine", "telea"]) == 0
    assert "note: GIF is not written; the result is PNG" in capsys.readouterr().err
    assert (tmp_path / "anim-inpainted.png").is_file()
    assert cli_main(["inpaint", str(img), "--mask", str(mask), "--engine", "telea"]) == 0
    assert "is not written" not in capsys.readouterr().err  # a JPEG stays a JPEG


@pytest.mark.parametrize("argv, name", [
    (["fetch-data", "--out", ""], "--out"),
    (["batch", "--images", "x", "--masks", "y", "--out", " "], "--out"),
    (["train", "--data", "d", "--out", ""], "--out"),
    (["inpaint", "", "--mask", "m.png"], "IMAGE"),
    (["evaluate", "--data", "d", "--checkpoint", "a.pt", ""], "--checkpoint"),
])
def test_an_empty_value_is_refused_not_taken_for_the_current_folder(argv, name, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        cli_main(argv)
    assert stopped.value.code == 2 and list(tmp_path.iterdir()) == []  # nothing written here
    err = capsys.readouterr().err.strip()
    assert f"error: {name} is empty (an unset shell variable?)" in err and len(err.splitlines()) == 1


def test_evaluate_scores_the_product_and_its_baseline_by_default():
    from app.cli import build_parser

    args = build_parser().parse_args(["evaluate", "--data", "d"])
    assert args.engines.split(",")[:2] == ["auto", "patchmatch"]  # then the networks and OpenCV


@pytest.mark.shipped_weights
def test_v_names_the_weights_and_auto_s_hole(caplog):
    import logging

    from app.inference.engines import load_engine

    caplog.set_level(logging.INFO)
    engine = load_engine("auto", "cpu")
    rgb = np.full((64, 96, 3), 120, np.uint8)
    mask = np.zeros((64, 96), bool)
    mask[20:30, 30:50] = True  # 3.3 % of the photo
    engine.fill(rgb, mask)
    said = " | ".join(r.getMessage() for r in caplog.records)
    assert "auto: a hole of 3.3 % (routed as 10-20 %)" in said
    assert re.search(r"mtsa: weights .*mtsa\.pt", said)
