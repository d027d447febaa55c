"""A run's per-image test predictions, `metrics/confusion.csv`, parsed into class indices.

The file `evaluate` writes is read without a loop over its rows, since a group of seeds reads one per run;
anything else goes through a strict CSV reader that names the first line that is wrong.
"""

from __future__ import annotations

import csv
import functools
import io

import numpy as np

from fashionlab.common.errors import RevisionError
from fashionlab.pipeline.layout import PREDICTIONS

COLUMNS = ("image", "actual", "predicted")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def parse_rows(name: str, text: str, class_names: tuple[str, ...], count: int) -> tuple[np.ndarray, np.ndarray]:
    rows = _well_formed_rows(text, class_names, count)
    if rows is not None:
        return rows
    try:
        return _rows(f"{name}: {PREDICTIONS}", csv.reader(io.StringIO(text), strict=True), class_names, count)
    except csv.Error as err:
        raise RevisionError(f"{name}: {PREDICTIONS}: not a CSV file: {err}") from None


def _well_formed_rows(text: str, class_names: tuple[str, ...], count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(actual, predicted) when the file is exactly what `evaluate` writes (its header, row i for image i, two
    of the class names, a final newline), read without a loop over its rows. Each class name becomes one
    letter, and what is left must be the file's fixed skeleton (the header, the image numbers, the commas and
    newlines) to the byte. None otherwise: the strict reader then names what is wrong."""
    header = ",".join(COLUMNS) + "\n"
    if not text.startswith(header) or len(class_names) > 26:
        return None
    body = text[len(header) :]
    for k, name in sorted(enumerate(class_names), key=lambda item: -len(item[1])):  # "Shirt" after "T-shirt/top"
        body = body.replace(f",{name}\n", f",{LETTERS[k]}\n").replace(f",{name},", f",{LETTERS[k]},")
    data = np.frombuffer(body.encode("utf-8", errors="replace"), np.uint8)
    skeleton, fixed = _skeleton(count)
    if len(data) != len(skeleton) or not np.array_equal(data[fixed], skeleton[fixed]):
        return None
    classes = data[~fixed].reshape(count, 2).astype(np.int64) - ord(LETTERS[0])
    if classes.min(initial=0) < 0 or classes.max(initial=0) >= len(class_names):
        return None
    return classes[:, 0], classes[:, 1]


@functools.cache
def _skeleton(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of `count` rows "i,?,?" with their newlines, and which bytes are fixed (all but the letters)."""
    rows = np.frombuffer("".join(f"{i},A,A\n" for i in range(count)).encode(), np.uint8)
    ends = np.flatnonzero(rows == ord("\n"))
    fixed = np.ones(len(rows), bool)
    fixed[ends - 3] = fixed[ends - 1] = False
    return rows, fixed


def _rows(where: str, reader, class_names: tuple[str, ...], count: int) -> tuple[np.ndarray, np.ndarray]:
    """(actual, predicted) class indices; row i must be test image i, and there must be `count` rows."""
    header = next(reader, [])
    if "image" not in header and {"actual", "predicted"} <= set(header):
        raise RevisionError(f"{where}: no image column (made before per-image predictions were recorded)")
    if tuple(header) != COLUMNS:
        raise RevisionError(f"{where}: expected the columns {','.join(COLUMNS)}, got {','.join(header) or 'none'}")
    index = {class_name: i for i, class_name in enumerate(class_names)}
    actual, predicted = np.empty(count, np.int64), np.empty(count, np.int64)
    rows = 0
    for line, row in enumerate(reader, start=2):
        if rows == count or len(row) != 3 or row[0] != str(rows) or row[1] not in index or row[2] not in index:
            raise RevisionError(
                f"{where}: line {line}: expected image {rows} with two of the {len(class_names)} class names "
                f"(and {count} rows in all), got {','.join(row)[:60]!r}"
            )
        actual[rows], predicted[rows] = index[row[1]], index[row[2]]
        rows += 1
    if rows != count:
        raise RevisionError(f"{where}: expected {count} rows (one per test image), got {rows}")
    return actual, predicted
