"""Contracts defined once in app/core/names.py, and every caller reading them from there."""

from __future__ import annotations

import pytest

from app.cli import build_parser
from app.core.errors import TemperaError
from app.core.names import (
    ALL_BUCKET,
    BUCKETS,
    IMAGE_EXTENSIONS,
    IMAGE_FORMATS,
    bucket_name,
    bucket_of,
    parse_device,
)


def test_bucket_of_uses_the_evaluation_buckets_and_clamps():
    assert [bucket_name(b) for b in BUCKETS] == ["10-20", "20-30", "30-40", "40-50", "50-60"]
    assert bucket_of(0.01) == "10-20" and bucket_of(0.25) == "20-30" and bucket_of(0.95) == "50-60"
    for lo, hi in BUCKETS:  # every ratio inside a bucket maps to that bucket's own label
        assert bucket_of(lo) == bucket_of((lo + hi) / 2) == bucket_name((lo, hi))
    assert ALL_BUCKET not in {bucket_name(b) for b in BUCKETS}


def test_evaluation_masks_and_auto_agree_on_the_buckets():
    # auto looks a hole up with bucket_of; evaluation records its verdicts under the labels
    # of evaluation_masks: a mask drawn for a bucket must be looked up in that bucket
    from app.data.masks import evaluation_masks, hole_ratio

    for label, masks in evaluation_masks((64, 64), per_bucket=2).items():
        assert all(bucket_of(hole_ratio(m)) == label for m in masks)


@pytest.mark.parametrize("text,expected", [
    (None, "auto"), ("", "auto"), (" CPU ", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda:1"), ("mps", "mps"),
])
def test_parse_device_accepts_the_documented_spellings(text, expected):
    assert parse_device(text) == expected


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "auto:0", "tpu:1"])
def test_parse_device_refuses_others_in_one_line(text):
    with pytest.raises(TemperaError, match="unknown device") as exc:
        parse_device(text)
    assert "\n" not in str(exc.value)


COMMANDS_WITH_DEVICE = {
    "inpaint": ["inpaint", "photo.jpg", "--mask", "m.png"],
    "batch": ["batch", "--images", "a", "--masks", "b", "--out", "c"],
    "benchmark": ["benchmark"],
    "evaluate": ["evaluate", "--data", "d"],
    "train": ["train", "--data", "d", "--out", "o"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS_WITH_DEVICE))
def test_every_command_parses_device_the_same_way(command, capsys):
    parser = build_parser()
    argv = COMMANDS_WITH_DEVICE[command]
    assert parser.parse_args([*argv, "--device", "CUDA:1"]).device == "cuda:1"
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([*argv, "--device", "gpu"])
    assert exc.value.code == 2
    assert "unknown device 'gpu'" in capsys.readouterr().err


def test_no_other_device_option(capsys):
    # every command that takes --device is covered above, so each goes through the one parser
    from app.cli import COMMAND_NAMES

    with_device = set()
    for name in COMMAND_NAMES:
        with pytest.raises(SystemExit):
            build_parser().parse_args([name, "--help"])
        if "--device" in capsys.readouterr().out:
            with_device.add(name)
    assert with_device == set(COMMANDS_WITH_DEVICE)


def test_one_list_of_image_extensions():
    from app.core import imageio
    from app.core.names import READ_ONLY_FORMATS
    from app.data import split
    from app.evaluation import evaluate
    from app.inference import batch

    # what is written, then what is only read (a phone's HEIC); nothing written is unreadable
    assert IMAGE_EXTENSIONS == tuple(IMAGE_FORMATS) + tuple(READ_ONLY_FORMATS)
    assert all(e == e.lower() for e in IMAGE_EXTENSIONS) and not set(READ_ONLY_FORMATS) & set(IMAGE_FORMATS)
    assert all(out in IMAGE_FORMATS for out in READ_ONLY_FORMATS.values())
    for module in (batch, split, evaluate, imageio):
        assert getattr(module, "IMAGE_EXTENSIONS", IMAGE_EXTENSIONS) is IMAGE_EXTENSIONS


