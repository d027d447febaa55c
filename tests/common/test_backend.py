"""fashionlab.common.backend: TensorFlow's start-up chatter is filtered by TF_CPP_MIN_LOG_LEVEL's own rule, on any
CPU."""

import os
import re
import subprocess
import sys

import pytest

from fashionlab.common.backend import without_notices
from tests.conftest import STAGE_ENV

# What TensorFlow 2.21 printed here on `import tensorflow` (AVX-512, oneDNN on, TF_ENABLE_ONEDNN_OPTS empty).
START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
W0000 00:00:1795767972.277799    2779 port.cc:148] TF_ENABLE_ONEDNN_OPTS is not set to either '0', 'false', \
'1', or 'true'. Using the default setting: true
I0000 00:00:1795767972.277848    2779 port.cc:153] oneDNN custom operations are on. You may see slightly \
different numerical results due to floating-point round-off errors from different computation orders.
I0000 00:00:1795767972.305734    2779 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use \
available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX_VNNI FMA, in other operations, \
rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1795767972.305740    2779 some_op.cc:1] an error
"""


def test_level_1_drops_info_records_with_their_continuation_lines_and_keeps_warnings_and_errors():
    kept = without_notices(START_UP, 1).splitlines()
    assert [line.split("]")[0][:5] for line in kept] == ["W0000", "E0000"]
    assert "custom operations" not in without_notices(START_UP, 1) and "AVX2" not in without_notices(START_UP, 1)


def test_onednn_notices_go_whatever_their_severity():
    notice = "E0000 00:00:1795768316.426824  4004 util.cc:131] oneDNN supports DT_HALF only with AVX-512.\n"
    error = "E0000 00:00:1795768316.426824    4004 util.cc:131] a real error mentioning oneDNN\n"
    assert without_notices(notice + error, 1) == error
    assert without_notices(notice, 0) == notice


def test_level_2_also_drops_warnings_and_level_0_keeps_everything():
    assert without_notices(START_UP, 2).splitlines() == [START_UP.splitlines()[-1]]
    assert without_notices(START_UP, 0) == START_UP


def _stderr_of(code: str, **env) -> str:
    environment = {**STAGE_ENV, **env}
    for name, value in env.items():
        if value is None:
            del environment[name]
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stderr


def _timeless(stderr: str) -> str:
    return re.sub(r"^([IWEF]\d{4}) [^\]]*\]", r"\1", stderr, flags=re.M)  # no times or thread ids


def test_import_is_silent_by_default_and_shows_what_tensorflow_prints_at_level_0():
    """Compared with a bare `import tensorflow` in the same environment (native numerics, which leave it as it
    is), so it holds on any CPU."""
    plain = _stderr_of("import tensorflow", TF_CPP_MIN_LOG_LEVEL="0")
    native = {"FASHIONLAB_NUMERICS": "native"}
    quiet = _stderr_of("import fashionlab.common.backend", TF_CPP_MIN_LOG_LEVEL=None, **native)
    assert _timeless(quiet) == _timeless(without_notices(plain, 1))
    shown = _stderr_of("import fashionlab.common.backend", TF_CPP_MIN_LOG_LEVEL="0", **native)
    assert _timeless(shown) == _timeless(plain)
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") == "1":
        assert "oneDNN custom operations are on" in plain  # the chatter was there to filter


@pytest.mark.parametrize("user_value, seen", [(None, "1"), ("0", "0"), ("2", "2")])
def test_a_users_log_level_is_kept(user_value, seen):
    code = "import os, fashionlab.common.backend, sys; sys.stderr.write(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    assert _stderr_of(code, TF_CPP_MIN_LOG_LEVEL=user_value).endswith(seen)
