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

A race of k configurations uses the same looks, seeds paired across all of them: at each look, every
configuration still in is compared with the leader (the highest mean), each comparison's repeated interval at
the level that α/(k − 1) spent the same way allows, and one shown worse than the leader beyond the ROPE is
dropped and trains no more seeds. This is sequential elimination (Paulson 1964, "A sequential procedure for
selecting the population with the largest mean from k normal populations") with comparisons with the best
(Edwards & Hsu 1983) and a Bonferroni split over the k − 1 comparisons: the true best is dropped only if one of
its k − 1 comparisons' repeated intervals misses, each at most α/(k − 1) over all looks, so at most α in all,
whichever configuration leads when. Two configurations are `decide`'s case, k − 1 = 1: the same looks, the same
intervals.

A race that chooses (`choose=True`, `fashionlab race`) also ends with a good selection (Eckman & Henderson,
"Guarantees on the probability of good selection", WSC 2018): configuration i is a *good choice* at a look once
the upper end of every other remaining l's repeated interval of (l − i) is at most the ROPE. Naming a
configuration more than the ROPE below the true best b needs the interval of (b − i) to miss, one of b's k − 1
comparisons, each held to α/(k − 1) over all looks: at most α in all, for any true means, whoever qualifies,
however many qualify, and whichever of them is named. The rule is one-sided, so it settles long before every
configuration is placed inside or outside the ROPE. So is every error it bounds: dropping the best, or naming one
below it, needs the upper end of an interval of (b − j) to fall short of the truth, so such a race spends its
α/(k − 1) on that end alone (`CHOICE_BOUND`), where `decide`'s two-sided verdicts need both.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from fashionlab.statistics.significance import compare_groups, verdict

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
def boundaries(sizes: tuple[int, ...], alpha: float = ALPHA, gamma: float = GAMMA, sides: int = 2) -> tuple[float, ...]:
    """Two-sided boundaries c_k for looks after `sizes` seeds, information proportional to the seeds (`sides=1`:
    one-sided, for a bound that only one end of each interval must keep).

    With S the sum of the seeds' standardised differences scaled so that S(1) ~ N(0, 1) after the last look
    (a Brownian motion at times t_k = n_k / n_K), look k stops when |S(t_k)| ≥ c_k √t_k (one-sided: S(t_k) ≥
    c_k √t_k); c_k is set so that the probability of stopping there for the first time is the rate spent between
    looks k − 1 and k. The density of S among the paths not stopped yet is carried from look to look on a grid
    (the recursive numerical integration of Armitage, McPherson & Rowe 1969, as the R packages ldbounds and
    gsDesign do).
    """
    if sides not in (1, 2):
        raise ValueError(f"sides must be 1 or 2, got {sides}")
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
        outside = lambda z, time=time, mass=mass: sides * (mass[-1] - np.interp(z * np.sqrt(time), grid, mass))  # noqa: E731
        low, high = 0.0, 8.0
        for _ in range(60):  # bisection: `outside` falls as the boundary rises
            middle = (low + high) / 2
            low, high = (middle, high) if outside(middle) > increment else (low, middle)
        found.append(high)
        density = np.where((np.abs(grid) if sides == 2 else grid) < high * np.sqrt(time), density, 0.0)
    return tuple(found)


PATHS = 400_000  # simulated for `best_boundaries`: each boundary to about ±0.01


@lru_cache(maxsize=32)
def best_boundaries(
    sizes: tuple[int, ...], comparisons: int, alpha: float = ALPHA, gamma: float = GAMMA
) -> tuple[float, ...]:
    """One-sided boundaries for the comparisons of the best with `comparisons` others at once: Hsu's constant for
    multiple comparisons with the best (Hsu 1984, "Constrained simultaneous confidence intervals for multiple
    comparisons with the best", Annals of Statistics 12(3)), spent over the looks as `boundaries` spends one.

    With equal variances and independent groups, the differences best − j share the best's noise, so they
    correlate ½: the chance that any of them crosses is less than their sum, which Bonferroni pays. c_k is set so
    that the probability that the largest standardised difference first crosses c_k at look k is the rate spent
    there, over `PATHS` seeded simulations of the best's Brownian motion and the others' (the same boundaries every
    time).
    Pairing the seeds breaks the equal correlation, so whether it still holds is measured, not assumed
    (`good_selection`)."""
    rng = np.random.default_rng(0)
    times = np.asarray(sizes, np.float64) / sizes[-1]
    increments = np.diff(spent(times, alpha, gamma), prepend=0.0)
    best, others = np.zeros(PATHS), np.zeros((PATHS, comparisons))
    going, before, found = np.ones(PATHS, bool), 0.0, []
    for time, increment in zip(times, increments, strict=True):
        best += rng.standard_normal(PATHS) * np.sqrt(time - before)
        others += rng.standard_normal((PATHS, comparisons)) * np.sqrt(time - before)
        largest = (others - best[:, None]).max(axis=1) / np.sqrt(2 * time)
        stopping = round(increment * PATHS)  # the paths still going that cross here: the largest ones
        highest = np.sort(largest[going])[::-1][: stopping + 1]
        found.append(float((highest[-2] + highest[-1]) / 2) if stopping else float(highest[0]) + 1e-9)
        going &= largest < found[-1]
        before = time
    return tuple(found)


# How a race bounds the k − 1 comparisons of the best at each look, so that it drops the best or names a choice
# more than the ROPE below it at most α of the time: Bonferroni's α/(k − 1) for each two-sided interval (`decide`,
# and a race that places every configuration), the same for each interval's upper end only (a race that chooses:
# all its guarantee uses), or Hsu's constant (measured beside them, not used: its correlation ½ is an assumption
# that paired seeds break; docs/explanation/statistics.md).
BOUNDS = ("bonferroni", "one-sided", "hsu")
CHOICE_BOUND = "one-sided"


def race_boundaries(
    plan: tuple[int, ...], configurations: int, bound: str, alpha: float, gamma: float
) -> tuple[float, ...]:
    """The boundaries of a race of `configurations` by `bound` (one of `BOUNDS`)."""
    comparisons = configurations - 1
    if bound == "bonferroni":
        return boundaries(plan, alpha / comparisons, gamma)
    if bound == "one-sided":
        return boundaries(plan, alpha / comparisons, gamma, sides=1)
    if bound == "hsu":
        return best_boundaries(plan, comparisons, alpha, gamma)
    raise ValueError(f"bound must be one of {', '.join(BOUNDS)}, got {bound!r}")


def look_level(boundary: float) -> float:
    """The confidence level of the repeated confidence interval at a look with this boundary."""
    from scipy import stats

    return float(2 * stats.norm.cdf(boundary) - 1)


@dataclass(frozen=True)
class Look:
    """The paired comparison of B with A after the first `seeds` shared seeds."""

    seeds: int
    level: float  # of the repeated confidence interval at this look
    difference: float
    interval: tuple[float, float]
    verdict: str  # as `significance.verdict`; "undecided" continues to the next look


@dataclass(frozen=True)
class Standing:
    """A configuration against the leader at a look: the difference of mean test accuracy, it − leader."""

    configuration: int
    difference: float
    interval: tuple[float, float]  # the repeated confidence interval at the look's level
    verdict: str  # as `significance.verdict`, of it against the leader: "worse" drops it


WITHIN = ("equivalent", "slightly better", "slightly worse")


@dataclass(frozen=True)
class RaceLook:
    """One look of a race: who led, every other configuration still in against it, and who was dropped."""

    seeds: int
    level: float
    leader: int  # -1: none left
    order: tuple[int, ...]  # the seeds the look used, in the order it took them
    accuracy: dict[int, float]  # each configuration still in: its mean test accuracy over those seeds
    standings: tuple[Standing, ...]  # the other configurations still in, in their order
    dropped: tuple[int, ...]  # shown worse than another beyond the ROPE: they train no more seeds
    failed: tuple[int, ...]  # left before this look because their runs failed: out, not counted as worse
    # What ended the race here: "winner" (one left, shown better than every other), "choice" (a race that
    # chooses: some are good choices), "equivalent" (one that does not: every one left within the ROPE of the
    # leader), "budget" (the last planned look), "alone" (the others' runs failed); or None: the race goes on.
    outcome: str | None
    # Each good choice at this look (no other left better than it by more than the ROPE), with every other
    # configuration left against it (the other minus it): a race that chooses only.
    good: dict[int, tuple[Standing, ...]] = field(default_factory=dict)

    @property
    def remaining(self) -> tuple[int, ...]:
        return tuple(sorted({self.leader, *(s.configuration for s in self.standings)} - set(self.dropped)))

    @property
    def most_accurate_choice(self) -> int | None:
        """The winner, or the most accurate good choice: what a race names where training costs are unknown."""
        if self.outcome == "winner":
            return self.remaining[0]
        return max(self.good, key=lambda i: (self.accuracy[i], -i)) if self.good else None


def look_order(
    runs: Sequence[dict[int, np.ndarray]],
    racing: Collection[int],
    first: Sequence[int],
    trained: Sequence[dict[int, float]] = (),
) -> list[int]:
    """The seeds every configuration in `racing` ran, in the order the looks take them: those of `first` (the
    named runs' seeds) that they share, then in the order they were trained (`trained[i]`: when configuration i's
    run of each seed was made; a seed counts once the last of them has it), ties and unknown times by seed number.
    A look after n seeds uses the first n, so seeds trained since, by the race or any other command, come after
    every look made: a rerun makes the same looks from the same seeds."""
    shared = set.intersection(*(set(runs[i]) for i in racing))
    head = [seed for seed in dict.fromkeys(first) if seed in shared]
    made = {seed: max((trained[i].get(seed, 0.0) for i in racing), default=0.0) if trained else 0.0 for seed in shared}
    return head + sorted(shared - set(head), key=lambda seed: (made[seed], seed))


def race_looks(
    runs: Sequence[dict[int, np.ndarray]],
    max_seeds: int,
    *,
    rope: float,
    first: Sequence[int] = (),
    failed: Collection[int] = (),
    resamples: int = 10_000,
    seed: int = 0,
    alpha: float = ALPHA,
    gamma: float = GAMMA,
    plan: tuple[int, ...] | None = None,
    choose: bool = False,
    trained: Sequence[dict[int, float]] = (),
    bound: str | None = None,
) -> list[RaceLook]:
    """The looks of a race that the runs reach, in order, up to the one that ends it (`plan`: other looks than
    the planned ones up to `max_seeds`, such as a single one, the fixed design; `choose`: end at the first look
    with a good choice, instead of when every configuration left is placed against the leader; `bound`: how
    the comparisons share α, one of `BOUNDS`: by default `CHOICE_BOUND` for a race that chooses, else Bonferroni's).

    `runs[i]` maps each seed configuration i ran to the test images its run got right, `trained[i]` to when
    that run was made (`look_order`: the order the looks take the seeds in). A configuration
    dropped at a look has no seeds beyond it, and `failed` ones lack a seed the next look needs: they leave the
    race there, as failed. A rerun with more seeds repeats every earlier look exactly, so a race stopped by
    Ctrl-C goes on where it was.
    """
    if len(runs) < 2:
        raise ValueError(f"a race needs 2 configurations or more, got {len(runs)}")
    plan = plan or looks(max_seeds)
    limits = race_boundaries(plan, len(runs), bound or (CHOICE_BOUND if choose else "bonferroni"), alpha, gamma)
    racing, made = list(range(len(runs))), []
    for size, boundary in zip(plan, limits, strict=True):
        order = look_order(runs, racing, first, trained)
        gone = [i for i in racing if i in failed] if len(order) < size else []
        racing = [i for i in racing if i not in gone]
        if len(racing) < 2:
            leader = racing[0] if racing else -1
            made.append(RaceLook(size, look_level(boundary), leader, (), {}, (), (), tuple(gone), "alone"))
            break
        order = tuple(look_order(runs, racing, first, trained)[:size])
        if len(order) < size:
            break  # seeds still to train
        rows = {i: np.stack([runs[i][s] for s in order]) for i in racing}
        look = _look(rows, order, boundary, rope, resamples, seed, tuple(gone), final=size == plan[-1], choose=choose)
        made.append(look)
        racing = list(look.remaining)
        if look.outcome:
            break
    return made


def _look(
    rows: dict[int, np.ndarray],
    order: tuple[int, ...],
    boundary: float,
    rope: float,
    resamples: int,
    seed: int,
    gone: tuple[int, ...],
    final: bool,
    choose: bool,
) -> RaceLook:
    level = look_level(boundary)
    means = {i: float(np.mean(correct)) for i, correct in rows.items()}
    leader = max(rows, key=lambda i: (means[i], -i))
    against = _Pairs(rows, level, rope, resamples, seed)
    standings = tuple(against(i, leader) for i in rows if i != leader)
    dropped = tuple(s.configuration for s in standings if s.verdict == "worse")
    if any(s.verdict == "better" for s in standings):  # the leader by its mean, shown worse by an interval
        dropped += (leader,)
    remaining = sorted(set(rows) - set(dropped))
    within = all(s.verdict in WITHIN for s in standings if s.configuration in remaining)
    good = {}
    if choose and len(remaining) > 1:
        versus = {i: tuple(against(other, i) for other in remaining if other != i) for i in remaining}
        good = {i: them for i, them in versus.items() if all(s.interval[1] <= rope for s in them)}
    if len(remaining) == 1:
        outcome = "winner"
    elif good:
        outcome = "choice"
    elif within and leader in remaining and not choose:
        outcome = "equivalent"
    else:
        outcome = "budget" if final else None
    return RaceLook(len(order), level, leader, order, means, standings, dropped, gone, outcome, good)


class _Pairs:
    """The paired comparisons of one look, each pair bootstrapped once: i − j, whichever of them is asked for."""

    def __init__(self, rows: dict[int, np.ndarray], level: float, rope: float, resamples: int, seed: int):
        self.rows, self.level, self.rope, self.resamples, self.seed = rows, level, rope, resamples, seed
        self.made: dict[tuple[int, int], tuple[float, tuple[float, float]]] = {}

    def __call__(self, i: int, j: int) -> Standing:
        """Configuration i against j, computed as the later configuration minus the earlier one (so that a race of
        two is `decide`'s B − A to the bit) and turned round where i comes first."""
        first, second = sorted((i, j))
        if (first, second) not in self.made:
            result = compare_groups(
                self.rows[first],
                self.rows[second],
                paired=True,
                resamples=self.resamples,
                seed=self.seed,
                level=self.level,
            )
            self.made[first, second] = result.difference, result.interval
        difference, (low, high) = self.made[first, second]
        if i == first:
            difference, low, high = -difference, -high, -low
        return Standing(i, difference, (low, high), verdict(low, high, self.rope))


def seeds_to_choose(seeds: int, low: float, high: float, rope: float) -> int | None:
    """About how many shared seeds make the leader a good choice against one other configuration, from the interval
    of (other − leader) at one look: the interval narrows as 1/√n, and it needs its upper end at most the ROPE.
    A projection from one look, not a promise; None where the interval's middle is beyond the ROPE already."""
    middle, half = (low + high) / 2, (high - low) / 2
    if high <= rope:
        return seeds
    return math.ceil(seeds * (half / (rope - middle)) ** 2) if rope > middle else None


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
    """`decide`'s looks, in order, stopping at the first decided one: a race of A and B, read as B − A.

    Row s of `correct_a` and `correct_b` is the same seed, in the order the seeds were added; the look after
    n seeds uses the first n rows, so a rerun with more seeds repeats the earlier looks exactly.
    """
    runs = [dict(enumerate(correct_a)), dict(enumerate(correct_b))]
    made = race_looks(runs, max_seeds, rope=rope, resamples=resamples, seed=seed, gamma=gamma)
    return [b_against_a(look) for look in made]


def b_against_a(look: RaceLook) -> Look:
    """A look of a race of two as `decide` reports it: B − A, whichever led."""
    (standing,) = look.standings
    if standing.configuration == 1:  # B against the leader A
        return Look(look.seeds, look.level, standing.difference, standing.interval, standing.verdict)
    low, high = standing.interval
    return Look(look.seeds, look.level, -standing.difference, (-high, -low), MIRRORED[standing.verdict])


MIRRORED = {  # the verdict on B − A from the one on A − B
    "better": "worse",
    "slightly better": "slightly worse",
    "equivalent": "equivalent",
    "slightly worse": "slightly better",
    "worse": "better",
    "undecided": "undecided",
}
