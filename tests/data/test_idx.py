"""fashionlab.data.idx: IDX archives read and checked, one line for each kind of damage."""

import gzip
import hashlib

import numpy as np
import pytest

from fashionlab.common.errors import DataError
from fashionlab.data.idx import read_idx
from tests.conftest import idx_bytes, write_idx_gz

IMAGES = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
LABELS = np.array([0, 9, 4], dtype=np.uint8)


def test_valid_images_and_labels_round_trip(tmp_path):
    images, digest = read_idx(write_idx_gz(tmp_path / "i.gz", IMAGES), "images")
    labels, _ = read_idx(write_idx_gz(tmp_path / "l.gz", LABELS), "labels")
    np.testing.assert_array_equal(images, IMAGES)
    np.testing.assert_array_equal(labels, LABELS)
    assert images.dtype == np.uint8 and images.shape == (3, 28, 28)
    assert digest == hashlib.sha256(idx_bytes(IMAGES)).hexdigest()


def test_hash_of_decompressed_content_ignores_recompression(tmp_path):
    expected = hashlib.sha256(idx_bytes(LABELS)).hexdigest()
    path = tmp_path / "l.gz"
    path.write_bytes(gzip.compress(idx_bytes(LABELS), compresslevel=1, mtime=12345))
    _, digest = read_idx(path, "labels", sha256=expected)
    assert digest == expected


def test_wrong_hash(tmp_path):
    path = write_idx_gz(tmp_path / "l.gz", LABELS)
    with pytest.raises(
        DataError, match=rf"^{path}: SHA-256 of the decompressed content mismatch: expected 0+, got [0-9a-f]{{64}}$"
    ):
        read_idx(path, "labels", sha256="0" * 64)


def test_flipped_byte_is_caught_by_hash(tmp_path):
    raw = bytearray(idx_bytes(IMAGES))
    expected = hashlib.sha256(raw).hexdigest()
    raw[100] ^= 0xFF
    path = tmp_path / "i.gz"
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match=f"expected {expected}, got"):
        read_idx(path, "images", sha256=expected)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "i.gz"
    path.write_bytes(gzip.compress(idx_bytes(IMAGES))[:-20])
    with pytest.raises(DataError, match=rf"^{path}: truncated gzip archive"):
        read_idx(path, "images")


def test_not_gzip(tmp_path):
    path = tmp_path / "i.gz"
    path.write_bytes(idx_bytes(IMAGES))
    with pytest.raises(DataError, match=rf"^{path}: corrupt gzip archive"):
        read_idx(path, "images")


def test_wrong_magic(tmp_path):
    path = write_idx_gz(tmp_path / "i.gz", IMAGES, magic=2049)
    with pytest.raises(DataError, match=rf"^{path}: expected IDX magic number 2051 \(images\), got 2049$"):
        read_idx(path, "images")


def test_labels_read_as_images_is_wrong_magic(tmp_path):
    path = write_idx_gz(tmp_path / "l.gz", np.zeros(100, dtype=np.uint8))
    with pytest.raises(DataError, match="expected IDX magic number 2051"):
        read_idx(path, "images")


def test_count_mismatch(tmp_path):
    path = write_idx_gz(tmp_path / "l.gz", LABELS, count=4)
    with pytest.raises(
        DataError, match=rf"^{path}: expected 4 data bytes for the 4 labels in the header, got 3 bytes$"
    ):
        read_idx(path, "labels")


def test_label_out_of_range(tmp_path):
    path = write_idx_gz(tmp_path / "l.gz", np.array([1, 2, 10, 3], dtype=np.uint8))
    with pytest.raises(DataError, match=rf"^{path}: expected labels in 0-9, got 10 at index 2$"):
        read_idx(path, "labels")


def test_wrong_image_size(tmp_path):
    path = tmp_path / "i.gz"
    header = np.array([2051, 1, 32, 32], dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + bytes(32 * 32)))
    with pytest.raises(DataError, match="expected 28x28 images, got 32x32"):
        read_idx(path, "images")


def test_archive_md5_checked_when_given(tmp_path):
    path = write_idx_gz(tmp_path / "l.gz", LABELS)
    with pytest.raises(DataError, match=rf"^{path}: MD5 mismatch: expected f+, got [0-9a-f]{{32}}$"):
        read_idx(path, "labels", gz_md5="f" * 32)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.gz: file not found"):
        read_idx(tmp_path / "nope.gz", "labels")
