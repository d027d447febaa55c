"""What a person sees while seeds train: one live line for the whole group, a line per seed as it ends.

On a terminal the live line is redrawn in place (seeds done, the one training and its epoch, the time so far
and an estimate of what is left); elsewhere (a log, a pipe) only the lines per seed appear. Nothing from DVC
or TensorFlow reaches it: the group's process reports in JSON, and its own messages go to a log.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import TextIO


def elapsed(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02}"


class Progress:
    def __init__(self, labels: list[str], stream: TextIO | None = None, sides: bool = False):
        """`labels`: each seed's configuration as the user named it, shown before the seed when `sides`."""
        self.total, self.sides = len(labels), sides
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.done = self.failed = 0
        self.training: tuple[str, int, int, int] | None = None  # label, seed, epoch, epochs
        self.epoch_seconds: list[float] = []  # epochs after the first the group ran, which compiles
        self.overheads: list[float] = []  # each finished seed's seconds outside its epochs
        self._seed_epochs = 0.0

    def event(self, kind: str, label: str, seed: int, event: dict) -> None:
        """Take one record of `pipeline.group` about `label`'s `seed`."""
        name = f"{label} seed {seed}" if self.sides else f"seed {seed}"
        if kind == "start":
            self.training, self._seed_epochs = (label, seed, 0, 0), 0.0
        elif kind == "epoch":
            self.training = (label, seed, event["epoch"], event["epochs"])
            if self.done + self.failed or event["epoch"] > 1:
                self.epoch_seconds.append(event["seconds"])
            self._seed_epochs += event["seconds"]
        elif kind == "done":
            self.done += 1
            self.overheads.append(max(0.0, event["seconds"] - self._seed_epochs))
            self.line(f"{name}: test accuracy {event['accuracy']:.4f} ({event['seconds']:.1f} s, {event['name']})")
        elif kind == "failed":
            self.failed += 1
            self.line(f"{name}: failed: {event['error']}")
        self._draw()

    def line(self, text: str) -> None:
        """A line that stays, above the live one."""
        self._clear()
        print(text, file=self.stream, flush=True)
        self._draw()

    def close(self) -> None:
        self._clear()

    def _left(self) -> float | None:
        if not self.epoch_seconds or self.training is None or not self.training[3]:
            return None
        _, _, epoch, epochs = self.training
        after = self.total - self.done - self.failed - 1  # seeds after the one training
        overhead = statistics.fmean(self.overheads) if self.overheads else 0.0
        return ((epochs - epoch) + after * epochs) * statistics.median(self.epoch_seconds) + (after + 1) * overhead

    def _draw(self) -> None:
        if not self.live:
            return
        parts = [f"{self.done} of {self.total} seeds done" + (f", {self.failed} failed" if self.failed else "")]
        if self.training is not None and self.done + self.failed < self.total:
            label, seed, epoch, epochs = self.training
            name = f"{label} seed {seed}" if self.sides else f"seed {seed}"
            parts.append(f"training {name}" + (f" (epoch {epoch}/{epochs})" if epochs else ""))
        parts.append(f"{elapsed(time.monotonic() - self.started)} elapsed")
        if (left := self._left()) is not None:
            parts.append(f"about {elapsed(left)} left")
        self.stream.write("\r\x1b[K" + " · ".join(parts))
        self.stream.flush()

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
