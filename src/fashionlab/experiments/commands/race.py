"""`fashionlab race`: of several configurations, name the one to use, with paired seeds, dropping the losers early.

Every round gives every configuration still in the same new seed numbers (`rounds.contest`); at the planned looks
each is compared with the leader, and one shown worse beyond the ROPE is dropped and trains no more. It ends with
one winner; with a choice, a configuration no other is better than by more than the ROPE (a good selection: of
several, the cheapest to train named); or at `--max-seeds` with the ones left ranked, undecided, and the command
that goes on. `decide` is a race of two that asks another question: is B better than A?
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from fashionlab.experiments.reports import race_picture
from fashionlab.experiments.reports.race import look_line, round_line
from fashionlab.experiments.rounds.contest import Contest, contest, interval_row
from fashionlab.experiments.rounds.lineup import Entrant, Lineup, entrants
from fashionlab.experiments.rounds.sweep import base_changes
from fashionlab.experiments.seeding.engine import GroupTraining
from fashionlab.experiments.terms.judgement import Judgement, Say, reproduce
from fashionlab.experiments.terms.names import setting_apart
from fashionlab.statistics.sequential import (
    CHOICE_BOUND,
    GAMMA,
    WITHIN,
    RaceLook,
    Standing,
    looks,
    race_boundaries,
    seeds_to_choose,
)


def race(root: Path, lineup: Lineup, judgement: Judgement, say: Say, cluster: str | None = None) -> dict:
    """Run the race of the lineup; the result as data (every format prints it)."""
    with GroupTraining(root, sys.stderr, sides=True, cluster=cluster) as training:
        training.warm()  # this machine's group imports TensorFlow meanwhile
        chosen = entrants(root, lineup)
        labels = [entrant.label for entrant in chosen]
        if lineup.sweep:  # -S applies to the workspace's params.yaml: say where it is not HEAD's
            lineup = replace(lineup, base=tuple(base_changes(root, lineup.sweep)))
        on = f" (each with {', '.join(lineup.base)}: the workspace's params.yaml, not HEAD's)" if lineup.base else ""
        say(
            f"racing {len(chosen)} configurations{on} on paired seeds, looks at "
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
            choose=True,
        )
    found = result(chosen, done, judgement)
    found["base"] = list(lineup.base)
    found["reproduce"] = reproduce("race", lineup.arguments(), judgement)
    found["go_on"] = _go_on(lineup.arguments(), judgement, found)
    return found


def _go_on(arguments: list[str], judgement: Judgement, found: dict) -> dict | None:
    """After `--max-seeds`: the race that goes on, to about the seeds the projections ask for (twice as many where
    none can be made), the same options otherwise."""
    if found["outcome"] not in ("budget", "undecided") or not found["looks"]:
        return None
    wanted = max((found["more_seeds"] or {}).values(), default=2 * judgement.max_seeds)
    more = replace(judgement, max_seeds=max(wanted, judgement.max_seeds + 1))
    return {"max_seeds": more.max_seeds, "command": reproduce("race", arguments, more)}


def result(chosen: list[Entrant], done: Contest, judgement: Judgement) -> dict:
    """The race as plain data: each configuration at its last look (its accuracy over that look's seeds, its
    intervals against the leader and against the choice, how it left or stands), the looks, how the race ended
    and what to use (`choice`: the winner, or the good choice named)."""
    made = done.made
    final = made[-1] if made else None
    outcome = final.outcome if final and final.outcome else "undecided"
    leader = final.leader if final and final.leader >= 0 else None
    choice = _choice(chosen, final) if outcome in ("winner", "choice") else None
    keys = setting_apart([e.target.params for e in chosen])
    plan = looks(judgement.max_seeds)
    more = _more_seeds(chosen, final, judgement.rope) if outcome in ("budget", "undecided") and final else None
    return {
        "configurations": [_row(i, entrant, done, outcome, leader, choice, keys) for i, entrant in enumerate(chosen)],
        "outcome": outcome,
        "leader": leader,
        "choice": choice,
        "good_choices": sorted(final.good) if outcome == "choice" else [],
        "looks": [_look(look) for look in made],
        "alpha": judgement.alpha,
        "rope": judgement.rope,
        "max_seeds": judgement.max_seeds,
        "resamples": judgement.resamples,
        "seed": judgement.seed,
        "plan": {
            "looks": list(plan),
            "bound": CHOICE_BOUND,
            "boundaries": list(race_boundaries(plan, len(chosen), CHOICE_BOUND, judgement.alpha, GAMMA)),
        },
        "more_seeds": more,
    }


def _choice(chosen: list[Entrant], final: RaceLook) -> int:
    """What to use: the winner; of several good choices, the cheapest to train (`metrics/timing.json`), else the most
    accurate. Any of them keeps the guarantee: the error it bounds does not depend on which is named."""
    timed = [i for i in sorted(final.good) if chosen[i].seconds is not None]
    if final.outcome == "choice" and timed:
        return min(timed, key=lambda i: (chosen[i].seconds, -final.accuracy[i], i))
    return final.most_accurate_choice


def _row(
    i: int,
    entrant: Entrant,
    done: Contest,
    outcome: str,
    leader: int | None,
    choice: int | None,
    keys: list[str],
) -> dict:
    """A configuration at its last look."""
    seen = [look for look in done.made if i in look.accuracy]
    last = seen[-1] if seen else None
    standing = next((s for s in last.standings if s.configuration == i), None) if last else None
    against_choice = None
    if outcome == "choice" and i != choice and last is done.made[-1]:
        against_choice = next((s for s in last.good[choice] if s.configuration == i), None)
    return {
        "label": entrant.label,
        "revision": entrant.named.revision if entrant.named else None,
        "commit": entrant.named.commit if entrant.named else None,
        "parameters": {key: entrant.target.params.get(key) for key in keys},
        "seeds": list(last.order) if last else [],  # what its last look used, in the order the looks take them
        "accuracy": last.accuracy[i] if last else None,
        "accuracy_seeds": last.seeds if last else 0,
        "against_leader": _standing(standing, last) if standing else None,
        "against_choice": _standing(against_choice, last) if against_choice else None,
        "status": _status(i, done, outcome, leader, choice, standing, against_choice),
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
        "good_choices": sorted(look.good),
        "outcome": look.outcome,
    }


def _standing(standing: Standing, look: RaceLook) -> dict:
    return interval_row(look.seeds, look.level, standing.difference, standing.interval, standing.verdict)


def _status(
    i: int,
    done: Contest,
    outcome: str,
    leader: int | None,
    choice: int | None,
    standing: Standing | None,
    against_choice: Standing | None,
) -> str:
    if any(i in look.dropped for look in done.made):
        return "dropped"
    if i in done.failed or any(i in look.failed for look in done.made):
        return "failed"
    if outcome == "winner":
        return "winner" if i == choice else "open"
    if outcome == "choice":
        if i == choice:
            return "choice"
        if against_choice is None:
            return "open"
        if against_choice.verdict == "worse":
            return "worse"
        return "within" if against_choice.verdict in WITHIN else "close"
    if i == leader:
        return "leader"
    return "near" if standing is not None and standing.verdict in WITHIN else "open"


def _more_seeds(chosen: list[Entrant], final: RaceLook, rope: float) -> dict[str, int]:
    """For each configuration that may still be better than the leader by more than the ROPE: about how many shared
    seeds in all would make the leader a good choice against it."""
    found = {
        chosen[s.configuration].label: seeds_to_choose(final.seeds, *s.interval, rope)
        for s in final.standings
        if s.interval[1] > rope and s.configuration not in final.dropped
    }
    return {label: n for label, n in found.items() if n is not None}


def write_report(root: Path, result: dict, folder: Path) -> dict:
    """The race's picture, its rows and its `dvc.yaml` written into `folder`; where they are, for the report."""
    from fashionlab.common.outputs import write_files

    target = folder if folder.is_absolute() else Path.cwd() / folder
    write_files(race_picture.report_files(root, result, target))
    return {"folder": str(folder), "png": str(folder / race_picture.PICTURE)}
