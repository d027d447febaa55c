"""Seed replicates: runs of the same code that differ only in `seed`, grouped, with the spread a single
run hides.

A run's test accuracy moves with the seed (the split, the initial weights, the data order), so one
configuration is described by its group of seeds, not by one number (Bouthillier et al. 2021,
"Accounting for variance in machine learning benchmarks"). A configuration is the code and every
parameter but `seed`: the code is the hashes of the Python files the stages depend on, as `dvc.lock`
records them for each run, so commits or experiments with other code never join a group.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashionlab.common.errors import RevisionError

EVAL = "metrics/eval.json"
TIMING = "metrics/timing.json"
PARAMS = "params.yaml"
SCORES = ("accuracy", "macro_f1")


WORKSPACE = "workspace"


@dataclass(frozen=True)
class Run:
    name: str  # the experiment's name, or the commit's branch or short hash
    params: dict[str, object]  # params.yaml flattened to dotted keys
    scores: dict[str, float]  # test accuracy and macro F1
    rev: str = ""  # the commit that holds the run's results, or "workspace"
    code_files: tuple[tuple[str, str], ...] = ()  # (path, MD5) of each Python file the stages depend on
    seconds_per_epoch: float | None = None  # the median epoch's wall-clock seconds (metrics/timing.json)

    @property
    def code(self) -> str:
        """One hash for the code ("" where DVC lists no dependency)."""
        return hashlib.sha256(json.dumps(self.code_files).encode()).hexdigest() if self.code_files else ""

    @property
    def seconds(self) -> float | None:
        """What training the run took, about: its median epoch times its epochs (None where not recorded)."""
        epochs = self.params.get("train.epochs")
        return self.seconds_per_epoch * epochs if self.seconds_per_epoch and isinstance(epochs, int) else None

    @property
    def seed(self) -> object:
        return self.params.get("seed")

    @property
    def params_but_seed(self) -> dict[str, object]:
        return {key: value for key, value in self.params.items() if key != "seed"}

    @property
    def configuration(self) -> str:
        """What a replicate must share: the code and every parameter but the seed."""
        return json.dumps([self.code, self.params_but_seed], sort_keys=True)


def experiments_table(root: Path, all_commits: bool) -> list[dict]:
    """`dvc exp show --json` (HEAD and its experiments, or every commit's)."""
    return json.loads(run_dvc(root, "exp", "show", "--json", *(["--all-commits"] if all_commits else [])))


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


def runs(table: list[dict]) -> tuple[list[Run], int]:
    """The committed runs and experiments that have test scores, and how many others were left out.

    The workspace row is left out: it repeats HEAD, or an experiment applied to it, and would count twice.
    """
    found, skipped = [], 0
    for commit in table:
        if commit.get("rev") == WORKSPACE:
            continue
        entries = [(commit.get("name") or commit["rev"][:7], commit, None)]
        for group in commit.get("experiments") or []:
            state = (group.get("executor") or {}).get("state")
            entries += [(exp.get("name") or exp["rev"][:7], exp, state) for exp in group.get("revs", [])]
        for name, entry, state in entries:
            run = _run(name, entry)
            # A queued or running experiment shows its baseline's metrics until it has its own.
            if state not in (None, "success") or not _scored(run):
                skipped += 1
                continue
            found.append(run)
    return found, skipped


def workspace_run(table: list[dict]) -> Run | None:
    """The workspace row as a run, when it has parameters and test scores."""
    for commit in table:
        if commit.get("rev") == WORKSPACE and _scored(run := _run(WORKSPACE, commit)):
            return run
    return None


def pending(table: list[dict]) -> list[Run]:
    """Queued and running experiments, with their parameters (their scores are not theirs yet)."""
    return [
        _run(exp.get("name") or exp["rev"][:7], exp)
        for commit in table
        for group in commit.get("experiments") or []
        if (group.get("executor") or {}).get("state") in ("queued", "running")
        for exp in group.get("revs", [])
    ]


def _run(name: str, entry: dict) -> Run:
    """A row of `dvc exp show --json`: its parameters, the test scores it shows, and its code."""
    data = entry.get("data") or {}
    params = ((data.get("params") or {}).get(PARAMS) or {}).get("data") or {}
    shown = ((data.get("metrics") or {}).get(EVAL) or {}).get("data") or {}
    scores = {key: float(value) for key in SCORES if isinstance(value := shown.get(key), int | float)}
    deps = data.get("deps") or {}
    code = tuple(sorted((path, (dep or {}).get("hash")) for path, dep in deps.items() if path.endswith(".py")))
    timing = ((data.get("metrics") or {}).get(TIMING) or {}).get("data") or {}
    per_epoch = timing.get("seconds_per_epoch")
    per_epoch = float(per_epoch) if isinstance(per_epoch, int | float) and not isinstance(per_epoch, bool) else None
    return Run(name, flatten(params), scores, entry.get("rev", ""), code, per_epoch)


def _scored(run: Run) -> bool:
    return bool(run.params) and len(run.scores) == len(SCORES)


def seed_group(found: list[Run], target: Run, with_target: bool = True) -> tuple[list[Run], int]:
    """`target` and the runs of its configuration, a seed once, by seed; and how many runs with the same
    parameters but other code were left out.

    `target` keeps its own seed; another seed's newest run counts (`dvc exp show` lists the newest first).
    `with_target=False`: `target` only names a configuration (one a sweep asks for), not a run of it.
    """
    members = {target.seed: target} if with_target else {}
    other_code = 0
    for run in found:
        if run.configuration == target.configuration:
            members.setdefault(run.seed, run)
        elif run.code != target.code and run.params_but_seed == target.params_but_seed:
            other_code += 1
    return sorted(members.values(), key=lambda run: run.seed), other_code


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
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


def groups(found: list[Run]) -> list[dict]:
    """One group per configuration (the code and every parameter but `seed`), labelled by what sets it apart.

    A seed counts once per group, with its newest run (`dvc exp show` lists the newest first): the same
    seed rerun, say on another commit of the same code, is a repeat, not a replicate, and would shrink the
    spread.
    """
    by_config: dict[str, dict[object, Run]] = {}
    repeats: dict[str, int] = {}
    for run in found:
        seeds = by_config.setdefault(run.configuration, {})
        if run.seed in seeds:
            repeats[run.configuration] = repeats.get(run.configuration, 0) + 1
        else:
            seeds[run.seed] = run
    configs = [{"code": code[:7], **params} for code, params in map(json.loads, by_config)]
    varying = differing(configs)
    summary = []
    for (key, seeds), config in zip(by_config.items(), configs, strict=True):
        members = sorted(seeds.values(), key=lambda run: (run.params.get("seed", 0), run.name))
        summary.append(
            {
                "configuration": ", ".join(assignment(k, config.get(k)) for k in varying) or "same parameters",
                "runs": [{"name": run.name, "seed": run.params.get("seed"), **run.scores} for run in members],
                "repeated_seeds": repeats.get(key, 0),
                **{score: spread([run.scores[score] for run in members]) for score in SCORES},
            }
        )
    return summary


def spread(values: list[float]) -> dict:
    """Mean, sample standard deviation (None for a single run) and range."""
    sd = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": statistics.fmean(values), "sd": sd, "min": min(values), "max": max(values)}


def _figure(spread: dict) -> str:
    sd = "n/a" if spread["sd"] is None else f"{spread['sd']:.4f}"
    return f"{spread['mean']:.4f} ± {sd} ({spread['min']:.4f}–{spread['max']:.4f})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _seeds(group: dict) -> str:
    return ("seed " if len(group["runs"]) == 1 else "seeds ") + ", ".join(str(run["seed"]) for run in group["runs"])


def as_text(summary: list[dict], skipped: int) -> str:
    lines = ["runs grouped by code and every parameter except seed; mean ± standard deviation (min–max)"]
    for group in summary:
        lines += [
            "",
            f"{group['configuration']}: {_count(len(group['runs']), 'run')}, {_seeds(group)}",
            f"  test accuracy  {_figure(group['accuracy'])}",
            f"  macro F1       {_figure(group['macro_f1'])}",
            "  accuracy by seed  " + ", ".join(f"{run['seed']}: {run['accuracy']:.4f}" for run in group["runs"]),
        ]
        if group["repeated_seeds"]:
            lines.append(f"  {_count(group['repeated_seeds'], 'older run')} of a seed already listed left out")
    if skipped:
        lines += ["", f"{_count(skipped, 'run')} left out: queued, running, failed, or without test scores"]
    return "\n".join(lines) + "\n"


def as_markdown(summary: list[dict], skipped: int) -> str:
    lines = [
        "| configuration | runs | seeds | test accuracy, mean ± sd (min–max) | macro F1, mean ± sd (min–max) |",
        "|---|---:|---|---|---|",
        *(
            f"| {g['configuration']} | {len(g['runs'])} | {_seeds(g).split(' ', 1)[1]} | {_figure(g['accuracy'])} "
            f"| {_figure(g['macro_f1'])} |"
            for g in summary
        ),
    ]
    if skipped:
        lines += ["", f"{_count(skipped, 'run')} left out: queued, running, failed, or without test scores."]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SeedGroup:
    """One side of a comparison of configurations: its runs, and which test images each got right."""

    revision: str  # as the user named it
    names: tuple[str, ...]  # each run's experiment or commit name
    seeds: tuple[int | None, ...]  # None: a run whose parameters were not recorded
    correct: np.ndarray  # runs × test images
    other_code: int  # runs with the same parameters but other code, left out
    machines: tuple[str | None, ...]  # the CPU that trained each run (None: not recorded)
    params: dict[str, object] = field(default_factory=dict)  # the named run's, flattened ({}: not recorded)
    seconds: tuple[float | None, ...] = ()  # what training each run took, about (`Run.seconds`)
