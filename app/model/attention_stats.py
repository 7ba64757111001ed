"""How much the MTSA attention discriminates, measured on one forward pass's record.

Two numbers over the hole's query tokens (the tokens whose pooled cell touches the hole),
each query's attention row averaged over the heads:

* **effective keys** per query: ``exp(entropy)`` of the row, renormalised over the keys it
  may use (1 = it copies one source token; the number of valid keys = it blends them all
  evenly). Reported as the mean over the hole's queries (``attn_keys``).
* **distinct sources per hole token**: how many different source tokens are the strongest
  for some hole query, divided by the number of hole queries (``attn_distinct``; 1 = every
  hole token borrows from a place of its own, 1/N = the whole hole copies one token).

`evaluate` reports both per bucket and the attention viewer shows them for a click; both
call :func:`attention_stats` so the numbers mean the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from app.model.mtsa import AttentionRecord, masked_softmax, zero_score_softmax


@dataclass(frozen=True)
class AttentionStats:
    keys: float  # mean effective keys per hole query (attn_keys)
    distinct: float  # distinct strongest sources / hole queries (attn_distinct)
    sources: int  # the number of distinct strongest sources
    queries: int  # hole queries that had a valid key to attend to


def hole_queries(record: AttentionRecord, hole: torch.Tensor | None = None, batch: int = 0) -> torch.Tensor:
    """(N,) bool: the query tokens of the hole in the record's grid.

    Without ``hole`` these are the invalid keys (exact when nothing was protected: a key is
    invalid when its cell touches the hole). With ``hole`` (the (B, 1, H, W) mask the network
    ran with, 1 = hole), tokens that are invalid only because they were protected are left out."""
    queries = ~record.key_valid[batch]
    if hole is not None:
        plane = hole[batch : batch + 1].float().to(queries.device)
        queries = queries & (F.adaptive_max_pool2d(plane, record.grid).flatten() > 0.5)
    return queries


def attention_rows(record: AttentionRecord, queries: torch.Tensor, batch: int = 0) -> torch.Tensor:
    """(Nq, N) attention of the selected query tokens over all keys, averaged over heads,
    scored exactly as the layer scores them (learned or constant temperature)."""
    q = record.q[batch][:, queries]  # (heads, Nq, d)
    scores = q @ record.k[batch].transpose(-1, -2)  # (heads, Nq, N)
    valid = record.key_valid[batch][None, None, :]
    weights = zero_score_softmax(scores, valid) if record.constant else masked_softmax(scores, valid)
    return weights.float().mean(dim=0)


def effective_keys(rows: torch.Tensor) -> torch.Tensor:
    """``exp(entropy)`` of each row (last axis) after renormalising it to sum to one;
    0 for an all-zero row (a query with nothing to attend to)."""
    rows = rows.float().clamp_min(0)
    total = rows.sum(dim=-1, keepdim=True)
    p = rows / total.clamp_min(torch.finfo(rows.dtype).tiny)
    entropy = -(p * torch.log(p.clamp_min(torch.finfo(rows.dtype).tiny))).sum(dim=-1)
    return torch.where(total.squeeze(-1) > 0, torch.exp(entropy), torch.zeros_like(entropy))


def attention_stats(record: AttentionRecord, hole: torch.Tensor | None = None, batch: int = 0) -> AttentionStats | None:
    """The hole's effective keys and distinct-sources ratio; None when no hole query had a
    valid key (no hole, or nothing left to borrow from)."""
    rows = attention_rows(record, hole_queries(record, hole, batch), batch)
    rows = rows[rows.sum(dim=-1) > 0]
    if rows.shape[0] == 0:
        return None
    sources = int(torch.unique(rows.argmax(dim=-1)).numel())
    return AttentionStats(keys=float(effective_keys(rows).mean()), distinct=sources / rows.shape[0],
                          sources=sources, queries=int(rows.shape[0]))
