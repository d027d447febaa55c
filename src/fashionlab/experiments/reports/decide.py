"""`fashionlab decide` as text and markdown, and the line it prints before each round of seeds."""

from __future__ import annotations

from fashionlab.experiments.reports.formats import joined
from fashionlab.experiments.reports.verdicts import parameters_line, verdict_sentence
from fashionlab.experiments.terms.wording import counted, listed, percent, side_label
from fashionlab.statistics.sequential import Look


def round_line(last: Look | None, shared: int, wanted: int, by_side: dict[str, list[int]]) -> str:
    """Where the comparison stands before a round (`last`: its latest look), and what the round trains."""
    seeds = f"{counted(shared, 'shared seed')}"
    if last is not None:
        where = (
            f"{seeds}: B - A {last.difference:+.4f}, {last.level:.2%} interval [{last.interval[0]:+.4f}, "
            f"{last.interval[1]:+.4f}], undecided"
        )
    else:
        where = seeds
    if by_side["A"] == by_side["B"]:
        training = f"{listed(by_side['A'])} on each side"
    else:
        training = " and ".join(f"{letter}'s {listed(seeds)}" for letter, seeds in by_side.items() if seeds)
    return f"{where}; next look at {wanted}: training {training}"


def as_text(result: dict) -> str:
    a, b, made = result["a"], result["b"], result["looks"]
    lines = [
        f"A  {side_label(a)}: {_seeds(a)}; B  {side_label(b)}: {_seeds(b)}; "
        f"paired on the {len(result['shared_seeds'])} seeds both ran",
        *([line] if (line := parameters_line(result["parameters"])) else []),
        f"looks planned at {', '.join(map(str, result['plan']['looks']))} shared seeds, each interval at the level "
        f"its share of the {percent(result['alpha'])} allows (group-sequential, Hwang-Shih-DeCani spending):",
        *(
            f"  {look['seeds']:>3} seeds: B - A {look['difference']:+.4f}, {look['level']:.2%} interval "
            f"[{look['low']:+.4f}, {look['high']:+.4f}]: {look['verdict']}"
            for look in made
        ),
        f"trained by this command: A {_trained(result['trained']['A'])}, B {_trained(result['trained']['B'])}",
        f"verdict: {_verdict(result)}",
        f"reproduce: {result['reproduce']}",
    ]
    return joined(lines)


def as_markdown(result: dict) -> str:
    a, b = result["a"], result["b"]
    lines = [
        f"**{_verdict(result)}.**",
        "",
        f"A: `{side_label(a)}` against B: `{side_label(b)}`, paired on {len(result['shared_seeds'])} shared seeds, "
        f"looks planned at {', '.join(map(str, result['plan']['looks']))} (group-sequential, "
        f"{percent(result['alpha'])} in all).",
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
    return joined(lines)


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


def _trained(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds)) if seeds else "none"


def _seeds(side: dict) -> str:
    return counted(len(side["seeds"]), "seed")
