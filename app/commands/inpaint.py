"""``inpaint``: fill the hole in one photo from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from app.core.feather import DEFAULT_FEATHER_PX

from .common import add_engine_args, int_in

EPILOG = """examples:
  python main.py inpaint photo.jpg --mask hole.png                 # writes photo-inpainted.jpg
  python main.py inpaint photo.jpg --mask hole.png -o clean.png --engine telea
  python main.py inpaint photo.jpg --mask hole.png --sketch lines.png --engine mtsa-guided
  python main.py inpaint cutout.png --mask-from-alpha -o filled.png --device cpu
  python main.py inpaint photo.jpg --mask hole.png --variations 3   # photo-inpainted-v1.jpg ... -v3.jpg
  python main.py inpaint photo.jpg --mask hole.png --engine patchmatch --seed 7
  python main.py inpaint photo.jpg --mask hole.png --feather 0       # hard edge, as the engine fills
  python main.py inpaint photo.jpg --mask hole.png --protect keep.png  # never copy from keep.png's white

Masks: white (above 127, or any non-zero pixel of a 0/1 mask, or opaque in a transparent
PNG) = the area to fill; the mask must have the image's size. Sketch: white strokes on
black, same size; strokes only count inside the hole. Protect: a mask of the same kind; no fill may copy from its white area
(PatchMatch and the texture stage leave it out of their search; the networks are shown it
as hole and their attention leaves it out; Telea and NS fill over it beside the hole and
discard that: no engine reads any of it).
--feather PX fills PX pixels beyond the hole too and fades that ring into the photo
(pixels farther away never change; 0 disables). --seed picks the variation of the
engines that search (patchmatch, mtsa-texture, and auto when it chooses them);
--variations K writes K files, OUT-v1 ... OUT-vK, with seeds N ... N+K-1; the networks
alone are deterministic. No input (photo, mask, sketch, protect) is ever overwritten: an -o
that names one is refused before the fill. A JPEG written from a JPEG keeps the original's quality and chroma subsampling unless
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
    p.add_argument("--sketch", metavar="SKETCH",
                   help="sketch strokes (white on black) for the fill to follow (auto, mtsa-texture and "
                        "mtsa-guided follow them; the others ignore them, with a note)")
    p.add_argument("--protect", metavar="MASK", help="mask of areas no fill may copy from (white = protected)")
    p.add_argument("--feather", type=int_in(0, 100, " pixels"), default=DEFAULT_FEATHER_PX, metavar="PX",
                   help=f"blend the fill's edge into the photo over PX pixels (default: {DEFAULT_FEATHER_PX}; 0: off)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: IMAGE-inpainted.EXT beside the input)")
    add_engine_args(p)
    p.add_argument("--hd", choices=("crop", "resize"), default="crop", help="strategy for large photos (default: crop)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="variation seed (default: 0)")
    p.add_argument("--variations", type=int_in(1, 100), default=1, metavar="K",
                   help="write K variations, OUT-v1 ... OUT-vK, seeds N ... N+K-1 (default: 1)")
    p.add_argument("--quality", type=int_in(1, 100), default=None, metavar="N",
                   help="JPEG/WebP/AVIF quality 1-100 (default: a JPEG written from a JPEG keeps the original's "
                        "quality and chroma subsampling; otherwise 95)")
    p.set_defaults(func=run)
    return p


def default_output(image: Path) -> Path:
    """IMAGE-inpainted.EXT beside the photo; a format that is only read (HEIC) gives .jpg."""
    from app.core.names import output_suffix

    return image.with_name(f"{image.stem}-inpainted{output_suffix(image.suffix)}")


def variation_paths(out: Path, count: int) -> list[Path]:
    """``out`` itself for one fill, else ``OUT-v1.EXT`` ... ``OUT-vK.EXT`` beside it."""
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-v{i}{out.suffix}") for i in range(1, count + 1)]


def _progress(done: int, total: int) -> None:
    """The network's fill and each hole region PatchMatch fills count as one part."""
    if total > 1:
        print(f"  {done}/{total} parts of the fill done", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from app.core.atomic import check_writable
    from app.core.errors import TemperaError
    from app.core.imageio import (
        KEEP,
        load_image,
        load_mask,
        load_note,
        load_sketch,
        mask_from_alpha,
        refuse_overwrite,
        require_save_format,
    )
    from app.core.maskops import mostly_hole
    from app.core.names import LOSSY_FORMATS, MAX_SEED, QUALITY_SCOPE, STROKE_ENGINES
    from app.inference.photo_fill import prepare_fill
    from app.inference.situation import has_strokes

    # --quality, --variations and --feather are in range already (int_in, at parsing)
    if not 0 <= args.seed <= MAX_SEED - args.variations + 1:
        raise TemperaError(f"--seed must be 0-{MAX_SEED - args.variations + 1} (with --variations "
                           f"{args.variations}), got {args.seed}")
    image_path = Path(args.image)
    img = load_image(image_path)
    mask = mask_from_alpha(img) if args.mask_from_alpha else load_mask(args.mask, img.size)
    sketch = load_sketch(args.sketch, img.size) if args.sketch else None
    protect = load_mask(args.protect, img.size, what="protect mask") if args.protect else None  # areas no fill may copy from
    job = prepare_fill(img, mask, sketch=sketch, protect=protect, feather=args.feather)
    out_path = Path(args.output) if args.output else default_output(image_path)
    out_paths = variation_paths(out_path, args.variations)
    inputs = [Path(p) for p in (args.mask, args.sketch, args.protect) if p] + [image_path]
    if out_path.parent.exists() and not out_path.parent.is_dir():
        raise TemperaError(f"cannot save {out_path}: {out_path.parent} is a file, not a folder")
    if not out_path.parent.is_dir():
        raise TemperaError(f"output folder {out_path.parent} does not exist")
    check_writable(out_path.parent, "the output folder")
    for path in out_paths:  # before the fill, not after it: no time lost on a refusal
        refuse_overwrite(path, inputs)
        if path.is_dir():
            raise TemperaError(f"cannot save {path.name or path}: it is a folder; give a file name")
    fmt = require_save_format(out_path)  # the -vN names share its extension
    if args.quality is not None and fmt not in LOSSY_FORMATS:
        print(f"note: {QUALITY_SCOPE}; {out_path.suffix} is written losslessly", file=sys.stderr)
    inverted = mostly_hole(mask)
    quality = KEEP if args.quality is None else args.quality
    if job.empty:  # nothing to fill: no engine; the file itself where the format allows
        print("warning: the mask is empty; nothing is filled", file=sys.stderr)
        for path in out_paths:
            replaced = path.exists()
            saved, copied = job.save(path, img.rgb, quality=quality, protect=inputs)
            how = "copied unchanged" if copied else f"written unchanged as {fmt}"
            print(f"{image_path.name}: {how} -> {saved}{' (replaced the earlier file)' if replaced else ''}")
        return 0
    if inverted:
        print(f"warning: {inverted}", file=sys.stderr)

    from app.inference.engines import load_engine

    engine = load_engine(args.engine, args.device, hd=args.hd)
    if engine.startup_notice:
        print(engine.startup_notice, file=sys.stderr)
    if args.variations > 1 and not engine.randomized:
        print(f"note: {engine.name} is deterministic; the {args.variations} variations will be identical",
              file=sys.stderr)
    depth = load_note(img)
    if depth:
        print(f"note: {depth}", file=sys.stderr)
    if args.output is None and out_path.suffix.lower() != image_path.suffix.lower():
        # a format Tempera reads but does not write (HEIC, GIF, PPM): said, not found out later
        print(f"note: {image_path.suffix.lstrip('.').upper()} is not written; the result is "
              f"{out_path.suffix.lstrip('.').upper()} (-o names another format)", file=sys.stderr)
    if job.loses_alpha(out_path):
        print(f"note: {image_path.name} has transparency, which {out_path.suffix} cannot store; "
              f"flattened onto white (write .png, .webp or .tif to keep it)", file=sys.stderr)
    stroked = has_strokes(sketch, mask)
    if sketch is not None and not stroked:  # said, so that a fill unlike the sketch is not a puzzle
        print(f"note: the sketch {Path(args.sketch).name} has no strokes inside the hole; the fill does not use it",
              file=sys.stderr)
    for n, path in enumerate(out_paths):
        replaced = path.exists()
        start = time.perf_counter()
        filled, result = job.fill(engine, seed=args.seed + n, progress=_progress)
        seconds = time.perf_counter() - start
        if result.notice:
            print(result.notice, file=sys.stderr)
        saved, _ = job.save(path, filled, quality=quality, protect=inputs)
        used = result.engine
        if used != engine.name:  # as the editor words it: auto names its choice, a guided network hands on
            used += " (auto's choice)" if engine.name == "auto" else f" ({engine.name} handed on: no strokes in the hole)"
        if stroked and result.engine in STROKE_ENGINES:
            used += ", following the sketch,"
        seed = f"(seed {result.seed}) " if engine.randomized else ""  # Telea, NS and the networks take none
        print(f"{image_path.name}: filled {mask.mean() * 100:.1f} % with {used} on {result.device} "
              f"{seed}in {seconds:.2f} s -> {saved}{' (replaced the earlier file)' if replaced else ''}")
    return 0
