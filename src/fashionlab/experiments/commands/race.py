"""`fashionlab race`: of several configurations, find the best with paired seeds, dropping the losers early.

Every round gives every configuration still in the same new seed numbers (`rounds.contest`); at the planned looks
each is compared with the leader, and one shown worse beyond the ROPE is dropped and trains no more. It ends with
one winner, a set equivalent within the ROPE (the cheapest to train named), or at `--max-seeds` with the ones left
ranked, undecided. `decide` is a race of two.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fashionlab.experiments.reports import race_picture
from fashionlab.experiments.reports.race import look_line, round_line
from fashionlab.experiments.rounds.contest import Contest, contest, interval_row
from fashionlab.experiments.rounds.lineup import Entrant, Lineup, entrants
from fashionlab.experiments.seeding.engine import GroupTraining
from fashionlab.experiments.terms.judgement import Judgement, Say, reproduce
from fashionlab.experiments.terms.names import setting_apart
from fashionlab.statistics.sequential import WITHIN, RaceLook, Standing, boundaries, looks, seeds_to_decide


def race(root: Path, lineup: Lineup, judgement: Judgement, say: Say, cluster: str | None = None) -> dict:
    """Run the race of the lineup; the result as data (every format prints it)."""
    with GroupTraining(root, sys.stderr, sides=True, cluster=cluster) as training:
        training.warm()  # this machine's group imports TensorFlow meanwhile
        chosen = entrants(root, lineup)
        labels = [entrant.label for entrant in chosen]
        say(
            f"racing {len(chosen)} configurations on paired seeds, looks at "
            f"{', '.join(map(str, looks(judgement.max_seeds)))} shared seeds, each against the leader at the level "
            f"{judgement.alpha:g}/{len(chosen) - 1} allows (Ctrl-C keeps every finished seed; the same command goes on)"
        )
        done = contest(
            root,
            training,
            chosen,
            judgement,
            on_look=lambda look, entrants: say(look_line(look, labels)),
            on_round=lambda made, order, wanted, jobs: say(
                round_line(wanted, sorted({job.seed for job in jobs}), len({job.label for job in jobs}), len(chosen))
            ),
        )
    return result(chosen, done, judgement) | {"reproduce": reproduce("race", lineup.arguments(), judgement)}


def result(chosen: list[Entrant], done: Contest, judgement: Judgement) -> dict:
    """The race as plain data: each configuration at its last look (its accuracy over that look's seeds, its
    interval against the leader, how it left or stands), the looks, and how the race ended."""
    made = done.made
    final = made[-1] if made else None
    outcome = final.outcome if final and final.outcome else "undecided"
    leader = final.leader if final and final.leader >= 0 else None
    keys = setting_apart([e.target.params for e in chosen])
    plan = looks(judgement.max_seeds)
    return {
        "configurations": [_row(i, entrant, done, leader, outcome, keys) for i, entrant in enumerate(chosen)],
        "outcome": outcome,
        "leader": leader,
        "looks": [_look(look) for look in made],
        "alpha": judgement.alpha,
        "rope": judgement.rope,
        "max_seeds": judgement.max_seeds,
        "resamples": judgement.resamples,
        "seed": judgement.seed,
        "plan": {"looks": list(plan), "boundaries": list(boundaries(plan, judgement.alpha / (len(chosen) - 1)))},
        "more_seeds": _more_seeds(chosen, final, judgement.rope)
        if outcome in ("budget", "undecided") and final
        else None,
    }


def _row(i: int, entrant: Entrant, done: Contest, leader: int | None, outcome: str, keys: list[str]) -> dict:
    """A configuration at its last look."""
    seen = [look for look in done.made if i in look.accuracy]
    last = seen[-1] if seen else None
    standing = next((s for s in last.standings if s.configuration == i), None) if last else None
    return {
        "label": entrant.label,
        "revision": entrant.named.revision if entrant.named else None,
        "commit": entrant.named.commit if entrant.named else None,
        "parameters": {key: entrant.target.params.get(key) for key in keys},
        "seeds": [s for s in entrant.group.seeds if s is not None],
        "accuracy": last.accuracy[i] if last else None,
        "accuracy_seeds": last.seeds if last else 0,
        "against_leader": _standing(standing, last) if standing else None,
        "status": _status(i, done.made, done.failed, leader, outcome, standing),
        "failed": done.failed.get(i),
        "seconds_per_seed": entrant.seconds,
        "trained": done.trained.get(i, []),
    }


def _look(look: RaceLook) -> dict:
    return {
        "seeds": look.seeds,
        "level": look.level,
        "leader": look.leader,
        "order": list(look.order),
        "standings": [{"configuration": s.configuration, **_standing(s, look)} for s in look.standings],
        "dropped": list(look.dropped),
        "failed": list(look.failed),
        "outcome": look.outcome,
    }


def _standing(standing: Standing, look: RaceLook) -> dict:
    return interval_row(look.seeds, look.level, standing.difference, standing.interval, standing.verdict)


def _status(
    i: int, made: list[RaceLook], failed: dict[int, str], leader: int | None, outcome: str, standing: Standing | None
) -> str:
    if any(i in look.dropped for look in made):
        return "dropped"
    if i in failed or any(i in look.failed for look in made):
        return "failed"
    if i == leader:
        return "winner" if outcome == "winner" else "leader"
    return "within" if standing is not None and standing.verdict in WITHIN else "open"


def _more_seeds(chosen: list[Entrant], final: RaceLook, rope: float) -> dict[str, int]:
    """For each configuration not yet separated from the leader: about how many shared seeds would decide it."""
    return {
        chosen[s.configuration].label: seeds_to_decide(final.seeds, *s.interval, rope)
        for s in final.standings
        if s.verdict == "undecided" and s.configuration not in final.dropped
    }


def write_report(root: Path, result: dict, folder: Path) -> dict:
    """The race's picture, its rows and its `dvc.yaml` written into `folder`; where they are, for the report."""
    from fashionlab.common.outputs import write_files

    target = folder if folder.is_absolute() else Path.cwd() / folder
    write_files(race_picture.report_files(root, result, target))
    return {"folder": str(folder), "png": str(folder / race_picture.PICTURE)}
