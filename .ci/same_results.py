"""After `make repro` on a clean clone: are dvc.lock and metrics/ what the commit holds, byte for byte?

The committed run was made on another machine, so every CPU that runs CI tests the promise of portable numerics
(docs/explanation/reproducibility.md). Only the wall clock (metrics/timing.json) and the record of where the
run was made (metrics/machine.json) may differ. Prints the CPU it ran on and each file that differs; exit
status 1 when one does. Usage: .venv/bin/python .ci/same_results.py (in the project, after `dvc repro`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

MAY_DIFFER = ("metrics/timing.json", "metrics/machine.json")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def lock_outputs(text: str) -> dict[str, str]:
    """Every output of dvc.lock with its hash, but those that may differ."""
    stages = YAML(typ="safe", pure=True).load(text)["stages"]
    return {
        out["path"]: out.get("md5") or out.get("hash", "")
        for stage in stages.values()
        for out in stage.get("outs", [])
        if out["path"] not in MAY_DIFFER
    }


def differing() -> list[str]:
    """The outputs whose hash in dvc.lock changed, and the files of metrics/ that differ from the commit."""
    committed, now = lock_outputs(git("show", "HEAD:dvc.lock")), lock_outputs(Path("dvc.lock").read_text())
    names = {path for path in committed.keys() | now.keys() if committed.get(path) != now.get(path)}
    exclude = [f":(exclude){path}" for path in MAY_DIFFER]
    names |= set(git("diff", "--name-only", "HEAD", "--", "metrics", *exclude).split())
    names |= set(git("ls-files", "--others", "--exclude-standard", "--", "metrics", *exclude).split())
    return sorted(names)


def main() -> int:
    machine = json.loads(Path("metrics/machine.json").read_text())
    committed = json.loads(git("show", "HEAD:metrics/machine.json"))
    where = f"on {machine['summary']} (committed run: {committed['summary']})"
    names = differing()
    if not names:
        print(f"same results as the committed run {where}")
        return 0
    print(f"results differ from the committed run {where}: {', '.join(names)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
