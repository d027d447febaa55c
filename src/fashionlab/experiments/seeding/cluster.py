"""Seeds trained on a Ray cluster: one warm group per node (`pipeline.node`), fed seeds as each comes free, every
seed's files back to this machine, which saves each as a DVC experiment as it does for its own group.

What a node runs is the commit being trained: HEAD's files, exported by git and shipped by Ray's runtime
environment; uncommitted code is refused, since the experiment would record code no node ran. The dataset's
archives go from this machine to each node once, through Ray's object store, and the group verifies them by
their published checksums, as `prepare` does. A node lost mid-seed loses only that seed, which goes to another
node; nothing is saved twice, since only this machine saves, and only what came back. Ctrl-C keeps every seed
already back and leaves the cluster running; only `--cluster local`, which this command started, stops with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from fashionlab.common import numerics
from fashionlab.common.errors import RevisionError
from fashionlab.common.outputs import write_files
from fashionlab.common.params import load_params
from fashionlab.data.catalog import DATASETS
from fashionlab.data.download import locate_archives
from fashionlab.experiments.records.git import git, run_git
from fashionlab.experiments.records.workspace import workspace_numerics
from fashionlab.experiments.seeding import cluster_access
from fashionlab.experiments.seeding.cluster_access import first_line
from fashionlab.experiments.terms.names import PARAMS
from fashionlab.experiments.terms.wording import counted

LOCAL = "local"
READY_SECONDS = 600.0  # for every node's group to import TensorFlow, the first time maybe from a cold disk
CODE = ("src",)  # what a node needs of the commit: the package; the group writes every output itself
PASSED_ON = ("TF_ENABLE_ONEDNN_OPTS",)  # this machine's settings that decide a seed's numbers
AHEAD = 2  # seeds a node holds: the one it trains and the next, so that it never waits for this machine


class ClusterGroups:
    """The engine on a Ray cluster (`engine.Engine`)."""

    ahead = False  # joining a cluster and starting a group on every node is worth it only for seeds to train

    def __init__(self, root: Path, address: str, changes: tuple[list[str], list[str]], stream: TextIO):
        self.root, self.address, self.changes, self.stream = root, address, changes, stream
        self.groups: list = []  # one actor per node
        self.ray = None
        self.code: Path | None = None  # HEAD's package, exported for the nodes
        self.stopping: int | None = None  # a signal, once one arrived
        self.where = f"on the cluster at {address}"

    def start(self) -> None:
        if self.ray is not None:
            return
        self._refuse_uncommitted_code()
        # Under `uv run`, Ray would build a new environment on every node; the nodes' own is the one documented.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        if self.address != LOCAL:
            cluster_access.prepare(self.address)  # before Ray is imported
        try:
            import ray
        except ImportError:
            raise RevisionError("--cluster needs Ray, which this environment lacks (`make install`)") from None
        self.code = Path(tempfile.mkdtemp(prefix="fashionlab-commit-"))
        self.commit = _export_head(self.root, self.code)
        # The nodes import fashionlab from the commit's src/, ahead of any installed copy, and start their groups
        # with the workspace's numerics (a seed of the other mode restarts its node's group: pipeline/node.py);
        # with native numerics they run TensorFlow's oneDNN kernels as this machine asks (TF_ENABLE_ONEDNN_OPTS).
        variables = {"PYTHONPATH": "src", numerics.VARIABLE: workspace_numerics(self.root)}
        variables |= {name: os.environ[name] for name in PASSED_ON if name in os.environ}
        runtime = {"working_dir": str(self.code), "env_vars": variables}
        options = {"logging_level": "ERROR", "log_to_driver": False, "runtime_env": runtime}
        if self.address == LOCAL:
            try:
                ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise RevisionError(f"cannot join the Ray cluster at {LOCAL}: {first_line(err)}") from None
        else:
            cluster_access.join(ray, self.address, options)
        self.ray = ray
        self._start_groups()

    def _refuse_uncommitted_code(self) -> None:
        changed = [path for path in self.changes[0] + self.changes[1] if path.startswith(tuple(f"{c}/" for c in CODE))]
        if changed:
            raise RevisionError(
                f"{changed[0]}: not committed, and a cluster's nodes run the commit: commit or stash it first"
            )

    def _start_groups(self) -> None:
        """One group per node that has CPUs, holding all of them, with the dataset this machine has."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from fashionlab.pipeline.node import NodeGroup

        params = load_params(self.root / PARAMS)
        spec = DATASETS[params.data.dataset]
        found = locate_archives(spec, params.data.source, self.root / params.data.cache_dir)
        archives = self.ray.put({name: path.read_bytes() for name, path in found.items()})
        nodes = [node for node in self.ray.nodes() if node["Alive"] and node["Resources"].get("CPU", 0) >= 1]
        if not nodes:
            raise RevisionError(f"the Ray cluster at {self.address} has no node with a CPU to train on")
        remote = self.ray.remote(NodeGroup)
        for node in nodes:
            cpus = int(node["Resources"]["CPU"])
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            group = remote.options(num_cpus=cpus, scheduling_strategy=strategy, max_restarts=0).remote(
                archives, params.data.cache_dir, cpus
            )
            self.groups.append(group)
        started = [group.ready.remote() for group in self.groups]
        ready, waiting = self.ray.wait(started, num_returns=len(started), timeout=READY_SECONDS)
        if waiting:
            raise RevisionError(f"{len(waiting)} of the cluster's {len(started)} nodes did not start a group in time")
        described = []
        for reference in ready:
            try:
                described.append(self.ray.get(reference))
            except self.ray.exceptions.RayError as err:
                raise RevisionError(
                    f"a node of the cluster cannot train: {_cause(err)} (each node needs the project's packages: "
                    "`make install` in a clone there, and `ray start` from that environment)"
                ) from None
        self.where = f"on {counted(len(described), 'node')} of {self.address}"
        nodes = ", ".join(f"{d['node']} ({counted(d['threads'], 'thread')})" for d in described)
        print(f"training {self.where}: {nodes}; the code of commit {self.commit[:7]}", file=self.stream, flush=True)

    def events(self, feed: Callable[[], Path | None]) -> Iterator[dict]:
        """Keep every node busy: each holds the seed it trains and the next, and gets its next one before this
        machine saves the last; a seed's files are written into its folder once back."""
        held = dict.fromkeys(self.groups, 0)  # the seeds each node holds
        running: dict = {}  # Ray's reference to a seed's result -> (the group, the seed's checkout)
        retry: list[Path] = []

        def fill() -> list[dict]:
            started = []
            while not self.stopping:
                group = min((g for g in self.groups if held[g] < AHEAD), key=held.get, default=None)
                project = (retry.pop(0) if retry else feed()) if group is not None else None
                if project is None:
                    return started
                held[group] += 1
                params = (project / PARAMS).read_text(encoding="utf-8")
                running[group.train.remote(_seed_name(project), params)] = group, project
                started.append({"event": "start", "folder": str(project)})
            return started

        while True:
            yield from fill()
            if self.stopping:
                yield {"event": "error", "error": f"interrupted by signal {self.stopping}"}
                return
            if not running:
                return
            ready, _ = self.ray.wait(list(running), num_returns=1, timeout=1.0)
            finished = []
            for reference in ready:
                group, project = running.pop(reference)
                held[group] -= 1
                try:
                    event = self.ray.get(reference)
                except _lost(self.ray.exceptions):
                    if group in self.groups:  # its node is gone: its seeds go to another
                        self.groups.remove(group)
                    retry.append(project)
                    print(
                        f"a node left the cluster; its seed {_seed_name(project)} goes to another node",
                        file=self.stream,
                        flush=True,
                    )
                    if not self.groups:
                        yield {"event": "error", "error": "every node of the cluster is gone"}
                        return
                    continue
                except self.ray.exceptions.RayError as err:
                    yield {"event": "error", "error": _cause(err)}
                    return
                if event["event"] == "done":
                    _write_back(project, event.pop("files"))
                finished.append({**event, "folder": str(project)})
            yield from fill()  # before this machine saves what came back
            yield from finished

    def stop_feeding(self) -> None:
        """The feed returns nothing more; groups stay warm for the next round."""

    def interrupt(self, signum: int) -> None:
        self.stopping = signum  # acted on between waits: Ray's calls do not belong in a signal handler

    def close(self, used: bool) -> None:
        if self.ray is not None:
            with contextlib.suppress(Exception):  # a node already gone has nothing to stop
                for group in self.groups:
                    self.ray.kill(group)
            self.ray.shutdown()  # leaves a cluster it joined running; stops the one `local` started
        if self.code is not None:
            shutil.rmtree(self.code, ignore_errors=True)


