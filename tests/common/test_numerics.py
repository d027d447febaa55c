"""common/numerics.py: the portable settings, read from params.yaml and applied before TensorFlow loads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fashionlab.common import numerics
from fashionlab.common.errors import ParamsError
from fashionlab.common.params import parse_params
from tests.conftest import STAGE_ENV, default_params, tiny_params, write_params


def test_native_changes_nothing_and_portable_sets_every_switch():
    assert numerics.settings("native", {"TF_ENABLE_ONEDNN_OPTS": "1"}) == {}
    portable = numerics.settings("portable", {"TF_ENABLE_ONEDNN_OPTS": "1"})
    assert portable == {
        "XLA_FLAGS": "--xla_cpu_enable_platform_dependent_math=false --xla_cpu_use_xnnpack=false "
        "--xla_cpu_max_isa=AVX2",
        "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "0",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    }


def test_a_users_flags_come_first_and_an_explicit_cap_is_kept():
    environ = {"XLA_FLAGS": "--xla_dump_to=/tmp/dump --xla_cpu_max_isa=AVX512", "ONEDNN_MAX_CPU_ISA": "ALL"}
    portable = numerics.settings("portable", environ)
    assert portable["XLA_FLAGS"].split() == [
        "--xla_dump_to=/tmp/dump",
        "--xla_cpu_max_isa=AVX512",
        *numerics.XLA_FLAGS,
    ]
    assert portable["ONEDNN_MAX_CPU_ISA"] == "ALL"
    assert numerics.settings("portable", {"DNNL_MAX_CPU_ISA": "AVX512_CORE"})["ONEDNN_MAX_CPU_ISA"] == "AVX512_CORE"


def test_the_mode_is_read_from_the_params_file_as_dvc_reads_it(tmp_path):
    assert numerics.declared(write_params(tmp_path / "a.yaml", {**default_params(), "numerics": "native"})) == "native"
    assert numerics.declared(write_params(tmp_path / "b.yaml", default_params())) == "portable"
    (tmp_path / "bad.yaml").write_text("numerics: [unclosed\n")
    (tmp_path / "other.yaml").write_text("numerics: fast\n")
    for unreadable in ("bad.yaml", "other.yaml", "missing.yaml"):
        assert numerics.declared(tmp_path / unreadable) is None  # the stage's own reading says what is wrong


def test_portable_needs_xla_since_tensorflows_own_step_differs_by_thread_count():
    params = tiny_params(train={"jit_compile": False})
    with pytest.raises(ParamsError, match=r"^params.yaml: train.jit_compile: expected true under numerics: portable"):
        parse_params(params)
    assert parse_params({**params, "numerics": "native"}).train.jit_compile is False


PROBE = (
    "import json, os; from fashionlab.common.backend import NUMERICS, onednn_enabled; "
    "print(json.dumps([NUMERICS, onednn_enabled(), os.environ.get('XLA_FLAGS', '')]))"
)


@pytest.mark.parametrize("mode", ["portable", "native"])
def test_the_settings_are_in_place_before_tensorflow_loads(mode):
    """oneDNN asked for by the environment, and off all the same under portable numerics: TensorFlow read the
    switch after `backend` set it."""
    env = {
        **STAGE_ENV,
        "FASHIONLAB_NUMERICS": mode,
        "TF_ENABLE_ONEDNN_OPTS": "1",
        "XLA_FLAGS": "--xla_cpu_use_thunk_runtime=true",
    }
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    active, onednn, flags = json.loads(out)
    assert active == mode
    if onednn is not None:
        assert onednn is (mode == "native")
    assert ("--xla_cpu_use_xnnpack=false" in flags) is (mode == "portable")


def test_another_process_gets_the_environment_as_it_was_before_the_settings():
    """A process that runs portable numerics starts a native one (a benchmark's worker, a group for a seed of the
    other mode): the child must not inherit the switches, only the mode it asks for."""
    probe = (
        "import json; from fashionlab.common import backend, numerics; "
        "print(json.dumps([numerics.environment('native').get(name) for name in "
        "('FASHIONLAB_NUMERICS', 'TF_ENABLE_ONEDNN_OPTS', 'TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL', 'XLA_FLAGS')]))"
    )
    env = {**STAGE_ENV, "FASHIONLAB_NUMERICS": "portable", "TF_ENABLE_ONEDNN_OPTS": "1"}
    env.pop("XLA_FLAGS", None)
    env.pop("TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL", None)
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["native", "1", None, None]


def test_a_native_process_started_by_a_portable_one_runs_the_users_settings():
    """A child that inherits a portable process's environment as it is (not through `numerics.environment`) and
    asks for native numerics gets the variables as the user had them, not the portable switches."""
    parent = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, os; from fashionlab.common import backend; print(json.dumps(dict(os.environ)))",
        ],
        env={**STAGE_ENV, "FASHIONLAB_NUMERICS": "portable", "TF_ENABLE_ONEDNN_OPTS": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    inherited = {**json.loads(parent.stdout.splitlines()[-1]), "FASHIONLAB_NUMERICS": "native"}
    assert inherited["TF_ENABLE_ONEDNN_OPTS"] == "0"  # the portable switch, as the child finds it
    out = subprocess.run([sys.executable, "-c", PROBE], env=inherited, capture_output=True, text=True, check=True)
    active, onednn, flags = json.loads(out.stdout)
    assert active == "native" and "--xla_cpu_use_xnnpack=false" not in flags
    if onednn is not None:
        assert onednn is True


def test_a_setting_made_after_the_portable_switches_is_kept_when_they_are_undone(monkeypatch):
    """A portable process's environment, inherited (a Ray node started from it), then given the driver's own
    `TF_ENABLE_ONEDNN_OPTS=1` (the cluster's runtime environment): a native group undoes only the switches still
    as portable numerics set them, so it runs, and records, the value it was given."""
    monkeypatch.setattr(numerics.os, "environ", {numerics.VARIABLE: "portable"})
    numerics.apply()
    inherited = {**numerics.os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}
    monkeypatch.setattr(numerics.os, "environ", {**inherited, numerics.VARIABLE: "native"})
    assert numerics.apply() == "native"
    assert {name: numerics.os.environ.get(name) for name in numerics.RECORDED} == {
        "XLA_FLAGS": None,
        "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": None,
        "TF_ENABLE_ONEDNN_OPTS": "1",
        "ONEDNN_MAX_CPU_ISA": "AVX512_CORE",
    }
