"""How the defaults were chosen: our `train.steps_per_call`, and `model.fit`'s `steps_per_execution` for the
"at its best" peer of `train_speed.py`, each swept alternately, one epoch per value in turn.

Ours runs with op determinism on, as the pipeline does; `model.fit` without it (else Keras turns XLA off),
so the two sweeps run in two processes, one after the other. Usage: `python benchmarks/sweeps.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent


def sweep(values: list[int], rounds: int, make, run_epoch) -> dict[int, float]:
    """Median seconds per epoch after the first, per value; epochs of the values alternate."""
    runs = {value: make(value) for value in values}
    seconds = {value: [] for value in values}
    for round_ in range(rounds):
        for value, run in runs.items():
            start = time.perf_counter()
            run_epoch(run, round_)
            seconds[value].append(time.perf_counter() - start)
        print(f"round {round_ + 1}/{rounds}: " + ", ".join(f"{v}: {s[-1]:.2f} s" for v, s in seconds.items()))
    return {value: round(statistics.median(times[1:]), 3) for value, times in seconds.items()}


def ours(values: list[int], rounds: int) -> dict[int, float]:
    from fashionlab.data import load_split
    from fashionlab.model import build_model
    from fashionlab.params import load_params
    from fashionlab.progress import TrainingDisplay
    from fashionlab.trainer import Trainer
    from fashionlab.training import Position, fit, seed_everything

    params = load_params("params.yaml")
    seed_everything(params.seed)
    train, val = load_split("data/prepared/train.npz"), load_split("data/prepared/val.npz")
    display = TrainingDisplay(10**6, live=True, stream=open(os.devnull, "w"))  # noqa: SIM115

    def make(k):
        trainer = Trainer(build_model(params.model), params.train.groups, params.train.jit_compile, steps_per_call=k)
        return trainer, []

    def run_epoch(run, epoch):
        trainer, history = run
        fit(
            trainer,
            train,
            val,
            epochs=epoch + 1,
            batch_size=params.train.batch_size,
            seed=params.seed,
            start=Position(epoch, 0),
            history=history,
            on_step=display.step,
            on_epoch_end=lambda _p, record: display.epoch_end(record, 0.0),
        )

    return sweep(values, rounds, make, run_epoch)


def keras_fit(values: list[int], rounds: int) -> dict[int, float]:
    sys.path.insert(0, str(BENCHMARKS))
    from train_speed import compiled_fit_model, fit_epoch

    from fashionlab.backend import keras
    from fashionlab.data import load_split
    from fashionlab.params import load_params

    params = load_params("params.yaml")
    keras.utils.set_random_seed(params.seed)
    train, val = load_split("data/prepared/train.npz"), load_split("data/prepared/val.npz")
    return sweep(
        values,
        rounds,
        lambda spe: compiled_fit_model(params, jit_compile=True, steps_per_execution=spe),
        lambda model, _epoch: fit_epoch(model, params, train, val),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-per-call", default="1,8,43,86", help="our values, comma-separated")
    parser.add_argument("--steps-per-execution", default="8,32,128", help="model.fit's values")
    parser.add_argument("--rounds", type=int, default=5, help="epochs per value, the first excluded")
    parser.add_argument("--only", choices=("ours", "fit"), help=argparse.SUPPRESS)  # the two child processes
    args = parser.parse_args()
    if args.only:
        values = args.steps_per_call if args.only == "ours" else args.steps_per_execution
        medians = (ours if args.only == "ours" else keras_fit)([int(v) for v in values.split(",")], args.rounds)
        print("medians: " + ", ".join(f"{value}: {seconds:.3f} s" for value, seconds in medians.items()))
        return
    for only, label in (("ours", "ours, steps_per_call"), ("fit", "model.fit at its best, steps_per_execution")):
        print(f"{label} ({args.rounds} epochs each, median of all but the first):", flush=True)
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--only", only], check=True)


if __name__ == "__main__":
    main()
