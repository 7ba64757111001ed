"""Validated user settings: defaults in ``resources/settings.json``, user overrides in a
small JSON file in the config folder. (Window geometry lives in QSettings, in app/ui.)

A bad value in the user's file never stops the app: it falls back to the default and the
problem is listed in ``Settings.problems`` so the UI can say so once.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core.atomic import atomic_write
from app.core.errors import TemperaError
from app.core.names import BATCH_FORMATS, DEVICE_CHOICES, ENGINE_NAMES

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEFAULTS_PATH = RESOURCES / "settings.json"
BATCH_KEYS = ("images", "masks", "sketches", "out")  # the batch dialog's last folders
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _int(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _float(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi


VALID: dict[str, Callable[[Any], bool]] = {
    "undo_limit": _int(1, 1000),
    "brush_size": _int(1, 2000),
    "mask_color": lambda v: isinstance(v, str) and bool(_COLOR.match(v)),
    "mask_opacity": _float(0.05, 1.0),
    "sketch_color": lambda v: isinstance(v, str) and bool(_COLOR.match(v)),
    "sketch_hole_margin": _int(0, 200),
    "engine": lambda v: v in ENGINE_NAMES,
    "device": lambda v: v in DEVICE_CHOICES,
    "save_quality": _int(1, 100),
    "autosave_delay_ms": _int(0, 60_000),
    "recent_max": _int(0, 50),
    "recent_files": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    "batch_paths": lambda v: isinstance(v, dict) and all(k in BATCH_KEYS and isinstance(p, str) for k, p in v.items()),
    "batch_format": lambda v: v in BATCH_FORMATS,
    "batch_quality": _int(0, 100),
    "grow_step": _int(1, 500),
    "feather_px": _int(0, 100),
}


@dataclass
class Settings:
    undo_limit: int
    brush_size: int
    mask_color: str
    mask_opacity: float
    sketch_color: str
    sketch_hole_margin: int  # extra pixels of hole around a sketch stroke drawn outside it
    engine: str
    device: str
    save_quality: int  # JPEG / WebP quality offered in the save dialog
    autosave_delay_ms: int
    recent_max: int
    recent_files: list[str]
    batch_paths: dict[str, str]  # last folders of the batch dialog, by BATCH_KEYS
    batch_format: str
    batch_quality: int  # the batch dialog's JPEG / WebP quality; 0 = the same as each photo
    grow_step: int  # px that Grow / Shrink mask move the edge (the panel's step)
    feather_px: int  # the fill's soft edge in px; 0 = feathering off
    problems: list[str] = field(default_factory=list, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("problems")
        return data

    def add_recent(self, path: Path | str) -> None:
        p = str(Path(path).resolve())
        self.recent_files = [p] + [r for r in self.recent_files if r != p]
        del self.recent_files[self.recent_max :]


def recent_labels(paths: list[str]) -> list[str]:
    """What the Open Recent menu shows for each path: the file name, and where two entries
    share a name, as many of the folders above it as tell them apart ("cmyk.jpg — photos",
    "cmyk.jpg — walk/tests"), as editors do."""
    parts = [Path(p).parts for p in paths]
    labels = []
    for i, own in enumerate(parts):
        others = [o for j, o in enumerate(parts) if j != i and o[-1:] == own[-1:]]
        depth = 1
        # the fewest folders above the name that no other entry of the same name ends with
        while others and depth < len(own) and any(o[-depth - 1 : -1] == own[-depth - 1 : -1] for o in others):
            depth += 1
        where = str(Path(*own[-depth - 1 : -1])) if others else ""
        labels.append(f"{own[-1]} — {where}" if where else (own[-1] if own else ""))
    return labels


def config_dir() -> Path:
    env = os.environ.get("TEMPERA_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tempera"


def user_settings_path() -> Path:
    return config_dir() / "settings.json"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemperaError(f"cannot read settings {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TemperaError(f"settings {path} must hold a JSON object")
    return data


def defaults() -> Settings:
    data = _read_json(DEFAULTS_PATH)
    names = [f.name for f in fields(Settings) if f.name != "problems"]
    missing = [n for n in names if n not in data]
    bad = [n for n in names if n in data and not VALID[n](data[n])]
    if missing or bad:  # a broken shipped file is a bug, not a user problem
        raise TemperaError(f"{DEFAULTS_PATH} is invalid: missing {missing}, bad {bad}")
    return Settings(**{n: data[n] for n in names})


def load_settings(path: Path | None = None) -> Settings:
    """Defaults overlaid with the user's file; invalid or unknown entries are reported."""
    settings = defaults()
    path = user_settings_path() if path is None else path
    if not path.exists():
        return settings
    try:
        user = _read_json(path)
    except TemperaError as exc:
        settings.problems.append(str(exc))
        return settings
    for key, value in user.items():
        if key not in VALID:
            settings.problems.append(f"unknown setting {key!r} ignored")
        elif not VALID[key](value):
            settings.problems.append(f"setting {key}={value!r} is invalid; using {getattr(settings, key)!r}")
        else:
            setattr(settings, key, value)
    del settings.recent_files[settings.recent_max :]
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    path = user_settings_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(settings.to_dict(), indent=2).encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(text))
