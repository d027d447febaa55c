"""Epoch time of our loop against batch size, and against the number of replicas on this machine's CPU.

Replicas here are logical devices carved out of the same two cores (MirroredStrategy), so the replica
figures show the loop's distribution overhead, not a speed-up. Usage: `python benchmarks/scaling.py`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def measure(batch_size: int, replicas: int, epochs: int) -> float:
    """Median seconds per epoch after the first, in a fresh process (devices are fixed at start-up)."""
    code = f"""
import time, statistics, tensorflow as tf
if {replicas} > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * {replicas})
from fashionlab.data.splits import load_split
from fashionlab.model.mlp import build_model
from fashionlab.common.params import load_params
from fashionlab.training.steps import Trainer
from fashionlab.training.loop import Position, fit, seed_everything
params = load_params("params.yaml")
strategy = (tf.distribute.MirroredStrategy([f"/cpu:{{i}}" for i in range({replicas})]) if {replicas} > 1
            else tf.distribute.get_strategy())
seed_everything(params.seed)
train, val = load_split("data/prepared/train.npz"), load_split("data/prepared/val.npz")
with strategy.scope():
    model = build_model(params.model)
trainer = Trainer(model, params.train.groups, params.train.jit_compile, strategy, params.train.steps_per_call)
history, times = [], []
for epoch in range({epochs}):
    start = time.perf_counter()
    fit(trainer, train, val, epochs=epoch + 1, batch_size={batch_size}, seed=params.seed,
        start=Position(epoch, 0), history=history)
    times.append(time.perf_counter() - start)
print(statistics.median(times[1:]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="per configuration, the first excluded")
    parser.add_argument("--out", default="benchmarks/scaling.json")
    args = parser.parse_args()
    from fashionlab.common.machine import cpu_summary, describe_machine
    from fashionlab.common.outputs import write_json

    rows = []
    for batch_size, replicas in ((64, 1), (128, 1), (256, 1), (512, 1), (128, 2), (256, 2)):
        start = time.perf_counter()
        seconds = measure(batch_size, replicas, args.epochs)
        rows.append({"batch_size": batch_size, "replicas": replicas, "median_seconds_per_epoch": round(seconds, 3)})
        print(
            f"batch {batch_size:4d}, {replicas} replica(s): {seconds:.2f} s/epoch "
            f"(measured in {time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    machine = describe_machine()
    write_json(args.out, {"machine": machine, "runs": rows})
    print(f"measured on {cpu_summary(machine)}; results written to {args.out}")


if __name__ == "__main__":
    main()
