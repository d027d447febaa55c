"""The `evaluate` stage: the trained model scored once on the held-out test images, as files."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fashionlab.common.backend import keras
from fashionlab.common.outputs import Content, csv_bytes, json_bytes
from fashionlab.common.params import Params
from fashionlab.data.catalog import DATASETS
from fashionlab.data.splits import split_path
from fashionlab.evaluation.mistakes import mistake_grids
from fashionlab.evaluation.scores import classification_scores, cross_entropy, predict_logits
from fashionlab.pipeline import layout


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--test", default=str(split_path(layout.PREPARED, "test")))
    parser.add_argument("--model", default=layout.MODEL)
    parser.add_argument("--metrics", default=layout.EVALUATION)
    parser.add_argument("--confusion", default=layout.PREDICTIONS)
    parser.add_argument("--per-class", default=layout.PER_CLASS, help="precision, recall, F1 per class")
    parser.add_argument("--mistakes", default=layout.MISTAKES, help="folder of misclassified images per class")


def evaluate(
    args: argparse.Namespace, params: Params, model: keras.Model, images: np.ndarray, labels: np.ndarray
) -> tuple[dict[Path, Content], dict]:
    """The scores' files and the scores (accuracy, macro F1, loss)."""
    class_names = DATASETS[params.data.dataset].class_names
    logits = predict_logits(model, images, params.evaluate.batch_size, compiled=params.numerics == "portable")
    predictions = logits.argmax(axis=1)
    scores, per_class = classification_scores(labels, predictions, class_names)
    scores["loss"] = cross_entropy(logits, labels)
    # One row per test image, in the test file's order: `fashionlab compare` pairs two revisions by `image`.
    rows = [
        {"image": i, "actual": class_names[a], "predicted": class_names[p]}
        for i, (a, p) in enumerate(zip(labels, predictions, strict=True))
    ]
    files = {
        Path(args.confusion): csv_bytes(rows),
        Path(args.per_class): csv_bytes(per_class),
        Path(args.mistakes): mistake_grids(images, labels, predictions, class_names),
        Path(args.metrics): json_bytes(scores),
    }
    return files, scores
