"""DVC stage `evaluate`: score the trained model once on the held-out test images."""

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.outputs import write_files
from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.data.splits import load_split
from fashionlab.evaluation.scores import load_trained_model
from fashionlab.pipeline import evaluate


def main(args, params):
    images, labels = load_split(args.test)
    files, scores = evaluate.evaluate(args, params, load_trained_model(args.model), images, labels)
    write_files(files)
    accuracy, loss, f1 = scores["accuracy"], scores["loss"], scores["macro_f1"]
    print(f"test accuracy {accuracy:.4f}, loss {loss:.4f}, macro F1 {f1:.4f}")


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    evaluate.add_options(parser)
    run_stage(main, parser)
