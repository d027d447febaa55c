"""fashionlab.statistics.sequential: the planned looks of `fashionlab decide`, their boundaries, and the
looks read from paired groups of seeds."""

import numpy as np
import pytest

from fashionlab.statistics.good_selection import boundary_misses
from fashionlab.statistics.sequential import (
    WITHIN,
    best_boundaries,
    boundaries,
    look_level,
    look_order,
    looks,
    race_boundaries,
    race_looks,
    sequential_looks,
    spent,
)
from tests.statistics.test_significance import image_easiness


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


def test_one_sided_boundaries_spend_5_percent_above_only():
    plan = looks(20)
    times = np.array(plan) / plan[-1]
    above = boundary_misses(2, "one-sided", 0.0)  # one comparison: one Brownian motion against them
    np.testing.assert_allclose(above, np.diff(spent(times), prepend=0.0), atol=0.0012)
    assert race_boundaries(plan, 2, "one-sided", 0.05, 1.0) == boundaries(plan, sides=1)
    # two-sided at 2α is one-sided at α on each side, but for the paths that cross both: none, to 1e-3
    assert boundaries(plan, 0.05, sides=1) == pytest.approx(boundaries(plan, 0.10), abs=1e-3)
    with pytest.raises(ValueError, match="sides must be 1 or 2"):
        boundaries(plan, sides=3)


def test_hsus_boundaries_hold_the_best_against_every_other_at_once_with_5_percent_spent():
    """Simulated apart from `best_boundaries`' own draws: four differences best − j that share the best's noise
    (equal variances, correlation ½) first cross together at the spent rates, where Bonferroni's one-sided split
    over the four would cross less often than it may."""
    plan = looks(20)
    times = np.array(plan) / plan[-1]
    np.testing.assert_allclose(boundary_misses(5, "hsu", 0.5), np.diff(spent(times), prepend=0.0), atol=0.0015)
    assert np.all(np.array(best_boundaries(plan, 4)) < race_boundaries(plan, 5, "one-sided", 0.05, 1.0))
    assert boundary_misses(5, "one-sided", 0.5).sum() < 0.047
    assert best_boundaries(plan, 1) == pytest.approx(boundaries(plan, sides=1), abs=0.02)  # one: no sharing
    assert race_boundaries(plan, 5, "bonferroni", 0.05, 1.0) == boundaries(plan, 0.05 / 4)  # what races do
    with pytest.raises(ValueError, match="bound must be one of bonferroni, one-sided, hsu"):
        race_boundaries(plan, 5, "holm", 0.05, 1.0)


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


def sweep(shifts, seeds=20, seed=0, images=4000):
    """Configurations' runs of the same seeds, as a race reads them: {seed: images right}, one dict each."""
    rng = np.random.default_rng(seed)
    easiness = image_easiness(rng)[:images]
    quality = rng.normal(0, 0.002, size=(seeds, 1))
    return [
        dict(enumerate(rng.random((seeds, len(easiness))) < easiness + quality + shift, start=1)) for shift in shifts
    ]


def test_a_race_drops_the_clearly_worse_at_the_first_look_and_ends_equivalent():
    runs = sweep([0.0, 0.0, -0.04, 0.0005])
    made = race_looks(runs, 20, rope=0.01, resamples=1000)
    assert made[0].seeds == 3 and made[0].dropped == (2,)
    assert made[-1].outcome == "equivalent" and set(made[-1].remaining) == {0, 1, 3}
    assert all(s.verdict in WITHIN for s in made[-1].standings)
    # each comparison at its share of 5%/(k − 1): a stricter level than decide's
    assert made[0].level == pytest.approx(look_level(boundaries(looks(20), 0.05 / 3)[0]))
    assert made[0].level > look_level(boundaries(looks(20))[0])


def test_a_race_ends_with_a_winner_when_every_other_is_worse():
    made = race_looks(sweep([0.0, 0.05, -0.03]), 20, rope=0.005, resamples=1000)
    assert [(look.outcome, look.leader, set(look.dropped)) for look in made] == [("winner", 1, {0, 2})]


def test_a_dropped_configuration_needs_no_more_seeds_and_a_rerun_repeats_the_looks():
    runs = sweep([0.0, 0.0, -0.04], seeds=20, seed=3)
    made = race_looks(runs, 20, rope=0.005, resamples=1000)
    assert made[0].dropped == (2,) and len(made) > 1
    short = [runs[0], runs[1], {s: row for s, row in runs[2].items() if s <= 3}]  # as a race leaves it
    assert race_looks(short, 20, rope=0.005, resamples=1000) == made
    fewer = [{s: row for s, row in r.items() if s <= made[1].seeds} for r in short]
    assert race_looks(fewer, 20, rope=0.005, resamples=1000) == made[:2]  # a race stopped after its second look


