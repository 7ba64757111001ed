"""Pure evaluation metrics (numpy + OpenCV): PSNR, SSIM, L1, FID, KID, edge alignment.

Images are uint8 RGB (H, W, 3) unless stated; masks bool (H, W), True = hole. The
network-based distances (ST-LPIPS, Inception features) live in ``perceptual.py``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

SSIM_WINDOW = 11  # Wang et al. 2004: 11 x 11 Gaussian, sigma 1.5, K1 0.01, K2 0.03
SSIM_SIGMA = 1.5


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB (over ``mask`` pixels if given); ``inf`` when equal."""
    _check_pair(a, b)
    d = a.astype(np.float64) - b.astype(np.float64)
    if mask is not None:
        d = d[mask]
        if d.size == 0:
            return math.inf
    mse = float(np.mean(d * d))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Mean Gaussian SSIM over channels; the window's border (5 px) is left out as in
    the reference implementation. Exactly 1.0 for identical images."""
    _check_pair(a, b)
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        out = cv2.GaussianBlur(z, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)
        return out.reshape(z.shape)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    smap = num / den
    r = SSIM_WINDOW // 2
    if smap.shape[0] > 2 * r and smap.shape[1] > 2 * r:
        smap = smap[r:-r, r:-r]
    return float(smap.mean())


def l1(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute error in [0, 1] units (over ``mask`` pixels if given)."""
    _check_pair(a, b)
    d = np.abs(a.astype(np.float64) - b.astype(np.float64)) / 255.0
    if mask is not None:
        d = d[mask]
        if d.size == 0:
            return 0.0
    return float(d.mean())


# ----------------------------------------------------------------------------- distributions
def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """||mu1-mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2), with tr((S1 S2)^1/2) computed as
    tr((S1^1/2 S2 S1^1/2)^1/2): the same eigenvalues, but a symmetric PSD matrix, so an
    eigendecomposition is exact and stable (no scipy.linalg.sqrtm, no complex parts)."""
    r1 = _sqrtm_psd(s1)
    inner = r1 @ s2 @ r1
    w = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(w, 0, None)).sum())
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt, 0.0))


