"""Does the race's choice keep its promise: is the configuration it names within the ROPE of the true best with
probability at least 1 − α, whatever the true means are, and what does it spend against KN and fixed designs?

Measured on the real sweep of `calibration.SWEEP` (the truth: its means over every seed it has) and on sweeps built
from it with means set by hand (`built_sweep`): each built configuration runs a real configuration's seeds, so the
seeds' noise and their pairing are the real ones, with its accuracy moved to where the scenario puts it by
turning whole images right (or wrong) for every seed. The truth is then known exactly, on these test images.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from fashionlab.statistics.calibration import seeds_spent
from fashionlab.statistics.kim_nelson import kn
from fashionlab.statistics.sequential import ALPHA, BOUNDS, GAMMA, looks, race_boundaries, race_looks

# Each built sweep's means, in ROPEs from the best (0). "One ROPE ahead" is a hair more (1.04), so that naming any
# other configuration is an error: the hardest case for the guarantee, where a good choice is only the best.
SCENARIOS = {
    "all equal": (0.0,) * 5,
    "the best one ROPE ahead": (0.0, *(-1.04,) * 4),
    "the best half a ROPE ahead": (0.0, *(-0.5,) * 4),
    "two near-best, the rest far behind": (0.0, -0.3, -3.0, -3.0, -3.0),
    "8 configurations, the best one ROPE ahead": (0.0, *(-1.04,) * 7),
}


def built_sweep(real: np.ndarray, offsets: tuple[float, ...], rope: float, seed: int = 0) -> np.ndarray:
    """Configurations × seeds × images, configuration c running real configuration c mod m's seeds (rolled by
    c // m seeds, so that no two share runs), its mean accuracy over all seeds moved to the real ones' mean plus
    `offsets[c]` ROPEs: whole images turned right (or wrong) for every seed, in a seeded order, then single runs
    of one more image for the last part of the change."""
    rng = np.random.default_rng(seed)
    configurations, seeds, images = real.shape
    top = float(real.mean())
    built = []
    for c, offset in enumerate(offsets):
        runs = np.roll(real[c % configurations], c // configurations, axis=0).copy()
        entries = round((top + offset * rope - runs.mean()) * seeds * images)  # runs of images to turn over
        wanted = entries > 0  # turn wrong ones right
        for image in rng.permutation(images):
            if entries == 0:
                break
            turnable = np.flatnonzero(runs[:, image] != wanted)
            taken = turnable[: abs(entries)]
            runs[taken, image] = wanted
            entries -= len(taken) if wanted else -len(taken)
        built.append(runs)
    return np.stack(built)


def orders(seeds: int, draws: int, seed: int = 0) -> list[np.ndarray]:
    """`draws` seeded orders of the seeds, each a race's order of training them."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(seeds) for _ in range(draws)]


def race_choice(
    runs: np.ndarray,
    order: np.ndarray,
    max_seeds: int,
    *,
    rope: float,
    resamples: int,
    seed: int,
    plan: tuple[int, ...] | None = None,
    bound: str | None = None,
) -> dict:
    """One race that chooses, its seeds in `order`: what it named (the most accurate good choice: no training costs
    here) and the seeds it trained, every configuration's together."""
    by_seed = [{position: runs[i, row] for position, row in enumerate(order, start=1)} for i in range(len(runs))]
    options = {"resamples": resamples, "seed": seed, "plan": plan, "bound": bound}
    made = race_looks(by_seed, max_seeds, rope=rope, choose=True, **options)
    spent = [max((look.seeds for look in made if i in look.accuracy), default=0) for i in range(len(runs))]
    return {"outcome": made[-1].outcome or "undecided", "named": made[-1].most_accurate_choice, "seeds": sum(spent)}


def kn_choice(runs: np.ndarray, order: np.ndarray, *, rope: float, alpha: float = ALPHA) -> dict:
    """KN with δ = the ROPE and n0 = 5 on the seeds' test accuracies, in `order` (all the seeds there are)."""
    selection = kn(runs.mean(axis=2)[:, order], rope, alpha)
    outcome = "truncated" if selection.truncated else "selected"
    return {"outcome": outcome, "named": selection.selected, "seeds": sum(selection.seeds)}


def race_key(bound: str) -> str:
    """Where the race by `bound` is in the calibration's figures: `race_one_sided` for the race's own."""
    return f"race_{bound.replace('-', '_')}"


def figures(records: list[dict], truth: np.ndarray, rope: float) -> dict:
    """How often a procedure named a configuration, how often the one it named was good (within the ROPE of the
    true best: of all its runs, and of those that named one), and the seeds it trained."""
    good = {i for i, value in enumerate(truth) if truth.max() - value <= rope}
    named = [record["named"] for record in records]
    spent = [record["seeds"] for record in records]
    outcomes = Counter(record["outcome"] for record in records)
    named_any = [n for n in named if n is not None]
    return {
        "draws": len(records),
        "named": len(named_any) / len(records),
        "good": float(np.mean([n in good for n in named])),
        "good_when_named": float(np.mean([n in good for n in named_any])) if named_any else None,
        "outcomes": {outcome: count / len(records) for outcome, count in sorted(outcomes.items())},
        "seeds_spent": seeds_spent(spent),
    }


