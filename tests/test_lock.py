"""uv.lock installs wherever the README says it does: every pin has a wheel for each supported Python and
platform. Checked by resolving (uv pip compile, binary only) against the package index, never installing,
so a Mac that is not here is covered too."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # asks the package index for each target's wheels (cached after the first time)

UV = Path(sys.executable).parent / "uv"
PYTHONS = ("3.11", "3.12", "3.13")
PLATFORMS = {"linux": "x86_64-manylinux_2_28", "macos": "aarch64-apple-darwin", "windows": "x86_64-pc-windows-msvc"}


def uv(*args, cwd=ROOT):
    return subprocess.run([str(UV), *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """uv.lock as pinned requirements with markers, per TensorFlow build: what `make` would install."""
    folder = tmp_path_factory.mktemp("requirements")
    files = {}
    for build in ("cpu", "gpu"):
        files[build] = folder / f"{build}.txt"
        args = ("export", "--frozen", "--extra", build, "--no-emit-project", "--no-hashes", "-o", str(files[build]))
        result = uv(*args)
        assert result.returncode == 0, result.stderr
    return files


def sdist_only() -> list[str]:
    """Packages the lock knows only as source (pure Python, e.g. antlr4-python3-runtime): allowed to build."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return [package["name"] for package in lock["package"] if "sdist" in package and not package.get("wheels")]


def resolve(requirements: Path, platform: str, python: str):
    exempt = [arg for name in sdist_only() for arg in ("--no-binary", name)]
    return uv(
        *("pip", "compile", "--quiet", "--no-header", "--no-annotate", "--no-deps", "--only-binary", ":all:", *exempt),
        # --python: this interpreter answers for uv, which would otherwise search the machine for one of
        # `python`'s version (seconds, and none needs to be here).
        *("--python", sys.executable, "--python-platform", platform, "--python-version", python, str(requirements)),
    )


def test_lock_is_up_to_date_with_pyproject():
    result = uv("lock", "--locked")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("system", sorted(PLATFORMS))
def test_every_pin_has_a_wheel(exported, system, python):
    result = resolve(exported["cpu"], PLATFORMS[system], python)
    assert result.returncode == 0, result.stderr
    tensorflow = "tensorflow==2.21.0" if system == "macos" else "tensorflow-cpu==2.21.0"
    assert tensorflow in result.stdout.splitlines()
    assert "ray==2.60.0" in result.stdout.splitlines()  # `--cluster` works wherever the project installs


@pytest.mark.parametrize("python", PYTHONS)
def test_gpu_build_has_wheels_on_linux(exported, python):
    result = resolve(exported["gpu"], PLATFORMS["linux"], python)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "tensorflow==2.21.0" in lines and "tensorflow-cpu==2.21.0" not in lines
    assert any(line.startswith("nvidia-cudnn-cu12==") for line in lines)


def test_the_check_fails_where_a_pin_has_no_wheel(exported):
    """Python 3.14 has no wheel of several pins (TensorFlow 2.21, h5py): the check must say so, or it proves
    nothing."""
    result = resolve(exported["cpu"], PLATFORMS["linux"], "3.14")
    assert result.returncode != 0
    assert "has no usable wheels" in result.stderr
