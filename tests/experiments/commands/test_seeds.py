"""fashionlab.experiments.commands.seeds, end to end: `fashionlab seeds` trains the seeds a group lacks together,
each a DVC experiment as `dvc exp run` would make it (a seed trained in a group is bit for bit the seed alone, oneDNN
on and off), `compare` judges the groups it makes, seeds run in another clone join through a git and DVC remote, and
faults (a NaN seed, Ctrl-C, SIGKILL, a full disk, a second command) cost no finished seed."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from fashionlab.experiments.records.revisions import resolve
from fashionlab.statistics.significance import VERDICTS
from tests.conftest import (
    BIN,
    ENV,
    ROOT,
    commit_all,
    project_copy,
    read_yaml,
    requires_debian_data,
    run_project,
    sh,
    snapshot,
    tiny_params,
    write_params,
)
from tests.test_faults import requires_mount

pytestmark = [pytest.mark.slow, requires_debian_data]
FINISHED = re.compile(r"seed (\d+): test accuracy 0\.\d{4} \(\d+\.\d s, (seed\d+-[0-9a-f]{7})\)")


def fashionlab(repo, *args, check=True, env=None):
    return sh(repo, str(BIN / "fashionlab"), *args, check=check, env=env)


def started(repo, *args) -> subprocess.Popen:
    """`fashionlab ARGS` running in `repo`, its output read as it comes, in a session of its own (for killpg)."""
    return subprocess.Popen(
        [str(BIN / "fashionlab"), *args],
        cwd=repo,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def experiments(repo) -> dict[str, int]:
    """Every experiment `dvc exp show` lists, by name, with its seed."""
    shown = json.loads(sh(repo, "dvc", "exp", "show", "--json").stdout)
    return {
        exp["name"]: exp["data"]["params"]["params.yaml"]["data"]["seed"]
        for commit in shown
        for group in commit.get("experiments") or []
        for exp in group["revs"]
    }


def workspace_files(repo) -> dict[str, bytes]:
    """Every file of the workspace by path, but git's and DVC's own."""
    return {path: data for path, data in snapshot(repo).items() if not path.startswith((".git/", ".dvc/"))}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return run_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def three_seeds(project):
    """`fashionlab seeds 3`: each line with the second it arrived at."""
    command = subprocess.Popen(
        [str(BIN / "fashionlab"), "seeds", "3"], cwd=project, env=ENV, stdout=subprocess.PIPE, text=True
    )
    start, lines = time.monotonic(), []
    for line in command.stdout:
        lines.append((time.monotonic() - start, line.rstrip("\n")))
    assert command.wait() == 0
    return lines, time.monotonic() - start


def test_seeds_train_what_the_group_lacks_and_report_each_as_it_ends(project, three_seeds):
    lines, total = three_seeds
    (_, first), *done = lines
    assert first == (
        "workspace's configuration has 1 seed (42); training seeds 1, 2 in one process "
        "(Ctrl-C stops it and keeps the seeds that finished)"
    )
    assert [FINISHED.fullmatch(line)[1] for _, line in done] == ["1", "2"]
    assert total - done[0][0] > 0.2  # the first seed was reported while the second still trained
    names = {FINISHED.fullmatch(line)[2]: int(FINISHED.fullmatch(line)[1]) for _, line in done}
    assert experiments(project) == names  # each an experiment that `dvc exp show` lists
    (group,) = json.loads(fashionlab(project, "replicates", "--format", "json").stdout)["groups"]
    assert [run["seed"] for run in group["runs"]] == [1, 2, 42]
    assert not (project / ".dvc" / "tmp" / "fashionlab" / "checkouts").exists()  # no scratch left behind
    assert sh(project, "git", "status", "--porcelain").stdout == ""  # the workspace untouched
    # each seed's predictions parsed as it was saved, by the object id of its confusion.csv: `compare` reads them back
    kept = {path.stem.rsplit("-", 1)[1] for path in (project / ".dvc" / "tmp" / "fashionlab" / "predictions").iterdir()}
    for name in names:
        assert sh(project, "git", "rev-parse", f"{resolve(project, name)}:metrics/confusion.csv").stdout.strip() in kept


def test_seeds_a_second_time_trains_nothing(project, three_seeds):
    again = fashionlab(project, "seeds", "3")
    assert again.stdout == "workspace's configuration already has 3 seeds (1, 2, 42): nothing to run\n"


def test_seeds_refuse_to_run_other_code_than_the_groups(project, three_seeds):
    """A group's seeds run the workspace's code: edited code would make runs that do not belong to the group.
    For the workspace's own group, its results are stale too (tests/experiments/records/test_workspace.py)."""
    stage = project / "stages" / "evaluate.py"
    original = stage.read_text()
    stage.write_text(original + "# edited\n")
    try:
        named = fashionlab(project, "seeds", "5", "HEAD", check=False)
    finally:
        stage.write_text(original)
    assert named.returncode == 2 and named.stdout == ""
    assert named.stderr == (
        "fashionlab seeds: error: stages/evaluate.py: differs from the code of HEAD's runs, and new seeds would "
        "run it: commit it, stash it, or name the revision whose code it is\n"
    )
    assert len(experiments(project)) == 2


