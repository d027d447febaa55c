"""Whether the workspace's results are the ones its `params.yaml` and code would produce, as `dvc status` sees it.

A failed `dvc exp run -S train.epochs=-3` leaves `epochs: -3` in `params.yaml` beside the last good results,
and an edited file leaves results its code did not make: read as they are, the workspace's scores would be
reported under a configuration that never produced them. So `compare` and `seeds` refuse a stale workspace,
naming what changed and the way out.
"""

from __future__ import annotations

from pathlib import Path

from fashionlab.common import numerics
from fashionlab.common.errors import ParamsError, RevisionError
from fashionlab.common.params import parse_yaml
from fashionlab.experiments.terms.names import PARAMS, WORKSPACE, flatten, shown


def workspace_numerics(root: Path) -> numerics.Mode:
    """The numerics the workspace's `params.yaml` names (the default where it names none): what most seeds a
    command trains ask for, so what an engine's group starts with."""
    return numerics.declared(root / PARAMS) or numerics.DEFAULT


def check_current(root: Path) -> None:
    """Stop, in one line, unless `dvc status` finds every stage of the workspace up to date."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            status = repo.status()
    except DvcException as err:  # a dvc.yaml or params.yaml that DVC cannot read, say
        raise RevisionError(f"{WORKSPACE}: dvc status failed: {err}") from None
    if not status:
        return
    changes = describe(status, _recorded_params(root), workspace_params(root))
    edited = sorted(
        {
            path
            for entries in status.values()
            for entry in entries
            if isinstance(entry, dict)
            for path, how in (entry.get("changed deps") or {}).items()
            if path == PARAMS or how == "modified"
        }
    )
    undo = f", or undo the change (`git checkout {' '.join(edited)}`)" if edited else ""
    raise RevisionError(
        f"{WORKSPACE}: its results are not what its {PARAMS} and code would produce ({'; '.join(changes)}): "
        f"run `dvc repro`{undo}"
    )


def describe(status: dict, recorded: dict[str, dict[str, object]], current: dict[str, object]) -> list[str]:
    """What `dvc status` found changed, once each: a parameter with its two values, or a file and how.

    `recorded` holds each stage's parameters as `dvc.lock` has them, flattened; `current` is params.yaml's.
    """
    changes: dict[str, None] = {}
    for stage, entries in status.items():
        for entry in entries:
            if not isinstance(entry, dict):  # "always changed", "changed command", …
                changes[f"{stage}: {entry}"] = None
                continue
            for kind, paths in entry.items():
                for path, how in (paths or {}).items():
                    if path == PARAMS and isinstance(how, dict):
                        for key in _changed_keys(recorded.get(stage, {}), current, how):
                            changes[key] = None
                    else:
                        changes[f"{path} (an output) {how}" if "outs" in kind else f"{path} {how}"] = None
    return list(changes)


def _changed_keys(recorded: dict[str, object], current: dict[str, object], how: dict[str, str]) -> list[str]:
    """`params.yaml: train.epochs is -3, the results were made with 20` for each key that differs within the
    sections DVC names (a stage that reads all of `train` is told `train` changed, not which key)."""
    sections = tuple(how)
    inside = tuple(f"{section}." for section in sections)
    keys = {key for key in recorded.keys() | current.keys() if key in sections or key.startswith(inside)}
    changed = []
    for key in sorted(keys):
        now, then = current.get(key, "absent"), recorded.get(key, "absent")
        if now != then:
            changed.append(f"{PARAMS}: {key} is {shown(now)}, the results were made with {shown(then)}")
    return changed or [f"{PARAMS}: {', '.join(sections)} {', '.join(sorted(set(how.values())))}"]


def _recorded_params(root: Path) -> dict[str, dict[str, object]]:
    try:
        lock = parse_yaml((root / "dvc.lock").read_text(encoding="utf-8"), "dvc.lock") or {}
    except (OSError, ParamsError):
        return {}
    return {
        name: flatten((stage.get("params") or {}).get(PARAMS) or {})
        for name, stage in (lock.get("stages") or {}).items()
    }


def workspace_params(root: Path) -> dict[str, object]:
    """params.yaml's values by dotted key; {} where it cannot be read (DVC then names the problem)."""
    try:
        return flatten(parse_yaml((root / PARAMS).read_text(encoding="utf-8"), PARAMS) or {})
    except (OSError, ParamsError, AttributeError):
        return {}
