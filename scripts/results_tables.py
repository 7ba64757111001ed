"""Print the comparison tables of docs/RESULTS.md from `main.py evaluate --json` files.

    python scripts/results_tables.py runs/eval/final.json runs/eval/guided.json

One table per metric: a row per hole bucket, a column per engine, the best value in bold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# the metrics no network was trained on first; ST-LPIPS-alex is the networks' training loss
METRICS = (("lpips_vgg", "ST-LPIPS-vgg (lower is better; not a training loss)", 4, min),
           ("kid", "KID x 1000 (lower is better; paired, each fill's own truth left out)", 2, min),
           ("lpips", "ST-LPIPS-alex (lower is better; the networks' training loss)", 4, min),
           ("psnr", "PSNR dB (higher is better; rewards blur)", 2, max),
           ("ssim", "SSIM (higher is better)", 4, max), ("fid", "FID (lower is better; 24 pairs: noisy)", 1, min),
           ("edge_f1", "edge F1 vs. the sketch (higher is better)", 3, max),
           ("attn_distinct", "distinct attention sources per hole token (higher = less collapse)", 3, max),
           ("attn_keys", "effective keys per query (exp of the attention entropy)", 1, max))
SCALE = {"kid": 1000.0}


def load_rows(paths: list[str]) -> list[dict]:
    rows: list[dict] = []
    for p in paths:
        data = json.loads(Path(p).read_text())
        rows += data["rows"] if isinstance(data, dict) else data
    return rows


def table(rows: list[dict], key: str, title: str, digits: int, best) -> str:
    engines = list(dict.fromkeys(r["engine"] for r in rows if r.get(key) is not None))
    if not engines:
        return ""
    buckets = list(dict.fromkeys(r["bucket"] for r in rows))
    scale = SCALE.get(key, 1.0)
    value = {(r["engine"], r["bucket"]): (r[key] * scale if r.get(key) is not None else None) for r in rows}
    lines = [f"**{title}**", "", "| hole % | " + " | ".join(engines) + " |", "|---|" + "---:|" * len(engines)]
    for b in buckets:
        vals = [value.get((e, b)) for e in engines]
        present = [v for v in vals if v is not None]
        top = best(present) if present else None
        cells = ["-" if v is None else (f"**{v:.{digits}f}**" if v == top else f"{v:.{digits}f}") for v in vals]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    rows = load_rows(argv)
    # telea/ns appear in both files with identical numbers (same crops, same masks): keep one
    seen, unique = set(), []
    for r in rows:
        if (r["engine"], r["bucket"]) not in seen:
            seen.add((r["engine"], r["bucket"]))
            unique.append(r)
    for key, title, digits, best in METRICS:
        text = table(unique, key, title, digits, best)
        if text:
            print(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
