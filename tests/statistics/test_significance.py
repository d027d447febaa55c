"""fashionlab.statistics.significance: the statistics behind `fashionlab compare` for groups of seeds, on inputs
whose answer is known."""

import itertools

import numpy as np
import pytest

from fashionlab.statistics.significance import (
    _two_level_bootstrap,
    compare_groups,
    mcnemar_exact_p,
    paired_bootstrap_interval,
    probability_of_improvement,
    seeds_needed,
    spread_sources,
    verdict,
)


def exact_two_level_distribution(correct_a, correct_b):
    """Every equally likely outcome of the two-level bootstrap, enumerated: (difference, P(B > A)) each."""
    images = correct_a.shape[1]
    outcomes = []
    for drawn_images in itertools.product(range(images), repeat=images):
        accuracy_a, accuracy_b = correct_a[:, drawn_images].mean(axis=1), correct_b[:, drawn_images].mean(axis=1)
        for seeds_a in itertools.product(range(len(accuracy_a)), repeat=len(accuracy_a)):
            for seeds_b in itertools.product(range(len(accuracy_b)), repeat=len(accuracy_b)):
                a, b = accuracy_a[list(seeds_a)], accuracy_b[list(seeds_b)]
                wins = np.mean([(y > x) + 0.5 * (y == x) for x in a for y in b])
                outcomes.append((round(b.mean() - a.mean(), 9), round(float(wins), 9)))
    return outcomes


def exact_paired_distribution(correct_a, correct_b):
    """Every equally likely outcome of the paired two-level bootstrap: one draw of seed indices for both."""
    seeds, images = correct_a.shape
    outcomes = []
    for drawn_images in itertools.product(range(images), repeat=images):
        accuracy_a, accuracy_b = correct_a[:, drawn_images].mean(axis=1), correct_b[:, drawn_images].mean(axis=1)
        for drawn in itertools.product(range(seeds), repeat=seeds):
            a, b = accuracy_a[list(drawn)], accuracy_b[list(drawn)]
            wins = np.mean((b > a) + 0.5 * (b == a))
            outcomes.append((round(b.mean() - a.mean(), 9), round(float(wins), 9)))
    return outcomes


def distribution(values):
    keys, counts = np.unique(np.asarray(values), axis=0, return_counts=True)
    return {tuple(key): count / len(values) for key, count in zip(keys.tolist(), counts, strict=True)}


def test_the_two_level_bootstrap_matches_exact_enumeration():
    """3 images, two seeds against three: 3³ · 2² · 3³ = 2,916 outcomes, each drawn as often as it should be."""
    correct_a = np.array([[1, 0, 1], [0, 0, 1]], bool)
    correct_b = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], bool)
    exact = distribution(exact_two_level_distribution(correct_a, correct_b))
    differences, probabilities = _two_level_bootstrap(correct_a, correct_b, 200_000, np.random.default_rng(0))
    drawn = distribution(np.column_stack([differences.round(9), probabilities.round(9)]))
    assert drawn.keys() == exact.keys()
    for outcome, share in exact.items():
        assert drawn[outcome] == pytest.approx(share, abs=0.004), outcome  # 200,000 draws: sd under 0.0012


def test_the_paired_bootstrap_matches_exact_enumeration():
    """4 images, three seeds run by both sides: 4⁴ · 3³ = 6,912 outcomes; the seeds are drawn once for both, and
    the images on which no seed's two runs differ are drawn too, though they add nothing."""
    correct_a = np.array([[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 1]], bool)
    correct_b = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1]], bool)
    exact = distribution(exact_paired_distribution(correct_a, correct_b))
    rng = np.random.default_rng(0)
    differences, probabilities = _two_level_bootstrap(correct_a, correct_b, 200_000, rng, paired=True)
    drawn = distribution(np.column_stack([differences.round(9), probabilities.round(9)]))
    assert drawn.keys() == exact.keys()
    for outcome, share in exact.items():
        assert drawn[outcome] == pytest.approx(share, abs=0.004), outcome


