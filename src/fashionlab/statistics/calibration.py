"""Are `compare`'s and `decide`'s verdicts calibrated? Measured on real runs' per-image results.

`benchmarks/calibration.py` gathers three groups of real seeds, all with the same seed numbers: the default
configuration, the same with `train.jit_compile: false` (the same arithmetic, rounded otherwise: a change
that cannot matter but still perturbs training, so a paired null), and the lower group's learning rate
doubled (a real but small change). Resampling them answers: how often is a change that cannot matter
called better or worse, by the fixed-size paired comparison and by the whole sequential procedure; how many
seeds does the sequential procedure spend on the small change, against a fixed design; and how often is
the unpaired comparison wrong when one configuration's seeds are split in two?

A sweep of five configurations (`SWEEP`), 24 seeds each, answers the same for `race`: how often is the true best
dropped, how many seeds does a race train against a fixed number per configuration at the same error, and how
often does a sweep of one seed each, read by its best accuracy, pick a wrong winner?
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from fashionlab.statistics.sequential import race_looks, sequential_looks
from fashionlab.statistics.significance import DIRECTIONAL, ROPE, VERDICTS, compare_groups, seeds_needed, verdict

GROUPS = ("baseline", "jit_off", "lower_lr_doubled")


def _shares(calls: Counter, total: int) -> dict:
    return {
        "draws": total,
        **{name: calls[name] / total for name in VERDICTS},
        "directional": sum(calls[name] for name in DIRECTIONAL) / total,  # called better or worse, slightly or not
    }


def seeds_spent(spent: list[int]) -> dict:
    """The seeds a procedure trained, over its runs: mean, median and quartiles."""
    return {
        "mean": float(np.mean(spent)),
        "median": float(np.median(spent)),
        "quartiles": [float(q) for q in np.percentile(spent, [25, 75])],
    }


def fixed_size(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    per_side: int,
    draws: int,
    *,
    rope: float,
    resamples: int,
    paired: bool = True,
    seed: int = 0,
) -> dict:
    """`per_side` of the shared seeds (rows), the same ones on both sides, drawn `draws` seeded ways: how often
    is each verdict of the fixed-size comparison given, paired, or unpaired as `compare` was before?"""
    rng = np.random.default_rng(seed)
    calls = Counter()
    for i in range(draws):
        rows = rng.choice(len(correct_a), per_side, replace=False)
        result = compare_groups(correct_a[rows], correct_b[rows], paired=paired, resamples=resamples, seed=i)
        calls[verdict(*result.interval, rope)] += 1
    return _shares(calls, draws) | {"per_side": per_side}


def sequential(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    max_seeds: int,
    orders: int,
    *,
    rope: float,
    resamples: int,
    seed: int = 0,
) -> dict:
    """The whole sequential procedure on the shared seeds taken in `orders` seeded orders: how often is each
    verdict given, and how many seeds a side does it spend?"""
    rng = np.random.default_rng(seed)
    calls, spent = Counter(), []
    for i in range(orders):
        order = rng.permutation(len(correct_a))[:max_seeds]
        made = sequential_looks(correct_a[order], correct_b[order], max_seeds, rope=rope, resamples=resamples, seed=i)
        calls[made[-1].verdict] += 1
        spent.append(made[-1].seeds)
    return _shares(calls, orders) | {
        "max_seeds": max_seeds,
        "seeds_spent": {
            **seeds_spent(spent),
            "by_count": {str(k): v / orders for k, v in sorted(Counter(spent).items())},
        },
    }


def same_configuration(
    correct: np.ndarray, per_side: int, splits: int, *, rope: float, resamples: int, seed: int = 0
) -> dict:
    """Split one configuration's seeds into two disjoint groups of `per_side`, `splits` seeded ways, and compare
    them unpaired (their seed numbers differ): how often is each verdict given?"""
    rng = np.random.default_rng(seed)
    calls = Counter()
    for i in range(splits):
        order = rng.permutation(len(correct))
        a, b = correct[order[:per_side]], correct[order[per_side : 2 * per_side]]
        calls[verdict(*compare_groups(a, b, resamples=resamples, seed=i).interval, rope)] += 1
    return _shares(calls, splits) | {"per_side": per_side}


def pairing(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """What pairing by seed buys on these runs: how alike the two sides' runs of one seed are."""
    accuracy_a, accuracy_b = correct_a.mean(axis=1), correct_b.mean(axis=1)
    seeds = range(len(correct_a))
    other_seed = np.mean([np.mean(correct_a[i] != correct_b[j]) for i in seeds for j in seeds if i != j])
    return {
        "correlation": float(np.corrcoef(accuracy_a, accuracy_b)[0, 1]),
        "sd_paired_difference": float(np.std(accuracy_b - accuracy_a, ddof=1)),
        "sd_unpaired_difference": float(np.sqrt(np.var(accuracy_a, ddof=1) + np.var(accuracy_b, ddof=1))),
        "mean_difference": float(np.mean(accuracy_b - accuracy_a)),
        "images_disagreeing_same_seed": float(np.mean(correct_a != correct_b)),
        "images_disagreeing_other_seed": float(other_seed),
    }


