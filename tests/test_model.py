"""The MTSA network: masked softmax, temperatures, sizes, gradients, ablation, budget."""

from __future__ import annotations

import pytest
import torch

from app.model import MTSA, InpaintGenerator, ModelConfig, PatchDiscriminator, masked_softmax
from app.model.mtsa import zero_score_softmax


def _inputs(b=2, h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(b, 3, h, w, generator=g) * 2 - 1
    mask = torch.zeros(b, 1, h, w)
    mask[:, :, h // 4 : h // 2, w // 4 : 3 * w // 4] = 1
    return image, mask


def test_masked_softmax_sums_to_one_over_valid_keys_and_zero_on_holes():
    scores = torch.randn(3, 5, 7) * 20
    valid = torch.tensor([True, False, True, True, False, False, True])
    w = masked_softmax(scores, valid)
    assert torch.allclose(w.sum(-1), torch.ones(3, 5), atol=1e-6)
    assert torch.all(w[..., ~valid] == 0)
    assert torch.all(w[..., valid] > 0)


def test_masked_softmax_row_without_valid_key_is_zero_not_nan():
    w = masked_softmax(torch.randn(2, 4), torch.zeros(4, dtype=torch.bool))
    assert torch.all(w == 0)


def test_zero_score_masking_does_not_sum_to_one():
    # the flaw of contextual attention that the masked softmax fixes
    scores = torch.rand(4, 6)  # cosines in [0, 1]: hole keys keep a real share
    valid = torch.tensor([True, True, False, False, True, False])
    w = zero_score_softmax(scores, valid)
    assert torch.all(w[..., ~valid] == 0)
    assert torch.all(w.sum(-1) < 1.0 - 1e-3)


def test_mtsa_attention_puts_no_weight_on_hole_keys_and_sums_to_one():
    layer = MTSA(32, 4, max_tokens_side=8)
    feat = torch.randn(1, 32, 16, 16)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:10, 4:10] = 1
    rec = layer(feat, mask, record=True).record
    scores = rec.q @ rec.k.transpose(-1, -2)
    w = masked_softmax(scores, rec.key_valid[:, None, None, :])
    assert rec.grid == (8, 8)
    assert torch.allclose(w.sum(-1), torch.ones_like(w.sum(-1)), atol=1e-5)
    assert torch.all(w[..., ~rec.key_valid[0]] == 0)


def test_patch_scores_are_the_mean_of_aligned_token_cosines_with_keys_from_known_tokens():
    torch.manual_seed(1)
    layer = MTSA(8, 1, max_tokens_side=6, patch=3, constant=True)  # constant: tau = 10 everywhere
    feat = torch.randn(1, 8, 6, 6)
    mask = torch.zeros(1, 1, 6, 6)
    mask[..., 1:3, 1:4] = 1
    rec = layer(feat, mask, record=True).record
    q, k, _ = layer.qkv(feat).detach().chunk(3, dim=1)
    qn = torch.nn.functional.normalize(q[0], dim=0)
    kn = torch.nn.functional.normalize(k[0], dim=0) * (mask[0] < 0.5)  # hole tokens add nothing
    qi, ki = (2, 2), (4, 4)  # a hole query, a known key: a full 3 x 3 neighbourhood each
    aligned = [float(qn[:, qi[0] + dy, qi[1] + dx] @ kn[:, ki[0] + dy, ki[1] + dx])
               for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    score = rec.q[0, 0, qi[0] * 6 + qi[1]] @ rec.k[0, 0, ki[0] * 6 + ki[1]]
    assert torch.isclose(score, torch.tensor(10.0 * sum(aligned) / 9), atol=1e-5)
    with pytest.raises(ValueError):
        MTSA(8, 1, patch=2)


@pytest.mark.parametrize("patch", [1, 3])
def test_weights_path_equals_the_fused_path(patch):
    torch.manual_seed(0)
    layer = MTSA(16, 2, max_tokens_side=8, patch=patch)
    feat = torch.randn(2, 16, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., 2:5, 2:6] = 1
    fused = layer(feat, mask)
    explicit = layer(feat, mask, weights=True)
    assert fused.weights is None and explicit.weights.shape == (2, 64, 64)
    assert torch.allclose(fused.features, explicit.features, atol=1e-5)
    assert torch.equal(explicit.hole_grid, mask)
    assert torch.allclose(explicit.weights.sum(-1), torch.ones(2, 64), atol=1e-5)


def test_sdpa_path_equals_explicit_masked_softmax():
    torch.manual_seed(0)
    layer = MTSA(16, 2, max_tokens_side=8)
    feat = torch.randn(1, 16, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:5, 2:6] = 1
    res = layer(feat, mask, record=True)
    out, rec = res.features, res.record
    w = masked_softmax(rec.q @ rec.k.transpose(-1, -2), rec.key_valid[:, None, None, :])
    q, k, v = layer.qkv(feat).chunk(3, dim=1)
    v = v.reshape(1, 2, 8, 64).transpose(-1, -2)
    attended = (w @ v).transpose(-1, -2).reshape(1, 16, 8, 8)
    expected = feat + layer.gain * layer.proj(attended) * mask
    assert torch.allclose(out, expected, atol=1e-5)


def test_temperatures_stay_inside_bounds_even_for_extreme_features():
    cfg = ModelConfig(tau_min=2.0, tau_max=30.0, tau_init=10.0)
    layer = MTSA(48, 4, tau_min=cfg.tau_min, tau_max=cfg.tau_max, tau_init=cfg.tau_init)
    with torch.no_grad():
        for p in layer.temperature.parameters():
            p.mul_(1000.0)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:20, 8:20] = 1
    tau = layer(torch.randn(2, 48, 32, 32) * 100, mask).temperature
    assert tau.min() >= 2.0 and tau.max() <= 30.0


def test_temperature_starts_near_the_old_constant():
    layer = MTSA(48, 4)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:8, 4:8] = 1
    tau = layer(torch.randn(1, 48, 16, 16), mask).temperature
    assert abs(float(tau.mean()) - 10.0) < 1.5


