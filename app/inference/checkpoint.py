"""Checkpoints: a file of tensors plus a JSON of config, checksum and provenance.

Loading never unpickles arbitrary objects (``weights_only=True``), so a checkpoint from
the internet cannot execute code; the SHA-256 in the JSON catches truncation and
corruption, and rebuilding from the JSON config catches a mismatched file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from app.core.atomic import atomic_write
from app.core.errors import TemperaError
from app.model import InpaintGenerator, ModelConfig

FORMAT_VERSION = 1


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def save_checkpoint(path: Path, generator: InpaintGenerator, config: ModelConfig, meta: dict[str, Any] | None = None) -> Path:
    """Write ``path`` (tensors only) and its ``.json`` sidecar, both atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in generator.state_dict().items()}
    atomic_write(path, lambda fh: torch.save(state, fh))
    info = {
        "format": FORMAT_VERSION,
        "weights": path.name,
        "sha256": sha256_of(path),
        "config": config.to_dict(),
        "meta": meta or {},
    }
    text = json.dumps(info, indent=2, sort_keys=True).encode()
    atomic_write(sidecar(path), lambda fh: fh.write(text))
    return path


def read_info(path: Path) -> dict[str, Any]:
    """The sidecar JSON of a checkpoint; a clear error when missing or malformed."""
    side = sidecar(Path(path))
    try:
        info = json.loads(side.read_text())
    except FileNotFoundError:
        raise TemperaError(f"{side.name} is missing: a checkpoint needs its JSON sidecar") from None
    except (OSError, ValueError) as exc:
        raise TemperaError(f"{side.name} is not a valid checkpoint description: {exc}") from None
    if not isinstance(info, dict) or "config" not in info:
        raise TemperaError(f"{side.name} has no model config")
    return info


def load_generator(
    path: Path, device: torch.device | str = "cpu", *, verify: bool = True
) -> tuple[InpaintGenerator, dict[str, Any]]:
    """Rebuild the generator described by the sidecar and load its weights safely."""
    path = Path(path)
    if not path.is_file():
        raise TemperaError(f"checkpoint {path} does not exist")
    info = read_info(path)
    if verify and info.get("sha256") and sha256_of(path) != info["sha256"]:
        raise TemperaError(f"{path.name} does not match its recorded SHA-256: the file is corrupt or truncated")
    try:
        config = ModelConfig.from_dict(info["config"])
    except (TypeError, ValueError) as exc:
        raise TemperaError(f"{path.name}: bad model config ({exc})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle errors, zip errors, truncation: all one message
        raise TemperaError(f"{path.name} could not be read as a checkpoint: {type(exc).__name__}") from None
    if not isinstance(state, dict):
        raise TemperaError(f"{path.name} does not hold a state dict")
    generator = InpaintGenerator(config)
    try:
        generator.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise TemperaError(f"{path.name} does not fit its config: {first}") from None
    generator.to(device).eval()
    return generator, info
