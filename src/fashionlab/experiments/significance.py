"""Statistics for classifiers scored on the same test images: two trained models, or two groups of seeds.

Two trained models: both see the same images, so only the images on which they disagree carry evidence
(Dietterich 1998): McNemar's exact test and a paired bootstrap over the images. Two configurations: each is
a group of runs that differ only in `seed`, and the seed moves test accuracy about as much as the images
do, so both are resampled together (the multi-bootstrap of Sellam et al. 2022). SciPy does what it has a
method for; only the two-level bootstrap is written here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
POWER = 0.80
MAX_SEEDS = 1000  # the power search stops here: a difference that needs more is not worth chasing by seeds


def mcnemar_exact_p(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value: under "no difference" each discordant image is a fair coin flip.

    `fixed`: images B gets right and A wrong; `broken`: the reverse.
    """
    if fixed < 0 or broken < 0:
        raise ValueError(f"counts must be >= 0, got {fixed} and {broken}")
    n = fixed + broken
    return 1.0 if n == 0 else float(stats.binomtest(fixed, n, 0.5).pvalue)


def paired_bootstrap_interval(
    fixed: int, broken: int, total: int, *, resamples: int = 10_000, seed: int = 0, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile interval of accuracy(B) − accuracy(A) over the test images resampled with replacement.

    Each image contributes +1 (fixed), −1 (broken) or 0 to the difference; seeded, so the same inputs give
    the same interval.
    """
    if total <= 0 or fixed + broken > total:
        raise ValueError(f"expected 0 <= fixed + broken <= total and total > 0, got {fixed}, {broken}, {total}")
    if fixed == broken == 0:
        return 0.0, 0.0  # every resample is 0 (SciPy warns of a degenerate distribution)
    differences = np.zeros(total)
    differences[:fixed], differences[fixed : fixed + broken] = 1, -1
    result = stats.bootstrap(
        (differences,),
        np.mean,
        n_resamples=resamples,
        method="percentile",
        confidence_level=level,
        rng=np.random.default_rng(seed),
        batch=500,  # 500 × 10,000 images at a time: bounded memory
        vectorized=True,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass(frozen=True)
class GroupComparison:
    """Group B against group A: the numbers, no text."""

    difference: float  # mean test accuracy of B's seeds − A's
    interval: tuple[float, float]  # its percentile interval over the two-level bootstrap
    probability_of_improvement: float  # P(B > A) over the pairs of one seed of each, ties counting half
    probability_interval: tuple[float, float]


def probability_of_improvement(accuracy_a: np.ndarray, accuracy_b: np.ndarray) -> float:
    """P(a seed of B beats a seed of A): the Mann-Whitney U statistic over all pairs, ties counting half."""
    return float(stats.mannwhitneyu(accuracy_b, accuracy_a).statistic) / (len(accuracy_a) * len(accuracy_b))


def compare_groups(
    correct_a: np.ndarray, correct_b: np.ndarray, *, resamples: int = 10_000, seed: int = 0, level: float = LEVEL
) -> GroupComparison:
    """Compare two groups of seeds by the two-level paired bootstrap.

    `correct_a` (seeds of A × test images) and `correct_b` say which test images each run got right. Each
    resample draws, within each group, as many seeds as it has, with replacement, and one set of test
    images, with replacement, used for both groups: the images are paired, the seeds are not. The
    interval covers the difference of mean accuracy a rerun of both configurations with new seeds, scored
    on a new test set of the same size, would plausibly show.
    """
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    accuracy_a, accuracy_b = correct_a.mean(axis=1), correct_b.mean(axis=1)
    differences, probabilities = _two_level_bootstrap(correct_a, correct_b, resamples, np.random.default_rng(seed))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    p_low, p_high = np.percentile(probabilities, [tail, 100 - tail])
    return GroupComparison(
        float(accuracy_b.mean() - accuracy_a.mean()),
        (float(low), float(high)),
        probability_of_improvement(accuracy_a, accuracy_b),
        (float(p_low), float(p_high)),
    )


def _two_level_bootstrap(
    correct_a: np.ndarray, correct_b: np.ndarray, resamples: int, rng: np.random.Generator, batch: int = 250
) -> tuple[np.ndarray, np.ndarray]:
    """Per resample: mean accuracy of B's drawn seeds − A's, and P(B > A) among the drawn seeds."""
    images = correct_a.shape[1]
    matrix_a, matrix_b = correct_a.astype(np.float64), correct_b.astype(np.float64)
    differences, probabilities = [], []
    for start in range(0, resamples, batch):
        size = min(batch, resamples - start)
        # How often each image is drawn in each resample: one bincount for the whole batch.
        drawn = rng.integers(0, images, size=(size, images)) + images * np.arange(size)[:, None]
        weights = np.bincount(drawn.ravel(), minlength=size * images).reshape(size, images).T / images
        accuracy_a = _drawn_seeds(matrix_a @ weights, rng)  # (resamples in batch, seeds of A)
        accuracy_b = _drawn_seeds(matrix_b @ weights, rng)
        differences.append(accuracy_b.mean(axis=1) - accuracy_a.mean(axis=1))
        b, a = accuracy_b[:, None, :], accuracy_a[:, :, None]  # every pair of drawn seeds
        probabilities.append(((b > a) + 0.5 * (b == a)).mean(axis=(1, 2)))
    return np.concatenate(differences), np.concatenate(probabilities)


def _drawn_seeds(accuracy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`accuracy` is seeds × resamples; draw as many seeds as there are, with replacement, per resample."""
    seeds, size = accuracy.shape
    chosen = rng.integers(0, seeds, size=(size, seeds))
    return accuracy[chosen, np.arange(size)[:, None]]


@dataclass(frozen=True)
class SpreadSources:
    """Where the seed-to-seed spread of one group's test accuracy comes from (Jordan 2024)."""

    sd: float  # of test accuracy between seeds
    test_set_share: float  # of its variance: what independent per-image coin flips on this test set give
    training_share: float  # the rest: seeds that make truly better or worse models; 0 when within noise


def spread_sources(correct: np.ndarray) -> SpreadSources:
    """Split the variance of test accuracy between seeds into test-set noise and training.

    If each image's outcome varied between seeds independently of the other images, accuracy would vary by
    Σ p_i (1 − p_i) / n² (p_i: the share of seeds that get image i right, n images): the noise a finite test
    set adds to models of equal quality. What the seeds vary beyond that is a real difference between the
    models they train. Needs two seeds or more.
    """
    correct = np.asarray(correct, np.float64)
    seeds, images = correct.shape
    if seeds < 2:
        raise ValueError(f"the spread needs two seeds or more, got {seeds}")
    variance = float(np.var(correct.mean(axis=1), ddof=1))
    shares = correct.mean(axis=0)
    test_set = float(np.sum(shares * (1 - shares)) * seeds / (seeds - 1) / images**2)
    test_share = 1.0 if variance == 0 else min(1.0, test_set / variance)
    return SpreadSources(variance**0.5, test_share, 1.0 - test_share)


def seeds_needed(sd: float, delta: float, *, power: float = POWER, level: float = LEVEL) -> int | None:
    """Seeds per configuration for a two-sided t-test at `level` to detect a difference of `delta` with
    `power`, given the standard deviation `sd` of test accuracy between seeds; None beyond MAX_SEEDS."""
    if delta <= 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    for n in range(2, MAX_SEEDS + 1):
        df = 2 * n - 2
        critical = stats.t.ppf(1 - (1 - level) / 2, df)
        if sd == 0:
            return n
        shift = delta / (sd * (2 / n) ** 0.5)
        if stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift) >= power:
            return n
    return None


VERDICTS = ("better", "worse", "equivalent", "undecided")


def verdict(low: float, high: float, rope: float) -> str:
    """The whole interval within ±rope: equivalent; else above 0: better; below 0: worse; else undecided."""
    if -rope <= low and high <= rope:
        return "equivalent"
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "undecided"
