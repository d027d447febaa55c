"""Revisions as git and DVC name them, and files read from git's objects without touching the working tree."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.records.git import git, run_git


def resolve(root: Path, revision: str) -> str:
    """The commit behind a git revision or a DVC experiment name; an unknown one is a one-line error.

    As DVC's `resolve_rev` resolves them, read with git alone (importing and opening DVC's repository was a
    large share of `compare`'s time: docs/explanation/statistics.md, "How long it takes to ask"): a name git does
    not know is an experiment's, whose ref is `refs/exps/<baseline, split after two characters>/<name>`; two
    experiments of one name are told apart by the one whose baseline is HEAD.
    """
    found = run_git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", text=True)
    if found.returncode == 0:
        return found.stdout.strip()
    unknown = f"{revision}: unknown revision (expected a commit, branch, tag or DVC experiment name)"
    if revision == "HEAD" or revision.startswith("refs/"):
        raise RevisionError(unknown)
    listed = git(root, "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps/").splitlines()
    named: dict[str, str] = {}  # baseline -> commit
    for sha, ref in (line.split(" ", 1) for line in listed):
        parts = ref.split("/")  # refs, exps, the baseline's first two characters, the rest, the name
        baseline = "".join(parts[2:4])
        if len(parts) == 5 and parts[4] == revision and len(baseline) == 40:  # not DVC's own exec/, temp/, …
            named[baseline] = sha
    if len(named) > 1:
        head = resolve(root, "HEAD")
        named = {baseline: sha for baseline, sha in named.items() if baseline == head}
        if len(named) != 1:
            raise RevisionError(f"{revision}: ambiguous: experiments of several commits have this name")
    if not named:
        raise RevisionError(unknown)
    return next(iter(named.values()))


class Blob(NamedTuple):
    """A file's bytes, and its object id in git where it was read from git (the key of the parsed rows' cache)."""

    sha: str | None
    data: bytes


def read_committed(root: Path, files: list[tuple[str, str]], contents: bool = True) -> list[Blob | None]:
    """Each (commit, path) in git's objects, None where the commit lacks it, in one `git cat-file`; with
    `contents=False`, only each one's object id (`Blob.data` is b"").

    Paths are relative to the DVC project, which may sit below the git repository's root.
    """
    if not files:
        return []
    requests = "".join(f"{commit}:./{path}\n" for commit, path in files)
    result = run_git(root, "cat-file", "--batch" if contents else "--batch-check", input=requests.encode())
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise RevisionError(f"{root}: git cat-file failed: {reason[-1]}")
    blobs, output, at = [], result.stdout, 0
    for _ in files:
        end = output.index(b"\n", at)
        header = output[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":  # "<request> missing", or not a file
            blobs.append(None)
            continue
        size = int(header[2]) if contents else 0
        blobs.append(Blob(header[0].decode(), output[at : at + size]))
        at += size + 1 if contents else 0
    return blobs
