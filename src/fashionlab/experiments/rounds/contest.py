"""The rounds of a race: train the seeds the next look needs, for every configuration still in, then look.

Every round gives every configuration still in the same new seed numbers, trained together, each saved as a DVC
experiment; then the race looks at the seeds they share at the planned sizes (`statistics.sequential.race_looks`).
A look uses the seeds in a fixed order, so running the same race again replays every look made and goes on where
it stopped: Ctrl-C keeps every finished seed. A configuration whose runs fail (a NaN loss) leaves the race, not
counted as worse, unless the caller needs every seed (`decide`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.dvc import experiments_table
from fashionlab.experiments.records.groups import load_configuration_group, load_seed_group
from fashionlab.experiments.records.runs import runs
from fashionlab.experiments.rounds.lineup import Entrant
from fashionlab.experiments.seeding.engine import GroupTraining
from fashionlab.experiments.seeding.plan import Job, fresh_seeds, job_for
from fashionlab.experiments.terms.judgement import Judgement
from fashionlab.statistics.sequential import RaceLook, look_order, looks, race_looks


@dataclass
class Contest:
    """What a race has done: its looks, the seeds it trained by entrant, and the entrants whose runs failed."""

    made: list[RaceLook]
    trained: dict[int, list[int]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


def contest(
    root: Path,
    training: GroupTraining,
    entrants: list[Entrant],
    judgement: Judgement,
    *,
    on_look: Callable[[RaceLook, list[Entrant]], None] = lambda look, entrants: None,
    on_round: Callable[[list[RaceLook], list[int], int, list[Job]], None] = lambda made, order, wanted, jobs: None,
    allow_failures: bool = True,
    choose: bool = False,
) -> Contest:
    """Rounds of seeds and looks until a look ends the race (`race_looks`; `choose`: a race that ends with a good
    choice)."""
    result = Contest([], {i: [] for i in range(len(entrants))})
    plan, told = looks(judgement.max_seeds), 0
    while True:
        _load_groups(root, entrants)
        runs_by_entrant, first = [e.group.by_seed() for e in entrants], [e.first_seed for e in entrants]
        trained = [e.group.trained_at() for e in entrants]
        result.made = judged_looks(runs_by_entrant, first, judgement, set(result.failed), trained, choose=choose)
        for look in result.made[told:]:
            on_look(look, entrants)
        told = len(result.made)
        if result.made and result.made[-1].outcome:
            return result
        racing = [
            i for i in (result.made[-1].remaining if result.made else range(len(entrants))) if i not in result.failed
        ]
        order = look_order(runs_by_entrant, racing, first, trained)
        wanted = next(size for size in plan if size > len(order))
        fresh = next_seeds(
            [runs_by_entrant[i] for i in racing], order, wanted - len(order), [trained[i] for i in racing]
        )
        jobs = [
            job_for(root, entrants[i].target, entrants[i].label, s)
            for s in fresh
            for i in racing
            if s not in runs_by_entrant[i]
        ]
        on_round(result.made, order, wanted, jobs)
        index_of = {entrant.label: i for i, entrant in enumerate(entrants)}
        for outcome in training.run(jobs):
            index = index_of[outcome.job.label]
            if outcome.accuracy is None:
                if not allow_failures:
                    raise RevisionError(
                        f"{entrants[index].described}: seed {outcome.job.seed} failed: {outcome.error}; a paired "
                        "decision needs every seed of both sides"
                    )
                result.failed.setdefault(index, f"seed {outcome.job.seed}: {outcome.error}")
            else:
                result.trained[index].append(outcome.job.seed)


def next_seeds(
    racing: list[dict[int, np.ndarray]], order: list[int], count: int, trained: list[dict[int, float]]
) -> list[int]:
    """The `count` seeds to share next: first those some configurations ran already (the most widely run first, so
    the fewest are trained, then the earliest trained, as the looks take them: `sequential.look_order`), then the
    smallest seeds from 1 that none ran."""
    held = Counter(seed for runs in racing for seed in runs if seed not in order)
    made = {seed: max(times.get(seed, 0.0) for times in trained) for seed in held}
    reused = sorted(held, key=lambda seed: (-held[seed], made[seed], seed))[:count]
    return reused + fresh_seeds({*order, *held}, count - len(reused))


def _load_groups(root: Path, entrants: list[Entrant]) -> None:
    table = experiments_table(root)
    found, _ = runs(table)
    for entrant in entrants:
        if entrant.named is not None:
            entrant.group = load_seed_group(root, table, found, entrant.named)
        else:
            entrant.group = load_configuration_group(root, found, entrant.target, entrant.label)


def interval_row(seeds: int, level: float, difference: float, interval: tuple[float, float], verdict: str) -> dict:
    """A comparison at a look as every command's result has it."""
    low, high = interval
    return {"seeds": seeds, "level": level, "difference": difference, "low": low, "high": high, "verdict": verdict}


def judged_looks(
    runs_by_entrant: list[dict[int, np.ndarray]],
    first: list[int | None],
    judgement: Judgement,
    failed: set[int],
    trained: Sequence[dict[int, float]] = (),
    choose: bool = False,
) -> list[RaceLook]:
    """The looks these runs reach, judged as `judgement` says: what `decide`, `race` and `compare` all read."""
    return race_looks(
        runs_by_entrant,
        judgement.max_seeds,
        rope=judgement.rope,
        first=first,
        failed=failed,
        resamples=judgement.resamples,
        seed=judgement.seed,
        alpha=judgement.alpha,
        choose=choose,
        trained=trained,
    )
