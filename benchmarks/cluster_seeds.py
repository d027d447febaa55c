"""Seeds per minute on a Ray cluster of 1, 2 and 4 local nodes of 1 CPU each, against this machine's own group on
the same cores, side by side in one run; and what the cluster adds to each seed (shipping its parameters, its
files back, saving it), against the seed's own training time.

Each run adds the same seeds to a copy of one project (this one's HEAD, cloned and run once with `dvc repro`),
with the default configuration's 20 epochs. The local group runs pinned to as many cores as the nodes have
CPUs (`taskset`), so that both sides have the same cores; the cluster's nodes are Ray's `cluster_utils` nodes,
processes of this machine, as `make test` starts them. Seeds per minute are over the whole command, start-up
included, what a user waits for; from the time each seed's line arrives, for one node, the overhead per seed:
the time between two seeds back, less the second seed's own seconds inside its group.

Usage: python benchmarks/cluster_seeds.py [--seeds 4] [--nodes 1 2 4]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seed_groups import ENV, base_project, experiments

from fashionlab.common.machine import cpu_summary, describe_machine
from fashionlab.common.outputs import write_json

ROOT = Path(__file__).resolve().parents[1]
FINISHED = re.compile(r"seed (\d+): test accuracy 0\.\d+ \((\d+\.\d) s, seed\d+-[0-9a-f]{7}\)")


def timed_lines(project: Path, command: list[str]) -> tuple[float, list[tuple[float, str]]]:
    """Wall seconds, and each line of the command's output with the second it arrived."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=project, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = [(time.perf_counter() - start, line.rstrip("\n")) for line in process.stdout]
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n" + "\n".join(line for _, line in lines))
    return time.perf_counter() - start, lines


def figures(wall: float, lines: list[tuple[float, str]], seeds: int) -> dict:
    back = [(at, float(match[2])) for at, line in lines if (match := FINISHED.fullmatch(line))]
    if len(back) != seeds:
        raise SystemExit(f"{len(back)} seeds back of {seeds}:\n" + "\n".join(line for _, line in lines))
    gaps = [later - earlier - own for (earlier, _), (later, own) in itertools.pairwise(back)]
    return {
        "wall_seconds": round(wall, 1),
        "seeds_per_minute": round(seeds / wall * 60, 2),
        "first_seed_back_seconds": round(back[0][0], 1),
        "seed_seconds_in_group": round(statistics.median(own for _, own in back[1:] or back), 2),
        # one node: the time between two seeds back beyond the second one's training; with several, seeds
        # finish side by side and this says nothing
        "gap_beyond_training_seconds": round(statistics.median(gaps), 2) if gaps else None,
    }


def local_group(project: Path, cores: int, seeds: int) -> dict:
    command = [
        "taskset",
        "-c",
        f"0-{cores - 1}",
        str(Path(sys.executable).parent / "fashionlab"),
        "seeds",
        str(seeds + 1),
    ]
    return {"path": "local group", "cores": cores, **figures(*timed_lines(project, command), seeds)}


def cluster(project: Path, nodes: int, seeds: int) -> dict:
    from ray.cluster_utils import Cluster

    started = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        for _ in range(nodes):
            started.add_node(num_cpus=1)
        command = [
            str(Path(sys.executable).parent / "fashionlab"),
            "seeds",
            str(seeds + 1),
            "--cluster",
            started.address,
        ]
        return {"path": "cluster", "nodes": nodes, **figures(*timed_lines(project, command), seeds)}
    finally:
        started.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="seeds added in each run")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "cluster_seeds.json"))
    args = parser.parse_args()
    os.environ["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
    results: dict = {"machine": describe_machine(), "seeds": args.seeds, "runs": []}
    print(f"{cpu_summary(results['machine'])}; {args.seeds} seeds of 20 epochs a run")
    with tempfile.TemporaryDirectory() as scratch:
        base, alone = base_project(Path(scratch) / "base")
        results["twenty_epochs_alone_seconds"] = round(alone, 2)
        runs = [("local", n) for n in sorted({min(n, os.cpu_count()) for n in args.nodes})]
        runs += [("cluster", n) for n in args.nodes]
        for path, size in runs:
            project = Path(scratch) / f"{path}-{size}"
            shutil.copytree(base, project, symlinks=True)
            row = local_group(project, size, args.seeds) if path == "local" else cluster(project, size, args.seeds)
            if experiments(project) != args.seeds:
                raise SystemExit(f"{path} {size}: {experiments(project)} experiments for {args.seeds} seeds")
            shutil.rmtree(project)
            results["runs"].append(row)
            print(
                f"{row['path']} on {size} {'cores' if path == 'local' else 'nodes of 1 CPU'}: {row['wall_seconds']} s, "
                f"{row['seeds_per_minute']} seeds a minute, a seed {row['seed_seconds_in_group']} s in its group"
            )
    one_node = next(r for r in results["runs"] if r.get("nodes") == 1)
    overhead = one_node["gap_beyond_training_seconds"]
    results["overhead_per_seed"] = {
        "seconds": overhead,
        "share_of_a_seed": round(overhead / one_node["seed_seconds_in_group"], 4) if overhead is not None else None,
    }
    write_json(args.out, results)
    print(
        f"one node's overhead per seed: {overhead} s, {results['overhead_per_seed']['share_of_a_seed']:.1%} of a seed"
    )
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
