"""git as every `fashionlab` command runs it: output captured, a failure in one line, and Ctrl-C deferred."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from fashionlab.common.errors import RevisionError, WriteError


def git(folder: Path, *args: str) -> str:
    """A git command in `folder`; its failure is a one-line error with git's own last line (a full disk's the
    same as any other write's: `WriteError`, exit status 74)."""
    result = run_git(folder, *args, text=True)
    if result.returncode != 0:
        if any(sign in result.stderr for sign in ("No space left on device", "Out of diskspace")):
            raise WriteError(folder, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise RevisionError(f"{folder}: git {args[0]} failed: {reason}")
    return result.stdout


def run_git(folder: Path, *args: str, **options) -> subprocess.CompletedProcess:
    """git run in `folder` as every `fashionlab` command runs it: output captured, and under
    `signals_deferred`, so that a failure means git's own, never "killed by Ctrl-C". `options` go to
    `subprocess.run` (text, input, env, check)."""
    with signals_deferred():
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, **options)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM blocked while a git command runs, in `fashionlab` and in git, which inherits the mask:
    Ctrl-C at the terminal reaches the whole job, and must not kill git mid-checkout or mid-fetch of a finished
    seed. A signal that came meanwhile reaches `fashionlab`'s handler once git is done. (A process group of its
    own was not enough: on a clean-clone run Ctrl-C still killed one, likely between the fork and the group's
    creation.)"""
    deferred = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
