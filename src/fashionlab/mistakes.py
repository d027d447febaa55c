"""Pictures of what a model gets wrong, one PNG per true class, for `dvc plots diff` to set side by side."""

from __future__ import annotations

import re

import numpy as np

from fashionlab.backend import tf

COLUMNS, ROWS = 8, 2  # the first 16 misclassified images of each class, in test order
SCALE = 2  # 28-pixel images are too small to read in DVC's HTML report, which shows them at their size
GAP = 2  # white lines between the tiles; an empty slot (fewer mistakes than tiles) stays white too


def file_name(class_name: str) -> str:
    """A portable file name for a class ("T-shirt/top" → "t-shirt-top.png")."""
    return re.sub(r"[^a-z0-9]+", "-", class_name.lower()).strip("-") + ".png"


def mistake_grids(
    images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, class_names: tuple[str, ...]
) -> dict[str, bytes]:
    """{file name: PNG bytes}: per true class, a grid of its first misclassified images (uint8, N×H×W).

    Every class gets a file, even without mistakes, so two revisions always have the same set of images.
    """
    height, width = images.shape[1] * SCALE, images.shape[2] * SCALE
    grids = {}
    for k, name in enumerate(class_names):
        wrong = np.flatnonzero((labels == k) & (predictions != k))[: COLUMNS * ROWS]
        grid = np.full((ROWS * (height + GAP) + GAP, COLUMNS * (width + GAP) + GAP), 255, np.uint8)
        for slot, index in enumerate(wrong):
            top, left = GAP + (slot // COLUMNS) * (height + GAP), GAP + (slot % COLUMNS) * (width + GAP)
            grid[top : top + height, left : left + width] = images[index].repeat(SCALE, 0).repeat(SCALE, 1)
        grids[file_name(name)] = tf.io.encode_png(grid[..., np.newaxis]).numpy()
    return grids
