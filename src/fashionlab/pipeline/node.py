"""One node of a cluster training seeds: the same group process as on one machine (`pipeline.group`), fed one
seed folder at a time, each seed's files handed back to the command that asked.

It runs on the node as a Ray actor (`experiments.cluster` makes it one), in a copy of the commit being trained
that Ray ships there, so every line of code a seed runs there is that commit's. It imports nothing but the
standard library: the node's Python must have the project's packages for the group, not for this.

The group gets the CPUs the actor holds, and its TensorFlow exactly as many threads (`TF_NUM_INTRAOP_THREADS`,
`TF_NUM_INTEROP_THREADS`, `OMP_NUM_THREADS`), which each run's `metrics/machine.json` records: a node's seed is
the seed trained alone, with `dvc repro`, on a machine of that kind and size. With portable numerics (the
default) the kind and size do not change the bytes.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

PARAMS = "params.yaml"
NUMERICS = "FASHIONLAB_NUMERICS"  # common.numerics.VARIABLE; the seeds' own params.yaml decides, group by group


class NodeGroup:
    """A warm group on this node: TensorFlow started, the dataset verified and the step compiled once."""

    def __init__(self, archives: dict[str, bytes], cache_dir: str, cpus: int):
        """`archives`: the dataset's files as the driver has them, put where `data.source: auto` looks once
        Debian's folder is missing (the group verifies them by their published checksums either way)."""
        self.home = Path.cwd()  # the commit Ray shipped: src/ holds its fashionlab
        self.place = self.home / f"seeds-{os.getpid()}"
        self.place.mkdir(exist_ok=True)
        cache = self.home / cache_dir
        cache.mkdir(parents=True, exist_ok=True)
        for name, data in archives.items():
            if not (cache / name).is_file():
                partial = cache / f".{name}.{os.getpid()}"
                partial.write_bytes(data)
                partial.replace(cache / name)
        self.threads = str(cpus)
        self.log = self.place / "group.log"
        self._spawn(os.environ.get(NUMERICS, "portable"))

    def _spawn(self, numerics: str) -> None:
        """The group process, its TensorFlow loaded with `numerics` (`FASHIONLAB_NUMERICS`)."""
        environment = {
            **os.environ,
            "PYTHONPATH": str(self.home / "src"),
            NUMERICS: numerics,
            **dict.fromkeys(("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"), self.threads),
        }
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fashionlab.pipeline.group"],
                cwd=self.home,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=environment,
            )

    def ready(self) -> dict:
        """Wait for the group's imports; where it runs. A node whose Python cannot run it raises, with why."""
        event = self._next()
        if event.get("event") != "ready":
            raise RuntimeError(event.get("error", "the group did not start"))
        return {"node": platform.node(), "threads": int(self.threads), "python": sys.version.split()[0]}

    def train(self, name: str, params: str) -> dict:
        """Train the seed whose params.yaml is `params`; its event, and on "done" its files by relative path."""
        folder = self.place / name
        shutil.rmtree(folder, ignore_errors=True)  # a seed this actor was given before, lost with its node
        folder.mkdir(parents=True)
        (folder / PARAMS).write_text(params, encoding="utf-8")
        self._give(folder)
        while (event := self._next())["event"] not in ("done", "failed"):
            if event["event"] == "error":
                raise RuntimeError(event["error"])
            if event["event"] == "switch":  # a seed of the other numerics: a group started with them trains it
                self.process.wait()
                self._spawn(event["numerics"])
                self._give(folder)
        if event["event"] == "done":
            event["files"] = {
                path.relative_to(folder).as_posix(): path.read_bytes()
                for path in sorted(folder.rglob("*"))
                if path.is_file() and path.name != PARAMS
            }
        event["node"] = platform.node()
        shutil.rmtree(folder, ignore_errors=True)
        return event

    def _give(self, folder: Path) -> None:
        self.process.stdin.write(f"{folder}\n")
        self.process.stdin.flush()

    def _next(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            lines = self.log.read_text(errors="replace").strip().splitlines()
            return {
                "event": "error",
                "error": f"exit status {self.process.returncode}: {(lines or ['no message'])[-1]}",
            }
        return json.loads(line)
