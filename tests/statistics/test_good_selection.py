"""fashionlab.statistics.good_selection and kim_nelson: the race's choice keeps its guarantee (a good selection with
probability at least 1 − α, for any means), measured on the real sweep and on sweeps with known means, beside KN;
the committed figures (benchmarks/calibration.json, "choices") hold the goals, and the code still gives them."""

import json

import numpy as np
import pytest

from fashionlab.statistics.calibration import SWEEP
from fashionlab.statistics.good_selection import (
    SCENARIOS,
    bound_misses,
    built_sweep,
    comparison_correlations,
    figures,
    kn_choice,
    near_ones,
    orders,
    race_choice,
    race_key,
)
from fashionlab.statistics.kim_nelson import h_squared, kn
from fashionlab.statistics.sequential import BOUNDS, CHOICE_BOUND
from fashionlab.statistics.significance import ROPE
from tests.conftest import ROOT

CHOICES = json.loads((ROOT / "benchmarks" / "calibration.json").read_text())["choices"]
RACE = race_key(CHOICE_BOUND)  # the race as it runs; the other bounds were measured beside it


@pytest.fixture(scope="module")
def sweep():
    with np.load(ROOT / "benchmarks" / "calibration_runs.npz") as stored:
        return np.unpackbits(stored["sweep_correct"], axis=2, count=10_000).astype(bool)


def test_the_real_sweep_names_a_good_choice_in_at_least_95_percent_of_races_with_at_most_35_seeds():
    real = CHOICES["real"]
    assert real["configurations"] == list(SWEEP) and CHOICES["max_seeds"] == 20 and CHOICES["rope"] == ROPE
    assert CHOICES["race_bound"] == CHOICE_BOUND
    race = real[RACE]
    assert race["draws"] >= 400
    assert race["named"] >= 0.95 and race["good"] >= 0.95
    assert race["seeds_spent"]["mean"] <= 35  # the goal, against 75.7 when the race placed every configuration
    assert race["seeds_spent"]["mean"] < min(real[f"fixed_{n}"]["seeds_spent"]["mean"] for n in (8, 12, 20))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("bound", BOUNDS)
def test_every_built_sweep_gets_a_good_selection_at_least_1_minus_alpha_of_the_time(scenario, bound):
    """Means set by hand, among them the hardest: the best a hair more than one ROPE ahead, so that naming any
    other is an error, with 5 and with 8 configurations; for the race's own bound and the ones measured beside it."""
    found = CHOICES["built"][scenario]
    race = found[race_key(bound)]
    assert found["offsets"] == list(SCENARIOS[scenario]) and race["draws"] >= 400
    assert race["good"] >= 1 - CHOICES["alpha"], race
    assert race["named"] >= 0.95


def test_the_race_spends_its_alpha_on_the_upper_ends_only_and_no_more_seeds_on_any_sweep():
    """Kept because it holds every calibration and rests on the same union bound; Hsu's constant, measured beside
    it, saves a little more on an assumption (the comparisons correlate ½) that paired seeds do not keep."""
    sweeps = [CHOICES["real"], *CHOICES["built"].values()]
    seeds = {bound: [sweep[race_key(bound)]["seeds_spent"]["mean"] for sweep in sweeps] for bound in BOUNDS}
    assert all(one <= two for one, two in zip(seeds["one-sided"], seeds["bonferroni"], strict=True))
    assert sum(seeds["one-sided"]) < 0.95 * sum(seeds["bonferroni"])
    assert all(hsu <= one for hsu, one in zip(seeds["hsu"], seeds["one-sided"], strict=True))


def test_hsus_constant_misses_more_than_alpha_where_the_comparisons_do_not_correlate_and_one_end_never_does(sweep):
    """Why the race does not use Hsu's constant though every calibration above held: paired seeds make the best's
    comparisons correlate far below ½ (the real sweep's, below 0), and there its boundaries miss more than α; the
    union bound never does."""
    found = comparison_correlations(near_ones(sweep, list(SWEEP)))
    assert found == pytest.approx(CHOICES["comparison_correlation"], abs=1e-9)  # BLAS may round otherwise elsewhere
    assert found["min"] < 0 < 0.5 < found["max"]
    rows = CHOICES["bound_misses"]
    assert rows == bound_misses()  # the committed figures are what the code gives
    missed = {(row["bound"], row["configurations"], row["correlation"]): row["missed"] for row in rows}
    assert missed["hsu", 5, 0.0] > 0.055 and missed["hsu", 8, 0.0] > 0.06
    union = [missed[bound, k, rho] for bound in ("bonferroni", "one-sided") for k in (5, 8) for rho in (0, 0.5)]
    assert all(rate < 0.05 for rate in union)
    assert all(missed["one-sided", k, rho] > 0.035 for k in (5, 8) for rho in (0, 0.5))  # not wasted on lower ends


def test_the_images_own_noise_is_a_floor_as_large_as_the_seeds_at_20():
    floor = CHOICES["image_floor"]
    assert floor["seeds"] == 20 and 0.0002 < floor["image_se"]["min"] <= floor["image_se"]["max"] < 0.001
    assert 0.2 < floor["image_share_of_variance"]["max"] < 0.8


def test_a_built_sweep_has_the_means_it_was_given_and_the_real_seeds_noise(sweep):
    real = sweep[:4]
    offsets = SCENARIOS["8 configurations, the best one ROPE ahead"]
    built = built_sweep(real, offsets, ROPE)
    means = built.mean(axis=2).mean(axis=1)
    np.testing.assert_allclose((means - means.max()) / ROPE, offsets, atol=1e-3)
    # each configuration is a real one's runs, some images turned for every seed: its seeds still differ alike
    for c in range(len(offsets)):
        source = np.roll(real[c % 4], c // 4, axis=0)
        turned = np.mean(built[c] != source)
        assert turned < 0.02
        assert np.corrcoef(built[c].mean(axis=1), source.mean(axis=1))[0, 1] > 0.9


def test_kn_has_the_published_constants_and_eliminates_a_clearly_worse_one_at_once():
    assert [round(h_squared(5, n0, 0.05), 2) for n0 in (3, 5, 10)] == [78.0, 21.3, 11.43]
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(0, 0.002, size=(1, 30))
    accuracy = np.array([[0.89], [0.895], [0.85]]) + seed_effect + rng.normal(0, 0.0005, size=(3, 30))
    selection = kn(accuracy, 0.005)
    assert selection.selected in (0, 1) and selection.seeds[2] == 5


def test_the_committed_kn_figures_and_a_few_races_are_what_the_code_gives_today(sweep):
    drawn = orders(sweep.shape[1], CHOICES["real"]["kn"]["draws"])
    truth = np.array(CHOICES["real"]["truth"])
    again = figures([kn_choice(sweep, order, rope=ROPE) for order in drawn], truth, ROPE)
    assert again == CHOICES["real"]["kn"]
    hard = built_sweep(sweep[:4], SCENARIOS["the best one ROPE ahead"], ROPE)
    for i, order in enumerate(drawn[:3]):
        for bound in BOUNDS:
            record = race_choice(hard, order, 20, rope=ROPE, resamples=CHOICES["resamples"], seed=i, bound=bound)
            assert record["named"] == 0  # the only good choice
