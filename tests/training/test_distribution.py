"""fashionlab.training.distribution: the one training loop under tf.distribute: two replicas on a split CPU, and two
workers on loopback."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from fashionlab.common.errors import TrainingError
from fashionlab.training.distribution import make_strategy
from tests.conftest import ROOT

HELPER = ROOT / "tests" / "helpers" / "distributed_run.py"


def _run(mode, out, *extra, env=None):
    return subprocess.Popen(
        [sys.executable, str(HELPER), mode, str(out), *extra],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process, timeout=240):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]


def _weights(result):
    return [result[k] for k in sorted((k for k in result.files if k.startswith("w")), key=lambda k: int(k[1:]))]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("none") / "none.npz"
    _finish(_run("none", out, "--jit", "--steps-per-call", "4"))  # 8 steps: two calls of 4, in the graph
    return np.load(out)


def test_mirrored_two_replicas_match_one_device(single, tmp_path):
    _finish(_run("mirrored", tmp_path / "mirrored.npz", "--cpus", "2", "--jit", "--steps-per-call", "4"))
    mirrored = np.load(tmp_path / "mirrored.npz")
    assert int(single["replicas"]) == 1 and int(mirrored["replicas"]) == 2
    # one step per call under a strategy (docs/how-to/train-on-several-machines.md), several without: the same training
    assert int(single["steps_per_call"]) == 4 and int(mirrored["steps_per_call"]) == 1
    # the global batch (64) is split 32 + 32, yet every step's loss and the final weights agree
    np.testing.assert_allclose(mirrored["running_loss"], single["running_loss"], rtol=1e-5)
    np.testing.assert_allclose(mirrored["val"], single["val"], rtol=1e-5)
    for ours, theirs in zip(_weights(mirrored), _weights(single), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert any(not np.array_equal(w, 0) for w in _weights(single))


def test_batch_that_does_not_split_across_replicas_is_a_clear_error(tmp_path):
    process = _run("mirrored", tmp_path / "out.npz", "--cpus", "2", "--batch", "63")
    output, _ = process.communicate(timeout=240)
    assert process.returncode != 0
    assert "train.batch_size: expected a multiple of the 2 replicas, got 63" in output
    assert not (tmp_path / "out.npz").exists()


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_on_loopback_gives_both_workers_the_same_weights(single, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = [
        _run(
            "multi_worker",
            tmp_path / f"worker{index}.npz",
            env={"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})},
        )
        for index in range(2)
    ]
    for process in processes:
        _finish(process)
    first, second = (np.load(tmp_path / f"worker{index}.npz") for index in range(2))
    assert int(first["replicas"]) == 2
    assert bool(first["chief"]) and not bool(second["chief"])  # worker 0 writes the outputs
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_weights(first), _weights(single), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_multi_worker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(TrainingError, match=r"^train\.distribute: multi_worker expected the cluster in the TF_CONFIG"):
        make_strategy("multi_worker")
