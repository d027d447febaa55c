"""The configurations of a race or a decision, as users name them: revisions and experiment names (`workspace`
for the workspace), every configuration of a commit, DVC's queue, a sweep as `-S` writes it. Each is checked
before any seed trains: at least two, none twice, all scoring the same test set, each of the code the workspace
would train its seeds with.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.dvc import experiments_table
from fashionlab.experiments.records.groups import SeedGroup
from fashionlab.experiments.records.predictions import Predictions, check_same_test_set, load_predictions
from fashionlab.experiments.records.revisions import resolve
from fashionlab.experiments.records.runs import Run, pending, run_of, runs, scored_workspace
from fashionlab.experiments.records.workspace import check_current
from fashionlab.experiments.rounds.sweep import sweep_points
from fashionlab.experiments.seeding.plan import check_code
from fashionlab.experiments.terms.names import WORKSPACE, assignment, revision_or_workspace, setting_apart


@dataclass
class Entrant:
    """A configuration in a race: how the user named it, the run that stands for it, its seeds so far."""

    label: str  # the revision as named, or the parameters a sweep sets
    target: Run  # a run of the configuration, or one it would have (a sweep's point: no run yet)
    named: Predictions | None = None  # the revision's own run, when a revision was named
    group: SeedGroup | None = None  # read again after every round

    @property
    def described(self) -> str:
        """The label, and the revision behind it where that is not the label: `B (fails)`."""
        named = self.named.revision if self.named else None
        return self.label if named in (None, self.label) else f"{self.label} ({named})"

    @property
    def first_seed(self) -> int | None:
        """The named run's seed, which the looks take first (None: a configuration not named by a revision)."""
        return self.group.named_seed if self.named is not None else None

    @property
    def seconds(self) -> float | None:
        """What training a seed takes, about: the mean over its runs that recorded it."""
        known = [s for s in self.group.seconds if s is not None]
        return float(np.mean(known)) if known else None


@dataclass(frozen=True)
class Lineup:
    """What the user named: revisions, the runs of a commit, DVC's queue, a sweep written as `-S` takes it."""

    revisions: tuple[str, ...] = ()
    all_of: str | None = None
    queued: bool = False
    sweep: tuple[str, ...] = ()  # each a `-S` value: key=a,b,c
    base: tuple[str, ...] = ()  # where the workspace's params.yaml, which a sweep applies to, differs from HEAD's

    def arguments(self) -> list[str]:
        """The command line's words that name this lineup, as `fashionlab race` takes them: the base pinned with
        `-S` first, so that a clean clone races the same points."""
        words = [*self.revisions, *(["--all-of", self.all_of] if self.all_of else [])]
        words += ["--queued"] if self.queued else []
        return words + [word for value in (*self.base, *self.sweep) for word in ("-S", value)]


def entrants(root: Path, lineup: Lineup, twins: str = "name each once") -> list[Entrant]:
    """Every configuration the lineup names, once each, checked: at least two, none twice (`twins`: what to do
    about it), all scoring the same test set, each of the code the workspace would train its seeds with."""
    table = experiments_table(root)
    found, _ = runs(table)
    if lineup.sweep or WORKSPACE in lineup.revisions:
        check_current(root)
    chosen = [_revision(root, table, found, revision) for revision in lineup.revisions]
    if lineup.all_of is not None:
        chosen += _runs_of(root, table, found, lineup.all_of)
    if lineup.queued:
        chosen += _queued(table)
    if lineup.sweep:
        workspace = scored_workspace(table)
        chosen += [
            Entrant("", replace(workspace, name="", params=params, rev=""))
            for params in sweep_points(root, lineup.sweep)
        ]
    if len(chosen) < 2:
        named = ", ".join(e.label for e in labelled(chosen) if e.label)
        raise RevisionError(
            f"a race needs two configurations or more, got {len(chosen)}" + (f" ({named})" if named else "")
        )
    labelled(chosen)
    check_distinct([(e.label, e.target) for e in chosen], twins)
    datasets = {e.label: e.target.params.get("data.dataset") for e in chosen}
    if len(set(datasets.values())) > 1:
        raise RevisionError(f"the configurations score different test sets (data.dataset: {datasets})")
    named = [e.named for e in chosen if e.named is not None]
    for other in named[1:]:
        check_same_test_set(named[0], other)
    for entrant in chosen:
        check_code(root, entrant.target, entrant.label)
    (label, times), *_ = Counter(e.label for e in chosen).most_common(1)
    if times > 1:  # the progress and the report tell configurations apart by their labels
        raise RevisionError(f"{times} configurations would be called {label!r}: name them as revisions")
    return chosen


def check_distinct(named: list[tuple[str, Run]], twins: str) -> None:
    """Refuse two names for one configuration (the same code and parameters but the seed): `compare`, `decide`
    and `race` say it in the same words, each with what follows for it (`twins`)."""
    seen: dict[str, str] = {}
    for label, run in named:
        if run.configuration in seen:
            raise RevisionError(
                f"{seen[run.configuration]} and {label} are the same configuration (the same code and parameters "
                f"but the seed): {twins}"
            )
        seen[run.configuration] = label


def _revision(root: Path, table: list[dict], found: list[Run], revision: str) -> Entrant:
    """A revision or experiment name (`workspace`: the workspace), by its own run, of any commit."""
    named = load_predictions(root, revision)
    return Entrant(revision, run_of(root, table, found, revision_or_workspace(revision)), named)


def _runs_of(root: Path, table: list[dict], found: list[Run], revision: str) -> list[Entrant]:
    """Each configuration among `revision`'s own run and its finished experiments, by its newest run."""
    commit = resolve(root, revision)
    entry = next((row for row in table if row.get("rev") == commit), None)
    if entry is None:
        raise RevisionError(f"{revision}: not a commit `dvc exp show --all-commits` lists")
    members = {exp.get("rev") for group in entry.get("experiments") or [] for exp in group.get("revs", [])}
    by_configuration: dict[str, Run] = {}
    for run in found:
        if run.rev == commit or run.rev in members:
            by_configuration.setdefault(run.configuration, run)
    if not by_configuration:
        raise RevisionError(f"{revision}: no finished run with test scores, nor experiments of it")
    return [Entrant("", run) for run in by_configuration.values()]


def _queued(table: list[dict]) -> list[Entrant]:
    """Each configuration waiting in DVC's queue: the race trains its seeds instead of the queue."""
    waiting = pending(table)
    if not waiting:
        raise RevisionError("DVC's queue holds no experiment (`dvc queue status`)")
    workspace = scored_workspace(table)
    return [Entrant("", replace(workspace, name=run.name, params=run.params, rev="")) for run in waiting]


def labelled(chosen: list[Entrant]) -> list[Entrant]:
    """Each entrant named by what sets it apart: the revision as named, else the parameters that differ between
    the configurations, as DVC shows them."""
    keys = setting_apart([e.target.params for e in chosen])
    for entrant in chosen:
        if not entrant.label:
            entrant.label = ", ".join(assignment(key, entrant.target.params.get(key)) for key in keys)
    return chosen
