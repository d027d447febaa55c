"""Seeded, stratified splits of the training images, and the prepared arrays the later stages read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashionlab.common.outputs import npz_bytes, read_npz
from fashionlab.data.idx import NUM_CLASSES

SPLITS = ("train", "val", "test")


def stratified_sample(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of `size` items whose class proportions match `labels` as closely as integers allow.

    Quotas are rounded by largest remainder (ties to the lower class), so the sample size is exact.
    """
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    exact = counts * size / len(labels)
    quota = np.floor(exact).astype(np.int64)
    short = size - int(quota.sum())
    quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    chosen = [rng.permutation(np.flatnonzero(labels == c))[: quota[c]] for c in range(NUM_CLASSES)]
    return np.sort(np.concatenate(chosen))


def split_train(
    labels: np.ndarray, val_size: int, train_subset: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation splits, disjoint, both stratified and derived from `seed`."""
    rng = np.random.default_rng(seed)
    val = stratified_sample(labels, val_size, rng)
    rest = np.setdiff1d(np.arange(len(labels)), val, assume_unique=True)
    if train_subset is None:
        return rest, val
    return rest[stratified_sample(labels[rest], train_subset, rng)], val


def class_counts(labels: np.ndarray, class_names: tuple[str, ...]) -> dict[str, int]:
    return dict(zip(class_names, np.bincount(labels, minlength=NUM_CLASSES).tolist(), strict=True))


def split_path(folder: str | Path, split: str) -> Path:
    return Path(folder) / f"{split}.npz"


def split_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """A split as the `.npz` that `load_split` reads."""
    return npz_bytes({"images": images, "labels": labels})


def load_split(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) as uint8 arrays, from a file of `split_bytes`."""
    arrays = read_npz(path, ("images", "labels"))
    return arrays["images"], arrays["labels"]
