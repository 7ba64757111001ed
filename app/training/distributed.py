"""PyTorch DDP helpers: one process per device, started by `torchrun`.

`torchrun --nproc-per-node N main.py train ...` sets RANK / WORLD_SIZE / LOCAL_RANK /
MASTER_ADDR / MASTER_PORT; everything else here reads them. A plain `python main.py
train` is a world of one and never touches torch.distributed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, samples, config.json and progress."""
        return self.rank == 0


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group torchrun described, or return a world of one.

    gloo on the CPU, nccl on CUDA (the only backend that keeps gradients on the GPU).
    """
    world = env_world_size()
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank)


def local_device(device: torch.device, info: DistInfo) -> torch.device:
    """Each rank drives its own GPU; CPU ranks share the CPU."""
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


def max_int(value: int, info: DistInfo, device: torch.device) -> int:
    """The largest value over the ranks, on every rank: a stop request (Ctrl+C, a time limit)
    seen by one rank stops all at the same step, so none waits forever in a collective the
    others skipped."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


@torch.no_grad()
def param_checksums(module: torch.nn.Module, info: DistInfo, device: torch.device) -> list[float]:
    """Every rank's sum of |w| over `module`, gathered (a world of one gives one value).

    DDP keeps replicas identical by construction; a mismatch means a desync bug (a rank
    skipped a step or a collective), which this makes visible instead of silent.
    """
    total = torch.zeros(1, dtype=torch.float64, device=device)
    for p in module.parameters():
        total += p.detach().double().abs().sum()
    if not info.enabled:
        return [float(total.item())]
    gathered = [torch.zeros_like(total) for _ in range(info.world_size)]
    dist.all_gather(gathered, total)
    return [float(t.item()) for t in gathered]


def finish_together(info: DistInfo, timeout_s: float = 300.0) -> None:
    """Wait until every rank has finished all its collective work, before the process
    group is torn down.

    A gloo barrier can return on one rank while another is still completing it; if the
    first then destroys its side of the connections, the second (or the first, in gloo's
    C++ threads) aborts with "terminate called without an active exception". So after the
    barrier each rank checks in at the launcher's key-value store, which is not a gloo
    connection, and leaves only when all have checked in.
    """
    if not info.enabled:
        return
    dist.barrier()
    try:
        store = dist.distributed_c10d._get_default_store()
    except (AttributeError, RuntimeError, ValueError):
        return  # an older torch without the helper: the barrier alone
    key = "tempera/finished"
    store.add(key, 1)
    deadline = time.monotonic() + timeout_s
    while store.add(key, 0) < info.world_size and time.monotonic() < deadline:
        time.sleep(0.02)


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
