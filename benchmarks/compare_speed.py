"""How long `fashionlab compare A B` takes on large groups of seeds, against the `compare` before pairing
(commit 6c88fe3, run from its own source tree), side by side, taking turns, on a project that holds the groups.

Reports each one's median wall time, the part `dvc exp show --json --all-commits` takes (both call it once), and
the rest: reading the runs' predictions, the statistics, the imports. Today's is timed twice: as a first
`compare` after the seeds were trained (no run's predictions parsed yet, "now, first") and again ("now"). Usage:
python benchmarks/compare_speed.py --project PATH A B (for instance the project benchmarks/calibration.py read,
with 41 seeds a side).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fashionlab.common.machine import cpu_summary, describe_machine
from fashionlab.common.outputs import write_json

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "6c88fe3"  # main before paired seeds: `compare` read each run through dvc.api and bootstrapped in a loop
PARSED = Path(".dvc/tmp/fashionlab/predictions")  # where `compare` keeps the runs' parsed predictions


def wall(command: list[str], project: Path, env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "compare_speed.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as before:
        archive = subprocess.run(["git", "archive", BEFORE, "src"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        entry = "import sys; from fashionlab.experiments.cli import main; sys.argv[0] = 'fashionlab'; main()"
        versions = {
            "before": {**os.environ, "PYTHONPATH": f"{before}/src"},
            "now, first": {**os.environ, "PYTHONPATH": str(ROOT / "src")},
            "now": {**os.environ, "PYTHONPATH": str(ROOT / "src")},
        }
        command = [sys.executable, "-c", entry, "compare", args.a, args.b, "--format", "json"]
        show = [sys.executable, "-m", "dvc", "exp", "show", "--json", "--all-commits"]
        times: dict[str, list[float]] = {name: [] for name in (*versions, "dvc exp show")}
        for _ in range(args.repeats):
            for name, env in versions.items():
                if name == "now, first":
                    shutil.rmtree(args.project / PARSED, ignore_errors=True)
                times[name].append(wall(command, args.project, env))
            times["dvc exp show"].append(wall(show, args.project, versions["now"]))
    median = {name: statistics.median(values) for name, values in times.items()}
    results = {
        "machine": describe_machine(),
        "revisions": [args.a, args.b],
        "before_commit": BEFORE,
        "seconds": {name: [round(t, 2) for t in values] for name, values in times.items()},
        "median_seconds": {name: round(value, 2) for name, value in median.items()},
        "median_without_dvc_exp_show": {name: round(median[name] - median["dvc exp show"], 2) for name in versions},
    }
    write_json(args.out, results)
    print(f"{cpu_summary(results['machine'])}: compare {args.a} {args.b}, median of {args.repeats}")
    for name in versions:
        print(
            f"{name}: {median[name]:.2f} s, of which dvc exp show {median['dvc exp show']:.2f} s, "
            f"the rest {results['median_without_dvc_exp_show'][name]:.2f} s"
        )


if __name__ == "__main__":
    main()