def _lost(errors) -> tuple[type[Exception], ...]:
    """What Ray raises for a task whose node or actor is gone: the actor, its node, or its result lost with them."""
    return (errors.RayActorError, errors.ObjectLostError, errors.NodeDiedError, errors.WorkerCrashedError)


def _seed_name(project: Path) -> str:
    """A name for the seed's folder on a node: one per checkout (the project may sit below the clone's root)."""
    return hashlib.sha256(str(project).encode()).hexdigest()[:16]


def _write_back(project: Path, files: dict[str, bytes]) -> None:
    """The seed's outputs into its checkout, where `dvc exp save` takes them from: all of them or none (a full disk
    is one line, `WriteError`)."""
    write_files({project / relative: data for relative, data in files.items()})


def _export_head(root: Path, folder: Path) -> str:
    """HEAD's package, as git has it, into `folder`: what the nodes run. Returns the commit."""
    commit = git(root, "rev-parse", "HEAD").strip()
    top = Path(git(root, "rev-parse", "--show-toplevel").strip())
    inside = root.resolve().relative_to(top.resolve()).as_posix()
    paths = [f"{inside}/{part}" if inside != "." else part for part in CODE]
    archive = run_git(root, "-C", str(top), "archive", "--format=tar", commit, "--", *paths)
    if archive.returncode != 0:
        raise RevisionError(f"git archive failed: {archive.stderr.decode(errors='replace').strip()}")
    prefix = "" if inside == "." else f"{inside}/"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for member in tar.getmembers():
            member.name = member.name.removeprefix(prefix)
        tar.extractall(folder, filter="data")
    return commit


def _cause(err: Exception) -> str:
    """The message a remote error carries, on one line: the last line of the node's own error."""
    inner = getattr(err, "cause", None) or err
    return first_line(inner) if inner is not err else str(err).strip().splitlines()[-1]
