"""Read gzip-compressed IDX files (the MNIST format), verifying everything before a byte is used."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from fashionlab.common.errors import DataError

MAGIC = {"images": 2051, "labels": 2049}  # 0x0803: uint8, 3 dims; 0x0801: uint8, 1 dim
HEADER_BYTES = {"images": 16, "labels": 8}
IMAGE_SIDE = 28
NUM_CLASSES = 10


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decompress(path: Path) -> bytes:
    """The whole decompressed content; a truncated or corrupt archive is a `DataError`."""
    try:
        compressed = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror}") from None
    try:
        return gzip.decompress(compressed)
    except EOFError:
        raise DataError(f"{path}: truncated gzip archive (ends before its end-of-stream marker)") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: corrupt gzip archive: {err}") from None


def parse_idx(raw: bytes, kind: str, where: str) -> np.ndarray:
    """Images as (n, 28, 28) uint8 or labels as (n,) uint8, after checking the header against the body."""
    header_bytes = HEADER_BYTES[kind]
    if len(raw) < header_bytes:
        raise DataError(f"{where}: expected an IDX header of {header_bytes} bytes, got {len(raw)} bytes")
    header = np.frombuffer(raw, dtype=">u4", count=header_bytes // 4)
    if int(header[0]) != MAGIC[kind]:
        raise DataError(f"{where}: expected IDX magic number {MAGIC[kind]} ({kind}), got {int(header[0])}")
    count = int(header[1])
    item_shape = (IMAGE_SIDE, IMAGE_SIDE) if kind == "images" else ()
    if kind == "images" and tuple(int(v) for v in header[2:]) != item_shape:
        raise DataError(f"{where}: expected 28x28 images, got {int(header[2])}x{int(header[3])}")
    item_bytes = int(np.prod(item_shape, dtype=np.int64))
    body = len(raw) - header_bytes
    if body != count * item_bytes:
        raise DataError(
            f"{where}: expected {count * item_bytes} data bytes for the {count} {kind} in the header, got {body} bytes"
        )
    array = np.frombuffer(raw, dtype=np.uint8, offset=header_bytes).reshape((count, *item_shape))
    if kind == "labels" and count and int(array.max()) >= NUM_CLASSES:
        bad = int(np.argmax(array >= NUM_CLASSES))
        raise DataError(f"{where}: expected labels in 0-9, got {int(array[bad])} at index {bad}")
    return array


def read_idx(path: Path, kind: str, *, sha256: str | None = None, gz_md5: str | None = None) -> tuple[np.ndarray, str]:
    """Decompress, parse and verify one IDX archive; return the array and the SHA-256 of its content.

    `sha256` checks the decompressed bytes (robust to recompression); `gz_md5` checks the archive itself,
    for datasets whose decompressed hash is not pinned.
    """
    if gz_md5 is not None:
        actual_md5 = md5_of(path) if path.exists() else None
        if actual_md5 is not None and actual_md5 != gz_md5:
            raise DataError(f"{path}: MD5 mismatch: expected {gz_md5}, got {actual_md5}")
    raw = decompress(path)
    array = parse_idx(raw, kind, str(path))
    actual = hashlib.sha256(raw).hexdigest()
    if sha256 is not None and actual != sha256:
        raise DataError(f"{path}: SHA-256 of the decompressed content mismatch: expected {sha256}, got {actual}")
    return array, actual
