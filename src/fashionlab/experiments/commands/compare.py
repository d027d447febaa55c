"""`fashionlab compare [A] [B]`: two revisions as two configurations, each a group of seeds, where both have two
seeds or more, and always as the two trained models they name; whether the difference is more than noise.

Nothing is retrained or checked out. Where `decide` built the two groups, the same seeds read at its planned looks
can give another verdict than this report's single interval on all of them: the report then says which, and why.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fashionlab.common.errors import RevisionError
from fashionlab.experiments.commands.configurations import compare_configurations
from fashionlab.experiments.records.dvc import SHOW, DvcCommand
from fashionlab.experiments.records.groups import SeedGroup, load_seed_group, target_of
from fashionlab.experiments.records.predictions import Predictions, check_same_test_set, load_predictions
from fashionlab.experiments.records.runs import runs
from fashionlab.experiments.records.workspace import check_current
from fashionlab.experiments.rounds.contest import interval_row, judged_looks
from fashionlab.experiments.rounds.lineup import check_distinct
from fashionlab.experiments.terms.judgement import RESAMPLES, Judgement
from fashionlab.experiments.terms.names import revision_or_workspace
from fashionlab.pipeline.layout import PREPARED
from fashionlab.statistics.sequential import b_against_a
from fashionlab.statistics.significance import LEVEL, mcnemar_exact_p, paired_bootstrap_interval


def compare(root: Path, a: str, b: str | None, judgement: Judgement, delta: float, images: Path | None) -> dict:
    """The comparison as plain data (the JSON format prints it as is)."""
    with DvcCommand(root, *SHOW, "--all-commits") as show:  # started now, read once A and B are
        if None in (revision_or_workspace(a), revision_or_workspace(b)):
            check_current(root)
        named = load_predictions(root, a), load_predictions(root, b)
        check_same_test_set(*named)
        table = json.loads(show.output())
    found, _ = runs(table)
    targets = [target_of(table, found, side) for side in named]
    if None not in targets:
        check_distinct([(side.revision, target) for side, target in zip(named, targets, strict=True)], NOTHING)
    result = compare_models(*named, resamples=judgement.resamples, seed=judgement.seed)
    groups = [load_seed_group(root, table, found, side) for side in named]
    configuration = compare_configurations(
        *groups, rope=judgement.rope, delta=delta, resamples=judgement.resamples, seed=judgement.seed
    )
    result["configuration"] = configuration | {"sequential": _as_decide_reads(groups, judgement)}
    if images is not None:
        result["images"] = _draw_changes(root, *named, images)
    return result


NOTHING = "there is nothing to compare (`fashionlab replicates` shows its seeds)"


def compare_models(a: Predictions, b: Predictions, *, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """The two named models image by image. Both must score the same test set.

    The verdict follows McNemar's exact test at 5%; the bootstrap interval says how large the difference
    plausibly is. Both use only the images on which the revisions disagree.
    """
    right_a, right_b = a.predicted == a.actual, b.predicted == b.actual
    fixed, broken, total = int(np.sum(right_b & ~right_a)), int(np.sum(right_a & ~right_b)), len(a.actual)
    p_value = mcnemar_exact_p(fixed, broken)
    low, high = paired_bootstrap_interval(fixed, broken, total, resamples=resamples, seed=seed, level=LEVEL)
    call = "B better" if fixed > broken else "B worse"
    if p_value >= 1 - LEVEL:
        call = "no detectable difference"
    recall = []
    for k, name in enumerate(a.class_names):
        of_class = a.actual == k
        if not of_class.any():
            continue
        recall_a, recall_b = float(right_a[of_class].mean()), float(right_b[of_class].mean())
        recall.append({"class": name, "a": recall_a, "b": recall_b, "change": recall_b - recall_a})
    return {
        "a": {"revision": a.revision, "commit": a.commit, "accuracy": float(right_a.mean())},
        "b": {"revision": b.revision, "commit": b.commit, "accuracy": float(right_b.mean())},
        "test_images": total,
        "difference": (fixed - broken) / total,
        "interval": {"level": LEVEL, "low": low, "high": high, "resamples": resamples, "seed": seed},
        "fixed": fixed,
        "broken": broken,
        "mcnemar_p": p_value,
        "recall": recall,
        "verdict": call,
    }


def _as_decide_reads(groups: list[SeedGroup], judgement: Judgement) -> dict | None:
    """What `decide` makes of these seeds with the same settings: its last look that the shared seeds reach, in its
    order (the named runs' seeds first), at that look's level. None where no look is reached."""
    rows = [group.by_seed() for group in groups]
    if len(set(rows[0]) & set(rows[1])) < 2:
        return None
    first, trained = [group.named_seed for group in groups], [group.trained_at() for group in groups]
    made = judged_looks(rows, first, judgement, set(), trained)
    if not made:
        return None
    last = b_against_a(made[-1])
    row = interval_row(last.seeds, last.level, last.difference, last.interval, last.verdict)
    return row | {"alpha": judgement.alpha, "max_seeds": judgement.max_seeds}


def _draw_changes(root: Path, a: Predictions, b: Predictions, folder: Path) -> dict:
    """Write the pictures of what B fixed and broke into `folder`; {"folder", "files"} for the report."""
    from fashionlab.common.outputs import write_files  # here: Pillow is for --images only
    from fashionlab.data.splits import load_split
    from fashionlab.evaluation.mistakes import change_grids

    test = root / PREPARED / "test.npz"
    images, labels = load_split(test)
    if len(labels) != len(a.actual) or np.any(labels != a.actual):
        raise RevisionError(f"{test}: not the test images the revisions scored (run `dvc repro prepare` first)")
    grids = change_grids(images, a.actual, a.predicted, b.predicted, a.class_names)
    write_files({folder / name: data for name, data in grids.items()})
    return {"folder": str(folder), "files": sorted(grids)}
