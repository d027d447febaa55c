"""Which machine measured a figure: CPU model, core count, and the instruction sets that decide speed.

Timings from different CPUs are not comparable (AVX-512 and AMX change which kernels TensorFlow runs, and
oneDNN is on by default only on some), so every benchmark result records this beside its numbers.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# /proc/cpuinfo flag names; AMX counts when any of its tile extensions is present.
SPEED_FLAGS = {
    "avx2": ("avx2",),
    "avx512f": ("avx512f",),
    "avx512_bf16": ("avx512_bf16",),
    "avx512_vnni": ("avx512_vnni",),
    "amx": ("amx_tile", "amx_bf16", "amx_int8"),
}


def parse_cpuinfo(text: str) -> tuple[str | None, set[str] | None]:
    """The first processor's model name and flags from the text of /proc/cpuinfo (Linux x86)."""
    model = flags = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and flags is None:
            flags = set(value.split())
    return model, flags


def describe_machine(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """CPU model, logical cores, speed flags (None where the flags could not be read), oneDNN setting."""
    model, flags = parse_cpuinfo(cpuinfo.read_text()) if cpuinfo.is_file() else (None, None)
    return {
        "cpu_model": model or platform.processor() or platform.machine(),
        "cpu_cores": os.cpu_count(),
        "cpu_flags": None if flags is None else {name: bool(flags & set(alts)) for name, alts in SPEED_FLAGS.items()},
        "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }


def cpu_summary(machine: dict) -> str:
    """ "AMD EPYC, 2 cores, AVX-512 (BF16, VNNI), no AMX": what every published figure names."""
    flags = machine["cpu_flags"]
    if flags is None:
        return f"{machine['cpu_model']}, {machine['cpu_cores']} cores, instruction sets not read"
    if flags["avx512f"]:
        extras = [name for name, flag in (("BF16", "avx512_bf16"), ("VNNI", "avx512_vnni")) if flags[flag]]
        vector = "AVX-512" + (f" ({', '.join(extras)})" if extras else "")
    else:
        vector = "AVX2, no AVX-512" if flags["avx2"] else "no AVX2"
    return f"{machine['cpu_model']}, {machine['cpu_cores']} cores, {vector}, {'AMX' if flags['amx'] else 'no AMX'}"


def run_record(machine: dict, onednn: bool | None, tensorflow: str, numerics: dict) -> dict:
    """What a run records of where it ran (`metrics/machine.json`, outside the metrics). `numerics` is
    `common.numerics.record()`: with native numerics, runs of the same seed on two such machines differ in the
    last bits, and `fashionlab compare` says when a group mixes them; portable runs do not.
    `node` is the host that trained it (a cluster's seeds come from many), `threads` the threads TensorFlow's
    operations ran on (`TF_NUM_INTRAOP_THREADS`, as a cluster's node sets it, else the CPUs it may use)."""
    onednn_text = {True: "oneDNN on", False: "oneDNN off", None: "oneDNN unknown"}[onednn]
    return {
        **machine,
        "node": platform.node(),
        "threads": threads(),
        "onednn": onednn,
        "tensorflow": tensorflow,
        **numerics,
        "summary": f"{cpu_summary(machine)}, {onednn_text}, {numerics['numerics']} numerics, TensorFlow {tensorflow}",
    }


def bytes_from(record: dict) -> str | None:
    """What decides a run's bytes besides its parameters, from its `metrics/machine.json`: for portable numerics
    only TensorFlow's version, for native the machine too (`summary`); None for a record without a summary."""
    summary = record.get("summary")
    if not isinstance(summary, str):
        return None
    if record.get("numerics") == "portable":
        return f"portable numerics, TensorFlow {record.get('tensorflow')}"
    return summary


def threads() -> int | None:
    """TensorFlow's operation threads: `TF_NUM_INTRAOP_THREADS` where set, else its default, the CPUs this process
    may run on."""
    setting = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