def fid(feats_real: np.ndarray, feats_fake: np.ndarray) -> float:
    """FID between two feature sets (N, D). Needs N >= 2 each; with N <= D the
    covariances are rank-deficient, so compare values only at equal N."""
    a = np.asarray(feats_real, np.float64)
    b = np.asarray(feats_fake, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("FID needs at least 2 samples per set")
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def kid(
    feats_real: np.ndarray,
    feats_fake: np.ndarray,
    *,
    subset_size: int = 1000,
    n_subsets: int = 100,
    seed: int = 0,
) -> float:
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic
    polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets. When both
    sets are no larger than ``subset_size`` the full sets are used once (no sampling)."""
    x = np.asarray(feats_real, np.float64)
    y = np.asarray(feats_fake, np.float64)
    if len(x) < 2 or len(y) < 2:
        raise ValueError("KID needs at least 2 samples per set")
    d = x.shape[1]

    def mmd(a: np.ndarray, b: np.ndarray) -> float:
        m, n = len(a), len(b)
        kaa = (a @ a.T / d + 1) ** 3
        kbb = (b @ b.T / d + 1) ** 3
        kab = (a @ b.T / d + 1) ** 3
        return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                     - 2 * kab.mean())

    if len(x) <= subset_size and len(y) <= subset_size:
        return mmd(x, y)
    rng = np.random.default_rng(seed)
    m = min(len(x), len(y), subset_size)
    vals = [mmd(x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)])
            for _ in range(n_subsets)]
    return float(np.mean(vals))


def paired_kid(feats_real: np.ndarray, feats_fake: np.ndarray, truth: np.ndarray) -> float:
    """KID for fills paired with their own ground truths (what inpainting evaluation has).

    ``feats_real`` (M, D) holds each distinct ground-truth image once; ``feats_fake`` (N, D)
    the fills, and ``truth[i]`` the row of ``feats_real`` that fill ``i`` was cut from. The
    unbiased MMD^2 with the cubic kernel, except that the cross term leaves out each fill's
    own truth (a fill shares every known pixel with it, so including that pair rewards
    closeness to the one photo rather than realism) and, for the same reason, the term
    within the fills leaves out pairs of fills cut from the same photo (several holes per
    photo: ``--per-bucket`` > 1 or several mask kinds), as the term within the reals has
    each photo once. Needs M >= 2 and fills from at least 2 photos; an engine that returns
    the originals scores 0 however many holes each photo has."""
    if len(feats_real) < 2 or len(feats_fake) < 2:
        raise ValueError("KID needs at least 2 samples per set")
    x, y, truth = _paired_inputs(feats_real, feats_fake, truth)
    if len(np.unique(truth)) < 2:
        raise ValueError("KID needs fills from at least 2 photos")
    return _paired_mmd(*_cubic_kernels(x, y), truth)


def _paired_inputs(feats_real, feats_fake, truth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The features as float64 and ``truth`` as ints, checked to give each fill's row in
    ``feats_real``."""
    x = np.asarray(feats_real, np.float64)
    y = np.asarray(feats_fake, np.float64)
    truth = np.asarray(truth, int)
    if truth.shape != (len(y),) or truth.min() < 0 or truth.max() >= len(x):
        raise ValueError("truth must give each fill's row in feats_real")
    return x, y, truth


def _cubic_kernels(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KID's kernel k(a, b) = (a.b / d + 1)^3 within the reals, within the fills, and between
    them (M, N)."""
    d = x.shape[1]
    return (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3


def _paired_mmd(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray, truth: np.ndarray) -> float:
    """The unbiased MMD^2 of :func:`paired_kid` from its kernel matrices."""
    m = len(kxx)
    keep = truth[None, :] != np.arange(m)[:, None]  # cross term: not a fill with its own truth
    apart = truth[:, None] != truth[None, :]  # within the fills: not two fills of one photo
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + kyy[apart].mean() - 2 * kxy[keep].mean())


KID_SE_MIN_PHOTOS = 3  # a jackknife over photos needs two left after one is left out


def paired_kid_se(feats_real: np.ndarray, feats_fake: np.ndarray, truth: np.ndarray) -> float:
    """Standard error of :func:`paired_kid`, by the jackknife over photos: the KID is
    recomputed with each photo left out (its ground truth and every fill cut from it) and
    the spread of those values scaled as the jackknife does. A bucket of 24 fills gives a
    KID whose noise is often as large as the gaps between engines; this says how large.
    Needs at least :data:`KID_SE_MIN_PHOTOS` photos."""
    m = len(feats_real)
    if m < KID_SE_MIN_PHOTOS:
        raise ValueError(f"a KID standard error needs at least {KID_SE_MIN_PHOTOS} photos")
    x, y, truth = _paired_inputs(feats_real, feats_fake, truth)
    kxx, kyy, kxy = _cubic_kernels(x, y)  # once: each leave-one-out KID is a sub-matrix of these
    values = []
    for p in range(m):
        keep = np.flatnonzero(truth != p)
        if len(np.unique(truth[keep])) < 2:
            continue
        rows = np.delete(np.arange(m), p)
        renumber = np.full(m, -1)
        renumber[rows] = np.arange(m - 1)
        values.append(_paired_mmd(kxx[np.ix_(rows, rows)], kyy[np.ix_(keep, keep)], kxy[np.ix_(rows, keep)],
                                  renumber[truth[keep]]))
    n = len(values)
    if n < 2:
        raise ValueError("a KID standard error needs fills from at least 2 photos")
    v = np.asarray(values)
    return float(np.sqrt((n - 1) / n * ((v - v.mean()) ** 2).sum()))


# ----------------------------------------------------------------------------- sketches
def edge_alignment(
    edges: np.ndarray, strokes: np.ndarray, mask: np.ndarray | None = None, tol: float = 2.0
) -> dict[str, float]:
    """Precision / recall / F1 of ``edges`` against ``strokes`` (both bool or uint8 maps)
    within ``tol`` pixels, counted inside ``mask``. Precision: share of edge pixels near
    a stroke; recall: share of stroke pixels near an edge. NaN where undefined."""
    e = np.asarray(edges) > 0
    s = np.asarray(strokes) > 0
    _check_pair(e, s)
    if mask is not None:
        e = e & mask
        s = s & mask

    def dist_to(z: np.ndarray) -> np.ndarray:
        if not z.any():
            return np.full(z.shape, np.inf, np.float32)
        return cv2.distanceTransform((~z).astype(np.uint8), cv2.DIST_L2, 3)

    n_e, n_s = int(e.sum()), int(s.sum())
    precision = float((dist_to(s)[e] <= tol).mean()) if n_e else math.nan
    recall = float((dist_to(e)[s] <= tol).mean()) if n_s else math.nan
    if n_s == 0:
        f1 = math.nan
    elif n_e == 0 or precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1}