def test_seeds_for_an_experiment_take_its_parameters_and_compare_judges_the_configurations(project, three_seeds):
    sh(project, "dvc", "exp", "run", "-n", "fast", "-S", "train.groups.upper.learning_rate=0.05")
    sh(project, "git", "checkout", "--", ".")  # the workspace back to HEAD's parameters: the seeds need overrides
    sh(project, "dvc", "checkout")  # and to HEAD's outputs, as the later tests expect
    added = fashionlab(project, "seeds", "2", "fast").stdout
    assert added.startswith("fast's configuration has 1 seed (42); training seed 1 in one process")
    shown = json.loads(sh(project, "dvc", "exp", "show", "--json").stdout)
    rates = {
        exp["name"]: exp["data"]["params"]["params.yaml"]["data"]["train"]["groups"]["upper"]["learning_rate"]
        for commit in shown
        for group in commit.get("experiments") or []
        for exp in group["revs"]
    }
    assert rates[FINISHED.fullmatch(added.splitlines()[1])[2]] == 0.05

    result = json.loads(fashionlab(project, "compare", "HEAD", "fast", "--format", "json").stdout)
    configuration = result["configuration"]
    assert (configuration["a_seeds"], configuration["b_seeds"]) == ([1, 2, 42], [1, 42])
    assert configuration["paired"] and configuration["shared_seeds"] == [1, 42]
    assert configuration["left_out"] == {"a": [2], "b": []}
    assert configuration["verdict"] in VERDICTS
    assert configuration["interval"]["low"] <= configuration["difference"] <= configuration["interval"]["high"]
    text = fashionlab(project, "compare", "HEAD", "fast").stdout
    assert text.startswith("two configurations, each a group of seeds:")
    assert "A  HEAD (" in text and "3 seeds (1, 2, 42)" in text and "B  fast (" in text and "2 seeds (1, 42)" in text
    assert "\npaired by seed: the 2 seeds both sides ran (1, 42); 1 left out of the paired figures" in text


def test_seeds_shared_through_a_remote_join_the_group_with_their_data(project, three_seeds, tmp_path):
    """`dvc exp push` sends a seed's commit and cache; in another clone `dvc exp pull` brings both back, the seed
    joins the group, and applying it leaves nothing for `dvc repro` to do."""
    remote, storage = tmp_path / "remote.git", tmp_path / "storage"
    sh(tmp_path, "git", "init", "-q", "--bare", str(remote))
    sh(project, "git", "push", "-q", str(remote), "main")
    sh(project, "dvc", "remote", "add", "-f", "--local", "storage", str(storage))
    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", "-b", "main", str(remote), str(clone))
    sh(clone, "dvc", "remote", "add", "-f", "--local", "storage", str(storage))
    names = [FINISHED.fullmatch(line)[2] for _, line in three_seeds[0][1:]]  # HEAD's seeds 1 and 2
    sh(project, "dvc", "exp", "push", "-r", "storage", str(remote), *names)

    def seeds() -> list[int]:
        (group,) = json.loads(fashionlab(clone, "replicates", "--format", "json").stdout)["groups"]
        return [run["seed"] for run in group["runs"]]

    assert seeds() == [42]
    sh(clone, "dvc", "exp", "pull", "-r", "storage", "origin", *names)
    assert seeds() == [1, 2, 42]
    sh(clone, "dvc", "exp", "apply", names[0])
    assert sh(clone, "dvc", "status", "--json").stdout.strip() == "{}"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """A tiny project with XLA and several steps per call, as the defaults have them, run once."""
    project = project_copy(tmp_path_factory.mktemp("compiled"))
    params = tiny_params()
    params["data"]["train_subset"] = 3000
    write_params(project / "params.yaml", params)
    commit_all(project, "tiny project")
    sh(project, "dvc", "repro")
    commit_all(project, "first run")
    return project


