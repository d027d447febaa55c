"""Which kernels TensorFlow runs: `portable` (the same bytes on every x86-64 CPU and any thread count) or
`native` (each CPU's fastest), as `params.yaml`'s `numerics` says.

Three libraries inside TensorFlow pick kernels by CPU at run time, so the same seed trains other bytes on an
AVX2 machine than on an AVX-512 one (docs/explanation/reproducibility.md says what each setting does):
XLA hands reductions and dots to YNNPACK/XNNPACK and emits code for the CPU's widest instruction set; Eigen's
contractions call oneDNN's sgemm; eager operations run oneDNN's kernels. Each reads its switch once, when
TensorFlow loads, so the mode is chosen before the import: a stage names it in `FASHIONLAB_NUMERICS` from its
params file (`stages/_environment.py`), a group of seeds and a cluster's node are started with it, and
`common/backend.py`, the one module that imports TensorFlow, applies it. This module imports no TensorFlow.
"""

from __future__ import annotations

import json
import os
from typing import get_args

from fashionlab.common.errors import ParamsError
from fashionlab.common.params import Numerics as Mode
from fashionlab.common.params import parse_yaml

MODES: tuple[Mode, ...] = get_args(Mode)
DEFAULT: Mode = "portable"  # reproducibility is what the pipeline is for; native is one parameter away
VARIABLE = "FASHIONLAB_NUMERICS"  # the mode this process (and what it starts) runs TensorFlow with

# XLA's flags for consistent arithmetic: no CPU-dependent math (YNNPACK's consistent mode, rsqrt as 1/sqrt), no
# XNNPACK, and XLA's own code for AVX2 at most, which every x86-64 CPU of the last decade runs.
XLA_FLAGS = (
    "--xla_cpu_enable_platform_dependent_math=false",
    "--xla_cpu_use_xnnpack=false",
)
XLA_ISA = "--xla_cpu_max_isa="
PORTABLE = {
    "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "0",  # Eigen's own contraction, not oneDNN's sgemm
    "TF_ENABLE_ONEDNN_OPTS": "0",  # eager kernels from Eigen, not oneDNN
}
ISA = "AVX2"  # both caps; an explicit cap in the environment is kept (and recorded), to try another
ONEDNN_ISA = "ONEDNN_MAX_CPU_ISA"
RECORDED = ("XLA_FLAGS", *PORTABLE, ONEDNN_ISA)  # what metrics/machine.json keeps of the environment


def requested() -> Mode:
    """The mode this process was asked for: `FASHIONLAB_NUMERICS`, portable where unset or not a mode (a stage
    whose params file names no valid mode then stops at its one-line error before TensorFlow runs anything)."""
    mode = os.environ.get(VARIABLE, DEFAULT)
    return mode if mode in MODES else DEFAULT


def settings(mode: Mode, environ: dict[str, str]) -> dict[str, str]:
    """The variables `mode` sets on top of `environ`: none for native; for portable, the switches, XLA's flags
    after the user's own (XLA takes the last of a repeated flag), and an AVX2 cap where none is set."""
    if mode == "native":
        return {}
    flags = environ.get("XLA_FLAGS", "").split()
    added = [flag for flag in XLA_FLAGS if flag not in flags]
    if not any(flag.startswith(XLA_ISA) for flag in flags):
        added.append(XLA_ISA + ISA)
    return {
        "XLA_FLAGS": " ".join(flags + added),
        **PORTABLE,
        ONEDNN_ISA: environ.get(ONEDNN_ISA) or environ.get("DNNL_MAX_CPU_ISA") or ISA,
    }


BEFORE = "FASHIONLAB_NUMERICS_BEFORE"  # JSON: each variable portable numerics changed, [as it was, as set]


def restored(environ: dict[str, str]) -> dict[str, str]:
    """`environ` as it was before portable numerics changed it, here or in the process that started this one.
    A variable set again since (a Ray cluster's runtime environment gives its nodes the driver's
    `TF_ENABLE_ONEDNN_OPTS`) keeps that newer value: only what is still as portable numerics set it is undone."""
    environ = dict(environ)
    for name, (was, set_to) in json.loads(environ.pop(BEFORE, "{}")).items():
        if environ.get(name) != set_to:
            continue
        if was is None:
            environ.pop(name, None)
        else:
            environ[name] = was
    return environ


def apply() -> Mode:
    """Set the requested mode's variables in this process's environment: called once, before TensorFlow loads.
    Native numerics get the environment as the user had it, even where a portable process started this one."""
    mode = requested()
    environ = restored(dict(os.environ))
    changes = settings(mode, environ)
    if changes:
        environ[BEFORE] = json.dumps({name: [environ.get(name), value] for name, value in changes.items()})
    environ |= {**changes, VARIABLE: mode}
    for name in os.environ.keys() - environ.keys():
        del os.environ[name]
    os.environ.update(environ)
    return mode


def environment(mode: Mode) -> dict[str, str]:
    """The environment for another process to run TensorFlow with `mode`: this one's, as it was before portable
    numerics changed it (the other process applies `mode` itself)."""
    return {**restored(dict(os.environ)), VARIABLE: mode}


def record() -> dict:
    """The mode and the variables that decide the kernels, as `metrics/machine.json` keeps them."""
    return {"numerics": requested(), "environment": {name: os.environ.get(name) for name in RECORDED}}


def declared(params_file: str | os.PathLike) -> Mode | None:
    """The mode a params file names, read as DVC reads it; None where the file or the key cannot be read, so
    the stage's own reading of the file reports the problem in one line."""
    try:
        with open(params_file, encoding="utf-8") as file:
            values = parse_yaml(file.read(), params_file)
    except (OSError, UnicodeDecodeError, ParamsError):
        return None
    mode = values.get("numerics") if isinstance(values, dict) else None
    return mode if mode in MODES else None


def request(params_file: str | os.PathLike) -> None:
    """Ask for the mode `params_file` names (TensorFlow not loaded yet): a stage, before its imports."""
    mode = declared(params_file)
    if mode is not None:
        os.environ[VARIABLE] = mode
