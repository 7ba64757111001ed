"""Batch runner (app.inference.batch) and the ``batch`` command (app.commands.batch)."""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.commands import batch as batch_cmd
from app.core.errors import TemperaError
from app.core.fill_result import FillResult
from app.inference import engines
from app.inference.batch import plan_batch, run_batch

ROOT = Path(__file__).resolve().parent.parent
W, H = 32, 24
RED = np.array([255, 0, 0], np.uint8)


class FakeEngine:
    """Paints holes red and records what it was given."""

    name = "fake"
    device = "CPU"
    startup_notice = None

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        self.calls.append({"shape": rgb.shape, "holes": int(mask.sum()),
                           "sketch": None if sketch is None else sketch.copy()})
        out = rgb.copy()
        out[mask] = RED
        return FillResult(out, self.name)


def _photo(seed: int, size: tuple[int, int] = (W, H)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 200, (size[1], size[0], 3), dtype=np.uint8)


def _mask_arr(size: tuple[int, int] = (W, H)) -> np.ndarray:
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[4:10, 6:16] = 255
    return mask


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def job(tmp_path: Path) -> dict[str, Path]:
    """images/: a.png (fine), b.jpg (corrupt), c.png (no mask); masks/: a.png, b_mask.png."""
    images, masks, out = tmp_path / "images", tmp_path / "masks", tmp_path / "out"
    images.mkdir()
    masks.mkdir()
    Image.fromarray(_photo(0)).save(images / "a.png")
    Image.fromarray(_photo(1)).save(images / "b.jpg")
    (images / "b.jpg").write_bytes((images / "b.jpg").read_bytes()[:200])  # truncated
    Image.fromarray(_photo(2)).save(images / "c.png")
    (images / "notes.txt").write_text("not an image")
    Image.fromarray(_mask_arr()).save(masks / "a.png")
    Image.fromarray(_mask_arr()).save(masks / "b_mask.png")
    return {"images": images, "masks": masks, "out": out, "root": tmp_path}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tempera")
    sub = parser.add_subparsers(dest="command", required=True)
    batch_cmd.register(sub)
    return parser.parse_args(argv)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """The command's engine: load_engine is replaced so no torch model is needed."""
    engine = FakeEngine()
    seen = {}

    def load_engine(name="auto", device="auto", weights_dir=None):
        seen.update(name=name, device=device)
        return engine

    monkeypatch.setattr(engines, "load_engine", load_engine)
    engine.loaded_with = seen  # type: ignore[attr-defined]
    return engine


# ---------------------------------------------------------------- run_batch


def test_mixed_folder_report_and_outputs(job: dict[str, Path]) -> None:
    before = _digest(job["images"]), _digest(job["masks"])
    engine = FakeEngine()
    calls = []
    report = run_batch(job["images"], job["masks"], job["out"], engine=engine,
                       progress=lambda d, t, n: calls.append((d, t, n)))
    assert report.ok == ["a.png"]
    failed = dict(report.failed)
    assert set(failed) == {"b.jpg", "c.png"}
    assert "b.jpg" in failed["b.jpg"] and "\n" not in failed["b.jpg"]
    assert failed["c.png"].startswith("no mask for c.png")
    assert report.skipped == [] and report.total == 3 and report.seconds >= 0
    assert calls == [(1, 3, "a.png"), (2, 3, "b.jpg"), (3, 3, "c.png")]
    assert len(engine.calls) == 1 and engine.calls[0]["holes"] == 60

    assert sorted(p.name for p in job["out"].iterdir()) == ["a.png"]  # no temp, no partial
    out = np.asarray(Image.open(job["out"] / "a.png"))
    expected = _photo(0)
    expected[_mask_arr() > 0] = RED
    np.testing.assert_array_equal(out, expected)
    assert (_digest(job["images"]), _digest(job["masks"])) == before

    text = report.summary()
    assert text.splitlines()[0].startswith("3 images: 1 filled, 0 skipped, 2 failed")
    assert "failed: c.png: no mask" in text