def test_a_bad_tempera_device_is_named_in_the_error(monkeypatch):
    import pytest

    from app.core.errors import TemperaError
    from app.inference.device import resolve_device

    monkeypatch.setenv("TEMPERA_DEVICE", "bogus")
    with pytest.raises(TemperaError, match=r"^\$TEMPERA_DEVICE: unknown device 'bogus'"):
        resolve_device("auto")


def test_the_editor_without_a_display_says_so_in_one_line(monkeypatch, capsys):
    import sys

    import main

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main.main(["photo.png"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: photo.png does not exist") and len(err.splitlines()) == 1
    assert main.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no display") and len(err.splitlines()) == 1
    opened: list[str | None] = []
    monkeypatch.setattr(main, "_editor", lambda path: opened.append(path) or 0)
    for argv, path in ((["-v", "photo.png"], "photo.png"), (["photo.png", "--verbose"], "photo.png"), (["-v"], None)):
        assert main.main(argv) == 0 and opened.pop() == path  # -v goes with the editor too
    monkeypatch.undo()
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")  # X11 asked for by name: still needs a display
    assert main._no_display().startswith("no display")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # another platform chosen: Qt is left to try
    assert main._no_display() is None


def test_the_editor_with_a_display_nobody_answers_says_so_in_one_line(monkeypatch, capsys):
    import socket
    import sys

    import main

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    server = None
    for num in range(700, 800):  # a display whose TCP port is free: nothing answers there
        try:
            probe = socket.create_server(("127.0.0.1", 6000 + num))
        except OSError:
            continue
        probe.close()
        server = num
        break
    assert server is not None
    for dead in (":4711", f"127.0.0.1:{server}", f"127.0.0.1:{server}.0"):
        monkeypatch.setenv("DISPLAY", dead)
        assert main.main([]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: no X server answers at DISPLAY=") and len(err.splitlines()) == 1
    with socket.create_server(("127.0.0.1", 6000 + server)):  # a server listening there: Qt may try
        monkeypatch.setenv("DISPLAY", f"127.0.0.1:{server}")
        assert main._no_display() is None
    monkeypatch.setenv("DISPLAY", "/private/tmp/launchd-1/org.xquartz:0")  # a form not known: left to Qt
    assert main._no_display() is None
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("DISPLAY", ":4711")
    assert main._no_display() is None


def test_a_missing_gpu_named_in_tempera_device_keeps_its_index_and_source(monkeypatch):
    import pytest
    import torch

    from app.core.errors import TemperaError
    from app.inference.device import resolve_device

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    monkeypatch.setenv("TEMPERA_DEVICE", "cuda:7")
    with pytest.raises(TemperaError, match=r"device 'cuda:7' \(from \$TEMPERA_DEVICE\) was asked for"):
        resolve_device("auto")


def test_editor_words_name_engines_as_the_editor_does_and_leave_other_words_alone() -> None:
    from app.core.names import editor_words, engine_word

    assert engine_word("auto") == "Auto" and engine_word("ns") == "Navier-Stokes"
    assert engine_word("mtsa-guided") == "Network + sketch"
    said = "mtsa does not follow sketch strokes: they were ignored (auto, mtsa-texture and mtsa-guided follow them)"
    assert editor_words(said) == ("Network does not follow sketch strokes: they were ignored "
                                  "(Auto, Network + texture and Network + sketch follow them)")
    assert editor_words(" with mtsa-guided (mtsa 4)") == " with Network + sketch (Network 4)"
    # file names, paths and longer words that hold a name stay as they are
    kept = "no recorded routes (model_weights/auto.json); see auto.json, automatic, mtsa_x, ns3, nsfw"
    assert editor_words(kept) == kept
    assert editor_words("auto's choice") == "Auto's choice"


def test_open_recent_labels_tell_files_of_the_same_name_apart() -> None:
    from pathlib import Path

    from app.core.settings import recent_labels

    paths = [str(Path("/a/photos/cmyk.jpg")), str(Path("/a/x.png")), str(Path("/t/walk/cmyk.jpg")),
             str(Path("/b/same/c.jpg")), str(Path("/c/same/c.jpg"))]
    assert recent_labels(paths) == ["cmyk.jpg — photos", "x.png", "cmyk.jpg — walk",
                                    f"c.jpg — {Path('b/same')}", f"c.jpg — {Path('c/same')}"]
    assert recent_labels([]) == []
