"""From the photo folder to batches of tensors for the loop.

The data set itself (crops, masks, sketches, the Telea prior) is app.data.dataset's;
this module only decides which photos train (never the held-out ones), hands each item
the epoch the sampler drew it in (the data set keys its randomness to it), and turns the
items into (B, C, H, W) tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from app.data.split import find_images, read_split, split_holdout
from app.training.config import TrainConfig


def image_tensor(x: Any) -> Tensor:
    """uint8 (H,W,3) array -> float (3,H,W) in [-1, 1]; float tensors pass through."""
    if isinstance(x, Tensor) and x.is_floating_point():
        return x
    arr = np.asarray(x)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


def plane_tensor(x: Any) -> Tensor:
    """bool / uint8 {0,255} (H,W) -> float (1,H,W) in {0, 1}; float tensors pass through."""
    if isinstance(x, Tensor) and x.is_floating_point():
        return x if x.ndim == 3 else x.unsqueeze(0)
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"expected an (H, W) plane, got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr > (0 if arr.dtype == bool else 127))).float().unsqueeze(0)


def collate(items: Sequence[dict[str, Any]]) -> dict[str, Tensor]:
    """Items (dicts image/mask/sketch/prior, arrays per the project's conventions) to a batch."""
    return {
        "image": torch.stack([image_tensor(it["image"]) for it in items]),
        "mask": torch.stack([plane_tensor(it["mask"]) for it in items]),
        "sketch": torch.stack([plane_tensor(it["sketch"]) for it in items]),
        "prior": torch.stack([image_tensor(it["prior"]) for it in items]),
    }


class KeyedItems(Dataset):
    """Index with (photo index, epoch). The data set keys a sample's randomness to
    (seed, epoch, index); setting the epoch per item (rather than once per epoch in the
    main process) also reaches DataLoader workers, which hold their own copies."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, epoch = key
        self.base.set_epoch(epoch)
        return self.base[index]


def training_files(config: TrainConfig) -> tuple[list[Path], list[Path]]:
    """Photos under `config.data` that may train, and those held out from training.

    Held out: the photos DIR/split.json lists (written by `fetch-data`), then `--holdout N`
    more chosen by `split_holdout` with its fixed seed 0, so the split does not depend on
    the training seed; the run lists them in RUN_DIR/holdout.txt for evaluation.
    """
    files = find_images(config.data)
    if not files:
        raise ValueError(f"no images found in {config.data}")
    held = read_split(config.data)
    kept = [f for f in files if f.stem not in held]
    excluded = [f for f in files if f.stem in held]
    if config.holdout:
        if config.holdout >= len(kept):
            raise ValueError(f"--holdout {config.holdout} leaves no training photos (have {len(kept)})")
        kept, hold = split_holdout(kept, config.holdout)
        excluded += hold
    return kept, excluded


def build_datasets(config: TrainConfig) -> tuple[KeyedItems, list[Path]]:
    """The training set and the photos held out from it."""
    from app.data import dataset as ds
    from app.data.masks import make_mask_generator

    files, excluded = training_files(config)
    base = ds.ImageFolderDataset(config.data, config.image_size, mask_generator=make_mask_generator("free_form"),
                                 sketch_prob=config.effective_sketch_prob, seed=config.seed, prior=config.prior,
                                 paths=files)
    return KeyedItems(base), excluded
