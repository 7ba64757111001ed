"""``batch``: fill a folder of images with their masks (and sketches) from the command line."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from typing import TextIO

from app.commands.common import add_device_arg, int_in
from app.core.feather import DEFAULT_FEATHER_PX
from app.core.names import BATCH_FORMATS, IMAGE_FORMATS, LOSSY_FORMATS, QUALITY_SCOPE
from app.core.names import ENGINE_NAMES as ENGINE_CHOICES
from app.inference.jobs import MAX_JOBS

NAME = "batch"

EPILOG = """examples:
  # one mask per photo: shots/beach.jpg is paired with masks/beach.png
  # (or masks/beach_mask.png, masks/beach-mask.png)
  python main.py batch --images shots --masks masks --out filled

  # the same mask (say, a watermark) for every photo, written as PNG
  python main.py batch --images shots --masks watermark.png --out clean --format png

  # sketch-guided fills with the guided network on the GPU, JPEG quality 92
  python main.py batch --images shots --masks masks --sketches sketches --out filled \\
      --engine mtsa-guided --device cuda --format jpg --quality 92

  # resume an interrupted run: leave what is already in --out alone
  python main.py batch --images shots --masks masks --out filled --skip-existing

Masks: white (or opaque, for a transparent PNG) = the area to fill. Outputs are named
after the input (beach.jpg -> filled/beach.jpg with --format keep) and are never written
over an input (an output folder that would replace the batch's own photos, masks or
sketches is refused before anything runs); outputs of an earlier run are replaced, and
the summary counts them (--skip-existing leaves them). A JPEG written from a JPEG keeps
its quality and chroma subsampling unless --quality is given; transparent photos written
as JPEG are flattened onto white, with a note in the summary. Engines whose fill keeps
one core busy (auto, mtsa-texture, patchmatch, telea, ns) fill one photo per core at once
(--jobs sets how many); the outputs are the same as one by one. Ctrl+C stops after the
images being filled; a second Ctrl+C, or SIGTERM, stops at once (no partial file is left).
exit status: 0 all filled, 1 some images failed, 2 bad arguments, 130 cancelled (also when some had failed)."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="fill a folder of images with their masks",
        description="Fill every image in a folder with its mask (and optional sketch).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--images", required=True, metavar="DIR", help="folder of images (not recursive)")
    p.add_argument("--masks", required=True, metavar="DIR_OR_FILE",
                   help="folder of masks paired by name, or one mask file for every image "
                        "(then all the images must have its size)")
    p.add_argument("--sketches", default=None, metavar="DIR",
                   help="folder of sketches paired by name (photo.png, photo_sketch.png); optional")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--format", dest="fmt", default="keep", choices=BATCH_FORMATS,
                   help="output format (default: keep the input's)")
    p.add_argument("--quality", type=int_in(1, 100), default=None, metavar="N",
                   help="JPEG/WebP/AVIF quality 1-100 (default: a JPEG written from a JPEG keeps the original's "
                        "quality and chroma subsampling; otherwise 95)")
    p.add_argument("--engine", default="auto", choices=ENGINE_CHOICES,
                   help="fill engine (default: auto = per photo, the engine measured best for its hole's size, "
                        "surround and strokes)")
    add_device_arg(p, what="where networks run")
    p.add_argument("--skip-existing", action="store_true",
                   help="leave images whose output already exists")
    p.add_argument("--jobs", type=int_in(1, MAX_JOBS), default=None, metavar="N",
                   help="photos filled at once (default: one per core for engines whose fill keeps one "
                        "core busy: auto, mtsa-texture, patchmatch, telea, ns; 1 for the networks)")
    p.add_argument("--feather", type=int_in(0, 100, " pixels"), default=DEFAULT_FEATHER_PX, metavar="PX",
                   help=f"blend each fill's edge into the photo over PX pixels (default: {DEFAULT_FEATHER_PX}; 0: off)")
    p.set_defaults(func=run)
    return p


class ProgressBar:
    """``\\r[#####.....] 12/40 name.jpg`` on one stderr line, no dependency. ``start`` names
    the image being filled; ``__call__`` moves the bar after it. Into a file or a pipe
    (not a terminal) it writes one plain line per image instead, with no ``\\r``."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self._last_len = 0
        isatty = getattr(stream, "isatty", None)
        self.live = bool(isatty and isatty())

    def start(self, number: int, total: int, name: str) -> None:
        if self.live:
            self._draw(number - 1, total, f"{name}…")
        else:
            self.stream.write(f"{number}/{total} {name}\n")
            self.stream.flush()

    def __call__(self, done: int, total: int, name: str) -> None:
        if self.live:
            self._draw(done, total, name)

    def _draw(self, done: int, total: int, name: str) -> None:
        filled = self.width * done // max(total, 1)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {name}"
        columns = shutil.get_terminal_size((100, 20)).columns
        line = line[: max(columns - 1, 20)]
        pad = " " * max(self._last_len - len(line), 0)  # wipe the tail of a longer name
        self.stream.write(f"\r{line}{pad}")
        self.stream.flush()
        self._last_len = len(line)

    def close(self) -> None:
        if self._last_len:
            self.stream.write("\n")
            self.stream.flush()
            self._last_len = 0


class _StopAfterCurrent:
    """First Ctrl+C: finish the current image and stop. Second Ctrl+C: stop now."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _StopAfterCurrent:
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return self  # started ignoring Ctrl+C (a background job of a script): keep ignoring it
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread (e.g. called from a test runner thread)
            self._previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\nstopping after the images being filled (Ctrl+C again to abort)\n")

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def __call__(self) -> bool:
        return self.requested


def run(args: argparse.Namespace) -> int:
    from app.core.errors import TemperaError
    from app.core.imageio import KEEP
    from app.inference.batch import plan_batch, run_batch
    from app.inference.jobs import default_jobs

    quality = KEEP if args.quality is None else args.quality
    try:
        # Check the folders before loading an engine: a typo should not wait for torch
        # (--feather and --jobs are in range already: int_in, at parsing).
        items = plan_batch(args.images, args.masks, args.out, sketches=args.sketches, fmt=args.fmt,
                           quality=quality)
        from app.inference.engines import load_engine

        engine = load_engine(args.engine, args.device)
    except TemperaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    notice = engine.startup_notice
    jobs = default_jobs(engine) if args.jobs is None else args.jobs
    print(f"engine: {engine.name} on {engine.device}"
          + (f" ({notice})" if notice else "")
          + (f", {jobs} photos at a time" if jobs > 1 else ""), file=sys.stderr)

    formats = {IMAGE_FORMATS.get(item.out.suffix.lower()) for item in items}
    if args.quality is not None and not formats & set(LOSSY_FORMATS):
        kinds = ", ".join(sorted({item.out.suffix.lower().lstrip(".").upper() for item in items}))
        print(f"note: {QUALITY_SCOPE}; these {kinds} files are written losslessly", file=sys.stderr)
    bar = ProgressBar(sys.stderr)
    try:
        with _StopAfterCurrent() as stop:
            report = run_batch(args.images, args.masks, args.out, sketches=args.sketches,
                               fmt=args.fmt, quality=quality, engine=engine,
                               skip_existing=args.skip_existing, progress=bar, cancel=stop,
                               feather=args.feather, started=bar.start, jobs=jobs)
    except TemperaError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        bar.close()
        print("aborted", file=sys.stderr)
        return 130
    bar.close()
    print(report.summary())
    if report.cancelled:  # what is left to do matters more to a script than what failed
        return 130
    return 1 if report.failed else 0
