"""What the commands call things: the workspace, the files of a run they read, and a parameter as DVC shows it.

Every command that takes revisions takes `workspace` for the workspace, as `dvc exp show` and `dvc plots diff`
name it, so that a revision and the workspace are named the same way in `compare`, `decide` and `race`.
"""

from __future__ import annotations

import json
from pathlib import Path

WORKSPACE = "workspace"
PARAMS = "params.yaml"
SCRATCH = Path(".dvc") / "tmp" / "fashionlab"  # DVC's own temporary folder, ignored by git and DVC
SCORES = ("accuracy", "macro_f1")  # of metrics/eval.json, as `dvc exp show` lists them for each run


def revision_or_workspace(revision: str | None) -> str | None:
    """A revision as git reads it, or None for the workspace (named `workspace`, or not named)."""
    return None if revision in (None, WORKSPACE) else revision


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    """params.yaml's nested sections as dotted keys, as `dvc exp show` and `-S` name them."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def shown(value: object) -> str:
    """A parameter's value as DVC shows it (`dvc params diff`, `dvc exp show`): 1e-06, 0.0003, [256, 128], true,
    adam. Floats as Python writes them, as DVC writes them into params.yaml after `-S`."""
    return value if isinstance(value, str) else json.dumps(value)


def assignment(key: str, value: object) -> str:
    """`key=value` as `dvc exp run -S` takes it back: train.groups.lower.learning_rate=1e-06."""
    return f"{key}={shown(value)}"


def differing(params: list[dict[str, object]]) -> list[str]:
    """The keys whose values are not the same in all of `params` (a key one lacks counts as differing)."""
    keys = sorted({key for values in params for key in values})
    return [key for key in keys if len({json.dumps(values.get(key)) for values in params}) > 1]


def setting_apart(params: list[dict[str, object]]) -> list[str]:
    """The keys whose values tell configurations apart: those that differ, but the seed, which only replicates."""
    return [key for key in differing(params) if key != "seed"]


def parameter_changes(a: dict[str, object], b: dict[str, object]) -> dict[str, dict[str, object]]:
    """What B's parameters change from A's but the seed, {key: {"a": …, "b": …}}; {} where either is not
    recorded (a run made before DVC showed its parameters)."""
    if not a or not b:
        return {}
    return {key: {"a": a.get(key), "b": b.get(key)} for key in setting_apart([a, b])}
