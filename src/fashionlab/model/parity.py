"""Measure the custom layers against Keras's own, case by case, and decide whether parity holds.

Every comparison uses identical weights (α and β random, not their initial values) and a random
upstream gradient, since a plain `sum(y)` has zero gradient through a normalisation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fashionlab.common.backend import keras, tf
from fashionlab.model.layers import EPSILON_PLACEMENTS, Dense, LayerNormalization, std_placement_bound

HALF_DTYPES = ("float16", "bfloat16")


@dataclass(frozen=True)
class Case:
    name: str
    shape: tuple[int, ...]
    scale: float = 1.0
    dtype: str = "float32"
    constant_rows: bool = False  # every other row has all features equal (σ = 0)


CASES = (
    Case("original_64x64x64", (64, 64, 64)),
    Case("wide_128x512", (128, 512)),
    Case("rank4_8x7x6x32", (8, 7, 6, 32)),
    Case("single_feature", (64, 1)),
    Case("constant_rows", (32, 64), constant_rows=True),
    Case("large_1e4", (64, 256), scale=1e4),
    Case("tiny_1e-4", (64, 256), scale=1e-4),
    Case("float16", (64, 256), dtype="float16"),
    Case("bfloat16", (64, 256), dtype="bfloat16"),
)


def make_input(case: Case, rng: np.random.Generator) -> np.ndarray:
    x = rng.normal(size=case.shape) * case.scale
    if case.constant_rows:
        x[::2] = rng.normal(size=(*x[::2].shape[:-1], 1)) * case.scale
    return x.astype(np.float32)


def reference_std(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray, epsilon: float) -> np.ndarray:
    """The specified formula in float64 NumPy, written independently of TensorFlow."""
    x = x.astype(np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    std = np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True))
    return alpha.astype(np.float64) * (x - mean) / (std + epsilon) + beta.astype(np.float64)


def _forward_and_grads(layer, x: np.ndarray, dtype: str, upstream: np.ndarray):
    """Output and gradients w.r.t. the input, α/γ and β, all as float64 NumPy arrays."""
    inputs = tf.cast(tf.constant(x), dtype)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = layer(inputs)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * upstream)
    scale, offset = layer.trainable_weights
    grads = tape.gradient(loss, [inputs, scale, offset])
    as64 = [tf.cast(t, tf.float64).numpy() for t in (y, *grads)]
    return {"output": as64[0], "grad_input": as64[1], "grad_alpha": as64[2], "grad_beta": as64[3]}


def _differences(ours: dict, theirs: dict) -> dict:
    """max |Δ| and max |Δ| relative to the largest reference magnitude, per quantity."""
    result = {}
    for key, reference in theirs.items():
        delta = float(np.max(np.abs(ours[key] - reference)))
        scale = float(np.max(np.abs(reference)))
        result[key] = {"max_abs": delta, "max_rel": delta / scale if scale > 0 else delta}
    return result


def measure_case(case: Case, epsilon: float, seed: int, layer_cls=LayerNormalization) -> dict:
    rng = np.random.default_rng(seed)
    x = make_input(case, rng)
    features = case.shape[-1]
    alpha = rng.uniform(0.5, 1.5, size=features).astype(np.float32)
    beta = rng.normal(size=features).astype(np.float32)
    upstream = rng.normal(size=case.shape).astype(np.float32)
    policy = f"mixed_{case.dtype}" if case.dtype in HALF_DTYPES else "float32"

    keras_layer = keras.layers.LayerNormalization(epsilon=epsilon, dtype=policy)
    keras_layer.build(case.shape)
    keras_layer.set_weights([alpha, beta])
    theirs = _forward_and_grads(keras_layer, x, case.dtype, upstream)

    result = {"shape": list(case.shape), "dtype": case.dtype}
    for placement in EPSILON_PLACEMENTS:
        layer = layer_cls(epsilon=epsilon, epsilon_placement=placement, dtype=policy)
        layer.build(case.shape)
        layer.set_weights([alpha, beta])
        ours = _forward_and_grads(layer, x, case.dtype, upstream)
        entry = {"vs_keras": _differences(ours, theirs)}
        if placement == "std":
            # The reference sees the input as the layer saw it (rounded to half precision, if so).
            seen = tf.cast(tf.cast(x, case.dtype), tf.float64).numpy()
            reference = reference_std(seen, alpha, beta, epsilon)
            entry["vs_float64"] = float(np.max(np.abs(ours["output"] - reference)))
            bound = std_placement_bound(seen.var(axis=-1, keepdims=True), features, epsilon, float(alpha.max()))
            excess = np.abs(ours["output"] - theirs["output"]) - bound
            entry["bound"] = float(bound.max())
            entry["excess_over_bound"] = max(float(excess.max()), 0.0)
        result[placement] = entry
    return result


def measure_dense(seed: int, layer_cls=Dense) -> dict:
    """Our Dense against Keras's with the same kernel and bias, forward and gradients."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(128, 784)).astype(np.float32)
    kernel = rng.normal(scale=0.05, size=(784, 64)).astype(np.float32)
    bias = rng.normal(size=64).astype(np.float32)
    upstream = rng.normal(size=(128, 64)).astype(np.float32)
    outputs = {}
    for name, layer in (
        ("ours", layer_cls(64, activation="relu")),
        ("keras", keras.layers.Dense(64, "relu")),
    ):
        layer.build(x.shape)
        layer.set_weights([kernel, bias])
        outputs[name] = _forward_and_grads(layer, x, "float32", upstream)
    renamed = [
        {
            "output": o["output"],
            "grad_input": o["grad_input"],
            "grad_kernel": o["grad_alpha"],
            "grad_bias": o["grad_beta"],
        }
        for o in (outputs["ours"], outputs["keras"])
    ]
    return _differences(*renamed)


