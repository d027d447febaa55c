"""DVC stage `evaluate`: score the trained model once on the held-out test images."""

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.outputs import csv_bytes, json_bytes, write_files
from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.data.catalog import DATASETS
from fashionlab.data.splits import load_split
from fashionlab.evaluation.mistakes import mistake_grids
from fashionlab.evaluation.scores import classification_scores, cross_entropy, load_trained_model, predict_logits


def main(args, params):
    class_names = DATASETS[params.data.dataset].class_names
    images, labels = load_split(args.test)
    model = load_trained_model(args.model)
    logits = predict_logits(model, images, params.evaluate.batch_size)
    predictions = logits.argmax(axis=1)
    scores, per_class = classification_scores(labels, predictions, class_names)
    scores["loss"] = cross_entropy(logits, labels)
    # One row per test image, in the test file's order: `fashionlab compare` pairs two revisions by `image`.
    rows = [
        {"image": i, "actual": class_names[a], "predicted": class_names[p]}
        for i, (a, p) in enumerate(zip(labels, predictions, strict=True))
    ]
    write_files(
        {
            args.confusion: csv_bytes(rows),
            args.per_class: csv_bytes(per_class),
            args.mistakes: mistake_grids(images, labels, predictions, class_names),
            args.metrics: json_bytes(scores),
        }
    )
    accuracy, loss, f1 = scores["accuracy"], scores["loss"], scores["macro_f1"]
    print(f"test accuracy {accuracy:.4f}, loss {loss:.4f}, macro F1 {f1:.4f}")


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--test", default="data/prepared/test.npz")
    parser.add_argument("--model", default="models/model.keras")
    parser.add_argument("--metrics", default="metrics/eval.json")
    parser.add_argument("--confusion", default="metrics/confusion.csv")
    parser.add_argument("--per-class", default="metrics/per_class.csv", help="precision, recall, F1 per class")
    parser.add_argument("--mistakes", default="metrics/mistakes", help="folder of misclassified images per class")
    run_stage(main, parser)
