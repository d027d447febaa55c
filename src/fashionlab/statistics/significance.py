"""Statistics for classifiers scored on the same test images: two trained models, or two groups of seeds.

Two trained models: both see the same images, so only the images on which they disagree carry evidence
(Dietterich 1998): McNemar's exact test and a paired bootstrap over the images. Two configurations: each is
a group of runs that differ only in `seed`, and the seed moves test accuracy about as much as the images
do, so both are resampled together (the multi-bootstrap of Sellam et al. 2022). Where both groups ran the
same seed numbers, seed s of A and seed s of B share the validation split, the initial weights and the data
order, so they are resampled as pairs (common random numbers): one draw of seeds serves both sides. SciPy
does what it has a method for; only the two-level bootstrap is written here, vectorised: a resample's
accuracies are matrix products with the counts of each test image drawn, taken over the images on which
the runs differ (on the others every run agrees, and only how many of them were drawn matters).
"""

from __future__ import annotations

import statistics  # the standard library's: absolute imports
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
ROPE = 0.005  # docs/explanation/statistics.md: why half a point
DELTA = 0.005  # the ROPE's edge: how many seeds tell a difference that matters from none
POWER = 0.80
MAX_SEEDS = 1000  # the power search stops here: a difference that needs more is not worth chasing by seeds
BATCH = 1000  # resamples drawn at a time: a batch's image counts are BATCH × the images on which runs differ


