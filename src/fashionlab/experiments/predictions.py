"""One revision's per-image test predictions, read through DVC from a commit, an experiment or the workspace.

Reading goes through git's objects (DVC resolves experiment names), so the user's working tree is never
checked out or touched. Two revisions can be paired image by image only if they scored the same test
images in the same order: the `image` column of `metrics/confusion.csv` makes the order explicit, and the
SHA-256 of the test inputs in `metrics/dataset.json` says whether the images are the same.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from dvc.exceptions import DvcException, NotDvcRepoError, PathMissingError

from fashionlab.common.errors import RevisionError
from fashionlab.data.catalog import DATASETS
from fashionlab.experiments.replicates import Run, SeedGroup, seed_group, workspace_run

PREDICTIONS = "metrics/confusion.csv"
DATASET = "metrics/dataset.json"
COLUMNS = ("image", "actual", "predicted")


@dataclass(frozen=True)
class Predictions:
    revision: str  # as the user named it, or "workspace"
    commit: str | None  # the commit it resolved to; None for the workspace
    class_names: tuple[str, ...]
    test_inputs: dict[str, str]  # test images' and labels' file name -> SHA-256 of the decompressed bytes
    actual: np.ndarray  # class index of test image i
    predicted: np.ndarray


def project_root() -> Path:
    from dvc.repo import Repo

    try:
        return Path(Repo.find_root())
    except NotDvcRepoError:
        raise RevisionError(f"{Path.cwd()}: not inside a DVC project (run fashionlab from the project)") from None


def load_predictions(root: Path, revision: str | None) -> Predictions:
    """The predictions of `revision` (None: the workspace), checked against its own dataset record."""
    commit = None if revision is None else resolve(root, revision)
    name = "workspace" if revision is None else revision
    record = _parse_json(name, _read(root, name, commit, DATASET))
    if not isinstance(record.get("dataset"), str) or record["dataset"] not in DATASETS:
        known = ", ".join(DATASETS)
        raise RevisionError(f"{name}: {DATASET}: dataset: expected one of {known}, got {record.get('dataset')!r}")
    try:
        spec = DATASETS[record["dataset"]]
        test_inputs = {file.name: record["input_sha256"][file.name] for file in (spec.test_images, spec.test_labels)}
        count = sum(record["class_counts"]["test"].values())
    except (KeyError, TypeError, AttributeError) as err:
        raise RevisionError(f"{name}: {DATASET}: expected the record `prepare` writes, missing {err}") from None
    actual, predicted = _parse_rows(name, _read(root, name, commit, PREDICTIONS), spec.class_names, count)
    return Predictions(name, commit, spec.class_names, test_inputs, actual, predicted)


def resolve(root: Path, revision: str) -> str:
    """The commit behind a git revision or a DVC experiment name; an unknown one is a one-line error."""
    from dvc.repo import Repo
    from dvc.scm import RevError, resolve_rev

    with Repo(str(root)) as repo:
        try:
            return resolve_rev(repo.scm, revision)
        except RevError:
            raise RevisionError(
                f"{revision}: unknown revision (expected a commit, branch, tag or DVC experiment name)"
            ) from None


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


def _read(root: Path, name: str, commit: str | None, path: str) -> str:
    import dvc.api

    hint = "made before per-image predictions were recorded? reproduce it with `dvc repro`"
    if commit is None:
        try:
            return (root / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RevisionError(f"{name}: {path}: file not found ({hint})") from None
        except (OSError, UnicodeDecodeError) as err:
            raise RevisionError(f"{name}: {path}: cannot read it: {err}") from None
    try:
        with dvc.api.open(path, repo=str(root), rev=commit, encoding="utf-8") as stream:
            return stream.read()
    except (PathMissingError, FileNotFoundError):
        raise RevisionError(f"{name}: {path}: not in this revision ({hint})") from None
    except (DvcException, UnicodeDecodeError) as err:
        raise RevisionError(f"{name}: {path}: cannot read it: {err}") from None


def _parse_json(name: str, text: str) -> dict:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise RevisionError(f"{name}: {DATASET}: not valid JSON: {err}") from None
    if not isinstance(record, dict):
        raise RevisionError(f"{name}: {DATASET}: expected a JSON object, got {type(record).__name__}")
    return record


def _parse_rows(name: str, text: str, class_names: tuple[str, ...], count: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        return _rows(f"{name}: {PREDICTIONS}", csv.reader(io.StringIO(text), strict=True), class_names, count)
    except csv.Error as err:
        raise RevisionError(f"{name}: {PREDICTIONS}: not a CSV file: {err}") from None


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


def load_seed_group(root: Path, table: list[dict], found: list[Run], named: Predictions) -> SeedGroup:
    """`named`'s run and the runs of its configuration (`replicates.seed_group`), with each one's test predictions.

    `table` and `found` are `dvc exp show`'s table and its finished runs. A revision whose parameters or
    scores DVC cannot show (made before they were recorded) is a group of one run, with no seed.
    """
    target = workspace_run(table) if named.commit is None else next((r for r in found if r.rev == named.commit), None)
    if target is None:
        return SeedGroup(named.revision, (named.revision,), (None,), (named.predicted == named.actual)[None], 0)
    members, other_code = seed_group(found, target)
    correct = []
    for run in members:
        predictions = named if run is target else load_predictions(root, run.rev)
        check_same_test_set(named, predictions)
        correct.append(predictions.predicted == predictions.actual)
    names = tuple(named.revision if run is target else run.name for run in members)
    return SeedGroup(named.revision, names, tuple(run.seed for run in members), np.array(correct), other_code)
