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

FAULT_NAN_SEED  a seed whose run starts from an infinite weight, so its loss is NaN from the first step: the real
                NaN check of the loop then stops it (`fashionlab seeds` must fail that seed alone)
FAULT_NAN_EPSILON  the same for every seed of the configurations with this `model.epsilon` (a race must drop
                them as failed, not as worse)
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


def _poison(seed: int | None, epsilon: float | None) -> None:
    """Once fashionlab.model.mlp is imported, `build_model` right after `seed_everything(seed)`, or for a model of
    this ε, gives a model with one infinite weight (for a group of seeds, which builds a model per seed to draw
    its weights)."""
    import importlib.abc
    import importlib.util

    seeded: list[int] = []

    class Patch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name not in ("fashionlab.model.mlp", "fashionlab.training.loop"):
                return None
            sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(name)
            finally:
                sys.meta_path.insert(0, self)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                if name == "fashionlab.training.loop":
                    seed_everything = module.seed_everything
                    module.seed_everything = lambda value: (seeded.append(value), seed_everything(value))[1]
                else:
                    build_model = module.build_model

                    def poisoned(params):
                        model = build_model(params)
                        if (seeded and seeded[-1] == seed) or params.epsilon == epsilon:
                            model.weights[0].assign(model.weights[0] * float("inf"))
                        return model

                    module.build_model = poisoned

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Patch())


if os.environ.get("FAULT_NAN_SEED") or os.environ.get("FAULT_NAN_EPSILON"):
    _poison(
        int(os.environ["FAULT_NAN_SEED"]) if os.environ.get("FAULT_NAN_SEED") else None,
        float(os.environ["FAULT_NAN_EPSILON"]) if os.environ.get("FAULT_NAN_EPSILON") else None,
    )
