"""Multi-process training as users start it: `torchrun ... main.py train` with two CPU
processes on the gloo backend. Checks that rank 0 alone wrote the run and that the two
replicas held identical weights when it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (72, 80, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return folder


def test_step_sampler_shards_epochs_and_resumes_mid_stream() -> None:
    from app.data.sampler import StepBatchSampler

    n, batch = 10, 3
    ranks = [list(StepBatchSampler(n, batch, seed=4, start_step=0, total_steps=6, rank=r, world_size=2))
             for r in range(2)]
    # each rank draws 5 items per epoch (batches run across epoch boundaries); within an
    # epoch the two ranks' items are disjoint and together cover the data set once
    for epoch in (0, 1):
        seen = [[i for b in ranks[r] for i, e in b if e == epoch] for r in range(2)]
        assert len(seen[0]) == len(seen[1]) == 5
        assert sorted(seen[0] + seen[1]) == list(range(n))
    assert all(len(b) == batch for b in ranks[0])
    # a resumed sampler yields exactly the rest of the stream
    tail = list(StepBatchSampler(n, batch, seed=4, start_step=4, total_steps=6, rank=1, world_size=2))
    assert tail == ranks[1][4:]
    # another seed, another order
    other = list(StepBatchSampler(n, batch, seed=5, start_step=0, total_steps=6, rank=0, world_size=2))
    assert other != ranks[0]


@pytest.mark.slow  # two torchrun processes
@pytest.mark.parametrize("entry", ["main.py", "tests/ddp_slow_save.py"])
def test_torchrun_two_cpu_processes(photos: Path, tmp_path: Path, entry: str) -> None:
    from app.inference.checkpoint import load_generator
    from app.model import InpaintGenerator, ModelConfig
    from app.training.distributed import DistInfo, param_checksums

    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TEMPERA_DEVICE": "cpu"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           str(ROOT / entry), "train", "--data", str(photos), "--out", str(run), "--image-size", "32",
           "--batch", "2", "--steps", "2", "--channels", "8", "--perceptual", "none", "--adv-start", "1",
           "--sample-every", "0", "--device", "cpu"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # rank 0 alone reports: one start line, not two
    assert proc.stderr.count("training on cpu x2") == 1, proc.stderr[-3000:]

    generator, info = load_generator(run / "mtsa.pt")
    meta = info["meta"]
    assert meta["steps"] == 2 and meta["batch"] == 4 and meta["images_seen"] == 8
    sums = meta["ddp_weight_checksums"]
    assert len(sums) == 2 and sums[0] == sums[1]

    # the checksum rank 0 reported is that of the generator it saved
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 2
    saved = InpaintGenerator(ModelConfig.from_dict(state["model_config"]))
    saved.load_state_dict(state["generator"])
    assert param_checksums(saved, DistInfo(), torch.device("cpu")) == [sums[0]]
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
