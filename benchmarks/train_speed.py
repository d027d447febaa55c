"""Seconds per epoch of our training loop beside `model.fit` and the original notebook's loop.

The three run alternately, one epoch each in turn, in one process, so that a change in the machine's
load hits all of them alike. The first epoch of each is excluded (it traces the step); the median of the
rest is reported, with the float32 matmul rate of this machine, measured in the same run, as the
compute limit. Usage: `make bench` (or `python benchmarks/train_speed.py --rounds 6`).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np

from fashionlab.backend import keras, tf
from fashionlab.data import load_split
from fashionlab.machine import cpu_summary, describe_machine
from fashionlab.model import build_model
from fashionlab.outputs import write_json
from fashionlab.params import load_params
from fashionlab.progress import TrainingDisplay
from fashionlab.training import Position, Trainer, epoch_order, fit, seed_everything


def matmul_gflops(repeats: int = 200) -> float:
    """float32 NumPy matmul of the first layer's shape, batch 128: 128×784 by 784×512."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(128, 784)).astype(np.float32)
    b = rng.normal(size=(784, 512)).astype(np.float32)
    for _ in range(20):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * 128 * 784 * 512 * repeats / (time.perf_counter() - start) / 1e9


def training_flops(hidden: tuple[int, ...], train_size: int, val_size: int) -> float:
    """Matmul FLOPs of one epoch: forward and two backward products per training sample, forward for val."""
    sizes = (784, *hidden, 10)
    forward = sum(2 * a * b for a, b in itertools.pairwise(sizes))
    return 3 * forward * train_size + forward * val_size


class Ours:
    name = "ours"
    jit_compile = True

    def __init__(self, params, train, val):
        self.params, self.train, self.val = params, train, val
        self.trainer = Trainer(build_model(params.model), params.train.groups, self.jit_compile)
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


class OursWithoutXLA(Ours):
    """The same loop with `train.jit_compile: false`: what XLA is worth."""

    name = "ours-noXLA"
    jit_compile = False


class KerasFit:
    """Keras's own loop with its defaults. It cannot use XLA here: Keras turns `jit_compile` off whenever
    TensorFlow's op determinism is enabled (`keras.src.trainers.trainer.model_supports_jit`)."""

    name = "model.fit"

    def __init__(self, params, train, val):
        self.model = build_model(params.model)
        self.model.compile(
            optimizer=keras.optimizers.Adam(1e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        self.batch_size, self.train, self.val = params.train.batch_size, train, val

    def run_epoch(self):
        self.model.fit(
            *self.train,
            batch_size=self.batch_size,
            epochs=1,
            validation_data=self.val,
            validation_batch_size=1000,
            shuffle=True,
            verbose=0,
        )


class OriginalLoop:
    """The notebook's loop: new metric objects and a new traced step every epoch, two tape.gradient calls."""

    name = "original"

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--rounds", type=int, default=5, help="epochs per variant, the first excluded")
    parser.add_argument("--out", default="benchmarks/results.json")
    args = parser.parse_args()

    params = load_params(args.params)
    seed_everything(params.seed)
    train = load_split(Path(args.data) / "train.npz")
    val = load_split(Path(args.data) / "val.npz")
    gflops_before = matmul_gflops()
    variants = [cls(params, train, val) for cls in (Ours, OursWithoutXLA, KerasFit, OriginalLoop)]
    seconds = {v.name: [] for v in variants}
    for round_ in range(args.rounds):
        for variant in variants:
            start = time.perf_counter()
            variant.run_epoch()
            seconds[variant.name].append(time.perf_counter() - start)
            print(f"round {round_ + 1}/{args.rounds} {variant.name:>10}: {seconds[variant.name][-1]:.2f} s", flush=True)

    gflops = max(gflops_before, matmul_gflops())  # the machine's best: load only ever lowers it
    flops = training_flops(params.model.hidden_units, len(train[1]), len(val[1]))
    limit = flops / (gflops * 1e9)
    median = {name: statistics.median(times[1:]) for name, times in seconds.items()}
    results = {
        "machine": {**describe_machine(), "tensorflow": tf.__version__, "keras": keras.__version__},
        "train_samples": len(train[1]),
        "batch_size": params.train.batch_size,
        "seconds_per_epoch": {name: [round(t, 3) for t in times] for name, times in seconds.items()},
        "median_steady_seconds": {name: round(m, 3) for name, m in median.items()},
        "samples_per_second": {name: round(len(train[1]) / m) for name, m in median.items()},
        "speedup_vs_fit": round(median["model.fit"] / median["ours"], 3),
        "speedup_vs_original": round(median["original"] / median["ours"], 3),
        "matmul_gflops": round(gflops, 1),
        "epoch_tflop": round(flops / 1e12, 4),
        "compute_limit_seconds": round(limit, 3),
        "ours_over_compute_limit": round(median["ours"] / limit, 2),
    }
    write_json(args.out, results)
    print()
    print(f"{'variant':>10} | median s/epoch | samples/s | ours is faster by")
    for name in median:
        ratio = median[name] / median["ours"]
        print(f"{name:>10} | {median[name]:14.3f} | {results['samples_per_second'][name]:9d} | {ratio:.2f}x")
    print(
        f"float32 matmul: {gflops:.0f} GFLOP/s; one epoch is {flops / 1e12:.3f} TFLOP, so the compute limit is "
        f"{limit:.2f} s/epoch and ours runs at {results['ours_over_compute_limit']}x that"
    )
    print(f"measured on {cpu_summary(results['machine'])}; results written to {args.out}")


if __name__ == "__main__":
    main()
