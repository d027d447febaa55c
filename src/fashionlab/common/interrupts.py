"""SIGINT and SIGTERM in any stage: one line and the shell's exit status, never a traceback, and never
between the renames that put a stage's outputs in place."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from fashionlab.common.errors import FashionlabError

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}  # 128 + the signal's number, as a shell reports a killed job

_held: list[str] | None = None  # signals that arrived while held back; None when not holding


class StageInterrupted(BaseException):
    """The stage stopped on SIGINT or SIGTERM; the outputs are whole (all old, or all new).

    Not a `FashionlabError`: raised wherever the signal finds the stage, it must pass through the code that
    catches every `Exception` (Keras's model loader, libraries' optional imports inside TensorFlow's), as
    `KeyboardInterrupt` does. As an `Exception` it could be swallowed there: a Ctrl-C during TensorFlow's import
    once let a stage run on to exit status 0.
    """

    def __init__(self, signal_name: str, when: str = "no output is half-written"):
        super().__init__(f"interrupted by {signal_name}: {when}; run `dvc repro` again")
        self.exit_code = EXIT_CODES[signal_name]


def _interrupt(signum: int, _frame) -> None:
    name = signal.Signals(signum).name
    if _held is not None:
        _held.append(name)
        return
    raise StageInterrupted(name)


def _one_line(kind, err, tb) -> None:
    """An error raised while the stage is still importing (Ctrl-C during TensorFlow's import): one line."""
    if not isinstance(err, FashionlabError | StageInterrupted):
        sys.__excepthook__(kind, err, tb)
        return
    print(f"{Path(sys.argv[0]).name}: error: {err}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(err.exit_code)  # the interpreter would otherwise exit with status 1


def install() -> None:
    """Turn SIGINT and SIGTERM into `StageInterrupted`; first thing in a stage, before the slow imports."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    sys.excepthook = _one_line


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block (a few renames), then act on them.

    A signal that arrived meanwhile raises `StageInterrupted` after the block completed, so the
    outputs are all new; if the block failed, its own error is raised instead.
    """
    global _held
    _held = []
    try:
        yield
    finally:
        arrived, _held = _held, None
    if arrived:
        raise StageInterrupted(arrived[0], "its outputs were written, but DVC did not record them")
