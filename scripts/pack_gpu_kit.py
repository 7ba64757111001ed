"""Pack what a GPU pass needs into .gpu_kit/ so it travels in a run's `carry` (64 MiB cap).

    python scripts/pack_gpu_kit.py                       # .gpu_kit/ from data/photos + model_weights/
    python scripts/pack_gpu_kit.py --out /tmp/kit --max-train 6 --max-holdout 2 --weights-dir /tmp/w   # tiny

The GPU machine has no network, no stlpips-pytorch wheel and no data/ (229 MB of PNG, too
big to carry). The kit holds:

  photos/{train,holdout}/<id>.jpg   the corpus as JPEG (quality 92), short side capped at 384 px;
                                    split.json + manifest.csv as fetch-data wrote them
  eval256/<id>.png                  the held-out photos exactly as `evaluate --crop 256` sees them
                                    (resized + centre-cropped from the original PNGs, lossless),
                                    so scores match docs/RESULTS.md's protocol bit for bit
  stlpips/alex_shift_tolerant.pth   from the installed wheel (for $TEMPERA_STLPIPS_DIR)
  weights/<engine>.pt + .json       the checkpoints the pass continues from (SHA-256 checked)
  kit.json                          what was packed, from where, and the sizes

Prints the kit's size and exits 1 when it exceeds --max-mib (default 60).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("mtsa", "mtsa-const", "mtsa-guided")
KIT_MARKER = "kit.json"
CORPUS_TARGET_MB = 25.0


class KitError(RuntimeError):
    """A one-line reason the kit cannot be built."""


def _mib(n: int) -> float:
    return n / 2**20


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def fresh_folder(out: Path) -> None:
    """Empty ``out`` for a rebuild, refusing to wipe a folder that is not a kit."""
    if out.exists():
        if not out.is_dir():
            raise KitError(f"{out} exists and is not a folder")
        is_kit = (out / KIT_MARKER).is_file() or out.name == ".gpu_kit" or not any(out.iterdir())
        if not is_kit:
            raise KitError(f"{out} is not empty and holds no {KIT_MARKER}: refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def to_jpeg(src: Path, dst: Path, short_side: int, quality: int) -> tuple[int, int]:
    """RGB JPEG of ``src`` with the short side capped at ``short_side`` (never enlarged)."""
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        w, h = im.size
        s = short_side / min(w, h)
        if s < 1.0:
            im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)
        dst.parent.mkdir(parents=True, exist_ok=True)
        # 4:4:4 keeps colour edges sharp (the net learns from them); optimize costs only CPU
        # here, but libjpeg cannot optimise a very noisy image within Pillow's buffer
        try:
            im.save(dst, "JPEG", quality=quality, optimize=True, subsampling=0)
        except OSError:
            im.save(dst, "JPEG", quality=quality, subsampling=0)
        return im.size


def pack_photos(data: Path, out: Path, short_side: int, quality: int,
                max_train: int | None, max_holdout: int | None) -> dict[str, int]:
    """Both split folders as JPEG, plus split.json (trimmed to what was packed) and manifest.csv."""
    counts: dict[str, int] = {}
    kept: dict[str, list[str]] = {}
    for split, limit in (("train", max_train), ("holdout", max_holdout)):
        srcs = sorted(p for p in (data / split).glob("*.png") if p.is_file())
        if not srcs:
            raise KitError(f"no PNG photos in {data / split} (run: python main.py fetch-data --out {data})")
        srcs = srcs[:limit] if limit else srcs
        for p in srcs:
            to_jpeg(p, out / "photos" / split / f"{p.stem}.jpg", short_side, quality)
        counts[split] = len(srcs)
        kept[split] = [p.stem for p in srcs]
    split_file = data / "split.json"
    if not split_file.is_file():
        raise KitError(f"{split_file} missing: the held-out split must travel with the photos")
    split = json.loads(split_file.read_text(encoding="utf-8"))
    if max_train or max_holdout:  # tiny kit: list what is there; the held-out ids stay held out
        split = dict(split, train=[i for i in split.get("train", []) if i in kept["train"]],
                     holdout=[i for i in split.get("holdout", []) if i in kept["holdout"]])
    (out / "photos" / "split.json").write_text(json.dumps(split, indent=2) + "\n", encoding="utf-8")
    manifest = data / "manifest.csv"
    if manifest.is_file():
        shutil.copyfile(manifest, out / "photos" / "manifest.csv")
    return counts


def pack_eval_crops(holdout: Path, out: Path, crop: int, max_holdout: int | None) -> int:
    """The evaluation's own crops of the original PNGs, saved losslessly and checked to reload
    identically: `evaluate --data eval<crop> --crop <crop>` then sees the very same pixels."""
    from app.evaluation.evaluate import load_eval_images

    images = load_eval_images(holdout, crop)
    images = images[:max_holdout] if max_holdout else images
    folder = out / f"eval{crop}"
    folder.mkdir(parents=True)
    for im in images:
        Image.fromarray(im.rgb).save(folder / f"{im.name}.png", optimize=True)
    again = load_eval_images(folder, crop)
    if [i.name for i in again] != [i.name for i in images] or \
            not all(np.array_equal(a.rgb, b.rgb) for a, b in zip(again, images, strict=True)):
        raise KitError(f"{folder} does not reload as the same evaluation crops")
    return len(images)


def pack_stlpips(out: Path) -> Path:
    from app.evaluation.perceptual import PerceptualUnavailable, stlpips_weights_path

    try:
        src = stlpips_weights_path("alex")
    except PerceptualUnavailable as exc:
        raise KitError(str(exc)) from None
    dst = out / "stlpips" / "alex_shift_tolerant.pth"
    dst.parent.mkdir(parents=True)
    shutil.copyfile(src, dst)
    return dst


def pack_weights(weights_dir: Path, out: Path, engines: tuple[str, ...]) -> dict[str, str]:
    """Copy each engine's .pt + .json; retry when the pair is torn (a run saving meanwhile)."""
    from app.inference.checkpoint import read_info, sha256_of

    folder = out / "weights"
    folder.mkdir(parents=True)
    shas: dict[str, str] = {}
    for engine in engines:
        pt, js = weights_dir / f"{engine}.pt", weights_dir / f"{engine}.json"
        if not pt.is_file() or not js.is_file():
            raise KitError(f"{pt} or {js} missing: the pass continues from all of {', '.join(engines)}")
        for _attempt in range(3):
            shutil.copyfile(pt, folder / pt.name)
            shutil.copyfile(js, folder / js.name)
            want = read_info(folder / pt.name).get("sha256")
            got = sha256_of(folder / pt.name)
            if want == got:
                shas[engine] = got
                break
            time.sleep(2.0)
        else:
            raise KitError(f"{pt} does not match the SHA-256 in {js} (3 tries)")
    return shas


