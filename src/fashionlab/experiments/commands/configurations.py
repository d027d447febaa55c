"""Two configurations compared by their groups of seeds, as data: paired by seed where both ran the same seed
numbers, each side's seeds resampled on its own otherwise.

Seed s of A is paired with seed s of B (the same split, initial weights and data order) where the groups share two
seed numbers or more: the difference, its interval, P(B > A), the spread of the difference and the seeds needed
come from the shared seeds, and the others are named and left out of them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from fashionlab.experiments.records.groups import SeedGroup
from fashionlab.experiments.terms.names import WORKSPACE, parameter_changes
from fashionlab.statistics.significance import (
    DELTA,
    LEVEL,
    ROPE,
    GroupComparison,
    compare_groups,
    seeds_needed,
    spread,
    spread_sources,
    verdict,
)


def compare_configurations(
    a: SeedGroup, b: SeedGroup, *, rope: float = ROPE, delta: float = DELTA, resamples: int = 10_000, seed: int = 0
) -> dict:
    """The comparison of two configurations as plain data; `verdict` is None while a side has one seed."""
    accuracy_a, accuracy_b = a.correct.mean(axis=1), b.correct.mean(axis=1)
    shared = shared_seeds(a, b)
    paired = len(shared) >= 2
    result = {
        "a_seeds": list(a.seeds),
        "b_seeds": list(b.seeds),
        "a_runs": _runs(a, accuracy_a),
        "b_runs": _runs(b, accuracy_b),
        "other_code_left_out": {"a": a.other_code, "b": b.other_code},
        "parameters": parameter_changes(a.params, b.params),
        "machines": {"a": _machine_counts(a), "b": _machine_counts(b)},
        "a_accuracy": spread(accuracy_a.tolist()),
        "b_accuracy": spread(accuracy_b.tolist()),
        "paired": paired,
        "shared_seeds": shared,
        "left_out": {
            "a": [s for s in a.seeds if s not in shared] if paired else [],
            "b": [s for s in b.seeds if s not in shared] if paired else [],
        },
        "rope": rope,
        "delta": delta,
        "spread": {"a": _sources(a.correct), "b": _sources(b.correct)},
        "difference": float(accuracy_b.mean() - accuracy_a.mean()),
        "interval": None,
        "probability_of_improvement": None,
        "seeds_needed": _seeds_needed(accuracy_a, accuracy_b, delta),
        "verdict": None,
        "add_seeds": None,
    }
    if paired:
        correct_a, correct_b = paired_rows(a, b, shared)
        differences = correct_b.mean(axis=1) - correct_a.mean(axis=1)
        sd = float(np.std(differences, ddof=1))
        result["difference"] = float(differences.mean())
        result["spread"] |= {"paired_difference_sd": sd, "unpaired_difference_sd": _unpaired_sd(a, b)}
        result["seeds_needed"] = seeds_needed(sd, delta, paired=True)
    else:
        correct_a, correct_b = a.correct, b.correct
    if paired or (len(a.seeds) >= 2 and len(b.seeds) >= 2):
        groups = compare_groups(correct_a, correct_b, paired=paired, resamples=resamples, seed=seed, level=LEVEL)
        result |= _interval_and_verdict(groups, rope, resamples, seed)
    if result["verdict"] in (None, "undecided"):
        result["add_seeds"] = _seeds_to_add(a, b, result["seeds_needed"])
    return result


def shared_seeds(a: SeedGroup, b: SeedGroup) -> list[int]:
    """The seed numbers both groups ran, ascending."""
    return sorted(set(a.seeds) & set(b.seeds) - {None})


def paired_rows(a: SeedGroup, b: SeedGroup, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each group's runs of `seeds`, in that order: row i of both is the same seed."""
    rows_a, rows_b = ([group.seeds.index(s) for s in seeds] for group in (a, b))
    return a.correct[rows_a], b.correct[rows_b]


def _interval_and_verdict(groups: GroupComparison, rope: float, resamples: int, seed: int) -> dict:
    (low, high), (p_low, p_high) = groups.interval, groups.probability_interval
    return {
        "interval": {"level": LEVEL, "low": low, "high": high, "resamples": resamples, "seed": seed},
        "probability_of_improvement": {"value": groups.probability_of_improvement, "low": p_low, "high": p_high},
        "verdict": verdict(low, high, rope),
    }


def _unpaired_sd(a: SeedGroup, b: SeedGroup) -> float:
    """The standard deviation of the difference of two runs of other seeds: what pairing saves."""
    return float(np.sqrt(np.var(a.correct.mean(axis=1), ddof=1) + np.var(b.correct.mean(axis=1), ddof=1)))


def _machine_counts(group: SeedGroup) -> list[dict]:
    """How many of the group's runs each machine made, most first ("not recorded" for older runs)."""
    counts = Counter(machine or "not recorded" for machine in group.machines)
    return [{"machine": machine, "runs": runs} for machine, runs in counts.most_common()]


SEEDS_WITHOUT_A_SPREAD = 5  # what to ask for when no side has two seeds to measure the spread with


def _seeds_to_add(a: SeedGroup, b: SeedGroup, needed: int | None) -> str | None:
    """The commands that give each side the seeds the power calculation asks for (None: beyond MAX_SEEDS);
    without a spread to compute it from, 5; where both sides have them already, twice as many."""
    if needed is None and max(len(a.seeds), len(b.seeds)) >= 2:
        return None
    wanted = needed or SEEDS_WITHOUT_A_SPREAD
    if min(len(a.seeds), len(b.seeds)) >= wanted:
        wanted = 2 * max(len(a.seeds), len(b.seeds))
    return "; ".join(_add_seeds(group, wanted) for group in (a, b) if len(group.seeds) < wanted)


def _runs(group: SeedGroup, accuracy: np.ndarray) -> list[dict]:
    return [
        {"name": name, "seed": seed, "accuracy": float(value), "machine": machine}
        for name, seed, value, machine in zip(group.names, group.seeds, accuracy, group.machines, strict=True)
    ]


def _sources(correct: np.ndarray) -> dict | None:
    if len(correct) < 2:
        return None
    sources = spread_sources(correct)
    return {"sd": sources.sd, "test_set_share": sources.test_set_share, "training_share": sources.training_share}


def _seeds_needed(accuracy_a: np.ndarray, accuracy_b: np.ndarray, delta: float) -> int | None:
    """From the pooled standard deviation of the sides that have two seeds or more; None without one."""
    spreads = [(len(x) - 1, np.var(x, ddof=1)) for x in (accuracy_a, accuracy_b) if len(x) > 1]
    if not spreads:
        return None
    pooled = (sum(df * var for df, var in spreads) / sum(df for df, _ in spreads)) ** 0.5
    return seeds_needed(float(pooled), delta)


def _add_seeds(group: SeedGroup, wanted: int) -> str:
    return f"fashionlab seeds {wanted}" + ("" if group.revision == WORKSPACE else f" {group.revision}")
