"""What is on disk when a write fails or a stage is stopped: one line, and every output as it was.

Two kinds of test. Fault injection (`fault_injection/sitecustomize.py`) fails each write a stage makes
in turn, wherever it is in the code, so a write added later is tried too; and real faults where the
machine allows them: a file system that fills up, a read-only one, an immutable file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import (
    DEBIAN_DIR,
    ENV,
    ROOT,
    STAGE_ENV,
    quickest_params,
    read_yaml,
    requires_debian_data,
    run_project,
    run_stage,
    sh,
    write_params,
)

pytestmark = [pytest.mark.slow, requires_debian_data]

FAULTS = ROOT / "tests" / "fault_injection"
ERRNOS = ("ENOSPC", "EACCES", "EPERM", "EROFS")  # taken in turn, one per write site
WRITE_FAILED = 74


def _stages() -> dict[str, tuple[list[str], set[str]]]:
    """Each stage's options and outputs, as dvc.yaml runs them (the parameters file comes first)."""
    declared = read_yaml((ROOT / "dvc.yaml").read_text())["stages"]
    stages = {}
    for name, spec in declared.items():
        options = shlex.split(spec["cmd"])[2:]
        outputs = {
            next(iter(out)) if isinstance(out, dict) else out
            for key in ("outs", "metrics", "plots")
            for out in spec.get(key, [])
        }
        stages[name] = (options, outputs | {f"{o}/state.npz" for o in outputs if o.endswith("checkpoint")})
    return stages


STAGES = _stages()
# A temporary name of ours: `.NAME.RANDOM.tmp`, or `.NAME.RANDOM.tmp.old` for the version set aside.
TEMPORARY = re.compile(r"\.([^/]+)\.[^/.]+\.tmp(\.old)?")


def stage(name: str, workspace: Path, fault: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(FAULTS), **(fault or {})}
    return run_stage(name, *STAGES[name][0], cwd=workspace, env=env, **kwargs)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Every stage run once on a tiny configuration: the 'previous outputs' each fault must leave alone."""
    folder = tmp_path_factory.mktemp("workspace")
    write_params(folder / "params.yaml", quickest_params(data={"source": str(DEBIAN_DIR)}))
    for name in STAGES:
        result = stage(name, folder)
        assert result.returncode == 0, result.stderr
    return folder


def copy_of(workspace: Path, into: Path) -> Path:
    shutil.copytree(workspace, into, symlinks=True)
    return into


def write_sites(name: str, workspace: Path, log: Path) -> list[tuple[int, str, str]]:
    """(number, event, what) of the first write of each kind to each output, from a counting run.

    `what` is the output a temporary name stands for; the files inside a folder output count as one.
    """
    result = stage(name, workspace, {"FAULT_AT": "0", "FAULT_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    sites, seen = [], set()
    for number, line in enumerate(log.read_text().splitlines(), start=1):
        event, path = line.split(" ", 1)
        parts = path.split("/")
        for i, part in enumerate(parts):
            if match := TEMPORARY.fullmatch(part):
                inside = ["*"] if i < len(parts) - 1 else ["(previous version)"] if match[2] else []
                parts = [*parts[:i], match[1], *inside]
                break
        what = "/".join(parts)
        if (event, what) not in seen:
            seen.add((event, what))
            sites.append((number, event, what))
    return sites


def contents(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under `folder`: a leftover empty folder shows too."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def checkpoint_history(workspace: Path) -> list[dict]:
    with np.load(workspace / "models" / "checkpoint" / "state.npz") as state:
        return json.loads(state["meta"].tobytes())["history"]


@pytest.mark.parametrize("name", list(STAGES))
def test_every_write_that_fails_is_one_line_and_changes_no_output(name, workspace, tmp_path):
    """Each write of the stage fails in turn (ENOSPC, EACCES, EPERM, EROFS taken in turn): exit status 74, one
    line naming the output and the reason, every file byte-identical, no temporary file left."""
    before = contents(workspace)
    sites = write_sites(name, copy_of(workspace, tmp_path / "count"), tmp_path / "writes.log")
    outputs = STAGES[name][1]
    assert {what for _, event, what in sites if event == "os.rename"} >= {
        output for output in outputs if not any(other.startswith(output + "/") for other in outputs)
    }

    def inject(site):
        i, (number, event, what) = site
        code = ERRNOS[i % len(ERRNOS)]
        copy = copy_of(workspace, tmp_path / f"site{number}")
        result = stage(name, copy, {"FAULT_AT": str(number), "FAULT_DO": code})
        return copy, code, f"write {number} ({event} {what}, {code})", result

    with ThreadPoolExecutor(max_workers=2) as pool:
        for copy, code, site, result in pool.map(inject, enumerate(sites)):
            assert result.returncode == WRITE_FAILED, f"{site}: {result.stderr}"
            line = re.fullmatch(
                rf"{name}\.py: error: (.+): cannot write: (.+); no output was replaced\n", result.stderr
            )
            assert line, f"{site}: {result.stderr}"
            assert line[1] in STAGES[name][1] and line[2] == os.strerror(getattr(errno, code)), site
            after = contents(copy)
            if name == "train":  # the checkpoint of the finished epoch may stay, agreeing with the metrics
                history = pd.read_csv(copy / "metrics" / "history.csv").to_dict("records")
                assert len(history) == len(checkpoint_history(copy)) == 1, site
                after["models/checkpoint/state.npz"] = before["models/checkpoint/state.npz"]
            assert after == before, site
            shutil.rmtree(copy)


def mount_reason() -> str | None:
    """Why a private mount namespace with a tmpfs cannot be had here, or None when it can."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount -t tmpfs -o size=4k none "$0"', "/mnt"],
        capture_output=True,
        text=True,
    )
    return None if probe.returncode == 0 else f"cannot mount a tmpfs in a private namespace: {probe.stderr.strip()}"


