"""The engine on this machine: one group process (`pipeline.group`) that trains every seed a command asks for,
paying TensorFlow's start-up, the dataset's verification and XLA's compilation once, not once a seed."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from fashionlab.common import numerics
from fashionlab.experiments.records.workspace import workspace_numerics


class LocalGroup:
    """The group process on this machine, fed a seed's folder when it starts the one before, so it never waits
    for one and at most two checkouts are on disk at a time."""

    command = (sys.executable, "-m", "fashionlab.pipeline.group")  # reads checkouts on stdin, reports on stdout
    where = "in one process"
    ahead = True

    def __init__(self, root: Path, log: Path):
        self.root, self.log = root, log  # TensorFlow's own messages go there, read back only when it fails
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Started now if it is not yet, with the workspace's numerics (what most seeds ask for): its imports
        (TensorFlow's, seconds) then go on while the command reads what to train."""
        if self.process is None:
            self._spawn(workspace_numerics(self.root))

    def _spawn(self, mode: numerics.Mode) -> None:
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=numerics.environment(mode),
            )

    def events(self, feed: Callable[[], Path | None]) -> Iterator[dict]:
        self._give(feed())
        while True:
            line = self.process.stdout.readline()
            if not line:
                yield {"event": "error", "error": self._log_tail()}
                return
            event = json.loads(line)
            if event["event"] == "switch":  # a seed of the other numerics: a group started with them trains it
                self.process.wait()
                self._spawn(event["numerics"])
                self._give(Path(event["folder"]))
            elif event["event"] == "start":
                self._give(feed())
            if event["event"] not in ("ready", "switch"):
                yield event

    def _give(self, project: Path | None) -> None:
        if project is not None:
            with contextlib.suppress(BrokenPipeError):  # it ended: reading its output says why
                self.process.stdin.write(f"{project}\n")
                self.process.stdin.flush()

    def stop_feeding(self) -> None:
        """Nothing more to train: the group ends with the seed in hand, signal or not."""
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()

    def interrupt(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def close(self, used: bool) -> None:
        if self.process is None:
            return
        if not used:
            self.process.kill()  # started ahead, and nothing came to train
        self.stop_feeding()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _log_tail(self) -> str:
        self.process.wait()
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return f"exit status {self.process.returncode}" + (f": {lines[-1]}" if lines else "")