def unpack(arrays: dict[str, np.ndarray], group: str, images: int) -> np.ndarray:
    return np.unpackbits(arrays[f"{group}_correct"], axis=1, count=images).astype(bool)


def unpack_sweep(arrays: dict[str, np.ndarray], images: int) -> tuple[np.ndarray, list[str]]:
    """The sweep's runs (configurations × seeds × images, True where right) and its configurations' names."""
    sweep = np.unpackbits(arrays["sweep_correct"], axis=2, count=images).astype(bool)
    return sweep, [str(name) for name in arrays["sweep_names"]]


def measure(arrays: dict[str, np.ndarray], images: int, resamples: int, draws: int, max_seeds: int = 20) -> dict:
    """The figures of benchmarks/calibration.json from the arrays of calibration_runs.npz: each group's
    per-image results packed to bits (`<group>_correct`) and its seeds (`<group>_seeds`), rows in the same
    seed order in every group."""
    runs = {group: unpack(arrays, group, images) for group in GROUPS}
    seeds = {group: arrays[f"{group}_seeds"].tolist() for group in GROUPS}
    if any(seeds[group] != seeds["baseline"] for group in GROUPS):
        raise ValueError(f"every group needs the same seeds in the same order, got {seeds}")
    baseline, null, change = runs["baseline"], runs["jit_off"], runs["lower_lr_doubled"]
    largest = min(len(baseline), max_seeds)
    sizes = [k for k in (2, 3, 4, 5, 6, 8, 10) if k <= len(baseline)]
    options = {"rope": ROPE, "resamples": resamples}
    unpaired_sd = pairing(baseline, change)["sd_unpaired_difference"] / np.sqrt(2)
    return {
        "rope": ROPE,
        "resamples": resamples,
        "seeds": seeds["baseline"],
        "accuracy": {group: runs[group].mean(axis=1).tolist() for group in GROUPS},
        "pairing": {"jit_off": pairing(baseline, null), "lower_lr_doubled": pairing(baseline, change)},
        "null_fixed": [fixed_size(baseline, null, k, draws, **options) for k in sizes],
        "null_sequential": sequential(baseline, null, largest, draws, **options),
        "change_fixed": [fixed_size(baseline, change, k, draws, **options) for k in sizes],
        "change_sequential": sequential(baseline, change, largest, draws, **options),
        "fixed_design_seeds": {  # what `compare` asked for before pairing: the unpaired power calculation
            "delta_rope": (before := seeds_needed(float(unpaired_sd), ROPE)),
            "delta_0.002": seeds_needed(float(unpaired_sd), 0.002),
        },
        "change_fixed_unpaired": fixed_size(baseline, change, before, draws, **options, paired=False),
        "same_configuration_unpaired": [
            same_configuration(baseline, k, draws, **options) for k in sizes if 2 * k <= len(baseline)
        ],
    }


# --- races: which of several configurations is best --------------------------------------------------------

# A sweep as users run one: the default, a change that cannot matter (XLA off), the lower group's learning rate
# doubled (a real but small gain) and four times, and 5 epochs instead of 20 (clearly worse). The first two are
# the paired null: raced with the clearly worse one alone, a race that drops one of them has called a change that
# cannot matter worse than its twin.
SWEEP = ("baseline", "jit_off", "lower_lr_doubled", "lower_lr_quadrupled", "epochs_5")
SWEEP_NULL = ("baseline", "jit_off")
NULL_RACE = ("baseline", "jit_off", "epochs_5")


def one_race(
    runs: np.ndarray, order: np.ndarray, max_seeds: int, *, rope: float, resamples: int, seed: int, plan=None
) -> dict:
    """The race of `runs` (configurations × seeds × images) with its seeds taken in `order`: how it ended, who
    was left, who led, and the seeds each configuration trained."""
    by_seed = [{position: runs[i, row] for position, row in enumerate(order, start=1)} for i in range(len(runs))]
    made = race_looks(by_seed, max_seeds, rope=rope, resamples=resamples, seed=seed, plan=plan)
    last = made[-1]
    spent = [max((look.seeds for look in made if i in look.accuracy), default=0) for i in range(len(runs))]
    return {
        "outcome": last.outcome or "undecided",
        "remaining": list(last.remaining),
        "leader": last.leader,
        "seeds": spent,
    }


