"""evaluate --mask-dir: engines scored on the user's own holes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from app.cli import build_parser


def _photos(tmp_path, sizes=((80, 60), (60, 80), (70, 70))):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, (w, h) in enumerate(sizes):
        y, x = np.mgrid[0:h, 0:w]
        img = np.dstack([(x * 4 + 30 * i) % 256, (y * 4) % 256, ((x // 10 + y // 10) % 2) * 200])
        Image.fromarray(img.astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


def _mask(path, size, box):
    m = np.zeros(size[::-1], np.uint8)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(m).save(path)


def test_unclamped_buckets_keep_holes_outside_the_five_apart():
    from app.core.names import bucket_of
    from app.evaluation.user_masks import ORDER

    assert [bucket_of(r, clamp=False) for r in (0.02, 0.1, 0.25, 0.59, 0.6, 0.9)] == \
        ["0-10", "10-20", "20-30", "50-60", "60-100", "60-100"]
    assert ORDER[0] == "0-10" and ORDER[-1] == "60-100" and "30-40" in ORDER


def test_holes_follow_the_photos_crop_and_names(tmp_path):
    from app.evaluation import evaluate as ev
    from app.evaluation.user_masks import load_user_holes

    data = _photos(tmp_path)
    masks = tmp_path / "masks"
    _mask(masks / "p0.png", (80, 60), (30, 15, 50, 45))  # centred: survives the crop
    _mask(masks / "p1" / "a.png", (60, 80), (0, 0, 60, 20))  # several masks for p1 in a folder
    _mask(masks / "p1" / "b.png", (60, 80), (0, 0, 60, 5))  # a strip the centre crop cuts away
    _mask(masks / "unrelated.png", (80, 60), (0, 0, 10, 10))
    images = ev.load_eval_images(data, crop=40)
    assert [im.size for im in images] == [(80, 60), (60, 80), (70, 70)]
    notes: list[str] = []
    holes = load_user_holes(masks, [(im.name, im.size) for im in images], lambda a: ev.center_crop(a, 40),
                            note=notes.append)
    assert [i for i, _ in holes] == [0, 1]
    m0 = holes[0][1]
    assert m0.shape == (40, 40) and m0.dtype == bool
    # 20 x 30 of the 80 x 60 photo, scaled by 40/60 and cut to the centre: 13 x 20 px
    assert abs(int(m0.sum()) - 13 * 20) <= 30 and m0[20, 20]
    assert any("1 of 3 photo(s) have no mask" in n for n in notes)
    assert any("b.png" in n for n in notes)  # the cut-away strip is named, not scored as empty
    _mask(masks / "p2_mask.png", (70, 70), (20, 20, 50, 50))  # batch's names pair here too
    _mask(masks / "p2-mask.png", (70, 70), (25, 25, 45, 45))
    again = load_user_holes(masks, [(im.name, im.size) for im in images], lambda a: ev.center_crop(a, 40))
    assert [i for i, _ in again] == [0, 1, 2, 2]
    cases = ev.cases_from_holes(images, holes)
    assert [c.bucket for c in cases] == sorted((c.bucket for c in cases), key=lambda b: int(b.split("-")[0]))
    for c in cases:
        lo, hi = (int(v) / 100 for v in c.bucket.split("-"))
        assert lo <= c.mask.mean() < hi


def test_wrong_size_mask_and_missing_folder_are_one_line_errors(tmp_path):
    from app.core.errors import TemperaError
    from app.evaluation import evaluate as ev
    from app.evaluation.user_masks import load_user_holes

    images = ev.load_eval_images(_photos(tmp_path), crop=40)
    photos = [(im.name, im.size) for im in images]
    with pytest.raises(TemperaError, match="is not a folder"):
        load_user_holes(tmp_path / "nope", photos, lambda a: a)
    _mask(tmp_path / "m" / "p0.png", (60, 80), (0, 0, 10, 10))
    with pytest.raises(TemperaError, match=r"p0\.png is 60 x 80 but the image is 80 x 60"):
        load_user_holes(tmp_path / "m", photos, lambda a: ev.center_crop(a, 40))
    (tmp_path / "m" / "p0.png").unlink()
    _mask(tmp_path / "m" / "other.png", (80, 60), (0, 0, 10, 10))
    with pytest.raises(TemperaError, match="no masks in"):
        load_user_holes(tmp_path / "m", photos, lambda a: ev.center_crop(a, 40))


def test_evaluate_command_scores_user_masks(tmp_path, capsys):
    data = _photos(tmp_path)
    masks = tmp_path / "masks"
    _mask(masks / "p0.png", (80, 60), (25, 10, 55, 50))
    _mask(masks / "p2.png", (70, 70), (20, 20, 50, 50))
    out = tmp_path / "r.json"
    args = build_parser().parse_args(["evaluate", "--data", str(data), "--mask-dir", str(masks), "--engines",
                                      "telea", "--crop", "40", "--no-fid", "--no-lpips", "--json", str(out),
                                      "--device", "cpu"])
    assert args.func(args) == 0
    captured = capsys.readouterr()
    assert "on 2 hole(s) in 2 image(s)" in captured.err and "1 of 3 photo(s) have no mask" in captured.err
    rows = json.loads(out.read_text())
    assert sum(r["n"] for r in rows if r["bucket"] != "all") == 2
    assert [r["n"] for r in rows if r["bucket"] == "all"] == [2]
    args = build_parser().parse_args(["evaluate", "--data", str(data), "--mask-dir", str(tmp_path / "none"),
                                      "--engines", "telea", "--crop", "40"])
    assert args.func(args) == 2
    assert capsys.readouterr().err.startswith("error: --mask-dir")
