"""Shared helpers: generated IDX archives, tiny parameter files, and running stages as a user would."""

from __future__ import annotations

import atexit
import contextlib
import copy
import fcntl
import functools
import gzip
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

from fashionlab.common import interrupts
from fashionlab.common.outputs import write_files
from fashionlab.common.params import parse_yaml
from fashionlab.data.splits import split_bytes, split_path

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# Stages of native numerics run with oneDNN on unless the environment says otherwise: AVX-512 machines run
# TensorFlow so by default, and it is the start-up that prints the most, so every such stage test checks "one
# line on stderr" on any x86 CPU. (TF_ENABLE_ONEDNN_OPTS=0 in the environment runs them with oneDNN off; portable
# numerics, the default, turn it off whatever the environment says.)
STAGE_ENV = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1")}


def idx_bytes(array: np.ndarray, magic: int | None = None, count: int | None = None) -> bytes:
    """An IDX file for uint8 `array`; `magic` and `count` override the header to make broken files."""
    kind_magic = 2051 if array.ndim == 3 else 2049
    dims = [count if count is not None else array.shape[0], *array.shape[1:]]
    header = np.array([magic if magic is not None else kind_magic, *dims], dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def write_idx_gz(path: Path, array: np.ndarray, **overrides) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(idx_bytes(array, **overrides), mtime=0))
    return path


def synthetic_dataset(n_train: int = 200, n_test: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(n_test) % 10).astype(np.uint8),
    }


def read_yaml(text: str) -> object:
    """YAML read as DVC and the stages read it (YAML 1.2: `1e-4` is a number)."""
    return parse_yaml(text, "test")


def yaml_text(data: object) -> str:
    """`data` as YAML that DVC and the stages read back the same (keys in their order, block style)."""
    writer = YAML(typ="safe", pure=True)
    writer.default_flow_style, writer.sort_base_mapping_type_on_output = False, False
    stream = io.StringIO()
    writer.dump(data, stream)
    return stream.getvalue()


def default_params() -> dict:
    return read_yaml((ROOT / "params.yaml").read_text())


def tiny_params(**sections) -> dict:
    """The default parameters shrunk to seconds of training; keyword sections are merged in."""
    params = default_params()
    params["data"].update(val_size=500, train_subset=2000)
    params["model"]["hidden_units"] = [32, 16]
    params["train"].update(epochs=2, batch_size=128)
    for name, values in sections.items():
        if isinstance(values, dict):
            params[name].update(values)
        else:
            params[name] = values
    return copy.deepcopy(params)


def save_split(folder: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    write_files({split_path(folder, split): split_bytes(images, labels)})


def quickest_params(**sections) -> dict:
    """`tiny_params` at its quickest: one epoch, no XLA compilation (so native numerics), one step per call."""
    params = tiny_params(**sections)
    params["train"].update(epochs=1, jit_compile=False, steps_per_call=1)
    params["numerics"] = sections.get("numerics", "native")
    return params


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml_text(params))
    return path


def run_stage(stage: str, *args: str, cwd: Path = ROOT, env: dict | None = None, **kwargs):
    """Run `stages/<stage>.py` in a fresh interpreter, as DVC does; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / f"{stage}.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**STAGE_ENV, **(env or {})},
        **kwargs,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, to prove that a failed run changed nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


requires_debian_data = pytest.mark.skipif(
    not DEBIAN_DIR.is_dir(), reason=f"{DEBIAN_DIR} missing: `make test` installs Debian's dataset-fashion-mnist"
)


# Commands run in a temporary project (`dvc`, `git`): the project's environment first on PATH, a git identity.
BIN = Path(sys.executable).parent
ENV = {
    **STAGE_ENV,
    "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "DVC_NO_ANALYTICS": "1",
}


def sh(repo, *args, check=True, env=None, **kwargs):
    """Run a command in `repo` with the project's environment first on PATH; fail the test if it fails."""
    result = subprocess.run(args, cwd=repo, env=env or ENV, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def project_copy(repo: Path) -> Path:
    """The project's files as git lists them, without the committed results (metrics, dvc.lock), in `repo`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    for name in listed:
        if name.startswith("metrics/") or name == "dvc.lock" or not (ROOT / name).exists():
            continue
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    return repo


def run_project(repo: Path) -> Path:
    """A DVC project of `quickest_params` in `repo`: committed, run once (seed 42), its results committed.

    The first is made for real, the others copied from it (git, DVC's cache and all, but DVC's temporary
    folder): a run costs three TensorFlow start-ups, and many tests need such a project.
    """
    dvc_temporary = lambda folder, _names: ["tmp"] if Path(folder).name == ".dvc" else []  # noqa: E731
    shutil.copytree(_run_project_once(), repo, ignore=dvc_temporary, dirs_exist_ok=True)
    return repo


@functools.cache
def _run_project_once() -> Path:
    repo = Path(tempfile.mkdtemp(prefix="fashionlab-project-"))
    atexit.register(shutil.rmtree, repo, ignore_errors=True)
    project_copy(repo)
    write_params(repo / "params.yaml", quickest_params())
    commit_all(repo, "tiny project")
    sh(repo, "dvc", "repro")
    commit_all(repo, "first run")
    return repo


def commit_all(repo: Path, message: str) -> None:
    """`git init` first if `repo` is not a repository yet."""
    if not (repo / ".git").exists():
        sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", message)


@pytest.fixture
def stage_handlers():
    """A stage's SIGINT and SIGTERM handlers (`interrupts.install`) in this process for one test, then the
    previous ones back."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.excepthook
    interrupts.install()
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    sys.excepthook = hook


_RAY_HELD = []  # this process's hold on the lock below, while it has one


@contextlib.contextmanager
def ray_on_this_machine():
    """One test process with Ray clusters at a time on this machine, whichever test file starts them: `ray stop`,
    which the cluster how-to runs as users do, stops every Ray process here, and `ray start` takes Ray's fixed
    ports. A process that holds it already (a module's cluster, and a test of its own) goes on."""
    if _RAY_HELD:
        yield
        return
    with open(Path(tempfile.gettempdir()) / "fashionlab-tests-ray.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _RAY_HELD.append(lock)
        try:
            yield
        finally:
            _RAY_HELD.pop()
