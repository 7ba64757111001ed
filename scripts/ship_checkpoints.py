"""Install trained checkpoints into model_weights/ with their evaluation and model cards.

    python scripts/ship_checkpoints.py --eval runs/eval/final.json runs/mtsa/mtsa.pt runs/const/mtsa-const.pt
    python scripts/ship_checkpoints.py --eval runs/eval/guided.json runs/guided/mtsa-guided.pt

The evaluation JSON comes from `python main.py evaluate --json` and must hold rows for each
checkpoint's engine (the guided one as `mtsa-guided+sketch`) and for `telea`. An installed
checkpoint is replaced only when the new one is better on the metrics it was not trained
on (ST-LPIPS-vgg and KID, in most bucket comparisons) and not worse on PSNR
(`--force` overrides). `--installed-eval FILE` holds rows of the installed checkpoints
measured the same way (same labels), for when their recorded evaluation predates a
metric. Prints one line per checkpoint; exit 1 when any was kept back.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.errors import TemperaError
from app.evaluation.ship import ship
from app.inference.checkpoint import read_info
from app.inference.engines import default_weights_dir


def _rows(path: Path) -> list[dict]:
    """The rows of an `evaluate --json` file (a {"rows": [...]} object, or a bare list)."""
    data = json.loads(path.read_text())
    return data["rows"] if isinstance(data, dict) else data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--eval", required=True, type=Path, help="evaluation JSON (main.py evaluate --json)")
    p.add_argument("--weights-dir", type=Path, default=None, help="default: model_weights/")
    p.add_argument("--note", default="", help="extra markdown for the model cards")
    p.add_argument("--force", action="store_true", help="replace installed checkpoints even if not better")
    p.add_argument("--installed-eval", type=Path, default=None,
                   help="evaluation JSON of the installed checkpoints (replaces their recorded one)")
    args = p.parse_args(argv)
    try:
        rows = _rows(args.eval)
        installed = _rows(args.installed_eval) if args.installed_eval else None
        kept_back = 0
        for ckpt in args.checkpoints:
            guided = bool(read_info(ckpt)["config"].get("guided"))
            label = "mtsa-guided+sketch" if guided else None
            weights_dir = args.weights_dir or default_weights_dir()
            decision = ship(ckpt, rows, weights_dir, eval_label=label, card_extra=args.note, force=args.force,
                            installed_rows=installed)
            wins = ", ".join(f"{b}: {'net' if w else 'telea'}" for b, w in decision.beats_classical.items())
            print(f"{ckpt}: {decision.reason} ({wins})")
            kept_back += not decision.shipped
        return 1 if kept_back else 0
    except (TemperaError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
