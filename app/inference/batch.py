"""Fill a folder of images with one engine: the batch runner behind the CLI and the UI.

One bad file never stops a batch: every per-item problem (unreadable image, missing or
wrong-size mask, engine error) is recorded with a one-line reason and the run goes on.
Outputs are written atomically by ``save_image``, so an interrupted run leaves complete
files or none, and an input is never written over.

Engines whose fill keeps one core busy (a patch search, OpenCV's diffusion, ``auto``'s
texture stage; ``Engine.one_core``) fill several photos at once, one per core
(``jobs.default_jobs``); the report and the outputs are the same as one photo after
another.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.atomic import check_writable
from app.core.errors import TemperaError
from app.core.image_open import open_oriented
from app.core.imageio import IMAGE_SUFFIXES, KEEP, load_image, load_mask, load_sketch
from app.core.maskops import mostly_hole
from app.core.names import BATCH_FORMATS, IMAGE_EXTENSIONS, output_suffix
from app.core.pairing import MASK_WORD, SKETCH_WORD, index_partners, partner

from .jobs import MAX_JOBS, default_jobs
from .photo_fill import FillEngine, prepare_fill

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


@dataclass
class BatchItem:
    image: Path
    mask: Path | None  # None: no mask found, the item fails
    sketch: Path | None  # None: fill without a sketch
    out: Path


@dataclass
class BatchReport:
    ok: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # filled over an output of an earlier run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, one-line reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file name, what was done to it)
    seconds: float = 0.0
    total: int = 0
    cancelled: bool = False
    out_dir: Path | None = None
    engine: str = ""
    used: dict[str, int] = field(default_factory=dict)  # engine that really filled -> photos

    def _engine_words(self) -> str:
        """" with telea", or what auto chose (or a guided network handed on to) for how many
        photos: " with auto (mtsa-texture for 3 photos, patchmatch for 1)"."""
        if not self.engine:
            return ""
        if not self.used or set(self.used) == {self.engine}:
            return f" with {self.engine}"
        ranked = sorted(self.used.items(), key=lambda kv: (-kv[1], kv[0]))
        counts = ", ".join(f"{name} for {n}" + (f" photo{'s' if n != 1 else ''}" if i == 0 else "")
                           for i, (name, n) in enumerate(ranked))
        return f" with {self.engine} ({counts})"

    @property
    def not_done(self) -> int:
        """Items left untouched because the run was cancelled."""
        return self.total - len(self.ok) - len(self.skipped) - len(self.failed)

    def headline(self) -> str:
        """The counts that matter and where the files went, short enough for a status line:
        '7 of 12 filled, 5 not done (cancelled) -> out/'."""
        parts = [f"{len(self.ok)} of {self.total} filled"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.cancelled:
            parts.append(f"{self.not_done} not done (cancelled)")
        where = f" -> {self.out_dir}" if self.out_dir is not None else ""
        return ", ".join(parts) + where

    def summary(self, words: Callable[[str], str] = str) -> str:
        """A counts line, then one line per failure and per note. ``words`` rewords what
        the engines said (the engine names, the notes), not the file names: the editor
        passes ``names.editor_words``."""
        parts = [f"{len(self.ok)} filled", f"{len(self.skipped)} skipped",
                 f"{len(self.failed)} failed"]
        if self.cancelled:
            parts.append(f"{self.not_done} not done (cancelled)")
        if self.replaced:
            n = len(self.replaced)
            parts.append(f"{n} earlier output{'s' if n != 1 else ''} replaced")
        where = f" -> {self.out_dir}" if self.out_dir is not None else ""
        images = f"{self.total} image{'s' if self.total != 1 else ''}"
        lines = [f"{images}: {', '.join(parts)} in {self.seconds:.1f} s{words(self._engine_words())}{where}"]
        lines += [f"failed: {name}: {reason}" for name, reason in self.failed]
        lines += [f"note: {name}: {words(text)}" for name, text in self.notes]
        return "\n".join(lines)


def _is_image(path: Path) -> bool:
    """A file the batch fills: any that ``inpaint`` opens (GIF and PPM too, written as PNG)."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _images_in(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if _is_image(p)), key=lambda p: p.name)


def _output_ext(image: Path, fmt: str) -> str:
    return output_suffix(image.suffix) if fmt == "keep" else f".{fmt}"


