"""The hand-written training loop: epochs of seeded shuffles, run by a `Trainer` a call at a time, with
the per-step display, NaN checks and stop requests between calls."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fashionlab.common.backend import keras, tf
from fashionlab.common.errors import TrainingError
from fashionlab.training.steps import Trainer


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, TensorFlow and Keras, and make TensorFlow's kernels deterministic."""
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


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

    The trainer runs up to `trainer.steps_per_call` steps per call; every step's results still reach
    `on_step`, in order. `on_epoch_end` receives the position of the next epoch (for checkpoints);
    `stop_requested` is polled after every call and, when it names a signal, training raises
    `Interrupted` at the step the call ended on.
    """
    steps = math.ceil(len(train[1]) / batch_size)
    run = trainer.stepper(*train, batch_size)
    for epoch in range(start.epoch, epochs):
        step = start.step if epoch == start.epoch else 0
        if step == 0:
            trainer.train_loss.reset_state()
            trainer.train_accuracy.reset_state()
        order = epoch_order(seed, epoch, len(train[1]))
        while step < steps:
            end = min(step + trainer.steps_per_call, steps)
            for done, (loss, mean_loss, accuracy) in enumerate(run(order, step, end), start=step + 1):
                if not math.isfinite(loss):
                    raise TrainingError(
                        f"loss became {loss} at epoch {epoch + 1}, step {done}: training stopped "
                        "(lower the learning rate; the last good checkpoint is kept)"
                    )
                on_step(Position(epoch, done), steps, float(mean_loss), float(accuracy))
            step = end
            signal_name = stop_requested()
            if signal_name:
                raise Interrupted(Position(epoch, step), signal_name)
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
