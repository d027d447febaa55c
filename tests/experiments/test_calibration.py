"""fashionlab.experiments.calibration: the calibration of `compare` on configurations, measured on real seeds
(docs/explanation/statistics.md).

`benchmarks/calibration.py` trained the runs and committed their per-image results; these tests hold the
committed figures to the 5% the 95% interval promises, and recompute one of them with today's statistics,
so a change to the bootstrap or the verdict that moves them fails here until the figures are measured again.
"""

import json

import numpy as np
import pytest

from fashionlab.experiments.calibration import measure, same_configuration
from fashionlab.experiments.comparison import ROPE
from tests.conftest import ROOT

RESULTS = json.loads((ROOT / "benchmarks" / "calibration.json").read_text())


@pytest.fixture(scope="module")
def runs():
    with np.load(ROOT / "benchmarks" / "calibration_runs.npz") as stored:
        return dict(stored)


def test_the_same_configuration_is_called_different_at_most_5_percent_of_the_time():
    assert len(RESULTS["seeds"]["baseline"]) >= 10
    assert RESULTS["same_configuration"] and RESULTS["rope"] == ROPE
    for row in RESULTS["same_configuration"]:
        assert row["false_difference"] <= 0.05, row


def test_the_committed_figures_are_what_the_statistics_give_today(runs):
    smallest = RESULTS["same_configuration"][0]
    baseline = np.unpackbits(runs["baseline_correct"], axis=1, count=10_000).astype(bool)
    again = same_configuration(
        baseline, smallest["per_side"], smallest["draws"], rope=RESULTS["rope"], resamples=RESULTS["resamples"]
    )
    assert again == smallest
    assert np.allclose(baseline.mean(axis=1), RESULTS["accuracy"]["baseline"])


def test_measure_reads_the_runs_it_is_given():
    rng = np.random.default_rng(0)
    easy = rng.random(10_000) < 0.9
    arrays = {
        "baseline_correct": np.packbits(easy & (rng.random((4, 10_000)) < 0.99), axis=1),
        "change_correct": np.packbits(easy | (rng.random((4, 10_000)) < 0.5), axis=1),
        "baseline_seeds": np.array([1, 2, 3, 4]),
        "change_seeds": np.array([1, 2, 3, 4]),
    }
    figures = measure(arrays, 10_000, resamples=200, draws=3)
    assert [row["per_side"] for row in figures["same_configuration"]] == [2]
    assert [row["per_side"] for row in figures["change"]] == [2, 3, 4]
    assert figures["change"][-1]["better"] == 1.0  # a change of about five points, seen with any seeds
