"""What the pipeline costs around training: DVC's no-op, each stage's start-up, wall time and peak memory.

Each stage runs as DVC runs it (a fresh `python stages/<stage>.py`), with the default parameters, but
writing into a temporary folder, so the workspace is left as it was. Usage: `make bench`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fashionlab.common.machine import describe_machine
from fashionlab.common.outputs import write_json

STAGES = ("prepare", "parity", "train", "evaluate")


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident memory (MiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss // 1024


def stage_commands(tmp: Path) -> dict[str, list[str]]:
    run = [sys.executable]
    data = tmp / "data"
    return {
        "prepare": [
            *(*run, "stages/prepare.py", "--out", str(data)),
            *("--metrics", str(tmp / "prepare.json"), "--dataset", str(tmp / "dataset.json")),
        ],
        "parity": [
            *run,
            "stages/parity.py",
            "--metrics",
            str(tmp / "parity.json"),
            "--details",
            str(tmp / "cases.json"),
        ],
        "train": [
            *run,
            "stages/train.py",
            "--data",
            str(data),
            "--checkpoint",
            str(tmp / "checkpoint"),
            "--model",
            str(tmp / "model.keras"),
            "--history",
            str(tmp / "history.csv"),
            "--summary",
            str(tmp / "train.json"),
            "--timing",
            str(tmp / "timing.json"),
        ],
        "evaluate": [
            *run,
            "stages/evaluate.py",
            "--test",
            str(data / "test.npz"),
            "--model",
            str(tmp / "model.keras"),
            "--metrics",
            str(tmp / "eval.json"),
            "--confusion",
            str(tmp / "confusion.csv"),
            "--per-class",
            str(tmp / "per_class.csv"),
        ],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/pipeline_costs.json")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"  # DVC's stages call `python`
    dvc = str(bin_dir / "dvc")
    results: dict = {"machine": describe_machine()}

    subprocess.run([dvc, "repro"], check=True, capture_output=True)  # make sure there is nothing to do
    noop = [timed([dvc, "repro"])[0] for _ in range(args.repeats)]
    results["dvc_repro_noop_seconds"] = round(statistics.median(noop), 3)
    print(f"dvc repro with nothing to do: {results['dvc_repro_noop_seconds']:.2f} s (median of {args.repeats})")

    startup = {}
    for stage in STAGES:
        times = [timed([sys.executable, f"stages/{stage}.py", "--help"])[0] for _ in range(args.repeats)]
        startup[stage] = round(statistics.median(times), 3)
        print(f"start-up of {stage} (imports, --help): {startup[stage]:.2f} s")
    results["stage_startup_seconds"] = startup

    with tempfile.TemporaryDirectory() as tmp:
        wall, memory = {}, {}
        for stage, command in stage_commands(Path(tmp)).items():
            seconds, peak = timed(command)
            wall[stage], memory[stage] = round(seconds, 2), peak
            print(f"{stage}: {seconds:.1f} s, peak resident memory {peak} MiB")
    results["stage_wall_seconds"] = wall
    results["pipeline_wall_seconds"] = round(sum(wall.values()), 1)
    results["stage_peak_rss_mib"] = memory
    print(f"the whole pipeline, stage by stage: {results['pipeline_wall_seconds']:.0f} s")
    write_json(args.out, results)
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
