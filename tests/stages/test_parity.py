"""stages/parity.py: the metrics written when parity holds, one line and nothing written when a layer breaks it."""

import json
import re
import textwrap

from tests.conftest import default_params, run_stage, write_params

TOLERANCE, HALF_TOLERANCE = 1e-5, 5e-2


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
        from fashionlab.model import layers
        from fashionlab.common.backend import tf
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
