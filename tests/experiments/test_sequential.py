"""fashionlab.experiments.sequential: the planned looks of `fashionlab decide`, their boundaries, and the
looks read from paired groups of seeds."""

import numpy as np
import pytest

from fashionlab.experiments.sequential import boundaries, look_level, looks, sequential_looks, spent
from tests.experiments.test_significance import image_easiness


def test_the_looks_follow_the_schedule_up_to_the_maximum():
    assert looks(20) == (3, 5, 8, 12, 16, 20)
    assert looks(10) == (3, 5, 8, 10)
    assert looks(3) == (3,) and looks(2) == (2,)
    with pytest.raises(ValueError, match="max_seeds must be >= 2"):
        looks(1)


def test_one_look_is_the_fixed_design():
    assert boundaries((7,)) == pytest.approx((1.95996,), abs=1e-4)
    assert look_level(boundaries((7,))[0]) == pytest.approx(0.95, abs=1e-5)


def test_the_boundaries_spend_5_percent_in_all_look_by_look():
    """200,000 simulated paths of an unchanged configuration (a sum of independent seeds, seen at the looks):
    the share first crossing at each look is the rate the spending function allots it, 5% in all."""
    plan = looks(20)
    limits = np.array(boundaries(plan))
    times = np.array(plan) / plan[-1]
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(200_000, len(plan))) * np.sqrt(np.diff(times, prepend=0.0))
    z = np.cumsum(steps, axis=1) / np.sqrt(times)
    crossed = np.abs(z) >= limits
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    shares = np.array([np.mean(first == k) for k in range(len(plan))])
    np.testing.assert_allclose(shares, np.diff(spent(times), prepend=0.0), atol=0.0012)
    assert np.mean(first >= 0) == pytest.approx(0.05, abs=0.0015)
    assert all(c > 1.96 for c in limits)  # every look is stricter than a lone 95% interval


def paired_runs(shift, seeds=20, seed=0):
    """Both sides' runs of the same seeds: a seed makes a better or worse model on both sides alike."""
    rng = np.random.default_rng(seed)
    easiness = image_easiness(rng)
    quality = rng.normal(0, 0.002, size=(seeds, 1))
    a = rng.random((seeds, len(easiness))) < easiness + quality
    b = rng.random((seeds, len(easiness))) < easiness + quality + shift
    return a, b


def test_a_large_change_is_decided_at_the_first_look():
    a, b = paired_runs(0.03)
    made = sequential_looks(a, b, 20, rope=0.005, resamples=2000)
    assert [look.seeds for look in made] == [3] and made[0].verdict == "better"
    assert made[0].level == pytest.approx(look_level(boundaries(looks(20))[0]))


def test_looks_stop_at_the_first_decided_one_and_a_rerun_repeats_them():
    a, b = paired_runs(0.0, seed=1)
    made = sequential_looks(a, b, 20, rope=0.005, resamples=2000)
    assert [look.verdict for look in made[:-1]] == ["undecided"] * (len(made) - 1)
    assert made[-1].verdict == "equivalent"
    fewer = sequential_looks(a[: made[-1].seeds], b[: made[-1].seeds], 20, rope=0.005, resamples=2000)
    assert fewer == made  # the looks use the first n seeds: more seeds later change no earlier look
    partial = sequential_looks(a[:4], b[:4], 20, rope=0.005, resamples=2000)
    assert partial == made[:1]  # 4 seeds: only the look at 3 is reached
