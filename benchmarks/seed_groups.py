"""What a seed costs when `fashionlab seeds` adds 5 and 20 seeds to the default configuration: the group trained in
one process against DVC's queue (what `fashionlab seeds` ran before: one `dvc exp run` per seed, two at a time on
two cores), side by side on this machine.

Each run starts from a copy of the same project (this one's HEAD, cloned and run once with `dvc repro`, which
also gives the seed's 20 epochs measured alone: the sum of its `metrics/timing.json`, the first epoch's
compilation included). Reports the wall time per seed, its ratio to those 20 epochs and to the compute limit
of 20 epochs (the matrix products at this machine's best float32 rate, measured here as `make bench` does),
and the group's peak resident memory. Usage: python benchmarks/seed_groups.py [--sizes 5 20].
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from train_speed import matmul_gflops, training_flops

from fashionlab.common.machine import cpu_summary, describe_machine
from fashionlab.common.outputs import write_json
from fashionlab.common.params import load_params

ROOT = Path(__file__).resolve().parents[1]
QUEUE_JOBS = 2  # what `fashionlab seeds` chose on two cores: 26.5 s a seed against 36 s one at a time


def sh(folder: Path, *command: str) -> str:
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=ENV)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {folder}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the stages run `python`
    "GIT_AUTHOR_NAME": "benchmark",
    "GIT_AUTHOR_EMAIL": "benchmark@example.com",
    "GIT_COMMITTER_NAME": "benchmark",
    "GIT_COMMITTER_EMAIL": "benchmark@example.com",
    "DVC_NO_ANALYTICS": "1",
}


def base_project(folder: Path) -> tuple[Path, float]:
    """A clone of HEAD, run once (seed 42) and committed; and its 20 epochs' seconds, as `dvc repro` measured."""
    sh(ROOT, "git", "clone", "--quiet", str(ROOT), str(folder))
    ENV["PYTHONPATH"] = str(folder / "src")  # HEAD's code, whatever the working tree holds
    sh(folder, "dvc", "repro", "--quiet")
    sh(folder, "git", "add", "-A")
    sh(folder, "git", "commit", "--quiet", "-m", "the default run, seed 42")
    timing = json.loads((folder / "metrics" / "timing.json").read_text())
    return folder, sum(timing["epoch_seconds"])


def experiments(project: Path) -> int:
    shown = json.loads(sh(project, "dvc", "exp", "show", "--json"))
    return sum(len(group["revs"]) for commit in shown for group in commit.get("experiments") or [])


def timed(project: Path, command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak resident memory (MiB, the command or any process it waited for), its output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, cwd=project, env=ENV, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        output.seek(0)
        text = output.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{text}")
    return seconds, usage.ru_maxrss // 1024, text


def through_the_queue(project: Path, count: int) -> tuple[float, int, str]:
    """What `fashionlab seeds` did before: queue one `dvc exp run` per seed, start two workers, wait for all."""
    script = (
        "set -e\n"
        f"for seed in $(seq 1 {count}); do dvc exp run --queue --quiet -S seed=$seed; done\n"
        f"dvc queue start -j {QUEUE_JOBS} >/dev/null\n"
        "while dvc queue status | grep -q -E 'Queued|Running'; do sleep 2; done\n"
        "! dvc queue status | grep -q Failed\n"
    )
    return timed(project, ["bash", "-c", script])


def as_a_group(project: Path, count: int) -> tuple[float, int, str]:
    return timed(project, [str(Path(sys.executable).parent / "fashionlab"), "seeds", str(count + 1)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "seed_groups.json"))
    args = parser.parse_args()
    params = load_params(ROOT / "params.yaml")
    limit = 20 * training_flops(params.model.hidden_units, 55_000, 5_000) / (matmul_gflops() * 1e9)
    results: dict = {"machine": describe_machine(), "compute_limit_20_epochs_seconds": round(limit, 2), "runs": []}
    print(f"{cpu_summary(results['machine'])}; the compute limit of 20 epochs is {limit:.1f} s")
    with tempfile.TemporaryDirectory() as scratch:
        base, alone = base_project(Path(scratch) / "base")
        results["twenty_epochs_alone_seconds"] = round(alone, 2)
        print(f"20 epochs alone (the base run's timing.json): {alone:.1f} s")
        for count in args.sizes:
            for path, add in (("queue", through_the_queue), ("group", as_a_group)):
                project = Path(scratch) / f"{path}-{count}"
                shutil.copytree(base, project, symlinks=True)
                seconds, memory, output = add(project, count)
                made = experiments(project)
                if made != count:
                    raise SystemExit(f"{path}: {made} experiments for {count} seeds:\n{output}")
                inside = [float(s) for s in re.findall(r"test accuracy 0\.\d+ \((\d+\.\d) s,", output)]
                row = {
                    "path": path,
                    "seeds": count,
                    "wall_seconds": round(seconds, 1),
                    "per_seed_seconds": round(seconds / count, 2),
                    "per_seed_over_20_epochs_alone": round(seconds / count / alone, 2),
                    "per_seed_over_compute_limit": round(seconds / count / limit, 2),
                    "peak_rss_mib": memory if path == "group" else None,
                    "group_seconds_per_seed_after_the_first": round(sum(inside[1:]) / (len(inside) - 1), 2)
                    if len(inside) > 1
                    else None,
                }
                results["runs"].append(row)
                shutil.rmtree(project)
                print(
                    f"{path}, {count} seeds: {seconds:.0f} s, {row['per_seed_seconds']:.1f} s a seed, "
                    f"{row['per_seed_over_20_epochs_alone']}x its 20 epochs alone, "
                    f"{row['per_seed_over_compute_limit']}x the compute limit"
                    + (f", peak memory {memory} MiB" if path == "group" else "")
                )
    write_json(args.out, results)
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
