"""`fashionlab replicates`: the runs that differ only in seed, grouped by configuration, with the spread one run
hides."""

from __future__ import annotations

import json
from pathlib import Path

from fashionlab.experiments.records.dvc import experiments_table
from fashionlab.experiments.records.runs import Run, runs
from fashionlab.experiments.terms.names import SCORES, assignment, differing
from fashionlab.statistics.significance import spread


def replicates(root: Path, all_commits: bool) -> dict:
    """Each configuration's group of seeds among HEAD's runs (every commit's with `all_commits`), and how many runs
    were left out: queued, running, failed, or without test scores."""
    found, skipped = runs(experiments_table(root, all_commits))
    return {"groups": groups(found), "skipped": skipped}


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
