"""Seed replicates: runs that differ only in `seed`, grouped, with the spread a single run hides.

A run's test accuracy moves with the seed (the split, the initial weights, the data order), so one
configuration is described by its group of seeds, not by one number (Bouthillier et al. 2021,
"Accounting for variance in machine learning benchmarks").
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fashionlab.errors import RevisionError

EVAL = "metrics/eval.json"
PARAMS = "params.yaml"
SCORES = ("accuracy", "macro_f1")


@dataclass(frozen=True)
class Run:
    name: str  # the experiment's name, or the commit's branch or short hash
    params: dict[str, object]  # params.yaml flattened to dotted keys
    scores: dict[str, float]  # test accuracy and macro F1


def experiments_table(root: Path, all_commits: bool) -> list[dict]:
    """`dvc exp show --json` (HEAD and its experiments, or every commit's), run in this environment."""
    command = [sys.executable, "-m", "dvc", "exp", "show", "--json", *(["--all-commits"] if all_commits else [])]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        # DVC's own message is its first "ERROR: " line; a traceback may follow it.
        lines = result.stderr.strip().splitlines()
        reason = next((line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR: ")), None)
        raise RevisionError(f"{root}: dvc exp show failed: {reason or (lines or ['no message'])[-1]}")
    return json.loads(result.stdout)


def runs(table: list[dict]) -> tuple[list[Run], int]:
    """The committed runs and experiments that have test scores, and how many others were left out.

    The workspace row is left out: it repeats HEAD, or an experiment applied to it, and would count twice.
    """
    found, skipped = [], 0
    for commit in table:
        if commit.get("rev") == "workspace":
            continue
        entries = [(commit.get("name") or commit["rev"][:7], commit, None)]
        for group in commit.get("experiments") or []:
            state = (group.get("executor") or {}).get("state")
            entries += [(exp.get("name") or exp["rev"][:7], exp, state) for exp in group.get("revs", [])]
        for name, entry, state in entries:
            data = entry.get("data") or {}
            params = ((data.get("params") or {}).get(PARAMS) or {}).get("data")
            scores = ((data.get("metrics") or {}).get(EVAL) or {}).get("data") or {}
            # A queued or running experiment shows its baseline's metrics until it has its own.
            finished = state in (None, "success")
            if not finished or params is None or not all(isinstance(scores.get(key), int | float) for key in SCORES):
                skipped += 1
                continue
            found.append(Run(name, _flatten(params), {key: float(scores[key]) for key in SCORES}))
    return found, skipped


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def groups(found: list[Run]) -> list[dict]:
    """One group per configuration (every parameter but `seed`), labelled by the parameters that set it apart.

    A seed counts once per group, with its newest run (`dvc exp show` lists the newest first): the same
    seed rerun, say on another commit, is a repeat, not a replicate, and would shrink the spread.
    """
    by_config: dict[str, dict[object, Run]] = {}
    repeats: dict[str, int] = {}
    for run in found:
        config = json.dumps({key: value for key, value in run.params.items() if key != "seed"}, sort_keys=True)
        seeds = by_config.setdefault(config, {})
        if run.params.get("seed") in seeds:
            repeats[config] = repeats.get(config, 0) + 1
        else:
            seeds[run.params.get("seed")] = run
    configs = [json.loads(key) for key in by_config]
    keys = sorted({key for config in configs for key in config})
    varying = [key for key in keys if len({json.dumps(config.get(key)) for config in configs}) > 1]
    summary = []
    for (key, seeds), config in zip(by_config.items(), configs, strict=True):
        members = sorted(seeds.values(), key=lambda run: (run.params.get("seed", 0), run.name))
        summary.append(
            {
                "configuration": ", ".join(f"{k}={json.dumps(config.get(k))}" for k in varying) or "same parameters",
                "runs": [{"name": run.name, "seed": run.params.get("seed"), **run.scores} for run in members],
                "repeated_seeds": repeats.get(key, 0),
                **{score: _spread([run.scores[score] for run in members]) for score in SCORES},
            }
        )
    return summary


def _spread(values: list[float]) -> dict:
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
    lines = ["runs grouped by every parameter except seed; mean ± standard deviation (min–max)"]
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
