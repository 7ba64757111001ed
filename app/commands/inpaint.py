"""``inpaint``: fill the hole in one photo from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .common import add_engine_args

EPILOG = """examples:
  python main.py inpaint photo.jpg --mask hole.png                 # writes photo-inpainted.jpg
  python main.py inpaint photo.jpg --mask hole.png -o clean.png --engine telea
  python main.py inpaint photo.jpg --mask hole.png --sketch lines.png --engine mtsa-guided
  python main.py inpaint cutout.png --mask-from-alpha -o filled.png --device cpu

Masks: white (non-zero, or opaque in a transparent PNG) = the area to fill; the mask must
have the image's size. Sketch: white strokes on black, same size; strokes only count
inside the hole. The input is never overwritten unless you name it with -o yourself.
A JPEG written from a JPEG keeps the original's quality and chroma subsampling unless
--quality is given. A transparent image written as JPEG (or BMP) is flattened onto white,
with a note on stderr, as image editors do when they export to JPEG."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "inpaint",
        help="fill the hole in one image",
        description="Fill the masked area of IMAGE and write the result.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", metavar="IMAGE")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--mask", metavar="MASK", help="mask image: white/opaque = fill")
    src.add_argument("--mask-from-alpha", action="store_true", help="fill the image's transparent pixels")
    p.add_argument("--sketch", metavar="SKETCH", help="sketch strokes (white on black) that guide mtsa-guided")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: IMAGE-inpainted.EXT beside the input)")
    add_engine_args(p)
    p.add_argument("--hd", choices=("crop", "resize"), default="crop", help="strategy for large photos (default: crop)")
    p.add_argument("--quality", type=int, default=None, metavar="N",
                   help="JPEG/WebP quality 1-100 (default: a JPEG written from a JPEG keeps the original's quality and chroma subsampling; otherwise 95)")
    p.set_defaults(func=run)
    return p


def default_output(image: Path) -> Path:
    return image.with_name(f"{image.stem}-inpainted{image.suffix}")


def run(args: argparse.Namespace) -> int:
    from app.core.errors import TemperaError
    from app.core.imageio import (KEEP, alpha_would_be_lost, load_image, load_mask, load_sketch,
                                  mask_from_alpha, save_image)

    if args.quality is not None and not 1 <= args.quality <= 100:
        raise TemperaError(f"--quality must be 1-100, got {args.quality}")
    image_path = Path(args.image)
    img = load_image(image_path)
    mask = mask_from_alpha(img) if args.mask_from_alpha else load_mask(args.mask, img.size)
    sketch = load_sketch(args.sketch, img.size) if args.sketch else None
    out_path = Path(args.output) if args.output else default_output(image_path)
    protect = [p for p in (args.mask, args.sketch) if p]
    if not args.output:
        protect.append(image_path)  # only an explicit -o may name the input
    if not out_path.parent.is_dir():
        raise TemperaError(f"output folder {out_path.parent} does not exist")
    if not mask.any():
        print("warning: the mask is empty; the image is written unchanged", file=sys.stderr)

    from app.inference.engines import load_engine

    engine = load_engine(args.engine, args.device, hd=args.hd)
    start = time.perf_counter()
    filled = engine.fill(img.rgb, mask, sketch)
    seconds = time.perf_counter() - start
    if engine.notice:
        print(engine.notice, file=sys.stderr)

    alpha = img.alpha
    if alpha is not None and args.mask_from_alpha:
        alpha = np.where(mask, np.uint8(255), alpha)  # filled pixels are no longer transparent
    if alpha_would_be_lost(out_path, alpha):
        print(f"note: {image_path.name} has transparency, which {out_path.suffix} cannot store; "
              f"flattened onto white (write .png, .webp or .tif to keep it)", file=sys.stderr)
    saved = save_image(
        out_path,
        filled,
        alpha=alpha,
        icc_profile=img.icc_profile,
        exif=img.exif,
        quality=KEEP if args.quality is None else args.quality,
        jpeg=img.jpeg,
        original=img.rgb,
        flatten=True,
        protect=protect,
    )
    used = getattr(engine, "last_choice", engine.name)
    print(f"{image_path.name}: filled {mask.mean() * 100:.1f} % with {used} on {engine.device} in {seconds:.2f} s -> {saved}")
    return 0
