"""``fetch-data``: rebuild the training photos from the project's manifest."""

from __future__ import annotations

import argparse
import sys

NAME = "fetch-data"

EPILOG = """examples:
  python main.py fetch-data --out data/photos
  python main.py fetch-data --out data/photos --holdout 24 --seed 0

Writes DIR/train/<id>.png, DIR/holdout/<id>.png, DIR/split.json and DIR/manifest.csv;
downloads are cached in DIR/.cache. Running it again only fetches what is missing."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="download the training photos listed in the manifest",
        description="Rebuild the training corpus (only the photos the manifest lists).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="data/photos", metavar="DIR", help="output folder (default: data/photos)")
    p.add_argument("--manifest", default=None, metavar="CSV", help="manifest to use (default: the project's copy)")
    p.add_argument("--holdout", type=int, default=24, metavar="N", help="whole images held out for evaluation")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from app.core.errors import TemperaError
    from app.data import fetch_data

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        report = fetch_data.fetch(
            args.out,
            args.manifest or fetch_data.MANIFEST_PATH,
            n_holdout=args.holdout,
            seed=args.seed,
            progress=say,
        )
    except (TemperaError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = len(report.fetched) + len(report.skipped)
    say(
        f"summary: fetched {len(report.fetched)}, already present {len(report.skipped)}, "
        f"failed {len(report.failed)}; corpus {total} photos, {report.bytes_on_disk / 1e6:.0f} MB "
        f"in {args.out}; {report.seconds:.1f} s"
    )
    if report.failed:
        for ident, reason in sorted(report.failed.items()):
            print(f"failed: {ident}: {reason}", file=sys.stderr)
        return 1
    return 0
