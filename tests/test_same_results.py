"""`.ci/same_results.py`, the check `.ci/run` makes after `make repro`: the results must be the committed ones,
byte for byte, but for the clock and the machine record."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT, requires_debian_data, run_project, sh

pytestmark = requires_debian_data
CHECK = [sys.executable, str(ROOT / ".ci" / "same_results.py")]


@pytest.fixture
def project(tmp_path):
    return run_project(tmp_path / "project")


def test_a_rerun_on_this_machine_passes_whatever_the_clock_says(project):
    sh(project, "dvc", "repro", "-f")
    result = sh(project, *CHECK)
    assert result.stdout.startswith("same results as the committed run on ")
    assert "numerics" in result.stdout  # the CPU and settings of this run and of the committed one


def test_a_changed_output_fails_and_is_named_with_the_cpu(project):
    (project / "metrics" / "timing.json").write_text("{}\n")  # the clock may differ
    assert sh(project, *CHECK).returncode == 0
    evaluation = project / "metrics" / "eval.json"
    evaluation.write_text(evaluation.read_text().replace('"accuracy": 0.', '"accuracy": 1.'))
    (project / "metrics" / "extra.csv").write_text("a\n")
    result = sh(project, *CHECK, check=False)
    assert result.returncode == 1
    assert result.stdout.startswith("results differ from the committed run on ")
    assert result.stdout.rstrip().endswith(": metrics/eval.json, metrics/extra.csv")


def test_an_output_whose_hash_changed_in_dvc_lock_is_named(project):
    lock = project / "dvc.lock"
    text = lock.read_text()
    start = text.index("path: models/model.keras")
    md5 = text.index("md5: ", start) + len("md5: ")
    lock.write_text(text[:md5] + "0" * 32 + text[md5 + 32 :])
    result = sh(project, *CHECK, check=False)
    assert (result.returncode, result.stdout.rstrip().rsplit(": ", 1)[-1]) == (1, "models/model.keras")
