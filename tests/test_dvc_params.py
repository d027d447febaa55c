"""Every number DVC writes into params.yaml is read as that number: `dvc exp run -S` with scientific notation,
an integer where a float is expected, a sweep through DVC's queue; each run trains at the value DVC shows.

The value is read back from what the run left, the optimizer's learning-rate variable in its checkpoint, not
from params.yaml: it is what TensorFlow trained with.
"""

import io
import json
import time

import numpy as np
import pytest

from tests.conftest import BIN, ENV, ROOT, requires_debian_data, run_project, sh
from tests.test_pipeline import worker_logs

pytestmark = [pytest.mark.slow, requires_debian_data]

LOWER, UPPER = "train.groups.lower.learning_rate", "train.groups.upper.learning_rate"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return run_project(tmp_path_factory.mktemp("project"))  # committed, with its first run


def trained_rates(repo, rev: str) -> dict[str, float]:
    """Each optimizer group's learning rate in the checkpoint that `rev`'s run left (float32, as trained)."""
    import dvc.api
    import keras

    slot = [variable.name for variable in keras.optimizers.SGD(0.1).variables].index("learning_rate")
    data = dvc.api.read("models/checkpoint/state.npz", repo=str(repo), rev=rev, mode="rb")
    with np.load(io.BytesIO(data)) as state:
        return {group: float(state[f"optimizer/{group}/{slot}"]) for group in ("lower", "upper")}


def shown_params(repo) -> dict[str, dict]:
    """Each experiment's parameters as `dvc exp show --json` shows them, by experiment name."""
    shown = json.loads(sh(repo, "dvc", "exp", "show", "--json").stdout)
    return {
        exp["name"]: {"rev": exp["rev"], **exp["data"]["params"]["params.yaml"]["data"]}
        for commit in shown
        for group in commit.get("experiments") or []
        for exp in group["revs"]
        if exp.get("name")
    }


def rates(params: dict) -> dict[str, float]:
    return {name: group["learning_rate"] for name, group in params["train"]["groups"].items()}


@pytest.mark.parametrize(
    "name, overrides, expected",
    [
        ("small", [f"{LOWER}=1e-6", f"{UPPER}=3E-4"], {"lower": 1e-6, "upper": 3e-4}),
        ("padded-and-integer", [f"{LOWER}=1e-06", f"{UPPER}=1"], {"lower": 1e-6, "upper": 1.0}),
    ],
)
def test_exp_run_trains_at_the_value_dvc_shows(repo, name, overrides, expected):
    sh(repo, "dvc", "exp", "run", "-n", name, *(arg for override in overrides for arg in ("-S", override)))
    params = shown_params(repo)[name]
    assert rates(params) == expected  # DVC shows the numbers: 1e-06, 0.0003, 1
    trained = trained_rates(repo, params["rev"])
    assert trained == {group: float(np.float32(value)) for group, value in expected.items()}
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "checkout", "--force")


TYPED_WRONG = {
    "text": (f"{LOWER}=1e-6x", f"{LOWER}: expected a number > 0, got '1e-6x'"),
    "negative": (f"{LOWER}=-1e-3", f"{LOWER}: expected a number > 0, got -0.001"),
    "a float for an integer": (
        "train.epochs=1e3",
        "train.epochs: expected an integer >= 1, got 1000.0 (a float: write 1000)",
    ),
}


@pytest.mark.parametrize("override, message", TYPED_WRONG.values(), ids=TYPED_WRONG.keys())
def test_exp_run_with_a_value_typed_wrong_is_one_line_and_exit_status_2(repo, override, message):
    """DVC writes the value as it reads it (-1e-3 as -0.001, 1e3 as 1000.0); the stage names the key and it."""
    try:
        result = sh(repo, "dvc", "exp", "run", "-S", override, check=False)
    finally:
        sh(repo, "git", "checkout", "--", "params.yaml")
    errors = [line for line in result.stderr.splitlines() if line.startswith("train.py: error:")]
    assert errors == [f"train.py: error: params.yaml: {message}"]
    assert "exited with 2" in result.stderr
    assert f"`dvc exp run` and `dvc repro` exit {result.returncode}" in documented_row("a value typed wrong after")


def documented_row(fault: str) -> str:
    """The row of docs/reference/exit-statuses.md whose fault begins with `fault`."""
    page = (ROOT / "docs" / "reference" / "exit-statuses.md").read_text(encoding="utf-8")
    (row,) = [line for line in page.splitlines() if line.startswith(f"| {fault}")]
    return row


def test_compare_and_decide_label_the_configurations_with_dvcs_numbers(repo):
    sh(repo, "dvc", "exp", "run", "-n", "tiny-lower", "-S", f"{LOWER}=2e-6")
    table = sh(repo, "dvc", "exp", "show", "--no-pager", "--only-changed", env={**ENV, "COLUMNS": "1000"}).stdout
    assert "2e-06" in table  # as DVC shows it, and so as fashionlab does
    line = f"parameters: B sets {LOWER}=2e-06 (A: 0.0001)"
    compared = sh(repo, str(BIN / "fashionlab"), "compare", "HEAD", "tiny-lower").stdout
    assert line in compared.splitlines()
    decided = sh(repo, str(BIN / "fashionlab"), "decide", "HEAD", "tiny-lower", "--max-seeds", "2").stdout
    assert line in decided.splitlines()
    sh(repo, "git", "checkout", "--", ".")
    sh(repo, "dvc", "checkout", "--force")


def test_a_sweep_through_the_queue_trains_each_value(repo):
    sh(repo, "dvc", "exp", "run", "--queue", "-S", f"{LOWER}=1e-3,5e-4,2E-5")
    sh(repo, "dvc", "queue", "start", "-j", "2")
    deadline = time.monotonic() + 300  # DVC's queue can stall (treeverse/dvc#10398): fail, saying so
    while "Queued" in (status := sh(repo, "dvc", "queue", "status").stdout) or "Running" in status:
        assert time.monotonic() < deadline, f"DVC's queue did not finish in 5 minutes:\n{status}{worker_logs(repo)}"
        time.sleep(2)
    assert "Failed" not in status, status + worker_logs(repo)
    swept = {rates(params)["lower"]: params["rev"] for params in shown_params(repo).values()}
    assert {1e-3, 5e-4, 2e-5} <= set(swept)
    for value in (1e-3, 5e-4, 2e-5):
        assert trained_rates(repo, swept[value])["lower"] == float(np.float32(value))
