"""fashionlab.experiments.cli: `fashionlab compare`, `replicates` and `seeds` on real git revisions made of
hand-written predictions: every format, and one line for every bad input (the end-to-end run on trained
models is in test_pipeline.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fashionlab.data.catalog import FASHION_MNIST
from fashionlab.evaluation.mistakes import file_name
from tests.conftest import save_split

COMMAND = Path(sys.executable).parent / "fashionlab"
NAMES = FASHION_MNIST.class_names
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "DVC_NO_ANALYTICS": "1",
}


# --- the command on a git repository of hand-written results ----------------------------------------------

ACTUAL = np.arange(20) % 10
TEST_HASHES = {FASHION_MNIST.test_images.name: "1" * 64, FASHION_MNIST.test_labels.name: "2" * 64}


def sh(repo, *args):
    return subprocess.run(args, cwd=repo, env=ENV, capture_output=True, text=True, check=True)


def fashionlab(repo, *args):
    return subprocess.run([str(COMMAND), *args], cwd=repo, env=ENV, capture_output=True, text=True)


def write_run(repo, predicted, hashes=TEST_HASHES, confusion=None):
    record = {"dataset": "fashion_mnist", "class_counts": {"test": dict.fromkeys(NAMES, 2)}, "input_sha256": hashes}
    (repo / "metrics").mkdir(exist_ok=True)
    (repo / "metrics" / "dataset.json").write_text(json.dumps(record))
    rows = [f"{i},{NAMES[a]},{NAMES[p]}" for i, (a, p) in enumerate(zip(ACTUAL, predicted, strict=True))]
    (repo / "metrics" / "confusion.csv").write_text(confusion or "image,actual,predicted\n" + "\n".join(rows) + "\n")


def commit_run(repo, message, predicted, **kwargs):
    write_run(repo, predicted, **kwargs)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", message)


@pytest.fixture
def repo(tmp_path):
    sh(tmp_path, "git", "init", "-q", "-b", "main")
    sh(tmp_path, sys.executable, "-m", "dvc", "init", "-q")
    commit_run(tmp_path, "A", np.where(np.arange(20) < 6, (ACTUAL + 1) % 10, ACTUAL))  # wrong on images 0-5
    commit_run(tmp_path, "B", np.where(np.arange(20) == 19, 0, ACTUAL))  # fixes 0-5, breaks image 19
    return tmp_path


def test_compare_two_commits_in_every_format(repo):
    text = fashionlab(repo, "compare", "HEAD~1", "HEAD")
    assert text.returncode == 0, text.stderr
    commit = sh(repo, "git", "rev-parse", "HEAD").stdout.strip()
    assert f"B  HEAD ({commit[:7]}): test accuracy 0.9500" in text.stdout
    assert "A  HEAD~1 (" in text.stdout and "test accuracy 0.7000" in text.stdout
    assert "B fixed 6 that A got wrong and broke 1 that A got right: McNemar exact p = 0.125" in text.stdout
    assert text.stdout.endswith("\nverdict on these two models: no detectable difference at 95% (McNemar p = 0.125)\n")
    # No parameters recorded here, so no seed groups: the verdict is said to be about two models.
    assert text.stdout.startswith(
        "two trained models, not two configurations: A and B have one seed, so the verdict below is about these "
        "two models only\n"
    )
    assert (
        "to compare the configurations, add seeds: fashionlab seeds 5 HEAD~1; fashionlab seeds 5 HEAD\n" in text.stdout
    )
    markdown = fashionlab(repo, "compare", "HEAD~1", "HEAD", "--format", "markdown").stdout
    assert "| the two trained models | A: `HEAD~1 (" in markdown and f"| B: `HEAD ({commit[:7]})` | B − A |" in markdown
    assert "| test accuracy | 0.7000 | 0.9500 | +0.2500 (95% CI" in markdown
    result = json.loads(fashionlab(repo, "compare", "HEAD~1", "HEAD", "--format", "json").stdout)
    assert result["b"]["commit"] == commit and (result["fixed"], result["broken"]) == (6, 1)
    assert result["mcnemar_p"] == pytest.approx(16 / 128)
    assert result["configuration"]["verdict"] is None and result["configuration"]["b_seeds"] == [None]
    assert result == json.loads(fashionlab(repo, "compare", "HEAD~1", "HEAD", "--format", "json").stdout)


def test_compare_defaults_to_head_against_the_workspace_without_touching_it(repo):
    write_run(repo, ACTUAL)  # the workspace: every image right
    before = {p: p.read_bytes() for p in (repo / "metrics").iterdir()}
    result = json.loads(fashionlab(repo, "compare", "--format", "json").stdout)
    assert result["a"]["revision"] == "HEAD" and result["b"] == {"revision": "workspace", "commit": None, "accuracy": 1}
    assert (result["fixed"], result["broken"]) == (1, 0)
    assert {p: p.read_bytes() for p in (repo / "metrics").iterdir()} == before
    named = json.loads(fashionlab(repo, "compare", "HEAD", "workspace", "--format", "json").stdout)
    assert named == result  # `workspace` names it, as in `decide` and `race`
    reversed_ = json.loads(fashionlab(repo, "compare", "workspace", "HEAD", "--format", "json").stdout)
    assert reversed_["a"]["revision"] == "workspace" and (reversed_["fixed"], reversed_["broken"]) == (0, 1)


def expect_one_line(result, message, status=2):
    assert result.returncode == status
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr == f"fashionlab compare: error: {message}\n"


def test_unknown_revision(repo):
    expect_one_line(
        fashionlab(repo, "compare", "HEAD", "no-such-branch"),
        "no-such-branch: unknown revision (expected a commit, branch, tag or DVC experiment name)",
    )


def test_revision_older_than_per_image_predictions(repo):
    old = "actual,predicted\n" + "".join(f"{NAMES[a]},{NAMES[a]}\n" for a in ACTUAL)
    commit_run(repo, "old format", ACTUAL, confusion=old)
    expect_one_line(
        fashionlab(repo, "compare", "HEAD~1", "HEAD"),
        "HEAD: metrics/confusion.csv: no image column (made before per-image predictions were recorded)",
    )
    (repo / "metrics" / "confusion.csv").unlink()
    sh(repo, "git", "commit", "-qam", "no predictions")
    expect_one_line(
        fashionlab(repo, "compare", "HEAD~2", "HEAD"),
        "HEAD: metrics/confusion.csv: not in this revision (made before per-image predictions were recorded? "
        "reproduce it with `dvc repro`)",
    )


def test_revisions_scored_on_different_test_sets(repo):
    other = {**TEST_HASHES, FASHION_MNIST.test_images.name: "3" * 64}
    commit_run(repo, "other test images", ACTUAL, hashes=other)
    expect_one_line(
        fashionlab(repo, "compare", "HEAD~1", "HEAD"),
        "HEAD~1 and HEAD scored different test sets: metrics/dataset.json input_sha256 of t10k-images-idx3-ubyte.gz "
        "is 111111111111 in HEAD~1 and 333333333333 in HEAD",
    )


@pytest.mark.parametrize(
    ("confusion", "problem"),
    [
        ("image,actual,predicted\n0,T-shirt/top,Dress\n", "expected 20 rows (one per test image), got 1"),
        (
            "image,actual,predicted\n0,T-shirt/top,Dress\n2,Trouser,Trouser\n",
            "line 3: expected image 1 with two of the 10 class names (and 20 rows in all), got '2,Trouser,Trouser'",
        ),
        (
            "image,actual,predicted\n0,T-shirt/top,Jumper\n",
            "line 2: expected image 0 with two of the 10 class names (and 20 rows in all), got '0,T-shirt/top,Jumper'",
        ),
        ('image,actual,predicted\n0,"T-shirt/top"x,Dress\n', "not a CSV file: ',' expected after '\"'"),
        ("PK\x03\x04 a zip", "expected the columns image,actual,predicted, got PK\x03\x04 a zip"),
    ],
    ids=["truncated", "out of order", "unknown class", "bad quoting", "not CSV"],
)
def test_damaged_predictions_file(repo, confusion, problem):
    commit_run(repo, "damaged", ACTUAL, confusion=confusion)
    expect_one_line(fashionlab(repo, "compare", "HEAD~1", "HEAD"), f"HEAD: metrics/confusion.csv: {problem}")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"dataset": "fashion_mnist"}', "expected the record `prepare` writes, missing 'input_sha256'"),
        ('{"dataset": "cifar"}', "dataset: expected one of fashion_mnist, mnist, got 'cifar'"),
        ('{"dataset": ["mnist"]}', "dataset: expected one of fashion_mnist, mnist, got ['mnist']"),
    ],
    ids=["not JSON", "not an object", "no hashes", "unknown dataset", "dataset not a name"],
)
def test_damaged_dataset_record(repo, record, problem):
    commit_run(repo, "damaged record", ACTUAL)
    (repo / "metrics" / "dataset.json").write_text(record)
    sh(repo, "git", "commit", "-qam", "damaged record")
    expect_one_line(fashionlab(repo, "compare", "HEAD~1", "HEAD"), f"HEAD: metrics/dataset.json: {problem}")


@pytest.mark.parametrize("where", ["committed", "workspace"])
def test_predictions_that_are_not_text(repo, where):
    (repo / "metrics" / "confusion.csv").write_bytes(b"image,actual,predicted\n0,\xff\xfe\n")
    if where == "committed":
        sh(repo, "git", "commit", "-qam", "binary predictions")
    result = fashionlab(repo, "compare", "HEAD~1", "HEAD") if where == "committed" else fashionlab(repo, "compare")
    name = "HEAD" if where == "committed" else "workspace"
    expect_one_line(
        result,
        f"{name}: metrics/confusion.csv: cannot read it: 'utf-8' codec can't decode byte 0xff in position 25: "
        "invalid start byte",
    )


def test_true_classes_that_disagree_under_the_same_test_hashes(repo):
    rows = "".join(f"{i},{NAMES[(a + (i == 4)) % 10]},{NAMES[a]}\n" for i, a in enumerate(ACTUAL))
    write_run(repo, ACTUAL, confusion="image,actual,predicted\n" + rows)
    expect_one_line(
        fashionlab(repo, "compare"),
        "workspace: metrics/confusion.csv: the true class of image 4 differs from HEAD's although the test "
        "inputs are the same (edited by hand?)",
    )


def test_outside_a_dvc_project(tmp_path):
    result = fashionlab(tmp_path, "compare")
    assert result.returncode == 2 and "not inside a DVC project" in result.stderr


def test_the_command_does_not_import_tensorflow():
    """It reads CSV and JSON: no reason to pay TensorFlow's start-up (seconds) or print its notices."""
    code = "import sys, fashionlab.experiments.cli; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_replicates_when_dvc_cannot_list_the_experiments(repo):
    (repo / ".dvc" / "config").write_text("[core\nbroken")
    result = fashionlab(repo, "replicates")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr == (
        f"fashionlab replicates: error: {repo}: dvc exp show failed: configuration error - config file error: "
        "Parsing failed with several errors.\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("compare", "--rope", "-0.001"), "argument --rope: expected a number >= 0 (0.002 is 0.2 points of accuracy)"),
        (("compare", "--rope", "nan"), "argument --rope: expected a number >= 0 (0.002 is 0.2 points of accuracy)"),
        (("compare", "--delta", "0"), "argument --delta: expected a number > 0 (0.002 is 0.2 points of accuracy)"),
        (("compare", "--delta", "a lot"), "argument --delta: expected a number > 0 (0.002 is 0.2 points of accuracy)"),
        (("seeds", "1"), "argument N: expected an integer >= 2"),
        (("seeds", "many"), "argument N: expected an integer >= 2"),
    ],
    ids=["negative rope", "rope not a number", "zero delta", "delta not a number", "one seed", "seeds not a number"],
)
def test_bad_options_are_one_line(repo, args, message):
    result = fashionlab(repo, *args)
    command = args[0]
    assert result.returncode == 2 and result.stdout == ""
    value = args[-1]
    assert result.stderr == f"fashionlab {command}: error: {message}, got {value} (see fashionlab {command} --help)\n"


