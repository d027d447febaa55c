"""How often `fashionlab compare`, `decide` and `race` are wrong, measured on real seeds.

Reads three seed groups, with the same seed numbers, from a DVC project whose experiments hold them (made with
`fashionlab seeds`): the default configuration, the same with `train.jit_compile: false`, and the lower group's
learning rate doubled. Writes each run's per-image results to `benchmarks/calibration_runs.npz` (10,000 bits a
run), so `tests/statistics/test_calibration.py` re-derives these figures without training, and the figures to
`benchmarks/calibration.json` (docs/explanation/statistics.md reports them).

A sweep of five configurations (`calibration.SWEEP`), with the same seed numbers, races: `--sweep-project`
gathers it from a project whose experiments hold them, into the same npz (`sweep_correct`, `sweep_seeds`,
`sweep_names`), and the race figures go to the same JSON, under "races". How often the race's choice is good, beside
Kim & Nelson's KN and fixed designs, on that sweep and on sweeps built from it with known means
(`good_selection.SCENARIOS`), goes under "choices" (`--only-choices` measures only those), with how often each
way of bounding the race's comparisons misses where they correlate 0 or ½ (`--only-bounds`: only that).

Usage: python benchmarks/calibration.py [--project PATH --baseline HEAD --jit-off EXP --lower-lr-doubled EXP]
[--sweep-project PATH --sweep NAME=REV ...] [--only-choices | --only-bounds] (without a project, the figures are
measured again from the npz).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from fashionlab.common.machine import describe_machine
from fashionlab.common.outputs import json_bytes, npz_bytes, write_files
from fashionlab.experiments.commands.configurations import shared_seeds
from fashionlab.experiments.records.dvc import experiments_table
from fashionlab.experiments.records.groups import load_seed_group
from fashionlab.experiments.records.predictions import load_predictions
from fashionlab.experiments.records.runs import runs
from fashionlab.statistics.calibration import GROUPS, SWEEP, measure, measure_races, unpack_sweep
from fashionlab.statistics.good_selection import (
    bound_misses,
    comparison_correlations,
    image_floor,
    near_ones,
    procedures,
    real_and_built,
)
from fashionlab.statistics.sequential import ALPHA, CHOICE_BOUND
from fashionlab.statistics.significance import ROPE

HERE = Path(__file__).resolve().parent
RUNS, RESULTS = HERE / "calibration_runs.npz", HERE / "calibration.json"
FIXED = (5, 8, 12, 20)  # seeds each, one look: the fixed designs the race's choice is measured against


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


def gather_sweep(project: Path, revisions: dict[str, str]) -> dict[str, np.ndarray]:
    """The sweep's runs of the seeds every configuration has, ascending: configurations × seeds × packed images."""
    table = experiments_table(project, all_commits=True)
    found, _ = runs(table)
    groups = [load_seed_group(project, table, found, load_predictions(project, rev)) for rev in revisions.values()]
    seeds = sorted(set.intersection(*(set(group.seeds) - {None} for group in groups)))
    correct = [group.correct[[group.seeds.index(seed) for seed in seeds]] for group in groups]
    for name, rows in zip(revisions, correct, strict=True):
        print(f"sweep {name} {revisions[name]}: {len(seeds)} seeds, accuracy {rows.mean():.4f}")
    return {
        "sweep_correct": np.packbits(np.stack(correct), axis=2),
        "sweep_seeds": np.array(seeds),
        "sweep_names": np.array(list(revisions)),
        "sweep_machines": np.array(sorted({m for group in groups for m in group.machines if m})),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="gather the runs from this DVC project (else reuse the npz)")
    parser.add_argument("--baseline", default="HEAD")
    parser.add_argument("--jit-off", help="the experiment with train.jit_compile: false")
    parser.add_argument("--lower-lr-doubled", help="the experiment with the lower group's learning rate doubled")
    parser.add_argument("--sweep-project", type=Path, help="gather the sweep from this DVC project")
    parser.add_argument("--sweep", nargs="*", default=[], metavar="NAME=REV", help=f"the revision of each of {SWEEP}")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per comparison")
    parser.add_argument("--draws", type=int, default=400, help="draws or orders per row")
    parser.add_argument(
        "--only-choices",
        action="store_true",
        help='measure only the race\'s good selection ("choices"), keeping the other committed figures',
    )
    parser.add_argument(
        "--only-bounds",
        action="store_true",
        help="measure only how often each bound misses where the comparisons correlate 0 or 1/2, and how the real "
        "sweep's correlate (seconds)",
    )
    args = parser.parse_args()
    with np.load(RUNS) as stored:
        arrays = dict(stored)
    if args.project:
        revisions = dict(zip(GROUPS, (args.baseline, args.jit_off, args.lower_lr_doubled), strict=True))
        arrays.update(gather(args.project, revisions))
    if args.sweep_project:
        revisions = dict(item.split("=", 1) for item in args.sweep)
        if list(revisions) != list(SWEEP):
            parser.error(f"--sweep takes NAME=REV for each of {', '.join(SWEEP)}, in that order")
        arrays.update(gather_sweep(args.sweep_project, revisions))
    if args.project or args.sweep_project:
        write_files({RUNS: npz_bytes(arrays)})
    started = time.perf_counter()
    if args.only_bounds:
        results = json.loads(RESULTS.read_text())
        results["choices"].update(measure_bounds(near_ones(*unpack_sweep(arrays, args.images))))
        write_files({RESULTS: json_bytes(results)})
        print_bounds(results["choices"])
        print(f"measured in {time.perf_counter() - started:.0f} s")
        return
    if args.only_choices:
        results = json.loads(RESULTS.read_text())
    else:
        results = {"machine": describe_machine(), **measure(arrays, args.images, args.resamples, args.draws)}
        if "sweep_correct" in arrays:
            results["races"] = measure_races(arrays, args.images, args.resamples, args.draws)
            results["races"]["trained_on"] = arrays["sweep_machines"].tolist()
    if "sweep_correct" in arrays:
        results["choices"] = measure_choices(arrays, args.images, args.resamples, args.draws)
    write_files({RESULTS: json_bytes(results)})
    if args.only_choices:
        print_choices(results["choices"])
        print(f"measured in {time.perf_counter() - started:.0f} s")
        return
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
    if "races" in results:
        races = results["races"]
        for row in [races["race"], *races["fixed"]]:
            design = f"fixed {row['per_configuration']} seeds each" if "per_configuration" in row else "race"
            print(
                f"{design}: best dropped {row['best_dropped']:.1%}, ended {row['outcomes']}, seeds trained "
                f"{row['seeds_spent']['mean']:.1f} on average"
            )
        one = races["one_seed"]
        print(f"one seed each: not the best {one['not_the_best']:.1%}, clearly worse {one['clearly_worse']:.1%}")
    if "choices" in results:
        print_choices(results["choices"])
    print(f"measured in {time.perf_counter() - started:.0f} s")