def test_pairing_narrows_the_interval_when_the_seeds_move_both_sides_alike():
    """Seeds that make a better or worse model on both sides alike: paired, that shared part cancels."""
    rng = np.random.default_rng(6)
    easiness = image_easiness(rng)
    quality = rng.normal(0, 0.004, size=(8, 1))
    a = rng.random((8, 10_000)) < easiness + quality
    b = rng.random((8, 10_000)) < easiness + quality + 0.002
    paired = compare_groups(a, b, paired=True, resamples=2000)
    unpaired = compare_groups(a, b, resamples=2000)
    assert paired.difference == pytest.approx(unpaired.difference)
    assert paired.interval[1] - paired.interval[0] < 0.8 * (unpaired.interval[1] - unpaired.interval[0])
    with pytest.raises(ValueError, match="paired groups need the same seeds"):
        compare_groups(a, b[:7], paired=True)


def test_the_interval_is_seeded_and_holds_the_difference():
    rng = np.random.default_rng(1)
    correct_a, correct_b = rng.random((4, 2000)) < 0.88, rng.random((5, 2000)) < 0.90
    first = compare_groups(correct_a, correct_b, resamples=2000)
    assert first == compare_groups(correct_a, correct_b, resamples=2000)
    assert first.difference == pytest.approx(correct_b.mean() - correct_a.mean())
    assert first.interval[0] < first.difference < first.interval[1]
    assert compare_groups(correct_a, correct_b, resamples=2000, seed=1) != first


def test_probability_of_improvement_counts_pairs_and_half_ties():
    # paired: seed by seed, B wins on the first, ties on the second, loses on the third
    assert probability_of_improvement(np.array([0.1, 0.2, 0.3]), np.array([0.2, 0.2, 0.1]), paired=True) == 0.5
    assert probability_of_improvement(np.array([0.1, 0.2]), np.array([0.3, 0.4])) == 1.0
    assert probability_of_improvement(np.array([0.3, 0.4]), np.array([0.1, 0.2])) == 0.0
    # pairs (a, b): (0.1, 0.1) tie, (0.1, 0.3) win, (0.2, 0.1) loss, (0.2, 0.3) win: (0.5 + 1 + 0 + 1) / 4
    assert probability_of_improvement(np.array([0.1, 0.2]), np.array([0.1, 0.3])) == 0.625


def test_spread_of_independent_coin_flips_is_all_test_set_noise():
    """Seeds that only reshuffle which images are right, each image with the same odds: no training share."""
    rng = np.random.default_rng(2)
    sources = spread_sources(rng.random((400, 1000)) < 0.9)
    assert sources.sd == pytest.approx(np.sqrt(0.9 * 0.1 / 1000), rel=0.1)
    assert sources.test_set_share == pytest.approx(1.0, abs=0.15)


def test_spread_of_truly_different_models_is_mostly_training():
    """Seeds whose models differ in quality (an image's odds move together): the spread is training."""
    rng = np.random.default_rng(3)
    quality = rng.normal(0.9, 0.01, size=(400, 1))
    sources = spread_sources(rng.random((400, 10_000)) < quality)
    assert sources.sd == pytest.approx(np.sqrt(0.01**2 + 0.09 / 10_000), rel=0.1)
    assert sources.training_share == pytest.approx(1 - 0.09 / 10_000 / (0.01**2 + 0.09 / 10_000), abs=0.05)
    with pytest.raises(ValueError, match="two seeds or more"):
        spread_sources(np.ones((1, 5), bool))


def test_seeds_needed_matches_the_textbook_t_test_sample_sizes():
    # Two-sided, 5%, 80% power: 17 per group for an effect of one standard deviation, 64 for half of one.
    assert seeds_needed(0.002, 0.002) == 17
    assert seeds_needed(0.002, 0.001) == 64
    # Paired, a one-sample test on the differences: 10 for an effect of one standard deviation, 34 for half
    assert seeds_needed(0.002, 0.002, paired=True) == 10
    assert seeds_needed(0.002, 0.001, paired=True) == 34
    assert seeds_needed(0.0, 0.001) == 2
    assert seeds_needed(0.01, 1e-5) is None
    with pytest.raises(ValueError, match="delta must be > 0"):
        seeds_needed(0.002, 0)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (-0.001, 0.002, "equivalent"),
        (0.001, 0.004, "slightly better"),  # real, and smaller than the ROPE: a finding, not "equivalent"
        (-0.005, -0.0001, "slightly worse"),
        (0.001, 0.008, "better"),
        (-0.009, -0.006, "worse"),
        (-0.004, 0.006, "undecided"),
    ],
)
def test_verdict_from_the_interval_and_the_rope(low, high, expected):
    assert verdict(low, high, rope=0.005) == expected


