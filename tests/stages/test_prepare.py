"""stages/prepare.py: the stage on the real Debian files, and its answers to damaged ones."""

import gzip
import shutil

import numpy as np
import pytest

from fashionlab.data.catalog import FASHION_MNIST
from fashionlab.data.splits import load_split
from tests.conftest import DEBIAN_DIR, default_params, requires_debian_data, run_stage, snapshot, write_params

pytestmark = requires_debian_data


def _prepare(tmp_path, source, out="out", **data):
    params = default_params()
    params["data"].update(source=str(source), **data)
    path = write_params(tmp_path / "params.yaml", params)
    folder = tmp_path / out
    return run_stage(
        "prepare",
        *("--params", str(path), "--out", str(folder)),
        *("--metrics", str(folder / "m.json"), "--dataset", str(folder / "dataset.json")),
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prepared")
    first = _prepare(tmp, DEBIAN_DIR, out="first")
    second = _prepare(tmp, DEBIAN_DIR, out="second")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    return tmp


def test_real_data_split_sizes_and_stratification(prepared):
    splits = {name: load_split(prepared / "first" / f"{name}.npz") for name in ("train", "val", "test")}
    assert {name: len(labels) for name, (_, labels) in splits.items()} == {"train": 55000, "val": 5000, "test": 10000}
    assert np.bincount(splits["val"][1]).tolist() == [500] * 10
    assert np.bincount(splits["train"][1]).tolist() == [5500] * 10
    for images, _ in splits.values():
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
    # the validation images are carved from the training set: none of them is also in train
    train_rows = {row.tobytes() for row in splits["train"][0]}
    assert sum(row.tobytes() in train_rows for row in splits["val"][0]) < 10  # the dataset has a few duplicates


def test_two_runs_are_byte_identical(prepared):
    first, second = snapshot(prepared / "first"), snapshot(prepared / "second")
    assert first.keys() == second.keys() == {"train.npz", "val.npz", "test.npz", "m.json", "dataset.json"}
    assert first == second


def test_metrics_hold_the_sizes_and_the_record_names_input_hashes(prepared):
    import json

    assert json.loads((prepared / "first" / "m.json").read_text()) == {
        "sizes": {"train": 55000, "val": 5000, "test": 10000}
    }
    record = json.loads((prepared / "first" / "dataset.json").read_text())
    assert record["input_sha256"] == {f.name: f.raw_sha256 for f in FASHION_MNIST.files}
    assert record["class_counts"]["val"]["Ankle boot"] == 500


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-100])


def _flip_byte(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[5000] ^= 0x01
    path.write_bytes(gzip.compress(bytes(raw)))


def _rewrite_header(offset, value):
    def damage(path):
        raw = bytearray(gzip.decompress(path.read_bytes()))
        raw[offset : offset + 4] = int(value).to_bytes(4, "big")
        path.write_bytes(gzip.compress(bytes(raw)))

    return damage


def _label_out_of_range(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[8 + 17] = 11
    path.write_bytes(gzip.compress(bytes(raw)))


DAMAGE = {
    "truncated gzip": ("t10k-labels-idx1-ubyte.gz", _truncate, "truncated gzip archive"),
    "flipped byte": (
        "t10k-labels-idx1-ubyte.gz",
        _flip_byte,
        "SHA-256 of the decompressed content mismatch: "
        "expected 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34, got ",
    ),
    "wrong magic": (
        "t10k-labels-idx1-ubyte.gz",
        _rewrite_header(0, 2051),
        "expected IDX magic number 2049 (labels), got 2051",
    ),
    "count mismatch": (
        "t10k-labels-idx1-ubyte.gz",
        _rewrite_header(4, 9999),
        "expected 9999 data bytes for the 9999 labels in the header, got 10000 bytes",
    ),
    "label out of range": (
        "t10k-labels-idx1-ubyte.gz",
        _label_out_of_range,
        "expected labels in 0-9, got 11 at index 17",
    ),
}


@pytest.mark.parametrize("name, damage, message", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_archive_fails_with_one_line_and_keeps_previous_outputs(prepared, tmp_path, name, damage, message):
    source = tmp_path / "source"
    shutil.copytree(DEBIAN_DIR, source)
    out = tmp_path / "out"
    shutil.copytree(prepared / "first", out)
    before = snapshot(out)
    damage(source / name)
    result = _prepare(tmp_path, source)
    assert result.returncode == 1
    assert result.stderr.startswith(f"prepare.py: error: {source / name}: {message}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert snapshot(out) == before


def test_missing_source_folder(tmp_path):
    result = _prepare(tmp_path, tmp_path / "absent")
    assert result.returncode == 1
    assert result.stderr == (
        f"prepare.py: error: {tmp_path / 'absent'}: folder not found "
        "(data.source: expected auto, download or a folder)\n"
    )
