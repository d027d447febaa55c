import json
import re
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from conftest import default_params, run_stage, write_params
from fashionlab.layers import LayerNormalization
from fashionlab.parity import CASES, headline, parity_failures, reference_std, run_parity

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


def test_stage_writes_metrics_and_fails_on_a_broken_layer(tmp_path):
    params = write_params(tmp_path / "params.yaml", default_params())
    outputs = ("--metrics", str(tmp_path / "parity.json"), "--details", str(tmp_path / "cases.json"))
    good = run_stage("parity", "--params", str(params), *outputs)
    assert good.returncode == 0, good.stderr
    # No start-up chatter; TensorFlow's own errors pass (with oneDNN on, the float16 case logs one).
    assert not re.search(r"^I\d{4} |absl::InitializeLog|cpu_feature_guard|custom operations are on", good.stderr, re.M)
    written = json.loads((tmp_path / "parity.json").read_text())
    assert set(written) == {"passed", "float32_vs_tolerance", "half_vs_tolerance", "dense_vs_tolerance"}
    assert written["passed"] is True
    assert 0 < written["float32_vs_tolerance"] <= 1 and 0 < written["half_vs_tolerance"] <= 1
    details = json.loads((tmp_path / "cases.json").read_text())
    worst = max(details["summary"]["float32"][key] for key in ("variance_vs_keras_max_abs", "std_excess_over_bound"))
    assert written["float32_vs_tolerance"] >= round(worst / TOLERANCE, 4)
    assert set(details["cases"]) >= {"original_64x64x64", "constant_rows", "bfloat16"}
    before = {name: (tmp_path / name).read_bytes() for name in ("parity.json", "cases.json")}

    # A sitecustomize module breaks the layer inside the stage's own process.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        textwrap.dedent("""
        from fashionlab import layers
        from fashionlab.backend import tf
        original = layers.LayerNormalization.call
        layers.LayerNormalization.call = lambda self, x: original(self, x) - 2 * tf.cast(self.beta, x.dtype)
    """)
    )
    broken = run_stage(
        "parity",
        "--params",
        str(params),
        *outputs,
        env={"PYTHONPATH": str(tmp_path / "site")},
    )
    assert broken.returncode == 1
    assert broken.stderr.startswith("parity.py: error: parity lost in ")
    assert 'original_64x64x64: "variance" vs Keras output max_abs' in broken.stderr
    assert broken.stderr.count("\n") == 1
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
