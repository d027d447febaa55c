"""Scores on held-out data: loss, accuracy, per-class precision / recall / F1, and the confusion pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashionlab.common.backend import keras, tf
from fashionlab.common.errors import DataError
from fashionlab.model import layers  # noqa: F401 - registers the custom layers, so loading needs no custom_objects


def load_trained_model(path) -> keras.Model:
    """Load in Keras safe mode (no arbitrary code); a missing or damaged file is a one-line error."""
    if not Path(path).is_file():
        raise DataError(f"{path}: file not found (run the train stage: dvc repro train)")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as err:  # Keras raises many types for a damaged archive; all mean the same here
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{path}: cannot load the model: {reason}") from None


def predict_logits(model: keras.Model, images: np.ndarray, batch_size: int, compiled: bool = False) -> np.ndarray:
    """The model's logits, `batch_size` images at a time. `compiled`: through XLA (portable numerics), whose
    result is the same for any thread count; eager kernels on Eigen round otherwise with 1 thread than with 2."""

    def forward(batch):
        return model(batch, training=False)

    if compiled:
        forward = tf.function(forward, jit_compile=True)
    batches = [forward(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate([np.asarray(b) for b in batches]) if batches else np.zeros((0, 0), np.float32)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy from logits, computed stably in float64."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def classification_scores(
    labels: np.ndarray, predictions: np.ndarray, class_names: tuple[str, ...]
) -> tuple[dict, list[dict]]:
    """Accuracy and macro F1, and one row of precision, recall, F1 and support per class (0 where a ratio is 0/0).

    The rows go to a CSV that `dvc plots` draws as a bar chart, not to the metrics, which stay few enough for
    `dvc metrics show` to fit a terminal.
    """
    k = len(class_names)
    confusion = np.bincount(labels.astype(np.int64) * k + predictions, minlength=k * k).reshape(k, k)
    true_positives = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros(k), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(k), where=denominator > 0)
    scores = {"accuracy": float(true_positives.sum() / max(len(labels), 1)), "macro_f1": float(f1.mean())}
    per_class = [
        {
            "class": name,
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(actual[i]),
        }
        for i, name in enumerate(class_names)
    ]
    return scores, per_class
