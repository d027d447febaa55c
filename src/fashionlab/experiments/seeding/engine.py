"""Seeds trained by an engine and saved as experiments as soon as each is done, while the next ones train.

An engine is where seeds train: this machine's group process (`local.LocalGroup`), or warm groups on a cluster's
nodes (`cluster.ClusterGroups`). `GroupTraining` is what every command that trains seeds uses, whichever engine
it picked: it makes each seed's checkout when the engine asks for it, saves each finished seed, and keeps every
finished seed when a signal stops it.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TextIO

from fashionlab.common.errors import FashionlabError, RevisionError
from fashionlab.common.interrupts import EXIT_CODES
from fashionlab.experiments.records.predictions import remember
from fashionlab.experiments.seeding.checkouts import checkout, exclusive, save_experiment, workspace_changes
from fashionlab.experiments.seeding.local import LocalGroup
from fashionlab.experiments.seeding.plan import Job, Outcome
from fashionlab.experiments.seeding.progress import Progress
from fashionlab.experiments.terms.wording import listed


class Interrupted(FashionlabError):
    def __init__(self, signal_name: str, kept: list[Outcome]):
        by_label: dict[str, list[int]] = {}
        for outcome in kept:
            by_label.setdefault(outcome.job.label, []).append(outcome.job.seed)
        seeds = "; ".join(f"{label}'s {listed(sorted(seeds))}" for label, seeds in by_label.items()) or "none"
        super().__init__(f"interrupted by {signal_name}: the seeds that finished were kept ({seeds}); run it again")
        self.exit_code = EXIT_CODES[signal_name]


class Engine(Protocol):
    """Where seeds train: this machine's group process (`LocalGroup`), or warm groups on a cluster's nodes
    (`cluster.ClusterGroups`). It asks for seeds when it has room, and reports on each as `pipeline.group` does;
    a seed it calls "done" has its files in its folder."""

    where: str  # "in one process", "on 4 nodes of HOST:PORT": what the progress says
    ahead: bool  # cheap to start before it is known whether there is a seed to train

    def start(self) -> None: ...
    def events(self, feed: Callable[[], Path | None]) -> Iterator[dict]: ...
    def stop_feeding(self) -> None: ...
    def interrupt(self, signum: int) -> None: ...
    def close(self, used: bool) -> None: ...


class GroupTraining:
    """The seeds a command asks for, trained by an engine (this machine's group by default), each saved as an
    experiment as soon as it is done, while the next ones train."""

    def __init__(self, root: Path, stream: TextIO | None = None, sides: bool = False, cluster: str | None = None):
        """`cluster`: a Ray address (or "local"), whose nodes train the seeds instead of this machine."""
        self.root, self.stream, self.sides = root, stream, sides  # where the progress goes (None: stdout)
        self.cluster = cluster
        self.engine: Engine | None = None
        self.fed: dict[str, tuple[Job, Path]] = {}  # the checkouts given to it: job and folder by project path
        self.signal: str | None = None  # SIGINT or SIGTERM, once one arrived

    def __enter__(self) -> GroupTraining:
        self._exit = contextlib.ExitStack()
        self.checkouts = self._exit.enter_context(exclusive(self.root))
        self.changes = workspace_changes(self.root)
        if self.cluster is None:
            self.engine = LocalGroup(self.root, self.checkouts.parent / "group.log")
        else:
            from fashionlab.experiments.seeding.cluster import ClusterGroups

            self.engine = ClusterGroups(self.root, self.cluster, self.changes, self.stream or sys.stdout)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.engine.close(used=bool(self.fed))
        finally:
            self._exit.close()

    def warm(self) -> None:
        """The engine started ahead where that is cheap (this machine's group: its imports overlap the reading of
        what to train, and it is stopped unused if nothing is); a cluster waits until there is a seed to train."""
        if self.engine.ahead:
            self.engine.start()

    def start(self) -> None:
        """The engine, started now if it is not yet."""
        self.engine.start()

    def run(self, jobs: list[Job]) -> list[Outcome]:
        """Train `jobs`, save each finished one; the outcomes in the order of `jobs`. A checkout is made when the
        engine asks for the seed, and removed once the seed is saved."""
        with self._signals_held():
            self.start()
            waiting, fed = list(jobs), self.fed

            def feed() -> Path | None:
                if self.signal:
                    self.engine.stop_feeding()
                    return None
                if not waiting:
                    return None
                job = waiting.pop(0)
                folder = self.checkouts / job.name  # unique in a command: the seed and the configuration
                project = checkout(self.root, folder, self.changes, list(job.overrides))
                fed[str(project)] = job, folder
                return project

            outcomes = self._follow(fed, self.engine.events(feed), [job.label for job in jobs])
        if self.signal:  # it came after the last seed ended: the seeds are kept, the command stops all the same
            raise Interrupted(self.signal, [outcome for outcome in outcomes if outcome.accuracy is not None])
        return [next(outcome for outcome in outcomes if outcome.job is job) for job in jobs]

    def _follow(self, fed: dict[str, tuple[Job, Path]], events: Iterator[dict], labels: list[str]) -> list[Outcome]:
        """Read the engine's progress until every job ended; save each seed that is done."""
        progress = Progress(labels, self.stream, self.sides)
        outcomes: list[Outcome] = []
        try:
            while len(outcomes) < len(labels):
                event = next(events)
                kind = event["event"]
                if kind == "error":
                    self._stopped(event, outcomes)
                job, folder = fed[event["folder"]]
                if kind == "done":
                    remember(self.root, save_experiment(self.root, Path(event["folder"]), job.name))
                    outcomes.append(Outcome(job, event["accuracy"]))
                elif kind == "failed":
                    outcomes.append(Outcome(job, None, event["error"]))
                if kind in ("done", "failed"):
                    shutil.rmtree(folder, ignore_errors=True)
                progress.event(kind, job.label, job.seed, {**event, "name": job.name})
        finally:
            progress.close()
            events.close()
        return outcomes

    def _stopped(self, event: dict, outcomes: list[Outcome]) -> None:
        """The engine stopped early: by a signal, or on an error that stops every seed (a full disk)."""
        kept = [outcome for outcome in outcomes if outcome.accuracy is not None]
        if self.signal:
            raise Interrupted(self.signal, kept)
        error = RevisionError(f"training the seeds stopped: {event['error']}")
        error.exit_code = event.get("exit_code", error.exit_code)
        raise error

    @contextlib.contextmanager
    def _signals_held(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop the training (passed on to it) but not the saving of finished seeds."""

        def stop(signum, _frame):
            self.signal = self.signal or signal.Signals(signum).name
            self.engine.interrupt(signum)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
