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
import csv
import functools
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fashionlab.common.errors import RevisionError
from fashionlab.data.catalog import DATASETS
from fashionlab.experiments.replicates import Run, SeedGroup, seed_group, workspace_run
from fashionlab.experiments.scratch import SCRATCH, git, run_git
from fashionlab.pipeline.layout import DATASET, MACHINE, PREDICTIONS

COLUMNS = ("image", "actual", "predicted")


@dataclass(frozen=True)
class Predictions:
    revision: str  # as the user named it, or "workspace"
    commit: str | None  # the commit it resolved to; None for the workspace
    class_names: tuple[str, ...]
    test_inputs: dict[str, str]  # test images' and labels' file name -> SHA-256 of the decompressed bytes
    actual: np.ndarray  # class index of test image i
    predicted: np.ndarray
    machine: str | None = None  # the CPU that trained it, as `cpu_summary` writes it; None where not recorded


def project_root() -> Path:
    """The folder with `.dvc/` at or above the working one, up to the mount point, as DVC finds it (without
    importing DVC, so that `compare` can start `dvc exp show` at once)."""
    folder = Path.cwd()
    while not (folder / ".dvc").is_dir():
        if os.path.ismount(folder) or folder.parent == folder:
            raise RevisionError(f"{Path.cwd()}: not inside a DVC project (run fashionlab from the project)")
        folder = folder.parent
    return folder


def load_predictions(root: Path, revision: str | None) -> Predictions:
    """The predictions of `revision` (None: the workspace), checked against its own dataset record."""
    commit = None if revision is None else resolve(root, revision)
    name = "workspace" if revision is None else revision
    if commit is None:
        files = [_workspace_file(root, name, path) for path in (DATASET, PREDICTIONS, MACHINE)]
    else:
        files = read_committed(root, [(commit, path) for path in (DATASET, PREDICTIONS, MACHINE)])
    return _predictions(root, name, commit, *files)


def remember(root: Path, ref: str) -> None:
    """Parse a run saved just now and keep its predictions, so that the first `compare` after `fashionlab seeds`
    reads them back instead (parsing 82 runs took 0.6 s of it). A run that cannot be read is left for `compare`
    to name."""
    with contextlib.suppress(RevisionError):
        load_predictions(root, ref)


def _predictions(root: Path, name: str, commit: str | None, dataset: Blob, rows: Blob, machine: Blob) -> Predictions:
    """A run's predictions from its dataset record, its per-image rows and its machine record."""
    spec, test_inputs, count = _record(name, commit, dataset)
    cache = _cache_path(root, spec.name, count, rows)
    classes = _cached(cache)
    if classes is None:
        classes = _parsed(name, commit, rows, spec.class_names, count, cache)
    actual, predicted = classes.astype(np.int64)
    return Predictions(name, commit, spec.class_names, test_inputs, actual, predicted, _machine(name, machine))


def _record(name: str, commit: str | None, dataset: Blob | None) -> tuple:
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
    return spec, test_inputs, count


def _parsed(
    name: str, commit: str | None, rows: Blob | None, class_names: tuple[str, ...], count: int, cache: Path | None
) -> np.ndarray:
    classes = np.stack(_parse_rows(name, _present(name, commit, PREDICTIONS, rows), class_names, count))
    if cache:
        _keep(cache, classes.astype(np.uint8))
    return classes


def _cache_path(root: Path, dataset: str, count: int, rows: Blob | None) -> Path | None:
    """Where a committed run's parsed rows are kept: by the object id of its file in git."""
    return root / SCRATCH / "predictions" / f"{dataset}-{count}-{rows.sha}.npy" if rows and rows.sha else None


def _cached(path: Path | None) -> np.ndarray | None:
    """A committed run's parsed rows (actual, predicted), kept by the object id of the file in git: parsing
    80 runs' files took half a second of `compare`, reading them back takes a few milliseconds."""
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
    """The summary of a run's machine record; None for a run made before runs recorded it."""
    if blob is None:
        return None
    record = _parse_json(name, MACHINE, _text(name, MACHINE, blob.data))
    summary = record.get("summary")
    if not isinstance(summary, str):
        raise RevisionError(f"{name}: {MACHINE}: summary: expected the text `train` writes, got {summary!r}")
    return summary


def resolve(root: Path, revision: str) -> str:
    """The commit behind a git revision or a DVC experiment name; an unknown one is a one-line error.

    As DVC's `resolve_rev` resolves them, read with git alone (importing and opening DVC's repository took
    0.3 s of a 2.4 s `compare`): a name git does not know is an experiment's, whose ref is
    `refs/exps/<baseline, split after two characters>/<name>`; two experiments of one name are told apart by the
    one whose baseline is HEAD.
    """
    found = run_git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", text=True)
    if found.returncode == 0:
        return found.stdout.strip()
    unknown = f"{revision}: unknown revision (expected a commit, branch, tag or DVC experiment name)"
    if revision == "HEAD" or revision.startswith("refs/"):
        raise RevisionError(unknown)
    listed = git(root, "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps/").splitlines()
    named: dict[str, str] = {}  # baseline -> commit
    for sha, ref in (line.split(" ", 1) for line in listed):
        parts = ref.split("/")  # refs, exps, the baseline's first two characters, the rest, the name
        baseline = "".join(parts[2:4])
        if len(parts) == 5 and parts[4] == revision and len(baseline) == 40:  # not DVC's own exec/, temp/, …
            named[baseline] = sha
    if len(named) > 1:
        head = resolve(root, "HEAD")
        named = {baseline: sha for baseline, sha in named.items() if baseline == head}
        if len(named) != 1:
            raise RevisionError(f"{revision}: ambiguous: experiments of several commits have this name")
    if not named:
        raise RevisionError(unknown)
    return next(iter(named.values()))


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


