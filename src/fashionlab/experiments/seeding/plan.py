"""What a seed to train is: the configuration's run it joins, its number, the experiment it becomes, and the
`-S` values that turn the workspace's params.yaml into its own. New seeds run the workspace's code, so the
runs they join must be of that code."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.runs import Run
from fashionlab.experiments.records.workspace import workspace_params


@dataclass(frozen=True)
class Job:
    """A seed to train: which configuration (as the user named it), and the experiment it becomes."""

    label: str
    seed: int
    name: str
    overrides: tuple[str, ...]  # `-S` values that turn the workspace's params.yaml into this run's


@dataclass(frozen=True)
class Outcome:
    job: Job
    accuracy: float | None  # None: the seed failed
    error: str | None = None


def check_code(root: Path, target: Run, label: str) -> None:
    """New seeds run the workspace's code: it must be the code of the runs the seeds are to join."""
    for path, recorded in target.code_files:
        file = root / path
        current = hashlib.md5(file.read_bytes(), usedforsecurity=False).hexdigest() if file.is_file() else None
        if current != recorded:
            raise RevisionError(
                f"{path}: differs from the code of {label}'s runs, and new seeds would run it: commit it, stash "
                "it, or name the revision whose code it is"
            )


def job_for(root: Path, target: Run, label: str, seed: int) -> Job:
    """The seed's experiment: named after the seed and the configuration, with the target's parameters."""
    name = f"seed{seed}-{hashlib.sha256(target.configuration.encode()).hexdigest()[:7]}"
    return Job(label, seed, name, (f"seed={seed}", *overrides(workspace_params(root), target.params)))


def fresh_seeds(taken: set[object], wanted: int) -> list[int]:
    """The `wanted` smallest seeds from 1 not in `taken`."""
    fresh, seed = [], 1
    while len(fresh) < wanted:
        if seed not in taken:
            fresh.append(seed)
        seed += 1
    return fresh


def overrides(workspace: dict[str, object], wanted: dict[str, object]) -> list[str]:
    """`-S` values that turn the workspace's params.yaml into the target's (the seed is set per run)."""
    return [
        f"{key}={json.dumps(value)}"
        for key, value in sorted(wanted.items())
        if key != "seed" and workspace.get(key) != value
    ]
