"""Names and contracts shared by the CLI, the UI, the engines, training and evaluation.

Each is defined here once and imported everywhere: engine names, device choices, batch
formats, image file extensions, the hole-size buckets and the sketch pen's width. Kept free of torch and numpy so
that ``--help``, the settings validator and the editor's menus do not wait for them.
"""

from __future__ import annotations

import re

from app.core.errors import TemperaError

ENGINE_NAMES = ("auto", "mtsa", "mtsa-guided", "mtsa-const", "mtsa-texture", "patchmatch", "telea", "ns")
NETWORK_ENGINES = ("mtsa", "mtsa-guided", "mtsa-const")
TEXTURE_ENGINE = "mtsa-texture"  # the networks + the texture stage (PatchMatch at full resolution)
STROKE_ENGINES = ("mtsa-guided", TEXTURE_ENGINE)  # the engines whose fills follow sketch strokes
MAX_SEED = 2**32 - 1  # variation seeds: PatchMatch's native search keeps a 32-bit unsigned seed
BATCH_FORMATS = ("keep", "png", "jpg", "webp", "avif", "tif", "bmp")  # "keep": the format of each input photo

# ----------------------------------------------------------------------------- devices
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")  # the kinds; "cuda:N" picks one of several GPUs
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (default: auto = $TEMPERA_DEVICE, else CUDA, MPS, CPU)"


def short_name(name: str, limit: int = 40) -> str:
    """``name`` for a one-line message: a name over ``limit`` characters keeps its start and
    its end (the extension) around an ellipsis, so what follows it on the line still shows."""
    if len(name) <= limit:
        return name
    tail = max(1, (limit - 1) // 2)
    return f"{name[: limit - 1 - tail]}…{name[-tail:]}"


def parse_device(text: str | None) -> str:
    """The device a user typed, normalised (``"CUDA:1 "`` -> ``"cuda:1"``; empty -> ``"auto"``).

    Accepts ``auto``, ``cpu``, ``cuda``, ``mps`` and an index on the last three
    (``cuda:1``). Whether that device exists is decided later, by the inference layer.
    """
    choice = (text or "").strip().lower() or "auto"
    kind, colon, index = choice.partition(":")
    if kind not in DEVICE_CHOICES or (colon and (kind == "auto" or not index.isdigit())):
        raise TemperaError(f"unknown device {text!r}; choose auto, cpu, cuda, cuda:N or mps")
    return choice


# ----------------------------------------------------------------------------- image files
# Extension -> Pillow format name: the files the app opens, fills in batches, trains and
# evaluates on, and saves. Anything else is refused rather than guessed.
IMAGE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".avif": "AVIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF")  # the formats a quality setting applies to
QUALITY_SCOPE = "--quality applies to JPEG, WebP and AVIF only"
# Photos that are opened (and filled in batches) but not written: a phone's HEIC (read
# through pi-heif; writing it needs an HEVC encoder) becomes a JPEG, as a phone's own
# export does. What each is written as when the output's format is not chosen.
READ_ONLY_FORMATS = {".heic": ".jpg", ".heif": ".jpg"}
IMAGE_EXTENSIONS = tuple(IMAGE_FORMATS) + tuple(READ_ONLY_FORMATS)


def output_suffix(suffix: str) -> str:
    """The extension a result of a photo with ``suffix`` is written with when none is
    chosen: its own where it can be written, else what READ_ONLY_FORMATS says (PNG for
    the other formats that open, such as GIF and PPM)."""
    if suffix.lower() in IMAGE_FORMATS:
        return suffix
    return READ_ONLY_FORMATS.get(suffix.lower(), ".png")

# ----------------------------------------------------------------------------- hole sizes
# The evaluation's hole-size buckets, as shares of the image. Evaluation records a verdict
# per bucket and `auto` looks a hole up in the same buckets, so both read them from here.
BUCKETS: tuple[tuple[float, float], ...] = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))
ALL_BUCKET = "all"  # the row over every bucket in evaluation tables and JSON


def bucket_name(bucket: tuple[float, float]) -> str:
    """``(0.1, 0.2)`` -> ``"10-20"`` (the label used in tables and JSON)."""
    return f"{round(bucket[0] * 100)}-{round(bucket[1] * 100)}"


