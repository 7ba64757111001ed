"""The guide of the patch search along sketch strokes: the main colours of its crop.

A stroke says where one area ends and the next begins, and the guided network's fill says
which colours lie on each side. The library compares a guide value of each hole pixel with
that of its source, at the patch's centre only (``patchmatch._guide_map``). A guide that is
the network's colour itself matches a smooth fill against the photo's fine-grained colour
pixel by pixel: the sources scatter, their votes average, and grass or sand came out as a
smear; over a horizon, grains of sand were copied into the sky. So the guide is quantised.
The crop's colours, blurred by GROUP_BLUR, are grouped by k-means in Lab (at most GROUPS;
centres closer than MERGE_DE are one group), and each pixel's guide is its group's place in
a plane that keeps the distances between the groups. Within a group the search is free;
from one group to another it pays as much as their colours differ, lightness included.
Measured in docs/RESULTS.md ("The stroke search's guide in colour groups").
"""

from __future__ import annotations

import cv2
import numpy as np

from .patchmatch import GUIDE_MAX

GROUPS = 5  # k-means centres, before the close ones are merged
MERGE_DE = 12.0  # Lab units: centres closer than this are one group (grass in light and shade)
GROUP_BLUR = 4.0  # px at a 256-px short side: colours of areas, not of blades and grains
SAMPLE_SIDE = 96  # px: the k-means sees the crop at this size at most
LAB_UNIT = GUIDE_MAX / 255.0  # the map's units per Lab unit, as the chroma guide's


def _smooth_lab(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` (uint8 RGB) blurred by ``sigma`` px, in float Lab (L 0-100), at a reduced
    size where the blur is wide (its labels are enlarged again; same areas, far less work)."""
    h, w = image.shape[:2]
    f = max(1.0, sigma / 2.0)
    small = image.astype(np.float32) / 255.0
    if f > 1.0:
        small = cv2.resize(small, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return cv2.cvtColor(small, cv2.COLOR_RGB2LAB)


def _groups(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means centres of ``lab``'s colours and how they merge into groups: (the centres,
    the group of each, each group's Lab colour weighted by the pixels its centres hold)."""
    h, w = lab.shape[:2]
    f = max(1.0, max(h, w) / SAMPLE_SIDE)
    sample = cv2.resize(lab, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    sample = np.ascontiguousarray(sample.reshape(-1, 3), np.float32)
    k = min(GROUPS, len(sample))
    cv2.setRNGSeed(0)  # the same groups, so the same fill, for the same photo and seed
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, owner, centres = cv2.kmeans(sample, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    parent = list(range(k))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(k):
        for j in range(i + 1, k):
            if np.linalg.norm(centres[i] - centres[j]) < MERGE_DE:
                parent[root(i)] = root(j)
    roots = sorted({root(i) for i in range(k)})
    group_of = np.array([roots.index(root(i)) for i in range(k)])
    held = np.bincount(owner.ravel(), minlength=k).astype(np.float64) + 1e-9
    colours = np.stack([np.average(centres[group_of == g], axis=0, weights=held[group_of == g])
                        for g in range(len(roots))])
    return centres, group_of, colours


def _plane(colours: np.ndarray) -> np.ndarray:
    """Each group's place in a plane (its two main directions in Lab), in the map's units,
    every coordinate in [0, GUIDE_MAX]: the library's distance wraps above 0.5."""
    points = np.zeros((len(colours), 2))
    if len(colours) > 1:
        centred = colours - colours.mean(0)
        axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
        p = centred @ axes.T
        points[:, : p.shape[1]] = p
        points -= points.min(0)
    extent = float(points.max())
    return points * (min(LAB_UNIT, GUIDE_MAX / extent) if extent > 0 else LAB_UNIT)


def group_map(image: np.ndarray, scale: float) -> np.ndarray:
    """The search's guide for a crop ``image`` (uint8 RGB: the network's fill in the hole,
    the photo around it) whose photo has ``scale`` times a 256-px short side: an HxWx3
    float32 map in the library's units (the third channel unused, 0)."""
    lab = _smooth_lab(image, max(1.0, GROUP_BLUR * scale))
    centres, group_of, colours = _groups(lab)
    nearest = ((lab[:, :, None, :] - centres[None, None]) ** 2).sum(-1).argmin(-1)
    labels = group_of[nearest].astype(np.uint8)
    h, w = image.shape[:2]
    if labels.shape != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    out = np.zeros((h, w, 3), np.float32)
    out[..., :2] = _plane(colours)[labels]
    return out
