"""One revision's per-image test predictions, read from a commit, an experiment or the workspace.

Reading goes through git's objects (experiment names resolved as DVC resolves them), so the user's working
tree is never checked out or touched; a whole group's files come through one `git cat-file --batch`, as the
outputs read here are kept in git (`cache: false` in dvc.yaml). Two revisions can be paired image by image
only if they scored the same test images in the same order: the `image` column of `metrics/confusion.csv` makes the
order explicit, and the SHA-256 of the test inputs in `metrics/dataset.json` says whether the images are
the same.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fashionlab.common.errors import RevisionError
from fashionlab.common.machine import bytes_from
from fashionlab.data.catalog import DATASETS, DatasetSpec
from fashionlab.experiments.records.prediction_rows import parse_rows
from fashionlab.experiments.records.revisions import Blob, read_committed, resolve
from fashionlab.experiments.terms.names import SCRATCH, WORKSPACE, revision_or_workspace
from fashionlab.pipeline.layout import DATASET, MACHINE, PREDICTIONS


@dataclass(frozen=True)
class Predictions:
    revision: str  # as the user named it, or "workspace"
    commit: str | None  # the commit it resolved to; None for the workspace
    class_names: tuple[str, ...]
    test_inputs: dict[str, str]  # test images' and labels' file name -> SHA-256 of the decompressed bytes
    actual: np.ndarray  # class index of test image i
    predicted: np.ndarray
    machine: str | None = None  # the CPU that trained it, as `cpu_summary` writes it; None where not recorded


def load_predictions(root: Path, revision: str | None) -> Predictions:
    """The predictions of `revision` (`workspace` or None: the workspace), checked against its own dataset record."""
    named = revision_or_workspace(revision)
    commit = None if named is None else resolve(root, named)
    name = WORKSPACE if named is None else named
    if commit is None:
        files = [_workspace_file(root, name, path) for path in (DATASET, PREDICTIONS, MACHINE)]
    else:
        files = read_committed(root, [(commit, path) for path in (DATASET, PREDICTIONS, MACHINE)])
    return _predictions(root, name, commit, *files)


def remember(root: Path, ref: str) -> None:
    """Parse a run saved just now, while the next seed trains, and keep its predictions, so that the first
    `compare` after `fashionlab seeds` reads them back instead of parsing every run (docs/explanation/
    statistics.md, "How long it takes to ask"). A run that cannot be read is left for `compare` to name."""
    with contextlib.suppress(RevisionError):
        load_predictions(root, ref)


def _predictions(root: Path, name: str, commit: str | None, dataset: Blob, rows: Blob, machine: Blob) -> Predictions:
    """A run's predictions from its dataset record, its per-image rows and its machine record."""
    record = read_record(name, commit, dataset)
    cache = cache_path(root, record, rows)
    classes = cached(cache)
    if classes is None:
        classes = parsed(name, commit, rows, record, cache)
    return predictions_of(name, commit, record, classes, machine)


def predictions_of(name: str, commit: str | None, record: Record, classes: np.ndarray, machine: Blob | None):
    """The predictions from a run's parsed rows (actual, predicted) and its records."""
    actual, predicted = classes.astype(np.int64)
    return Predictions(
        name, commit, record.spec.class_names, record.test_inputs, actual, predicted, _machine(name, machine)
    )


class Record(NamedTuple):
    """What `metrics/dataset.json` says of the test set a run scored."""

    spec: DatasetSpec
    test_inputs: dict[str, str]  # as `Predictions.test_inputs`
    count: int  # test images


def read_record(name: str, commit: str | None, dataset: Blob | None) -> Record:
    """The dataset a run scored, the hashes of its test inputs, and how many test images it had."""
    record = _parse_json(name, DATASET, _present(name, commit, DATASET, dataset))
    if not isinstance(record.get("dataset"), str) or record["dataset"] not in DATASETS:
        known = ", ".join(DATASETS)
        raise RevisionError(f"{name}: {DATASET}: dataset: expected one of {known}, got {record.get('dataset')!r}")
    try:
        spec = DATASETS[record["dataset"]]
        test_inputs = {file.name: record["input_sha256"][file.name] for file in (spec.test_images, spec.test_labels)}
        count = sum(record["class_counts"]["test"].values())
    except (KeyError, TypeError, AttributeError) as err:
        raise RevisionError(f"{name}: {DATASET}: expected the record `prepare` writes, missing {err}") from None
    return Record(spec, test_inputs, count)


