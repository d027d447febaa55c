"""A configuration's group of seeds, each run with the test images it got right: one side of a comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashionlab.experiments.records.predictions import (
    Predictions,
    cache_path,
    cached,
    check_same_test_set,
    parsed,
    predictions_of,
    read_record,
)
from fashionlab.experiments.records.revisions import read_committed
from fashionlab.experiments.records.runs import Run, seed_group, workspace_run
from fashionlab.pipeline.layout import DATASET, MACHINE, PREDICTIONS


@dataclass(frozen=True)
class SeedGroup:
    """One side of a comparison of configurations: its runs, and which test images each got right."""

    revision: str  # as the user named it
    names: tuple[str, ...]  # each run's experiment or commit name
    seeds: tuple[int | None, ...]  # None: a run whose parameters were not recorded
    correct: np.ndarray  # runs × test images
    other_code: int  # runs with the same parameters but other code, left out
    machines: tuple[str | None, ...]  # the CPU that trained each run (None: not recorded)
    params: dict[str, object] = field(default_factory=dict)  # the named run's, flattened ({}: not recorded)
    seconds: tuple[float | None, ...] = ()  # what training each run took, about (`Run.seconds`)
    times: tuple[float | None, ...] = ()  # when each run was made (`Run.made`)

    def by_seed(self) -> dict[int, np.ndarray]:
        """Each recorded seed's test images, right or wrong: what the looks pair."""
        return {s: row for s, row in zip(self.seeds, self.correct, strict=True) if s is not None}

    def trained_at(self) -> dict[int, float]:
        """When each recorded seed's run was made, in seconds since the epoch (0: not known, such as the
        workspace's): the order the looks take the seeds in (`sequential.look_order`)."""
        times = self.times or (None,) * len(self.seeds)
        return {s: time or 0.0 for s, time in zip(self.seeds, times, strict=True) if s is not None}

    @property
    def named_seed(self) -> int | None:
        """The seed of the run the user named, which the looks take first (None: a sweep's configuration)."""
        return self.seeds[self.names.index(self.revision)] if self.revision in self.names else None


def load_seed_group(root: Path, table: list[dict], found: list[Run], named: Predictions) -> SeedGroup:
    """`named`'s run and the runs of its configuration (`runs.seed_group`), with each one's test predictions.

    `table` and `found` are `dvc exp show`'s table and its finished runs. A revision whose parameters or
    scores DVC cannot show (made before they were recorded) is a group of one run, with no seed.
    """
    target = target_of(table, found, named)
    if target is None:
        return SeedGroup(
            named.revision, (named.revision,), (None,), (named.predicted == named.actual)[None], 0, (named.machine,)
        )
    return _group(root, found, target, named.revision, named)


def target_of(table: list[dict], found: list[Run], named: Predictions) -> Run | None:
    """The run `dvc exp show` lists for `named` (None: made before runs recorded their parameters and scores)."""
    if named.commit is None:
        return workspace_run(table)
    return next((run for run in found if run.rev == named.commit), None)


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
        tuple(run.made for run in members),
    )


def _load_runs(root: Path, runs: list[Run]) -> list[Predictions]:
    """Many committed runs at once: their records in one `git cat-file`, their rows' object ids in another, and
    the rows themselves, in a third, only for the runs whose parsed rows are not kept yet."""
    if not runs:
        return []
    blobs = iter(read_committed(root, [(run.rev, path) for run in runs for path in (DATASET, MACHINE)]))
    records, machines = [], []
    for run in runs:
        records.append(read_record(run.name, run.rev, next(blobs)))
        machines.append(next(blobs))
    ids = read_committed(root, [(run.rev, PREDICTIONS) for run in runs], contents=False)
    caches = [cache_path(root, record, rows) for record, rows in zip(records, ids, strict=True)]
    kept = [cached(cache) for cache in caches]
    missing = [run.rev for run, classes in zip(runs, kept, strict=True) if classes is None]
    texts = dict(zip(missing, read_committed(root, [(rev, PREDICTIONS) for rev in missing]), strict=True))
    loaded = []
    for run, record, machine, cache, classes in zip(runs, records, machines, caches, kept, strict=True):
        if classes is None:
            classes = parsed(run.name, run.rev, texts[run.rev], record, cache)
        loaded.append(predictions_of(run.name, run.rev, record, classes, machine))
    return loaded
