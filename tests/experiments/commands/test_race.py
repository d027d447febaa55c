"""fashionlab.experiments.commands.race, end to end: `fashionlab race` gives every configuration still in the same
new seeds in rounds, each a DVC experiment, drops the ones shown worse than the leader at the planned looks, and ends
with a winner; the configurations come as a sweep (`-S`), revisions, a commit's runs or DVC's queue; a rerun replays
the looks without training, Ctrl-C keeps every finished seed, a configuration whose runs fail is named and leaves the
race, and bad input is one line with exit status 2."""

import json
import os
import signal

import pytest

from tests.conftest import ENV, ROOT, requires_debian_data, run_project, sh
from tests.experiments.commands.test_seeds import experiments, fashionlab, started

pytestmark = [pytest.mark.slow, requires_debian_data]
RATE = "train.groups.upper.learning_rate"
SWEEP = ["-S", f"{RATE}=0.01,0.05,0.3", "--max-seeds", "5"]  # 0.01 is the project's own: HEAD's run joins


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return run_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def raced(project):
    return fashionlab(project, "race", *SWEEP, "--format", "json")


def by_label(result: dict) -> dict[str, dict]:
    return {c["label"]: c for c in result["configurations"]}


def test_a_sweep_races_to_its_winner_each_seed_an_experiment(project, raced):
    result = json.loads(raced.stdout)
    configurations = by_label(result)
    assert list(configurations) == [f"{RATE}=0.01", f"{RATE}=0.05", f"{RATE}=0.3"]
    assert result["outcome"] == "winner" and configurations[f"{RATE}=0.3"]["status"] == "winner"
    assert result["choice"] == list(configurations).index(f"{RATE}=0.3")  # what to use: the winner
    assert [look["seeds"] for look in result["looks"]] == [3]
    for label in (f"{RATE}=0.01", f"{RATE}=0.05"):
        assert configurations[label]["status"] == "dropped"
        assert configurations[label]["against_leader"]["high"] < -result["rope"]
    # HEAD's run of seed 42 is shared, not trained again: the others train it; 1 and 2 for every one
    assert configurations[f"{RATE}=0.01"]["trained"] == [1, 2]
    assert configurations[f"{RATE}=0.3"]["trained"] == [42, 1, 2] == configurations[f"{RATE}=0.05"]["trained"]
    # no revision named, so no seed of a named run first: the order they were trained in, 42 (HEAD's, reused) first
    assert result["looks"][0]["order"] == [42, 1, 2]
    seeds = sorted(experiments(project).values())
    assert seeds == [1, 1, 1, 2, 2, 2, 42, 42]  # every trained seed a DVC experiment
    lines = raced.stderr.splitlines()
    assert lines[1] == "next look at 3 shared seeds: training seeds 1, 2, 42 for 3 of 3 configurations"
    (look,) = [line for line in lines if line.startswith("look at 3 shared seeds: 3 configurations;")]
    assert f"leader {RATE}=0.3 (" in look and look.count("dropped") == 2 and "beyond the ROPE" in look


