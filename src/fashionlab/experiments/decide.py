"""`fashionlab decide [A] [B]`: add seeds to both sides in rounds until the paired comparison is decided.

Each round gives both configurations the same new seed numbers (trained together, as `fashionlab seeds`
does), then looks at the paired comparison of the shared seeds at the sizes `sequential` plans, and stops
at the first look whose repeated confidence interval decides: better, worse, slightly so, or equivalent. At
`--max-seeds` it stops undecided, with what the data says so far. A look uses the first n shared seeds in a
fixed order (the named runs' seed, then ascending), so a rerun repeats the looks already made exactly: Ctrl-C
keeps every finished seed, and running the command again goes on where it stopped, training nothing twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.comparison import parameter_changes, parameters_line, verdict_sentence
from fashionlab.experiments.predictions import check_same_test_set, load_predictions
from fashionlab.experiments.race import Entrant, contest
from fashionlab.experiments.replicates import WORKSPACE, experiments_table, runs
from fashionlab.experiments.seeds import GroupTraining, Job, check_code, listed, target_run
from fashionlab.experiments.workspace import check_current
from fashionlab.statistics.sequential import Look, RaceLook, b_against_a, boundaries, look_order, looks

Say = Callable[[str], None]


def decide(
    root: Path,
    a: str,
    b: str | None,
    *,
    max_seeds: int,
    rope: float,
    resamples: int,
    seed: int,
    say: Say,
    cluster: str | None = None,
) -> dict:
    """Train rounds of seeds until a look decides or `max_seeds` shared seeds are reached; the result as data."""
    with GroupTraining(root, sys.stderr, sides=True, cluster=cluster) as training:
        training.start()  # TensorFlow's imports meanwhile
        if b is None:
            check_current(root)
        named = [load_predictions(root, a), load_predictions(root, b)]
        check_same_test_set(*named)
        table = experiments_table(root, all_commits=False)
        found, _ = runs(table)
        targets = [target_run(root, table, found, None if n.commit is None else n.revision) for n in named]
        if targets[0].configuration == targets[1].configuration:
            raise RevisionError(
                f"{named[0].revision} and {named[1].revision} are the same configuration (the same code and "
                "parameters but the seed): there is nothing to decide"
            )
        for side, target in zip(named, targets, strict=True):
            check_code(root, target, side.revision)
        sides = [Entrant(letter, target, side) for letter, target, side in zip("AB", targets, named, strict=True)]
        done = contest(
            root,
            training,
            sides,
            max_seeds=max_seeds,
            rope=rope,
            resamples=resamples,
            seed=seed,
            on_round=lambda made, order, wanted, jobs: say(_round_line(made, order, wanted, jobs)),
            allow_failures=False,
        )
    order = look_order([side.rows() for side in sides], (0, 1), [side.first_seed for side in sides])
    trained = {side.label: done.trained[i] for i, side in enumerate(sides)}
    return _result(sides, order, [b_against_a(look) for look in done.made], max_seeds, rope, resamples, seed, trained)


def _round_line(made: list[RaceLook], order: list[int], wanted: int, jobs: list[Job]) -> str:
    seeds = f"{len(order)} shared seed{'' if len(order) == 1 else 's'}"
    if made:
        last = b_against_a(made[-1])
        where = (
            f"{seeds}: B - A {last.difference:+.4f}, {last.level:.2%} interval [{last.interval[0]:+.4f}, "
            f"{last.interval[1]:+.4f}], undecided"
        )
    else:
        where = seeds
    by_side = {letter: [job.seed for job in jobs if job.label == letter] for letter in ("A", "B")}
    if by_side["A"] == by_side["B"]:
        training = f"{listed(by_side['A'])} on each side"
    else:
        training = " and ".join(f"{letter}'s {listed(seeds)}" for letter, seeds in by_side.items() if seeds)
    return f"{where}; next look at {wanted}: training {training}"


def _result(
    sides: list[Entrant],
    order: list[int],
    made: list[Look],
    max_seeds: int,
    rope: float,
    resamples: int,
    seed: int,
    trained: dict[str, list[int]],
) -> dict:
    last, plan = (made[-1] if made else None), looks(max_seeds)
    a, b = sides[0].named, sides[1].named
    command = "fashionlab decide " + " ".join(
        [a.revision, *([] if b.commit is None else [b.revision]), f"--max-seeds {max_seeds}"]
    )
    return {
        "a": {"revision": a.revision, "commit": a.commit, "seeds": list(sides[0].group.seeds)},
        "b": {"revision": b.revision, "commit": b.commit, "seeds": list(sides[1].group.seeds)},
        "parameters": parameter_changes(sides[0].group.params, sides[1].group.params),
        "shared_seeds": order,
        "trained": trained,
        "max_seeds": max_seeds,
        "rope": rope,
        "resamples": resamples,
        "seed": seed,
        "plan": {"looks": list(plan), "boundaries": list(boundaries(plan))},
        "looks": [
            {
                "seeds": look.seeds,
                "level": look.level,
                "difference": look.difference,
                "low": look.interval[0],
                "high": look.interval[1],
                "verdict": look.verdict,
            }
            for look in made
        ],
        "verdict": last.verdict if last else "undecided",
        "reproduce": command,
        "workspace": b.commit is None and b.revision == WORKSPACE,
    }


def as_text(result: dict) -> str:
    a, b, made = result["a"], result["b"], result["looks"]
    lines = [
        f"A  {_label(a)}: {_count(a['seeds'])}; B  {_label(b)}: {_count(b['seeds'])}; "
        f"paired on the {len(result['shared_seeds'])} seeds both ran",
        *([line] if (line := parameters_line(result["parameters"])) else []),
        f"looks planned at {', '.join(map(str, result['plan']['looks']))} shared seeds, each interval at the level "
        "its share of the 5% allows (group-sequential, Hwang-Shih-DeCani spending):",
        *(
            f"  {look['seeds']:>3} seeds: B - A {look['difference']:+.4f}, {look['level']:.2%} interval "
            f"[{look['low']:+.4f}, {look['high']:+.4f}]: {look['verdict']}"
            for look in made
        ),
        f"trained by this command: A {_trained(result['trained']['A'])}, B {_trained(result['trained']['B'])}",
        f"verdict: {_verdict(result)}",
        f"reproduce: {result['reproduce']}",
    ]
    return "\n".join(lines) + "\n"


def as_markdown(result: dict) -> str:
    a, b = result["a"], result["b"]
    lines = [
        f"**{_verdict(result)}.**",
        "",
        f"A: `{_label(a)}` against B: `{_label(b)}`, paired on {len(result['shared_seeds'])} shared seeds, looks "
        f"planned at {', '.join(map(str, result['plan']['looks']))} (group-sequential, 5% in all).",
        "",
        "| shared seeds | B − A | interval | level | verdict |",
        "|---:|---:|---|---:|---|",
        *(
            f"| {look['seeds']} | {look['difference']:+.4f} | {look['low']:+.4f} to {look['high']:+.4f} "
            f"| {look['level']:.2%} | {look['verdict']} |"
            for look in result["looks"]
        ),
        "",
        f"Reproduce: `{result['reproduce']}`",
    ]
    return "\n".join(lines) + "\n"


def _verdict(result: dict) -> str:
    looks_made = result["looks"]
    if not looks_made:
        return "undecided: fewer than 2 shared seeds"
    last = looks_made[-1]
    sentence = verdict_sentence(result["verdict"], last["level"], result["rope"])
    spent = f"after {last['seeds']} seeds a side"
    if result["verdict"] == "undecided":
        return f"{sentence}, {spent}, the most --max-seeds allows; B - A {last['difference']:+.4f} so far"
    return f"{sentence} ({spent})"


def _label(side: dict) -> str:
    return side["revision"] if side["commit"] is None else f"{side['revision']} ({side['commit'][:7]})"


def _count(seeds: list) -> str:
    return f"{len(seeds)} seed{'' if len(seeds) == 1 else 's'}"


def _trained(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds)) if seeds else "none"