def run_parity(epsilon: float, seed: int, layer_cls=LayerNormalization, dense_cls=Dense) -> dict:
    """The full report: every case, the dense check, and a summary of the worst values."""
    cases = {case.name: measure_case(case, epsilon, seed + i, layer_cls) for i, case in enumerate(CASES)}
    dense = measure_dense(seed, dense_cls)
    summary = {
        group: _summarise([c for c in cases.values() if (c["dtype"] in HALF_DTYPES) == (group == "half")])
        for group in ("float32", "half")
    }
    summary["dense_vs_keras_max_abs"] = dense["output"]["max_abs"]
    return {"epsilon": epsilon, "cases": cases, "dense": dense, "summary": summary}


def _summarise(cases: list[dict]) -> dict:
    return {
        "variance_vs_keras_max_abs": max(c["variance"]["vs_keras"]["output"]["max_abs"] for c in cases),
        "std_vs_float64_max_abs": max(c["std"]["vs_float64"] for c in cases),
        "std_vs_keras_max_abs": max(c["std"]["vs_keras"]["output"]["max_abs"] for c in cases),
        "std_excess_over_bound": max(c["std"]["excess_over_bound"] for c in cases),
    }


def checks(report: dict, tolerance: float, half_tolerance: float) -> Iterator[tuple[str, str, float, float]]:
    """Every promise the report is held to, as (group, what was measured, value, its tolerance).

    The group is float32, half (float16 and bfloat16 inputs) or dense.
    """
    for name, case in report["cases"].items():
        group, tol = ("half", half_tolerance) if case["dtype"] in HALF_DTYPES else ("float32", tolerance)
        for quantity, diff in case["variance"]["vs_keras"].items():
            measure = "max_abs" if quantity == "output" else "max_rel"
            yield group, f'{name}: "variance" vs Keras {quantity} {measure}', diff[measure], tol
        yield group, f'{name}: "std" vs float64 NumPy max_abs', case["std"]["vs_float64"], tol
        yield group, f'{name}: "std" vs Keras, excess over the derived bound', case["std"]["excess_over_bound"], tol
    for quantity, diff in report["dense"].items():
        measure = "max_abs" if quantity == "output" else "max_rel"
        yield "dense", f"dense: vs Keras {quantity} {measure}", diff[measure], tolerance


def parity_failures(report: dict, tolerance: float, half_tolerance: float) -> list[str]:
    """One line per broken promise; empty when parity holds."""
    return [
        f"{what} {value:.3g} > {tol:g}"
        for _, what, value, tol in checks(report, tolerance, half_tolerance)
        if not value <= tol  # NaN fails too
    ]


def headline(report: dict, tolerance: float, half_tolerance: float) -> dict:
    """What `dvc metrics show` needs: pass/fail and each group's worst deviation as a fraction of its
    tolerance (under 1 passes), a scale on which deviations of 1e-6 do not print as 0.0."""
    worst, passed = {"float32": 0.0, "half": 0.0, "dense": 0.0}, True
    for group, _, value, tol in checks(report, tolerance, half_tolerance):
        worst[group] = max(worst[group], value / tol)
        passed = passed and value <= tol  # NaN fails too
    return {"passed": passed, **{f"{group}_vs_tolerance": round(ratio, 4) for group, ratio in worst.items()}}
