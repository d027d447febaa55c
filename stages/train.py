"""DVC stage `train`: the custom loop on the prepared splits; writes the model, history and summary."""

from pathlib import Path

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.cli import run_stage, stage_parser
from fashionlab.data import load_split, split_path
from fashionlab.distribute import is_chief, make_strategy
from fashionlab.model import build_model
from fashionlab.outputs import atomic_path, write_csv, write_json
from fashionlab.progress import TrainingDisplay
from fashionlab.resumable import train_resumable
from fashionlab.trainer import Trainer
from fashionlab.training import seed_everything, summarize


def main(args, params):
    strategy = make_strategy(params.train.distribute)  # first: a multi-worker strategy sets up collectives
    seed_everything(params.seed)
    train = load_split(split_path(args.data, "train"))
    val = load_split(split_path(args.data, "val"))
    with strategy.scope():
        model = build_model(params.model)
    trainer = Trainer(model, params.train.groups, params.train.jit_compile, strategy, params.train.steps_per_call)
    chief = is_chief(strategy)
    display = TrainingDisplay(params.train.epochs, live=None if chief else False)
    result = train_resumable(trainer, params, train, val, Path(args.checkpoint), display, chief)
    if not chief:
        return  # in a cluster, only the chief writes outputs

    with atomic_path(args.model) as tmp:
        trainer.model.save(tmp)
    write_csv(args.history, [record.as_row() for record in result.history])
    write_json(args.summary, summarize(result.history))
    write_json(args.timing, result.timing(len(train[1])))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--data", default="data/prepared", help="folder with train.npz and val.npz")
    parser.add_argument("--checkpoint", default="models/checkpoint", help="folder for the resumable state")
    parser.add_argument("--model", default="models/model.keras")
    parser.add_argument("--history", default="metrics/history.csv")
    parser.add_argument("--summary", default="metrics/train.json")
    parser.add_argument("--timing", default="metrics/timing.json", help="wall-clock figures (vary by run)")
    run_stage(main, parser)
