"""stages/_environment.py: what every stage shares when started the wrong way: one line, exit status 2, no traceback."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, STAGE_ENV


@pytest.mark.parametrize("stage", ["prepare", "parity", "train", "evaluate"])
def test_a_python_without_the_projects_packages_gets_one_line(stage, tmp_path):
    # -S leaves site-packages out: what DVC gets when `python` on PATH is not the project's environment.
    result = subprocess.run(
        [sys.executable, "-S", str(ROOT / "stages" / f"{stage}.py")],
        cwd=tmp_path,
        env=STAGE_ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"{stage}.py: error: {sys.executable} cannot import fashionlab, tensorflow, keras, yaml, pandas, numpy: "
        "activate the project's environment first (source .venv/bin/activate; `make repro` creates it)\n"
    )
    assert list(tmp_path.iterdir()) == []
