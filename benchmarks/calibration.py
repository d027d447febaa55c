"""How often `fashionlab compare` calls two configurations different, measured on real seeds.

Reads two seed groups from a DVC project whose experiments hold them (made with `fashionlab seeds`): the
baseline configuration and a small change of it. Writes each run's per-image results to
`benchmarks/calibration_runs.npz` (10,000 bits a run), so `tests/test_calibration.py` re-derives these
figures without training, and the figures to `benchmarks/calibration.json`.

Usage: `python benchmarks/calibration.py --project PATH --baseline HEAD --change EXPERIMENT`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fashionlab.common.machine import describe_machine
from fashionlab.common.outputs import json_bytes, npz_bytes, write_files
from fashionlab.experiments.calibration import measure
from fashionlab.experiments.predictions import load_predictions, load_seed_group
from fashionlab.experiments.replicates import experiments_table, runs

HERE = Path(__file__).resolve().parent
RUNS, RESULTS = HERE / "calibration_runs.npz", HERE / "calibration.json"


def gather(project: Path, baseline: str, changed: str) -> dict[str, np.ndarray]:
    table = experiments_table(project, all_commits=False)
    found, _ = runs(table)
    groups = {}
    for side, revision in (("baseline", baseline), ("change", changed)):
        group = load_seed_group(project, table, found, load_predictions(project, revision))
        groups[f"{side}_correct"] = np.packbits(group.correct, axis=1)
        groups[f"{side}_seeds"] = np.array(group.seeds)
        print(f"{side} {revision}: {len(group.seeds)} seeds, accuracy {group.correct.mean():.4f}")
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="gather the runs from this DVC project (else reuse the npz)")
    parser.add_argument("--baseline", default="HEAD")
    parser.add_argument("--change", help="the experiment of the small change")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per comparison")
    parser.add_argument("--draws", type=int, default=200, help="splits or draws per group size")
    args = parser.parse_args()
    if args.project:
        write_files({RUNS: npz_bytes(gather(args.project, args.baseline, args.change))})
    with np.load(RUNS) as stored:
        arrays = dict(stored)
    results = {"machine": describe_machine(), **measure(arrays, args.images, args.resamples, args.draws)}
    write_files({RESULTS: json_bytes(results)})
    for row in results["same_configuration"]:
        print(f"same configuration, {row['per_side']} seeds a side: better or worse {row['false_difference']:.1%}")
    for row in results["change"]:
        print(f"change, {row['per_side']} seeds a side: better {row['better']:.0%}, undecided {row['undecided']:.0%}")


if __name__ == "__main__":
    main()
