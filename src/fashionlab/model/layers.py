"""Custom Keras layers: a layer normalisation with a choice of epsilon placement, and a plain dense layer.

Both are registered with Keras, so a saved model reloads in safe mode without `custom_objects`.
"""

from __future__ import annotations

import math

import numpy as np

from fashionlab.common.backend import keras, tf

EPSILON_PLACEMENTS = ("std", "variance")


@keras.saving.register_keras_serializable(package="fashionlab")
class LayerNormalization(keras.layers.Layer):
    """Normalise each instance over its last axis: `α ⊗ (X − μ) / (σ + ε) + β` (placement "std").

    μ and σ² come from `tf.nn.moments` over the last axis; α starts at ones and β at zeros, one of each
    per feature, always float32. Half-precision inputs are computed in float32 and returned in their
    own dtype, as the statistics of 8- or 11-bit mantissas are too coarse to normalise with.

    Placement "variance" computes `(X − μ) / √(σ² + ε)` instead, which is what
    `keras.layers.LayerNormalization` does; the two layers then agree to float32 rounding.

    How far "std" is from Keras: with d = X − μ and n features, the difference is exactly
    `α · d · (1/(σ + ε) − 1/√(σ² + ε))`. No deviation exceeds √(n − 1) standard deviations
    (|d| ≤ σ√(n − 1)), so per row

        |Δ| ≤ |α| · √(n − 1) · g(σ),   g(σ) = |σ/(σ + ε) − σ/√(σ² + ε)| < 1.

    g ≈ ε/σ once σ ≫ √ε (e.g. 5e-4 per unit of |z| at σ = 1, ε = 1e-3) and g ≤ 0.678 for ε = 1e-3
    at worst (near σ ≈ 0.0047). `std_placement_bound` computes this bound; the parity stage and the
    tests check it.

    Rows whose features are all equal (σ = 0) give β, with finite gradients: σ is taken as
    `√σ²` only where σ² > 0, as √ has an infinite derivative at 0.

    Args:
        epsilon: the small constant ε that keeps the division finite.
        epsilon_placement: "std" (the formula above, the default) or "variance" (as Keras).
    """

    def __init__(self, epsilon: float = 1e-3, epsilon_placement: str = "std", **kwargs):
        super().__init__(**kwargs)
        if epsilon_placement not in EPSILON_PLACEMENTS:
            raise ValueError(f"epsilon_placement: expected one of {EPSILON_PLACEMENTS}, got {epsilon_placement!r}")
        self.epsilon = epsilon
        self.epsilon_placement = epsilon_placement
        # Weights stay float32 under a mixed-precision policy and inputs keep their dtype: `call` casts.
        self.autocast = False

    def build(self, input_shape):
        feature_shape = tuple(input_shape[-1:])
        self.alpha = self.add_weight(
            name="alpha", shape=feature_shape, initializer="ones", dtype="float32", autocast=False
        )
        self.beta = self.add_weight(
            name="beta", shape=feature_shape, initializer="zeros", dtype="float32", autocast=False
        )

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        mean, variance = tf.nn.moments(x, axes=-1, keepdims=True)
        if self.epsilon_placement == "std":
            positive = variance > 0.0
            std = tf.where(positive, tf.sqrt(tf.where(positive, variance, 1.0)), 0.0)
            normalized = (x - mean) / (std + self.epsilon)
        else:
            normalized = (x - mean) / tf.sqrt(variance + self.epsilon)
        return tf.cast(self.alpha * normalized + self.beta, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "epsilon_placement": self.epsilon_placement}


def std_placement_bound(variance: np.ndarray, features: int, epsilon: float, alpha_abs_max: float) -> np.ndarray:
    """Per-row bound on |"std" − "variance"| (see `LayerNormalization`), from each row's variance σ²."""
    std = np.sqrt(np.asarray(variance, dtype=np.float64))
    gap = np.abs(std / (std + epsilon) - std / np.sqrt(std**2 + epsilon))
    return alpha_abs_max * math.sqrt(max(features - 1, 0)) * gap


@keras.saving.register_keras_serializable(package="fashionlab")
class Dense(keras.layers.Layer):
    """`activation(X · W + b)` with W from `glorot_normal` and b from zeros; the same maths as Keras's Dense.

    Args:
        units: the number of outputs.
        activation: anything `keras.activations.get` accepts (a name, a function, or None for linear).
    """

    def __init__(self, units: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return self.activation(keras.ops.matmul(inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
        }
