"""How the defaults were chosen: our `train.steps_per_call`, and `model.fit`'s `steps_per_execution` for the
"at its best" peer of `train_speed.py`, each swept alternately, one epoch per value in turn.

Ours runs with op determinism on, as the pipeline does; `model.fit` without it (else Keras turns XLA off),
so the two sweeps run in two processes, one after the other. Usage: `python benchmarks/sweeps.py`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from train_speed import KerasFitAtItsBest, Ours, seed

from fashionlab.common.params import load_params
from fashionlab.data.splits import load_split


def sweep(values: list[int], rounds: int, make) -> dict[int, float]:
    """Median seconds per epoch after the first, per value; epochs of the values alternate."""
    runs = {value: make(value) for value in values}
    seconds = {value: [] for value in values}
    for round_ in range(rounds):
        for value, run in runs.items():
            start = time.perf_counter()
            run.run_epoch()
            seconds[value].append(time.perf_counter() - start)
        print(f"round {round_ + 1}/{rounds}: " + ", ".join(f"{v}: {s[-1]:.2f} s" for v, s in seconds.items()))
    return {value: round(statistics.median(times[1:]), 3) for value, times in seconds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-per-call", default="1,8,43,86", help="our values, comma-separated")
    parser.add_argument("--steps-per-execution", default="8,32,128", help="model.fit's values")
    parser.add_argument("--rounds", type=int, default=5, help="epochs per value, the first excluded")
    parser.add_argument("--only", choices=("ours", "fit"), help=argparse.SUPPRESS)  # the two child processes
    args = parser.parse_args()
    if args.only:
        params = load_params("params.yaml")
        train, val = load_split("data/prepared/train.npz"), load_split("data/prepared/val.npz")
        if args.only == "ours":
            variant, values, option = Ours, args.steps_per_call, "steps_per_call"
        else:
            variant, values, option = KerasFitAtItsBest, args.steps_per_execution, "steps_per_execution"
        seed(variant, params)
        values = [int(value) for value in values.split(",")]
        medians = sweep(values, args.rounds, lambda value: variant(params, train, val, **{option: value}))
        print("medians: " + ", ".join(f"{value}: {seconds:.3f} s" for value, seconds in medians.items()))
        return
    for only, label in (("ours", "ours, steps_per_call"), ("fit", "model.fit at its best, steps_per_execution")):
        print(f"{label} ({args.rounds} epochs each, median of all but the first):", flush=True)
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--only", only], check=True)


if __name__ == "__main__":
    main()
