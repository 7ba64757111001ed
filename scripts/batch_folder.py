"""Write a folder of photos and masks to time ``python main.py batch`` with, as docs/RESULTS.md
("Batches two photos at a time") did:

    python scripts/batch_folder.py --data data/photos/holdout --out runs/batch --count 12 --side 640
    python main.py batch --images runs/batch/images --masks runs/batch/masks --out runs/batch/out-2 --engine auto
    python main.py batch --images runs/batch/images --masks runs/batch/masks --out runs/batch/out-1 --engine auto --jobs 1

The first ``count`` photos (by name), resized to a long side of ``side``, each with one
object outline of 10-30 % (mask seed 5, the photo's index as its stream).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from app.data.masks import make_mask_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/photos/holdout"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--side", type=int, default=640)
    args = parser.parse_args()
    images, masks = args.out / "images", args.out / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    outline = make_mask_generator("object")
    for k, path in enumerate(sorted(args.data.glob("*.png"))[: args.count]):
        photo = Image.open(path).convert("RGB")
        scale = args.side / max(photo.size)
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
        photo.save(images / path.name)
        hole = outline(np.random.default_rng([5, k]), (photo.height, photo.width), ratio=(0.1, 0.3))
        Image.fromarray(hole.astype(np.uint8) * 255).save(masks / path.name)
    print(f"wrote {k + 1} photos and masks under {args.out}")


if __name__ == "__main__":
    main()
