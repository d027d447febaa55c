"""Looks at a paired comparison planned in advance, so that adding seeds until the answer is clear keeps its
false-alarm rate at 5%: a group-sequential design with an alpha-spending rule.

Looking at a 95% interval after every round of seeds and stopping at the first that excludes 0 calls an
unchanged configuration better or worse far more often than 5% of the time. Here the looks come at planned
numbers of shared seeds, and each look spends part of the 5% by the Hwang-Shih-DeCani spending function
(Hwang, Shih & DeCani 1990; Lan & DeMets 1983 for spending): the boundary c_k of look k is set so that an
unchanged configuration crosses some boundary with probability 5% in all, the test statistics at the looks
being correlated as sums of the same seeds are (corr √(n_i / n_j)). At look k the interval is the repeated
confidence interval of Jennison & Turnbull (1989): the paired two-level bootstrap at level 2Φ(c_k) − 1
instead of 95%. Those intervals hold the true difference at every look at once with probability 95%, so any
verdict read from them — better, worse, slightly so, or equivalent within the ROPE — is wrong at most 5% of
the time however early the procedure stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fashionlab.experiments.significance import compare_groups, verdict

ALPHA = 0.05
# The spending function's shape: negative spends little early (O'Brien-Fleming-like, wide early intervals),
# positive much early (Pocock-like). 1 spent the fewest seeds on the project's real runs, with no false alarm
# more (docs/explanation/statistics.md).
GAMMA = 1.0
# Shared seeds at each look, up to --max-seeds: the first at 3, since the bootstrap of two seed pairs has
# three outcomes only; then more often early, where a large change or none is decided.
LOOKS = (3, 5, 8, 12, 16, 20, 25, 30, 40, 50)
MAX_SEEDS = 20


def looks(max_seeds: int) -> tuple[int, ...]:
    """The planned numbers of shared seeds at which to look: the schedule below `max_seeds`, then it."""
    if max_seeds < 2:
        raise ValueError(f"max_seeds must be >= 2, got {max_seeds}")
    return (*(n for n in LOOKS if n < max_seeds), max_seeds)


def spent(fraction: np.ndarray, alpha: float = ALPHA, gamma: float = GAMMA) -> np.ndarray:
    """The Hwang-Shih-DeCani spending function: the false-alarm rate spent by information `fraction` (0-1)."""
    fraction = np.asarray(fraction, np.float64)
    if gamma == 0:
        return alpha * fraction
    return alpha * (1 - np.exp(-gamma * fraction)) / (1 - np.exp(-gamma))


GRID_STEP = 0.001  # of the numerical integration below: boundaries to about 1e-4


@lru_cache(maxsize=32)
def boundaries(sizes: tuple[int, ...], alpha: float = ALPHA, gamma: float = GAMMA) -> tuple[float, ...]:
    """Two-sided boundaries c_k for looks after `sizes` seeds, information proportional to the seeds.

    With S the sum of the seeds' standardised differences scaled so that S(1) ~ N(0, 1) after the last look
    (a Brownian motion at times t_k = n_k / n_K), look k stops when |S(t_k)| ≥ c_k √t_k; c_k is set so that
    the probability of stopping there for the first time is the rate spent between looks k − 1 and k. The
    density of S among the paths not stopped yet is carried from look to look on a grid (the recursive
    numerical integration of Armitage, McPherson & Rowe 1969, as the R packages ldbounds and gsDesign do).
    """
    from scipy import integrate, signal, stats

    times = np.asarray(sizes, np.float64) / sizes[-1]
    increments = np.diff(spent(times, alpha, gamma), prepend=0.0)
    grid = np.arange(-8.0, 8.0 + GRID_STEP / 2, GRID_STEP)
    density = np.zeros_like(grid)  # of S among the paths still going, before the first look: S(0) = 0
    found: list[float] = []
    for k, (time, increment) in enumerate(zip(times, increments, strict=True)):
        step = time - (times[k - 1] if k else 0.0)
        if k == 0:
            density = stats.norm.pdf(grid, scale=np.sqrt(step))
        else:  # S(t_k) = S(t_k-1) + an independent N(0, t_k − t_k-1)
            kernel = stats.norm.pdf(grid, scale=np.sqrt(step))
            density = signal.fftconvolve(density, kernel, mode="same") * GRID_STEP
        mass = integrate.cumulative_trapezoid(density, grid, initial=0)  # P(S ≤ s, not stopped before)
        outside = lambda z, time=time, mass=mass: 2 * (mass[-1] - np.interp(z * np.sqrt(time), grid, mass))  # noqa: E731
        low, high = 0.0, 8.0
        for _ in range(60):  # bisection: `outside` falls as the boundary rises
            middle = (low + high) / 2
            low, high = (middle, high) if outside(middle) > increment else (low, middle)
        found.append(high)
        density = np.where(np.abs(grid) < high * np.sqrt(time), density, 0.0)
    return tuple(found)


def look_level(boundary: float) -> float:
    """The confidence level of the repeated confidence interval at a look with this boundary."""
    from scipy import stats

    return float(2 * stats.norm.cdf(boundary) - 1)


@dataclass(frozen=True)
class Look:
    """The paired comparison after the first `seeds` shared seeds."""

    seeds: int
    level: float  # of the repeated confidence interval at this look
    difference: float
    interval: tuple[float, float]
    verdict: str  # as `significance.verdict`; "undecided" continues to the next look


def sequential_looks(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    max_seeds: int,
    *,
    rope: float,
    resamples: int = 10_000,
    seed: int = 0,
    gamma: float = GAMMA,
) -> list[Look]:
    """The looks the data reaches, in order, stopping at the first decided one.

    Row s of `correct_a` and `correct_b` is the same seed, in the order the seeds were added; the look after
    n seeds uses the first n rows, so a rerun with more seeds repeats the earlier looks exactly.
    """
    plan = looks(max_seeds)
    limits = boundaries(plan, gamma=gamma)
    made = []
    for size, boundary in zip(plan, limits, strict=True):
        if size > len(correct_a):
            break
        level = look_level(boundary)
        result = compare_groups(
            correct_a[:size], correct_b[:size], paired=True, resamples=resamples, seed=seed, level=level
        )
        made.append(Look(size, level, result.difference, result.interval, verdict(*result.interval, rope)))
        if made[-1].verdict != "undecided":
            break
    return made
