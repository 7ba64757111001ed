"""Crash-safe autosave of the working state (mask, sketch, and the image once filled).

Files live in one per-user folder (``TEMPERA_STATE_DIR``, else ``$XDG_STATE_HOME/tempera``
or ``~/.local/state/tempera``). ``session.npz`` (compressed: mask and sketch are mostly
zeros) is replaced atomically on every write; a filled image goes to its own uncompressed
``image-<n>.npy`` (compressing 72 MB on every stroke would be too slow) which is written
*before* the npz that names it, so a crash between the two leaves the previous state intact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.atomic import atomic_write

SESSION = "session.npz"


def state_dir() -> Path:
    env = os.environ.get("TEMPERA_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tempera"


@dataclass(frozen=True)
class AutosaveState:
    source_path: str | None  # the photo that was opened; None for a pasted image
    mask: np.ndarray  # bool (H, W)
    sketch: np.ndarray  # uint8 (H, W)
    image: np.ndarray | None  # (H, W, 3) uint8 when it differs from the source (filled/pasted)
    saved_at: float
    image_key: int = 0  # identifies the image version so it is written only when it changes
    protect: np.ndarray | None = None  # bool (H, W); None: nothing protected
    save_path: str | None = None  # where Ctrl+S wrote the work, once chosen (Save As)
    save_quality: int | str = "keep"  # the quality chosen with save_path
    opaque: np.ndarray | None = None  # bool (H, W): holes filled in a photo with transparency

    @property
    def name(self) -> str:
        """What the work is called: the file it was saved as, else the photo opened."""
        shown = self.save_path or self.source_path
        return Path(shown).name if shown else "a pasted image"

    @property
    def size_wh(self) -> tuple[int, int]:
        return (int(self.mask.shape[1]), int(self.mask.shape[0]))


class AutosaveStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else state_dir()
        self._written_image_key: int | None = None

    @property
    def session_path(self) -> Path:
        return self.directory / SESSION

    def exists(self) -> bool:
        return self.session_path.exists()

    def write(self, state: AutosaveState) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        image_file = ""
        if state.image is not None:
            image_file = f"image-{state.image_key}.npy"
            if self._written_image_key != state.image_key or not (self.directory / image_file).exists():
                self._atomic(image_file, lambda fh: np.save(fh, state.image))
                self._written_image_key = state.image_key
        h, w = state.mask.shape
        meta = {"source_path": state.source_path, "saved_at": state.saved_at, "image_file": image_file,
                "width": w, "height": h, "save_path": state.save_path, "save_quality": state.save_quality}
        self._atomic(SESSION, lambda fh: np.savez_compressed(
            fh, mask=np.packbits(state.mask), sketch=state.sketch,
            protect=np.packbits(state.protect if state.protect is not None else np.zeros_like(state.mask)),
            opaque=np.packbits(state.opaque if state.opaque is not None else np.zeros_like(state.mask)),
            meta=np.frombuffer(json.dumps(meta).encode(), np.uint8)))
        for old in self.directory.glob("image-*.npy"):  # images no session names any more
            if old.name != image_file:
                old.unlink(missing_ok=True)

    def read(self) -> AutosaveState | None:
        """The saved state, or None when there is none or it cannot be read."""
        try:
            with np.load(self.session_path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                h, w = int(meta["height"]), int(meta["width"])
                mask = np.unpackbits(data["mask"], count=h * w).astype(bool).reshape(h, w)
                sketch = data["sketch"].astype(np.uint8)
                protect = (np.unpackbits(data["protect"], count=h * w).astype(bool).reshape(h, w)
                           if "protect" in data.files else None)  # sessions saved before it existed
                opaque = (np.unpackbits(data["opaque"], count=h * w).astype(bool).reshape(h, w)
                          if "opaque" in data.files else None)
            image = None
            if meta.get("image_file"):
                image = np.load(self.directory / meta["image_file"], allow_pickle=False)
                if image.shape != (h, w, 3) or image.dtype != np.uint8:
                    return None
            if sketch.shape != (h, w):
                return None
        except (OSError, ValueError, KeyError, EOFError):
            return None
        quality = meta.get("save_quality", "keep")
        if not (quality == "keep" or (isinstance(quality, int) and 1 <= quality <= 100)):
            quality = "keep"
        save_path = meta.get("save_path")
        return AutosaveState(meta.get("source_path"), mask, sketch, image, float(meta.get("saved_at", 0)),
                             protect=protect, save_path=save_path if isinstance(save_path, str) else None,
                             save_quality=quality, opaque=opaque)

    def clear(self) -> None:
        self.session_path.unlink(missing_ok=True)
        for old in self.directory.glob("image-*.npy"):
            old.unlink(missing_ok=True)
        self._written_image_key = None

    def _atomic(self, name: str, write) -> None:
        atomic_write(self.directory / name, write)

