"""fashionlab.experiments.comparison: two revisions' predictions compared image by image, on cases whose
answer is known."""

import numpy as np
import pytest

from fashionlab.data.catalog import FASHION_MNIST
from fashionlab.experiments.comparison import compare
from fashionlab.experiments.predictions import Predictions

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