def procedures(
    runs: np.ndarray, draws: int, max_seeds: int, *, rope: float, resamples: int, fixed: tuple[int, ...] = ()
) -> dict:
    """The race by each of `BOUNDS` (its own is `CHOICE_BOUND`), KN and fixed designs (`fixed` seeds each, one look
    at Bonferroni's two-sided split) on the same `draws` orders of `runs`'s seeds."""
    truth = runs.mean(axis=2).mean(axis=1)
    drawn = orders(runs.shape[1], draws)
    options = {"rope": rope, "resamples": resamples}
    designs: dict[str, Callable[[np.ndarray, int], dict]] = {
        **{
            race_key(bound): (
                lambda order, i, bound=bound: race_choice(runs, order, max_seeds, seed=i, bound=bound, **options)
            )
            for bound in BOUNDS
        },
        "kn": lambda order, i: kn_choice(runs, order, rope=rope),
        **{
            f"fixed_{n}": (
                lambda order, i, n=n: race_choice(runs, order, n, seed=i, plan=(n,), bound="bonferroni", **options)
            )
            for n in fixed
        },
    }
    return {
        "truth": truth.tolist(),
        **{
            name: figures([run(order, i) for i, order in enumerate(drawn)], truth, rope)
            for name, run in designs.items()
        },
    }


def boundary_misses(
    configurations: int, bound: str, correlation: float, max_seeds: int = 20, paths: int = 200_000, seed: int = 1
) -> np.ndarray:
    """Per look, how often an upper end of the best's k − 1 comparisons first misses under `bound`, where their
    standardised differences correlate `correlation` (0 to 1; Hsu's case is ½, paired seeds put it anywhere):
    seeded Brownian motions at the looks. The sum is the bound's error rate there, which must not pass α."""
    plan = looks(max_seeds)
    limits = np.array(race_boundaries(plan, configurations, bound, ALPHA, GAMMA))
    times = np.asarray(plan, np.float64) / plan[-1]
    rng = np.random.default_rng(seed)
    steps = np.sqrt(np.diff(times, prepend=0.0))[:, None]
    shared = np.cumsum(rng.standard_normal((paths, len(plan), 1)) * steps, axis=1)
    own = np.cumsum(rng.standard_normal((paths, len(plan), configurations - 1)) * steps, axis=1)
    largest = (np.sqrt(correlation) * shared + np.sqrt(1 - correlation) * own).max(axis=2) / np.sqrt(times)
    crossed = largest >= limits
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    return np.array([np.mean(first == k) for k in range(len(plan))])


def bound_misses(configurations: tuple[int, ...] = (5, 8), correlations: tuple[float, ...] = (0.0, 0.5)) -> list[dict]:
    """Each bound's error rate for races of `configurations` at each of `correlations`."""
    return [
        {"bound": bound, "configurations": k, "correlation": rho, "missed": float(boundary_misses(k, bound, rho).sum())}
        for bound in BOUNDS
        for k in configurations
        for rho in correlations
    ]


def comparison_correlations(real: np.ndarray) -> dict:
    """Over the seeds, how the differences (b − i) and (b − j) of test accuracy correlate, for every b and every two
    others among `real`'s configurations: the smallest and the largest. Hsu's constant takes ½ for all of them."""
    accuracy = real.mean(axis=2)
    found = []
    for b in range(len(accuracy)):
        matrix = np.corrcoef(accuracy[b] - np.delete(accuracy, b, axis=0))
        found.extend(matrix[np.triu_indices(len(matrix), 1)])
    return {"min": float(min(found)), "max": float(max(found))}


def image_floor(real: np.ndarray, seeds: int) -> dict:
    """How much of a paired difference's uncertainty after `seeds` seeds is the test set's own: the standard error
    of the mean difference from the seeds (it shrinks as 1/√seeds) and from the 10,000 images (it does not), over
    every pair of the real sweep's configurations, and the images' share of the variance."""
    rows = []
    for a in range(len(real)):
        for b in range(a + 1, len(real)):
            change = real[b, :seeds].astype(np.float64) - real[a, :seeds]
            seed_se = float(np.std(change.mean(axis=1), ddof=1) / np.sqrt(seeds))
            image_se = float(np.std(change.mean(axis=0), ddof=1) / np.sqrt(change.shape[1]))
            rows.append({"pair": [a, b], "seed_se": seed_se, "image_se": image_se})
    seed_se = np.array([row["seed_se"] for row in rows])
    image_se = np.array([row["image_se"] for row in rows])
    return {
        "seeds": seeds,
        "pairs": rows,
        "image_se": {"min": float(image_se.min()), "max": float(image_se.max())},
        "image_share_of_variance": {
            "min": float(np.min(image_se**2 / (image_se**2 + seed_se**2))),
            "max": float(np.max(image_se**2 / (image_se**2 + seed_se**2))),
        },
    }


def near_ones(sweep: np.ndarray, names: list[str], clearly_worse: str = "epochs_5") -> np.ndarray:
    """The real sweep's configurations but the clearly worse one: what the built sweeps are made of."""
    return sweep[[i for i, name in enumerate(names) if name != clearly_worse]]


def real_and_built(sweep: np.ndarray, names: list[str], rope: float) -> dict:
    """The sweeps to measure: the real one, and each of `SCENARIOS` built from its near ones, by name, each with the
    means it was built with (None: the real one's)."""
    real = near_ones(sweep, names)
    built = {name: (built_sweep(real, offsets, rope), offsets) for name, offsets in SCENARIOS.items()}
    return {"real": (sweep, None), **built}
