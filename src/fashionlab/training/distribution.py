"""The training steps under a `tf.distribute` strategy, and who writes the outputs.

The same model, optimizer groups and step maths as `steps.Trainer`, one step per call: each global batch is
split evenly across the replicas on the host, each replica computes its share of the loss over the global
batch, the optimizers all-reduce the gradients, and the metric variables sum across replicas when read.
Several steps per call would need each step's batch split on the host anyway, and the all-reduce runs
outside XLA, so only each replica's forward and backward pass is compiled.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from fashionlab.common.backend import keras, tf
from fashionlab.common.errors import TrainingError
from fashionlab.common.params import OptimizerGroup, TrainParams
from fashionlab.training.steps import VALIDATION_BATCH, Stepper, StepResults, Trainer, padded


def make_strategy(name: str) -> tf.distribute.Strategy | None:
    """ "none": no strategy (None); "mirrored": every local GPU (the CPU when there is none);
    "multi_worker": `MultiWorkerMirroredStrategy` over the cluster in `TF_CONFIG`.

    Call it before any other TensorFlow work: a multi-worker strategy must set up its collectives first.
    """
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise TrainingError(
                "train.distribute: multi_worker expected the cluster in the TF_CONFIG environment variable, got none"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}")


def make_trainer(
    build: Callable[[], keras.Model], train: TrainParams, strategy: tf.distribute.Strategy | None
) -> Trainer:
    """The model `build` makes and its trainer: on one device, or under `strategy` (see `make_strategy`)."""
    if strategy is None:
        return Trainer(build(), train.groups, train.jit_compile, train.steps_per_call)
    with strategy.scope():
        model = build()
    return ReplicatedTrainer(model, train.groups, train.jit_compile, strategy)


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes outputs: the only process, the "chief" task, or worker 0 without one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().jobs
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class ReplicatedTrainer(Trainer):
    """`Trainer` under a strategy: build the model inside `strategy.scope()` first."""

    def __init__(
        self,
        model: keras.Model,
        groups: dict[str, OptimizerGroup],
        jit_compile: bool,
        strategy: tf.distribute.Strategy,
    ):
        self.strategy = strategy
        with strategy.scope():  # optimizer slots and metric variables mirrored like the model's
            super().__init__(model, groups, jit_compile=False, steps_per_call=1)
            self._logits = tf.function(lambda images: self.model(images, training=False), jit_compile=jit_compile)
        self.jit_compile = jit_compile
        self._gradients = tf.function(self._gradients, jit_compile=jit_compile)
        self.train_step = tf.function(self._train)

    def distribute(self, images: np.ndarray, labels: np.ndarray, size: int):
        """One global batch of exactly `size` rows (padded with weight 0), split evenly across the replicas."""
        replicas = self.strategy.num_replicas_in_sync
        if size % replicas:
            raise TrainingError(f"train.batch_size: expected a multiple of the {replicas} replicas, got {size}")
        images, labels, weights = padded(images, labels, size)
        share = size // replicas

        def replica_share(context):
            part = slice(context.replica_id_in_sync_group * share, (context.replica_id_in_sync_group + 1) * share)
            return tf.constant(images[part]), tf.constant(labels[part]), tf.constant(weights[part])

        return self.strategy.experimental_distribute_values_from_function(replica_share)

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

    def stepper(self, images: np.ndarray, labels: np.ndarray, batch_size: int) -> Stepper:
        """One step per call, its batch gathered and split on the host."""

        def one_step(order: np.ndarray, start: int, stop: int) -> StepResults:
            index = order[start * batch_size : (start + 1) * batch_size]
            results = self.train_step(self.distribute(images[index], labels[index], batch_size))
            return np.array([[float(value) for value in results]])

        return one_step

    def _validation_batches(self, images: np.ndarray, labels: np.ndarray):
        replicas = self.strategy.num_replicas_in_sync
        batch = VALIDATION_BATCH // replicas * replicas  # splits evenly across the replicas
        for start in range(0, len(labels), batch):
            yield (self.distribute(images[start : start + batch], labels[start : start + batch], batch),)

    @tf.function
    def _evaluate(self, batch):
        self.strategy.run(self._replica_eval, args=batch)
