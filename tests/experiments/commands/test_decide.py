"""fashionlab.experiments.commands.decide, end to end: `fashionlab decide` adds the same seeds to both sides in
rounds and stops at the first planned look that decides; a rerun repeats the looks without training; bad input, a
side whose runs fail and a group that cannot start are one line each, exit status 2, with nothing left behind."""

import json
import os
import re
import shlex
import signal

import pytest

from fashionlab.statistics.sequential import boundaries, look_level, looks
from tests.conftest import ENV, ROOT, requires_debian_data, run_project, sh
from tests.experiments.commands.test_seeds import experiments, fashionlab, started

pytestmark = [pytest.mark.slow, requires_debian_data]
FIRST_LEVEL = look_level(boundaries(looks(20))[0])  # the default design's first look, 98.90%


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The tiny project, and an experiment that trains three epochs instead of one: a change no seed hides."""
    project = run_project(tmp_path_factory.mktemp("project"))
    sh(project, "dvc", "exp", "run", "-n", "longer", "-S", "train.epochs=3")
    sh(project, "git", "checkout", "--", ".")
    sh(project, "dvc", "checkout")
    return project


@pytest.fixture(scope="module")
def decided(project):
    return fashionlab(project, "decide", "HEAD", "longer", "--format", "json")


def test_a_large_change_is_decided_at_the_first_look(project, decided):
    result = json.loads(decided.stdout)
    assert result["verdict"] == "better"
    assert [look["seeds"] for look in result["looks"]] == [3]
    assert result["shared_seeds"] == [42, 1, 2] and result["trained"] == {"A": [1, 2], "B": [1, 2]}
    assert result["plan"]["looks"] == [3, 5, 8, 12, 16, 20]
    assert result["looks"][0]["level"] == pytest.approx(FIRST_LEVEL) and FIRST_LEVEL > 0.95  # 5% spread over looks
    assert result["reproduce"] == "fashionlab decide HEAD longer --max-seeds 20"
    progress = decided.stderr.splitlines()
    assert progress[0] == "1 shared seed; next look at 3: training seeds 1, 2 on each side"
    assert sorted(line.split(":")[0] for line in progress[1:]) == ["A seed 1", "A seed 2", "B seed 1", "B seed 2"]
    assert {seed for seed in experiments(project).values()} == {1, 2, 42}


def test_a_rerun_repeats_the_looks_without_training(project, decided):
    again = fashionlab(project, "decide", "HEAD", "longer")
    assert again.stderr == ""  # nothing to train
    lines = again.stdout.splitlines()
    assert lines[0].startswith("A  HEAD (") and lines[0].endswith("paired on the 3 seeds both ran")
    level = f"{FIRST_LEVEL:.2%}"
    number = r"\+0\.\d{4}"
    look = rf"    3 seeds: B - A {number}, {re.escape(level)} interval \[{number}, {number}\]: better"
    assert lines[1] == "parameters: B sets train.epochs=3 (A: 1)"  # as DVC shows them
    assert re.fullmatch(look, lines[3])
    assert lines[-2].startswith(f"verdict: B is better than A: the {level}")
    assert lines[-2].endswith("(after 3 seeds a side)")
    assert lines[-1] == "reproduce: fashionlab decide HEAD longer --max-seeds 20"
    assert json.loads(fashionlab(project, "decide", "HEAD", "longer", "--format", "json").stdout)["trained"] == {
        "A": [],
        "B": [],
    }


def test_ctrl_c_keeps_the_finished_seeds_and_a_rerun_goes_on(project, decided):
    """A small change, which three seeds of this tiny model cannot tell: A has seeds 1 and 2 already, so the
    first round trains B's; Ctrl-C during it keeps B's first seed, and the rerun trains only what is missing."""
    sh(project, "dvc", "exp", "run", "-n", "small", "-S", "train.groups.upper.learning_rate=0.011")
    sh(project, "git", "checkout", "--", ".")
    sh(project, "dvc", "checkout")
    command = started(project, "decide", "HEAD", "small", "--max-seeds", "5")
    assert command.stderr.readline() == "1 shared seed; next look at 3: training B's seeds 1, 2\n"
    assert command.stderr.readline().startswith("B seed 1: test accuracy ")
    os.killpg(command.pid, signal.SIGINT)
    _, errors = command.communicate(timeout=120)
    assert command.returncode == 130 and errors.splitlines()[-1].startswith(
        "fashionlab decide: error: interrupted by SIGINT: the seeds that finished were kept (B's seed"
    )
    rerun = fashionlab(project, "decide", "HEAD", "small", "--max-seeds", "5", "--format", "json")
    result = json.loads(rerun.stdout)
    assert 1 not in result["trained"]["B"] and result["trained"]["A"] in ([], [3, 4])  # B's seed 1 was kept
    assert [look["seeds"] for look in result["looks"]] in ([3], [3, 5])


def test_bad_input_is_one_line(project, decided):
    for args, message in [
        (["--max-seeds", "1"], "argument --max-seeds: expected an integer >= 2, got 1"),
        (["--max-seeds", "many"], "argument --max-seeds: expected an integer >= 2, got many"),
    ]:
        result = fashionlab(project, "decide", "HEAD", "longer", *args, check=False)
        assert result.returncode == 2
        assert result.stderr == f"fashionlab decide: error: {message} (see fashionlab decide --help)\n"
    same = fashionlab(project, "decide", "HEAD", "HEAD", check=False)
    assert same.returncode == 2 and same.stderr == (
        "fashionlab decide: error: HEAD and HEAD are the same configuration (the same code and parameters but the "
        "seed): there is nothing to decide\n"
    )


def test_a_side_whose_runs_fail_is_one_line(project, decided):
    """A new configuration: its seeds 1 and 2 train first, and seed 1 goes NaN."""
    sh(project, "dvc", "exp", "run", "-n", "fails", "-S", "train.groups.upper.learning_rate=0.012")
    sh(project, "git", "checkout", "--", ".")
    sh(project, "dvc", "checkout")
    env = {**ENV, "PYTHONPATH": str(ROOT / "tests" / "fault_injection"), "FAULT_NAN_SEED": "1"}
    before = experiments(project)
    result = fashionlab(project, "decide", "HEAD", "fails", env=env, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(
        "fashionlab decide: error: B (fails): seed 1 failed: loss became nan at epoch 1, step 1"
    )
    assert result.stderr.splitlines()[-1].endswith("; a paired decision needs every seed of both sides")
    added = {name: seed for name, seed in experiments(project).items() if name not in before}
    assert 1 not in added.values()  # the failed seed is no experiment; seed 2, which finished, is kept


def test_a_group_that_cannot_start_is_one_line_and_leaves_nothing(project, decided, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nif sys.orig_argv[1:3] == ['-m', 'fashionlab.pipeline.group']:\n"
        "    sys.exit('fashionlab.pipeline.group: cannot start here')\n"
    )
    sh(project, "dvc", "exp", "run", "-n", "unstarted", "-S", "train.groups.upper.learning_rate=0.013")
    sh(project, "git", "checkout", "--", ".")
    sh(project, "dvc", "checkout")
    before = experiments(project)
    result = fashionlab(project, "decide", "HEAD", "unstarted", env={**ENV, "PYTHONPATH": str(tmp_path)}, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "fashionlab decide: error: training the seeds stopped: exit status 1: SystemExit: "
        "fashionlab.pipeline.group: cannot start here"
    )
    assert experiments(project) == before
    assert not (project / ".dvc" / "tmp" / "fashionlab" / "checkouts").exists()


def test_the_options_that_changed_the_result_are_in_its_reproduce_line_and_replay_it(project, decided):
    """Quoted as a shell reads it, with the ROPE, the bootstrap and the error rate: the same looks, the same text."""
    options = ["--rope", "0.01", "--resamples", "2000", "--seed", "3", "--alpha", "0.1"]
    first = fashionlab(project, "decide", "HEAD", "longer", *options)
    reproduce = first.stdout.splitlines()[-1].removeprefix("reproduce: ")
    assert reproduce == (
        "fashionlab decide HEAD longer --max-seeds 20 --alpha 0.1 --rope 0.01 --resamples 2000 --seed 3"
    )
    assert "each interval at the level its share of the 10% allows" in first.stdout  # --alpha, not a literal 5%
    again = fashionlab(project, *shlex.split(reproduce)[1:])
    assert again.stdout == first.stdout and again.stderr == ""


def test_compare_after_decide_gives_its_verdict_or_says_why_not(project, decided):
    """The same two groups: `compare`'s single interval on every shared seed may read otherwise than `decide`'s
    planned looks; the result carries decide's reading, and the text says it wherever the two differ."""
    compared = fashionlab(project, "compare", "HEAD", "longer", "--format", "json")
    configuration = json.loads(compared.stdout)["configuration"]
    assert configuration["sequential"]["verdict"] == json.loads(decided.stdout)["verdict"]
    assert configuration["sequential"]["seeds"] == 3
    text = fashionlab(project, "compare", "HEAD", "longer").stdout
    explained = [line for line in text.splitlines() if line.startswith("`fashionlab decide` reads these seeds as ")]
    assert len(explained) == (configuration["verdict"] != configuration["sequential"]["verdict"])


