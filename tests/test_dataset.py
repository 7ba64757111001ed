from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from app.data.dataset import ImageFolderDataset
from app.data.masks import make_mask_generator
from app.data.split import split_holdout


def _photos(folder, n=4, size=(90, 70)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        y, x = np.mgrid[0 : size[1], 0 : size[0]]
        img = np.dstack([(x * 3 + i * 40) % 256, (y * 3) % 256, rng.integers(0, 256, (size[1], size[0]))])
        Image.fromarray(img.astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


def _ds(root, **kw):
    kw.setdefault("mask_generator", make_mask_generator("free_form"))
    return ImageFolderDataset(root, 32, **kw)


def test_shapes_and_ranges(tmp_path):
    ds = _ds(_photos(tmp_path / "p"), sketch_prob=1.0)
    assert len(ds) == 4
    s = ds[0]
    assert set(s) == {"image", "mask", "sketch", "prior"}
    assert s["image"].shape == (3, 32, 32) and s["prior"].shape == (3, 32, 32)
    assert s["mask"].shape == (1, 32, 32) and s["sketch"].shape == (1, 32, 32)
    for k in s:
        assert s[k].dtype == torch.float32
    for k in ("image", "prior"):
        assert -1.0 <= s[k].min() and s[k].max() <= 1.0
    for k in ("mask", "sketch"):
        assert set(torch.unique(s[k]).tolist()) <= {0.0, 1.0}
    ratio = s["mask"].mean().item()
    assert 0.1 <= ratio <= 0.6
    # the prior equals the photo outside the hole and the sketch lies inside it
    keep = s["mask"][0] == 0
    assert torch.allclose(s["prior"][:, keep], s["image"][:, keep])
    assert (s["sketch"][0][keep] == 0).all()


def test_deterministic_with_seed_and_epoch(tmp_path):
    root = _photos(tmp_path / "p")
    a, b = _ds(root, seed=3, sketch_prob=0.5), _ds(root, seed=3, sketch_prob=0.5)
    for i in range(len(a)):
        for k, v in a[i].items():
            assert torch.equal(v, b[i][k])
    c = _ds(root, seed=4)
    assert not torch.equal(a[0]["mask"], c[0]["mask"])
    first = a[1]["mask"].clone()
    a.set_epoch(1)
    assert not torch.equal(first, a[1]["mask"])


def test_guided_samples_get_the_prior_with_their_strokes_as_walls(tmp_path):
    from app.inference.prior import classical_prior

    ds = _ds(_photos(tmp_path / "p"), sketch_prob=1.0, seed=5)
    walled = 0
    for i in range(len(ds)):
        raw = ds.sample(i)
        assert np.array_equal(raw["prior"], classical_prior(raw["image"], raw["mask"], raw["sketch"]))
        walled += not np.array_equal(raw["prior"], classical_prior(raw["image"], raw["mask"]))
    assert walled > 0  # some strokes did separate parts of a hole


def test_harmonic_prior_samples_match_inference(tmp_path):
    from app.inference.prior import classical_prior

    ds = _ds(_photos(tmp_path / "p"), sketch_prob=1.0, seed=5, prior="harmonic")
    raw = ds.sample(0)
    assert np.array_equal(raw["prior"], classical_prior(raw["image"], raw["mask"], raw["sketch"], method="harmonic"))
    assert not np.array_equal(raw["prior"], classical_prior(raw["image"], raw["mask"], raw["sketch"]))


def test_sketch_prob_zero_gives_empty_sketch(tmp_path):
    ds = _ds(_photos(tmp_path / "p"), sketch_prob=0.0)
    assert all(ds[i]["sketch"].sum() == 0 for i in range(len(ds)))


def test_unreadable_file_skipped_with_warning(tmp_path):
    root = _photos(tmp_path / "p", n=2)
    (root / "broken.jpg").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match="broken.jpg"):
        ds = _ds(root)
    assert len(ds) == 2


def test_empty_folder_raises(tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(ValueError, match="no readable images"):
        _ds(tmp_path / "e")


def test_holdout_listed_in_split_json_is_excluded(tmp_path):
    root = _photos(tmp_path / "p", n=4)
    (root / "split.json").write_text(json.dumps({"holdout": ["img1"]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = _ds(root)
    assert len(ds) == 3 and all(p.stem != "img1" for p in ds.paths)
    assert len(_ds(root, exclude_holdout=False)) == 4


def test_small_images_still_give_full_crops(tmp_path):
    ds = ImageFolderDataset(_photos(tmp_path / "p", n=1, size=(20, 12)), 32,
                            mask_generator=make_mask_generator("box"))
    assert ds[0]["image"].shape == (3, 32, 32)


def test_split_holdout_deterministic_stratified_and_order_free():
    ids = [f"s{i}" for i in range(30)] + [f"b{i}" for i in range(10)]
    cats = {i: ("scene" if i.startswith("s") else "building") for i in ids}
    train, hold = split_holdout(ids, n_holdout=8, seed=0, categories=cats)
    assert len(hold) == 8 and len(train) == 32 and not set(train) & set(hold)
    assert sum(cats[h] == "building" for h in hold) == 2  # 10/40 of 8
    train2, hold2 = split_holdout(list(reversed(ids)), n_holdout=8, seed=0, categories=cats)
    assert hold2 == hold and train2 == train
    assert split_holdout(ids, n_holdout=8, seed=1, categories=cats)[1] != hold
    _, plain = split_holdout(ids, n_holdout=5, seed=0)
    assert len(plain) == 5
    with pytest.raises(ValueError):
        split_holdout(ids, n_holdout=41)
