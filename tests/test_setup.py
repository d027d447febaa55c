"""What `make` does before installing anything: pick a supported Python, or refuse in one line.

Interpreters are faked by wrappers around this one that report another version or platform, so the tests
hold on any machine, whatever Pythons it has.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SYSTEMS = {"linux": "Linux", "darwin": "Darwin"}  # sys.platform -> platform.system()
TOOLS = ("bash", "sh", "env", "test", "rm", "touch", "cat", "echo", "id")


@pytest.fixture
def project(tmp_path):
    """The files the Makefile reads, and a PATH of basic tools only: no Python unless a test adds one."""
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    return tmp_path


def fake_python(project: Path, name: str, version=(3, 12), platform=("linux", "x86_64"), runs=True) -> Path:
    """`name` on the project's PATH: this interpreter, claiming `version` on `platform` (or failing, like an
    unselected pyenv shim)."""
    path = project / "bin" / name
    if not runs:
        path.write_text("#!/bin/sh\necho 'pyenv: command not found' >&2\nexit 127\n")
    else:
        pretend = (
            f"import sys, platform; sys.version_info = {(*version, 0)!r}; sys.platform = {platform[0]!r}; "
            f"platform.machine = lambda: {platform[1]!r}; platform.system = lambda: {SYSTEMS[platform[0]]!r}; "
            "exec(sys.argv[1])"
        )
        path.write_text(f'#!/bin/sh\nshift\nexec {sys.executable} -c "{pretend}" "$1"\n')
    path.chmod(0o755)
    return path


def refusal(result) -> str:
    """The one line make stops with (`$(error …)`): "Makefile:N: *** <message>.  Stop." on stderr."""
    assert result.returncode == 2 and result.stdout == "", result
    assert result.stderr.count("\n") == 1, result.stderr
    prefix, message = result.stderr.split(" *** ", 1)
    assert prefix.startswith("Makefile:") and message.endswith(".  Stop.\n")
    return message.removesuffix(".  Stop.\n")


def make(project: Path, *args: str):
    env = {"PATH": str(project / "bin"), "HOME": str(project)}
    make_path = shutil.which("make")
    return subprocess.run([make_path, "-s", *args], cwd=project, env=env, capture_output=True, text=True)


def test_the_newest_python_that_runs_is_picked(project):
    fake_python(project, "python3.13", runs=False)  # a pyenv shim of a Python that is not selected
    fake_python(project, "python3.12", version=(3, 12))
    fake_python(project, "python3.11", version=(3, 11))
    assert make(project, "pythons").stdout == "python3.12 python3.11\n"


def test_no_supported_python_is_one_line(project):
    assert refusal(make(project, "install")) == (
        "fashionlab needs Python 3.11, 3.12 or 3.13, and none of python3.13, python3.12, python3.11 runs here: "
        "install one, or name it: PYTHON=/path/to/python3.12 make …"
    )
    assert not (project / ".venv").exists()


def test_an_unsupported_python_named_is_one_line(project):
    old = fake_python(project, "python3.10", version=(3, 10))
    assert refusal(make(project, "install", f"PYTHON={old}")) == (
        f"fashionlab needs Python 3.11, 3.12 or 3.13; {sys.executable} is 3.10 "
        "(name another: PYTHON=/path/to/python3.13 make …)"
    )
    assert not (project / ".venv").exists()


def test_a_python_named_that_does_not_run_is_one_line(project):
    assert refusal(make(project, "install", "PYTHON=python3.12")) == (
        "PYTHON=python3.12 does not run; name a Python 3.11, 3.12 or 3.13: PYTHON=/path/to/python3.12 make …"
    )


@pytest.mark.parametrize("platform", [("linux", "aarch64"), ("darwin", "x86_64")], ids=["linux-arm", "intel-mac"])
def test_an_unsupported_platform_is_one_line(project, platform):
    fake_python(project, "python3.12", platform=platform)
    system = SYSTEMS[platform[0]]
    assert refusal(make(project, "install")) == (
        "fashionlab installs on Linux x86-64 and macOS on Apple silicon, where TensorFlow 2.21 has wheels; "
        f"this is {system} {platform[1]}"
    )
    assert not (project / ".venv").exists()


def test_ci_runs_the_suite_and_the_readme_on_different_pythons():
    script = (ROOT / ".ci" / "run").read_text()
    assert "PYTHON=$newest make test" in script and "PYTHON=$oldest make repro" in script
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_a_test_that_hangs_fails_with_its_stack_and_the_suite_goes_on(tmp_path):
    """The suite's own configuration, two workers as `make test` has on CI: the hanging test fails, names the
    call it waits in, and the other test still runs."""
    (tmp_path / "test_hang.py").write_text(
        "import subprocess\n\nimport pytest\n\n\n"
        "@pytest.mark.timeout(2)  # the suite's own limit, shortened\n"
        "def test_hangs():\n    subprocess.run(['sleep', '60'])\n\n\n"
        "def test_runs():\n    pass\n"
    )
    suite = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-o", "addopts=", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *suite, "-n", "2", "--dist", "loadfile", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed" in result.stdout and "Timeout (>2.0s) from pytest-timeout" in result.stdout
    assert "subprocess.run(['sleep', '60'])" in result.stdout  # where it waited


def test_the_suite_has_a_limit_per_test_phase(pytestconfig):
    assert 0 < float(pytestconfig.getini("timeout")) <= 600
