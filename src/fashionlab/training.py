"""The hand-written training loop: one traced step, one optimizer per group of layers.

Optimizers and metric objects are created and built once, before the first traced call, and only
`reset_state()` between epochs, so the step traces once for the whole run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fashionlab.backend import keras, tf
from fashionlab.errors import TrainingError
from fashionlab.params import OptimizerGroup

VALIDATION_BATCH = 1000


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow's kernels deterministic."""
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def make_optimizer(group_name: str, group: OptimizerGroup) -> keras.optimizers.Optimizer:
    name = f"{group_name}_{group.optimizer}"
    if group.optimizer == "adam":
        return keras.optimizers.Adam(group.learning_rate, name=name)
    if group.optimizer == "adamw":
        return keras.optimizers.AdamW(group.learning_rate, weight_decay=group.weight_decay, name=name)
    if group.optimizer == "sgd":
        return keras.optimizers.SGD(group.learning_rate, momentum=group.momentum, name=name)
    if group.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(group.learning_rate, momentum=group.momentum, name=name)
    raise ValueError(f"unknown optimizer {group.optimizer!r}")


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # 1-based, as displayed
    train_loss: float
    train_accuracy: float
    val_loss: float | None  # None when the validation split is empty
    val_accuracy: float | None
    learning_rates: dict[str, float]

    def as_row(self) -> dict:
        row = {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "train_accuracy": self.train_accuracy,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
        }
        row.update({f"lr_{name}": rate for name, rate in self.learning_rates.items()})
        return row


