"""DVC's own view of the project, as its command line gives it: where the project is, and `dvc exp show`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fashionlab.common.errors import RevisionError


def project_root() -> Path:
    """The folder with `.dvc/` at or above the working one, up to the mount point, as DVC finds it (without
    importing DVC, so that `compare` can start `dvc exp show` at once)."""
    folder = Path.cwd()
    while not (folder / ".dvc").is_dir():
        if os.path.ismount(folder) or folder.parent == folder:
            raise RevisionError(f"{Path.cwd()}: not inside a DVC project (run fashionlab from the project)")
        folder = folder.parent
    return folder


SHOW = ("exp", "show", "--json")  # `dvc exp show` as every command reads it, with --all-commits but in `replicates`


def experiments_table(root: Path, all_commits: bool = True) -> list[dict]:
    """`dvc exp show --json`: every commit's runs and experiments, since a seed counts wherever its code is the
    same (`runs.seed_group`); `all_commits=False`, HEAD's alone, for `replicates` without `-A`."""
    return json.loads(run_dvc(root, *SHOW, *(["--all-commits"] if all_commits else [])))


def run_dvc(root: Path, *args: str) -> str:
    """A DVC command run in this environment; its failure is a one-line error with DVC's own message."""
    with DvcCommand(root, *args) as command:
        return command.output()


class DvcCommand:
    """`run_dvc` started now and read later: `dvc exp show` takes most of `compare`'s time, and the rest of its
    work can go on meanwhile, on another core. Leaving the `with` block early stops the command."""

    def __init__(self, root: Path, *args: str):
        self.root, self.args = root, args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dvc", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def output(self) -> str:
        stdout, stderr = self.process.communicate()
        if self.process.returncode != 0:
            # DVC's own message is its first "ERROR: " line; a traceback may follow it.
            lines = stderr.strip().splitlines()
            reason = next((line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR: ")), None)
            where = f"{self.root}: dvc {' '.join(self.args[:2])} failed"
            raise RevisionError(f"{where}: {reason or (lines or ['no message'])[-1]}")
        return stdout

    def __enter__(self) -> DvcCommand:
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