def test_the_race_draws_every_configuration_against_the_leader(project, raced):
    result = json.loads(raced.stdout)
    rows = json.loads((project / "race" / "intervals.json").read_text())
    assert [row["configuration"] for row in rows] == [f"{RATE}=0.3", f"{RATE}=0.05", f"{RATE}=0.01"]
    assert rows[0]["difference"] == 0 and rows[0]["status"] == "winner"
    dropped = by_label(result)[f"{RATE}=0.05"]["against_leader"]
    assert (rows[1]["low"], rows[1]["high"], rows[1]["status"]) == (dropped["low"], dropped["high"], "dropped")
    assert (project / "race" / "intervals.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    plots = json.loads(sh(project, "dvc", "plots", "show", "--json").stdout)["data"]
    assert "race/intervals.json" in plots  # the chart joins the page `dvc plots show` writes
    assert sh(project, "dvc", "status", "--json").stdout.strip() == "{}"


def test_a_rerun_replays_the_looks_without_training(project, raced):
    again = fashionlab(project, "race", *SWEEP, "--format", "json")
    assert [line for line in again.stderr.splitlines() if " seed " in line] == []  # nothing trained
    first, second = json.loads(raced.stdout), json.loads(again.stdout)
    assert all(c["trained"] == [] for c in second["configurations"])
    strip = lambda result: [{**c, "trained": None} for c in result["configurations"]]  # noqa: E731
    assert strip(first) == strip(second) and first["looks"] == second["looks"]
    text = fashionlab(project, "race", *SWEEP).stdout.splitlines()
    assert text[-3] == (
        f"verdict: winner: {RATE}=0.3: every other configuration was shown worse than it beyond the ROPE ±0.0050 "
        "(after 3 shared seeds)"
    )
    assert text[-2] == f"reproduce: fashionlab race -S {RATE}=0.01,0.05,0.3 --max-seeds 5"


def named_by_rate(project) -> dict[float, str]:
    """An experiment of each learning rate, by rate."""
    shown = json.loads(sh(project, "dvc", "exp", "show", "--json").stdout)
    params = lambda exp: exp["data"]["params"]["params.yaml"]["data"]  # noqa: E731
    return {
        params(exp)["train"]["groups"]["upper"]["learning_rate"]: exp["name"]
        for commit in shown
        for group in commit.get("experiments") or []
        for exp in group["revs"]
    }


def test_a_replay_is_the_same_lines_after_other_seeds_are_trained(project, raced):
    """Seeds 3 and 4 added to every configuration by `fashionlab seeds` after the race: run again, the race takes
    its looks' seeds in the order it trained them, so every line it prints is the same (ascending seed numbers
    made its first look 1, 2, 3 instead of 42, 1, 2)."""
    before = fashionlab(project, "race", *SWEEP)
    for rate, name in named_by_rate(project).items():
        if rate != 0.01:  # the workspace's rate: its seeds come with the last `seeds`
            fashionlab(project, "seeds", "5", name)
    fashionlab(project, "seeds", "5")
    assert sorted(experiments(project).values()).count(4) == 3
    after = fashionlab(project, "race", *SWEEP)
    assert after.stdout.splitlines() == before.stdout.splitlines()
    assert after.stderr.splitlines() == before.stderr.splitlines()
    assert json.loads(fashionlab(project, "race", *SWEEP, "--format", "json").stdout)["looks"][0]["order"] == [42, 1, 2]


def test_a_sweep_on_a_changed_params_yaml_says_so_and_reproduces_it(project, raced):
    """`dvc exp run -S train.epochs=2` leaves the workspace's params.yaml at 2 epochs, which `-S` applies to: the
    first line names it, and the `reproduce:` line pins it."""
    sh(project, "dvc", "exp", "run", "-S", "train.epochs=2")
    try:
        raced_on = fashionlab(project, "race", "-S", f"{RATE}=0.05,0.3", "--max-seeds", "3")
    finally:  # the module's other races see none of it
        sh(project, "git", "checkout", "--", ".")
        sh(project, "dvc", "checkout", "--force")
        shown = json.loads(sh(project, "dvc", "exp", "show", "--json").stdout)
        two = [
            exp["name"]
            for commit in shown
            for group in commit.get("experiments") or []
            for exp in group["revs"]
            if exp["data"]["params"]["params.yaml"]["data"]["train"]["epochs"] == 2
        ]
        sh(project, "dvc", "exp", "remove", *two)
    assert raced_on.stderr.splitlines()[0].startswith(
        "racing 2 configurations (each with train.epochs=2: the workspace's params.yaml, not HEAD's) on paired seeds"
    )
    assert f"reproduce: fashionlab race -S train.epochs=2 -S {RATE}=0.05,0.3 --max-seeds 3" in raced_on.stdout


def test_ctrl_c_keeps_the_finished_seeds_and_the_same_command_goes_on(project, raced):
    """Two configurations that a few seeds of this tiny model cannot separate: Ctrl-C during the first round."""
    args = ["race", "-S", f"{RATE}=0.02,0.025", "--max-seeds", "5", "--format", "json"]
    command = started(project, *args)
    assert command.stderr.readline().startswith("racing 2 configurations")
    assert command.stderr.readline().startswith("next look at 3 shared seeds: training seeds 1, 2, 3 ")
    finished = command.stderr.readline()
    assert f"{RATE}=0.02 seed 1: test accuracy " in finished
    os.killpg(command.pid, signal.SIGINT)
    _, errors = command.communicate(timeout=120)
    assert command.returncode == 130
    assert errors.splitlines()[-1].startswith(
        f"fashionlab race: error: interrupted by SIGINT: the seeds that finished were kept ({RATE}=0.02's seed 1"
    )
    result = json.loads(fashionlab(project, *args).stdout)
    assert 1 not in by_label(result)[f"{RATE}=0.02"]["trained"]  # kept from the interrupted round
    assert result["looks"][0]["seeds"] == 3 and result["outcome"] in ("winner", "choice", "budget")


def test_a_configuration_whose_runs_fail_is_named_and_leaves_the_race(project, raced):
    """Two points of the grid whose every run goes NaN (the fault injection poisons the models of ε 0.002): the
    first seed they train is 42, the one the others trained first."""
    env = {**ENV, "PYTHONPATH": str(ROOT / "tests" / "fault_injection"), "FAULT_NAN_EPSILON": "0.002"}
    grid = ["-S", f"{RATE}=0.05,0.3", "-S", "model.epsilon=0.001,0.002", "--format", "json"]
    result = json.loads(fashionlab(project, "race", *grid, env=env).stdout)
    configurations = by_label(result)
    for rate in (0.05, 0.3):
        failed = configurations[f"model.epsilon=0.002, {RATE}={rate}"]
        assert failed["status"] == "failed" and failed["failed"].startswith("seed 42: loss became nan")
        assert failed["against_leader"] is None and failed["trained"] == []
    assert result["outcome"] == "winner" and configurations[f"model.epsilon=0.001, {RATE}=0.3"]["status"] == "winner"
    assert configurations[f"model.epsilon=0.001, {RATE}=0.05"]["status"] == "dropped"  # worse, unlike the failed


def test_the_runs_of_a_commit_and_dvcs_queue_race_too(project, raced):
    everything = json.loads(
        fashionlab(project, "race", "--all-of", "HEAD", "--max-seeds", "3", "--format", "json").stdout
    )
    assert {f"{RATE}=0.01", f"{RATE}=0.05", f"{RATE}=0.3"} <= set(by_label(everything))
    sh(project, "dvc", "exp", "run", "--queue", "-S", f"{RATE}=0.04")
    try:
        queued = json.loads(
            fashionlab(project, "race", "HEAD", "--queued", "--max-seeds", "3", "--format", "json").stdout
        )
    finally:
        sh(project, "dvc", "queue", "remove", "--all")
    assert [c["label"] for c in queued["configurations"]] == ["HEAD", f"{RATE}=0.04"]
    # the race trained what the queue held: HEAD's seeds, the earliest trained first (42, its own run)
    assert by_label(queued)[f"{RATE}=0.04"]["trained"] == [42, 1, 2]


@pytest.mark.parametrize(
    "args, message",
    [
        (["HEAD"], "a race needs two configurations or more, got 1 (HEAD)"),
        (
            ["HEAD", "-S", f"{RATE}=0.01,0.05"],
            f"HEAD and {RATE}=0.01 are the same configuration (the same code and parameters but the seed): "
            "name each once",
        ),
        (["HEAD", "nope"], "nope: unknown revision (expected a commit, branch, tag or DVC experiment name)"),
        (
            ["-S", "train.epochs=1,1e3"],
            "params.yaml with -S train.epochs=1,1e3: train.epochs: expected an integer >= 1, "
            "got 1000.0 (a float: write 1000)",
        ),
        (
            ["-S", f"{RATE}=0.05,1e-6x"],
            f"params.yaml with -S {RATE}=0.05,1e-6x: {RATE}: expected a number > 0, got '1e-6x'",
        ),
        (["HEAD", "--alpha", "5"], "argument --alpha: expected a number between 0 and 1 (0.05 is 5%), got 5"),
    ],
    ids=[
        "one configuration",
        "the same twice",
        "unknown revision",
        "a float for an integer",
        "text for a number",
        "alpha",
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(project, args, message):
    before = experiments(project)
    result = fashionlab(project, "race", *args, check=False)
    hint = " (see fashionlab race --help)" if message.startswith("argument") else ""
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"fashionlab race: error: {message}{hint}\n")
    assert experiments(project) == before


def test_a_stale_workspace_is_refused(project):
    params = project / "params.yaml"
    original = params.read_text()
    params.write_text(original.replace("epochs: 1\n", "epochs: 2\n"))
    try:
        result = fashionlab(project, "race", "-S", f"{RATE}=0.01,0.05", check=False)
    finally:
        params.write_text(original)
    assert result.returncode == 2 and result.stderr == (
        "fashionlab race: error: workspace: its results are not what its params.yaml and code would produce "
        "(params.yaml: train.epochs is 2, the results were made with 1): run `dvc repro`, or undo the change "
        "(`git checkout params.yaml`)\n"
    )