def parsed(name: str, commit: str | None, rows: Blob | None, record: Record, cache: Path | None) -> np.ndarray:
    """A run's rows parsed, (actual, predicted), and kept in `cache` for the next command."""
    text = _present(name, commit, PREDICTIONS, rows)
    classes = np.stack(parse_rows(name, text, record.spec.class_names, record.count))
    if cache:
        _keep(cache, classes.astype(np.uint8))
    return classes


def cache_path(root: Path, record: Record, rows: Blob | None) -> Path | None:
    """Where a committed run's parsed rows are kept: by the object id of its file in git."""
    if rows is None or rows.sha is None:
        return None
    return root / SCRATCH / "predictions" / f"{record.spec.name}-{record.count}-{rows.sha}.npy"


def cached(path: Path | None) -> np.ndarray | None:
    """A committed run's parsed rows (actual, predicted), kept by the object id of the file in git: reading
    them back is much cheaper than parsing them again (docs/explanation/statistics.md, "How long it takes to ask")."""
    try:
        return np.load(path) if path else None
    except (OSError, ValueError):
        return None


def _keep(path: Path, classes: np.ndarray) -> None:
    """A cache that cannot be written only costs the next `compare` the parsing again."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as stream:
            np.save(stream, classes)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def _machine(name: str, blob: Blob | None) -> str | None:
    """What decides a run's bytes besides its parameters (`machine.bytes_from`: the machine for native numerics,
    not for portable); None for a run made before runs recorded it."""
    if blob is None:
        return None
    record = _parse_json(name, MACHINE, _text(name, MACHINE, blob.data))
    made_by = bytes_from(record)
    if made_by is None:
        summary = record.get("summary")
        raise RevisionError(f"{name}: {MACHINE}: summary: expected the text `train` writes, got {summary!r}")
    return made_by


def check_same_test_set(a: Predictions, b: Predictions) -> None:
    """Refuse to pair images that are not the same images: name the first input whose hash differs."""
    for name in sorted(a.test_inputs.keys() | b.test_inputs.keys()):
        hash_a, hash_b = a.test_inputs.get(name), b.test_inputs.get(name)
        if hash_a != hash_b:
            raise RevisionError(
                f"{a.revision} and {b.revision} scored different test sets: {DATASET} input_sha256 of {name} "
                f"is {(hash_a or 'absent')[:12]} in {a.revision} and {(hash_b or 'absent')[:12]} in {b.revision}"
            )
    mismatch = np.flatnonzero(a.actual != b.actual) if len(a.actual) == len(b.actual) else [0]
    if len(mismatch):
        raise RevisionError(
            f"{b.revision}: {PREDICTIONS}: the true class of image {mismatch[0]} differs from {a.revision}'s "
            "although the test inputs are the same (edited by hand?)"
        )


HINT = "made before per-image predictions were recorded? reproduce it with `dvc repro`"


def _workspace_file(root: Path, name: str, path: str) -> Blob | None:
    try:
        return Blob(None, (root / path).read_bytes())
    except FileNotFoundError:
        return None
    except OSError as err:
        raise RevisionError(f"{name}: {path}: cannot read it: {err}") from None


def _text(name: str, path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RevisionError(f"{name}: {path}: cannot read it: {err}") from None


def _present(name: str, commit: str | None, path: str, blob: Blob | None) -> str:
    if blob is None:
        missing = "file not found" if commit is None else "not in this revision"
        raise RevisionError(f"{name}: {path}: {missing} ({HINT})")
    return _text(name, path, blob.data)


def _parse_json(name: str, path: str, text: str) -> dict:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise RevisionError(f"{name}: {path}: not valid JSON: {err}") from None
    if not isinstance(record, dict):
        raise RevisionError(f"{name}: {path}: expected a JSON object, got {type(record).__name__}")
    return record
