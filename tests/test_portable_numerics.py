"""Portable numerics end to end: `dvc repro -f` of a small configuration with the default `numerics: portable`
writes every tracked output byte for byte the same under 1, 2 and 4 threads and under the instruction-set caps
that stand for other CPUs (an AVX2 machine, an AVX-512 one, no cap at all).

Only metrics/timing.json (wall clock) and metrics/machine.json (where it ran) may differ, and machine.json must
show that the runs really ran under those settings.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ENV, commit_all, project_copy, read_yaml, requires_debian_data, sh, tiny_params, write_params

pytestmark = [pytest.mark.slow, requires_debian_data]

UNSTABLE = ("metrics/timing.json", "metrics/machine.json")  # the clock, and the machine and settings themselves
# Threads; oneDNN's and XLA's instruction-set caps: as on an AVX2-only CPU, an AVX-512 one, and with nothing capped.
SETTINGS = {
    "1 thread, AVX2": (1, "AVX2", "AVX2"),
    "2 threads, AVX-512": (2, "AVX512_CORE", "AVX512"),
    "4 threads, no cap": (4, "ALL", "AMX_FP16"),
}


def tracked(repo) -> dict:
    """What dvc.lock records of every stage (each output's hash included) but the outputs that may differ."""
    stages = read_yaml((repo / "dvc.lock").read_text())["stages"]
    for stage in stages.values():
        stage["outs"] = [out for out in stage["outs"] if out["path"] not in UNSTABLE]
    return stages


def repro(repo, threads: int, onednn_isa: str, xla_isa: str) -> tuple[dict, dict]:
    env = {
        **ENV,
        **dict.fromkeys(("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"), str(threads)),
        "ONEDNN_MAX_CPU_ISA": onednn_isa,
        "XLA_FLAGS": f"--xla_cpu_max_isa={xla_isa}",
        "TF_ENABLE_ONEDNN_OPTS": "1",  # asked for, and turned off by portable numerics all the same
    }
    sh(repo, "dvc", "repro", "-f", env=env)
    return tracked(repo), json.loads((repo / "metrics" / "machine.json").read_text())


def test_every_output_is_the_same_bytes_under_any_thread_count_and_instruction_set(tmp_path):
    repo = project_copy(tmp_path)
    params = tiny_params()
    assert params["numerics"] == "portable" and params["train"]["jit_compile"]  # the defaults, as users get them
    write_params(repo / "params.yaml", params)
    commit_all(repo, "tiny project")
    runs = {name: repro(repo, *setting) for name, setting in SETTINGS.items()}
    first, _ = next(iter(runs.values()))
    for name, (lock, machine) in runs.items():
        threads, onednn_isa, xla_isa = SETTINGS[name]
        assert (machine["numerics"], machine["threads"], machine["onednn"]) == ("portable", threads, False), name
        assert machine["environment"]["ONEDNN_MAX_CPU_ISA"] == onednn_isa, name
        assert machine["environment"]["XLA_FLAGS"].startswith(f"--xla_cpu_max_isa={xla_isa} "), name
        assert lock == first, f"{name}: other bytes than {next(iter(SETTINGS))}"
    assert {out["path"] for stage in first.values() for out in stage["outs"]} >= {
        "models/model.keras",
        "metrics/eval.json",
        "metrics/confusion.csv",
        "metrics/parity_cases.json",
        "metrics/history.csv",
        "metrics/mistakes",
    }
