"""Seconds per epoch of our training loop beside `model.fit`, at its best and as our guarantees need it,
and the original notebook's loop.

Each variant runs in a process of its own, an epoch each time this script asks, and the variants take
turns, so that a change in the machine's load hits all of them alike and none shares its process, or
TensorFlow's thread pools, with another. `model.fit` at its best (XLA on, `steps_per_execution`) runs
without op determinism, because Keras turns XLA off while it is on; every other variant runs with it, as
the pipeline does. The first epoch of each is excluded (it traces and compiles); the median of the rest is
reported, against the compute limit of this machine measured in the same run. Every variant runs twice, with
native and with portable numerics (`numerics` in params.yaml), so each mode is measured against `model.fit` and
the two modes against each other on the same turns. Usage: `make bench` (or
`python benchmarks/train_speed.py --rounds 6`).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# This process measures the compute limit, with the CPU's fastest kernels; each worker is started with its mode.
os.environ.setdefault("FASHIONLAB_NUMERICS", "native")

from fashionlab.common import numerics
from fashionlab.common.backend import keras, tf
from fashionlab.common.machine import cpu_summary, describe_machine
from fashionlab.common.outputs import write_json
from fashionlab.common.params import load_params
from fashionlab.data.splits import load_split
from fashionlab.model.mlp import build_model
from fashionlab.training.display import TrainingDisplay
from fashionlab.training.loop import Position, epoch_order, fit, seed_everything
from fashionlab.training.steps import Trainer

FIT_STEPS_PER_EXECUTION = 128  # 32 and 128 were the best of 8, 32, 128, within noise (benchmarks/sweeps.py)


def matmul_gflops(repeats: int = 200) -> float:
    """The best float32 rate of the first layer's product (batch 128: 128×784 by 784×512) on this machine:
    NumPy one product per call, or XLA with 50 per call (no per-call overhead, as inside our loop)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(128, 784)).astype(np.float32)
    b = rng.normal(size=(784, 512)).astype(np.float32)
    product = 2 * 128 * 784 * 512
    for _ in range(20):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    numpy_rate = product * repeats / (time.perf_counter() - start)

    @tf.function(jit_compile=True)
    def fifty(a, b):
        total = tf.zeros([])
        for i in tf.range(50):  # a loop, so XLA cannot merge the products; `+ i` keeps each one distinct
            total += tf.reduce_sum(tf.matmul(a + tf.cast(i, tf.float32), b))
        return total

    a, b = tf.constant(a), tf.constant(b)
    fifty(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats // 50):
        fifty(a, b).numpy()
    xla_rate = product * 50 * (repeats // 50) / (time.perf_counter() - start)
    return max(numpy_rate, xla_rate) / 1e9


def training_flops(hidden: tuple[int, ...], train_size: int, val_size: int) -> float:
    """Matmul FLOPs of one epoch. Per training sample: the forward products, one product per layer for its
    weights' gradient, and one per layer but the first for its input's gradient (nothing needs the image's);
    per validation sample, the forward products."""
    sizes = (784, *hidden, 10)
    products = [2 * a * b for a, b in itertools.pairwise(sizes)]
    forward = sum(products)
    return (2 * forward + sum(products[1:])) * train_size + forward * val_size


class Ours:
    """Our loop as `params.yaml` configures it (several steps per call, batches gathered in the graph), or
    with the number of steps per call given."""

    name = "ours"
    jit_compile = True
    steps_per_call: int | None = None  # None: `train.steps_per_call`
    determinism = True

    def __init__(self, params, train, val, steps_per_call: int | None = None):
        self.params, self.train, self.val = params, train, val
        steps_per_call = steps_per_call or self.steps_per_call or params.train.steps_per_call
        self.trainer = Trainer(
            build_model(params.model), params.train.groups, self.jit_compile, steps_per_call=steps_per_call
        )
        # The display stays on, redrawn every iteration, into /dev/null: its cost counts, a terminal's does not.
        self.display = TrainingDisplay(10**6, live=True, stream=open(os.devnull, "w"))  # noqa: SIM115
        self.history, self.epoch = [], 0

    def run_epoch(self):
        fit(
            self.trainer,
            self.train,
            self.val,
            epochs=self.epoch + 1,
            batch_size=self.params.train.batch_size,
            seed=self.params.seed,
            start=Position(self.epoch, 0),
            history=self.history,
            on_step=self.display.step,
            on_epoch_end=lambda _p, r: self.display.epoch_end(r, 0.0),
        )
        self.epoch += 1


class OursOneStep(Ours):
    """One step per call, each batch fed from the host: `train.steps_per_call: 1`, the loop before it."""

    name = "ours-1step"
    steps_per_call = 1


class OursWithoutXLA(Ours):
    """The same loop with `train.jit_compile: false`: what XLA is worth."""

    name = "ours-noXLA"
    jit_compile = False


class KerasFit:
    """Keras's own loop under our guarantees: with op determinism on, Keras turns `jit_compile` off
    (`keras.src.trainers.trainer.model_supports_jit`), so this is `model.fit` without XLA. One Adam for all
    layers."""

    name = "fit-determinism"
    jit_compile = False
    steps_per_execution = 1
    determinism = True

    def __init__(self, params, train, val, steps_per_execution: int | None = None):
        self.params, self.train, self.val = params, train, val
        self.model = build_model(params.model)
        self.model.compile(
            optimizer=keras.optimizers.Adam(1e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=self.jit_compile,
            steps_per_execution=steps_per_execution or self.steps_per_execution,
        )

    def run_epoch(self):
        self.model.fit(
            *self.train,
            batch_size=self.params.train.batch_size,
            epochs=1,
            validation_data=self.val,
            validation_batch_size=1000,
            shuffle=True,
            verbose=0,
        )


class KerasFitAtItsBest(KerasFit):
    """`model.fit` as a user after speed alone would run it: XLA on, `steps_per_execution`, and no op
    determinism, since Keras turns XLA off under it."""

    name = "fit-best"
    jit_compile = True
    steps_per_execution = FIT_STEPS_PER_EXECUTION
    determinism = False


def seed(variant: type, params) -> None:
    """Seed as the variant runs: with op determinism, as the pipeline does, unless the variant says not to."""
    if variant.determinism:
        seed_everything(params.seed)
    else:
        keras.utils.set_random_seed(params.seed)


class OriginalLoop:
    """The notebook's loop: new metric objects and a new traced step every epoch, two tape.gradient calls."""

    name = "original"
    determinism = True

    def __init__(self, params, train, val):
        self.params, self.train, self.val = params, train, val
        self.model = build_model(params.model)
        self.lower = [
            v for name in ("dense1", "norm1", "dense2", "norm2") for v in self.model.get_layer(name).trainable_variables
        ]
        self.upper = self.model.get_layer("logits").trainable_variables
        self.lower_optimizer = keras.optimizers.Adam(1e-4)
        self.upper_optimizer = keras.optimizers.SGD(1e-2)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.status = open(os.devnull, "w")  # noqa: SIM115
        self.epoch = 0

    def run_epoch(self):
        mean_loss = keras.metrics.Mean()
        accuracy = keras.metrics.SparseCategoricalAccuracy()

        @tf.function
        def step(images, labels):
            with tf.GradientTape(persistent=True) as tape:
                logits = self.model(images, training=True)
                loss = self.loss_fn(labels, logits)
            for variables, optimizer in ((self.lower, self.lower_optimizer), (self.upper, self.upper_optimizer)):
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            mean_loss.update_state(loss)
            accuracy.update_state(labels, logits)

        images, labels = self.train
        batch = self.params.train.batch_size
        order = epoch_order(self.params.seed, self.epoch, len(labels))
        steps = math.ceil(len(labels) / batch)
        for i in range(steps):
            index = order[i * batch : (i + 1) * batch]
            step(images[index], labels[index])
            print(
                f"\r{i + 1}/{steps} loss {float(mean_loss.result()):.4f} acc {float(accuracy.result()):.4f}",
                end="",
                file=self.status,
            )
        val_loss, val_accuracy = keras.metrics.Mean(), keras.metrics.SparseCategoricalAccuracy()
        for start in range(0, len(self.val[1]), 1000):
            logits = self.model(self.val[0][start : start + 1000])
            val_loss.update_state(self.loss_fn(self.val[1][start : start + 1000], logits))
            val_accuracy.update_state(self.val[1][start : start + 1000], logits)
        self.epoch += 1


VARIANTS = {cls.name: cls for cls in (Ours, KerasFitAtItsBest, OursOneStep, OursWithoutXLA, KerasFit, OriginalLoop)}


def worker(args):
    """One variant's process: seeded, determinism on unless the variant says otherwise; runs an epoch per
    line read, answering each with a line."""
    variant = VARIANTS[args.worker]
    params = load_params(args.params)
    seed(variant, params)
    run = variant(params, load_split(Path(args.data) / "train.npz"), load_split(Path(args.data) / "val.npz"))
    print("ready", flush=True)
    for _ in sys.stdin:
        run.run_epoch()
        print("done", flush=True)


class Worker:
    """This script with `--worker VARIANT` in environment `env` (which says its numerics). Its stderr
    (TensorFlow's notices, among them a harmless tf.data one from `model.fit`) is shown only if it fails."""

    def __init__(self, variant, args, env, name=None):
        self.name = name or variant
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115
        command = [sys.executable, __file__, "--worker", variant, "--params", args.params, "--data", args.data]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )
        self.expect("ready")

    def expect(self, answer):
        if self.process.stdout.readline().strip() != answer:
            self.log.seek(0)
            raise SystemExit(f"the {self.name} worker stopped (exit status {self.process.wait()}):\n{self.log.read()}")

    def run_epoch(self):
        self.process.stdin.write("epoch\n")
        self.process.stdin.flush()
        self.expect("done")

    def close(self):
        self.process.stdin.close()
        self.process.wait()
        self.log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--rounds", type=int, default=5, help="epochs per variant, the first excluded")
    parser.add_argument("--out", default="benchmarks/results.json")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    params = load_params(args.params)
    train, val = load_split(Path(args.data) / "train.npz"), load_split(Path(args.data) / "val.npz")
    gflops_before = matmul_gflops()
    workers = [
        Worker(name, args, numerics.environment(mode), name=f"{name} {mode}")
        for name in VARIANTS
        for mode in numerics.MODES
    ]
    seconds = take_turns(workers, args.rounds)
    gflops = max(gflops_before, matmul_gflops())  # the machine's best: load only ever lowers it
    flops = training_flops(params.model.hidden_units, len(train[1]), len(val[1]))
    limit = flops / (gflops * 1e9)
    median = {name: statistics.median(times[1:]) for name, times in seconds.items()}
    by_mode = {mode: {name: median[f"{name} {mode}"] for name in VARIANTS} for mode in numerics.MODES}
    results = {
        "machine": {**describe_machine(), "tensorflow": tf.__version__, "keras": keras.__version__},
        "train_samples": len(train[1]),
        "batch_size": params.train.batch_size,
        "steps_per_call": params.train.steps_per_call,
        "fit_steps_per_execution": FIT_STEPS_PER_EXECUTION,
        "seconds_per_epoch": {name: [round(t, 3) for t in times] for name, times in seconds.items()},
        "median_steady_seconds": {mode: {n: round(m, 3) for n, m in ms.items()} for mode, ms in by_mode.items()},
        "samples_per_second": {
            mode: {n: round(len(train[1]) / m) for n, m in ms.items()} for mode, ms in by_mode.items()
        },
        "speedup": {
            mode: {n: round(m / ms["ours"], 3) for n, m in ms.items() if n != "ours"} for mode, ms in by_mode.items()
        },
        "portable_over_native": {n: round(by_mode["portable"][n] / by_mode["native"][n], 3) for n in VARIANTS},
        "matmul_gflops": round(gflops, 1),
        "epoch_tflop": round(flops / 1e12, 4),
        "compute_limit_seconds": round(limit, 3),
        "ours_over_compute_limit": {mode: round(ms["ours"] / limit, 2) for mode, ms in by_mode.items()},
    }
    write_json(args.out, results)
    print()
    print(f"{'variant':>15} | native s/epoch | ours faster by | portable s/epoch | ours faster by | portable/native")
    for name in VARIANTS:
        native, portable = by_mode["native"][name], by_mode["portable"][name]
        print(
            f"{name:>15} | {native:14.3f} | {native / by_mode['native']['ours']:13.2f}x | {portable:16.3f} | "
            f"{portable / by_mode['portable']['ours']:13.2f}x | {portable / native:14.2f}x"
        )
    print(
        f"float32 matmul: {gflops:.0f} GFLOP/s; one epoch is {flops / 1e12:.3f} TFLOP, so the compute limit is "
        f"{limit:.2f} s/epoch and ours runs at {results['ours_over_compute_limit']['native']}x that (native), "
        f"{results['ours_over_compute_limit']['portable']}x (portable)"
    )
    print(f"measured on {cpu_summary(results['machine'])}; results written to {args.out}")


def take_turns(workers: list[Worker], rounds: int) -> dict[str, list[float]]:
    """Each worker's epochs in seconds, an epoch each in turn; the workers are closed after."""
    seconds = {w.name: [] for w in workers}
    for round_ in range(rounds):
        for w in workers:
            start = time.perf_counter()
            w.run_epoch()
            seconds[w.name].append(time.perf_counter() - start)
            print(f"round {round_ + 1}/{rounds} {w.name:>24}: {seconds[w.name][-1]:.2f} s", flush=True)
    for w in workers:
        w.close()
    return seconds


if __name__ == "__main__":
    main()
