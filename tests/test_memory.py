"""The benchmark's CPU memory figure: the working memory of one block, not RSS growth."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from app.inference import memory
from app.inference.memory import PeakSampler


def _work(mb: int) -> float:
    """Hold `mb` MB for a while, as a forward pass holds its activations (the sampler reads
    every millisecond; a spike shorter than that can be missed)."""
    block = np.ones(mb * 2**20, np.uint8)  # written, so really allocated
    time.sleep(0.02)
    return float(block[::4096].sum())


@pytest.mark.skipif(memory._HEAP is None, reason="needs glibc's mallinfo2")
def test_peak_is_per_block_even_when_the_allocator_reuses_memory() -> None:
    readings = []
    for _ in range(3):  # the 2nd and 3rd reuse what the 1st freed: RSS would not grow
        with PeakSampler() as s:
            _work(64)
        readings.append(s.delta_mb)
    assert all(60 <= r <= 80 for r in readings), readings
    with PeakSampler() as s:
        _work(8)
    assert 6 <= s.delta_mb <= 20, s.delta_mb


def test_sampler_reports_the_peak_not_the_end_level() -> None:
    levels = itertools.chain([100, 100], [100 + 2**20 * 5] * 3, itertools.repeat(100))
    with PeakSampler(interval=0.0005, reader=lambda: next(levels)) as s:
        while s.peak < 100 + 2**20 * 5:
            pass
    assert s.delta_mb == pytest.approx(5.0)
