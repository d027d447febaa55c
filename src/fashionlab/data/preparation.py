"""Turn the four verified IDX archives into the train / validation / test splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fashionlab.common.errors import DataError
from fashionlab.data.catalog import DatasetSpec, IdxFile
from fashionlab.data.idx import read_idx
from fashionlab.data.splits import class_counts, split_train


def read_archive(path: Path, file: IdxFile) -> tuple[np.ndarray, str]:
    """Verify by the decompressed SHA-256 where it is pinned, else by the published archive MD5."""
    gz_md5 = None if file.raw_sha256 else file.gz_md5
    array, sha256 = read_idx(path, file.kind, sha256=file.raw_sha256, gz_md5=gz_md5)
    if len(array) != file.count:
        raise DataError(f"{path}: expected {file.count} {file.kind}, got {len(array)}")
    return array, sha256


@dataclass(frozen=True)
class Archives:
    """The dataset's four files, verified and decoded: read once, then split for as many seeds as needed."""

    spec: DatasetSpec
    arrays: dict[str, np.ndarray]  # by file name
    sha256: dict[str, str]  # of each file's decompressed bytes, by file name


def read_archives(spec: DatasetSpec, archives: dict[str, Path]) -> Archives:
    arrays, hashes = {}, {}
    for file in spec.files:
        arrays[file.name], hashes[file.name] = read_archive(archives[file.name], file)
    for images, labels in ((spec.train_images, spec.train_labels), (spec.test_images, spec.test_labels)):
        if len(arrays[images.name]) != len(arrays[labels.name]):
            raise DataError(
                f"{archives[labels.name]}: expected as many labels as {images.name} has images "
                f"({len(arrays[images.name])}), got {len(arrays[labels.name])}"
            )
    return Archives(spec, arrays, hashes)


def prepare_splits(
    archives: Archives, val_size: int, train_subset: int | None, seed: int
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict, dict]:
    """Return {split: (images, labels)}, their sizes (the metric), and the dataset's record: class counts
    per split and the SHA-256 of each input, which tells whether two runs saw the same test images."""
    spec, arrays = archives.spec, archives.arrays
    train_x, train_y = arrays[spec.train_images.name], arrays[spec.train_labels.name]
    train_idx, val_idx = split_train(train_y, val_size, train_subset, seed)
    splits = {
        "train": (train_x[train_idx], train_y[train_idx]),
        "val": (train_x[val_idx], train_y[val_idx]),
        "test": (arrays[spec.test_images.name], arrays[spec.test_labels.name]),
    }
    sizes = {"sizes": {name: len(labels) for name, (_, labels) in splits.items()}}
    record = {
        "dataset": spec.name,
        "class_counts": {name: class_counts(labels, spec.class_names) for name, (_, labels) in splits.items()},
        "input_sha256": archives.sha256,
    }
    return splits, sizes, record
