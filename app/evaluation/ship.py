"""Installing trained checkpoints into ``model_weights/`` with their evidence.

A checkpoint is shipped together with what its evaluation measured: per hole-ratio bucket,
whether it beats the classical Telea fill on the perceptual distance (``auto`` reads this
to decide where to use the network), the evaluation rows themselves, and a model card.
An installed checkpoint is only replaced by one that is better on the perceptual distance
in most buckets, unless the caller forces it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.atomic import atomic_write
from app.core.errors import TemperaError
from app.core.names import ALL_BUCKET
from app.inference.checkpoint import read_info, sha256_of, sidecar

CLASSICAL = "telea"


@dataclass
class ShipDecision:
    engine: str
    shipped: bool
    reason: str
    beats_classical: dict[str, bool]


def rows_for(rows: list[dict[str, Any]], engine: str) -> dict[str, dict[str, Any]]:
    """Evaluation rows of one engine keyed by bucket."""
    return {str(r["bucket"]): r for r in rows if r.get("engine") == engine}


def beats_classical(rows: list[dict[str, Any]], engine: str, classical: str = CLASSICAL) -> dict[str, bool]:
    """Per bucket: is the engine's perceptual distance lower than the classical fill's?"""
    mine, theirs = rows_for(rows, engine), rows_for(rows, classical)
    verdict = {}
    for bucket, row in mine.items():
        if bucket == ALL_BUCKET or bucket not in theirs:
            continue
        a, b = row.get("lpips"), theirs[bucket].get("lpips")
        if a is None or b is None:
            raise TemperaError(f"the evaluation has no perceptual distance for {engine} / {classical} in bucket {bucket}")
        verdict[bucket] = float(a) < float(b)
    if not verdict:
        raise TemperaError(f"the evaluation holds no rows for both {engine} and {classical}")
    return verdict


SHIP_METRICS = ("lpips_vgg", "kid")  # lower is better; neither is the training loss
PSNR_SLACK_DB = 0.05  # "not worse on PSNR": the 'all' row may not fall by more than this


def better_in_most_buckets(new: dict[str, dict[str, Any]], old: dict[str, dict[str, Any]]) -> tuple[bool, str]:
    """Whether ``new`` beats the installed ``old`` on the metrics it was not trained on.

    Better means: lower in more than half of the shared (bucket, metric) pairs over
    ST-LPIPS-vgg and KID, and a PSNR over all holes no more than PSNR_SLACK_DB below the
    installed one's. An installed evaluation without those metrics (recorded before they
    existed) is compared on ST-LPIPS-alex instead, and the reason says so.
    """
    buckets = [b for b in new if b in old and b != ALL_BUCKET]
    metrics = [m for m in SHIP_METRICS
               if any(new[b].get(m) is not None and old[b].get(m) is not None for b in buckets)]
    fallback = not metrics
    if fallback:
        metrics = ["lpips"]
    pairs = [(b, m) for b in buckets for m in metrics if new[b].get(m) is not None and old[b].get(m) is not None]
    if not pairs:
        return True, "no comparable recorded evaluation of the installed checkpoint"
    wins = sum(new[b][m] < old[b][m] for b, m in pairs)
    names = {"lpips_vgg": "ST-LPIPS-vgg", "kid": "KID", "lpips": "ST-LPIPS-alex"}
    why = f"lower {' / '.join(names[m] for m in metrics)} in {wins} of {len(pairs)} bucket comparisons"
    if fallback:
        why += " (the installed evaluation predates the independent metrics)"
    ok = wins * 2 > len(pairs)
    p_new, p_old = new.get(ALL_BUCKET, {}).get("psnr"), old.get(ALL_BUCKET, {}).get("psnr")
    if p_new is not None and p_old is not None:
        why += f"; PSNR {p_new:.2f} vs {p_old:.2f} dB"
        if p_new < p_old - PSNR_SLACK_DB:
            ok, why = False, why + " (worse)"
    return ok, why + " than the installed checkpoint"


def total_steps(meta: dict[str, Any], checkpoint: Path) -> tuple[int, int]:
    """(steps, images seen) counted across warm restarts (``init_from`` chains)."""
    steps, images = int(meta.get("steps", 0)), int(meta.get("images_seen", 0))
    parent = meta.get("init_from")
    if parent:
        parent_path = Path(parent)
        if not parent_path.is_absolute():
            parent_path = (Path.cwd() / parent_path).resolve()
        try:
            parent_info = read_info(parent_path)
            parent_meta = parent_info.get("meta", {})
        except TemperaError:
            return steps + int(meta.get("init_total_steps", 0)), images + int(meta.get("init_total_images", 0))
        p_steps = int(parent_meta.get("total_steps", parent_meta.get("steps", 0)))
        p_images = int(parent_meta.get("total_images_seen", parent_meta.get("images_seen", 0)))
        started_here = meta.get("init_sha256")
        if started_here:
            # the run recorded the weights it started from: the file there now is either
            # them, or an earlier install of this same run (resumed, shipped more than once),
            # which recorded the same start
            same_run = (parent_info.get("sha256") != started_here
                        and parent_meta.get("init_sha256") == started_here)
        else:  # recorded before 4 Dec 2026: judged by where the file at init_from started
            same_run = parent_meta.get("init_from") == parent and int(parent_meta.get("steps", 0)) <= steps
        if same_run:
            # the file at init_from has since been replaced by an earlier install of this
            # same run (resumed and shipped more than once): it already counts the run's
            # steps up to then, so add only those after it
            steps -= int(parent_meta.get("steps", 0))
            images -= int(parent_meta.get("images_seen", 0))
        steps, images = steps + p_steps, images + p_images
    return steps, images


def ship(
    checkpoint: Path,
    rows: list[dict[str, Any]],
    weights_dir: Path,
    *,
    engine: str | None = None,
    eval_label: str | None = None,
    card_extra: str = "",
    force: bool = False,
    installed_rows: list[dict[str, Any]] | None = None,
) -> ShipDecision:
    """Copy ``checkpoint`` (+ sidecar) into ``weights_dir`` as ``<engine>.pt`` with its evidence.

    ``eval_label`` is the engine's name in ``rows`` when it differs (the guided network is
    judged with its sketch: ``mtsa-guided+sketch``). ``installed_rows`` re-measure the
    installed checkpoint under the same protocol (same label); they replace the evaluation
    its sidecar recorded, e.g. when that predates a metric.
    """
    checkpoint = Path(checkpoint)
    info = read_info(checkpoint)
    if info.get("sha256") and sha256_of(checkpoint) != info["sha256"]:
        raise TemperaError(f"{checkpoint.name} does not match its recorded SHA-256")
    cfg = info["config"]
    engine = engine or ("mtsa-const" if cfg.get("constant_temperature") else "mtsa-guided" if cfg.get("guided") else "mtsa")
    eval_engine = eval_label or engine
    mine = rows_for(rows, eval_engine)
    if not mine:
        raise TemperaError(f"the evaluation holds no rows for {eval_engine}")
    verdict = beats_classical(rows, eval_engine)

    target = Path(weights_dir) / f"{engine}.pt"
    if target.is_file() and sidecar(target).is_file() and not force:
        old_rows = (rows_for(installed_rows, eval_engine) if installed_rows
                    else read_info(target).get("meta", {}).get("evaluation", {}))
        ok, why = better_in_most_buckets(mine, old_rows)
        if not ok:
            return ShipDecision(engine, False, f"kept the installed {engine}: the new one has {why}", verdict)
        reason = f"replaced the installed {engine}: {why}"
    else:
        reason = f"installed {engine}"

    meta = dict(info.get("meta", {}))
    meta["total_steps"], meta["total_images_seen"] = total_steps(meta, checkpoint)
    keys = ("psnr", "ssim", "l1", "lpips", "lpips_vgg", "fid", "kid", "edge_f1", "attn_keys", "attn_distinct")
    meta["evaluation"] = {b: {k: r.get(k) for k in keys if k in r} for b, r in mine.items()}
    meta["beats_classical"] = verdict
    Path(weights_dir).mkdir(parents=True, exist_ok=True)
    with open(checkpoint, "rb") as src:
        atomic_write(target, lambda fh: shutil.copyfileobj(src, fh))
    out = dict(info, weights=target.name, sha256=sha256_of(target), meta=meta)
    side_text = json.dumps(out, indent=2, sort_keys=True).encode()
    atomic_write(sidecar(target), lambda fh: fh.write(side_text))
    card = model_card(engine, out, rows, card_extra, eval_engine).encode()
    atomic_write(target.with_suffix(".md"), lambda fh: fh.write(card))
    return ShipDecision(engine, True, reason, verdict)


def _fmt(v: Any, digits: int) -> str:
    return "-" if v is None else f"{float(v):.{digits}f}"


def evaluation_table(rows: list[dict[str, Any]], engines: list[str]) -> str:
    lines = ["| engine | hole % | ST-LPIPS-vgg | KID | ST-LPIPS-alex (training loss) | PSNR dB | SSIM | FID "
             "| distinct sources per hole token | effective keys |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("engine") in engines:
            lines.append(
                f"| {r['engine']} | {r['bucket']} | {_fmt(r.get('lpips_vgg'), 4)} | {_fmt(r.get('kid'), 4)} "
                f"| {_fmt(r.get('lpips'), 4)} | {_fmt(r.get('psnr'), 2)} | {_fmt(r.get('ssim'), 4)} | {_fmt(r.get('fid'), 1)} "
                f"| {_fmt(r.get('attn_distinct'), 3)} | {_fmt(r.get('attn_keys'), 1)} |"
            )
    return "\n".join(lines)


def model_card(
    engine: str, info: dict[str, Any], rows: list[dict[str, Any]], extra: str = "", eval_label: str | None = None
) -> str:
    meta, cfg = info.get("meta", {}), info.get("config", {})
    data = meta.get("data", {})
    wins = meta.get("beats_classical", {})
    won = [b for b, w in wins.items() if w]
    hours = float(meta.get("wall_time_s", 0)) / 3600
    attention = (
        "(constant-temperature ablation: temperature 10, DeepFill zero-score masking)"
        if cfg.get("constant_temperature")
        else "(learned, bounded per-pixel temperature; masked softmax)"
    )
    architecture = (
        f"two-stage gated-conv generator, MTSA refine branch, classical prior `prior={cfg.get('prior')}`, "
        f"width {cfg.get('channels')}, {cfg.get('heads')} heads, tokens capped at {cfg.get('max_tokens_side')}², "
        + (f"{cfg['attention_patch']} x {cfg['attention_patch']} token patches matched (keys from known tokens only)"
           if cfg.get("attention_patch", 1) > 1 else "single tokens matched")
    )
    training_data = (
        f"{data.get('train_images', '?')} photos from `app/data/manifest.csv` (see docs/DATA.md), "
        f"{data.get('holdout_excluded', '?')} held out whole"
    )
    steps_total = (
        f"{meta.get('total_steps', '?')} ({meta.get('total_images_seen', '?')} images), "
        f"counting warm restarts (`init_from`: {meta.get('init_from') or 'none'})"
    )
    return f"""# Model card: `{engine}`

