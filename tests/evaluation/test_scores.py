"""fashionlab.evaluation.scores: the scores on predictions whose answer is known."""

import signal

import keras
import numpy as np
import pytest

from fashionlab.common import interrupts
from fashionlab.evaluation.scores import classification_scores, cross_entropy, load_trained_model

NAMES = ("a", "b", "c")


def test_scores_on_known_predictions():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    scores, (a, b, c) = classification_scores(labels, predicted, NAMES)
    assert scores["accuracy"] == pytest.approx(6 / 8)
    assert a == {"class": "a", "precision": 1.0, "recall": 0.75, "f1": pytest.approx(6 / 7), "support": 4}
    assert b["precision"] == 0.5 and b["recall"] == 0.5
    assert c["precision"] == pytest.approx(2 / 3) and c["recall"] == 1.0
    assert scores["macro_f1"] == pytest.approx((6 / 7 + 0.5 + 0.8) / 3)


def test_class_never_predicted_scores_zero_not_nan():
    _, per_class = classification_scores(np.array([0, 1, 2]), np.array([0, 0, 2]), NAMES)
    assert per_class[1] == {"class": "b", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_cross_entropy_matches_keras():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 10)).astype(np.float32) * 30
    labels = rng.integers(0, 10, 50)
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert cross_entropy(logits, labels) == pytest.approx(float(expected), rel=1e-5)


def test_a_signal_while_the_model_loads_is_the_signal_not_a_damaged_model(tmp_path, monkeypatch):
    """Keras's loader catches every `Exception`; Ctrl-C there must not read "cannot load the model"."""
    model = tmp_path / "model.keras"
    model.write_bytes(b"whole")

    def interrupted_load(*_args, **_kwargs):
        interrupts._interrupt(signal.SIGINT, None)  # as the handler that `interrupts.install` sets would run

    monkeypatch.setattr(keras.models, "load_model", interrupted_load)
    with pytest.raises(interrupts.StageInterrupted, match=r"^interrupted by SIGINT: "):
        load_trained_model(model)
