"""fashionlab.experiments.seeding.cluster, end to end on local Ray clusters that the tests start and stop (Ray's own
`cluster_utils`: a head and nodes as processes of this machine): a seed trained on a node is bit for bit the seed
alone, each saved once as a DVC experiment; a node lost mid-seed costs only a retrain elsewhere; Ctrl-C keeps the
seeds already back and leaves the cluster running; a cluster that cannot be reached, a node that cannot run the
project and uncommitted code are one line each, exit status 2."""

import json
import os
import platform
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.conftest import (
    BIN,
    ENV,
    commit_all,
    ray_on_this_machine,
    read_yaml,
    requires_debian_data,
    run_project,
    sh,
    write_params,
)
from tests.experiments.commands.test_seeds import (
    FINISHED,
    experiments,
    fashionlab,
    on_a_small_scratch,
    started,
    workspace_files,
)
from tests.test_faults import requires_mount

pytestmark = [pytest.mark.slow, requires_debian_data]
# Ray's own processes must not wait for a dashboard or ask for a token file in a test's HOME
RAY_ENV = {"RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}


@pytest.fixture
def cluster():
    """A head that trains nothing and nodes added by each test; stopped, every process of it, at the end."""
    from ray.cluster_utils import Cluster

    os.environ.update(RAY_ENV)
    with ray_on_this_machine():
        started = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
        yield started
        started.shutdown()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return run_project(tmp_path_factory.mktemp("project"))


def nodes_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith("training on ")]
    return line


def test_a_seed_trained_on_a_node_is_bit_for_bit_the_seed_alone(project, cluster):
    """One node of this machine's size: its group's TensorFlow gets the threads a local run takes, so `dvc repro`
    here writes the same bytes, `metrics/machine.json` (the node, the threads) included."""
    cluster.add_node(num_cpus=os.cpu_count())
    added = fashionlab(project, "seeds", "3", "--cluster", cluster.address).stdout
    head = cluster.address
    assert re.fullmatch(
        rf"training on 1 node of {re.escape(head)}: {re.escape(platform.node())} \({os.cpu_count()} threads?\); "
        r"the code of commit [0-9a-f]{7}",
        nodes_line(added),
    )
    assert f"training seeds 1, 2 on 1 node of {head}" in added
    machine = reruns_alone_to_the_same_bytes(project, FINISHED.fullmatch(added.splitlines()[-1])[2])
    assert (machine["node"], machine["threads"]) == (platform.node(), os.cpu_count())


def reruns_alone_to_the_same_bytes(project, name: str) -> dict:
    """`dvc exp apply` the seed, then `dvc repro -f`: nothing but its timing changes. Returns the seed's machine
    record; the workspace is put back as it was."""
    sh(project, "dvc", "exp", "apply", name)
    assert sh(project, "dvc", "status", "--json").stdout.strip() == "{}"
    machine = json.loads((project / "metrics" / "machine.json").read_text())
    before = workspace_files(project)
    sh(project, "dvc", "repro", "-f")
    after = workspace_files(project)
    assert sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path)) == [
        "dvc.lock",
        "metrics/timing.json",
    ]
    outs = [
        [
            (out["path"], out["md5"])
            for entry in read_yaml(files["dvc.lock"])["stages"].values()
            for out in entry["outs"]
        ]
        for files in (before, after)
    ]
    assert [o for o in outs[0] if o[0] != "metrics/timing.json"] == [
        o for o in outs[1] if o[0] != "metrics/timing.json"
    ]
    sh(project, "git", "checkout", "--", ".")
    sh(project, "dvc", "checkout", "--force")
    return machine


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """The tiny project with portable numerics (so XLA), run and committed."""
    repo = run_project(tmp_path_factory.mktemp("portable"))
    params = read_yaml((repo / "params.yaml").read_text())
    params["numerics"], params["train"]["jit_compile"] = "portable", True
    write_params(repo / "params.yaml", params)
    sh(repo, "dvc", "repro")
    commit_all(repo, "portable numerics")
    return repo


def seed_on_a_node(repo, cluster, cpus: int) -> tuple[dict, dict]:
    """Seed 1, trained on a cluster whose one node has `cpus` CPUs: its outputs in dvc.lock (but the clock and the
    machine record), and its machine record."""
    node = cluster.add_node(num_cpus=cpus)
    added = fashionlab(repo, "seeds", "3", "--cluster", cluster.address).stdout  # seeds 1 and 2, beside 42
    cluster.remove_node(node)
    (name,) = [found[2] for line in added.splitlines() if (found := FINISHED.fullmatch(line)) and found[1] == "1"]
    sh(repo, "dvc", "exp", "apply", name)
    outs = {
        out["path"]: out["md5"]
        for stage in read_yaml((repo / "dvc.lock").read_text())["stages"].values()
        for out in stage["outs"]
        if out["path"] not in ("metrics/timing.json", "metrics/machine.json")
    }
    return outs, json.loads((repo / "metrics" / "machine.json").read_text())


def test_a_portable_seed_is_the_same_bytes_on_a_node_of_1_cpu_and_on_one_of_2(portable, tmp_path, cluster):
    copies = [shutil.copytree(portable, tmp_path / f"{cpus} cpus", symlinks=True) for cpus in (1, 2)]
    (one, one_machine), (two, two_machine) = (
        seed_on_a_node(copy, cluster, cpus) for copy, cpus in zip(copies, (1, 2), strict=True)
    )
    assert (one_machine["threads"], two_machine["threads"]) == (1, 2)
    assert one_machine["numerics"] == two_machine["numerics"] == "portable"
    assert "models/model.keras" in one
    assert one == two


