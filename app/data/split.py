"""Which photos a folder holds and which are held out: the fixed, stratified split and the
folder's split.json (numpy only, no torch, so `fetch-data` uses it without loading torch)."""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from app.core.names import IMAGE_EXTENSIONS

T = TypeVar("T")


def split_holdout(
    items: Sequence[T],
    n_holdout: int = 24,
    seed: int = 0,
    categories: Mapping[Hashable, str] | None = None,
) -> tuple[list[T], list[T]]:
    """Split whole images into (train, holdout), deterministically.

    ``items`` are ids or paths; the split depends only on their names (sorted), ``seed``
    and ``categories`` (item or its stem -> category), never on the input order. With
    categories the held-out share of each category matches its share of the corpus
    (largest-remainder rounding), so a rare category (people) is still evaluated.
    """
    if n_holdout < 0 or n_holdout > len(items):
        raise ValueError(f"n_holdout={n_holdout} must lie in 0..{len(items)}")
    key = lambda it: Path(str(it)).name  # noqa: E731 - sort by file name, not folder
    ordered = sorted(items, key=key)
    rng = np.random.default_rng(seed)
    if not categories:
        picked = sorted(rng.choice(len(ordered), size=n_holdout, replace=False).tolist())
    else:
        def cat(it: T) -> str:
            if it in categories:
                return categories[it]
            return categories.get(Path(str(it)).stem, "?")

        groups: dict[str, list[int]] = {}
        for i, it in enumerate(ordered):
            groups.setdefault(cat(it), []).append(i)
        names = sorted(groups)
        exact = [n_holdout * len(groups[n]) / len(ordered) for n in names]
        quota = [int(q) for q in exact]
        # hand the remaining slots to the largest fractional parts (ties: larger group)
        order = sorted(range(len(names)), key=lambda k: (-(exact[k] - quota[k]), -len(groups[names[k]]), names[k]))
        for k in order[: n_holdout - sum(quota)]:
            quota[k] += 1
        picked = []
        for name, q in zip(names, quota, strict=True):
            members = groups[name]
            picked.extend(members[j] for j in rng.choice(len(members), size=q, replace=False).tolist())
        picked.sort()
    chosen = set(picked)
    hold = [ordered[i] for i in picked]
    train = [it for i, it in enumerate(ordered) if i not in chosen]
    return train, hold


def read_split(root: str | Path) -> set[str]:
    """Ids held out according to ``root/split.json`` (empty when there is none)."""
    path = Path(root) / "split.json"
    if not path.exists():
        return set()
    return set(json.loads(path.read_text(encoding="utf-8")).get("holdout", []))


def find_images(root: str | Path) -> list[Path]:
    """Image files under ``root`` (recursive, hidden folders such as ``.cache`` skipped)."""
    root = Path(root)
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel):
            continue
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
            out.append(p)
    return sorted(out)
