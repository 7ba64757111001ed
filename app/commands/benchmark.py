"""``benchmark``: speed, memory and compute of every engine, side by side in one run."""

from __future__ import annotations

import argparse
import json
import sys

from app.commands.common import add_device_arg, check_report_path
from app.core.names import BENCH_STROKES

EPILOG = """examples:
  python main.py benchmark                                  # 256,512,1024 on the best device
  python main.py benchmark --sizes 512 --device cpu --repeats 10
  python main.py benchmark --engines mtsa,mtsa-const,telea --json bench.json
  python main.py benchmark --sizes 512 --engines telea,patchmatch,auto --large   # + 24 MP photos

Networks use the installed checkpoints, or random weights when none is installed (speed
does not depend on the weights). Peak memory is the GPU's peak allocation on CUDA and, on the
CPU, the peak of the C heap in use above its level before the engine's first fill (glibc;
resident-memory growth elsewhere), plus the resident memory of a large hole's patch search,
which runs in a child process. Sizes above 800 px go through the
large-photo crop strategy, as real fills do. --large adds a 24 MP photo with a 200 x 150
hole, with six such holes and with a 5 % hole; the 200 x 150 hole is timed --repeats times
after one untimed fill, like the squares (on a fresh process, the first touch of new memory
is otherwise timed with the fill), the other two once, without one. Each square has a 25 %
hole, timed without a sketch (rows "512") and with a stroke through it (rows "512 stroke",
where auto may pick a guided engine); --strokes picks one. An engine that cannot run
here (no PatchMatch library, no checkpoint for mtsa-texture) is skipped with a note. The
engine column names what auto chose, e.g. "auto (mtsa-texture)"."""


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or any(s < 16 or s > 8192 for s in sizes):
        raise argparse.ArgumentTypeError("each size must be between 16 and 8192")
    return sizes


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "benchmark",
        help="time every engine at several sizes",
        description="Median/min milliseconds per fill, peak memory and GMACs per engine, size and device.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", type=_sizes, default=[256, 512, 1024], help="square sizes, e.g. 256,512,1024")
    add_device_arg(p)
    p.add_argument("--engines", default="telea,ns,patchmatch,mtsa,mtsa-const,mtsa-guided,mtsa-texture,auto",
                   help="comma-separated engines (default: all of them)")
    p.add_argument("--large", action="store_true", help="also time a 24 MP photo (a 200 x 150 hole, six of them, a 5 %% hole)")
    p.add_argument("--strokes", choices=BENCH_STROKES, default="both",
                   help="time the square holes without a sketch (rows '512'), with a stroke through them "
                        "(rows '512 stroke': the guided path), or both (default)")
    p.add_argument("--repeats", type=int, default=5, help="timed fills per engine and size (default 5)")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from app.core.atomic import atomic_write_text
    from app.core.errors import TemperaError
    from app.inference.benchmark import BENCH_ENGINES, format_table, rows_as_dicts, run_benchmark
    from app.inference.device import resolve_device

    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    unknown = [e for e in engines if e not in BENCH_ENGINES]
    if unknown:
        raise TemperaError(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(BENCH_ENGINES)}")
    if args.repeats < 1:
        raise TemperaError("--repeats must be at least 1")
    check_report_path(args.json, "--json")
    device = resolve_device(args.device)
    rows = run_benchmark(
        args.sizes, device, engines=engines, repeats=args.repeats, large=args.large, strokes=args.strokes,
        progress=lambda m: print(f"  timing {m}", file=sys.stderr),
    )
    print(format_table(rows))
    if args.json:
        import torch

        payload = {"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows_as_dicts(rows)}
        atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