def until_a_seed_is_back(command: subprocess.Popen) -> list[str]:
    lines = []
    while not FINISHED.fullmatch(line := command.stdout.readline().rstrip("\n")):
        assert line or command.poll() is None, command.stderr.read()
        lines.append(line)
    return [*lines, line]


def test_a_node_lost_mid_seed_costs_a_retrain_elsewhere_and_nothing_is_saved_twice(project, cluster):
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    before = experiments(project)
    command = started(project, "seeds", "9", "--cluster", cluster.address)
    until_a_seed_is_back(command)  # both nodes busy now, with seeds in flight
    cluster.remove_node(nodes[1], allow_graceful=False)
    output, errors = command.communicate(timeout=300)
    assert command.returncode == 0, errors
    assert re.search(r"a node left the cluster; its seed \w+ goes to another node", output)
    added = sorted(seed for name, seed in experiments(project).items() if name not in before)
    assert added == [seed for seed in range(1, 9) if seed not in before.values()]  # each once, none lost


def test_ctrl_c_keeps_the_seeds_back_and_leaves_the_cluster_running(project, cluster):
    cluster.add_node(num_cpus=os.cpu_count())
    before = experiments(project)
    command = started(project, "seeds", "14", "--cluster", cluster.address)
    back = FINISHED.fullmatch(until_a_seed_is_back(command)[-1])
    os.killpg(command.pid, signal.SIGINT)
    _, errors = command.communicate(timeout=120)
    assert command.returncode == 130
    assert errors.splitlines()[-1].startswith("fashionlab seeds: error: interrupted by SIGINT: the seeds that finished")
    assert back[2] in experiments(project)
    again = fashionlab(project, "seeds", "14", "--cluster", cluster.address).stdout  # the same cluster, still up
    assert f"training on 1 node of {cluster.address}" in again
    assert sorted(experiments(project).values()) == sorted({*before.values(), *range(1, 14)})


def test_a_cluster_that_cannot_be_reached_is_one_line(project):
    started = time.monotonic()
    for env in ({}, {"RAY_ADDRESS": "127.0.0.1:1"}):
        args = [] if env else ["--cluster", "127.0.0.1:1"]
        result = fashionlab(project, "seeds", "30", *args, check=False, env={**ENV, **env})
        assert (result.returncode, result.stderr) == (
            2,
            "fashionlab seeds: error: cannot reach the Ray cluster at 127.0.0.1:1: Connection refused (after 0 s)\n",
        )
    assert time.monotonic() - started < 30  # not Ray's own minutes of retries


def test_uncommitted_code_is_refused(project):
    """The nodes run the commit: an experiment of code they did not run would lie."""
    node = project / "src" / "fashionlab" / "pipeline" / "node.py"
    original = node.read_text()
    node.write_text(original + "# changed\n")
    try:
        result = fashionlab(project, "seeds", "30", "--cluster", "local", check=False)
    finally:
        node.write_text(original)
    assert (result.returncode, result.stderr) == (
        2,
        "fashionlab seeds: error: src/fashionlab/pipeline/node.py: not committed, and a cluster's nodes run the "
        "commit: commit or stash it first\n",
    )


def test_a_node_without_the_projects_packages_is_one_line(tmp_path, cluster):
    """A commit whose group cannot import TensorFlow stands for a node whose Python lacks it."""
    cluster.add_node(num_cpus=1)
    project = run_project(tmp_path / "project")
    group = project / "src" / "fashionlab" / "pipeline" / "group.py"
    broken = 'raise ModuleNotFoundError("No module named \'tensorflow\'")\n\n\nif __name__ == "__main__":'
    group.write_text(group.read_text().replace('if __name__ == "__main__":', broken))
    commit_all(project, "a group that cannot start")
    before = experiments(project)
    result = fashionlab(project, "seeds", "3", "--cluster", cluster.address, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "fashionlab seeds: error: a node of the cluster cannot train: exit status 1: ModuleNotFoundError: No module "
        "named 'tensorflow' (each node needs the project's packages: `make install` in a clone there, and `ray "
        "start` from that environment)\n"
    )
    assert experiments(project) == before


def test_a_group_that_has_its_seeds_starts_no_cluster(project):
    """N is the total: a group that has N seeds trains nothing, and joins or starts no cluster to say so."""
    result = fashionlab(project, "seeds", "2", "--cluster", "local")
    assert result.stdout == "workspace's configuration already has " + result.stdout.split(" has ", 1)[1]
    assert result.stdout.endswith(": nothing to run\n") and "training on" not in result.stdout + result.stderr


def test_the_command_imports_no_ray_unless_asked():
    probe = "import sys; from fashionlab.experiments import cli; print('ray' in sys.modules)"
    result = subprocess.run([str(BIN / "python"), "-c", probe], capture_output=True, text=True, env=ENV)
    assert result.stdout == "False\n", result.stderr


@requires_mount
def test_a_full_disk_where_the_seeds_come_back_is_one_line(project, cluster):
    """A real tmpfs over this machine's scratch folder, room for the two checkouts a node holds (2.8 MB each) but not
    for a seed's files from its node (its test split alone is 7.8 MB): their writing is one line, exit status 74."""
    cluster.add_node(num_cpus=1)
    before = experiments(project)
    result = on_a_small_scratch(project, "10m", "seeds", "30", "--cluster", cluster.address)
    assert result.returncode == 74, result.stderr
    assert re.fullmatch(
        r"fashionlab seeds: error: \S+: cannot write: No space left on device; no output was replaced\n",
        result.stderr,
    ), result.stderr
    assert experiments(project) == before