@pytest.mark.parametrize("numerics", ["portable", "native"], ids=["portable numerics", "native, oneDNN on"])
def test_a_seed_trained_in_a_group_is_bit_for_bit_the_seed_alone(compiled, numerics):
    """The second seed of a group trains after the first in the same process, with the step compiled for the
    first. Applied, `dvc repro` finds nothing to do; forced, it writes the same bytes, cached outputs too. oneDNN
    is asked for: native numerics run its kernels (as AVX-512 machines do by default), portable ones Eigen's."""
    env = {**ENV, "TF_ENABLE_ONEDNN_OPTS": "1"}
    sh(compiled, "git", "checkout", "--", ".")
    sh(compiled, "dvc", "checkout", env=env)
    if numerics == "native":  # a configuration of its own, run once as the portable one was
        params = read_yaml((compiled / "params.yaml").read_text())
        write_params(compiled / "params.yaml", {**params, "numerics": "native"})
        sh(compiled, "dvc", "repro", env=env)
        commit_all(compiled, "native numerics")
    added = fashionlab(compiled, "seeds", "3", env=env).stdout  # seeds 1 and 2, beside 42
    second = FINISHED.fullmatch(added.splitlines()[-1])
    assert second[1] == "2"
    sh(compiled, "dvc", "exp", "apply", second[2], env=env)
    assert sh(compiled, "dvc", "status", "--json", env=env).stdout.strip() == "{}"
    machine = json.loads((compiled / "metrics" / "machine.json").read_text())
    assert (machine["numerics"], machine["onednn"]) == (numerics, numerics == "native")
    before = workspace_files(compiled)
    sh(compiled, "dvc", "repro", "-f", env=env)
    after = workspace_files(compiled)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert changed == ["dvc.lock", "metrics/timing.json"]
    outs = {
        name: [
            (stage, out["path"], out["md5"])
            for stage, entry in read_yaml(files["dvc.lock"])["stages"].items()
            for out in entry["outs"]
            if out["path"] != "metrics/timing.json"
        ]
        for name, files in (("group", before), ("alone", after))
    }
    assert outs["group"] == outs["alone"]  # every other output: the same bytes, the cached ones too


def test_a_seed_whose_loss_goes_nan_fails_alone_and_is_named(project, three_seeds):
    env = {**ENV, "PYTHONPATH": str(ROOT / "tests" / "fault_injection"), "FAULT_NAN_SEED": "4"}
    result = fashionlab(project, "seeds", "6", env=env, check=False)  # seeds 3, 4 and 5
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert FINISHED.fullmatch(lines[1])[1] == "3" and FINISHED.fullmatch(lines[3])[1] == "5"
    assert lines[2].startswith("seed 4: failed: loss became nan at epoch 1, step 1")
    assert result.stderr.startswith("fashionlab seeds: error: 1 of 3 seeds failed, the others were kept: seed 4: ")
    assert len(result.stderr.splitlines()) == 1
    assert {3, 5} <= set(experiments(project).values()) and 4 not in experiments(project).values()


def stopped(project, total, how):
    """`fashionlab seeds TOTAL` stopped by `how` once one seed finished: its exit status and stderr."""
    command = subprocess.Popen(
        [str(BIN / "fashionlab"), "seeds", str(total)],
        cwd=project,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a job: Ctrl-C reaches both processes
    )
    command.stdout.readline()  # the plan
    assert FINISHED.fullmatch(command.stdout.readline().rstrip("\n"))  # one seed finished
    os.killpg(command.pid, getattr(signal, how))
    _, errors = command.communicate(timeout=120)
    return command.returncode, errors


