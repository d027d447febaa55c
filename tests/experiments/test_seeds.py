"""fashionlab.experiments.seeds, end to end: `fashionlab seeds` through the real DVC queue, `compare` on the groups
it makes, and seeds run in another clone joining the group through a git remote (`dvc exp push` / `dvc exp
pull`)."""

import json
import re
import subprocess
import time

import pytest
import yaml

from tests.conftest import BIN, ENV, requires_debian_data, run_project, sh

pytestmark = [pytest.mark.slow, requires_debian_data]


def fashionlab(repo, *args, check=True):
    return sh(repo, str(BIN / "fashionlab"), *args, check=check)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return run_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def three_seeds(project):
    """`fashionlab seeds 3`, one run at a time: each line with the second it arrived at."""
    command = subprocess.Popen(
        [str(BIN / "fashionlab"), "seeds", "3", "--jobs", "1"], cwd=project, env=ENV, stdout=subprocess.PIPE, text=True
    )
    start, lines = time.monotonic(), []
    for line in command.stdout:
        lines.append((time.monotonic() - start, line.rstrip("\n")))
    assert command.wait() == 0
    return lines, time.monotonic() - start


def test_seeds_queues_what_the_group_lacks_and_reports_each_run_as_it_ends(project, three_seeds):
    lines, total = three_seeds
    (_, first), *done = lines
    assert first == (
        "workspace's configuration has 1 seed (42); queued seeds 1, 2; running 1 at a time "
        "(`dvc queue status` shows them, `dvc queue kill` stops them)"
    )
    pattern = r"seed[12]-[0-9a-f]{7}: success \(([12])/2, \d+:\d\d\)"
    assert [re.fullmatch(pattern, line)[1] for _, line in done] == ["1", "2"]
    assert total - done[0][0] > 3  # the first run was reported while the second still ran
    (group,) = json.loads(fashionlab(project, "replicates", "--format", "json").stdout)["groups"]
    assert [run["seed"] for run in group["runs"]] == [1, 2, 42]


def test_seeds_refuse_to_run_other_code_than_the_groups(project, three_seeds):
    """The queue runs the workspace's code: edited code would make runs that do not belong to the group. For
    the workspace's own group, its results are stale too (tests/experiments/test_workspace.py)."""
    stage = project / "stages" / "evaluate.py"
    original = stage.read_text()
    stage.write_text(original + "# edited\n")
    try:
        named, workspace = [fashionlab(project, "seeds", "5", *rev, check=False) for rev in (["HEAD"], [])]
    finally:
        stage.write_text(original)
    assert named.returncode == 2 and named.stdout == ""
    assert named.stderr == (
        "fashionlab seeds: error: stages/evaluate.py: differs from the code of HEAD's runs, and new seeds would "
        "run it: commit it, stash it, or name the revision whose code it is\n"
    )
    assert workspace.returncode == 2 and workspace.stderr == (
        "fashionlab seeds: error: workspace: its results are not what its params.yaml and code would produce "
        "(stages/evaluate.py modified): run `dvc repro`, or undo the change (`git checkout stages/evaluate.py`)\n"
    )
    assert "Queued" not in sh(project, "dvc", "queue", "status").stdout


def test_seeds_a_second_time_queues_nothing(project, three_seeds):
    again = fashionlab(project, "seeds", "3")
    assert again.stdout == "workspace's configuration already has 3 seeds (1, 2, 42): nothing to run\n"
    assert "Queued" not in sh(project, "dvc", "queue", "status").stdout


def test_seeds_for_an_experiment_take_its_parameters_and_compare_judges_the_configurations(project, three_seeds):
    sh(project, "dvc", "exp", "run", "-n", "fast", "-S", "train.groups.upper.learning_rate=0.05")
    sh(project, "git", "checkout", "--", ".")  # the workspace back to HEAD's parameters: the seeds need overrides
    added = fashionlab(project, "seeds", "2", "fast").stdout
    assert added.startswith("fast's configuration has 1 seed (42); queued seed 1;")
    shown = json.loads(sh(project, "dvc", "exp", "show", "--json").stdout)
    rates = {
        exp["name"]: exp["data"]["params"]["params.yaml"]["data"]["train"]["groups"]["upper"]["learning_rate"]
        for commit in shown
        for group in commit.get("experiments") or []
        for exp in group["revs"]
    }
    assert rates[added.splitlines()[1].split(":")[0]] == 0.05

    result = json.loads(fashionlab(project, "compare", "HEAD", "fast", "--format", "json").stdout)
    configuration = result["configuration"]
    assert (configuration["a_seeds"], configuration["b_seeds"]) == ([1, 2, 42], [1, 42])
    assert configuration["verdict"] in ("better", "worse", "equivalent", "undecided")
    assert configuration["interval"]["low"] <= configuration["difference"] <= configuration["interval"]["high"]
    assert 0 <= configuration["probability_of_improvement"]["value"] <= 1
    assert configuration["rope"] == 0.005 and configuration["seeds_needed"] in (None, *range(2, 1001))
    text = fashionlab(project, "compare", "HEAD", "fast").stdout
    assert text.startswith("two configurations, each a group of seeds:")
    assert "A  HEAD (" in text and "3 seeds (1, 2, 42)" in text and "B  fast (" in text and "2 seeds (1, 42)" in text
    assert f"\nverdict: {configuration['verdict']}" in text.replace("B is better than A", "better").replace(
        "B is worse than A", "worse"
    )


def test_seeds_pushed_from_another_clone_join_the_group(project, three_seeds, tmp_path):
    remote = tmp_path / "remote.git"
    sh(tmp_path, "git", "init", "-q", "--bare", str(remote))
    sh(project, "git", "push", "-q", str(remote), "main")
    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", "-b", "main", str(remote), str(clone))
    sh(project, "dvc", "exp", "push", "--no-cache", str(remote), *_names(project, seeds=(1, 2)))

    before = json.loads(fashionlab(clone, "compare", "HEAD", "HEAD", "--format", "json").stdout)
    assert before["configuration"]["a_seeds"] == [42]
    sh(clone, "dvc", "exp", "pull", "--no-cache", "origin", *_names(project, seeds=(1, 2)))
    after = json.loads(fashionlab(clone, "compare", "HEAD", "HEAD", "--format", "json").stdout)
    assert after["configuration"]["a_seeds"] == [1, 2, 42]


def _names(repo, seeds):
    """The experiments of HEAD's parameters with these seeds."""
    head = yaml.safe_load(sh(repo, "git", "show", "HEAD:params.yaml").stdout)
    shown = json.loads(sh(repo, "dvc", "exp", "show", "--json").stdout)
    names = []
    for commit in shown:
        for group in commit.get("experiments") or []:
            for exp in group["revs"]:
                params = exp["data"]["params"]["params.yaml"]["data"]
                if params["seed"] in seeds and {**params, "seed": head["seed"]} == head:
                    names.append(exp["name"])
    return names
