"""Compare two revisions' test predictions image by image, and say whether the difference is more than noise."""

from __future__ import annotations

import numpy as np

from fashionlab.predictions import Predictions
from fashionlab.significance import mcnemar_exact_p, paired_bootstrap_interval

LEVEL = 0.95
# McNemar's test and the bootstrap treat the test images as the sample; two trained models of one
# configuration with different seeds can differ "significantly" by this measure (README: Is it really better?).
SCOPE = "(noise from the test images only; for the seed's, compare replicate groups: fashionlab replicates)"


def compare(a: Predictions, b: Predictions, *, resamples: int = 10_000, seed: int = 0) -> dict:
    """The comparison as plain data (the JSON format prints it as is). Both must score the same test set.

    The verdict follows McNemar's exact test at 5%; the bootstrap interval says how large the difference
    plausibly is. Both use only the images on which the revisions disagree.
    """
    right_a, right_b = a.predicted == a.actual, b.predicted == b.actual
    fixed, broken, total = int(np.sum(right_b & ~right_a)), int(np.sum(right_a & ~right_b)), len(a.actual)
    p_value = mcnemar_exact_p(fixed, broken)
    low, high = paired_bootstrap_interval(fixed, broken, total, resamples=resamples, seed=seed, level=LEVEL)
    verdict = "B better" if fixed > broken else "B worse"
    if p_value >= 1 - LEVEL:
        verdict = "no detectable difference"
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
        "verdict": verdict,
    }


def _label(side: dict) -> str:
    return side["revision"] if side["commit"] is None else f"{side['revision']} ({side['commit'][:7]})"


def verdict_line(result: dict) -> str:
    percent, p = f"{result['interval']['level']:.0%}", f"McNemar p = {result['mcnemar_p']:.3g}"
    if result["verdict"] == "no detectable difference":
        return f"no detectable difference at {percent} ({p})"
    return f"B is {'better' if result['verdict'] == 'B better' else 'worse'} than A at {percent} ({p})"


def as_text(result: dict) -> str:
    interval = result["interval"]
    width = max(len(row["class"]) for row in result["recall"])
    lines = [
        f"A  {_label(result['a'])}: test accuracy {result['a']['accuracy']:.4f}",
        f"B  {_label(result['b'])}: test accuracy {result['b']['accuracy']:.4f}",
        f"B - A: {result['difference']:+.4f}, {interval['level']:.0%} paired-bootstrap interval "
        f"[{interval['low']:+.4f}, {interval['high']:+.4f}] "
        f"({interval['resamples']} resamples, seed {interval['seed']})",
        f"of {result['test_images']} test images, B fixed {result['fixed']} that A got wrong and broke "
        f"{result['broken']} that A got right: McNemar exact p = {result['mcnemar_p']:.3g}",
        "",
        f"{'recall':<{width}}       A       B    B - A",
        *(f"{r['class']:<{width}}  {r['a']:.4f}  {r['b']:.4f}  {r['change']:+.4f}" for r in result["recall"]),
        "",
        f"verdict: {verdict_line(result)}",
        SCOPE,
    ]
    return "\n".join(lines) + "\n"


def as_markdown(result: dict) -> str:
    interval = result["interval"]
    a, b = result["a"], result["b"]
    lines = [
        f"| | A: `{_label(a)}` | B: `{_label(b)}` | B − A |",
        "|---|---:|---:|---:|",
        f"| test accuracy | {a['accuracy']:.4f} | {b['accuracy']:.4f} | {result['difference']:+.4f} "
        f"({interval['level']:.0%} CI {interval['low']:+.4f} to {interval['high']:+.4f}) |",
        *(f"| recall: {r['class']} | {r['a']:.4f} | {r['b']:.4f} | {r['change']:+.4f} |" for r in result["recall"]),
        "",
        f"**{verdict_line(result)}**: of {result['test_images']} test images, B fixed {result['fixed']} and broke "
        f"{result['broken']} (paired bootstrap, {interval['resamples']} resamples, seed {interval['seed']}). {SCOPE}",
    ]
    return "\n".join(lines) + "\n"