def test_a_configuration_whose_runs_failed_leaves_the_race_not_counted_as_worse():
    runs = sweep([0.0, 0.0, 0.01])
    runs[2] = {s: row for s, row in runs[2].items() if s <= 3}  # its fourth seed failed
    made = race_looks(runs, 20, rope=0.005, resamples=1000, failed={2})
    assert made[0].seeds == 3 and 2 in made[0].accuracy and made[0].dropped == ()
    assert made[1].failed == (2,) and 2 not in made[1].accuracy and made[1].dropped == ()
    alone = race_looks(runs[1:], 20, rope=0.005, resamples=1000, failed={1})
    assert alone[-1].outcome == "alone" and alone[-1].leader == 0 and alone[-1].failed == (1,)


def test_the_named_runs_seeds_come_first_then_in_the_order_they_were_trained():
    runs = [{42: 1, 1: 1, 2: 1, 7: 1}, {42: 1, 2: 1, 7: 1, 9: 1}]
    assert look_order(runs, [0, 1], [42, None]) == [42, 2, 7]
    assert look_order(runs, [1], []) == [2, 7, 9, 42]  # no times known: by seed number
    # a seed counts once the last configuration has it: 7 was trained by both before 2 was by the second
    trained = [{42: 0.0, 1: 5.0, 2: 6.0, 7: 1.0}, {42: 9.0, 2: 8.0, 7: 2.0, 9: 3.0}]
    assert look_order(runs, [0, 1], [], trained) == [7, 2, 42]
    assert look_order(runs, [0, 1], [42], trained) == [42, 7, 2]


def test_seeds_trained_after_a_race_leave_its_looks_as_they_were():
    runs = sweep([0.0, 0.002, 0.001], seeds=8, seed=1)
    trained = [{s: float(s if s != 8 else 0) for s in r} for r in runs]  # seed 8 first: the workspace's, say
    made = race_looks(
        [{s: r[s] for s in r if s <= 5 or s == 8} for r in runs],
        5,
        rope=0.005,
        resamples=500,
        trained=trained,
        choose=True,
    )
    later = race_looks(runs, 5, rope=0.005, resamples=500, trained=trained, choose=True)  # 6 and 7 came since
    assert made == later and made[0].order == (8, 1, 2)


def test_a_race_that_chooses_names_a_good_choice_before_every_one_is_placed():
    """Three near-equal configurations and a clearly worse one: no winner, and not every one placed within the
    ROPE of the leader, yet some are good choices: no other's interval against them reaches past the ROPE."""
    runs = sweep([0.0, 0.0, -0.04, 0.0005])
    placed = race_looks(runs, 20, rope=0.01, resamples=1000)
    chosen = race_looks(runs, 20, rope=0.01, resamples=1000, choose=True)
    assert chosen[-1].outcome == "choice" and chosen[-1].seeds <= placed[-1].seeds
    for i, others in chosen[-1].good.items():
        assert i in chosen[-1].remaining and 2 not in chosen[-1].good
        assert {s.configuration for s in others} == set(chosen[-1].remaining) - {i}
        assert all(s.interval[1] <= 0.01 for s in others)
    # the same comparisons with the leader, to the bit, at Bonferroni's two-sided split; at the race's own, only the
    # upper ends bounded, the same bootstrap read at a lower level: the same differences, narrower intervals
    both_ends = race_looks(runs, 20, rope=0.01, resamples=1000, choose=True, bound="bonferroni")
    assert both_ends[0].standings == placed[0].standings
    assert chosen[0].level < placed[0].level
    for narrow, wide in zip(chosen[0].standings, placed[0].standings, strict=True):
        assert narrow.difference == wide.difference
        assert wide.interval[0] < narrow.interval[0] and narrow.interval[1] < wide.interval[1]


def test_no_choice_while_another_may_be_better_by_more_than_the_rope():
    """A ROPE narrower than what five seeds can resolve: each may still be better than the other by more."""
    made = race_looks(sweep([0.0, 0.0], seeds=5), 5, rope=0.0005, resamples=1000, choose=True)
    assert made[-1].outcome == "budget" and all(look.good == {} for look in made)
    assert all(max(s.interval[1], -s.interval[0]) > 0.0005 for look in made for s in look.standings)


def test_a_race_of_two_is_decide_read_as_b_minus_a():
    a, b = paired_runs(-0.03, seed=4)  # B worse: A leads, so B is the one compared
    (look,) = sequential_looks(a, b, 20, rope=0.005, resamples=2000)
    assert look.verdict == "worse" and look.difference < 0
    (swapped,) = sequential_looks(b, a, 20, rope=0.005, resamples=2000)
    assert swapped.verdict == "better" and swapped.difference == -look.difference
    # the bootstrap's percentiles of -x are -(those of x) up to rounding: decide computes B − A, always
    assert swapped.interval == pytest.approx((-look.interval[1], -look.interval[0]), abs=1e-12)


def test_races_of_equal_configurations_rarely_drop_one():
    """The error the design controls: when all are equal, every drop drops a true best. 40 races of four, 5%
    allowed in all (with the bootstrap's own noise at 500 resamples, a little more may show)."""
    dropped = 0
    for seed in range(40):
        made = race_looks(sweep([0.0] * 4, seeds=12, seed=seed, images=2000), 12, rope=0.01, resamples=500)
        dropped += any(look.dropped for look in made)
    assert dropped <= 4