def mcnemar_exact_p(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value: under "no difference" each discordant image is a fair coin flip.

    `fixed`: images B gets right and A wrong; `broken`: the reverse. The binomial at 1/2 is symmetric, so the
    two-sided p is twice the smaller tail (SciPy's `bdtr`; `scipy.stats.binomtest` gives the same, but
    importing `scipy.stats` took most of `compare`'s time outside `dvc exp show`).
    """
    from scipy import special

    if fixed < 0 or broken < 0:
        raise ValueError(f"counts must be >= 0, got {fixed} and {broken}")
    n = fixed + broken
    return 1.0 if n == 0 else min(1.0, float(2 * special.bdtr(min(fixed, broken), n, 0.5)))


def paired_bootstrap_interval(
    fixed: int, broken: int, total: int, *, resamples: int = 10_000, seed: int = 0, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile interval of accuracy(B) − accuracy(A) over the test images resampled with replacement.

    Each image contributes +1 (fixed), −1 (broken) or 0 to the difference, so a resample of the `total`
    images is exactly a multinomial draw of how many fixed and broken images it holds; seeded, so the same
    inputs give the same interval.
    """
    if total <= 0 or fixed < 0 or broken < 0 or fixed + broken > total:
        raise ValueError(f"expected 0 <= fixed + broken <= total and total > 0, got {fixed}, {broken}, {total}")
    shares = [fixed / total, broken / total, (total - fixed - broken) / total]
    drawn = np.random.default_rng(seed).multinomial(total, shares, size=resamples)
    return _percentiles((drawn[:, 0] - drawn[:, 1]) / total, level)


@dataclass(frozen=True)
class GroupComparison:
    """Group B against group A: the numbers, no text."""

    paired: bool  # rows of A and B are the same seeds, in the same order, resampled together
    difference: float  # mean test accuracy of B's seeds − A's
    interval: tuple[float, float]  # its percentile interval over the two-level bootstrap
    probability_of_improvement: float  # P(B > A): paired, the share of seeds on which B beats A; else all pairs
    probability_interval: tuple[float, float]


def probability_of_improvement(accuracy_a: np.ndarray, accuracy_b: np.ndarray, paired: bool = False) -> float:
    """P(a seed of B beats a seed of A), ties counting half: over the shared seeds when `paired`, else over all
    pairs of one seed of each (the Mann-Whitney U statistic over their number, as in Agarwal et al. 2021)."""
    accuracy_a, accuracy_b = np.asarray(accuracy_a), np.asarray(accuracy_b)
    if not paired:
        accuracy_a, accuracy_b = accuracy_a[None, :], accuracy_b[:, None]  # every pair
    return float(np.mean((accuracy_b > accuracy_a) + 0.5 * (accuracy_b == accuracy_a)))


def compare_groups(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    *,
    paired: bool = False,
    resamples: int = 10_000,
    seed: int = 0,
    level: float = LEVEL,
) -> GroupComparison:
    """Compare two groups of seeds by the two-level bootstrap.

    `correct_a` (seeds of A × test images) and `correct_b` say which test images each run got right; with
    `paired`, row s of both is the same seed. Each resample draws one set of test images, with replacement,
    used for both groups, and seeds with replacement: as many as each group has, independently, or, paired,
    one set of seed indices for both. The interval covers the difference of mean accuracy that a rerun of
    both configurations with new seeds, scored on a new test set of the same size, would plausibly show.
    """
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if paired and correct_a.shape != correct_b.shape:
        raise ValueError(f"paired groups need the same seeds, got {len(correct_a)} and {len(correct_b)} runs")
    accuracy_a, accuracy_b = correct_a.mean(axis=1), correct_b.mean(axis=1)
    differences, probabilities = _two_level_bootstrap(
        correct_a, correct_b, resamples, np.random.default_rng(seed), paired=paired
    )
    return GroupComparison(
        paired,
        float(accuracy_b.mean() - accuracy_a.mean()),
        _percentiles(differences, level),
        probability_of_improvement(accuracy_a, accuracy_b, paired),
        _percentiles(probabilities, level),
    )


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _two_level_bootstrap(
    correct_a: np.ndarray, correct_b: np.ndarray, resamples: int, rng: np.random.Generator, paired: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per resample: mean accuracy of B's drawn seeds − A's, and P(B > A) among the drawn seeds.

    Only the images on which some run differs from the others are counted one by one; paired, only those
    on which some seed's two runs differ, since the others add nothing to any difference.
    """
    seeds_a, images = correct_a.shape
    if paired:
        change = correct_b.astype(np.int8) - correct_a.astype(np.int8)
        informative = np.flatnonzero(change.any(axis=0))
        matrix = change[:, informative].astype(np.float32).T  # images × seeds
    else:
        runs = np.concatenate([correct_a, correct_b])
        informative = np.flatnonzero(runs.any(axis=0) & ~runs.all(axis=0))
        always_right = np.flatnonzero(runs.all(axis=0))
        matrix = runs[:, informative].astype(np.float32).T
    differences, probabilities = [], []
    for start in range(0, resamples, BATCH):
        size = min(BATCH, resamples - start)
        if paired:
            counts, _ = _image_counts(rng, len(informative), images, size)
            net = counts @ matrix  # resamples × seeds: images B's run got right − A's, among those drawn
            weights = _seed_counts(rng, seeds_a, size) / seeds_a
            differences.append(np.sum(weights * net, axis=1) / images)
            probabilities.append(np.sum(weights * ((net > 0) + 0.5 * (net == 0)), axis=1))
            continue
        counts, right = _image_counts(rng, len(informative), images, size, always_right=len(always_right))
        accuracy = (counts @ matrix + right[:, None]) / images  # resamples × runs (A's, then B's)
        weights_a = _seed_counts(rng, seeds_a, size) / seeds_a
        weights_b = _seed_counts(rng, len(correct_b), size) / len(correct_b)
        accuracy_a, accuracy_b = accuracy[:, :seeds_a], accuracy[:, seeds_a:]
        differences.append(np.sum(weights_b * accuracy_b, axis=1) - np.sum(weights_a * accuracy_a, axis=1))
        wins = (accuracy_b[:, None, :] > accuracy_a[:, :, None]) + 0.5 * (
            accuracy_b[:, None, :] == accuracy_a[:, :, None]
        )
        probabilities.append(np.einsum("ri,rij,rj->r", weights_a, wins, weights_b))
    return np.concatenate(differences), np.concatenate(probabilities)


def _image_counts(
    rng: np.random.Generator, informative: int, images: int, resamples: int, always_right: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `images` test images with replacement, `resamples` times: how often each of the first
    `informative` images was drawn (resamples × informative, float32), and how many draws fell on the
    `always_right` images. Exactly the multinomial of drawing image by image: how many draws land among the
    informative images is binomial, how many of the others among the always-right ones binomial again, and
    within the informative ones each draw is uniform."""
    inside = rng.binomial(images, informative / images, size=resamples)
    others = images - informative
    right = rng.binomial(images - inside, always_right / others) if others else np.zeros(resamples, np.int64)
    # int32 throughout: half the time of int64, and BATCH × images fits
    rows = np.repeat(np.arange(resamples, dtype=np.int32) * informative, inside)
    drawn = rows + rng.integers(0, max(informative, 1), size=int(inside.sum()), dtype=np.int32)
    counts = np.bincount(drawn, minlength=resamples * informative).reshape(resamples, informative)
    return counts.astype(np.float32), right


def _seed_counts(rng: np.random.Generator, seeds: int, resamples: int) -> np.ndarray:
    """How often each seed is drawn when `seeds` are drawn with replacement, per resample (resamples × seeds)."""
    drawn = np.arange(resamples)[:, None] * seeds + rng.integers(0, seeds, size=(resamples, seeds))
    return np.bincount(drawn.ravel(), minlength=resamples * seeds).reshape(resamples, seeds)


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


def seeds_needed(
    sd: float, delta: float, *, paired: bool = False, power: float = POWER, level: float = LEVEL
) -> int | None:
    """Seeds per configuration for a two-sided t-test at `level` to detect a difference of `delta` with
    `power`; None beyond MAX_SEEDS. Unpaired, `sd` is the standard deviation of test accuracy between seeds
    (a two-sample test); paired, that of the per-seed difference B − A (a one-sample test on the differences).
    The t and noncentral t distributions are SciPy's (`scipy.special`, which `scipy.stats` calls)."""
    from scipy import special

    if delta <= 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    if sd == 0:
        return 2
    n = np.arange(2, MAX_SEEDS + 1)
    df = n - 1 if paired else 2 * n - 2
    shift = delta / (sd * np.sqrt(1 / n if paired else 2 / n))
    critical = special.stdtrit(df, 1 - (1 - level) / 2)
    rejected = 1 - special.nctdtr(df, shift, critical) + special.nctdtr(df, shift, -critical)
    reached = np.flatnonzero(rejected >= power)
    return int(n[reached[0]]) if len(reached) else None


# The verdict on an interval of B − A against a region of practical equivalence ±rope. "slightly better"
# and "slightly worse" are real differences (the interval excludes 0) smaller than the ROPE: a finding, not
# the "equivalent" of an interval that holds 0.
VERDICTS = ("better", "slightly better", "equivalent", "slightly worse", "worse", "undecided")
DIRECTIONAL = ("better", "slightly better", "slightly worse", "worse")  # a claim that B differs from A


def verdict(low: float, high: float, rope: float) -> str:
    """Above 0: better, or slightly better when the whole interval is within the ROPE; below 0 likewise;
    holding 0: equivalent when within ±rope, else undecided."""
    within = -rope <= low and high <= rope
    if low > 0:
        return "slightly better" if within else "better"
    if high < 0:
        return "slightly worse" if within else "worse"
    return "equivalent" if within else "undecided"


def spread(values: list[float]) -> dict:
    """Mean, sample standard deviation (None for a single run) and range."""
    sd = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": statistics.fmean(values), "sd": sd, "min": min(values), "max": max(values)}
