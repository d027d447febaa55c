"""`fashionlab decide [A] [B]`: add seeds to both sides in rounds until the paired comparison is decided.

Each round gives both configurations the same new seed numbers (trained together, as `fashionlab seeds`
does), then looks at the paired comparison of the shared seeds at the sizes `sequential` plans, and stops
at the first look whose repeated confidence interval decides: better, worse, slightly so, or equivalent. At
`--max-seeds` it stops undecided, with what the data says so far. `decide` is a race of two (`rounds.contest`):
a look uses the first n shared seeds in a fixed order (the named runs' seed, then ascending), so a rerun
repeats the looks already made exactly: Ctrl-C keeps every finished seed, and running the command again goes
on where it stopped, training nothing twice.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fashionlab.experiments.reports.decide import round_line
from fashionlab.experiments.rounds.contest import contest, interval_row
from fashionlab.experiments.rounds.lineup import Entrant, Lineup, entrants
from fashionlab.experiments.seeding.engine import GroupTraining
from fashionlab.experiments.seeding.plan import Job
from fashionlab.experiments.terms.judgement import Judgement, Say, reproduce
from fashionlab.experiments.terms.names import WORKSPACE, parameter_changes
from fashionlab.statistics.sequential import RaceLook, b_against_a, boundaries, look_order, looks


def decide(root: Path, a: str, b: str | None, judgement: Judgement, say: Say, cluster: str | None = None) -> dict:
    """Train rounds of seeds until a look decides or `max_seeds` shared seeds are reached; the result as data."""
    with GroupTraining(root, sys.stderr, sides=True, cluster=cluster) as training:
        training.warm()  # this machine's group imports TensorFlow meanwhile
        named = entrants(root, Lineup((a, b or WORKSPACE)), twins="there is nothing to decide")
        sides = [Entrant(letter, e.target, e.named) for letter, e in zip("AB", named, strict=True)]

        def told(made: list[RaceLook], order: list[int], wanted: int, jobs: list[Job]) -> None:
            by_side = {letter: [job.seed for job in jobs if job.label == letter] for letter in "AB"}
            say(round_line(b_against_a(made[-1]) if made else None, len(order), wanted, by_side))

        done = contest(root, training, sides, judgement, on_round=told, allow_failures=False)
    order = look_order(
        [side.group.by_seed() for side in sides],
        (0, 1),
        [side.first_seed for side in sides],
        [side.group.trained_at() for side in sides],
    )
    a_side, b_side = (side.named for side in sides)
    plan = looks(judgement.max_seeds)
    made = [b_against_a(look) for look in done.made]
    last = made[-1] if made else None
    return {
        "a": {"revision": a_side.revision, "commit": a_side.commit, "seeds": list(sides[0].group.seeds)},
        "b": {"revision": b_side.revision, "commit": b_side.commit, "seeds": list(sides[1].group.seeds)},
        "parameters": parameter_changes(sides[0].group.params, sides[1].group.params),
        "shared_seeds": order,
        "trained": {side.label: done.trained[i] for i, side in enumerate(sides)},
        "max_seeds": judgement.max_seeds,
        "rope": judgement.rope,
        "resamples": judgement.resamples,
        "seed": judgement.seed,
        "alpha": judgement.alpha,
        "plan": {"looks": list(plan), "boundaries": list(boundaries(plan, judgement.alpha))},
        "looks": [interval_row(look.seeds, look.level, look.difference, look.interval, look.verdict) for look in made],
        "verdict": last.verdict if last else "undecided",
        "reproduce": reproduce("decide", [a, *([] if b_side.commit is None else [b_side.revision])], judgement),
        "workspace": b_side.commit is None,
    }