def working_tree_mib(root: Path) -> float | None:
    """Tracked + untracked-not-ignored files: what a device run copies besides `carry`."""
    try:
        names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                               capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        return None
    return _mib(sum((root / n).stat().st_size for n in names if n and (root / n).is_file()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT / "data" / "photos", help="fetch-data folder")
    p.add_argument("--weights-dir", type=Path, default=ROOT / "model_weights", help="checkpoints to continue")
    p.add_argument("--out", type=Path, default=ROOT / ".gpu_kit", help="kit folder (rebuilt from scratch)")
    p.add_argument("--engines", default=",".join(ENGINES), help="checkpoints to pack (comma-separated)")
    p.add_argument("--short-side", type=int, default=384, help="cap of the JPEGs' short side (px)")
    p.add_argument("--quality", type=int, default=92, help="JPEG quality")
    p.add_argument("--eval-crop", type=int, default=256, help="evaluation crop side (as evaluate --crop)")
    p.add_argument("--max-train", type=int, default=None, help="pack only the first N training photos (tiny kit)")
    p.add_argument("--max-holdout", type=int, default=None, help="pack only the first N held-out photos")
    p.add_argument("--max-mib", type=float, default=60.0, help="fail when the kit is bigger")
    args = p.parse_args(argv)
    start = time.perf_counter()
    try:
        engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
        for engine in engines:  # before the slow part: the pass continues from all of them
            for suffix in (".pt", ".json"):
                if not (args.weights_dir / f"{engine}{suffix}").is_file():
                    raise KitError(f"{args.weights_dir / (engine + suffix)} missing: the pass continues from "
                                   f"all of {', '.join(engines)} (install them in model_weights/ first)")
        fresh_folder(args.out)
        counts = pack_photos(args.data, args.out, args.short_side, args.quality, args.max_train, args.max_holdout)
        n_eval = pack_eval_crops(args.data / "holdout", args.out, args.eval_crop, args.max_holdout)
        pack_stlpips(args.out)
        shas = pack_weights(args.weights_dir, args.out, engines)
    except (KitError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - TemperaError from app code, without importing it up front
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sizes = {name: folder_bytes(args.out / name) for name in ("photos", f"eval{args.eval_crop}", "stlpips", "weights")}
    info = {
        "built_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data": str(args.data), "weights_dir": str(args.weights_dir),
        "photos": counts, "eval_crops": n_eval, "eval_crop": args.eval_crop,
        "jpeg": {"quality": args.quality, "short_side_cap": args.short_side, "subsampling": "4:4:4"},
        "weights_sha256": shas, "bytes": sizes,
    }
    (args.out / KIT_MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    total = folder_bytes(args.out)
    for name, n in sizes.items():
        print(f"  {name:<10} {_mib(n):6.1f} MiB")
    print(f"kit {args.out}: {_mib(total):.1f} MiB ({total / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s; "
          f"{counts['train']} train + {counts['holdout']} held-out photos, {n_eval} evaluation crops, "
          f"weights {', '.join(f'{e} {s[:12]}' for e, s in shas.items())}")
    corpus_mb = (sizes["photos"] + sizes[f"eval{args.eval_crop}"]) / 1e6
    if corpus_mb > CORPUS_TARGET_MB:
        print(f"warning: photos + evaluation crops take {corpus_mb:.1f} MB (target < {CORPUS_TARGET_MB:.0f} MB)",
              file=sys.stderr)
    tree = working_tree_mib(ROOT)
    if tree is not None:
        print(f"working tree (tracked + untracked, not ignored) {tree:.1f} MiB; with the kit {tree + _mib(total):.1f} MiB")
    if _mib(total) > args.max_mib:
        print(f"error: the kit is {_mib(total):.1f} MiB, over --max-mib {args.max_mib:.0f}: it will not fit a run's carry; "
              f"lower --short-side or --quality", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
