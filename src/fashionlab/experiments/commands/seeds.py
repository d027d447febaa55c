"""`fashionlab seeds N [REV]`: give a configuration N seeds in all, training only those its group lacks.

The new seeds train together (`seeding`), and each becomes a DVC experiment of HEAD with REV's parameters and its
own seed, as `dvc exp run` would make it, so it joins REV's group: same code, same parameters but the seed. The
seeds already finished count wherever they were committed, as every command counts them (`records.runs`), so a
second call trains nothing twice; Ctrl-C keeps every seed that finished.
"""

from __future__ import annotations

from pathlib import Path

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.dvc import experiments_table
from fashionlab.experiments.records.runs import pending, run_of, runs, seed_group
from fashionlab.experiments.records.workspace import check_current
from fashionlab.experiments.seeding.engine import GroupTraining
from fashionlab.experiments.seeding.plan import check_code, fresh_seeds, job_for
from fashionlab.experiments.terms.judgement import Say
from fashionlab.experiments.terms.names import WORKSPACE, revision_or_workspace
from fashionlab.experiments.terms.wording import having, listed


def add_seeds(root: Path, count: int, revision: str | None, say: Say, cluster: str | None = None) -> list[int]:
    """Train the seeds REV's group lacks to reach `count`, each saved as an experiment; return the new seeds."""
    with GroupTraining(root, cluster=cluster) as training:  # first: another command adding seeds changes the plan
        training.warm()
        named = revision_or_workspace(revision)
        if named is None:
            check_current(root)
        table = experiments_table(root)
        found, _ = runs(table)
        label = revision or WORKSPACE
        target = run_of(root, table, found, named)
        check_code(root, target, label)
        members, _ = seed_group(found, target)
        done = {run.seed for run in members if run.scores}
        queued = {run.seed for run in pending(table) if run.configuration == target.configuration} - done
        fresh = fresh_seeds(done | queued, count - len(done) - len(queued))
        waiting = f" ({listed(sorted(queued))} already in DVC's queue)" if queued else ""
        if not fresh:
            say(f"{label}'s configuration already has {having(sorted(done))}{waiting}: nothing to run")
            return []
        training.start()
        say(
            f"{label}'s configuration has {having(sorted(done))}{waiting}; training {listed(fresh)} "
            f"{training.engine.where} (Ctrl-C stops it and keeps the seeds that finished)"
        )
        jobs = [job_for(root, target, label, seed) for seed in fresh]
        failed = [outcome for outcome in training.run(jobs) if outcome.accuracy is None]
    if failed:
        reasons = "; ".join(f"seed {outcome.job.seed}: {outcome.error}" for outcome in failed)
        raise RevisionError(f"{len(failed)} of {len(jobs)} seeds failed, the others were kept: {reasons}")
    return fresh
