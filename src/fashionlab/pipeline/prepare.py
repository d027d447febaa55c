"""The `prepare` stage: the dataset's archives verified and split into train / validation / test, as files."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fashionlab.common.outputs import json_bytes
from fashionlab.common.params import Params
from fashionlab.data.catalog import DATASETS
from fashionlab.data.download import locate_archives
from fashionlab.data.preparation import Archives, prepare_splits, read_archives
from fashionlab.data.splits import SPLITS, split_bytes, split_path
from fashionlab.pipeline import layout


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=layout.PREPARED, help="folder for train.npz, val.npz, test.npz")
    parser.add_argument("--metrics", default=layout.PREPARE_METRICS, help="split sizes")
    parser.add_argument("--dataset", default=layout.DATASET, help="class counts and input hashes")


def archives(params: Params) -> Archives:
    """The dataset's four files, from where `data.source` says, verified by their checksums."""
    spec = DATASETS[params.data.dataset]
    return read_archives(spec, locate_archives(spec, params.data.source, Path(params.data.cache_dir)))


@dataclass(frozen=True)
class Prepared:
    files: dict[Path, bytes]
    splits: dict[str, tuple[np.ndarray, np.ndarray]]  # (images, labels) by split
    sizes: dict[str, int]


def prepare(args: argparse.Namespace, params: Params, read: Archives) -> Prepared:
    splits, sizes, record = prepare_splits(read, params.data.val_size, params.data.train_subset, params.seed)
    files = {split_path(args.out, split): split_bytes(*splits[split]) for split in SPLITS}
    files |= {Path(args.dataset): json_bytes(record), Path(args.metrics): json_bytes(sizes)}
    return Prepared(files, splits, sizes["sizes"])
