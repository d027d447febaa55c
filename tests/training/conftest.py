"""A tiny model, its two optimizer groups and a tiny split, shared by the tests of training/."""

import numpy as np
import pytest

from fashionlab.common.params import ModelParams, OptimizerGroup
from fashionlab.model.mlp import build_model
from fashionlab.training.loop import Position, fit, seed_everything
from fashionlab.training.steps import Trainer

MODEL = ModelParams(hidden_units=(16, 8), dense="custom", norm="custom", epsilon=1e-3, epsilon_placement="std")
LOWER = ("dense1", "norm1", "dense2", "norm2")


def groups(lower_lr=1e-4, upper_lr=1e-2, upper="sgd"):
    return {
        "lower": OptimizerGroup(layers=LOWER, optimizer="adam", learning_rate=lower_lr),
        "upper": OptimizerGroup(layers=("logits",), optimizer=upper, learning_rate=upper_lr),
    }


def make_trainer(seed=0, steps_per_call=1, jit_compile=False, **kwargs):
    seed_everything(seed)
    return Trainer(build_model(MODEL), groups(**kwargs), jit_compile, steps_per_call=steps_per_call)


def tiny_split():
    """250 training and 50 validation images whose class shows in their brightness, so a few steps learn."""
    rng = np.random.default_rng(0)
    labels = (np.arange(300) % 10).astype(np.uint8)
    images = (rng.integers(0, 60, size=(300, 28, 28)) + labels[:, None, None] * 19).astype(np.uint8)
    return (images[:250], labels[:250]), (images[250:], labels[250:])


@pytest.fixture(scope="module")
def data():
    return tiny_split()


def short_fit(trainer, data, epochs=2, **kwargs):
    """`fit` on the tiny split, in batches of 32."""
    train, val = data
    return fit(
        trainer,
        train,
        val,
        epochs=epochs,
        batch_size=32,
        seed=0,
        start=kwargs.pop("start", Position()),
        history=kwargs.pop("history", []),
        **kwargs,
    )
