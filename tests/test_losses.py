"""Loss terms: values on hand-made inputs, which parts a weight switches, where gradients go."""

from __future__ import annotations

import pytest
import torch

from app.training.config import LossWeights
from app.training.losses import (
    composite,
    d_hinge_loss,
    feature_matching_loss,
    g_hinge_loss,
    generator_loss,
    l1_hole_valid,
    masked_l1,
)


def _mask(h: int = 8, w: int = 8) -> torch.Tensor:
    m = torch.zeros(1, 1, h, w)
    m[..., :2, :] = 1.0  # a quarter of the image is hole
    return m


def test_masked_l1_averages_over_its_region_only() -> None:
    target = torch.zeros(1, 3, 8, 8)
    pred = torch.zeros(1, 3, 8, 8)
    pred[..., :2, :] = 0.5  # error only inside the hole
    hole, valid = l1_hole_valid(pred, target, _mask())
    assert hole.item() == pytest.approx(0.5)  # not 0.5 * 1/4: normalised by the hole's size
    assert valid.item() == 0.0
    assert masked_l1(pred, target, torch.ones(1, 1, 8, 8)).item() == pytest.approx(0.125)


def test_hinge_losses() -> None:
    confident_real, confident_fake = torch.full((2, 1, 4, 4), 3.0), torch.full((2, 1, 4, 4), -3.0)
    assert d_hinge_loss(confident_real, confident_fake).item() == 0.0
    assert d_hinge_loss(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)).item() == pytest.approx(2.0)
    assert d_hinge_loss(confident_fake, confident_real).item() == pytest.approx(8.0)
    assert g_hinge_loss(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)


def test_feature_matching_moves_only_the_fake_side() -> None:
    real = [torch.randn(2, 4, 8, 8, requires_grad=True), torch.randn(2, 8, 4, 4, requires_grad=True)]
    fake = [r.detach().clone().requires_grad_(True) for r in real]
    assert feature_matching_loss(fake, real).item() == 0.0
    fake2 = [f.detach() + 1.0 for f in fake]
    for f in fake2:
        f.requires_grad_(True)
    loss = feature_matching_loss(fake2, real)
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    assert all(r.grad is None for r in real)
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in fake2)
    with pytest.raises(ValueError):
        feature_matching_loss(fake2[:1], real)


def test_generator_loss_is_the_weighted_sum_of_the_terms_given() -> None:
    torch.manual_seed(0)
    target = torch.rand(2, 3, 8, 8) * 2 - 1
    mask = _mask().expand(2, 1, 8, 8)
    coarse = torch.rand(2, 3, 8, 8, requires_grad=True)
    refined = torch.rand(2, 3, 8, 8, requires_grad=True)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def perceptual(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        seen.append((a.detach(), b.detach()))
        return (a - b).abs().mean(dim=(1, 2, 3))  # per-sample distances, like LPIPS

    w = LossWeights(l1_hole=2.0, l1_valid=0.5, perceptual=3.0, adv=0.1, fm=4.0)
    logits = torch.full((2, 1, 2, 2), 0.25)
    feats_f, feats_r = [torch.ones(2, 4, 2, 2)], [torch.zeros(2, 4, 2, 2)]
    total, parts = generator_loss(coarse=coarse, refined=refined, target=target, mask=mask, weights=w,
                                  perceptual_fn=perceptual, fake_logits=logits, fake_feats=feats_f, real_feats=feats_r)
    expected = (2.0 * parts["l1_hole"] + 0.5 * parts["l1_valid"] + 3.0 * parts["perceptual"]
                + 0.1 * parts["adv"] + 4.0 * parts["fm"])
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert parts["adv"].item() == pytest.approx(-0.25)
    assert parts["fm"].item() == pytest.approx(1.0)
    # the perceptual network judges the composited output: known pixels are the target's
    judged, ref = seen[0]
    assert torch.equal(judged[..., 2:, :], ref[..., 2:, :])
    torch.testing.assert_close(judged, composite(refined.detach(), target, mask))
    total.backward()
    assert coarse.grad is not None and refined.grad is not None

    # without D outputs or a perceptual net, those terms are absent, not zero-weighted noise
    total2, parts2 = generator_loss(coarse=coarse, refined=refined, target=target, mask=mask, weights=w)
    assert set(parts2) == {"l1_hole", "l1_valid", "g_total"}
    assert total2.item() == pytest.approx((2.0 * parts2["l1_hole"] + 0.5 * parts2["l1_valid"]).item(), rel=1e-6)


def test_perceptual_network_runs_in_fp32_under_autocast() -> None:
    dtypes: list[torch.dtype] = []

    def perceptual(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        dtypes.append(a.dtype)
        return (a - b).abs().mean()

    x = torch.rand(1, 3, 8, 8).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        generator_loss(coarse=x, refined=x, target=x.float(), mask=_mask(), weights=LossWeights(),
                       perceptual_fn=perceptual)
    assert dtypes == [torch.float32]


def test_attention_copy_loss_is_zero_for_a_perfect_copy_and_teaches_where_to_borrow():
    from app.training.losses import attention_copy_loss, token_descriptors

    torch.manual_seed(0)
    target = torch.rand(1, 3, 16, 16) * 2 - 1
    target[..., 0:8, 0:8] = target[..., 8:16, 8:16]  # token (0, 0) looks exactly like token (1, 1)
    hole = torch.zeros(1, 1, 2, 2)
    hole[..., 0, 0] = 1
    perfect = torch.zeros(1, 4, 4)
    perfect[0, 0, 3] = 1.0  # the hole token reads the key with its own truth
    assert float(attention_copy_loss(perfect, hole, target)) < 1e-6
    logits = torch.zeros(1, 4, 4, requires_grad=True)
    keys = torch.tensor([0.0, 1.0, 1.0, 1.0])  # the hole token itself is no key
    weights = torch.softmax(logits.masked_fill(keys == 0, float("-inf")), dim=-1)
    loss = attention_copy_loss(weights, hole, target)
    assert float(loss.detach()) > 0.01
    loss.backward()
    assert logits.grad[0, 0, 3] < 0  # raising the fitting key's score lowers the loss
    assert token_descriptors(target, (2, 2)).shape == (1, 4, 12)
    # the constant-temperature ablation's rows need not sum to one: judged the same way
    assert float(attention_copy_loss(perfect * 0.3, hole, target)) < 1e-6
