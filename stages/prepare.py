"""DVC stage `prepare`: verify the Fashion-MNIST archives and write the train / val / test splits."""

from pathlib import Path

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.outputs import json_bytes, write_files
from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.data.catalog import DATASETS
from fashionlab.data.download import locate_archives
from fashionlab.data.preparation import prepare_splits
from fashionlab.data.splits import SPLITS, split_bytes, split_path


def main(args, params):
    spec = DATASETS[params.data.dataset]
    archives = locate_archives(spec, params.data.source, Path(params.data.cache_dir))
    splits, sizes, record = prepare_splits(spec, archives, params.data.val_size, params.data.train_subset, params.seed)
    files = {split_path(args.out, split): split_bytes(*splits[split]) for split in SPLITS}
    write_files({**files, args.dataset: json_bytes(record), args.metrics: json_bytes(sizes)})
    print(", ".join(f"{split}: {size}" for split, size in sizes["sizes"].items()))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--out", default="data/prepared", help="folder for train.npz, val.npz, test.npz")
    parser.add_argument("--metrics", default="metrics/prepare.json", help="split sizes")
    parser.add_argument("--dataset", default="metrics/dataset.json", help="class counts and input hashes")
    run_stage(main, parser)
