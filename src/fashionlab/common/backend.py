"""TensorFlow and Keras, imported once, without TensorFlow's start-up chatter on stderr.

Importing TensorFlow writes INFO records (oneDNN is on, CPU features) through absl before TensorFlow's
log filter exists, so `TF_CPP_MIN_LOG_LEVEL` does not hide them, and on CPUs where oneDNN is on by
default (AVX-512) they would come before every stage's one-line error. Every module of the library
imports `tf` and `keras` from here, so TensorFlow's first import happens with stderr filtered by the
rule TensorFlow documents for `TF_CPP_MIN_LOG_LEVEL`: records below that level are dropped. The level
defaults to 1 (warnings and errors still show); a user's own value is kept, and 0 shows everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

from fashionlab.common import numerics

SEVERITIES = "IWEF"  # absl's record prefix, in TF_CPP_MIN_LOG_LEVEL's order: INFO 0 … FATAL 3
_RECORD = re.compile(rf"([{SEVERITIES}])\d{{4}} [^\]]*\] (oneDNN )?")  # "I0000 00:00:17.74  2787 port.cc:153] …"
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def without_notices(text: str, min_level: int) -> str:
    """`text` without absl's preamble, records under `min_level` and oneDNN's notices (each with its
    continuation lines); unchanged at level 0.

    oneDNN's notices describe the CPU, not the run, whatever severity they are logged at: "custom
    operations are on" (INFO) and "supports DT_HALF only on platforms with AVX-512. Falling back to the
    default Eigen-based implementation" (ERROR, although nothing failed).
    """
    if min_level <= 0:
        return text
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(_ABSL_PREAMBLE):
            continue
        record = _RECORD.match(line)
        if record:
            dropping = SEVERITIES.index(record.group(1)) < min_level or record.group(2) is not None
        if not dropping:
            kept.append(line)
    return "".join(kept)


def log_level() -> int:
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it, set to 1 when the user has not set it."""
    value = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    return int(value) if value.strip().isdigit() else 0


@contextlib.contextmanager
def notices_filtered() -> Iterator[None]:
    """Hold what the block writes to file descriptor 2, then write it out through `without_notices`.

    For blocks that print no progress: their stderr appears when they end.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            sys.stderr.write(without_notices(captured.read().decode("utf-8", errors="replace"), log_level()))
            sys.stderr.flush()


log_level()  # before the import: the default applies to TensorFlow's own filter too
NUMERICS = numerics.apply()  # before the import too: the libraries read their switches when TensorFlow loads
with notices_filtered():
    import keras
    import tensorflow as tf


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs oneDNN's kernels here (on by default on some CPUs, `TF_ENABLE_ONEDNN_OPTS` sets
    it): they round differently, so a run's numbers depend on it. None where TensorFlow does not say."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


__all__ = ["NUMERICS", "keras", "notices_filtered", "onednn_enabled", "tf"]
