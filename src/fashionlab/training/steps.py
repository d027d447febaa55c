"""The step mechanics: a model, one optimizer per group of layers, and the traced steps that train it.

Optimizers and metric objects are created and built once, before the first traced call, and only
`reset_state()` between epochs, so the step function traces once for the whole run, and once for a group of
seeds (`start_over`). The epoch loop that drives them, with checkpoints and stop requests, is in `loop`; the
same mechanics under `tf.distribute`, in `distribution`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fashionlab.common.backend import keras, tf
from fashionlab.common.errors import TrainingError
from fashionlab.common.params import OptimizerGroup

VALIDATION_BATCH = 1000
# One row per step, as the step functions return them: the batch's mean loss, then the epoch's running
# mean loss and accuracy after that step.
StepResults = np.ndarray
Stepper = Callable[[np.ndarray, int, int], StepResults]


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


class Trainer:
    """A model on one device, its optimizer groups, and the traced steps, `steps_per_call` steps to a call.

    The training split is handed to TensorFlow once; each call receives only the indices of its steps'
    batches, gathers them in the graph and runs the steps in a loop inside one (XLA-compiled) function, so
    neither Python nor a copy from the host sits between two steps. The last, short batch of an epoch is
    padded with rows of weight 0, so every step has the same shapes.
    """

    def __init__(
        self,
        model: keras.Model,
        groups: dict[str, OptimizerGroup],
        jit_compile: bool = False,
        steps_per_call: int = 1,
    ):
        self.model = model
        self.groups = groups
        self.group_variables = {
            name: [v for layer in group.layers for v in model.get_layer(layer).trainable_variables]
            for name, group in groups.items()
        }
        owned = [id(v) for variables in self.group_variables.values() for v in variables]
        if sorted(owned) != sorted(id(v) for v in model.trainable_variables):
            raise TrainingError("optimizer groups must own every trainable variable exactly once")
        self.variables = [v for name in groups for v in self.group_variables[name]]
        self.optimizers = {name: make_optimizer(name, group) for name, group in groups.items()}
        for name, optimizer in self.optimizers.items():
            optimizer.build(self.group_variables[name])
        self.train_loss = keras.metrics.Mean(name="train_loss")
        self.train_accuracy = keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")
        self.val_loss = keras.metrics.Mean(name="val_loss")
        self.val_accuracy = keras.metrics.SparseCategoricalAccuracy(name="val_accuracy")
        # Per-example losses, averaged over the global batch in `_gradients`: a Keras loss with its default
        # reduction would also divide by the number of replicas (`distribution`).
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
        self.steps_per_call = steps_per_call
        self.jit_compile = jit_compile
        self.trace_count = 0
        # XLA fuses the normalisation's element-wise work and runs these matmuls faster on CPU.
        self._logits = tf.function(lambda images: self.model(images, training=False), jit_compile=jit_compile)
        self._steps: Callable | None = None  # traced on first use, for the training split's shapes
        self._held: tuple | None = None  # (images, labels) as given to `stepper`, and their tensors

    def _gradients(self, images, labels, weights, global_count):
        with tf.GradientTape() as tape:
            logits = self.model(images, training=True)
            per_example = self.loss_fn(labels, logits)
            # What `tf.nn.compute_average_loss` computes, without the Assert op it adds on a tensor batch
            # size: XLA drops that op with a warning on stderr at every compile.
            loss = tf.math.divide_no_nan(tf.reduce_sum(per_example * weights), tf.cast(global_count, tf.float32))
        return per_example, logits, tape.gradient(loss, self.variables)

    def _replica_train(self, images, labels, weights, global_count):
        """One optimisation step on a (replica's share of a) batch; returns the sum of its weighted losses."""
        per_example, logits, gradients = self._gradients(images, labels, weights, global_count)
        start = 0
        for name in self.groups:
            variables = self.group_variables[name]
            self.optimizers[name].apply(gradients[start : start + len(variables)], variables)
            start += len(variables)
        self.train_loss.update_state(per_example, sample_weight=weights)
        self.train_accuracy.update_state(labels, logits, sample_weight=weights)
        return tf.reduce_sum(per_example * weights)

    def stepper(self, images: np.ndarray, labels: np.ndarray, batch_size: int) -> Stepper:
        """`run(order, start, stop)`: steps `start` to `stop` (0-based, end excluded) of an epoch whose shuffle
        is `order`, in one call, returning a `StepResults` row per step."""
        # Copied into TensorFlow once per training split, not once per `fit` call (the benchmarks call `fit`
        # per epoch): the arrays are held, so their identity cannot be reused by other arrays.
        if self._held is None or self._held[0] is not images or self._held[1] is not labels:
            self._held = images, labels, tf.constant(images), tf.constant(labels)
        data = self._held[2:]
        if self._steps is None:
            signature = [
                tf.TensorSpec([None, *images.shape[1:]], tf.as_dtype(images.dtype)),
                tf.TensorSpec([None], tf.as_dtype(labels.dtype)),
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([None, None], tf.float32),
            ]
            self._steps = tf.function(self._train_block, input_signature=signature, jit_compile=self.jit_compile)

        def block(order: np.ndarray, start: int, stop: int) -> StepResults:
            indices = np.zeros((stop - start, batch_size), np.int32)
            weights = np.zeros((stop - start, batch_size), np.float32)
            for row, step in enumerate(range(start, stop)):
                part = order[step * batch_size : (step + 1) * batch_size]
                indices[row, : len(part)], weights[row, : len(part)] = part, 1.0
            return self._steps(*data, indices, weights).numpy()

        return block

    def _train_block(self, images, labels, indices, weights):
        """`len(indices)` optimisation steps; step k trains on rows `indices[k]` weighted by `weights[k]`.

        Traced once; XLA compiles it once per distinct number of steps (a full call, and an epoch's shorter
        last one).
        """
        self.trace_count += 1  # Python code runs only while tracing
        results = tf.TensorArray(tf.float32, size=tf.shape(indices)[0])
        for k in tf.range(tf.shape(indices)[0]):
            count = tf.cast(tf.reduce_sum(weights[k]), tf.int32)
            batch = tf.gather(images, indices[k]), tf.gather(labels, indices[k]), weights[k]
            loss = self._replica_train(*batch, count) / tf.cast(count, tf.float32)
            results = results.write(k, tf.stack([loss, self.train_loss.result(), self.train_accuracy.result()]))
        return results.stack()

    def _replica_eval(self, images, labels, weights):
        logits = self._logits(images)
        self.val_loss.update_state(self.loss_fn(labels, logits), sample_weight=weights)
        self.val_accuracy.update_state(labels, logits, sample_weight=weights)

    def _validation_batches(self, images: np.ndarray, labels: np.ndarray):
        """The validation split in batches of `VALIDATION_BATCH`, the last one padded with weight 0."""
        for start in range(0, len(labels), VALIDATION_BATCH):
            part = slice(start, start + VALIDATION_BATCH)
            yield padded(images[part], labels[part], VALIDATION_BATCH)

    def validate(self, images: np.ndarray, labels: np.ndarray) -> tuple[float | None, float | None]:
        if len(labels) == 0:
            return None, None
        self.val_loss.reset_state()
        self.val_accuracy.reset_state()
        for batch in self._validation_batches(images, labels):
            self._evaluate(*batch)
        return float(self.val_loss.result()), float(self.val_accuracy.result())

    @tf.function
    def _evaluate(self, images, labels, weights):
        self._replica_eval(images, labels, weights)

    def learning_rates(self) -> dict[str, float]:
        return {name: float(optimizer.learning_rate.numpy()) for name, optimizer in self.optimizers.items()}

    def _state_variables(self) -> dict[str, tf.Variable]:
        variables = {f"model/{i}": v for i, v in enumerate(self.model.weights)}
        for name, optimizer in self.optimizers.items():
            variables.update({f"optimizer/{name}/{i}": v for i, v in enumerate(optimizer.variables)})
        for metric in (self.train_loss, self.train_accuracy):
            variables.update({f"metric/{metric.name}/{i}": v for i, v in enumerate(metric.variables)})
        return variables

    def state(self) -> dict[str, np.ndarray]:
        """Every number that training depends on: weights, optimizer slots, running metrics."""
        return {key: variable.numpy() for key, variable in self._state_variables().items()}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        variables = self._state_variables()
        if set(variables) != set(arrays):
            raise TrainingError("checkpoint does not match the model and optimizers")
        for key, variable in variables.items():
            variable.assign(arrays[key])

    def start_over(self, fresh: dict[str, np.ndarray], weights: list[np.ndarray]) -> None:
        """Back to the state `fresh` (a `state()` taken before any step) with these initial weights: the next
        seed of a group trains exactly as it would in a new process, without tracing or compiling again."""
        self.restore({**fresh, **{f"model/{i}": w for i, w in enumerate(weights)}})


def padded(images: np.ndarray, labels: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`size` rows: the batch, then rows of zeros weighted 0, so every batch has the same shapes."""
    weights = np.zeros(size, np.float32)
    weights[: len(labels)] = 1.0
    padding = size - len(labels)
    images = np.concatenate([images, np.zeros((padding, *images.shape[1:]), images.dtype)])
    labels = np.concatenate([labels, np.zeros(padding, labels.dtype)])
    return images, labels, weights
