"""fashionlab.common.interrupts: SIGINT and SIGTERM become `StageInterrupted` wherever they find the stage, and
nothing between the signal and the stage's one line can swallow it. (Whole stages under real signals:
tests/test_faults.py.)"""

import os
import signal
import time

import pytest

from fashionlab.common import interrupts


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_code_that_catches_every_exception_does_not_swallow_a_signal(stage_handlers, name):
    """As a library's optional import does (`try: … except Exception: pass`): the stage must stop all the same."""
    sig = getattr(signal, name)
    with pytest.raises(interrupts.StageInterrupted, match=rf"^interrupted by {name}: ") as stop:
        try:
            os.kill(os.getpid(), sig)
            time.sleep(5)  # the handler runs here, at the latest
        except Exception:
            pass
    assert stop.value.exit_code == 128 + sig
