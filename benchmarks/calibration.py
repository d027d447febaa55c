"""How often `fashionlab compare` and `fashionlab decide` call two configurations different, measured on real seeds.

Reads three seed groups, with the same seed numbers, from a DVC project whose experiments hold them (made with
`fashionlab seeds`): the default configuration, the same with `train.jit_compile: false`, and the lower group's
learning rate doubled. Writes each run's per-image results to `benchmarks/calibration_runs.npz` (10,000 bits a
run), so `tests/statistics/test_calibration.py` re-derives these figures without training, and the figures to
`benchmarks/calibration.json` (docs/explanation/statistics.md reports them).

Usage: python benchmarks/calibration.py [--project PATH --baseline HEAD --jit-off EXP --lower-lr-doubled EXP]
(without --project, the figures are measured again from the committed npz).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fashionlab.common.machine import describe_machine
from fashionlab.common.outputs import json_bytes, npz_bytes, write_files
from fashionlab.experiments.comparison import shared_seeds
from fashionlab.experiments.predictions import load_predictions, load_seed_group
from fashionlab.experiments.replicates import experiments_table, runs
from fashionlab.statistics.calibration import GROUPS, measure

HERE = Path(__file__).resolve().parent
RUNS, RESULTS = HERE / "calibration_runs.npz", HERE / "calibration.json"


def gather(project: Path, revisions: dict[str, str]) -> dict[str, np.ndarray]:
    """Each group's runs of the seeds every group has, in ascending seed order."""
    table = experiments_table(project, all_commits=False)
    found, _ = runs(table)
    groups = {
        name: load_seed_group(project, table, found, load_predictions(project, revision))
        for name, revision in revisions.items()
    }
    seeds = sorted(set.intersection(*(set(shared_seeds(groups["baseline"], group)) for group in groups.values())))
    arrays = {}
    for name, group in groups.items():
        rows = [group.seeds.index(seed) for seed in seeds]
        arrays[f"{name}_correct"] = np.packbits(group.correct[rows], axis=1)
        arrays[f"{name}_seeds"] = np.array(seeds)
        print(f"{name} {revisions[name]}: {len(seeds)} seeds, accuracy {group.correct[rows].mean():.4f}")
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="gather the runs from this DVC project (else reuse the npz)")
    parser.add_argument("--baseline", default="HEAD")
    parser.add_argument("--jit-off", help="the experiment with train.jit_compile: false")
    parser.add_argument("--lower-lr-doubled", help="the experiment with the lower group's learning rate doubled")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per comparison")
    parser.add_argument("--draws", type=int, default=400, help="draws or orders per row")
    args = parser.parse_args()
    if args.project:
        revisions = dict(zip(GROUPS, (args.baseline, args.jit_off, args.lower_lr_doubled), strict=True))
        write_files({RUNS: npz_bytes(gather(args.project, revisions))})
    with np.load(RUNS) as stored:
        arrays = dict(stored)
    started = time.perf_counter()
    results = {"machine": describe_machine(), **measure(arrays, args.images, args.resamples, args.draws)}
    write_files({RESULTS: json_bytes(results)})
    for name, facts in results["pairing"].items():
        print(
            f"{name}: paired correlation {facts['correlation']:.2f}, sd of the difference "
            f"{facts['sd_paired_difference']:.4f} paired, {facts['sd_unpaired_difference']:.4f} unpaired"
        )
    for row in results["null_fixed"]:
        print(f"jit off against on, {row['per_side']} seeds a side: called better or worse {row['directional']:.1%}")
    for key in ("null_sequential", "change_sequential"):
        row = results[key]
        print(
            f"{key}: called better or worse {row['directional']:.1%}, equivalent {row['equivalent']:.1%}, "
            f"undecided {row['undecided']:.1%}, seeds spent {row['seeds_spent']['mean']:.1f} on average"
        )
    print(f"measured in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