def test_the_layer_keeps_no_state_and_records_only_when_asked():
    layer = MTSA(16, 2, max_tokens_side=8)
    before = set(vars(layer))
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:5, 2:6] = 1
    feat = torch.randn(1, 16, 8, 8)
    plain = layer(feat, mask)
    recorded = layer(feat, mask, record=True)
    assert plain.record is None and recorded.record is not None
    assert torch.equal(plain.features, recorded.features)
    assert torch.equal(recorded.record.temperature, recorded.temperature)
    assert set(vars(layer)) == before  # nothing was stored on the module


def test_generator_returns_the_attention_record_only_when_asked():
    g = InpaintGenerator(ModelConfig()).eval()
    image, mask = _inputs(b=1)
    with torch.no_grad():
        plain = g(image, mask, None, image)
        recorded = g(image, mask, None, image, record=True)
    assert plain.attention is None
    assert recorded.attention.grid == tuple(recorded.temperature.shape[-2:])
    assert torch.equal(plain.refined, recorded.refined)


def test_attention_tokens_are_capped_whatever_the_size():
    layer = MTSA(16, 2, max_tokens_side=32)
    assert layer.token_grid(1024, 768) == (32, 24)
    assert layer.token_grid(20, 12) == (20, 12)
    assert max(layer.token_grid(4000, 3000)) <= 32


@pytest.mark.parametrize("guided", [False, True])
def test_generator_shapes_and_range(guided):
    g = InpaintGenerator(ModelConfig(guided=guided))
    image, mask = _inputs(h=72, w=40)
    out = g(image, mask, torch.zeros_like(mask), image)
    assert out.coarse.shape == out.refined.shape == image.shape
    assert out.refined.min() >= -1 and out.refined.max() <= 1
    assert out.temperature.shape[:2] == (2, 4)


def test_generator_rejects_sizes_not_multiple_of_eight():
    g = InpaintGenerator(ModelConfig())
    image, mask = _inputs(h=70, w=40)
    with pytest.raises(ValueError, match="multiples of 8"):
        g(image, mask, None, image)


def test_gradients_reach_the_temperature_network():
    g = InpaintGenerator(ModelConfig())
    image, mask = _inputs()
    out = g(image, mask, None, image.flip(-1))
    (out.refined - image).abs().mean().backward()
    grads = [p.grad for p in g.mtsa.temperature.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert sum(float(gr.abs().sum()) for gr in grads) > 0


def test_ablation_switch_changes_the_computation():
    torch.manual_seed(0)
    learned = InpaintGenerator(ModelConfig())
    const = InpaintGenerator(ModelConfig(constant_temperature=True))
    const.load_state_dict(learned.state_dict())  # same weights: only the switch differs
    image, mask = _inputs()
    with torch.no_grad():
        a = learned(image, mask, None, image.flip(-1))
        b = const(image, mask, None, image.flip(-1))
    assert torch.all(b.temperature == 10.0)
    assert not torch.allclose(a.refined, b.refined)
    # and the constant path does not depend on the temperature network at all
    with torch.no_grad():
        for p in const.mtsa.temperature.parameters():
            p.add_(1.0)
        c = const(image, mask, None, image.flip(-1))
    assert torch.allclose(b.refined, c.refined)


def test_unguided_generator_ignores_sketch_and_guided_uses_it():
    torch.manual_seed(0)
    image, mask = _inputs(b=1)
    sketch = torch.zeros_like(mask)
    sketch[..., 20, 10:50] = 1
    for guided, should_differ in ((False, False), (True, True)):
        g = InpaintGenerator(ModelConfig(guided=guided))
        with torch.no_grad():
            a = g(image, mask, sketch, image).refined
            b = g(image, mask, None, image).refined
        assert (not torch.allclose(a, b)) == should_differ


def test_untrained_telea_prior_network_stays_close_to_the_prior():
    g = InpaintGenerator(ModelConfig())
    image, mask = _inputs()
    prior = torch.zeros_like(image)
    with torch.no_grad():
        out = g(image, mask, None, prior).refined
    hole = mask.expand_as(out) > 0
    assert float((out - prior)[hole].abs().mean()) < 0.1


def test_budget_at_512_is_under_25_gmacs():
    from torch.utils.flop_counter import FlopCounterMode

    g = InpaintGenerator(ModelConfig()).eval()
    image, mask = _inputs(b=1, h=512, w=512)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        g(image, mask, None, image)
    gmacs = counter.get_total_flops() / 2e9
    assert 5 < gmacs <= 25, gmacs


def test_discriminator_patch_output_and_features():
    d = PatchDiscriminator(5, 16)
    logits, feats = d(torch.randn(2, 5, 64, 64))
    assert logits.shape == (2, 1, 2, 2)
    assert len(feats) == 5


def test_config_round_trip_and_validation():
    cfg = ModelConfig(channels=8, heads=2, guided=True)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        ModelConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError):
        ModelConfig(tau_min=20.0, tau_init=10.0)
