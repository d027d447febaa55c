"""What portable numerics cost, switch by switch, and whether a faster path keeps the bytes the same.

Our loop on the default parameters (`train_speed.Ours`) runs in a process per setting, an epoch each in turn, as
`train_speed.py` runs its variants: native numerics; portable; portable with one of its switches left out; and
portable with a candidate for a faster consistent path. The median epoch after the first is reported against
native's. Then each setting trains one epoch from the same seed twice, as two other machines would: 1 thread
with the instruction sets capped at AVX2 (an AVX2-only CPU), and 2 threads with the setting's own caps (this
CPU); `same bytes` says whether the weights came out equal. Usage: `make bench` (or
`python benchmarks/numerics_cost.py --rounds 6`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("FASHIONLAB_NUMERICS", "native")  # the probes and workers are started with their own

from train_speed import Ours, Worker, take_turns

from fashionlab.common import numerics
from fashionlab.common.backend import tf
from fashionlab.common.machine import cpu_summary, describe_machine
from fashionlab.common.outputs import write_json
from fashionlab.common.params import load_params
from fashionlab.data.splits import load_split
from fashionlab.training.loop import seed_everything

PORTABLE = numerics.settings("portable", {})
XLA_CAP = numerics.XLA_ISA + numerics.ISA


def changed(**changes: str | None) -> dict[str, str | None]:
    """The portable settings with `changes` (None: the variable unset, as natively)."""
    return {**PORTABLE, **changes}


# name: the environment on top of a native one (None: unset). The switches, one left out at a time, then candidates.
SETTINGS = {
    "native": {},
    "portable": PORTABLE,
    "portable, but XLA's platform-dependent math and XNNPACK": changed(XLA_FLAGS=XLA_CAP),
    "portable, but XLA not capped at AVX2": changed(XLA_FLAGS=" ".join(numerics.XLA_FLAGS)),
    "portable, but oneDNN's sgemm in Eigen's contractions": changed(TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL=None),
    "portable, but oneDNN's eager kernels": changed(TF_ENABLE_ONEDNN_OPTS="1"),
    "portable, but oneDNN not capped at AVX2": changed(ONEDNN_MAX_CPU_ISA=None),
    "portable, every dot in YNNPACK": changed(
        XLA_FLAGS=f"{PORTABLE['XLA_FLAGS']} --xla_cpu_experimental_ynn_fusion_type=dot,individual_dot"
    ),
    "portable, Eigen's dots on one thread": changed(
        XLA_FLAGS=f"{PORTABLE['XLA_FLAGS']} --xla_cpu_multi_thread_eigen=false"
    ),
}
THREADS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def environment(setting: dict[str, str | None], threads: int | None = None, capped: bool = False) -> dict[str, str]:
    """A native environment with `setting`, then `threads` and (`capped`) both instruction sets capped at AVX2."""
    environ = numerics.environment("native")
    for name, value in setting.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    if threads:
        environ |= dict.fromkeys(THREADS, str(threads))
    if capped:
        environ["XLA_FLAGS"] = f"{environ.get('XLA_FLAGS', '')} {XLA_CAP}".strip()
        environ["ONEDNN_MAX_CPU_ISA"] = numerics.ISA
    return environ


def probe(args) -> None:
    """One epoch of our loop from the seed; print the weights' hash."""
    params = load_params(args.params)
    seed_everything(params.seed)
    run = Ours(params, load_split(Path(args.data) / "train.npz"), load_split(Path(args.data) / "val.npz"))
    run.run_epoch()
    digest = hashlib.sha256(b"".join(w.numpy().tobytes() for w in run.trainer.model.weights)).hexdigest()
    print(digest[:16], flush=True)


def probed(args, setting: dict[str, str | None], threads: int, capped: bool) -> str:
    command = [sys.executable, __file__, "--probe", "--params", args.params, "--data", args.data]
    env = environment(setting, threads, capped)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the probe failed (exit status {result.returncode}):\n{result.stderr}")
    return result.stdout.split()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/prepared")
    parser.add_argument("--rounds", type=int, default=5, help="epochs per setting, the first excluded")
    parser.add_argument("--out", default="benchmarks/numerics_cost.json")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args)
        return

    workers = [Worker("ours", args, environment(setting), name=name) for name, setting in SETTINGS.items()]
    seconds = take_turns(workers, args.rounds)
    median = {name: statistics.median(times[1:]) for name, times in seconds.items()}
    same = {}
    for name, setting in SETTINGS.items():
        hashes = probed(args, setting, 1, capped=True), probed(args, setting, 2, capped=False)
        same[name] = hashes[0] == hashes[1]
        print(f"{name}: {hashes[0]} with 1 thread capped at AVX2, {hashes[1]} with 2 threads", flush=True)
    results = {
        "machine": {**describe_machine(), "tensorflow": tf.__version__},
        "settings": SETTINGS,
        "seconds_per_epoch": {name: [round(t, 3) for t in times] for name, times in seconds.items()},
        "median_steady_seconds": {name: round(m, 3) for name, m in median.items()},
        "over_native": {name: round(m / median["native"], 3) for name, m in median.items()},
        "same_bytes": same,
    }
    write_json(args.out, results)
    print(f"\n{'setting':>58} | s/epoch | over native | same bytes on 1 and 2 threads, AVX2 and this CPU")
    for name in SETTINGS:
        print(f"{name:>58} | {median[name]:7.3f} | {results['over_native'][name]:10.2f}x | {same[name]}")
    print(f"measured on {cpu_summary(results['machine'])}; results written to {args.out}")


if __name__ == "__main__":
    main()
