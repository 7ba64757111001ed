"""Regenerate resources/sample.jpg: a synthetic lake landscape with a red buoy and a pole
to remove. Procedural, so the sample carries no third-party licence.

    python resources/make_sample.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def fractal_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 6) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 2 ** (o + 2)
        small = rng.random((cells, max(2, cells * w // h))).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    return out / total


def ridge(rng: np.random.Generator, w: int, base: float, rough: float) -> np.ndarray:
    x = np.zeros(w, np.float32)
    amp = rough
    for o in range(7):
        n = 2 ** (o + 2)
        pts = rng.standard_normal(n + 1).astype(np.float32) * amp
        x += np.interp(np.linspace(0, n, w), np.arange(n + 1), pts).astype(np.float32)
        amp *= 0.55
    return base + x


def make(w: int = 1600, h: int = 1000, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    horizon = int(h * 0.62)
    sky_top, sky_low = np.array([70, 120, 200], np.float32), np.array([250, 205, 170], np.float32)
    t = np.clip(yy / 0.62, 0, 1)[..., None]
    img = (sky_top * (1 - t) + sky_low * t) * np.ones((h, w, 1), np.float32)
    clouds = np.clip((fractal_noise(rng, h, w) - 0.52) * 3.2, 0, 1)[..., None] * (1 - t) ** 0.5
    img = img * (1 - 0.7 * clouds) + 255 * 0.7 * clouds
    cols = np.arange(w)
    layers = [(0.40, 60, (120, 130, 165)), (0.50, 45, (80, 100, 110)), (0.58, 30, (45, 75, 60))]
    for base, rough, color in layers:
        top = ridge(rng, w, h * base, rough)
        shade = fractal_noise(rng, h, w, 5)[..., None]
        fill = (yy >= top[None, :] / h)[..., None] & (yy < horizon / h)[..., None]
        tone = np.array(color, np.float32) * (0.8 + 0.4 * shade)
        img = np.where(fill, tone, img)
    # Lake: blurred, darkened reflection of the scene above the horizon, with ripples.
    above = img[horizon - (h - horizon) : horizon][::-1]
    ripple = np.sin(np.arange(h - horizon, dtype=np.float32)[:, None] * 0.9 + rng.random((1, w)) * 2) * 3
    src_x = np.clip(cols[None, :] + ripple, 0, w - 1).astype(np.float32)
    src_y = np.repeat(np.arange(h - horizon, dtype=np.float32)[:, None], w, 1)
    refl = cv2.remap(above.astype(np.float32), src_x, src_y, cv2.INTER_LINEAR)
    refl = cv2.GaussianBlur(refl, (0, 0), 2.0) * 0.72 + np.array([10, 25, 45], np.float32)
    img[horizon:] = refl
    # Things to remove: a red buoy on the water and a dark pole.
    out = np.clip(img, 0, 255).astype(np.uint8)
    cv2.ellipse(out, (1050, 800), (34, 26), 0, 180, 360, (205, 35, 30), -1, cv2.LINE_AA)
    cv2.rectangle(out, (1016, 798), (1084, 812), (150, 25, 25), -1, cv2.LINE_AA)
    cv2.line(out, (1050, 775), (1050, 735), (40, 30, 30), 4, cv2.LINE_AA)
    cv2.line(out, (330, 380), (338, 900), (35, 28, 25), 9, cv2.LINE_AA)
    cv2.line(out, (300, 420), (370, 418), (35, 28, 25), 5, cv2.LINE_AA)
    grain = rng.normal(0, 2.5, out.shape).astype(np.float32)
    return np.clip(out.astype(np.float32) + grain, 0, 255).astype(np.uint8)


if __name__ == "__main__":
    path = Path(__file__).with_name("sample.jpg")
    cv2.imwrite(str(path), cv2.cvtColor(make(), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(path, path.stat().st_size // 1024, "KiB")
