"""fashionlab.experiments.commands.compare and .configurations: two revisions' predictions compared image by image,
and two groups of seeds, paired by seed where they can be, on cases whose answer is known."""

import numpy as np
import pytest

from fashionlab.data.catalog import FASHION_MNIST
from fashionlab.experiments.commands.compare import compare_models as compare
from fashionlab.experiments.commands.configurations import compare_configurations
from fashionlab.experiments.records.groups import SeedGroup
from fashionlab.experiments.records.predictions import Predictions
from fashionlab.experiments.reports.compare import _configuration_text
from fashionlab.experiments.reports.verdicts import verdict_sentence

NAMES = FASHION_MNIST.class_names


def predictions(revision, actual, predicted):
    return Predictions(revision, None, NAMES, {}, np.asarray(actual), np.asarray(predicted))


def test_a_revision_compared_with_itself_shows_no_difference():
    actual = np.arange(100) % 10
    run = predictions("HEAD", actual, (actual + (np.arange(100) % 3 == 0)) % 10)
    result = compare(run, run)
    assert result["difference"] == 0 and result["mcnemar_p"] == 1.0
    assert result["verdict"] == "no detectable difference"
    assert (result["interval"]["low"], result["interval"]["high"]) == (0.0, 0.0)


def test_ten_fixed_and_two_broken_is_a_detectable_improvement():
    actual = np.arange(100) % 10
    a_pred, b_pred = actual.copy(), actual.copy()
    a_pred[:10] = (actual[:10] + 1) % 10  # A wrong on images 0-9 (one per class), B right: fixed 10
    b_pred[[10, 21]] = 5  # B wrong on two images of classes 0 and 1 that A gets right: broken 2
    result = compare(predictions("A", actual, a_pred), predictions("B", actual, b_pred))
    assert (result["fixed"], result["broken"]) == (10, 2)
    assert result["difference"] == pytest.approx(0.08)
    assert round(result["mcnemar_p"], 4) == 0.0386 and result["verdict"] == "B better"
    assert result["recall"][0] == {"class": "T-shirt/top", "a": 0.9, "b": 0.9, "change": 0.0}
    assert result["recall"][2] == {"class": "Pullover", "a": 0.9, "b": 1.0, "change": pytest.approx(0.1)}
    swapped = compare(predictions("B", actual, b_pred), predictions("A", actual, a_pred))
    assert swapped["verdict"] == "B worse" and swapped["difference"] == pytest.approx(-0.08)


# --- configurations: groups of seeds, paired by seed where they share seed numbers ---------------------------


def group(revision, seeds, correct, machines=None):
    correct = np.asarray(correct, bool)
    names = tuple(f"{revision}-{seed}" for seed in seeds)
    return SeedGroup(revision, names, tuple(seeds), correct, 0, tuple(machines or ["AMD EPYC, 2 cores"] * len(seeds)))


def runs_of(rng, seeds, quality):
    """Runs on 2,000 images whose seed moves both sides alike (`quality` per seed, shared)."""
    easiness = rng.beta(0.5, 0.062, size=2000)
    return rng.random((len(seeds), 2000)) < easiness + quality[:, None]


def test_groups_sharing_seed_numbers_are_paired_and_the_rest_named():
    rng = np.random.default_rng(7)
    quality = rng.normal(0, 0.003, size=5)
    a = group("HEAD", [1, 2, 3, 42], runs_of(rng, range(4), quality[:4]))
    b = group("workspace", [1, 2, 42, 7], runs_of(rng, range(4), quality[[0, 1, 3, 4]]))
    c = compare_configurations(a, b, resamples=500)
    assert c["paired"] and c["shared_seeds"] == [1, 2, 42] and c["left_out"] == {"a": [3], "b": [7]}
    shared_a, shared_b = a.correct[[0, 1, 3]].mean(axis=1), b.correct[[0, 1, 2]].mean(axis=1)
    assert c["difference"] == pytest.approx(float(np.mean(shared_b - shared_a)))
    assert c["spread"]["paired_difference_sd"] == pytest.approx(float(np.std(shared_b - shared_a, ddof=1)))
    text = "\n".join(
        _configuration_text(
            {"a": {"revision": "HEAD", "commit": None}, "b": {"revision": "workspace", "commit": None}}, c
        )
    )
    assert (
        "paired by seed: the 3 seeds both sides ran (1, 2, 42); 2 left out of the paired figures, the other side "
        in text
    )
    assert "lacking them: A's seed 3; B's seed 7" in text
    assert "P(B > A) on a seed: " in text and "of the 3 shared seeds" in text
    assert "B - A on the same seed sd " in text and "(two unpaired runs: " in text


def test_groups_sharing_fewer_than_two_seeds_fall_back_to_unpaired_and_say_so():
    rng = np.random.default_rng(8)
    a = group("HEAD", [1, 42], runs_of(rng, range(2), np.zeros(2)))
    b = group("workspace", [42, 7], runs_of(rng, range(2), np.zeros(2)))
    c = compare_configurations(a, b, resamples=500)
    assert not c["paired"] and c["shared_seeds"] == [42] and c["left_out"] == {"a": [], "b": []}
    assert c["difference"] == pytest.approx(float(b.correct.mean() - a.correct.mean()))
    text = "\n".join(
        _configuration_text(
            {"a": {"revision": "HEAD", "commit": None}, "b": {"revision": "workspace", "commit": None}}, c
        )
    )
    assert (
        "not paired: the groups share seed 42 only (pairing needs 2), so each side's seeds are resampled on their own"
        in text
    )


def test_a_group_of_runs_from_two_machines_says_so():
    rng = np.random.default_rng(9)
    machines = ["AMD EPYC, 2 cores, AVX2", "AMD EPYC, 2 cores, AVX-512", "AMD EPYC, 2 cores, AVX-512"]
    a = group("HEAD", [1, 2, 42], runs_of(rng, range(3), np.zeros(3)), machines)
    b = group("workspace", [1, 2, 42], runs_of(rng, range(3), np.zeros(3)))
    c = compare_configurations(a, b, resamples=200)
    assert c["machines"]["a"] == [
        {"machine": "AMD EPYC, 2 cores, AVX-512", "runs": 2},
        {"machine": "AMD EPYC, 2 cores, AVX2", "runs": 1},
    ]
    text = "\n".join(
        _configuration_text(
            {"a": {"revision": "HEAD", "commit": None}, "b": {"revision": "workspace", "commit": None}}, c
        )
    )
    assert (
        "   A's runs come from 2 machines (2 on AMD EPYC, 2 cores, AVX-512; 1 on AMD EPYC, 2 cores, AVX2): runs of one "
        "seed differ more" in text
    )
    assert "B's runs come from" not in text


@pytest.mark.parametrize(
    ("verdict", "words"),
    [
        ("slightly better", "B is slightly better than A: the 95% interval is above 0 but within the ROPE ±0.0050"),
        ("equivalent", "equivalent: the 95% interval holds 0 and is within the ROPE ±0.0050"),
    ],
)
def test_a_real_difference_within_the_rope_is_named_as_such(verdict, words):
    assert verdict_sentence(verdict, 0.95, 0.005).startswith(words)
    assert verdict_sentence("better", 0.9973, 0.005).startswith("B is better than A: the 99.73% interval is above 0")