class Blob(NamedTuple):
    """A file's bytes, and its object id in git where it was read from git (the key of the parsed rows' cache)."""

    sha: str | None
    data: bytes


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


def read_committed(root: Path, files: list[tuple[str, str]], contents: bool = True) -> list[Blob | None]:
    """Each (commit, path) in git's objects, None where the commit lacks it, in one `git cat-file`; with
    `contents=False`, only each one's object id (`Blob.data` is b"").

    Paths are relative to the DVC project, which may sit below the git repository's root.
    """
    if not files:
        return []
    requests = "".join(f"{commit}:./{path}\n" for commit, path in files)
    result = run_git(root, "cat-file", "--batch" if contents else "--batch-check", input=requests.encode())
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise RevisionError(f"{root}: git cat-file failed: {reason[-1]}")
    blobs, output, at = [], result.stdout, 0
    for _ in files:
        end = output.index(b"\n", at)
        header = output[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":  # "<request> missing", or not a file
            blobs.append(None)
            continue
        size = int(header[2]) if contents else 0
        blobs.append(Blob(header[0].decode(), output[at : at + size]))
        at += size + 1 if contents else 0
    return blobs


def _parse_json(name: str, path: str, text: str) -> dict:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise RevisionError(f"{name}: {path}: not valid JSON: {err}") from None
    if not isinstance(record, dict):
        raise RevisionError(f"{name}: {path}: expected a JSON object, got {type(record).__name__}")
    return record


def _parse_rows(name: str, text: str, class_names: tuple[str, ...], count: int) -> tuple[np.ndarray, np.ndarray]:
    rows = _well_formed_rows(text, class_names, count)
    if rows is not None:
        return rows
    try:
        return _rows(f"{name}: {PREDICTIONS}", csv.reader(io.StringIO(text), strict=True), class_names, count)
    except csv.Error as err:
        raise RevisionError(f"{name}: {PREDICTIONS}: not a CSV file: {err}") from None


def _well_formed_rows(text: str, class_names: tuple[str, ...], count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(actual, predicted) when the file is exactly what `evaluate` writes (its header, row i for image i, two
    of the class names, a final newline), read without a loop over its rows: a group of 40 seeds a side reads
    80 of them. Each class name becomes one letter, and what is left must be the file's fixed skeleton (the
    header, the image numbers, the commas and newlines) to the byte. None otherwise: the strict reader then
    names what is wrong."""
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


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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


def load_seed_group(root: Path, table: list[dict], found: list[Run], named: Predictions) -> SeedGroup:
    """`named`'s run and the runs of its configuration (`replicates.seed_group`), with each one's test predictions.

    `table` and `found` are `dvc exp show`'s table and its finished runs. A revision whose parameters or
    scores DVC cannot show (made before they were recorded) is a group of one run, with no seed.
    """
    target = workspace_run(table) if named.commit is None else next((r for r in found if r.rev == named.commit), None)
    if target is None:
        return SeedGroup(
            named.revision, (named.revision,), (None,), (named.predicted == named.actual)[None], 0, (named.machine,)
        )
    return _group(root, found, target, named.revision, named)


def load_configuration_group(root: Path, found: list[Run], target: Run, label: str) -> SeedGroup:
    """The runs of `target`'s configuration (one a sweep asks for, which may have none yet), each with its test
    predictions; `target` itself only names the configuration."""
    return _group(root, found, target, label, None)


def _group(root: Path, found: list[Run], target: Run, label: str, named: Predictions | None) -> SeedGroup:
    members, other_code = seed_group(found, target, with_target=named is not None)
    others = [run for run in members if run is not target]
    loaded = dict(zip(map(id, others), _load_runs(root, others), strict=True))
    reference = named or next(iter(loaded.values()), None)
    correct, machines = [], []
    for run in members:
        predictions = named if run is target else loaded[id(run)]
        check_same_test_set(reference, predictions)
        correct.append(predictions.predicted == predictions.actual)
        machines.append(predictions.machine)
    names = tuple(label if run is target else run.name for run in members)
    return SeedGroup(
        label,
        names,
        tuple(run.seed for run in members),
        np.array(correct) if correct else np.zeros((0, 0), bool),
        other_code,
        tuple(machines),
        target.params,
        tuple(run.seconds for run in members),
    )


def _load_runs(root: Path, runs: list[Run]) -> list[Predictions]:
    """Many committed runs at once: their records in one `git cat-file`, their rows' object ids in another, and
    the rows themselves, in a third, only for the runs whose parsed rows are not kept yet."""
    records = iter(read_committed(root, [(run.rev, path) for run in runs for path in (DATASET, MACHINE)]))
    ids = read_committed(root, [(run.rev, PREDICTIONS) for run in runs], contents=False)
    found = []
    for run, rows in zip(runs, ids, strict=True):
        dataset, machine = next(records), next(records)
        spec, test_inputs, count = _record(run.name, run.rev, dataset)
        cache = _cache_path(root, spec.name, count, rows)
        found.append((run, spec, test_inputs, count, machine, cache, _cached(cache)))
    missing = [run.rev for run, *_, classes in found if classes is None]
    texts = dict(zip(missing, read_committed(root, [(rev, PREDICTIONS) for rev in missing]), strict=True))
    loaded = []
    for run, spec, test_inputs, count, machine, cache, classes in found:
        if classes is None:
            classes = _parsed(run.name, run.rev, texts[run.rev], spec.class_names, count, cache)
        actual, predicted = classes.astype(np.int64)
        machine_name = _machine(run.name, machine)
        loaded.append(Predictions(run.name, run.rev, spec.class_names, test_inputs, actual, predicted, machine_name))
    return loaded
