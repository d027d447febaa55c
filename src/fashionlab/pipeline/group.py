"""Several seeds of one configuration through the whole pipeline in one process (`fashionlab seeds` runs it).

Each seed's files are the ones `dvc repro` would write for it, made by the same functions, into a folder of
its own (a scratch checkout that `fashionlab` then saves as a DVC experiment). What does not depend on the
seed is paid once: TensorFlow's start-up, the dataset's verification, and tracing and compiling the training
step; each seed starts from exactly the state a new process would give it (`Trainer.start_over`), so it
trains bit for bit as it would alone.

Usage: python -m fashionlab.pipeline.group, run from the project, reading folders from stdin, one a line, until
it closes (so a command can add seeds in rounds). Each folder holds a seed's params.yaml, of any configuration;
the outputs go where the stages write them, inside it. Progress goes to stdout, one JSON object a line: "ready"
once its imports are done, then "start", "epoch" and "done" or "failed" for each folder, or "error" when the
group cannot go on (a full disk, a damaged dataset, a signal). Its numerics are the ones `FASHIONLAB_NUMERICS`
names, chosen before TensorFlow loads (common/numerics.py): it ends with "switch" at the first folder whose
params ask for the other mode, which a group started with that mode then trains.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from fashionlab.common import interrupts
from fashionlab.common.backend import NUMERICS, tf
from fashionlab.common.errors import FashionlabError, ParamsError, ParityError, TrainingError
from fashionlab.common.outputs import write_files
from fashionlab.common.params import Params, load_params
from fashionlab.data.preparation import Archives
from fashionlab.evaluation.scores import load_trained_model
from fashionlab.model.mlp import build_model
from fashionlab.pipeline import evaluate, parity, prepare, train
from fashionlab.training.display import TrainingDisplay
from fashionlab.training.distribution import make_strategy, make_trainer
from fashionlab.training.loop import EpochRecord, seed_everything
from fashionlab.training.steps import Trainer

PARAMS = "params.yaml"  # in each seed's folder, as `dvc exp run -S seed=N` would leave it


def say(event: str, **fields) -> None:
    """One progress record on stdout, for the `fashionlab` process that reads it."""
    print(json.dumps({"event": event, **fields}), flush=True)


class EpochReports(TrainingDisplay):
    """The display of a seed in a group: no bar, a record per epoch for the group's one live line."""

    def __init__(self, folder: str, epochs: int):
        super().__init__(epochs, live=False)
        self.folder = folder

    def epoch_end(self, record: EpochRecord, seconds: float) -> None:
        say("epoch", folder=self.folder, epoch=record.epoch, epochs=self.epochs, seconds=round(seconds, 3))


def stage_args(add_options: Callable[[argparse.ArgumentParser], None], folder: Path) -> argparse.Namespace:
    """A stage's options as `dvc repro` gives them (their defaults, which dvc.yaml repeats), inside `folder`."""
    parser = argparse.ArgumentParser()
    add_options(parser)
    return argparse.Namespace(**{key: str(folder / value) for key, value in vars(parser.parse_args([])).items()})


class Group:
    """What seeds share: the verified dataset, and per configuration one trainer, traced and compiled once."""

    def __init__(self):
        self.archives: dict[str, Archives] = {}  # by where the dataset comes from
        self.trainers: dict[str, tuple[Trainer, dict]] = {}  # by model and training parameters: (trainer, fresh)
        self.strategies: dict[str, tf.distribute.Strategy | None] = {}
        self.parity: dict[str, tuple[bytes, bytes]] = {}  # by ε and tolerances: the report's two files

    def trainer_for(self, params: Params) -> Trainer:
        """The configuration's trainer, with the initial weights a new process would draw for `params.seed`."""
        if params.train.distribute == "multi_worker":
            raise ParamsError(
                "train.distribute: a group of seeds trains in one process, not across a cluster "
                "(run such seeds with `dvc exp run`)"
            )
        seed_everything(params.seed)
        key = json.dumps([params.model.model_dump(), params.train.model_dump()], sort_keys=True)
        if key not in self.trainers:
            if params.train.distribute not in self.strategies:
                self.strategies[params.train.distribute] = make_strategy(params.train.distribute)
            strategy = self.strategies[params.train.distribute]
            trainer = make_trainer(lambda: build_model(params.model), params.train, strategy)
            self.trainers[key] = trainer, trainer.state()
            return trainer
        trainer, fresh = self.trainers[key]
        trainer.start_over(fresh, [w.numpy() for w in build_model(params.model).weights])
        return trainer

    def _parity_files(self, folder: Path, params: Params) -> dict[Path, bytes]:
        """The parity report, measured once for the seeds that share ε and the tolerances: it depends on
        nothing else (`pipeline.parity.CASES_SEED`)."""
        args = stage_args(parity.add_options, folder)
        key = json.dumps([params.model.epsilon, params.parity.model_dump()])
        if key not in self.parity:
            files, _ = parity.parity(args, params)
            self.parity[key] = files[Path(args.details)], files[Path(args.metrics)]
        details, metrics = self.parity[key]
        return {Path(args.details): details, Path(args.metrics): metrics}

    def run_seed(self, folder: Path, params: Params) -> dict:
        """Every stage's files for one seed, written into `folder`; its test scores."""
        source = json.dumps([params.data.dataset, params.data.source, params.data.cache_dir])
        if source not in self.archives:
            self.archives[source] = prepare.archives(params)
        prepared = prepare.prepare(stage_args(prepare.add_options, folder), params, self.archives[source])
        write_files({**prepared.files, **self._parity_files(folder, params)})
        splits = prepared.splits
        trainer = self.trainer_for(params)
        display = EpochReports(str(folder), params.train.epochs)
        train_args = stage_args(train.add_options, folder)
        train.train(train_args, params, trainer, splits["train"], splits["val"], display, checkpoints=False)
        evaluate_args = stage_args(evaluate.add_options, folder)
        model = load_trained_model(evaluate_args.model)
        files, scores = evaluate.evaluate(evaluate_args, params, model, *splits["test"])
        write_files(files)
        return scores


def run(folders: Iterable[str]) -> None:
    """Train the seed of every folder named, as the names come; one that fails (NaN loss, lost parity)
    fails alone."""
    group = Group()
    for name in folders:
        folder = Path(name.rstrip("\n"))
        params = load_params(folder / PARAMS)
        if params.numerics != NUMERICS:  # chosen before TensorFlow loaded: a new group runs it (`numerics`)
            say("switch", folder=str(folder), numerics=params.numerics)
            return
        say("start", folder=str(folder), seed=params.seed)
        started = time.perf_counter()
        try:
            scores = group.run_seed(folder, params)
        except (TrainingError, ParityError) as err:
            say("failed", folder=str(folder), error=str(err))
            continue
        say("done", folder=str(folder), accuracy=scores["accuracy"], seconds=round(time.perf_counter() - started, 3))


def main() -> None:
    interrupts.install()
    try:
        say("ready")
        run(iter(sys.stdin.readline, ""))  # each folder as soon as its line arrives
    except (FashionlabError, interrupts.StageInterrupted) as err:
        say("error", error=str(err), exit_code=err.exit_code)
        sys.exit(err.exit_code)
    except BrokenPipeError:  # the `fashionlab` process reading the progress is gone: so is the point
        sys.exit(1)


if __name__ == "__main__":
    main()
