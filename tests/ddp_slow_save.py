"""`main.py` with rank 0's checkpoint writes slowed down, as on a busy or network disk:
the other rank then reaches the end of training first, which is when a process-group
teardown race shows (tests/test_ddp.py starts this under torchrun)."""

import os
import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.training.loop as loop  # noqa: E402

_save = loop.Trainer.save


def _slow_save(self, *args, **kwargs):
    path = _save(self, *args, **kwargs)
    if self.is_main:
        time.sleep(float(os.environ.get("TEMPERA_TEST_SAVE_DELAY", "1.5")))
    return path


loop.Trainer.save = _slow_save
sys.argv = [str(ROOT / "main.py"), *sys.argv[1:]]
runpy.run_path(str(ROOT / "main.py"), run_name="__main__")
