"""fashionlab.experiments.seeding.cluster_access, on a cluster started as Ray documents it: `ray start --head` on
127.0.0.1 (its own temporary folder, ports and HOME) where a token exists, so Ray turns its token authentication on,
and a second node joined by `ray start --address`, with the token, as Ray asks of joining nodes. `fashionlab seeds
--cluster` reaches it with the token it finds; without it, with another, or with `RAY_AUTH_MODE=disabled`, the
command says why in one line, within seconds, and never prints the token. Both nodes stop whatever happens."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import BIN, ENV, ray_on_this_machine, requires_debian_data, run_project
from tests.experiments.commands.test_seeds import FINISHED, fashionlab
from tests.experiments.seeding.test_cluster import RAY_ENV, reruns_alone_to_the_same_bytes

pytestmark = [pytest.mark.slow, requires_debian_data]
STARTED = "Ray runtime started"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_start(args: list[str], env: dict) -> subprocess.Popen:
    """`ray start ARGS --block` in a session of its own, once it says the node runs; its ports its own."""
    ports = ["--dashboard-agent-listen-port", str(free_port()), "--disable-usage-stats", "--block"]
    node = subprocess.Popen(
        [str(BIN / "ray"), "start", *args, *ports],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    said = []
    for line in node.stdout:
        said.append(line)
        if STARTED in line:
            return node
    stop(node)
    raise AssertionError("ray start did not start:\n" + "".join(said[-20:]))


def stop(node: subprocess.Popen) -> None:
    """The node and every process it started: its session, as `ray stop` would but for this node alone."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
        try:
            os.killpg(node.pid, sig)
            node.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def head_of(home: Path, mode: str | None, cpus: int) -> tuple[list[subprocess.Popen], dict, Path]:
    env = {**ENV, **RAY_ENV, "HOME": str(home)}
    env.pop("RAY_AUTH_MODE", None)
    env.pop("RAY_ADDRESS", None)
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's sockets live under it
    port = free_port()
    args = ["--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", str(cpus)]
    args += ["--temp-dir", str(temp), "--include-dashboard=false", "--ray-client-server-port", str(free_port())]
    node = ray_start(args, {**env, **({"RAY_AUTH_MODE": mode} if mode else {})})
    return [node], {**env, "address": f"127.0.0.1:{port}"}, temp


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return run_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head that trains nothing, with token authentication on as Ray's default turns it on where a token exists
    (`ray get-auth-token --generate`, Ray's way to make one), and a node of this machine's CPUs joined with it."""
    home = tmp_path_factory.mktemp("home")
    env = {**ENV, **RAY_ENV, "HOME": str(home)}
    subprocess.run([str(BIN / "ray"), "get-auth-token", "--generate"], env=env, capture_output=True, check=True)
    token = (home / ".ray" / "auth_token").read_text().strip()
    with ray_on_this_machine():
        nodes, env, temp = head_of(home, None, cpus=0)
        address = env.pop("address")
        try:
            cpus = ["--num-cpus", str(os.cpu_count())]  # this machine's: a rerun here takes as many threads
            nodes.append(ray_start(["--address", address, *cpus], {**env, "RAY_AUTH_MODE": "token"}))
            yield SimpleNamespace(address=address, env=env, token=token, home=home)
        finally:
            for node in reversed(nodes):
                stop(node)
            shutil.rmtree(temp, ignore_errors=True)


def test_seeds_train_on_the_joined_node_with_the_token_found_and_rerun_alone_to_the_same_bytes(project, cluster):
    added = fashionlab(project, "seeds", "2", "--cluster", cluster.address, env=cluster.env)
    assert f"training on 1 node of {cluster.address}" in added.stdout  # the head has no CPU: the joined node
    assert cluster.token not in added.stdout + added.stderr
    reruns_alone_to_the_same_bytes(project, FINISHED.fullmatch(added.stdout.splitlines()[-1])[2])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"HOME": "elsewhere"}, "it asks for Ray's token, and this machine has none: put the head's"),
        ({"RAY_AUTH_TOKEN": "0" * 32}, "it refused the token in RAY_AUTH_TOKEN: use the head's"),
        ({"RAY_AUTH_MODE": "disabled"}, "it asks for Ray's token, which RAY_AUTH_MODE=disabled keeps from being sent"),
    ],
    ids=["no token", "another token", "token off"],
)
def test_a_driver_the_head_refuses_is_one_line_within_seconds(project, cluster, tmp_path, change, reason):
    env = {**cluster.env, **change}
    if change.get("HOME"):
        env["HOME"] = str(tmp_path)
    started = time.monotonic()
    result = fashionlab(project, "seeds", "30", "--cluster", cluster.address, env=env, check=False)
    assert time.monotonic() - started < 30  # not Ray's 20 attempts
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"fashionlab seeds: error: cannot join the Ray cluster at {cluster.address}: ")
    assert reason in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert cluster.token not in result.stdout + result.stderr


def test_a_head_without_token_authentication_still_takes_the_seeds(project, tmp_path):
    """`RAY_AUTH_MODE=disabled` on the head: the driver's token, found here and sent, does not stop it."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**ENV, **RAY_ENV, "HOME": str(home)}
    subprocess.run([str(BIN / "ray"), "get-auth-token", "--generate"], env=env, capture_output=True, check=True)
    with ray_on_this_machine():
        nodes, env, temp = head_of(home, "disabled", cpus=1)
        address = env.pop("address")
        try:
            added = fashionlab(project, "seeds", "4", "--cluster", address, env=env).stdout
        finally:
            stop(nodes[0])
            shutil.rmtree(temp, ignore_errors=True)
    assert f"training on 1 node of {address}" in added and FINISHED.fullmatch(added.splitlines()[-1])
