"""Which photos make up each training step: a resumable, DDP-sharded batch sampler.

The batch of step `s` is a pure function of (seed, s, rank, world size): the index stream
is the concatenation of per-epoch `DistributedSampler` permutations (shuffle seeded by
`seed`, reshuffled with `set_epoch`), cut into batches. A resumed run therefore starts at
exactly the batch the interrupted run would have drawn next, without replaying data.
Each index is paired with its epoch: the data set keys a sample's crop, mask and sketch
to (seed, epoch, index), so they do not depend on which DataLoader worker drew them.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import DistributedSampler, Sampler


class _Sized:
    """DistributedSampler only needs len() of the data set."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields, for steps `start_step .. total_steps-1`, a list of (index, epoch)."""

    def __init__(self, n_items: int, batch: int, *, seed: int, start_step: int, total_steps: int,
                 rank: int = 0, world_size: int = 1) -> None:
        if n_items < 1:
            raise ValueError("no training images")
        self.n_items = n_items
        self.batch = batch
        self.seed = seed
        self.start_step = start_step
        self.total_steps = total_steps
        self.rank = rank
        self.world_size = world_size
        # drop_last=False pads by repeating, so every rank sees the same number of items
        self._dist = DistributedSampler(_Sized(n_items), num_replicas=world_size, rank=rank,
                                        shuffle=True, seed=seed, drop_last=False)
        self._per_epoch = len(self._dist)

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def _epoch_indices(self, epoch: int) -> list[int]:
        self._dist.set_epoch(epoch)
        return list(iter(self._dist))

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        cache: dict[int, list[int]] = {}
        for step in range(self.start_step, self.total_steps):
            first = step * self.batch
            batch: list[tuple[int, int]] = []
            epoch, pos = divmod(first, self._per_epoch)
            while len(batch) < self.batch:
                if epoch not in cache:
                    cache.clear()  # one epoch's permutation at a time
                    cache[epoch] = self._epoch_indices(epoch)
                for i in cache[epoch][pos:pos + self.batch - len(batch)]:
                    batch.append((i, epoch))
                epoch, pos = epoch + 1, 0
            yield batch
