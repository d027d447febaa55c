"""Fault injection for the tests: make one write of a stage fail, or kill the stage there.

Python imports this module at start-up when its folder is on PYTHONPATH; it does nothing unless FAULT_AT
is set. It watches, through the interpreter's audit hooks, every operation that writes under the working
folder: opening a file for writing, creating a folder, a rename, a hard link. So a write added to any
stage later is found and tried without changing the tests.

FAULT_AT     the 1-based number of the write to act on; 0 only counts
FAULT_DO     ENOSPC, EACCES, EPERM or EROFS (that OSError is raised), or SIGINT, SIGTERM, SIGKILL (sent)
FAULT_EVENT  count only this event (open, os.mkdir, os.rename, os.link); all when unset
FAULT_SCRIPT act only in the process running this script (e.g. parity.py), for stages run by DVC
FAULT_LOG    a file that gets one line per write seen: "event path"
"""

import errno
import os
import signal
import sys

EVENTS = {"open", "os.mkdir", "os.rename", "os.link"}


def _watch(at: int, action: str, only: str | None, log_path: str | None) -> None:
    root = os.getcwd() + os.sep
    seen = 0

    def target(event: str, args: tuple) -> str | None:
        if event == "open":
            path, _, flags = args
            if not flags & (os.O_WRONLY | os.O_RDWR):
                return None
        elif event == "os.mkdir":
            path = args[0]
            if os.path.isdir(path):
                return None  # an existing folder: mkdir(exist_ok=True) fails with EEXIST before anything else
        else:
            path = args[1]
        if isinstance(path, int):
            return None
        path = os.path.abspath(os.fsdecode(path))
        return path if path.startswith(root) and "__pycache__" not in path else None

    def hook(event: str, args: tuple) -> None:
        nonlocal seen
        if event not in EVENTS or (only and event != only):
            return
        path = target(event, args)
        if path is None:
            return
        seen += 1
        if log_path:
            with open(log_path, "a") as log:  # outside the working folder: not watched
                log.write(f"{event} {path[len(root) :]}\n")
        if seen != at:
            return
        if action.startswith("SIG"):
            os.kill(os.getpid(), getattr(signal, action))
            return
        code = getattr(errno, action)
        raise OSError(code, os.strerror(code), path)

    sys.addaudithook(hook)


SCRIPT = os.path.basename(sys.argv[0]) if sys.argv else ""
if os.environ.get("FAULT_AT") and os.environ.get("FAULT_SCRIPT", SCRIPT) == SCRIPT:
    _watch(
        int(os.environ["FAULT_AT"]),
        os.environ.get("FAULT_DO", "ENOSPC"),
        os.environ.get("FAULT_EVENT"),
        os.environ.get("FAULT_LOG"),
    )
