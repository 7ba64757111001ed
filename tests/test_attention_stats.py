"""Attention statistics (effective keys, distinct sources per hole token): on records built by
hand, through explain() and through evaluate's rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.model.attention_stats import attention_stats, effective_keys, hole_queries
from app.model.mtsa import AttentionRecord


def _record(q: torch.Tensor, k: torch.Tensor, key_valid: torch.Tensor, grid: tuple[int, int],
            constant: bool = False) -> AttentionRecord:
    """One image, ``q`` and ``k`` as (heads, N, d)."""
    tau = torch.ones(1, q.shape[0], *grid)
    return AttentionRecord(q[None], k[None], key_valid[None], tau, grid, constant)


def _grid_4x4(hole_tokens: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    n = 16
    key_valid = torch.ones(n, dtype=torch.bool)
    key_valid[hole_tokens] = False
    return key_valid, torch.eye(n)  # token j's key is the j-th unit vector


@pytest.mark.parametrize("constant", [False, True])
def test_one_hot_rows_to_distinct_keys(constant: bool) -> None:
    hole = [5, 6, 9, 10]
    key_valid, basis = _grid_4x4(hole)
    sources = [0, 3, 12, 15]  # each hole token points hard at a different known token
    q = torch.zeros(16, 16)
    for token, src in zip(hole, sources, strict=True):
        q[token] = 1000.0 * basis[src]
    stats = attention_stats(_record(q[None], basis[None], key_valid, (4, 4), constant))
    assert stats is not None and stats.queries == 4 and stats.sources == 4
    assert stats.distinct == 1.0
    assert stats.keys == pytest.approx(1.0, abs=1e-4)


def test_collapsed_rows_borrow_from_one_token() -> None:
    hole = [5, 6, 9, 10]
    key_valid, basis = _grid_4x4(hole)
    q = torch.zeros(16, 16)
    q[hole] = 1000.0 * basis[0]  # the whole hole copies token 0
    stats = attention_stats(_record(q[None], basis[None], key_valid, (4, 4)))
    assert stats is not None and stats.sources == 1 and stats.distinct == pytest.approx(1 / 4)
    assert stats.keys == pytest.approx(1.0, abs=1e-4)


def test_uniform_rows_count_every_valid_key() -> None:
    hole = [5, 6, 9, 10]
    key_valid, basis = _grid_4x4(hole)
    q = torch.zeros(2, 16, 16)  # zero queries: every valid key scores the same, in both heads
    stats = attention_stats(_record(q, basis[None].expand(2, -1, -1), key_valid, (4, 4)))
    assert stats is not None and stats.keys == pytest.approx(16 - len(hole), rel=1e-5)


def test_the_constant_ablation_is_renormalised_over_valid_keys() -> None:
    # DeepFill's masking leaves rows summing to less than one; the spread is still over 12 keys
    hole = [5, 6, 9, 10]
    key_valid, basis = _grid_4x4(hole)
    stats = attention_stats(_record(torch.zeros(1, 16, 16), basis[None], key_valid, (4, 4), constant=True))
    assert stats is not None and stats.keys == pytest.approx(12, rel=1e-5)


def test_effective_keys_of_rows() -> None:
    rows = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]])
    assert effective_keys(rows).tolist() == pytest.approx([2.0, 0.0, 1.0])


def test_no_valid_key_gives_no_stats() -> None:
    key_valid = torch.zeros(4, dtype=torch.bool)
    assert attention_stats(_record(torch.zeros(1, 4, 4), torch.eye(4)[None], key_valid, (2, 2))) is None


def test_protected_tokens_are_not_hole_queries() -> None:
    key_valid, basis = _grid_4x4([0, 15])  # token 0 is in the hole, token 15 only protected
    record = _record(torch.zeros(1, 16, 16), basis[None], key_valid, (4, 4))
    hole = torch.zeros(1, 1, 8, 8)
    hole[..., :2, :2] = 1  # the cell of token 0
    assert hole_queries(record).nonzero().flatten().tolist() == [0, 15]
    assert hole_queries(record, hole).nonzero().flatten().tolist() == [0]


@pytest.fixture(scope="module")
def generator():
    from app.model import InpaintGenerator, ModelConfig

    torch.manual_seed(0)
    return InpaintGenerator(ModelConfig(channels=8, heads=2)).eval()


def test_explain_reports_the_click_and_the_hole(generator) -> None:
    from app.inference.predict import attention_record, explain

    rng = np.random.default_rng(0)
    rgb = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[16:40, 20:44] = True
    result = explain(generator, rgb, mask, None, (30, 30))
    assert {"attention", "temperature", "grid"} <= set(result)  # the maps stay as they were
    n_valid = int(attention_record(generator, rgb, mask).key_valid.sum())
    assert 1.0 <= result["attn_keys"] <= n_valid
    assert 0.0 < result["attn_distinct"] <= 1.0
    # the same numbers as the statistics of that forward pass (one definition)
    stats = attention_stats(attention_record(generator, rgb, mask))
    assert result["attn_distinct"] == pytest.approx(stats.distinct)


def test_evaluate_rows_carry_attention_for_network_engines_only(generator, tmp_path) -> None:
    from PIL import Image

    from app.core.fill_result import FillResult
    from app.evaluation import evaluate as ev
    from app.inference.engines import NetworkEngine

    folder = tmp_path / "holdout"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(folder / f"p{i}.png")
    images = ev.load_eval_images(folder, crop=32)
    cases = ev.build_cases(images, per_bucket=1)
    network = NetworkEngine("mtsa", generator, torch.device("cpu"))
    classical = type("Flat", (), {"name": "flat", "guided": False})()
    classical.fill = lambda rgb, mask, sketch=None: FillResult(rgb, "flat")
    res = ev.evaluate(images, cases, ev.variants_for([network, classical], False))
    rows = {(r["engine"], r["bucket"]): r for r in res.rows}
    for bucket in ("10-20", "50-60", "all"):
        r = rows[("mtsa", bucket)]
        assert r["attn_keys"] >= 1.0 and 0.0 < r["attn_distinct"] <= 1.0
        assert "attn_keys" not in rows[("flat", bucket)] and "attn_distinct" not in rows[("flat", bucket)]
    data = ev.json_rows(res.rows)
    assert {"attn_keys", "attn_distinct"} <= set(data[0]) and not {"attn_keys", "attn_distinct"} & set(data[-1])
    table = ev.markdown_table(res.rows)
    assert "eff. keys" in table and "distinct src" in table
    flat_all = next(line for line in table.splitlines() if line.startswith("| flat | all |"))
    assert flat_all.split("|")[-4:-2] == [" - ", " - "]
    assert all(math.isfinite(r["attn_keys"]) for r in data[:6])
