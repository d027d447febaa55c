"""`fashionlab seeds N [REV]`: give a configuration N seeds, queueing only those its group lacks.

The new runs go through DVC's queue as experiments of HEAD, with REV's parameters and a new seed each, so
they join REV's group (`replicates.seed_group`): same code, same parameters but the seed. Seeds already
finished, queued or running count, so a second call queues nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.predictions import resolve
from fashionlab.experiments.replicates import (
    WORKSPACE,
    Run,
    experiments_table,
    pending,
    run_dvc,
    runs,
    seed_group,
    workspace_run,
)
from fashionlab.experiments.workspace import workspace_params

POLL_SECONDS = 2.0


def default_jobs(missing: int) -> int:
    """Runs at once: one per core. On 2 cores, 2 at a time took 26.5 s per seed against 36.0 s one at a time
    (docs/how-to/add-seeds.md): a run leaves a core idle while it starts, imports, loads and writes."""
    return max(1, min(missing, os.cpu_count() or 1))


def add_seeds(root: Path, count: int, revision: str | None, jobs: int | None, say: Callable[[str], None]) -> list[int]:
    """Queue the seeds REV's group lacks to reach `count`, run them, report progress; return the new seeds."""
    table = experiments_table(root, all_commits=False)
    found, _ = runs(table)
    target = _target(root, table, found, revision)
    label = revision or WORKSPACE
    _check_code(root, target, label)
    members, _ = seed_group(found, target)
    done = {run.seed for run in members if run.scores}
    on_the_way = {run.seed for run in pending(table) if run.configuration == target.configuration} - done
    fresh = _fresh_seeds(done | on_the_way, count - len(done) - len(on_the_way))
    have = _having(sorted(done))
    if not fresh and not on_the_way:
        say(f"{label}'s configuration already has {have}: nothing to run")
        return []
    overrides = _overrides(workspace_params(root), target.params)
    names = [_queue(root, seed, overrides, target) for seed in fresh]
    waiting = sorted(on_the_way)
    jobs = jobs or default_jobs(len(fresh) + len(waiting))
    say(
        f"{label}'s configuration has {have}; queued {_listed(fresh)}"
        + (f", waiting for {_listed(waiting)} already queued" if waiting else "")
        + f"; running {jobs} at a time (`dvc queue status` shows them, `dvc queue kill` stops them)"
    )
    _start_workers(root, jobs)
    _follow(root, names, say)
    return fresh


def _target(root: Path, table: list[dict], found: list[Run], revision: str | None) -> Run:
    if revision is None:
        run = workspace_run(table)
        if run is None:
            raise RevisionError("workspace: no test scores yet (run `dvc repro` first)")
        return run
    commit = resolve(root, revision)
    for run in found:
        if run.rev == commit:
            return run
    if commit == resolve(root, "HEAD"):
        raise RevisionError(f"{revision}: no test scores that DVC shows (run `dvc repro` and commit the results)")
    raise RevisionError(
        f"{revision}: not HEAD or one of its finished experiments; new seeds run as experiments of HEAD, so check "
        f"it out first (git checkout {revision}; dvc checkout)"
    )


def _start_workers(root: Path, jobs: int) -> None:
    """`dvc queue start`, not waited on: its workers outlive it and would hold a captured output open."""
    started = subprocess.run(
        [sys.executable, "-m", "dvc", "queue", "start", "-j", str(jobs)],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if started.returncode != 0:
        raise RevisionError(f"{root}: dvc queue start failed (exit status {started.returncode}): try it by hand")


def _check_code(root: Path, target: Run, label: str) -> None:
    """The queue runs the workspace's code: it must be the code of the runs the seeds are to join."""
    for path, recorded in target.code_files:
        file = root / path
        current = hashlib.md5(file.read_bytes(), usedforsecurity=False).hexdigest() if file.is_file() else None
        if current != recorded:
            raise RevisionError(
                f"{path}: differs from the code of {label}'s runs, and new seeds would run it: commit it, stash "
                "it, or name the revision whose code it is"
            )


def _fresh_seeds(taken: set[object], wanted: int) -> list[int]:
    fresh, seed = [], 1
    while len(fresh) < wanted:
        if seed not in taken:
            fresh.append(seed)
        seed += 1
    return fresh


def _overrides(workspace: dict[str, object], wanted: dict[str, object]) -> list[str]:
    """`-S` values that turn the workspace's params.yaml into the target's (the seed is set per run)."""
    return [
        f"{key}={json.dumps(value)}"
        for key, value in sorted(wanted.items())
        if key != "seed" and workspace.get(key) != value
    ]


def _queue(root: Path, seed: int, overrides: list[str], target: Run) -> str:
    name = f"seed{seed}-{hashlib.sha256(target.configuration.encode()).hexdigest()[:7]}"
    settings = [part for override in [f"seed={seed}", *overrides] for part in ("-S", override)]
    run_dvc(root, "exp", "run", "--queue", "-n", name, *settings)
    return name


def _follow(root: Path, names: list[str], say: Callable[[str], None]) -> None:
    """Report each queued run as it ends, until all of ours have (and those already queued before)."""
    start, reported = time.monotonic(), {}
    total = len(names)
    while True:
        states = _states(root)
        for name in names:
            state = states.get(name)
            if state in ("Success", "Failed") and name not in reported:
                reported[name] = state
                minutes, seconds = divmod(int(time.monotonic() - start), 60)
                say(f"{name}: {state.lower()} ({len(reported)}/{total}, {minutes}:{seconds:02})")
        if len(reported) == total and not any(state in ("Queued", "Running") for state in states.values()):
            break
        time.sleep(POLL_SECONDS)
    failed = [name for name, state in reported.items() if state == "Failed"]
    if failed:
        raise RevisionError(f"{len(failed)} of {total} runs failed ({', '.join(failed)}): see `dvc queue logs NAME`")


def _states(root: Path) -> dict[str, str]:
    """Name → status of every task `dvc queue status` lists."""
    lines = run_dvc(root, "queue", "status").splitlines()
    states = {}
    for line in lines[1:]:
        parts = line.split()
        if len(parts) >= 5:
            states[parts[1]] = parts[-1]
    return states


def _having(seeds: list[int]) -> str:
    """ "1 seed (42)", "3 seeds (1, 2, 42)", "no seed yet"."""
    if not seeds:
        return "no seed yet"
    return f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))})"


def _listed(seeds: list[int]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds)) if seeds else "no seed"