class Trainer:
    """A model, its optimizer groups, and the traced train and evaluation steps, under one strategy.

    The same code runs with no distribution (TensorFlow's default strategy), `MirroredStrategy` and
    `MultiWorkerMirroredStrategy`: each global batch is split evenly across the replicas, each replica
    computes its share of the loss over the global batch, the optimizers all-reduce the gradients, and
    the metric variables sum across replicas when read. Build the model inside `strategy.scope()`.
    """

    def __init__(
        self,
        model: keras.Model,
        groups: dict[str, OptimizerGroup],
        jit_compile: bool = False,
        strategy: tf.distribute.Strategy | None = None,
    ):
        self.model = model
        self.groups = groups
        self.strategy = strategy or tf.distribute.get_strategy()
        self.group_variables = {
            name: [v for layer in group.layers for v in model.get_layer(layer).trainable_variables]
            for name, group in groups.items()
        }
        owned = [id(v) for variables in self.group_variables.values() for v in variables]
        if sorted(owned) != sorted(id(v) for v in model.trainable_variables):
            raise TrainingError("optimizer groups must own every trainable variable exactly once")
        self.variables = [v for name in groups for v in self.group_variables[name]]
        with self.strategy.scope():
            self.optimizers = {name: make_optimizer(name, group) for name, group in groups.items()}
            for name, optimizer in self.optimizers.items():
                optimizer.build(self.group_variables[name])
            self.train_loss = keras.metrics.Mean(name="train_loss")
            self.train_accuracy = keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")
            self.val_loss = keras.metrics.Mean(name="val_loss")
            self.val_accuracy = keras.metrics.SparseCategoricalAccuracy(name="val_accuracy")
        # Per-example losses, averaged over the global batch in `_replica_gradients`: a Keras loss with
        # its default reduction would also divide by the number of replicas.
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
        self.trace_count = 0
        # XLA fuses the normalisation's element-wise work and runs these matmuls faster on CPU. With one
        # replica it compiles the whole step, updates included; with several, only each replica's forward
        # and backward pass, since the all-reduce between replicas stays outside XLA.
        single = self.strategy.num_replicas_in_sync == 1
        self._gradients = tf.function(self._replica_gradients, jit_compile=jit_compile and not single)
        self._logits = tf.function(lambda images: self.model(images, training=False), jit_compile=jit_compile)
        self.train_step = tf.function(self._train, jit_compile=jit_compile and single)
        self._eval_step = tf.function(self._evaluate)

    def distribute(self, images: np.ndarray, labels: np.ndarray, size: int):
        """One global batch of exactly `size` rows, split evenly across the replicas.

        A short batch (an epoch's last) is padded, with a weight of 0 on the padding, so every step has
        the same shapes: the step traces and compiles once, and the replicas' shares stay equal.
        """
        replicas = self.strategy.num_replicas_in_sync
        if size % replicas:
            raise TrainingError(f"train.batch_size: expected a multiple of the {replicas} replicas, got {size}")
        weights = np.zeros(size, np.float32)
        weights[: len(labels)] = 1.0
        padding = size - len(labels)
        images = np.concatenate([images, np.zeros((padding, *images.shape[1:]), images.dtype)])
        labels = np.concatenate([labels, np.zeros(padding, labels.dtype)])
        share = size // replicas

        def replica_share(context):
            part = slice(context.replica_id_in_sync_group * share, (context.replica_id_in_sync_group + 1) * share)
            return tf.constant(images[part]), tf.constant(labels[part]), tf.constant(weights[part])

        return self.strategy.experimental_distribute_values_from_function(replica_share)

    def _replica_gradients(self, images, labels, weights, global_count):
        with tf.GradientTape() as tape:
            logits = self.model(images, training=True)
            per_example = self.loss_fn(labels, logits)
            # What `tf.nn.compute_average_loss` computes, without the Assert op it adds on a tensor batch
            # size: XLA drops that op with a warning on stderr at every compile.
            loss = tf.math.divide_no_nan(tf.reduce_sum(per_example * weights), tf.cast(global_count, tf.float32))
        return per_example, logits, tape.gradient(loss, self.variables)

    def _replica_train(self, images, labels, weights, global_count):
        per_example, logits, gradients = self._gradients(images, labels, weights, global_count)
        start = 0
        for name in self.groups:
            variables = self.group_variables[name]
            self.optimizers[name].apply(gradients[start : start + len(variables)], variables)
            start += len(variables)
        self.train_loss.update_state(per_example, sample_weight=weights)
        self.train_accuracy.update_state(labels, logits, sample_weight=weights)
        return tf.reduce_sum(per_example * weights)

    def _sum(self, per_replica):
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _train(self, batch):
        """One optimisation step on a batch from `distribute` (traced once, as `train_step`).

        Returns the batch's mean loss and the epoch's running mean loss and accuracy.
        """
        self.trace_count += 1  # Python code runs only while tracing
        images, labels, weights = batch
        count = self._sum(self.strategy.run(lambda w: tf.cast(tf.reduce_sum(w), tf.int32), args=(weights,)))
        losses = self.strategy.run(self._replica_train, args=(images, labels, weights, count))
        return self._sum(losses) / tf.cast(count, tf.float32), self.train_loss.result(), self.train_accuracy.result()

    def _replica_eval(self, images, labels, weights):
        logits = self._logits(images)
        self.val_loss.update_state(self.loss_fn(labels, logits), sample_weight=weights)
        self.val_accuracy.update_state(labels, logits, sample_weight=weights)

    def _evaluate(self, batch):
        self.strategy.run(self._replica_eval, args=batch)

    def learning_rates(self) -> dict[str, float]:
        return {name: float(optimizer.learning_rate.numpy()) for name, optimizer in self.optimizers.items()}

    def validate(self, images: np.ndarray, labels: np.ndarray) -> tuple[float | None, float | None]:
        if len(labels) == 0:
            return None, None
        self.val_loss.reset_state()
        self.val_accuracy.reset_state()
        replicas = self.strategy.num_replicas_in_sync
        batch = VALIDATION_BATCH // replicas * replicas  # splits evenly across the replicas
        for start in range(0, len(labels), batch):
            self._eval_step(self.distribute(images[start : start + batch], labels[start : start + batch], batch))
        return float(self.val_loss.result()), float(self.val_accuracy.result())

    def state(self) -> dict[str, np.ndarray]:
        """Every number that training depends on: weights, optimizer slots, running metrics."""
        arrays = {f"model/{i}": v.numpy() for i, v in enumerate(self.model.weights)}
        for name, optimizer in self.optimizers.items():
            arrays.update({f"optimizer/{name}/{i}": v.numpy() for i, v in enumerate(optimizer.variables)})
        for metric in (self.train_loss, self.train_accuracy):
            arrays.update({f"metric/{metric.name}/{i}": v.numpy() for i, v in enumerate(metric.variables)})
        return arrays

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        variables = {f"model/{i}": v for i, v in enumerate(self.model.weights)}
        for name, optimizer in self.optimizers.items():
            variables.update({f"optimizer/{name}/{i}": v for i, v in enumerate(optimizer.variables)})
        for metric in (self.train_loss, self.train_accuracy):
            variables.update({f"metric/{metric.name}/{i}": v for i, v in enumerate(metric.variables)})
        if set(variables) != set(arrays):
            raise TrainingError("checkpoint does not match the model and optimizers")
        for key, variable in variables.items():
            variable.assign(arrays[key])