# Holes outside the five buckets, for evaluations of given holes (evaluate --mask-dir),
# which report them apart rather than with the nearest bucket
BELOW_BUCKETS = (0.0, BUCKETS[0][0])
ABOVE_BUCKETS = (BUCKETS[-1][1], 1.0)


def bucket_of(ratio: float, *, clamp: bool = True) -> str:
    """The bucket label a hole covering ``ratio`` of the image falls in, clamped at both ends
    (``clamp=False``: ``BELOW_BUCKETS`` / ``ABOVE_BUCKETS`` outside them)."""
    for bucket in BUCKETS:
        if ratio < bucket[1]:
            return bucket_name(bucket if clamp or ratio >= bucket[0] else BELOW_BUCKETS)
    return bucket_name(BUCKETS[-1] if clamp else ABOVE_BUCKETS)


# ----------------------------------------------------------------------------- evaluation holes and sketches
# Hole shapes the mask generators draw (app/data/masks.py keeps one generator per name) and
# where an evaluation's sketches come from: the project's training generator, or Canny edges
# of the truth (sketches drawn another way). The CLI's --masks / --sketches choices.
MASK_KINDS = ("free_form", "strokes", "box", "object")
SKETCH_SOURCES = ("project", "canny")
# benchmark --strokes: its square 25 % holes timed without a sketch, with a stroke through
# them (the guided path), or both
BENCH_STROKES = ("both", "without", "with")

# ----------------------------------------------------------------------------- sketch pen
# The editor's sketch pen and the training sketches (app/data/sketch.py) draw strokes of
# the same width, so that a user's strokes look like the ones the guided network learnt.
SKETCH_STROKE_WIDTH = 2  # px at a 256-px short side
REFERENCE_SIDE = 256  # the crop size the model trains and is evaluated at; pen widths and the
# texture stage's and auto's pixel sizes are given for it and scale with the photo


def stroke_width_for(size_hw: tuple[int, int], base: int = SKETCH_STROKE_WIDTH) -> int:
    """Pen width in image pixels for an image of ``size_hw``: ``base`` at a 256-px short
    side, proportional above and below it, never under 1 px. The UI and the sketch
    generator use this so user strokes look like the training strokes at any size."""
    return max(1, int(round(base * min(size_hw[0], size_hw[1]) / REFERENCE_SIDE)))


# ----------------------------------------------------------------------------- engines
# What the editor calls each engine (the command line keeps the names above).
ENGINE_LABELS = {
    "auto": "Auto (best measured)",
    "mtsa": "Network",
    "mtsa-guided": "Network + sketch",
    "mtsa-texture": "Network + texture",
    "patchmatch": "PatchMatch",
    "telea": "Telea (fast)",
    "ns": "Navier-Stokes (fast)",
    "mtsa-const": "Network, constant temperature (ablation)",
}
# The editor's engine list, in menu order; the mtsa-const ablation is for the command line.
EDITOR_ENGINES = ("auto", "mtsa", "mtsa-guided", "mtsa-texture", "patchmatch", "telea", "ns")


def engine_label(name: str) -> str:
    """The editor's word for an engine name (the name itself when it has none)."""
    return ENGINE_LABELS.get(name, name)


def engine_word(name: str) -> str:
    """The editor's word for an engine inside a sentence: its label without the remark in
    brackets ("Auto", "Telea", "Network + sketch")."""
    return engine_label(name).split(" (")[0]


# an engine name standing as a word of its own: not part of a longer name ("mtsa" in
# "mtsa-guided"), a file name ("auto.json") or a path
_ENGINE_NAME = re.compile(r"(?<![\w./\\-])(" + "|".join(sorted(map(re.escape, ENGINE_LABELS), key=len, reverse=True))
                          + r")(?![\w/\\-]|\.\w)")


def editor_words(text: str) -> str:
    """A message made with the command line's engine names ("mtsa does not follow sketch
    strokes ...") in the editor's words for them ("Network does not follow ...")."""
    return _ENGINE_NAME.sub(lambda m: engine_word(m.group(1)), text)