def test_seeds_for_a_revision_without_scores(repo):
    result = fashionlab(repo, "seeds", "3", "HEAD")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "fashionlab seeds: error: HEAD: no test scores that DVC shows (run `dvc repro` and commit the results)\n"
    )


def test_compare_draws_the_images_b_fixed_and_broke(repo):
    """A was wrong on images 0-5 (one of each of the first six classes), B fixes them and breaks image 19."""
    save_split(repo / "data" / "prepared", "test", np.full((20, 28, 28), 90, np.uint8), ACTUAL.astype(np.uint8))
    result = fashionlab(repo, "compare", "HEAD~1", "HEAD", "--images", "changes", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    fixed = [f"fixed-{file_name(name)}" for name in NAMES[:6]]
    assert sorted(p.name for p in (repo / "changes").iterdir()) == sorted(["broken-ankle-boot.png", *fixed])
    assert "\n**The test images B broke** (A's and B's prediction under each):\n\n" in result.stdout
    assert "![broken-ankle-boot.png](changes/broken-ankle-boot.png)" in result.stdout
    assert all(f"![{name}](changes/{name})" in result.stdout for name in fixed)
    text = fashionlab(repo, "compare", "HEAD~1", "HEAD", "--images", "changes").stdout
    assert text.endswith("pictures of the images B fixed and broke, per true class: 7 files in changes\n")


def test_compare_images_need_the_test_images_the_revisions_scored(repo):
    expect_one_line(
        fashionlab(repo, "compare", "HEAD~1", "HEAD", "--images", "changes"),
        f"{repo}/data/prepared/test.npz: file not found (run the prepare stage: dvc repro prepare)",
        status=1,
    )
    save_split(repo / "data" / "prepared", "test", np.zeros((20, 28, 28), np.uint8), np.zeros(20, np.uint8))
    expect_one_line(
        fashionlab(repo, "compare", "HEAD~1", "HEAD", "--images", "changes"),
        f"{repo}/data/prepared/test.npz: not the test images the revisions scored (run `dvc repro prepare` first)",
    )
    assert not (repo / "changes").exists()
