"""DVC stage `train`: the custom loop on the prepared splits; writes the model, history and summary."""

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.data.splits import load_split, split_path
from fashionlab.model.mlp import build_model
from fashionlab.pipeline import train
from fashionlab.training.display import TrainingDisplay
from fashionlab.training.distribution import is_chief, make_strategy, make_trainer
from fashionlab.training.loop import seed_everything


def main(args, params):
    strategy = make_strategy(params.train.distribute)  # first: a multi-worker strategy sets up collectives
    seed_everything(params.seed)
    splits = [load_split(split_path(args.data, split)) for split in ("train", "val")]
    trainer = make_trainer(lambda: build_model(params.model), params.train, strategy)
    chief = is_chief(strategy)  # in a cluster, only the chief writes outputs
    display = TrainingDisplay(params.train.epochs, live=None if chief else False)
    train.train(args, params, trainer, *splits, display, chief=chief)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    train.add_options(parser)
    run_stage(main, parser)
