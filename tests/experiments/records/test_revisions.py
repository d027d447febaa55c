"""fashionlab.experiments.records.revisions: revisions and experiment names resolve as DVC resolves them, with git
alone (the predictions themselves are read in tests/experiments/test_cli.py and the end-to-end tests)."""

import subprocess

import pytest

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.revisions import resolve


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """Two commits; an experiment `fast` of each, and DVC's own refs beside them."""
    git(tmp_path, "init", "-q", "-b", "main")
    commits = []
    for message in ("first", "second"):
        git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", message)
        commits.append(git(tmp_path, "rev-parse", "HEAD"))
    experiments = {}
    for baseline in commits:
        experiment = git(tmp_path, "commit-tree", f"{baseline}^{{tree}}", "-p", baseline, "-m", "fast")
        git(tmp_path, "update-ref", f"refs/exps/{baseline[:2]}/{baseline[2:]}/fast", experiment)
        experiments[baseline] = experiment
    git(tmp_path, "update-ref", "refs/exps/exec/EXEC_BASELINE", commits[0])
    git(tmp_path, "update-ref", f"refs/exps/{commits[0][:2]}/{commits[0][2:]}/only-first", experiments[commits[0]])
    return tmp_path, commits, experiments


def test_git_revisions_resolve_to_their_commit(repo):
    root, commits, _ = repo
    assert resolve(root, "HEAD") == commits[1]
    assert resolve(root, "main~1") == resolve(root, commits[0][:7]) == commits[0]


def test_an_experiment_name_resolves_to_the_experiment_of_head_when_two_commits_have_one(repo):
    root, commits, experiments = repo
    assert resolve(root, "fast") == experiments[commits[1]]
    assert resolve(root, "only-first") == experiments[commits[0]]
    git(root, "checkout", "-q", "--detach", commits[0])
    assert resolve(root, "fast") == experiments[commits[0]]


def test_an_unknown_name_is_one_line(repo):
    root, _, _ = repo
    for name in ("no-such-branch", "EXEC_BASELINE", "refs/heads/none"):
        with pytest.raises(RevisionError, match=rf"^{name}: unknown revision \(expected a commit, branch, tag or DVC"):
            resolve(root, name)