requires_mount = pytest.mark.skipif(mount_reason() is not None, reason=str(mount_reason()))


def in_namespace(name: str, workspace: Path, setup: str, after: Path) -> subprocess.CompletedProcess:
    """Run the stage in a private mount namespace after `setup` (shell, in the workspace), then copy the
    workspace to `after` while the mounts still exist, since they end with the namespace."""
    command = " ".join(shlex.quote(part) for part in stage_command(name))
    script = f'set -e\ncd "$1"\n{setup}\ncd "$1"\nstatus=0\n{command} || status=$?\ncp -a . "$2"\nexit $status\n'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(workspace), str(after)],
        capture_output=True,
        text=True,
        env={**STAGE_ENV, "PYTHONPATH": str(FAULTS)},
    )


def stage_command(name: str) -> list[str]:
    return [sys.executable, str(ROOT / "stages" / f"{name}.py"), *STAGES[name][0]]


@requires_mount
@pytest.mark.parametrize("name", list(STAGES))
def test_a_file_system_that_fills_up(name, workspace, tmp_path):
    """A real tmpfs over the workspace with one page (4 KiB) to spare: the stage's first output does not fit."""
    copy = copy_of(workspace, tmp_path / "work")
    fill = (
        'cp -a . ../held\ncd /\nmount -t tmpfs -o size=1g tmpfs "$1"\ncp -a "$1/../held/." "$1"\n'
        'used=$(df --block-size=4096 --output=used "$1" | tail -n 1)\n'
        'mount -o remount,size=$(( (used + 1) * 4 ))k "$1"'
    )
    result = in_namespace(name, copy, fill, tmp_path / "after")
    line = re.fullmatch(
        rf"{name}\.py: error: (.+): cannot write: No space left on device; no output was replaced\n", result.stderr
    )
    assert result.returncode == WRITE_FAILED and line, result.stderr
    assert line[1] in STAGES[name][1]
    assert contents(tmp_path / "after") == contents(workspace)


@requires_mount
def test_a_read_only_file_system(workspace, tmp_path):
    copy = copy_of(workspace, tmp_path / "work")
    read_only = "mount --bind metrics metrics\nmount -o remount,bind,ro metrics"
    result = in_namespace("evaluate", copy, read_only, tmp_path / "after")
    assert result.returncode == WRITE_FAILED
    assert result.stderr == (
        "evaluate.py: error: metrics/confusion.csv: cannot write: Read-only file system; no output was replaced\n"
    )
    assert contents(tmp_path / "after") == contents(workspace)