def _existing_dir(path: str | os.PathLike[str], what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise TemperaError(f"the {what} {path} does not exist")
    if not path.is_dir():
        raise TemperaError(f"the {what} {path} is not a folder")
    return path


def plan_batch(
    images_dir: str | os.PathLike[str],
    masks: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    sketches: str | os.PathLike[str] | None = None,
    fmt: str = "keep",
    quality: int | str = KEEP,
) -> list[BatchItem]:
    """Check the arguments and pair every image with its mask, sketch and output path.

    Raises TemperaError for bad arguments (missing folders, unknown format, no images);
    per-image problems are left for the run to record.
    """
    images_dir = _existing_dir(images_dir, "images folder")
    if fmt not in BATCH_FORMATS:
        raise TemperaError(f"unknown output format {fmt!r}; choose one of {', '.join(BATCH_FORMATS)}")
    if quality != KEEP and not (isinstance(quality, int) and 1 <= quality <= 100):
        raise TemperaError(f"quality must be between 1 and 100, got {quality}")
    masks = Path(masks)
    if not masks.exists():
        raise TemperaError(f"the masks folder or file {masks} does not exist")
    if masks.is_file():
        if masks.suffix.lower() not in IMAGE_EXTENSIONS:
            raise TemperaError(f"the mask {masks.name} is not a PNG, JPEG, WebP, TIFF or BMP file")
        open_oriented(masks, role="mask")  # one mask for every photo: damaged, it would fail each of them
    sketch_dir = _existing_dir(sketches, "sketches folder") if sketches is not None else None
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TemperaError(f"the output {out_dir} is a file, not a folder")
    if out_dir.is_dir():  # before an engine loads; a folder still to be made is checked once made
        check_writable(out_dir, "the output folder")

    images = _images_in(images_dir)
    mask_index = index_partners(_images_in(masks), MASK_WORD) if masks.is_dir() else {}
    sketch_index = index_partners(_images_in(sketch_dir), SKETCH_WORD) if sketch_dir else {}
    # Masks or sketches kept beside the photos (photo_mask.png) are not photos to fill, and
    # there only suffixed names pair (photo.jpg beside photo.png is two photos).
    same = {"mask": masks.is_dir() and masks.resolve() == images_dir.resolve(),
            "sketch": sketch_dir is not None and sketch_dir.resolve() == images_dir.resolve()}
    helpers = set()
    for key, index in (("mask", mask_index), ("sketch", sketch_index)):
        if same[key]:
            for image in images:
                found = partner(image, index, exact=False)
                if found is not None:
                    helpers.add(found.resolve())
    if masks.is_file():
        helpers.add(masks.resolve())
    images = [p for p in images if p.resolve() not in helpers]
    if not images:
        raise TemperaError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {images_dir}")

    items = []
    for image in images:
        mask = masks if masks.is_file() else partner(image, mask_index, exact=not same["mask"])
        sketch = (partner(image, sketch_index, exact=not same["sketch"])
                  if sketch_dir else None)
        out = out_dir / f"{image.stem}{_output_ext(image, fmt)}"
        items.append(BatchItem(image=image, mask=mask, sketch=sketch, out=out))
    _refuse_outputs_over_inputs(items, out_dir)
    return items


def _refuse_outputs_over_inputs(items: list[BatchItem], out_dir: Path) -> None:
    """One up-front error, before any engine loads, when outputs would land on the batch's
    own photos, masks or sketches (typically: the output folder is the images folder)."""
    inputs = {p.resolve() for item in items for p in (item.image, item.mask, item.sketch) if p}
    clashes = [item.out.name for item in items if item.out.resolve() in inputs]
    if clashes:
        shown = ", ".join(clashes[:3]) + (f" and {len(clashes) - 3} more" if len(clashes) > 3 else "")
        raise TemperaError(f"the outputs would replace the batch's own files ({shown}) in {out_dir}; "
                           "choose another output folder")


def run_batch(
    images_dir: str | os.PathLike[str],
    masks: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    engine: FillEngine,
    sketches: str | os.PathLike[str] | None = None,
    sketches_dir: str | os.PathLike[str] | None = None,
    fmt: str = "keep",
    quality: int | str = KEEP,
    skip_existing: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    feather: int = 0,
    started: ProgressFn | None = None,
    jobs: int | None = None,
) -> BatchReport:
    """Fill every image in ``images_dir`` (not recursive, sorted by name) into ``out_dir``.

    ``masks`` is a folder (paired by stem: photo.png, photo_mask.png, photo-mask.png) or
    one file used for every image. ``sketches``/``sketches_dir`` (same thing, both names
    are in use) is an optional folder paired the same way (photo.png, photo_sketch.png,
    photo-sketch.png). ``fmt``: keep | png | jpg | webp | tif | bmp. ``quality`` 1-100, or KEEP: a JPEG
    from a JPEG keeps its tables and subsampling, anything else gets 95. ``progress(done, total, name)``
    is called after each item, ``started(number, total, name)`` before it (number counts
    from 1); ``cancel()`` returning True stops before the next item. An output left by an
    earlier run is replaced (``skip_existing`` leaves it) and counted in the summary; an
    output folder this run created and wrote nothing into is removed again.
    ``feather`` (pixels, 0 = off) blends each fill's edge into the photo (app/core/feather.py;
    the CLI passes its --feather, by default DEFAULT_FEATHER_PX like the editor).
    ``jobs``: photos filled at once (None: ``jobs.default_jobs``); items are started in
    order, ``progress`` counts them as they finish, the report lists them in order, and a
    cancel lets the photos being filled finish.
    Bad arguments raise TemperaError; per-item failures go into the report.
    """
    if not 0 <= int(feather) <= 100:
        raise TemperaError(f"feather must be 0-100 pixels, got {feather}")
    jobs = default_jobs(engine) if jobs is None else int(jobs)
    if not 1 <= jobs <= MAX_JOBS:
        raise TemperaError(f"jobs must be 1-{MAX_JOBS}, got {jobs}")
    if sketches is not None and sketches_dir is not None and Path(sketches) != Path(sketches_dir):
        raise TemperaError("give the sketches folder once (sketches or sketches_dir)")
    start = time.monotonic()
    items = plan_batch(images_dir, masks, out_dir, sketches=sketches or sketches_dir,
                       fmt=fmt, quality=quality)
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TemperaError(f"cannot create the output folder {out_dir}: {exc.strerror or exc}") from None
    if created:  # an existing folder was checked while planning
        check_writable(out_dir, "the output folder")

    report = BatchReport(total=len(items), out_dir=out_dir, engine=str(getattr(engine, "name", "")))
    written: dict[Path, str] = {}  # output -> the input that produced it in this run
    mask_cache: dict[tuple[int, int], np.ndarray] = {}  # single-mask mode: one load per size

    single = Path(masks).is_file()

    aborted = threading.Event()  # stopped at once (a second Ctrl+C): the photos being filled stop too

    def heartbeat(done: int, total: int) -> None:  # the engine's progress: a chance to stop
        if aborted.is_set():
            raise _Aborted

    def work(item: BatchItem) -> tuple[str, str | None, str | None]:
        return _process(item, engine, quality=quality, skip_existing=skip_existing, feather=feather,
                        written=written, mask_cache=mask_cache if single else None, progress=heartbeat)

    def record(item: BatchItem, future: Future) -> None:
        name = item.image.name
        try:
            outcome, note, used = future.result()
        except TemperaError as exc:
            report.failed.append((name, str(exc)))
        except Exception as exc:
            log.error("batch: unexpected error on %s", name, exc_info=exc)
            first = " ".join(str(exc).split())[:200]
            report.failed.append((name, f"unexpected {type(exc).__name__}: {first}"))
        else:
            (report.skipped if outcome == "skipped" else report.ok).append(name)
            if outcome == "replaced":
                report.replaced.append(name)
            if note is not None:
                report.notes.append((name, note))
            if used is not None:
                report.used[used] = report.used.get(used, 0) + 1
        if progress is not None:
            progress(len(report.ok) + len(report.skipped) + len(report.failed), len(items), name)

    pending: list[tuple[BatchItem, Future]] = []  # being filled

    def settle(busy: int) -> None:
        """Record the items that are done, as they finish, until at most ``busy`` are
        still being filled."""
        while True:
            for entry in [e for e in pending if e[1].done()]:
                pending.remove(entry)
                record(*entry)
            if len(pending) <= busy:
                return
            wait([f for _, f in pending], return_when=FIRST_COMPLETED)

    pool = ThreadPoolExecutor(jobs, thread_name_prefix="batch") if jobs > 1 else None
    try:
        for number, item in enumerate(items, start=1):
            if cancel is not None and cancel():
                report.cancelled = True
                break
            if any(other.out.resolve() == item.out.resolve() for other, _ in pending):
                settle(0)  # two inputs for one output: the second is judged once the first is written
            if started is not None:  # an output --skip-existing leaves is named so (the log says why)
                skipping = skip_existing and item.out.exists() and item.out.resolve() not in written
                started(number, len(items), item.image.name + (" (exists: skipped)" if skipping else ""))
            if pool is None:
                future: Future = Future()
                try:
                    future.set_result(work(item))
                except Exception as exc:  # noqa: BLE001 - recorded as the item's failure
                    future.set_exception(exc)
            else:
                future = pool.submit(work, item)
            pending.append((item, future))
            settle(jobs - 1)
        settle(0)
    except KeyboardInterrupt:  # stopped at once (a second Ctrl+C): a large hole's search ends now too
        aborted.set()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    # the report lists the photos in the batch's order, whichever finished first
    order = {item.image.name: n for n, item in enumerate(items)}
    for names in (report.ok, report.skipped, report.replaced):
        names.sort(key=order.__getitem__)
    for pairs in (report.failed, report.notes):
        pairs.sort(key=lambda pair: order[pair[0]])
    report.seconds = time.monotonic() - start
    if created and not report.ok:
        try:  # leave no empty folder behind a batch that wrote nothing
            out_dir.rmdir()
        except OSError:
            pass
    return report


class _Aborted(Exception):
    """Raised from a fill's progress once its batch was stopped at once (nobody records it)."""


def _process(item: BatchItem, engine: FillEngine, *, quality: int | str, skip_existing: bool, feather: int,
             written: dict[Path, str], mask_cache: dict[tuple[int, int], np.ndarray] | None,
             progress=None) -> tuple[str, str | None, str | None]:
    """Fill one item; returns ("ok", "replaced" (an earlier output was filled over) or
    "skipped", a note on what was done to it or None, the engine that really filled or
    None), raises TemperaError on failure. No
    output is an input: plan_batch refused that up front (and save_image's ``protect``
    checks again, through hard links too)."""
    out_key = item.out.resolve()
    if out_key in written:
        raise TemperaError(f"{item.out.name} was already written from {written[out_key]} in this "
                           f"batch (two inputs share the name {item.image.stem})")
    existed = item.out.exists()
    if skip_existing and existed:
        return "skipped", None, None
    if item.mask is None:
        raise TemperaError(f"no mask for {item.image.name} (looked for {item.image.stem}, "
                           f"{item.image.stem}_mask, {item.image.stem}-mask, "
                           f"{item.image.stem}_mask001 with any image extension)")

    img = load_image(item.image)
    if mask_cache is not None:
        if img.size not in mask_cache:
            mask_cache[img.size] = load_mask(item.mask, img.size)
        mask = mask_cache[img.size]
    else:
        mask = load_mask(item.mask, img.size)
    sketch = load_sketch(item.sketch, img.size) if item.sketch is not None else None

    job = prepare_fill(img, mask, sketch=sketch, feather=feather)
    filled, outcome = job.fill(engine, progress=progress)
    protect = [p for p in (item.image, item.mask, item.sketch) if p is not None]
    _, copied = job.save(item.out, filled, quality=quality, protect=protect)
    notes = []
    inverted = mostly_hole(mask)
    if job.empty:
        notes.append("the mask is empty; copied unchanged" if copied else "the mask is empty; written unchanged")
    elif inverted:
        notes.append(inverted)
    if outcome.notice:  # what the engine had to say: a fallback, strokes it ignored
        notes.append(outcome.notice)
    if job.loses_alpha(item.out):
        notes.append(f"transparency flattened onto white ({item.out.suffix} cannot store it)")
    if img.mode == "CMYK":
        notes.append("CMYK written as RGB")
    if img.bits > 8:
        notes.append(f"{img.bits} bits per channel written with 8")
    if img.frames > 1:
        notes.append(f"first of {img.frames} frames or pages only")
    note = "; ".join(notes) or None
    written[out_key] = item.image.name
    return ("replaced" if existed else "ok"), note, None if job.empty else outcome.engine  # no hole: nothing chose
