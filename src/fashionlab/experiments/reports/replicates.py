"""`fashionlab replicates` as text and markdown: each configuration's seeds, their mean, spread and range."""

from __future__ import annotations

from fashionlab.experiments.reports.formats import joined
from fashionlab.experiments.terms.wording import counted, figure, seed_word


def _seeds(group: dict) -> str:
    return f"{seed_word(len(group['runs']))} " + ", ".join(str(run["seed"]) for run in group["runs"])


def as_text(result: dict) -> str:
    summary, skipped = result["groups"], result["skipped"]
    lines = ["runs grouped by code and every parameter except seed; mean ± standard deviation (min–max)"]
    for group in summary:
        lines += [
            "",
            f"{group['configuration']}: {counted(len(group['runs']), 'run')}, {_seeds(group)}",
            f"  test accuracy  {figure(group['accuracy'], 'n/a')}",
            f"  macro F1       {figure(group['macro_f1'], 'n/a')}",
            "  accuracy by seed  " + ", ".join(f"{run['seed']}: {run['accuracy']:.4f}" for run in group["runs"]),
        ]
        if group["repeated_seeds"]:
            lines.append(f"  {counted(group['repeated_seeds'], 'older run')} of a seed already listed left out")
    if skipped:
        lines += ["", f"{counted(skipped, 'run')} left out: queued, running, failed, or without test scores"]
    return joined(lines)


HEADER = "| configuration | runs | seeds | test accuracy, mean ± sd (min–max) | macro F1, mean ± sd (min–max) |"


def as_markdown(result: dict) -> str:
    rows = [
        f"| {g['configuration']} | {len(g['runs'])} | {_seeds(g).split(' ', 1)[1]} "
        f"| {figure(g['accuracy'], 'n/a')} | {figure(g['macro_f1'], 'n/a')} |"
        for g in result["groups"]
    ]
    left_out = f"{counted(result['skipped'], 'run')} left out: queued, running, failed, or without test scores."
    return joined([HEADER, "|---|---:|---|---|---|", *rows, *(["", left_out] if result["skipped"] else [])])