def test_the_workspace_is_named_workspace_and_head_against_itself_is_refused(project, decided):
    """`workspace` names the workspace in `decide` and `compare`, as in `race`; the workspace being HEAD's own run,
    both refuse the pair in the same words."""
    for command, consequence in (("decide", "there is nothing to decide"), ("compare", "there is nothing to compare")):
        for args in (["HEAD", "workspace"], []):
            result = fashionlab(project, command, *args, check=False)
            assert result.returncode == 2, result.stdout
            assert result.stderr.startswith(
                f"fashionlab {command}: error: HEAD and workspace are the same configuration (the same code and "
                f"parameters but the seed): {consequence}"
            )


def test_runs_of_every_commit_of_the_same_code_count_in_every_command(project, decided):
    """A commit that changes no code: its workspace's group counts the seeds the commit before it trained, so
    `seeds` trains none of them again, and `decide` takes the older commit as it takes HEAD."""
    (project / "NOTES.md").write_text("a commit that changes no code\n")
    sh(project, "git", "add", "NOTES.md")
    sh(project, "git", "commit", "-qm", "notes")
    try:
        listed = lambda: sorted(sh(project, "dvc", "exp", "list", "--all-commits", "--name-only").stdout.split())  # noqa: E731
        before = listed()
        seeds = fashionlab(project, "seeds", "3").stdout
        assert seeds.startswith("workspace's configuration already has ") and seeds.endswith(": nothing to run\n")
        assert "seeds (1, 2, " in seeds and listed() == before
        older = json.loads(fashionlab(project, "decide", "HEAD~1", "longer", "--format", "json").stdout)
        assert older["verdict"] == "better" and older["trained"] == {"A": [], "B": []}
    finally:
        sh(project, "git", "reset", "-q", "--hard", "HEAD~1")