def epoch_order(seed: int, epoch: int, size: int) -> np.ndarray:
    """The shuffle of one epoch, derived from (seed, epoch) alone, so a resumed run sees the same order."""
    return np.random.default_rng([seed, epoch]).permutation(size)


@dataclass
class Position:
    """Where training stands: the next batch to run is `step` of `epoch` (both 0-based)."""

    epoch: int = 0
    step: int = 0


class Interrupted(Exception):
    """Raised between steps when the user asked training to stop (SIGINT or SIGTERM)."""

    def __init__(self, position: Position, signal_name: str):
        super().__init__(signal_name)
        self.position = position
        self.signal_name = signal_name


def fit(
    trainer: Trainer,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    start: Position,
    history: list[EpochRecord],
    on_step: Callable[[Position, int, float, float], None] = lambda *_: None,
    on_epoch_end: Callable[[Position, EpochRecord], None] = lambda *_: None,
    stop_requested: Callable[[], str | None] = lambda: None,
) -> list[EpochRecord]:
    """Train from `start` to the last epoch and return the history, one record per epoch.

    `on_epoch_end` receives the position of the next epoch (for checkpoints); `stop_requested` is
    polled after every step and, when it names a signal, training raises `Interrupted` at that step.
    """
    images, labels = train
    steps = math.ceil(len(labels) / batch_size)
    for epoch in range(start.epoch, epochs):
        first_step = start.step if epoch == start.epoch else 0
        if first_step == 0:
            trainer.train_loss.reset_state()
            trainer.train_accuracy.reset_state()
        order = epoch_order(seed, epoch, len(labels))
        for step in range(first_step, steps):
            index = order[step * batch_size : (step + 1) * batch_size]
            loss, mean_loss, accuracy = trainer.train_step(trainer.distribute(images[index], labels[index], batch_size))
            loss = float(loss)
            if not math.isfinite(loss):
                raise TrainingError(
                    f"loss became {loss} at epoch {epoch + 1}, step {step + 1}: training stopped "
                    "(lower the learning rate; the last good checkpoint is kept)"
                )
            on_step(Position(epoch, step + 1), steps, float(mean_loss), float(accuracy))
            signal_name = stop_requested()
            if signal_name:
                raise Interrupted(Position(epoch, step + 1), signal_name)
        val_loss, val_accuracy = trainer.validate(*val)
        record = EpochRecord(
            epoch + 1,
            float(trainer.train_loss.result()),
            float(trainer.train_accuracy.result()),
            val_loss,
            val_accuracy,
            trainer.learning_rates(),
        )
        history.append(record)
        on_epoch_end(Position(epoch + 1, 0), record)
    return history


def summarize(history: list[EpochRecord]) -> dict:
    """The final epoch and the best one (lowest validation loss, or training loss without validation).

    Training loss and accuracy per epoch are in the history; the summary keeps what `dvc metrics` compares.
    """
    by = "val_loss" if history[-1].val_loss is not None else "train_loss"
    best = min(history, key=lambda record: getattr(record, by))
    scores = ("epoch", "val_loss", "val_accuracy")
    return {
        "final": {key: getattr(history[-1], key) for key in scores},
        "best": {key: getattr(best, key) for key in scores},
    }
