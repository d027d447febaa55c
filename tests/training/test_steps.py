"""fashionlab.training.steps: each group trained by its own optimizer, in steps traced once, several to a call."""

import numpy as np
import pytest

from fashionlab.training.loop import Position
from tests.training.conftest import make_trainer, short_fit


def test_each_group_is_updated_only_by_its_own_optimizer(data):
    import tensorflow as tf

    trainer = make_trainer(lower_lr=1e-3, upper_lr=0.5)
    (images, labels), _ = data
    images, labels = images[:32], labels[:32]
    before = [v.numpy().copy() for v in trainer.variables]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(trainer.loss_fn(labels, trainer.model(images, training=True)))
    gradients = [g.numpy() for g in tape.gradient(loss, trainer.variables)]
    trainer.stepper(images, labels, 32)(np.arange(32), 0, 1)  # one step on the 32 images, in order
    after = [v.numpy() for v in trainer.variables]
    lower_count = len(trainer.group_variables["lower"])
    for i, (old, new, grad) in enumerate(zip(before, after, gradients, strict=True)):
        if i < lower_count:  # Adam's first step: lr * g / (|g| + eps / sqrt(1 - beta_2)), Keras's eps = 1e-7
            np.testing.assert_allclose(
                old - new, 1e-3 * grad / (np.abs(grad) + 1e-7 / np.sqrt(1e-3)), rtol=1e-3, atol=1.2e-7
            )
        else:  # plain SGD: lr * g
            np.testing.assert_allclose(old - new, 0.5 * grad, rtol=1e-4, atol=1e-7)
    assert {name: int(opt.iterations.numpy()) for name, opt in trainer.optimizers.items()} == {"lower": 1, "upper": 1}
    upper_ids = {id(v) for v in trainer.group_variables["upper"]}
    assert {id(v) for v in trainer.model.get_layer("logits").trainable_variables} == upper_ids


def test_step_traces_once_for_the_whole_run(data):
    trainer = make_trainer()
    history = short_fit(trainer, data, epochs=3)  # 250 samples, batch 32: a partial last batch every epoch
    assert trainer.trace_count == 1
    assert len(history) == 3


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "XLA"])
def test_several_steps_per_call_train_as_single_steps(data, jit_compile):
    """250 samples in batches of 32: 8 steps an epoch, the last short, run as calls of 3, 3 and 2 steps."""
    shown = {1: [], 3: []}
    trainers = {k: make_trainer(steps_per_call=k, jit_compile=jit_compile) for k in shown}
    histories = {
        k: short_fit(
            trainer, data, on_step=lambda position, steps, loss, acc, k=k: shown[k].append((position, loss, acc))
        )
        for k, trainer in trainers.items()
    }
    assert [step[0] for step in shown[3]] == [step[0] for step in shown[1]]  # every step shown, in order
    assert len(shown[3]) == 16 and shown[3][-1][0] == Position(1, 8)
    np.testing.assert_allclose([s[1:] for s in shown[3]], [s[1:] for s in shown[1]], rtol=1e-5)
    for ours, single in zip(trainers[3].model.weights, trainers[1].model.weights, strict=True):
        np.testing.assert_allclose(ours.numpy(), single.numpy(), rtol=1e-5, atol=1e-6)
    assert histories[3][-1].val_loss == pytest.approx(histories[1][-1].val_loss, rel=1e-5)
    assert trainers[3].trace_count == 1  # one trace; XLA compiles the 3- and the 2-step calls separately


def test_the_training_split_is_copied_into_tensorflow_once_per_split(data, monkeypatch):
    import tensorflow as tf

    trainer, copies = make_trainer(steps_per_call=3), []
    constant = tf.constant
    monkeypatch.setattr(tf, "constant", lambda value, *a, **k: copies.append(value) or constant(value, *a, **k))
    (images, labels), _ = data
    for _ in range(2):  # two `fit` calls on the same split, as the benchmarks make: one copy
        trainer.stepper(images, labels, 32)
    assert len(copies) == 2 and copies[0] is images and copies[1] is labels
    trainer.stepper(images.copy(), labels, 32)  # another split: copied again
    assert len(copies) == 4