def test_an_immutable_output_undoes_the_outputs_already_replaced(workspace, tmp_path):
    """`chattr +i` on the last output evaluate replaces: the three before it are put back."""
    copy = copy_of(workspace, tmp_path / "work")
    immutable = copy / "metrics" / "eval.json"
    if subprocess.run(["chattr", "+i", str(immutable)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here (needs root and a file system with the immutable flag)")
    try:
        result = stage("evaluate", copy)
        after = contents(copy)
    finally:
        subprocess.run(["chattr", "-i", str(immutable)], check=True)
    assert result.returncode == WRITE_FAILED
    assert result.stderr == (
        "evaluate.py: error: metrics/eval.json: cannot write: Operation not permitted; no output was replaced\n"
    )
    assert after == contents(workspace)


@pytest.mark.parametrize("name", ["prepare", "parity", "evaluate"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    ("event", "when"),
    [("open", "no output is half-written"), ("os.rename", "its outputs were written, but DVC did not record them")],
    ids=["while-writing", "while-renaming"],
)
def test_a_signal_at_a_write_is_one_line(name, sig, event, when, workspace, tmp_path):
    """Ctrl-C or SIGTERM while the outputs are written (nothing replaced yet), or between the renames that
    put them in place (held back until all are in: no mix); `train` answers at its next step (test_pipeline)."""
    copy = copy_of(workspace, tmp_path / "work")
    result = stage(name, copy, {"FAULT_AT": "1", "FAULT_DO": sig, "FAULT_EVENT": event})
    assert result.returncode == {"SIGINT": 130, "SIGTERM": 143}[sig]
    assert result.stderr == f"{name}.py: error: interrupted by {sig}: {when}; run `dvc repro` again\n"
    assert contents(copy) == contents(workspace)  # the same parameters: all old and all new are the same bytes


def importing_tensorflow(pid: int) -> None:
    """Return once process `pid` has loaded TensorFlow's core library (Linux: its /proc maps), so that it is
    inside `import tensorflow`; elsewhere, after a second.

    A fixed second was a race: with the suite's other worker busy, the interpreter sometimes had not reached the
    stage's code yet, and Python's own SIGINT handling printed a traceback (exit status 1).
    """
    maps = Path(f"/proc/{pid}/maps")
    if not maps.exists():
        time.sleep(1.0)
        return
    deadline = time.monotonic() + 60
    while "libtensorflow_framework" not in maps.read_text():
        assert time.monotonic() < deadline, f"process {pid} never loaded TensorFlow"
        time.sleep(0.01)


@pytest.mark.parametrize("name", ["parity", "train", "evaluate"])  # prepare does not import TensorFlow
def test_a_signal_while_tensorflow_imports_is_one_line(name, workspace):
    process = subprocess.Popen(
        stage_command(name), cwd=workspace, env=STAGE_ENV, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    importing_tensorflow(process.pid)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr == f"{name}.py: error: interrupted by SIGINT: no output is half-written; run `dvc repro` again\n"


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory) -> Path:
    return run_project(tmp_path_factory.mktemp("project"))


def results(repo: Path) -> dict[str, bytes | None]:
    """What the stages wrote, but the wall-clock timing."""
    found = {
        f"{top}/{name}": data for top in ("data", "metrics", "models") for name, data in contents(repo / top).items()
    }
    del found["metrics/timing.json"]
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "change", "rename"),
    [
        ("prepare", ("data", "val_size", 400), 2),  # killed before val.npz replaces its old version
        ("parity", ("parity", "tolerance", 2e-5), 2),  # before parity.json
        ("evaluate", ("train", "epochs", 2), 4),  # with metrics/mistakes set aside, its new version not in yet
    ],
)
def test_killed_between_two_renames_dvc_reruns_to_the_same_bytes(name, change, rename, dvc_project):
    """SIGKILL leaves some outputs new and some old: DVC must not take that for up to date, and the next
    `dvc repro` must end where an uninterrupted run does, with no leftover temporary file."""
    section, key, value = change
    params = read_yaml((dvc_project / "params.yaml").read_text())
    params[section][key] = value
    write_params(dvc_project / "params.yaml", params)
    fault = {"FAULT_SCRIPT": f"{name}.py", "FAULT_EVENT": "os.rename", "FAULT_AT": str(rename), "FAULT_DO": "SIGKILL"}
    killed = sh(dvc_project, "dvc", "repro", check=False, env={**ENV, "PYTHONPATH": str(FAULTS), **fault})
    # DVC runs the command in $SHELL or /bin/sh: bash execs it (DVC sees -9); dash, with SHELL unset as on CI,
    # reports 128 + 9
    assert f"failed to reproduce '{name}'" in killed.stderr, killed.stderr
    assert re.search(r"exited with (-9|137)$", killed.stderr, re.M), killed.stderr
    assert name in json.loads(sh(dvc_project, "dvc", "status", "--json").stdout)

    sh(dvc_project, "dvc", "repro")
    recovered = results(dvc_project)
    assert not [path for path in recovered if TEMPORARY.search(path)]
    sh(dvc_project, "dvc", "repro", "--force", "--single-item", name)  # uninterrupted
    assert results(dvc_project) == recovered
    assert sh(dvc_project, "dvc", "status", "--json").stdout.strip() == "{}"
