"""fashionlab.statistics.calibration: how often `compare` and `decide` call two configurations different, measured
on real seeds (docs/explanation/statistics.md).

`benchmarks/calibration.py` trained the runs and committed their per-image results; these tests hold the
committed figures to the 5% the intervals promise, check that the null perturbs training at all, and recompute
figures with today's statistics, so a change to the bootstrap, the looks or the verdict that moves them fails
here until the figures are measured again.
"""

import json

import numpy as np
import pytest

from fashionlab.statistics.calibration import GROUPS, SWEEP, measure, pairing, races, sequential, unpack
from fashionlab.statistics.significance import ROPE
from tests.conftest import ROOT

RESULTS = json.loads((ROOT / "benchmarks" / "calibration.json").read_text())


@pytest.fixture(scope="module")
def runs():
    with np.load(ROOT / "benchmarks" / "calibration_runs.npz") as stored:
        arrays = dict(stored)
    return {group: unpack(arrays, group, 10_000) for group in GROUPS}


def test_a_change_that_cannot_matter_is_called_different_at_most_5_percent_of_the_time():
    assert len(RESULTS["seeds"]) >= 20 and RESULTS["rope"] == ROPE
    rows = [*RESULTS["null_fixed"], RESULTS["null_sequential"], *RESULTS["same_configuration_unpaired"]]
    assert [row["per_side"] for row in RESULTS["null_fixed"]] == [2, 3, 4, 5, 6, 8, 10]
    for row in rows:
        assert row["directional"] <= 0.05, row
        assert row["directional"] == pytest.approx(
            row["better"] + row["slightly better"] + row["slightly worse"] + row["worse"]
        )


def test_the_null_perturbs_training_and_pairing_removes_most_of_the_seeds_noise():
    """jit off against on: the same seed's two runs are not copies (a tiny configuration's were), yet alike."""
    null = RESULTS["pairing"]["jit_off"]
    assert 0.01 < null["images_disagreeing_same_seed"] < null["images_disagreeing_other_seed"] / 2
    assert null["correlation"] < 0.95
    assert null["sd_paired_difference"] < null["sd_unpaired_difference"] / 2


def test_the_small_change_is_decided_and_never_in_the_wrong_direction():
    change = RESULTS["change_sequential"]
    assert change["undecided"] == 0 and change["worse"] == change["slightly worse"] == 0
    assert change["seeds_spent"]["mean"] <= change["max_seeds"]
    # the fixed design `compare` asked for before (the unpaired power calculation) left many undecided
    assert RESULTS["change_fixed_unpaired"]["per_side"] == RESULTS["fixed_design_seeds"]["delta_rope"]
    assert RESULTS["change_fixed_unpaired"]["undecided"] > change["undecided"]


def test_the_committed_figures_are_what_the_statistics_give_today(runs):
    baseline, null = runs["baseline"], runs["jit_off"]
    assert np.allclose(baseline.mean(axis=1), RESULTS["accuracy"]["baseline"])
    assert pairing(baseline, null) == pytest.approx(RESULTS["pairing"]["jit_off"])
    committed = RESULTS["null_sequential"]
    again = sequential(
        baseline, null, committed["max_seeds"], committed["draws"], rope=RESULTS["rope"], resamples=RESULTS["resamples"]
    )
    assert again == committed


def test_measure_reads_the_groups_it_is_given():
    rng = np.random.default_rng(0)
    easy = rng.random(10_000) < 0.9
    seeds = np.array([1, 2, 3, 4, 42])
    arrays = {
        "baseline_correct": np.packbits(easy & (rng.random((5, 10_000)) < 0.99), axis=1),
        "jit_off_correct": np.packbits(easy & (rng.random((5, 10_000)) < 0.99), axis=1),
        "lower_lr_doubled_correct": np.packbits(easy | (rng.random((5, 10_000)) < 0.5), axis=1),
        **{f"{group}_seeds": seeds for group in GROUPS},
    }
    figures = measure(arrays, 10_000, resamples=200, draws=3)
    assert [row["per_side"] for row in figures["null_fixed"]] == [2, 3, 4, 5]
    assert figures["change_sequential"]["better"] == 1.0  # a change of about five points, seen at the first look
    assert figures["change_sequential"]["seeds_spent"]["mean"] == 3
    with pytest.raises(ValueError, match="the same seeds in the same order"):
        measure({**arrays, "jit_off_seeds": seeds[::-1]}, 10_000, resamples=200, draws=3)


@pytest.fixture(scope="module")
def sweep():
    with np.load(ROOT / "benchmarks" / "calibration_runs.npz") as stored:
        return np.unpackbits(stored["sweep_correct"], axis=2, count=10_000).astype(bool)


def test_races_never_drop_the_true_best_nor_split_a_change_that_cannot_matter():
    """Five real configurations, 24 seeds each, raced in 400 orders of their seeds: the figures the docs report."""
    races = RESULTS["races"]
    assert races["configurations"] == list(SWEEP) and len(races["seeds"]) >= 20
    assert races["race"]["draws"] >= 400 and races["race"]["best_dropped"] <= 0.05
    assert all(row["best_dropped"] <= 0.05 for row in races["fixed"])
    assert races["race"]["clearly_worse_left"] == 0  # five epochs instead of twenty: dropped in every race
    assert races["null_race"]["either_twin_dropped"] <= 0.05  # XLA on or off: neither called worse than the other
    assert races["one_seed"]["not_the_best"] > 0.25  # the winner's curse a race answers
    assert races["race"]["seeds_spent"]["mean"] < max(row["seeds_spent"]["mean"] for row in races["fixed"])


def test_the_committed_races_are_what_the_statistics_give_today(sweep):
    committed = RESULTS["races"]["race_records"][:10]
    again = races(
        sweep, 10, RESULTS["races"]["race"]["max_seeds"], rope=RESULTS["rope"], resamples=RESULTS["resamples"]
    )
    assert again == committed
    truth = RESULTS["races"]["truth"]
    assert sweep.mean(axis=2).mean(axis=1) == pytest.approx(truth["accuracy"])
