"""DVC stage `train`: the custom loop on the prepared splits; writes the model, history and summary."""

from pathlib import Path

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.outputs import csv_bytes, json_bytes
from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.data.splits import load_split, split_path
from fashionlab.model.mlp import build_model, saved_bytes
from fashionlab.training.display import TrainingDisplay
from fashionlab.training.distribution import is_chief, make_strategy
from fashionlab.training.loop import seed_everything, summarize
from fashionlab.training.resume import TrainingResult, train_resumable
from fashionlab.training.steps import Trainer


def main(args, params):
    strategy = make_strategy(params.train.distribute)  # first: a multi-worker strategy sets up collectives
    seed_everything(params.seed)
    train = load_split(split_path(args.data, "train"))
    val = load_split(split_path(args.data, "val"))
    with strategy.scope():
        model = build_model(params.model)
    trainer = Trainer(model, params.train.groups, params.train.jit_compile, strategy, params.train.steps_per_call)
    chief = is_chief(strategy)  # in a cluster, only the chief writes outputs

    def outputs(result: TrainingResult, finished: bool) -> dict:
        # After every epoch, written with the checkpoint: history and summary so far, for a live view.
        files = {
            args.history: csv_bytes([record.as_row() for record in result.history]),
            args.summary: json_bytes(summarize(result.history)),
        }
        if finished:
            files[args.model] = saved_bytes(trainer.model)
            files[args.timing] = json_bytes(result.timing(len(train[1])))
        return files

    display = TrainingDisplay(params.train.epochs, live=None if chief else False)
    train_resumable(trainer, params, train, val, Path(args.checkpoint), display, outputs if chief else None)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/prepared", help="folder with train.npz and val.npz")
    parser.add_argument("--checkpoint", default="models/checkpoint", help="folder for the resumable state")
    parser.add_argument("--model", default="models/model.keras")
    parser.add_argument("--history", default="metrics/history.csv")
    parser.add_argument("--summary", default="metrics/train.json")
    parser.add_argument("--timing", default="metrics/timing.json", help="wall-clock figures (vary by run)")
    run_stage(main, parser)
