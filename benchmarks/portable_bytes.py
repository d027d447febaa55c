"""The full pipeline's bytes under other thread counts and instruction sets: the promise of portable numerics
on the default parameters, where the test suite checks it on a small configuration.

The project's files are copied into a temporary git repository; `dvc repro -f` runs there with the default
parameters once per setting: 1, 2 and 4 threads, and oneDNN's and XLA's instruction sets capped as on an
AVX2-only CPU, as on an AVX-512 one, or not at all. Every output dvc.lock records but metrics/timing.json and
metrics/machine.json must be the same in every run; native numerics, run the same ways, show what portable
numerics remove. Usage: `python benchmarks/portable_bytes.py` (about a minute a run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from fashionlab.common.machine import cpu_summary, describe_machine
from fashionlab.common.outputs import write_json

ROOT = Path(__file__).resolve().parents[1]
MAY_DIFFER = ("metrics/timing.json", "metrics/machine.json")
THREADS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")
# name: numerics, threads, oneDNN's cap, XLA's cap
RUNS = {
    "portable, 1 thread, AVX2": ("portable", 1, "AVX2", "AVX2"),
    "portable, 2 threads, AVX-512": ("portable", 2, "AVX512_CORE", "AVX512"),
    "portable, 4 threads, no cap": ("portable", 4, "ALL", "AMX_FP16"),
    "native, 2 threads, no cap": ("native", 2, "ALL", "AMX_FP16"),
    "native, 1 thread, AVX2": ("native", 1, "AVX2", "AVX2"),
}


def copy_project(repo: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in listed.split():
        if name.startswith("metrics/") or name == "dvc.lock" or not (ROOT / name).is_file():
            continue
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)


def outputs(repo: Path) -> dict[str, str]:
    stages = YAML(typ="safe", pure=True).load((repo / "dvc.lock").read_text())["stages"]
    return {
        out["path"]: out["md5"]
        for stage in stages.values()
        for out in stage.get("outs", [])
        if out["path"] not in MAY_DIFFER
    }


def repro(repo: Path, mode: str, threads: int, onednn_isa: str, xla_isa: str) -> tuple[dict, dict, float]:
    params = YAML()
    values = params.load(ROOT / "params.yaml")
    values["numerics"] = mode
    params.dump(values, repo / "params.yaml")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **dict.fromkeys(THREADS, str(threads)),
        "ONEDNN_MAX_CPU_ISA": onednn_isa,
        "XLA_FLAGS": f"--xla_cpu_max_isa={xla_isa}",
    }
    env.pop("FASHIONLAB_NUMERICS", None)
    started = time.perf_counter()
    result = subprocess.run(["dvc", "repro", "-f"], cwd=repo, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"dvc repro failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    machine = json.loads((repo / "metrics" / "machine.json").read_text())
    return outputs(repo), machine, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/portable_bytes.json")
    args = parser.parse_args()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="fashionlab-bytes-") as folder:
        repo = Path(folder)
        copy_project(repo)
        for name, setting in RUNS.items():
            outs, machine, seconds = repro(repo, *setting)
            accuracy = json.loads((repo / "metrics" / "eval.json").read_text())["accuracy"]
            runs[name] = {"outputs": outs, "accuracy": accuracy, "seconds": round(seconds, 1), "machine": machine}
            print(f"{name}: test accuracy {accuracy}, model {outs['models/model.keras'][:8]} ({seconds:.0f} s)")
    by_mode: dict[str, list[dict]] = {}
    for name, (mode, *_setting) in RUNS.items():
        by_mode.setdefault(mode, []).append(runs[name]["outputs"])
    same = {mode: all(outs == found[0] for outs in found) for mode, found in by_mode.items()}
    differing = {
        mode: sorted({path for outs in found for path in outs if outs[path] != found[0][path]})
        for mode, found in by_mode.items()
    }
    results = {"machine": describe_machine(), "runs": runs, "same_bytes": same, "differing": differing}
    write_json(args.out, results)
    for mode in by_mode:
        print(f"{mode}: {'the same bytes in every run' if same[mode] else 'differ in ' + ', '.join(differing[mode])}")
    print(f"measured on {cpu_summary(results['machine'])}; results written to {args.out}")


if __name__ == "__main__":
    main()
