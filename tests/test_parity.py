import json
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from conftest import default_params, run_stage, write_params
from fashionlab.layers import LayerNormalization
from fashionlab.parity import CASES, parity_failures, reference_std, run_parity

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
    failures = parity_failures(run_parity(1e-3, seed=42, layer_cls=SignFlippedLayer), TOLERANCE, HALF_TOLERANCE)
    assert any('"variance" vs Keras output' in f for f in failures)
    assert any('"std" vs float64 NumPy' in f for f in failures)


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


def test_stage_writes_metrics_and_fails_on_a_broken_layer(tmp_path):
    params = write_params(tmp_path / "params.yaml", default_params())
    good = run_stage("parity", "--params", str(params), "--metrics", str(tmp_path / "parity.json"))
    assert good.returncode == 0, good.stderr
    written = json.loads((tmp_path / "parity.json").read_text())
    assert written["summary"]["float32"]["std_excess_over_bound"] <= TOLERANCE
    before = (tmp_path / "parity.json").read_bytes()

    # A sitecustomize module breaks the layer inside the stage's own process.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        textwrap.dedent("""
        import tensorflow as tf
        from fashionlab import layers
        original = layers.LayerNormalization.call
        layers.LayerNormalization.call = lambda self, x: original(self, x) - 2 * tf.cast(self.beta, x.dtype)
    """)
    )
    broken = run_stage(
        "parity",
        "--params",
        str(params),
        "--metrics",
        str(tmp_path / "parity.json"),
        env={"PYTHONPATH": str(tmp_path / "site")},
    )
    assert broken.returncode == 1
    assert broken.stderr.startswith("parity.py: error: parity lost in ")
    assert 'original_64x64x64: "variance" vs Keras output max_abs' in broken.stderr
    assert broken.stderr.count("\n") == 1
    assert (tmp_path / "parity.json").read_bytes() == before