def test_a_stopped_group_keeps_its_finished_seeds_and_a_rerun_finishes_it(tmp_path):
    """Ctrl-C (SIGINT to the job), then SIGKILL: each time the finished seeds stay, and running the command
    again trains the rest, as an uninterrupted group would (applied, nothing for `dvc repro` to do)."""
    project = run_project(tmp_path / "project")
    status, errors = stopped(project, 5, "SIGINT")
    found = re.fullmatch(
        r"fashionlab seeds: error: interrupted by SIGINT: the seeds that finished were kept "
        r"\(workspace's seeds? ([\d, ]+)\); run it again\n",
        errors,
    )
    assert status == 130 and found, errors
    assert sorted(experiments(project).values()) == [int(seed) for seed in found[1].split(", ")]
    assert fashionlab(project, "seeds", "5").stdout.startswith("workspace's configuration has ")
    assert sorted(experiments(project).values()) == [1, 2, 3, 4]

    status, errors = stopped(project, 9, "SIGKILL")
    assert status == -9 and errors == ""
    kept = sorted(experiments(project).values())
    assert kept[:5] == [1, 2, 3, 4, 5] and len(kept) < 8
    again = fashionlab(project, "seeds", "9").stdout.splitlines()
    assert again[0].startswith(f"workspace's configuration has {len(kept) + 1} seeds")
    assert sorted(experiments(project).values()) == list(range(1, 9))
    assert not (project / ".dvc" / "tmp" / "fashionlab" / "checkouts").exists()
    sh(project, "dvc", "exp", "apply", FINISHED.fullmatch(again[-1])[2])
    assert sh(project, "dvc", "status", "--json").stdout.strip() == "{}"


def test_adding_8_seeds_three_times_counts_all_24(tmp_path):
    """DVC's queue with several workers can lose runs without a log (DVC issue #10673); a group counts every one."""
    project = run_project(tmp_path / "project")
    for total in (9, 17, 25):
        fashionlab(project, "seeds", str(total))
    assert sorted(experiments(project).values()) == list(range(1, 25))
    (group,) = json.loads(fashionlab(project, "replicates", "--format", "json").stdout)["groups"]
    assert len(group["runs"]) == 25


def test_a_second_command_is_refused_while_one_adds_seeds(project, three_seeds):
    import fcntl

    folder = project / ".dvc" / "tmp" / "fashionlab"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = fashionlab(project, "seeds", "9", check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"fashionlab seeds: error: {project}: another `fashionlab seeds` or `fashionlab decide` is adding seeds "
        "here; wait for it to end\n"
    )


@requires_mount
def on_a_small_scratch(project, size: str, *args: str) -> subprocess.CompletedProcess:
    """`fashionlab ARGS` with a real tmpfs of `size` over the project's scratch folder, in a private mount
    namespace, so that a write there fills it up."""
    folder = project / ".dvc" / "tmp" / "fashionlab"
    folder.mkdir(parents=True, exist_ok=True)
    script = f'mount -t tmpfs -o size={size} tmpfs "{folder}" && exec "$0" "$@"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(BIN / "fashionlab"), *args],
        cwd=project,
        env=ENV,
        capture_output=True,
        text=True,
    )


def test_a_full_disk_is_one_line_and_leaves_nothing(project, three_seeds):
    """A real tmpfs over the scratch folder, room for a checkout (2.8 MB) but not for a seed's outputs (its test
    split alone is 7.8 MB): the group's write fails, or the next checkout's, whichever comes first."""
    before = experiments(project)
    result = on_a_small_scratch(project, "4m", "seeds", "7")
    assert result.returncode == 74, result.stderr
    assert re.fullmatch(
        r"fashionlab seeds: error: (training the seeds stopped: )?\S+: cannot write: No space left on device; "
        r"no output was replaced\n",
        result.stderr,
    ), result.stderr
    assert experiments(project) == before