def races(runs: np.ndarray, draws: int, max_seeds: int, *, rope: float, resamples: int, seed: int = 0, plan=None):
    """`draws` races of the same configurations, each with the seeds in another seeded order."""
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(runs.shape[1]) for _ in range(draws)]
    return [
        one_race(runs, order, max_seeds, rope=rope, resamples=resamples, seed=i, plan=plan)
        for i, order in enumerate(orders)
    ]


def race_figures(records: list[dict], truth: dict, null: tuple[int, int]) -> dict:
    """How often races ended each way, dropped the true best, named a configuration worse than the best beyond
    the ROPE among the ones left, split the null pair; and the seeds they trained."""
    best, clearly_worse = truth["best"], set(truth["clearly_worse"])
    spent = [sum(record["seeds"]) for record in records]
    outcomes = Counter(record["outcome"] for record in records)
    winners = [record["remaining"][0] for record in records if record["outcome"] == "winner"]
    return {
        "draws": len(records),
        "outcomes": {name: outcomes[name] / len(records) for name in ("winner", "equivalent", "budget")},
        "best_dropped": float(np.mean([best not in record["remaining"] for record in records])),
        "winner_is_best": float(np.mean([w == best for w in winners])) if winners else None,
        "clearly_worse_left": float(np.mean([bool(clearly_worse & set(record["remaining"])) for record in records])),
        "null_pair_split": float(np.mean([len(set(null) & set(record["remaining"])) == 1 for record in records])),
        "seeds_spent": seeds_spent(spent),
    }


def one_seed_sweeps(runs: np.ndarray, truth: dict) -> dict:
    """A sweep of one seed each, read by its best test accuracy, as `dvc exp show` sorted is read: on each seed,
    how often is the pick not the best, and how often worse than the best beyond the ROPE?"""
    picks = runs.mean(axis=2).argmax(axis=0)  # per seed: the configuration with the highest accuracy on it
    return {
        "seeds": int(runs.shape[1]),
        "not_the_best": float(np.mean(picks != truth["best"])),
        "clearly_worse": float(np.mean(np.isin(picks, truth["clearly_worse"]))),
        "picks": {str(i): int(np.sum(picks == i)) for i in range(len(runs))},
    }


def sweep_truth(runs: np.ndarray, rope: float) -> dict:
    """What all the seeds say: each configuration's mean test accuracy, the best, the ones worse than it beyond
    the ROPE."""
    accuracy = runs.mean(axis=2).mean(axis=1)
    best = int(np.argmax(accuracy))
    return {
        "accuracy": accuracy.tolist(),
        "best": best,
        "clearly_worse": [i for i, value in enumerate(accuracy) if accuracy[best] - value > rope],
    }


def measure_races(
    arrays: dict[str, np.ndarray], images: int, resamples: int, draws: int, max_seeds: int = 20, fixed=(5, 8, 12, 20)
) -> dict:
    """The race figures of benchmarks/calibration.json from the sweep in calibration_runs.npz (`sweep_correct`:
    configurations × seeds × packed images, rows of every configuration the same seeds)."""
    runs, names = unpack_sweep(arrays, images)
    truth = sweep_truth(runs, ROPE)
    null = tuple(names.index(name) for name in SWEEP_NULL)
    options = {"rope": ROPE, "resamples": resamples}
    race_records = races(runs, draws, max_seeds, **options)
    twins = [names.index(name) for name in NULL_RACE]
    null_runs = runs[twins]
    null_truth = sweep_truth(null_runs, ROPE)
    null_records = races(null_runs, draws, max_seeds, **options)
    return {
        "configurations": names,
        "seeds": arrays["sweep_seeds"].tolist(),
        "truth": truth,
        "race": race_figures(race_records, truth, null) | {"max_seeds": max_seeds},
        "race_records": race_records,
        "null_race": {
            "configurations": list(NULL_RACE),
            **race_figures(null_records, null_truth, (0, 1)),
            "either_twin_dropped": float(np.mean([not {0, 1} <= set(record["remaining"]) for record in null_records])),
        },
        "fixed": [
            race_figures(races(runs, draws, n, **options, plan=(n,)), truth, null) | {"per_configuration": n}
            for n in fixed
            if n <= runs.shape[1]
        ],
        "one_seed": one_seed_sweeps(runs, truth),
    }
