"""Is `compare`'s verdict on configurations calibrated? Measured on real runs' per-image results.

Two questions, each answered by resampling groups of real seeds (`benchmarks/calibration.py` gathers them):
the same configuration against itself must be called better or worse in at most 5% of the ways its seeds
can be split in two; and a real but small change is called better with how many seeds per side?
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from fashionlab.experiments.comparison import ROPE
from fashionlab.experiments.significance import VERDICTS, compare_groups, verdict


def same_configuration(
    correct: np.ndarray, per_side: int, splits: int, *, rope: float, resamples: int, seed: int = 0
) -> dict:
    """Split one configuration's seeds (runs × test images) into two disjoint groups of `per_side`, `splits`
    seeded ways; how often is each verdict given? Anything but better or worse is right here."""
    rng = np.random.default_rng(seed)
    calls = Counter()
    for i in range(splits):
        order = rng.permutation(len(correct))
        a, b = correct[order[:per_side]], correct[order[per_side : 2 * per_side]]
        calls[verdict(*compare_groups(a, b, resamples=resamples, seed=i).interval, rope)] += 1
    return _shares(calls, splits) | {
        "per_side": per_side,
        "false_difference": (calls["better"] + calls["worse"]) / splits,
    }


def change(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    per_side: int,
    draws: int,
    *,
    rope: float,
    resamples: int,
    seed: int = 0,
) -> dict:
    """`per_side` seeds drawn from each configuration, `draws` seeded ways: how often is each verdict given?"""
    rng = np.random.default_rng(seed)
    calls = Counter()
    for i in range(draws):
        a = correct_a[rng.choice(len(correct_a), per_side, replace=False)]
        b = correct_b[rng.choice(len(correct_b), per_side, replace=False)]
        calls[verdict(*compare_groups(a, b, resamples=resamples, seed=i).interval, rope)] += 1
    return _shares(calls, draws) | {"per_side": per_side}


def _shares(calls: Counter, total: int) -> dict:
    return {"draws": total, **{name: calls[name] / total for name in VERDICTS}}


def measure(arrays: dict[str, np.ndarray], images: int, resamples: int, draws: int) -> dict:
    """The figures of benchmarks/calibration.json from the arrays of calibration_runs.npz: each group's
    per-image results packed to bits (`baseline_correct`, `change_correct`) and seeds."""
    baseline = np.unpackbits(arrays["baseline_correct"], axis=1, count=images).astype(bool)
    changed = np.unpackbits(arrays["change_correct"], axis=1, count=images).astype(bool)
    largest = min(len(baseline), len(changed))
    sizes = sorted({2, 3, 5, 8, largest // 2, largest} & set(range(2, largest + 1)))
    return {
        "rope": ROPE,
        "resamples": resamples,
        "seeds": {"baseline": arrays["baseline_seeds"].tolist(), "change": arrays["change_seeds"].tolist()},
        "accuracy": {"baseline": baseline.mean(axis=1).tolist(), "change": changed.mean(axis=1).tolist()},
        "same_configuration": [
            same_configuration(baseline, k, draws, rope=ROPE, resamples=resamples)
            for k in sizes
            if 2 * k <= len(baseline)
        ],
        "change": [change(baseline, changed, k, draws, rope=ROPE, resamples=resamples) for k in sizes],
    }
