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
from dataclasses import dataclass
from pathlib import Path

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.comparison import paired_rows, parameter_changes, parameters_line, verdict_sentence
from fashionlab.experiments.predictions import Predictions, check_same_test_set, load_predictions, load_seed_group
from fashionlab.experiments.replicates import WORKSPACE, SeedGroup, experiments_table, runs
from fashionlab.experiments.seeds import GroupTraining, Job, check_code, job_for, listed, target_run
from fashionlab.experiments.sequential import Look, boundaries, looks, sequential_looks
from fashionlab.experiments.workspace import check_current

Say = Callable[[str], None]


@dataclass
class Side:
    letter: str
    named: Predictions  # the run the user named
    group: SeedGroup | None = None  # its group of seeds, read again after every round
    named_seed: int | None = None


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
) -> dict:
    """Train rounds of seeds until a look decides or `max_seeds` shared seeds are reached; the result as data."""
    with GroupTraining(root, sys.stderr, sides=True) as training:
        training.start()  # TensorFlow's imports meanwhile
        if b is None:
            check_current(root)
        sides = [Side("A", load_predictions(root, a)), Side("B", load_predictions(root, b))]
        check_same_test_set(sides[0].named, sides[1].named)
        table = experiments_table(root, all_commits=False)
        found, _ = runs(table)
        targets = [target_run(root, table, found, None if s.named.commit is None else s.named.revision) for s in sides]
        if targets[0].configuration == targets[1].configuration:
            raise RevisionError(
                f"{sides[0].named.revision} and {sides[1].named.revision} are the same configuration (the same code "
                "and parameters but the seed): there is nothing to decide"
            )
        for side, target in zip(sides, targets, strict=True):
            check_code(root, target, side.named.revision)
        plan = looks(max_seeds)
        trained: dict[str, list[int]] = {"A": [], "B": []}
        while True:
            _load_groups(root, sides)
            order = shared_order(*sides)
            made = _looks(sides, order, max_seeds, rope, resamples, seed)
            wanted = next((size for size in plan if size > len(order)), None)
            if (made and made[-1].verdict != "undecided") or (made and made[-1].seeds == max_seeds) or wanted is None:
                break
            fresh = _fresh(order, wanted - len(order))
            jobs = [
                job_for(root, target, side.letter, s)
                for side, target in zip(sides, targets, strict=True)
                for s in fresh
                if s not in side.group.seeds
            ]
            say(_round_line(made, order, wanted, jobs))
            outcomes = training.run(jobs)
            failed = [outcome for outcome in outcomes if outcome.accuracy is None]
            if failed:
                first = failed[0]
                raise RevisionError(
                    f"{first.job.label} ({_revision(sides, first.job.label)}): seed {first.job.seed} failed: "
                    f"{first.error}; a paired decision needs every seed of both sides"
                )
            for outcome in outcomes:
                trained[outcome.job.label].append(outcome.job.seed)
    return _result(sides, order, made, plan, max_seeds, rope, resamples, seed, trained)


def shared_order(a: Side, b: Side) -> list[int]:
    """The seeds both groups ran, in the order the looks take them: the named runs' seeds first, then ascending."""
    shared = set(a.group.seeds) & set(b.group.seeds) - {None}
    first = [s for s in dict.fromkeys((a.named_seed, b.named_seed)) if s in shared]
    return first + sorted(shared - set(first))


def _load_groups(root: Path, sides: list[Side]) -> None:
    table = experiments_table(root, all_commits=True)
    found, _ = runs(table)
    for side in sides:
        side.group = load_seed_group(root, table, found, side.named)
        side.named_seed = side.group.seeds[side.group.names.index(side.named.revision)]


def _looks(sides: list[Side], order: list[int], max_seeds: int, rope: float, resamples: int, seed: int) -> list[Look]:
    if len(order) < 2:
        return []
    correct_a, correct_b = paired_rows(sides[0].group, sides[1].group, order)
    return sequential_looks(correct_a, correct_b, max_seeds, rope=rope, resamples=resamples, seed=seed)


def _fresh(order: list[int], count: int) -> list[int]:
    """The `count` smallest seeds from 1 that are not shared yet."""
    fresh, candidate, taken = [], 1, set(order)
    while len(fresh) < count:
        if candidate not in taken:
            fresh.append(candidate)
        candidate += 1
    return fresh


def _revision(sides: list[Side], letter: str) -> str:
    return next(side.named.revision for side in sides if side.letter == letter)


def _round_line(made: list[Look], order: list[int], wanted: int, jobs: list[Job]) -> str:
    seeds = f"{len(order)} shared seed{'' if len(order) == 1 else 's'}"
    if made:
        last = made[-1]
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
    sides: list[Side],
    order: list[int],
    made: list[Look],
    plan: tuple[int, ...],
    max_seeds: int,
    rope: float,
    resamples: int,
    seed: int,
    trained: dict[str, list[int]],
) -> dict:
    last = made[-1] if made else None
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
