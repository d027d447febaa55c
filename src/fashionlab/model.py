"""The classifier: an MLP whose layer implementations and sizes come from the `model` params."""

from __future__ import annotations

from fashionlab import layers
from fashionlab.backend import keras
from fashionlab.idx import IMAGE_SIDE, NUM_CLASSES
from fashionlab.params import ModelParams


def _dense(params: ModelParams, units: int, name: str) -> keras.layers.Layer:
    if params.dense == "custom":
        return layers.Dense(units, name=name)
    return keras.layers.Dense(units, kernel_initializer="glorot_normal", name=name)


def _norm(params: ModelParams, name: str) -> keras.layers.Layer:
    if params.norm == "custom":
        return layers.LayerNormalization(params.epsilon, params.epsilon_placement, name=name)
    return keras.layers.LayerNormalization(epsilon=params.epsilon, name=name)


def build_model(params: ModelParams) -> keras.Model:
    """uint8 images in, logits out: Rescaling → Flatten → [Dense → Norm → ReLU] per hidden size → Dense(10).

    Layer names (`dense1`, `norm1`, …, `logits`) are stable, so optimizer groups can name them. The
    scaling to [0, 1] lives in the model, so the saved model takes raw images like the prepared data.
    Seed the global generator (`keras.utils.set_random_seed`) first: it draws the initial weights.
    """
    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), dtype="uint8", name="images")
    x = keras.layers.Rescaling(1.0 / 255, name="scale")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(params.hidden_units, start=1):
        x = _dense(params, units, f"dense{i}")(x)
        if params.norm != "none":
            x = _norm(params, f"norm{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
    logits = _dense(params, NUM_CLASSES, "logits")(x)
    return keras.Model(inputs, logits, name="fashion_mlp")
