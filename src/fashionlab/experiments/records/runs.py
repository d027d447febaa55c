"""Runs as `dvc exp show` lists them: each one's parameters, test scores, code and cost, and the seeds of a
configuration.

A run's test accuracy moves with the seed (the split, the initial weights, the data order), so one
configuration is described by its group of seeds, not by one number (Bouthillier et al. 2021,
"Accounting for variance in machine learning benchmarks"). A configuration is the code and every
parameter but `seed`: the code is the hashes of the Python files the stages depend on, as `dvc.lock`
records them for each run, so commits or experiments with other code never join a group, and runs of the
same code count wherever they were committed. Every command reads the runs by this one rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.revisions import resolve
from fashionlab.experiments.terms.names import PARAMS, SCORES, WORKSPACE, flatten
from fashionlab.pipeline.layout import EVALUATION, TIMING


@dataclass(frozen=True)
class Run:
    name: str  # the experiment's name, or the commit's branch or short hash
    params: dict[str, object]  # params.yaml flattened to dotted keys
    scores: dict[str, float]  # test accuracy and macro F1
    rev: str = ""  # the commit that holds the run's results, or "workspace"
    code_files: tuple[tuple[str, str], ...] = ()  # (path, MD5) of each Python file the stages depend on
    seconds_per_epoch: float | None = None  # the median epoch's wall-clock seconds (metrics/timing.json)
    made: float | None = None  # when its commit was made, in seconds since the epoch (None: the workspace)

    @property
    def code(self) -> str:
        """One hash for the code ("" where DVC lists no dependency)."""
        return hashlib.sha256(json.dumps(self.code_files).encode()).hexdigest() if self.code_files else ""

    @property
    def seconds(self) -> float | None:
        """What training the run took, about: its median epoch times its epochs (None where not recorded)."""
        epochs = self.params.get("train.epochs")
        return self.seconds_per_epoch * epochs if self.seconds_per_epoch and isinstance(epochs, int) else None

    @property
    def seed(self) -> object:
        return self.params.get("seed")

    @property
    def params_but_seed(self) -> dict[str, object]:
        return {key: value for key, value in self.params.items() if key != "seed"}

    @property
    def configuration(self) -> str:
        """What a replicate must share: the code and every parameter but the seed."""
        return json.dumps([self.code, self.params_but_seed], sort_keys=True)


def runs(table: list[dict]) -> tuple[list[Run], int]:
    """The committed runs and experiments that have test scores, and how many others were left out.

    The workspace row is left out: it repeats HEAD, or an experiment applied to it, and would count twice.
    """
    found, skipped = [], 0
    for commit in table:
        if commit.get("rev") == WORKSPACE:
            continue
        entries = [(commit.get("name") or commit["rev"][:7], commit, None)]
        for group in commit.get("experiments") or []:
            state = (group.get("executor") or {}).get("state")
            entries += [(exp.get("name") or exp["rev"][:7], exp, state) for exp in group.get("revs", [])]
        for name, entry, state in entries:
            run = _run(name, entry)
            # A queued or running experiment shows its baseline's metrics until it has its own.
            if state not in (None, "success") or not _scored(run):
                skipped += 1
                continue
            found.append(run)
    return found, skipped


def workspace_run(table: list[dict]) -> Run | None:
    """The workspace row as a run, when it has parameters and test scores."""
    for commit in table:
        if commit.get("rev") == WORKSPACE and _scored(run := _run(WORKSPACE, commit)):
            return run
    return None


def pending(table: list[dict]) -> list[Run]:
    """Queued and running experiments, with their parameters (their scores are not theirs yet)."""
    return [
        _run(exp.get("name") or exp["rev"][:7], exp)
        for commit in table
        for group in commit.get("experiments") or []
        if (group.get("executor") or {}).get("state") in ("queued", "running")
        for exp in group.get("revs", [])
    ]


def _run(name: str, entry: dict) -> Run:
    """A row of `dvc exp show --json`: its parameters, the test scores it shows, and its code."""
    data = entry.get("data") or {}
    params = ((data.get("params") or {}).get(PARAMS) or {}).get("data") or {}
    shown = ((data.get("metrics") or {}).get(EVALUATION) or {}).get("data") or {}
    scores = {key: float(value) for key in SCORES if isinstance(value := shown.get(key), int | float)}
    deps = data.get("deps") or {}
    code = tuple(sorted((path, (dep or {}).get("hash")) for path, dep in deps.items() if path.endswith(".py")))
    timing = ((data.get("metrics") or {}).get(TIMING) or {}).get("data") or {}
    per_epoch = timing.get("seconds_per_epoch")
    per_epoch = float(per_epoch) if isinstance(per_epoch, int | float) and not isinstance(per_epoch, bool) else None
    return Run(name, flatten(params), scores, entry.get("rev", ""), code, per_epoch, _made(data.get("timestamp")))


def _made(timestamp: object) -> float | None:
    """`dvc exp show`'s timestamp of a commit or an experiment, in seconds since the epoch."""
    try:
        return datetime.fromisoformat(timestamp).timestamp() if isinstance(timestamp, str) else None
    except ValueError:
        return None


def _scored(run: Run) -> bool:
    return bool(run.params) and len(run.scores) == len(SCORES)


def seed_group(found: list[Run], target: Run, with_target: bool = True) -> tuple[list[Run], int]:
    """`target` and the runs of its configuration, a seed once, by seed; and how many runs with the same
    parameters but other code were left out.

    `target` keeps its own seed; another seed's newest run counts (`dvc exp show` lists the newest first).
    `with_target=False`: `target` only names a configuration (one a sweep asks for), not a run of it.
    """
    members = {target.seed: target} if with_target else {}
    other_code = 0
    for run in found:
        if run.configuration == target.configuration:
            members.setdefault(run.seed, run)
        elif run.code != target.code and run.params_but_seed == target.params_but_seed:
            other_code += 1
    return sorted(members.values(), key=lambda run: run.seed), other_code


def scored_workspace(table: list[dict]) -> Run:
    """The workspace's run; one line where it has no test scores yet."""
    run = workspace_run(table)
    if run is None:
        raise RevisionError(f"{WORKSPACE}: no test scores yet (run `dvc repro` first)")
    return run


def run_of(root: Path, table: list[dict], found: list[Run], revision: str | None) -> Run:
    """The run that stands for `revision` (None: the workspace's): a commit's or an experiment's, of any commit."""
    if revision is None:
        return scored_workspace(table)
    commit = resolve(root, revision)
    for run in found:
        if run.rev == commit:
            return run
    raise RevisionError(f"{revision}: no test scores that DVC shows (run `dvc repro` and commit the results)")
