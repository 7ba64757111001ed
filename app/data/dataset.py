"""Training data: the image-folder dataset (crops, holes, sketches, the prior)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from app.data.masks import MaskGenerator
from app.data.sketch import make_sketch
from app.data.split import find_images, read_split
from app.model.config import CLASSICAL_PRIORS, PRIORS


def load_capped(path: Path, short_side: int) -> np.ndarray:
    """Decode ``path`` as RGB uint8 with EXIF orientation, short side capped at ``short_side``
    (and raised to it when smaller, so every image can give a full crop)."""
    with Image.open(path) as im:
        if im.format == "JPEG":
            im.draft("RGB", (short_side, short_side))  # decode JPEGs at reduced size: much faster
        im = ImageOps.exif_transpose(im).convert("RGB")
        rgb = np.asarray(im)
    h, w = rgb.shape[:2]
    s = short_side / min(h, w)
    if s < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    elif min(h, w) < short_side // 2:
        s = (short_side // 2) / min(h, w)
        rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(rgb)


def classical_fill(rgb: np.ndarray, mask: np.ndarray, method: str = "telea", radius: int = 3,
                   sketch: np.ndarray | None = None) -> np.ndarray:
    """The prior the network refines (one of the model's ``PRIORS``, docs/MODEL.md).

    ``"telea"``: OpenCV's Telea fill, through the very function inference uses, so training
    sees the prior the app will feed (with ``sketch``, the strokes as region boundaries,
    as the guided network gets it); ``"harmonic"``: Laplace's smooth fill, strokes as cuts;
    ``"none"``: the hole zeroed.
    """
    if method in CLASSICAL_PRIORS:
        from app.inference.prior import classical_prior

        return classical_prior(rgb, mask, sketch, radius, method=method)
    if method == "none":
        out = rgb.copy()
        out[mask] = 0
        return out
    raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {method!r}")


def to_tensor_image(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (H,W,3) -> float (3,H,W) in [-1, 1]."""
    # numpy, not torch ops: in data-loader workers torch's intra-op thread pool
    # contends with the training process and made this ~50x slower
    chw = rgb.transpose(2, 0, 1).astype(np.float32)
    chw *= 1.0 / 127.5
    chw -= 1.0
    return torch.from_numpy(np.ascontiguousarray(chw))


class ImageFolderDataset(Dataset):
    """Random crops of the photos under ``root`` with a hole, a sketch and the classical prior.

    Sample ``i`` in epoch ``e`` is a pure function of ``(seed, e, i)``: crop, flip, mask
    and sketch all come from ``np.random.default_rng([seed, e, i])``, so runs and
    resumed runs see the same data whatever the worker count. Call :meth:`set_epoch`
    at each epoch. Photos listed as held out in ``root/split.json`` are skipped unless
    ``exclude_holdout=False``, so pointing training at the whole corpus cannot leak them.
    """

    def __init__(
        self,
        root: str | Path,
        size: int = 256,
        *,
        mask_generator: MaskGenerator,
        sketch_prob: float = 0.0,
        seed: int = 0,
        scale: tuple[float, float] = (0.5, 1.0),
        prior: str = "telea",
        exclude_holdout: bool = True,
        sketch_drop: float = 0.3,
        paths: Sequence[str | Path] | None = None,
    ) -> None:
        if size < 8:
            raise ValueError(f"size must be >= 8, got {size}")
        if not 0.0 <= sketch_prob <= 1.0:
            raise ValueError(f"sketch_prob must lie in [0, 1], got {sketch_prob}")
        if not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"scale must satisfy 0 < lo <= hi <= 1, got {scale}")
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {prior!r}")
        self.root = Path(root)
        self.size = int(size)
        self.mask_generator = mask_generator
        self.sketch_prob = float(sketch_prob)
        self.sketch_drop = float(sketch_drop)
        self.seed = int(seed)
        self.scale = (float(scale[0]), float(scale[1]))
        self.prior = prior
        self.epoch = 0

        candidates = [Path(p) for p in paths] if paths is not None else find_images(self.root)
        held = read_split(self.root) if exclude_holdout and paths is None else set()
        self.excluded = [p for p in candidates if p.stem in held]
        candidates = [p for p in candidates if p.stem not in held]
        self.paths: list[Path] = []
        self.images: list[np.ndarray] = []  # preloaded: decoding per sample would dominate
        for p in candidates:
            try:
                self.images.append(load_capped(p, 2 * self.size))
            except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad files
                warnings.warn(f"skipping unreadable image {p}: {exc}", stacklevel=2)
                continue
            self.paths.append(p)
        if not self.images:
            raise ValueError(f"no readable images under {self.root}")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.images)

    def crop(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """Random square crop at a random scale of the short side, resized to ``size``, random flip."""
        img = self.images[index]
        h, w = img.shape[:2]
        short = min(h, w)
        side = int(round(rng.uniform(*self.scale) * short))
        side = int(np.clip(side, min(self.size, short), short))
        y0 = int(rng.integers(0, h - side + 1))
        x0 = int(rng.integers(0, w - side + 1))
        patch = img[y0 : y0 + side, x0 : x0 + side]
        if side != self.size:
            interp = cv2.INTER_AREA if side > self.size else cv2.INTER_CUBIC
            patch = cv2.resize(patch, (self.size, self.size), interpolation=interp)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        return np.ascontiguousarray(patch)

    def sample(self, index: int) -> dict[str, np.ndarray]:
        """The sample as numpy arrays (uint8 image/prior/sketch, bool mask)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        rgb = self.crop(index, rng)
        mask = np.asarray(self.mask_generator(rng, (self.size, self.size)), bool)
        # draw both numbers always, so sketch_prob does not shift later draws
        use_sketch = rng.random() < self.sketch_prob
        sketch_seed = int(rng.integers(0, 2**31 - 1))
        if use_sketch:
            sketch = make_sketch(rgb, mask, seed=sketch_seed, drop=self.sketch_drop)
        else:
            sketch = np.zeros((self.size, self.size), np.uint8)
        prior = classical_fill(rgb, mask, self.prior, sketch=sketch)  # no strokes: the plain fill
        return {"image": rgb, "mask": mask, "sketch": sketch, "prior": prior}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        s = self.sample(index)
        return {
            "image": to_tensor_image(s["image"]),
            "mask": torch.from_numpy(s["mask"][None].astype(np.float32)),
            "sketch": torch.from_numpy((s["sketch"][None] > 0).astype(np.float32)),
            "prior": to_tensor_image(s["prior"]),
        }