def test_skip_existing(job: dict[str, Path]) -> None:
    run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine())
    stamp = (job["out"] / "a.png").stat().st_mtime_ns
    engine = FakeEngine()
    report = run_batch(job["images"], job["masks"], job["out"], engine=engine, skip_existing=True)
    assert report.skipped == ["a.png"] and report.ok == [] and engine.calls == []
    assert (job["out"] / "a.png").stat().st_mtime_ns == stamp
    again = run_batch(job["images"], job["masks"], job["out"], engine=engine)
    assert again.ok == ["a.png"]  # without the flag it is filled again


def test_single_mask_file_for_every_image(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        Image.fromarray(_photo(i)).save(images / f"p{i}.png")
    Image.fromarray(_photo(9, (10, 10))).save(images / "small.png")
    Image.fromarray(_mask_arr()).save(tmp_path / "watermark.png")
    engine = FakeEngine()
    report = run_batch(images, tmp_path / "watermark.png", tmp_path / "out", engine=engine, fmt="jpg")
    assert report.ok == ["p0.png", "p1.png", "p2.png"]
    assert report.failed == [("small.png", "the mask watermark.png is 32 x 24 but the image is 10 x 10 "
                                           "(the mask must have the image's size)")]
    assert all(c["holes"] == 60 for c in engine.calls)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert Image.open(tmp_path / "out" / "p0.jpg").format == "JPEG"


def test_sketches_are_paired_and_passed_to_the_engine(job: dict[str, Path]) -> None:
    sketches = job["root"] / "sketches"
    sketches.mkdir()
    stroke = np.zeros((H, W), np.uint8)
    stroke[6, 6:16] = 255
    Image.fromarray(stroke).save(sketches / "a_sketch.png")
    Image.fromarray(_mask_arr()).save(job["masks"] / "c-mask.png")
    engine = FakeEngine()
    report = run_batch(job["images"], job["masks"], job["out"], engine=engine, sketches=sketches)
    assert report.ok == ["a.png", "c.png"]
    np.testing.assert_array_equal(engine.calls[0]["sketch"], stroke)
    assert engine.calls[1]["sketch"] is None  # a missing sketch is no sketch, not a failure
    # The brief's keyword spelling works too.
    engine2 = FakeEngine()
    run_batch(job["images"], job["masks"], job["out"], engine=engine2, sketches_dir=sketches)
    np.testing.assert_array_equal(engine2.calls[0]["sketch"], stroke)


def test_never_writes_over_inputs(job: dict[str, Path]) -> None:
    Image.fromarray(_mask_arr()).save(job["masks"] / "c.png")
    before = _digest(job["images"])
    engine = FakeEngine()
    # the images folder as the output folder: one error before anything is filled
    with pytest.raises(TemperaError, match=r"replace the batch's own files \(a.png.*choose another output folder"):
        run_batch(job["images"], job["masks"], job["images"], engine=engine)
    assert engine.calls == [] and _digest(job["images"]) == before
    # the masks folder as the output folder: the masks are inputs too
    with pytest.raises(TemperaError, match="choose another output folder"):
        run_batch(job["images"], job["masks"], job["masks"], engine=engine, fmt="png")


def test_rerun_counts_the_outputs_it_replaced(job: dict[str, Path]) -> None:
    first = run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine())
    assert first.ok == ["a.png"] and first.replaced == []
    again = run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine())
    assert again.ok == ["a.png"] and again.replaced == ["a.png"]
    assert "1 earlier output replaced" in again.summary()
    skipped = run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine(), skip_existing=True)
    assert skipped.skipped == ["a.png"] and skipped.replaced == []


def test_a_batch_that_writes_nothing_leaves_no_new_folder(job: dict[str, Path], tmp_path: Path) -> None:
    Image.fromarray(_mask_arr()[:5, :5]).save(job["masks"] / "a.png")  # wrong size: a.png fails
    out = tmp_path / "new" / "out"
    report = run_batch(job["images"], job["masks"], out, engine=FakeEngine())
    assert report.ok == [] and report.failed and not out.exists()
    job["out"].mkdir()  # a folder that was there before stays
    run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine())
    assert job["out"].is_dir()


