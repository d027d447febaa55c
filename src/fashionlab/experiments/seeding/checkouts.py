"""Scratch checkouts of the project, each saved as a DVC experiment once a seed's outputs are in it.

A seed trained by `pipeline.group` must end up as `dvc exp run` would leave it: an experiment of HEAD whose
commit holds the workspace's changes, its `params.yaml` with the seed set, a `dvc.lock` that records what
each stage read and wrote, and the outputs in the project's DVC cache. So each seed gets a clone of the
project at HEAD, with the workspace's changes to tracked files and the parameter overrides applied by DVC's
own `-S` machinery; the group writes the outputs into it, and `dvc exp save` there records the lock (it
runs `dvc commit` on every stage), fills the project's cache and commits the experiment, whose ref is then
fetched into the project. The user's workspace is never touched, as with DVC's queue, which runs each
experiment in such a temporary clone too.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.git import git, run_git
from fashionlab.experiments.terms.names import PARAMS, SCRATCH


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[Path]:
    """The project's scratch folder, for one `fashionlab` command at a time: two would train the same seeds.

    Leftovers of a command that was killed are removed first; the lock goes with the process, however it ends.
    """
    folder = root / SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RevisionError(
                f"{root}: another `fashionlab seeds` or `fashionlab decide` is adding seeds here; wait for it to end"
            ) from None
        checkouts = folder / "checkouts"
        shutil.rmtree(checkouts, ignore_errors=True)
        checkouts.mkdir()
        try:
            yield checkouts
        finally:
            shutil.rmtree(checkouts, ignore_errors=True)


def workspace_changes(root: Path) -> tuple[list[str], list[str]]:
    """Tracked files the workspace has changed since HEAD, and those it deleted (as DVC's queue takes them)."""
    changed = git(root, "diff", "HEAD", "--name-only", "--no-renames", "--relative", "-z").split("\0")
    deleted = set(git(root, "diff", "HEAD", "--name-only", "--diff-filter=D", "--relative", "-z").split("\0"))
    return sorted(path for path in changed if path and path not in deleted), sorted(path for path in deleted if path)


def checkout(root: Path, folder: Path, changes: tuple[list[str], list[str]], overrides: list[str]) -> Path:
    """A clone of the project at HEAD in `folder`, with the workspace's `changes` and the `-S` `overrides`
    applied, whose DVC cache is the project's. Returns the project's folder inside it."""
    from dvc.utils.hydra import apply_overrides

    top = Path(git(root, "rev-parse", "--show-toplevel").strip())
    head = git(root, "rev-parse", "HEAD").strip()
    git(folder.parent, "clone", "--quiet", "--shared", "--no-checkout", str(top), folder.name)
    git(folder, "checkout", "--quiet", "--detach", head)
    project = folder / root.relative_to(top)
    changed, deleted = changes
    for path in changed:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / path, project / path)
    for path in deleted:
        (project / path).unlink(missing_ok=True)
    cache = (root / ".dvc" / "cache").resolve()
    (project / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {cache}\n", encoding="utf-8")
    apply_overrides(project / PARAMS, overrides)
    return project


def save_experiment(root: Path, project: Path, name: str) -> str:
    """`dvc exp save -n NAME` in the checkout `project`, then its ref fetched into `root`; returns the ref.

    A ref of that name already in the project is not replaced (git refuses a fetch that is not a fast-forward).
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    logging.getLogger("dvc").setLevel(logging.ERROR)  # DVC's hints are for its own command line
    here = Path.cwd()
    os.chdir(project)  # as DVC's command line does: parts of `exp save` resolve paths from the working directory
    try:
        with Repo(str(project)) as repo:
            repo.experiments.save(name=name)
            (ref,) = [ref for ref in repo.scm.iter_refs(base="refs/exps/") if ref.endswith(f"/{name}")]
    except DvcException as err:
        raise RevisionError(f"{name}: dvc exp save failed: {err}") from None
    finally:
        os.chdir(here)
    _without_dvc_temporary(project, ref)
    git(root, "fetch", "--quiet", "--no-tags", str(project), f"{ref}:{ref}")
    return ref


def _without_dvc_temporary(project: Path, ref: str) -> None:
    """The experiment again without `.dvc/tmp/repro.dat`, which `dvc exp save` commits (its queue adds the file
    to git's index, and DVC itself warns of it as "likely committed to Git by mistake"; `dvc exp run` never
    commits it). Same tree otherwise, same parent, author, committer, dates and message."""
    temporary = ".dvc/tmp/repro.dat"
    if not git(project, "ls-tree", "--name-only", ref, "--", temporary).strip():
        return
    git(project, "read-tree", ref)
    git(project, "rm", "--cached", "--quiet", "--", temporary)
    tree = git(project, "write-tree").strip()
    fields = git(project, "log", "-1", "--date=raw", "--format=%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%P", ref)
    keys = ("AUTHOR_NAME", "AUTHOR_EMAIL", "AUTHOR_DATE", "COMMITTER_NAME", "COMMITTER_EMAIL", "COMMITTER_DATE")
    values = fields.rstrip("\n").split("\0")
    identity = {f"GIT_{key}": value for key, value in zip(keys, values, strict=False)}
    message = git(project, "log", "-1", "--format=%B", ref)
    parents = [f"-p{parent}" for parent in values[6].split()]
    environment = {**os.environ, **identity}
    committed = run_git(
        project, "commit-tree", tree, *parents, "-F", "-", input=message, text=True, env=environment, check=True
    )
    commit = committed.stdout.strip()
    git(project, "update-ref", ref, commit)