{'Sketch-guided' if cfg.get('guided') else 'Unguided'} MTSA inpainting generator
{attention}.
Files: `{engine}.pt` (state dict, loaded with `weights_only=True`), `{engine}.json` (config,
SHA-256 `{info.get('sha256', '')[:16]}…`, provenance, evaluation).

| | |
|---|---|
| architecture | {architecture} |
| training data | {training_data} |
| image size | {meta.get('image_size', '?')} px random crops at random scales, flips, free-form masks 10-60 % |
| steps (this run) | {meta.get('steps', '?')} at batch {meta.get('batch', '?')} ({meta.get('images_seen', '?')} images) |
| steps in total | {steps_total} |
| losses | {meta.get('losses', '?')} |
| hardware | {meta.get('hardware', '?')} |
| wall time (this run) | {hours:.2f} h |

## Evaluation (held-out photos, fixed seeded masks, 256 px crops)

{evaluation_table(rows, [eval_label or engine, 'telea', 'ns'])}

Buckets where it beats Telea on ST-LPIPS: {', '.join(won) if won else 'none'}. `auto` does not
read this: it ranks every engine per situation from `model_weights/auto.json`
(`scripts/auto_routes.py`).

{extra}

## Licence notes for the training photos
The photos come from Debian, PyPI and npm packages (GCompris, OpenCV docs, KPhotoAlbum,
Lomiri wallpapers, SciPy, face-api and others): mostly CC-BY-SA / CC-BY / public domain
per file, as listed in each row's `license_hint` in `app/data/manifest.csv`. The
weights are a derivative of a small, mixed-licence corpus; check the per-file terms
before commercial redistribution.
"""