def measure_choices(arrays: dict, images: int, resamples: int, draws: int, max_seeds: int = 20) -> dict:
    """The race's good selection (by each way of bounding its comparisons, `sequential.BOUNDS`), KN and fixed
    designs on the real sweep and the built ones, each sweep in a process
    of its own (the machine's cores), and the test set's own share of the noise."""
    sweep, names = unpack_sweep(arrays, images)
    sweeps = real_and_built(sweep, names, ROPE)
    options = {"rope": ROPE, "resamples": resamples}
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        running = {
            name: pool.submit(
                procedures, runs, draws, max_seeds, fixed=(5, 8, 12, 20) if offsets is None else (), **options
            )
            for name, (runs, offsets) in sweeps.items()
        }
        found = {name: future.result() for name, future in running.items()}
    return {
        "alpha": ALPHA,
        "race_bound": CHOICE_BOUND,
        "rope": ROPE,
        "max_seeds": max_seeds,
        "resamples": resamples,
        "machine": describe_machine(),
        "real": {"configurations": names, **found.pop("real")},
        "built": {name: {"offsets": list(sweeps[name][1]), **figures} for name, figures in found.items()},
        "image_floor": image_floor(near_ones(sweep, names), max_seeds),
        **measure_bounds(near_ones(sweep, names)),
    }


def measure_bounds(near: np.ndarray) -> dict:
    """How often each bound misses where the comparisons correlate 0 or ½, and how the `near` configurations of the
    real sweep correlate."""
    return {"bound_misses": bound_misses(), "comparison_correlation": comparison_correlations(near)}


def print_choices(choices: dict) -> None:
    """One line per procedure and sweep: how often it named one, how often a good one, its seeds."""
    sweeps = {"real sweep": choices["real"], **{f"built: {name}": found for name, found in choices["built"].items()}}
    for sweep, found in sweeps.items():
        for procedure, row in found.items():
            if isinstance(row, dict) and "named" in row:
                print(
                    f"{sweep}, {procedure}: named one {row['named']:.1%}, a good one {row['good']:.1%}, "
                    f"seeds trained {row['seeds_spent']['mean']:.1f} on average"
                )
    print_bounds(choices)
    floor = choices["image_floor"]
    print(
        f"the test set's own standard error: {floor['image_se']['min']:.5f}-{floor['image_se']['max']:.5f}, "
        f"{floor['image_share_of_variance']['min']:.0%}-{floor['image_share_of_variance']['max']:.0%} of the "
        f"variance at {floor['seeds']} seeds"
    )


def print_bounds(choices: dict) -> None:
    for row in choices["bound_misses"]:
        print(
            f"{row['bound']}, {row['configurations']} configurations, correlation {row['correlation']:g}: "
            f"the best's upper ends missed {row['missed']:.2%}"
        )
    found = choices["comparison_correlation"]
    print(
        f"the real sweep's comparisons with one of its near configurations correlate {found['min']:.2f} to "
        f"{found['max']:.2f}"
    )


if __name__ == "__main__":
    main()
