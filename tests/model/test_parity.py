"""fashionlab.model.parity: the custom layers measured against Keras's and a float64 reference, and a broken
layer caught."""

import numpy as np
import pytest
import tensorflow as tf

from fashionlab.model.layers import LayerNormalization
from fashionlab.model.parity import CASES, headline, parity_failures, reference_std, run_parity

TOLERANCE, HALF_TOLERANCE = 1e-5, 5e-2


class SignFlippedLayer(LayerNormalization):
    """Subtracts β instead of adding it: wrong only where β differs from zero, as after training."""

    def call(self, inputs):
        return super().call(inputs) - 2 * tf.cast(self.beta, inputs.dtype)


@pytest.fixture(scope="module")
def report():
    return run_parity(1e-3, seed=42)


def test_every_case_is_measured_for_both_placements(report):
    assert set(report["cases"]) == {case.name for case in CASES}
    for case in report["cases"].values():
        for placement in ("std", "variance"):
            assert set(case[placement]["vs_keras"]) == {"output", "grad_input", "grad_alpha", "grad_beta"}


def test_parity_holds_for_our_layers(report):
    assert parity_failures(report, TOLERANCE, HALF_TOLERANCE) == []
    assert report["summary"]["float32"]["variance_vs_keras_max_abs"] <= TOLERANCE
    # "std" genuinely differs from Keras, yet within the derived bound
    assert report["summary"]["float32"]["std_vs_keras_max_abs"] > 1e-3


def test_a_broken_layer_loses_parity():
    broken = run_parity(1e-3, seed=42, layer_cls=SignFlippedLayer)
    failures = parity_failures(broken, TOLERANCE, HALF_TOLERANCE)
    assert any('"variance" vs Keras output' in f for f in failures)
    assert any('"std" vs float64 NumPy' in f for f in failures)
    metrics = headline(broken, TOLERANCE, HALF_TOLERANCE)
    assert metrics["passed"] is False and metrics["float32_vs_tolerance"] > 1 and metrics["half_vs_tolerance"] > 1
    assert metrics["dense_vs_tolerance"] < 1  # the dense layer was not broken


def test_negative_differences_are_not_hidden():
    """The original check took reduce_max(y1 - y2), which misses a layer that is only ever too small."""

    class TooSmall(LayerNormalization):
        def call(self, inputs):
            return super().call(inputs) - 0.01

    report = run_parity(1e-3, seed=1, layer_cls=TooSmall)
    assert report["summary"]["float32"]["variance_vs_keras_max_abs"] == pytest.approx(0.01, rel=1e-3)


def test_float64_reference_is_the_specified_formula():
    x = np.array([[1.0, 2.0, 4.0]])
    std = np.sqrt(((x - 7 / 3) ** 2).mean())
    np.testing.assert_allclose(
        reference_std(x, np.array([2.0] * 3), np.array([1.0] * 3), 0.5), 2 * (x - 7 / 3) / (std + 0.5) + 1
    )
