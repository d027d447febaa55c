"""`fashionlab seeds N [REV]`: give a configuration N seeds, training only those its group lacks.

The new seeds train together in one process (`pipeline.group`), which pays TensorFlow's start-up, the
dataset's verification and XLA's compilation once, not once a seed; each seed still becomes a DVC experiment
of HEAD with REV's parameters and its own seed, as `dvc exp run` would make it (`scratch`), so it joins REV's
group (`replicates.seed_group`): same code, same parameters but the seed. Seeds already finished count, so a
second call trains nothing twice; Ctrl-C keeps every seed that finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from fashionlab.common.errors import FashionlabError, RevisionError
from fashionlab.common.interrupts import EXIT_CODES
from fashionlab.experiments.predictions import remember, resolve
from fashionlab.experiments.progress import Progress
from fashionlab.experiments.replicates import (
    WORKSPACE,
    Run,
    experiments_table,
    pending,
    runs,
    seed_group,
    workspace_run,
)
from fashionlab.experiments.scratch import checkout, exclusive, save_experiment, workspace_changes
from fashionlab.experiments.workspace import check_current, workspace_params

Say = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """A seed to train: which configuration (as the user named it), and the experiment it becomes."""

    label: str
    seed: int
    name: str
    overrides: tuple[str, ...]  # `-S` values that turn the workspace's params.yaml into this run's


@dataclass(frozen=True)
class Outcome:
    job: Job
    accuracy: float | None  # None: the seed failed
    error: str | None = None


def add_seeds(root: Path, count: int, revision: str | None, say: Say, cluster: str | None = None) -> list[int]:
    """Train the seeds REV's group lacks to reach `count`, each saved as an experiment; return the new seeds."""
    with GroupTraining(root, cluster=cluster) as training:  # first: another command adding seeds changes the plan
        training.start()
        if revision is None:
            check_current(root)
        return _add_seeds(root, count, revision, say, training)


def _add_seeds(root: Path, count: int, revision: str | None, say: Say, training: GroupTraining) -> list[int]:
    table = experiments_table(root, all_commits=False)
    found, _ = runs(table)
    label = revision or WORKSPACE
    target = target_run(root, table, found, revision)
    check_code(root, target, label)
    members, _ = seed_group(found, target)
    done = {run.seed for run in members if run.scores}
    queued = {run.seed for run in pending(table) if run.configuration == target.configuration} - done
    fresh = fresh_seeds(done | queued, count - len(done) - len(queued))
    waiting = f" ({listed(sorted(queued))} already in DVC's queue)" if queued else ""
    if not fresh:
        say(f"{label}'s configuration already has {having(sorted(done))}{waiting}: nothing to run")
        return []
    say(
        f"{label}'s configuration has {having(sorted(done))}{waiting}; training {listed(fresh)} "
        f"{training.engine.where} (Ctrl-C stops it and keeps the seeds that finished)"
    )
    jobs = [job_for(root, target, label, seed) for seed in fresh]
    outcomes = training.run(jobs)
    failed = [outcome for outcome in outcomes if outcome.accuracy is None]
    if failed:
        reasons = "; ".join(f"seed {outcome.job.seed}: {outcome.error}" for outcome in failed)
        raise RevisionError(f"{len(failed)} of {len(jobs)} seeds failed, the others were kept: {reasons}")
    return fresh


def target_run(root: Path, table: list[dict], found: list[Run], revision: str | None) -> Run:
    """The run whose configuration gets the seeds: the workspace's, HEAD's or one of HEAD's experiments."""
    if revision is None:
        run = workspace_run(table)
        if run is None:
            raise RevisionError("workspace: no test scores yet (run `dvc repro` first)")
        return run
    commit = resolve(root, revision)
    for run in found:
        if run.rev == commit:
            return run
    if commit == resolve(root, "HEAD"):
        raise RevisionError(f"{revision}: no test scores that DVC shows (run `dvc repro` and commit the results)")
    raise RevisionError(
        f"{revision}: not HEAD or one of its finished experiments; new seeds run as experiments of HEAD, so check "
        f"it out first (git checkout {revision}; dvc checkout)"
    )


def check_code(root: Path, target: Run, label: str) -> None:
    """New seeds run the workspace's code: it must be the code of the runs the seeds are to join."""
    for path, recorded in target.code_files:
        file = root / path
        current = hashlib.md5(file.read_bytes(), usedforsecurity=False).hexdigest() if file.is_file() else None
        if current != recorded:
            raise RevisionError(
                f"{path}: differs from the code of {label}'s runs, and new seeds would run it: commit it, stash "
                "it, or name the revision whose code it is"
            )


def job_for(root: Path, target: Run, label: str, seed: int) -> Job:
    """The seed's experiment: named after the seed and the configuration, with the target's parameters."""
    name = f"seed{seed}-{hashlib.sha256(target.configuration.encode()).hexdigest()[:7]}"
    return Job(label, seed, name, (f"seed={seed}", *overrides(workspace_params(root), target.params)))


def fresh_seeds(taken: set[object], wanted: int) -> list[int]:
    """The `wanted` smallest seeds from 1 not in `taken`."""
    fresh, seed = [], 1
    while len(fresh) < wanted:
        if seed not in taken:
            fresh.append(seed)
        seed += 1
    return fresh


def overrides(workspace: dict[str, object], wanted: dict[str, object]) -> list[str]:
    """`-S` values that turn the workspace's params.yaml into the target's (the seed is set per run)."""
    return [
        f"{key}={json.dumps(value)}"
        for key, value in sorted(wanted.items())
        if key != "seed" and workspace.get(key) != value
    ]


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

    def start(self) -> None: ...
    def events(self, feed: Callable[[], Path | None]) -> Iterator[dict]: ...
    def stop_feeding(self) -> None: ...
    def interrupt(self, signum: int) -> None: ...
    def close(self, used: bool) -> None: ...


class LocalGroup:
    """The group process on this machine, fed a seed's folder when it starts the one before, so it never waits
    for one and at most two checkouts are on disk at a time."""

    command = (sys.executable, "-m", "fashionlab.pipeline.group")  # reads checkouts on stdin, reports on stdout
    where = "in one process"

    def __init__(self, root: Path, log: Path):
        self.root, self.log = root, log  # TensorFlow's own messages go there, read back only when it fails
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Started now if it is not yet: its imports (TensorFlow's, 3 to 4 s) then go on while the command reads
        what to train."""
        if self.process is None:
            with open(self.log, "w") as log:
                self.process = subprocess.Popen(
                    self.command, cwd=self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
                )

    def events(self, feed: Callable[[], Path | None]) -> Iterator[dict]:
        self._give(feed())
        while True:
            line = self.process.stdout.readline()
            if not line:
                yield {"event": "error", "error": self._log_tail()}
                return
            event = json.loads(line)
            if event["event"] == "start":
                self._give(feed())
            if event["event"] != "ready":
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
            from fashionlab.experiments.cluster import ClusterGroups

            self.engine = ClusterGroups(self.root, self.cluster, self.changes, self.stream or sys.stdout)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.engine.close(used=bool(self.fed))
        finally:
            self._exit.close()

    def start(self) -> None:
        """The engine, started now if it is not yet: it warms up while the command reads what to train."""
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


def having(seeds: list[int]) -> str:
    """ "1 seed (42)", "3 seeds (1, 2, 42)", "no seed yet"."""
    if not seeds:
        return "no seed yet"
    return f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))})"


def listed(seeds: list[int]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds)) if seeds else "no seed"