def test_started_names_each_image_before_it_is_filled(job: dict[str, Path]) -> None:
    events: list[tuple[str, int, str]] = []
    run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine(),
              started=lambda n, t, name: events.append(("start", n, name)),
              progress=lambda d, t, name: events.append(("done", d, name)))
    assert [e[:2] for e in events][:2] == [("start", 1), ("done", 1)]
    assert [e[0] for e in events] == ["start", "done"] * (len(events) // 2)


def test_tiff_and_bmp_outputs(job: dict[str, Path]) -> None:
    for fmt in ("tif", "bmp"):
        report = run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine(), fmt=fmt)
        assert report.ok == ["a.png"]
        with Image.open(job["out"] / f"a.{fmt}") as im:
            assert im.format == {"tif": "TIFF", "bmp": "BMP"}[fmt] and im.size == (W, H)


def test_gif_and_ppm_photos_are_filled_as_inpaint_fills_them_and_a_second_frame_is_noted(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(_photo(0)).save(images / "icon.ppm")
    frames = [Image.fromarray(_photo(1)).convert("P"), Image.fromarray(_photo(2)).convert("P")]
    frames[0].save(images / "anim.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(_mask_arr()).save(tmp_path / "m.png")
    report = run_batch(images, tmp_path / "m.png", tmp_path / "out", engine=FakeEngine())
    assert report.ok == ["anim.gif", "icon.ppm"] and report.total == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["anim.png", "icon.png"]  # written as PNG
    assert ("anim.gif", "first of 2 frames or pages only") in report.notes


def test_masks_beside_the_photos(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    Image.fromarray(_photo(0)).save(folder / "beach.png")
    Image.fromarray(_mask_arr()).save(folder / "beach_mask.png")
    engine = FakeEngine()
    report = run_batch(folder, folder, tmp_path / "out", engine=engine)
    assert report.ok == ["beach.png"] and report.total == 1  # the mask is not a photo to fill
    assert engine.calls[0]["holes"] == 60  # and the photo was not used as its own mask


def test_formats_alpha_and_name_clash(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    rgba = np.dstack([_photo(0), np.full((H, W), 77, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(images / "x.png")
    Image.fromarray(_photo(1)).save(images / "x.tif")
    Image.fromarray(_mask_arr()).save(tmp_path / "m.png")
    for fmt, ext in (("webp", ".webp"), ("png", ".png")):
        out = tmp_path / f"out_{fmt}"
        report = run_batch(images, tmp_path / "m.png", out, engine=FakeEngine(), fmt=fmt)
        assert report.ok == ["x.png"]
        assert report.failed[0][0] == "x.tif" and "already written from x.png" in report.failed[0][1]
        saved = Image.open(out / f"x{ext}")
        alpha, hole = np.asarray(saved)[..., 3], _mask_arr() > 127
        assert saved.mode == "RGBA" and (alpha[~hole] == 77).all()
        assert (alpha[hole] == 255).all()  # filled pixels are opaque: a fill is never invisible
    keep = run_batch(images, tmp_path / "m.png", tmp_path / "keep", engine=FakeEngine())
    assert keep.ok == ["x.png", "x.tif"]
    assert Image.open(tmp_path / "keep" / "x.tif").format == "TIFF"


def test_cancel_stops_after_current_item(job: dict[str, Path]) -> None:
    Image.fromarray(_mask_arr()).save(job["masks"] / "c.png")
    done = []
    report = run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine(),
                       progress=lambda d, t, n: done.append(n), cancel=lambda: len(done) >= 1)
    assert report.cancelled and done == ["a.png"] and report.not_done == 2
    assert "2 not done (cancelled)" in report.summary()


def test_engine_failures_are_recorded_and_the_batch_goes_on(job: dict[str, Path]) -> None:
    Image.fromarray(_mask_arr()).save(job["masks"] / "c.png")

    class Flaky(FakeEngine):
        def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
            out = super().fill(rgb, mask, sketch)
            if len(self.calls) == 1:
                raise RuntimeError("CUDA error:\nsomething odd")
            return FillResult(out.image[:-1], self.name)  # wrong shape

    report = run_batch(job["images"], job["masks"], job["out"], engine=Flaky())
    reasons = dict(report.failed)
    assert reasons["a.png"] == "unexpected RuntimeError: CUDA error: something odd"
    assert "returned (23, 32, 3)" in reasons["c.png"]
    assert not job["out"].exists() or list(job["out"].iterdir()) == []


class OneCoreEngine(FakeEngine):
    """A fake whose fills take a while and keep one core busy: the batch runs it two at a
    time; it records how many fills overlapped."""

    one_core = True

    def __init__(self) -> None:
        super().__init__()
        import threading

        self._lock = threading.Lock()
        self.running = 0
        self.most = 0

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        import time

        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05 if int(rgb[0, 0, 0]) % 2 else 0.01)  # uneven: later photos finish first
        try:
            if int(rgb[0, 0, 1]) % 5 == 0:
                raise RuntimeError("odd photo")
            return super().fill(rgb, mask, sketch)
        finally:
            with self._lock:
                self.running -= 1


def test_photos_filled_at_once_give_the_report_progress_and_files_of_one_by_one(tmp_path: Path) -> None:
    from app.inference.batch import default_jobs

    images = tmp_path / "images"
    images.mkdir()
    for i in range(9):
        Image.fromarray(_photo(i)).save(images / f"p{i}.png")
    (images / "p9.png").write_bytes(b"not a png")  # a failure among them
    rgba = np.dstack([_photo(20), np.full((H, W), 77, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(images / "q.png")  # a note: flattened as JPEG
    Image.fromarray(_photo(21)).save(images / "q.tif")  # the same output name as q.png
    Image.fromarray(_mask_arr()).save(tmp_path / "m.png")
    runs = {}
    for jobs in (1, 2):
        engine, started, done = OneCoreEngine(), [], []
        report = run_batch(images, tmp_path / "m.png", tmp_path / f"out{jobs}", engine=engine, fmt="jpg",
                           jobs=jobs, started=lambda i, t, n, seen=started: seen.append((i, t, n)),
                           progress=lambda d, t, n, seen=done: seen.append((d, t, n)))
        assert engine.most == jobs
        assert [d for d, _, _ in done] == list(range(1, 13))  # counted as they finish
        runs[jobs] = (report.ok, report.failed, report.notes, report.replaced, started,
                      sorted(n for _, _, n in done), _digest(tmp_path / f"out{jobs}"))
        if jobs == 2:  # uneven fills: some later photos finished before earlier ones
            assert [n for _, _, n in done] != [n for _, _, n in started]
    assert runs[1] == runs[2]
    ok, failed, notes, _, started, finished, files = runs[2]
    assert [n for _, _, n in started] == finished == sorted(p.name for p in images.iterdir())
    assert ("q.tif", "q.jpg was already written from q.png in this batch (two inputs share the name q)") in failed
    assert notes and notes[0][0] == "q.png" and {"p9.png", "q.tif"} <= {n for n, _ in failed}
    assert any("odd photo" in why for _, why in failed) and len(files) == len(ok)
    assert default_jobs(OneCoreEngine()) >= 1 and default_jobs(FakeEngine()) == 1


def test_a_cancel_lets_the_photos_being_filled_finish_and_starts_no_more(job: dict[str, Path]) -> None:
    for name in ("c", "d", "e"):
        Image.fromarray(_photo(5)).save(job["images"] / f"{name}.png")
        Image.fromarray(_mask_arr()).save(job["masks"] / f"{name}.png")
    started = []
    report = run_batch(job["images"], job["masks"], job["out"], engine=OneCoreEngine(), jobs=2,
                       started=lambda i, t, n: started.append(n), cancel=lambda: len(started) >= 2)
    assert report.cancelled and started == ["a.png", "b.jpg"] and report.not_done == 3
    assert report.ok == ["a.png"] and [n for n, _ in report.failed] == ["b.jpg"]


def test_jobs_out_of_range_are_a_bad_argument(job: dict[str, Path]) -> None:
    for jobs in (0, 17):
        with pytest.raises(TemperaError, match="jobs must be 1-16"):
            run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine(), jobs=jobs)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"images_dir": "nope"}, "images folder"),
     ({"masks": "nope.png"}, "does not exist"),
     ({"fmt": "gif"}, "unknown output format"),
     ({"quality": 0}, "quality"),
     ({"sketches": "nope"}, "sketches folder"),
     ({"masks": "empty.png"}, "cannot read the mask empty.png: the file is empty"),
     ({"masks": "cut.png"}, "cannot read the mask cut.png")],
)
def test_bad_arguments_raise(job: dict[str, Path], kwargs: dict, message: str) -> None:
    (job["root"] / "empty.png").write_bytes(b"")  # one mask for every photo, damaged: refused
    good = io.BytesIO()                              # before any photo is tried
    Image.new("L", (64, 64), 255).save(good, "PNG")
    (job["root"] / "cut.png").write_bytes(good.getvalue()[:40])
    args = {"images_dir": job["images"], "masks": job["masks"], "out_dir": job["out"]}
    for key in ("images_dir", "masks"):
        if key in kwargs:
            args[key] = job["root"] / kwargs.pop(key)
    if "sketches" in kwargs:
        kwargs["sketches"] = job["root"] / kwargs["sketches"]
    with pytest.raises(TemperaError, match=message):
        run_batch(**args, engine=FakeEngine(), **kwargs)
    assert not job["out"].exists()


def test_empty_folder_is_a_bad_argument(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    Image.fromarray(_mask_arr()).save(tmp_path / "m.png")
    with pytest.raises(TemperaError, match="no images"):
        run_batch(tmp_path / "empty", tmp_path / "m.png", tmp_path / "out", engine=FakeEngine())


# ---------------------------------------------------------------- the command


def test_command_exit_1_with_progress_and_summary(
    job: dict[str, Path], fake_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parse(["batch", "--images", str(job["images"]), "--masks", str(job["masks"]),
                   "--out", str(job["out"]), "--engine", "telea", "--device", "cpu"])
    assert args.func(args) == 1
    assert fake_engine.loaded_with == {"name": "telea", "device": "cpu"}  # type: ignore[attr-defined]
    captured = capsys.readouterr()
    assert "1/3 a.png\n" in captured.err and "3/3 c.png\n" in captured.err  # a log, not a terminal: no \\r
    assert "\r" not in captured.err
    assert "3 images: 1 filled, 0 skipped, 2 failed" in captured.out
    assert "failed: b.jpg:" in captured.out
    assert (job["out"] / "a.png").is_file()


def test_command_exit_0_and_skip_existing(
    job: dict[str, Path], fake_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    (job["images"] / "b.jpg").unlink()
    Image.fromarray(_mask_arr()).save(job["masks"] / "c.png")
    argv = ["batch", "--images", str(job["images"]), "--masks", str(job["masks"]),
            "--out", str(job["out"]), "--format", "webp", "--quality", "80"]
    args = _parse(argv)
    assert args.func(args) == 0
    assert sorted(p.name for p in job["out"].iterdir()) == ["a.webp", "c.webp"]
    capsys.readouterr()
    args = _parse(argv + ["--skip-existing"])
    assert args.func(args) == 0
    said = capsys.readouterr()
    assert "2 images: 0 filled, 2 skipped, 0 failed" in said.out
    assert "1/2 a.png (exists: skipped)" in said.err.splitlines()  # the lines as each photo starts say so


def test_command_bad_arguments_exit_2(
    job: dict[str, Path], fake_engine: FakeEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parse(["batch", "--images", str(job["root"] / "missing"), "--masks",
                   str(job["masks"]), "--out", str(job["out"])])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the images folder") and err.count("\n") == 1
    assert fake_engine.calls == [] and not job["out"].exists()


def test_command_engine_unavailable_exit_2(
    job: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    def unavailable(name="auto", device="auto", weights_dir=None):
        raise TemperaError(f"engine {name!r} is not installed")

    monkeypatch.setattr(engines, "load_engine", unavailable)
    args = _parse(["batch", "--images", str(job["images"]), "--masks", str(job["masks"]),
                   "--out", str(job["out"]), "--engine", "mtsa"])
    assert args.func(args) == 2
    assert capsys.readouterr().err == "error: engine 'mtsa' is not installed\n"


def test_parser_rejects_unknown_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse(["batch", "--images", "a", "--masks", "b", "--out", "c", "--format", "gif"])
    assert exc.value.code == 2


def test_help_has_worked_examples() -> None:
    parser = argparse.ArgumentParser(prog="tempera")
    sub = parser.add_subparsers()
    p = batch_cmd.register(sub)
    text = p.format_help()
    assert "python main.py batch --images shots --masks masks --out filled" in text
    assert "--skip-existing" in text and "exit status" in text


def test_choices_match_the_inference_layer() -> None:
    assert batch_cmd.ENGINE_CHOICES == tuple(engines.ENGINE_NAMES)
    args = _parse(["batch", "--images", "a", "--masks", "b", "--out", "c", "--device", "cuda:1"])
    assert args.device == "cuda:1"  # one GPU of several, as inpaint accepts it


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_format() -> None:
    stream = _Terminal()
    bar = batch_cmd.ProgressBar(stream, width=10)
    bar(12, 40, "a_long_name.jpg")
    bar.start(14, 40, "b.jpg")  # names the image being filled, before it is done
    bar(14, 40, "b.jpg")
    bar.close()
    assert stream.getvalue().startswith("\r[###.......] 12/40 a_long_name.jpg")
    assert "\r[###.......] 13/40 b.jpg…         \r" in stream.getvalue()
    assert stream.getvalue().endswith("\r[###.......] 14/40 b.jpg \n")


def test_progress_into_a_log_file_is_plain_lines() -> None:
    stream = io.StringIO()  # not a terminal: a log file or a pipe
    bar = batch_cmd.ProgressBar(stream, width=10)
    bar.start(1, 2, "a.jpg")
    bar(1, 2, "a.jpg")
    bar.start(2, 2, "b.jpg")
    bar(2, 2, "b.jpg")
    bar.close()
    assert stream.getvalue() == "1/2 a.jpg\n2/2 b.jpg\n"


def test_real_telea_engine_end_to_end(job: dict[str, Path]) -> None:
    engine = engines.load_engine("telea", "cpu")
    report = run_batch(job["images"], job["masks"], job["out"], engine=engine)
    assert report.ok == ["a.png"]
    out = np.asarray(Image.open(job["out"] / "a.png")).astype(int)
    src = _photo(0).astype(int)
    keep = _mask_arr() == 0
    np.testing.assert_array_equal(out[keep], src[keep])  # outside the hole: untouched
    assert np.abs(out[~keep] - src[~keep]).mean() > 1  # inside: actually filled


@pytest.mark.slow  # a python process of its own
def test_through_main_py_with_the_real_telea_engine(job: dict[str, Path]) -> None:
    # A subprocess, not app.cli.main() in-process: the CLI imports every command module
    # and sets up logging, global state that would leak into other tests.
    before = _digest(job["images"])
    argv = [sys.executable, "main.py", "batch", "--images", str(job["images"]),
            "--masks", str(job["masks"]), "--out", str(job["out"]), "--engine", "telea",
            "--format", "png"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "3 images: 1 filled, 0 skipped, 2 failed" in result.stdout
    assert "3/3 c.png\n" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in job["out"].iterdir()) == ["a.png"]
    assert _digest(job["images"]) == before
    missing = subprocess.run(argv[:4] + [str(job["root"] / "missing")] + argv[5:], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: the images folder") and "Traceback" not in missing.stderr


def test_cli_jobs_says_how_many_photos_at_a_time_and_refuses_nonsense(job: dict[str, Path], capsys) -> None:
    import argparse

    from app.commands import batch as batch_cmd

    parser = argparse.ArgumentParser()
    batch_cmd.register(parser.add_subparsers())
    base = ["batch", "--images", str(job["images"]), "--masks", str(job["masks"]), "--engine", "telea",
            "--device", "cpu", "--format", "png"]
    with pytest.raises(SystemExit):
        parser.parse_args(base + ["--out", str(job["out"]), "--jobs", "0"])
    assert "--jobs: must be 1-16, got 0" in capsys.readouterr().err
    assert not job["out"].exists()
    args = parser.parse_args(base + ["--out", str(job["out"]), "--jobs", "2"])
    assert args.func(args) == 1  # b.jpg and c.png fail, as one by one
    captured = capsys.readouterr()
    assert "engine: telea on CPU, 2 photos at a time" in captured.err
    assert "3 images: 1 filled, 0 skipped, 2 failed" in captured.out
    args = parser.parse_args(base + ["--out", str(job["root"] / "one"), "--jobs", "1"])
    assert args.func(args) == 1 and "photos at a time" not in capsys.readouterr().err
    assert _digest(job["out"]) == _digest(job["root"] / "one")


def test_pairing_names_and_preferences(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for stem in ("exact", "under", "dash", "lama", "Case"):
        Image.fromarray(_photo(0)).save(images / f"{stem}.jpg")
    small = np.zeros((H, W), np.uint8)
    small[0, 0] = 255  # one hole pixel: tells which file was used
    Image.fromarray(_mask_arr()).save(masks / "exact.png")
    Image.fromarray(small).save(masks / "exact_mask.png")  # loses to the exact stem
    Image.fromarray(small).save(masks / "exact.jpg")  # loses to the lossless file
    Image.fromarray(_mask_arr()).save(masks / "under_mask.png")
    Image.fromarray(_mask_arr()).save(masks / "dash-mask.webp")
    Image.fromarray(_mask_arr()).save(masks / "lama_mask001.png")
    Image.fromarray(_mask_arr()).save(masks / "case_MASK.png")
    engine = FakeEngine()
    report = run_batch(images, masks, tmp_path / "out", engine=engine)
    assert report.failed == []
    assert report.ok == ["Case.jpg", "dash.jpg", "exact.jpg", "lama.jpg", "under.jpg"]
    assert [c["holes"] for c in engine.calls] == [60] * 5


def test_same_folder_pairs_only_suffixed_names(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    Image.fromarray(_photo(0)).save(folder / "a.jpg")
    Image.fromarray(_photo(1)).save(folder / "a.png")  # a second photo, not a's mask
    report = run_batch(folder, folder, tmp_path / "out", engine=FakeEngine(), fmt="png")
    assert report.ok == [] and [name for name, _ in report.failed] == ["a.jpg", "a.png"]
    assert all(reason.startswith("no mask for") for _, reason in report.failed)


class ChoosingEngine(FakeEngine):
    """Like auto: names the engine it chose, by the photo's first pixel."""

    name = "auto"

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        result = super().fill(rgb, mask, sketch)
        return FillResult(result.image, "patchmatch" if rgb[0, 0, 0] % 2 else "mtsa-texture")


def test_summary_counts_what_auto_chose_and_notes_empty_and_whole_masks(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(4):
        photo = _photo(i)
        photo[0, 0, 0] = i
        Image.fromarray(photo).save(images / f"p{i}.png")
        Image.fromarray(_mask_arr()).save(masks / f"p{i}.png")
    Image.fromarray(np.zeros((H, W), np.uint8)).save(images.parent / "masks" / "p3.png")  # empty
    Image.fromarray(_photo(9)).save(images / "whole.png")
    Image.fromarray(np.full((H, W), 255, np.uint8)).save(masks / "whole.png")
    report = run_batch(images, masks, tmp_path / "out", engine=ChoosingEngine(), feather=0)
    first = report.summary().splitlines()[0]
    assert "with auto (mtsa-texture for 2 photos, patchmatch for 1)" in first  # p3's mask is empty: nothing chose
    assert dict(report.notes) == {"p3.png": "the mask is empty; copied unchanged"}
    assert (tmp_path / "out" / "p3.png").read_bytes() == (images / "p3.png").read_bytes()
    assert dict(report.failed)["whole.png"].startswith("the hole covers the whole image")
    assert not (tmp_path / "out" / "whole.png").exists()
    plain = run_batch(images, masks, tmp_path / "out2", engine=FakeEngine(), feather=0)
    assert " with fake -> " in plain.summary().splitlines()[0]
    # the editor's batch dialog words the engines as its engine list does, not the file names
    from app.core.names import editor_words

    worded = report.summary(editor_words)
    assert "with Auto (Network + texture for 2 photos, PatchMatch for 1)" in worded.splitlines()[0]
    assert "note: p3.png: the mask is empty" in worded


class SayingEngine(FakeEngine):
    """Fills like FakeEngine and says something about it, as a GPU fallback does."""

    def fill(self, rgb, mask, sketch=None, *, protect=None, seed=0, progress=None, drawn=None):
        result = super().fill(rgb, mask, sketch)
        return FillResult(result.image, self.name, "CPU", "CUDA ran out of memory; continuing on the CPU")


def test_the_headline_is_short_and_names_the_folder(job: dict[str, Path]) -> None:
    report = run_batch(job["images"], job["masks"], job["out"], engine=FakeEngine())
    assert report.headline() == f"1 of 3 filled, 2 failed -> {job['out']}"
    assert len(report.headline()) < len(report.summary().splitlines()[0])


def test_an_engine_s_notice_reaches_the_summary(job: dict[str, Path]) -> None:
    report = run_batch(job["images"], job["masks"], job["out"], engine=SayingEngine())
    assert report.ok and all(text == "CUDA ran out of memory; continuing on the CPU" for _, text in report.notes)
    assert len(report.notes) == len(report.ok)
    assert "note: " in report.summary() and "ran out of memory" in report.summary()


def test_batch_never_copies_the_hidden_colour_of_transparent_pixels(tmp_path: Path) -> None:
    from app.inference.engines import load_engine

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(5)
    rgba = np.dstack([rng.integers(120, 220, (H, W, 3), dtype=np.uint8), np.full((H, W), 255, np.uint8)])
    rgba[:, :8] = 0
    Image.fromarray(rgba, "RGBA").save(images / "x.png")
    mask = np.zeros((H, W), np.uint8)
    mask[4:12, 5:16] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    report = run_batch(images, tmp_path / "m.png", tmp_path / "out", engine=load_engine("patchmatch", "cpu"))
    assert report.ok == ["x.png"]
    got = np.asarray(Image.open(tmp_path / "out" / "x.png"))
    assert (got[mask > 0, 3] == 255).all() and got[mask > 0, :3].max(axis=1).min() > 60


def test_a_heic_photo_is_written_as_jpeg_by_default(tmp_path: Path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    (images / "phone.heic").write_bytes((ROOT / "tests" / "data" / "phone-turned.heic").read_bytes())
    mask = np.zeros((48, 64), np.uint8)
    mask[10:30, 20:44] = 255
    Image.fromarray(mask).save(masks / "phone.png")
    report = run_batch(images, masks, tmp_path / "out", engine=FakeEngine(), feather=0)
    assert report.ok == ["phone.heic"], report.summary()
    out = Image.open(tmp_path / "out" / "phone.jpg")
    assert out.format == "JPEG" and out.size == (64, 48)


def test_an_output_folder_nothing_can_be_written_in_is_refused_before_any_photo_is_filled(
        job: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    from app.core import atomic

    def refuse(*args, **kw):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "TemporaryFile", refuse)  # as a read-only folder answers
    engine = FakeEngine()
    with pytest.raises(TemperaError, match=r"^cannot write in the output folder .*out: Permission denied$"):
        run_batch(job["images"], job["masks"], tmp_path / "out", engine=engine)  # made, then checked
    assert engine.calls == []
    (tmp_path / "there").mkdir()
    with pytest.raises(TemperaError, match=r"^cannot write in the output folder .*there: Permission denied$"):
        plan_batch(job["images"], job["masks"], tmp_path / "there")  # the command checks before loading an engine


def test_ctrl_c_stops_a_batch_after_the_current_photos_unless_the_batch_was_started_ignoring_it(monkeypatch):
    import signal

    previous = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as an interactive shell starts it
        with batch_cmd._StopAfterCurrent() as stop:
            assert signal.getsignal(signal.SIGINT) == stop._handle
            stop._handle(signal.SIGINT, None)
            assert stop()  # the first Ctrl+C asks to stop after the photos being filled
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a script's background job starts
        with batch_cmd._StopAfterCurrent() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and not stop()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
