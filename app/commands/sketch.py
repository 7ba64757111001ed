"""``sketch``: draw the training-style sketch of a photo (to check it or to guide a fill)."""

from __future__ import annotations

import argparse
import sys

NAME = "sketch"

EPILOG = """examples:
  python main.py sketch photo.jpg -o photo-sketch.png
  python main.py sketch photo.jpg -o lines.png --mask hole.png --seed 3
  python main.py sketch photo.jpg -o check.png --overlay        # strokes in red over the photo

The sketch is white strokes on black, the same size as the photo: the format that
`inpaint --sketch` and the app's sketch layer read. With --mask only strokes inside the
hole are kept, as at training time."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="make a sketch (edge strokes) of a photo",
        description="Turn IMAGE into sketch strokes like those the guided model trains on.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-o", "--output", required=True, metavar="SKETCH", help="output image (e.g. .png)")
    p.add_argument("--mask", metavar="MASK", help="keep only strokes inside this mask's hole (white = hole)")
    p.add_argument("--seed", type=int, default=0, help="which strokes are dropped / how wide (default 0)")
    p.add_argument("--drop", type=float, default=0.3, help="chance of leaving out a whole stroke (default 0.3)")
    p.add_argument("--width", type=int, default=None, help="fixed stroke width in pixels (default: varied)")
    p.add_argument("--overlay", action="store_true", help="write the photo with the strokes in red instead")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from app.core.errors import TemperaError
    from app.core.imageio import load_image, load_mask, save_image
    from app.core.masks_io import MAX_STROKE_SHARE
    from app.data.sketch import make_sketch, overlay

    try:
        if not 0.0 <= args.drop <= 1.0:
            raise TemperaError(f"--drop must lie between 0 and 1, got {args.drop}")
        if args.width is not None and args.width < 1:
            raise TemperaError(f"--width must be at least 1, got {args.width}")
        img = load_image(args.image)
        mask = load_mask(args.mask, img.size) if args.mask else None
        sketch = make_sketch(img.rgb, mask, seed=args.seed, width=args.width, drop=args.drop)
        out = overlay(img.rgb, sketch, mask) if args.overlay else sketch[..., None].repeat(3, axis=2)
        # keep the input safe: refuse to overwrite IMAGE or MASK
        protect = [args.image] + ([args.mask] if args.mask else [])
        path = save_image(args.output, out, protect=protect, lossless=True)
    except TemperaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    share = float((sketch > 0).mean()) * 100
    print(f"wrote {path} ({img.size[0]}x{img.size[1]}, strokes on {share:.1f} % of pixels)")
    if share > MAX_STROKE_SHARE * 100:  # said now, not when inpaint refuses it
        print(f"warning: strokes cover over {MAX_STROKE_SHARE:.0%} of it, so inpaint --sketch will refuse it "
              "as not a sketch (a smaller --width helps)", file=sys.stderr)
    elif not sketch.any():
        where = " inside the mask's hole" if args.mask else ""
        print(f"warning: no strokes{where}: the photo has no edges there that the sketch keeps "
              "(try another --seed or a lower --drop)", file=sys.stderr)
    return 0