def image_easiness(rng, images=10_000):
    """How easy each test image is: most are almost always right, some almost never (mean 0.89)."""
    return rng.beta(0.5, 0.062, size=images)


def synthetic_group(easiness, seeds, shift, rng):
    """Runs of one configuration on those images: each seed's model a little better or worse (sd 0.001)."""
    quality = rng.normal(shift, 0.001, size=(seeds, 1))
    return rng.random((seeds, len(easiness))) < easiness + quality


def test_equal_configurations_are_not_called_better_or_worse():
    """Twenty pairs of equal configurations, five seeds each: at most one better or worse, most equivalent."""
    rng = np.random.default_rng(4)
    calls = []
    for _ in range(20):
        easiness = image_easiness(rng)
        a, b = synthetic_group(easiness, 5, 0, rng), synthetic_group(easiness, 5, 0, rng)
        calls.append(verdict(*compare_groups(a, b, resamples=1000).interval, 0.005))
    assert calls.count("better") + calls.count("worse") <= 1 and calls.count("equivalent") >= 10, calls


def test_a_shift_far_beyond_the_rope_is_better_and_worse_the_other_way():
    rng = np.random.default_rng(5)
    easiness = image_easiness(rng)
    low, high = synthetic_group(easiness, 3, 0, rng), synthetic_group(easiness, 3, 0.03, rng)
    assert verdict(*compare_groups(low, high, resamples=1000).interval, 0.005) == "better"
    assert verdict(*compare_groups(high, low, resamples=1000).interval, 0.005) == "worse"


def test_mcnemar_exact_p_matches_the_two_sided_binomial_by_hand():
    # n = 12 discordant images, 2 of one kind: 2 · (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 · 79 / 4096
    assert mcnemar_exact_p(10, 2) == pytest.approx(2 * 79 / 4096) and round(mcnemar_exact_p(10, 2), 4) == 0.0386
    assert mcnemar_exact_p(2, 10) == mcnemar_exact_p(10, 2)
    assert mcnemar_exact_p(7, 7) == 1.0 and mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(0, 5) == pytest.approx(2 / 32)
    assert 0.0 < mcnemar_exact_p(2400, 2600) < 0.01  # thousands of images: no overflow, no lost precision


@pytest.mark.parametrize(("fixed", "broken"), [(0, 1), (3, 9), (40, 55), (500, 430), (7, 7), (2400, 2600)])
def test_mcnemar_exact_p_is_scipys_two_sided_binomial_test(fixed, broken):
    from scipy import stats

    expected = stats.binomtest(fixed, fixed + broken, 0.5).pvalue
    assert mcnemar_exact_p(fixed, broken) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_paired_bootstrap_interval_is_seeded_and_holds_the_observed_difference():
    first = paired_bootstrap_interval(173, 312, 10_000)
    assert first == paired_bootstrap_interval(173, 312, 10_000)
    low, high = first
    assert low < (173 - 312) / 10_000 < high < 0
    assert paired_bootstrap_interval(173, 312, 10_000, seed=1) != first
    assert paired_bootstrap_interval(0, 0, 10_000) == (0.0, 0.0)


def test_paired_bootstrap_interval_has_the_normal_width():
    # Var of the per-image difference is (f + b)/n − ((f − b)/n)²; the 95% half-width is about 1.96 sd/√n.
    fixed, broken, n = 300, 200, 10_000
    sd = np.sqrt((fixed + broken) / n - ((fixed - broken) / n) ** 2) / np.sqrt(n)
    low, high = paired_bootstrap_interval(fixed, broken, n, resamples=20_000)
    assert (high - low) / 2 == pytest.approx(1.96 * sd, rel=0.05)
