"""fashionlab.experiments.records.workspace: `compare` and `seeds` refuse a workspace whose results its params.yaml
and code would not produce, naming what changed and the way out (a failed `dvc exp run -S train.epochs=-3`
leaves `epochs: -3` beside the last good results)."""

import subprocess
import sys

import pytest

from fashionlab.experiments.records.workspace import describe
from tests.conftest import read_yaml, yaml_text
from tests.experiments.test_cli import COMMAND, ENV

# A pipeline of one quick stage that reads code and params, as `train` does, without TensorFlow.
PIPELINE = {
    "stages": {
        "train": {
            "cmd": "python code.py",
            "deps": ["code.py"],
            "params": ["seed", "train"],
            "outs": ["out.txt"],
        }
    }
}


def sh(repo, *args):
    return subprocess.run(args, cwd=repo, env=ENV, capture_output=True, text=True, check=True)


def fashionlab(repo, *args):
    return subprocess.run([str(COMMAND), *args], cwd=repo, env=ENV, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path):
    sh(tmp_path, "git", "init", "-q", "-b", "main")
    sh(tmp_path, sys.executable, "-m", "dvc", "init", "-q")
    (tmp_path / "params.yaml").write_text(yaml_text({"seed": 42, "train": {"epochs": 20, "units": [32, 16]}}))
    (tmp_path / "dvc.yaml").write_text(yaml_text(PIPELINE))
    (tmp_path / "code.py").write_text("import shutil\nshutil.copy('params.yaml', 'out.txt')\n")
    sh(tmp_path, sys.executable, "-m", "dvc", "repro", "-q")
    sh(tmp_path, "git", "add", "-A")
    sh(tmp_path, "git", "commit", "-qm", "a run")
    return tmp_path


def set_epochs(project, epochs):
    params = read_yaml((project / "params.yaml").read_text())
    params["train"]["epochs"] = epochs
    (project / "params.yaml").write_text(yaml_text(params))


def test_compare_names_the_parameter_a_failed_experiment_left_behind(project):
    set_epochs(project, -3)
    result = fashionlab(project, "compare", "HEAD")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "fashionlab compare: error: workspace: its results are not what its params.yaml and code would produce "
        "(params.yaml: train.epochs is -3, the results were made with 20): run `dvc repro`, or undo the change "
        "(`git checkout params.yaml`)\n"
    )


def test_seeds_names_the_edited_code_and_queues_nothing(project):
    (project / "code.py").write_text("# edited\n" + (project / "code.py").read_text())
    result = fashionlab(project, "seeds", "3")
    assert result.returncode == 2
    assert result.stderr == (
        "fashionlab seeds: error: workspace: its results are not what its params.yaml and code would produce "
        "(code.py modified): run `dvc repro`, or undo the change (`git checkout code.py`)\n"
    )
    assert "seed" not in sh(project, sys.executable, "-m", "dvc", "queue", "status").stdout


def test_an_up_to_date_workspace_passes_and_a_named_revision_is_not_checked(project):
    # Past the check, compare looks for the predictions this tiny pipeline does not make.
    past_the_check = "fashionlab compare: error: HEAD: metrics/dataset.json: not in this revision"
    assert fashionlab(project, "compare", "HEAD").stderr.startswith(past_the_check)
    set_epochs(project, -3)
    assert fashionlab(project, "compare", "HEAD", "HEAD").stderr.startswith(past_the_check)


@pytest.mark.parametrize("damaged", ["params.yaml", "dvc.yaml"])
def test_a_file_dvc_cannot_read_is_one_line(project, damaged):
    (project / damaged).write_text("train: [epochs: 2\n")
    result = fashionlab(project, "compare", "HEAD")
    assert result.returncode == 2
    assert result.stderr == (
        f"fashionlab compare: error: workspace: dvc status failed: unable to read: '{damaged}', YAML file "
        "structure is corrupted\n"
    )


def test_every_kind_of_change_is_named_once():
    status = {
        "prepare": [{"changed outs": {"data/prepared/train.npz": "deleted"}}],
        "train": [
            {"changed deps": {"src/x.py": "modified", "params.yaml": {"train": "modified", "seed": "modified"}}},
            "always changed",
        ],
        "evaluate": [{"changed deps": {"src/x.py": "modified"}}],
    }
    recorded = {"train": {"seed": 42, "train.epochs": 20, "train.units": [32, 16]}}
    current = {"seed": 1, "train.epochs": 20, "train.units": [64], "train.new": True}
    assert describe(status, recorded, current) == [
        "data/prepared/train.npz (an output) deleted",
        "src/x.py modified",
        "params.yaml: seed is 1, the results were made with 42",
        "params.yaml: train.new is true, the results were made with absent",
        "params.yaml: train.units is [64], the results were made with [32, 16]",
        "train: always changed",
    ]
