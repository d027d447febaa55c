"""What `compare` spends reading two groups of seeds as `decide` would (its planned looks, each a paired bootstrap),
beside what it spends on its own figures (`compare_configurations`), on the real groups of
`benchmarks/calibration_runs.npz`: the default configuration against its lower learning rate doubled and against
XLA off, with the first 8, 20 and 41 shared seeds. Medians of --repeats, taking turns; results in
benchmarks/decide_reading.json. Usage: python benchmarks/decide_reading.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from fashionlab.common.machine import cpu_summary, describe_machine
from fashionlab.common.outputs import write_json
from fashionlab.experiments.commands.configurations import compare_configurations
from fashionlab.experiments.records.groups import SeedGroup
from fashionlab.experiments.rounds.contest import judged_looks
from fashionlab.experiments.terms.judgement import Judgement

HERE = Path(__file__).resolve().parent


def group(runs: np.ndarray, seeds: np.ndarray, name: str) -> SeedGroup:
    correct = np.unpackbits(runs, axis=1).astype(bool)
    return SeedGroup(
        name, tuple(f"{name}{s}" for s in seeds), tuple(int(s) for s in seeds), correct, 0, (None,) * len(seeds)
    )


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = np.load(HERE / "calibration_runs.npz")
    rows = []
    for other in ("lower_lr_doubled", "jit_off"):
        for n in (8, 20, 41):
            a = group(data["baseline_correct"][:n], data["baseline_seeds"][:n], "A")
            b = group(data[f"{other}_correct"][:n], data[f"{other}_seeds"][:n], "B")
            sides = [dict(zip(g.seeds, g.correct, strict=True)) for g in (a, b)]
            own, reading = [], []
            looks = []
            for _ in range(args.repeats):
                own.append(timed(lambda a=a, b=b: compare_configurations(a, b)))
                reading.append(timed(lambda s=sides, made=looks: made.append(judged_looks(s, [], Judgement(), set()))))
            row = {
                "b": other,
                "shared_seeds": n,
                "looks": len(looks[-1]),
                "compare_seconds": statistics.median(own),
                "decide_reading_seconds": statistics.median(reading),
            }
            row["ratio"] = row["decide_reading_seconds"] / row["compare_seconds"]
            rows.append(row)
            print(
                f"{other:>16} {n:>2} seeds, {row['looks']} looks: compare's own {row['compare_seconds']:.2f} s, "
                f"decide's reading {row['decide_reading_seconds']:.2f} s ({row['ratio']:.2f}x)"
            )
    machine = describe_machine()
    print(cpu_summary(machine))
    write_json(HERE / "decide_reading.json", {"machine": machine, "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()
