"""Compare two revisions image by image: as two configurations, each a group of seeds, where both have
two seeds or more, and always as the two trained models they name; say whether the difference is more than
noise."""

from __future__ import annotations

import numpy as np

from fashionlab.experiments.predictions import Predictions
from fashionlab.experiments.replicates import WORKSPACE, SeedGroup, spread
from fashionlab.experiments.significance import (
    LEVEL,
    MAX_SEEDS,
    compare_groups,
    mcnemar_exact_p,
    paired_bootstrap_interval,
    seeds_needed,
    spread_sources,
    verdict,
)


def compare(a: Predictions, b: Predictions, *, resamples: int = 10_000, seed: int = 0) -> dict:
    """The comparison as plain data (the JSON format prints it as is). Both must score the same test set.

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


def _label(side: dict) -> str:
    return side["revision"] if side["commit"] is None else f"{side['revision']} ({side['commit'][:7]})"


def verdict_line(result: dict) -> str:
    percent, p = f"{result['interval']['level']:.0%}", f"McNemar p = {result['mcnemar_p']:.3g}"
    if result["verdict"] == "no detectable difference":
        return f"no detectable difference at {percent} ({p})"
    return f"B is {'better' if result['verdict'] == 'B better' else 'worse'} than A at {percent} ({p})"


def as_text(result: dict) -> str:
    """The configurations first (or why not), then the two named models."""
    interval, configuration = result["interval"], result["configuration"]
    width = max(len(row["class"]) for row in result["recall"])
    lines = [
        *_configuration_text(result, configuration),
        "",
        f"the two trained models {_label(result['a'])} and {_label(result['b'])} alone, "
        "on the test images (their seeds' noise not included):",
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
        f"verdict on these two models: {verdict_line(result)}",
        *_pictures_text(result.get("images")),
    ]
    return "\n".join(lines) + "\n"


def _pictures_text(images: dict | None) -> list[str]:
    if images is None:
        return []
    return [
        f"pictures of the images B fixed and broke, per true class: {len(images['files'])} files in {images['folder']}"
    ]


def _pictures_markdown(images: dict | None) -> list[str]:
    """A heading per kind, then each class's picture, linked where the report will be read beside them."""
    if images is None:
        return []
    lines = []
    for kind, heading in (("fixed", "The test images B fixed"), ("broken", "The test images B broke")):
        files = [name for name in images["files"] if name.startswith(kind + "-")]
        lines += ["", f"**{heading}** (A's and B's prediction under each):", ""]
        lines += [f"![{name}]({images['folder']}/{name})" for name in files] or ["none"]
    return lines


def _configuration_text(result: dict, c: dict) -> list[str]:
    sides = [("A", result["a"], "a"), ("B", result["b"], "b")]
    groups = [
        f"{letter}  {_label(side)}: {_seed_list(c[key + '_seeds'])}: test accuracy {_figure(c[key + '_accuracy'])}"
        + (f"; {_runs_of_other_code(c['other_code_left_out'][key])}" if c["other_code_left_out"][key] else "")
        for letter, side, key in sides
    ]
    if c["verdict"] is None:
        single = " and ".join(letter for letter, _, key in sides if len(c[key + "_seeds"]) < 2)
        return [
            f"two trained models, not two configurations: {single} {'has' if len(single) == 1 else 'have'} one seed, "
            "so the verdict below is about these two models only",
            *groups,
            f"to compare the configurations, add seeds: {c['add_seeds']}",
        ]
    interval, improvement = c["interval"], c["probability_of_improvement"]
    spread = ", ".join(
        f"{letter} sd {s['sd']:.4f} ({s['test_set_share']:.0%} test set, {s['training_share']:.0%} training)"
        for letter, s in (("A", c["spread"]["a"]), ("B", c["spread"]["b"]))
    )
    return [
        "two configurations, each a group of seeds: runs of the same code whose parameters differ only in seed",
        *groups,
        f"B - A: {c['difference']:+.4f}, {interval['level']:.0%} interval [{interval['low']:+.4f}, "
        f"{interval['high']:+.4f}] (seeds and test images resampled together: {interval['resamples']} resamples, "
        f"seed {interval['seed']})",
        f"P(B > A) for a seed of each: {improvement['value']:.2f}, {interval['level']:.0%} interval "
        f"[{improvement['low']:.2f}, {improvement['high']:.2f}]",
        f"spread between seeds: {spread}",
        f"seeds per side to detect a difference of {c['delta']:.4f} at 80% power: {_needed(c)}",
        f"verdict: {configuration_verdict_line(c)}",
    ]


def configuration_verdict_line(c: dict) -> str:
    interval = f"the {c['interval']['level']:.0%} interval"
    rope = f"(ROPE ±{c['rope']:.4f})"
    line = {
        "better": f"B is better than A: {interval} is above 0 {rope}",
        "worse": f"B is worse than A: {interval} is below 0 {rope}",
        "equivalent": f"equivalent: {interval} is within the ROPE ±{c['rope']:.4f}",
        "undecided": f"undecided: {interval} holds 0 and reaches beyond the ROPE ±{c['rope']:.4f}",
    }[c["verdict"]]
    return line + (f"; add seeds: {c['add_seeds']}" if c["add_seeds"] else "")


def _needed(c: dict) -> str:
    return f"more than {MAX_SEEDS}" if c["seeds_needed"] is None else str(c["seeds_needed"])


def _seed_list(seeds: list) -> str:
    if seeds == [None]:
        return "1 run, no seed recorded"
    return f"{len(seeds)} seed{'' if len(seeds) == 1 else 's'} ({', '.join(map(str, seeds))})"


def _runs_of_other_code(count: int) -> str:
    return f"{count} run{'' if count == 1 else 's'} of these parameters with other code left out"


def _figure(spread: dict) -> str:
    sd = "" if spread["sd"] is None else f" ± {spread['sd']:.4f}"
    return f"{spread['mean']:.4f}{sd} ({spread['min']:.4f}–{spread['max']:.4f})"


def as_markdown(result: dict) -> str:
    interval, c = result["interval"], result["configuration"]
    a, b = result["a"], result["b"]
    lines = [
        "| configuration | seeds | test accuracy, mean ± sd (min–max) |",
        "|---|---|---|",
        f"| A: `{_label(a)}` | {_seed_list(c['a_seeds'])} | {_figure(c['a_accuracy'])} |",
        f"| B: `{_label(b)}` | {_seed_list(c['b_seeds'])} | {_figure(c['b_accuracy'])} |",
        "",
    ]
    if c["verdict"] is None:
        lines.append(
            f"One seed on a side: the verdict below is about two models. To compare the configurations, "
            f"add seeds: `{c['add_seeds']}`."
        )
    else:
        ci = c["interval"]
        lines.append(
            f"**Configurations: {configuration_verdict_line(c)}.** B − A {c['difference']:+.4f} "
            f"({ci['level']:.0%} CI {ci['low']:+.4f} to {ci['high']:+.4f}, seeds and test images resampled together); "
            f"P(B > A) {c['probability_of_improvement']['value']:.2f}; {_needed(c)} seeds per side detect "
            f"{c['delta']:.4f} at 80% power."
        )
    lines += [
        "",
        f"| the two trained models | A: `{_label(a)}` | B: `{_label(b)}` | B − A |",
        "|---|---:|---:|---:|",
        f"| test accuracy | {a['accuracy']:.4f} | {b['accuracy']:.4f} | {result['difference']:+.4f} "
        f"({interval['level']:.0%} CI {interval['low']:+.4f} to {interval['high']:+.4f}) |",
        *(f"| recall: {r['class']} | {r['a']:.4f} | {r['b']:.4f} | {r['change']:+.4f} |" for r in result["recall"]),
        "",
        f"**These two models: {verdict_line(result)}**: of {result['test_images']} test images, B fixed "
        f"{result['fixed']} and broke {result['broken']} (paired bootstrap, {interval['resamples']} resamples, "
        f"seed {interval['seed']}; the seeds' noise not included).",
        *_pictures_markdown(result.get("images")),
    ]
    return "\n".join(lines) + "\n"


# --- configurations: a group of seeds per side ---------------------------------------------------------

ROPE = 0.005  # docs/explanation/statistics.md: why half a point
DELTA = 0.005  # the ROPE's edge: how many seeds tell a difference that matters from none


def compare_configurations(
    a: SeedGroup, b: SeedGroup, *, rope: float = ROPE, delta: float = DELTA, resamples: int = 10_000, seed: int = 0
) -> dict:
    """The comparison of two configurations as plain data; `verdict` is None while a side has one seed."""
    accuracy_a, accuracy_b = a.correct.mean(axis=1), b.correct.mean(axis=1)
    result = {
        "a_seeds": list(a.seeds),
        "b_seeds": list(b.seeds),
        "a_runs": _runs(a, accuracy_a),
        "b_runs": _runs(b, accuracy_b),
        "other_code_left_out": {"a": a.other_code, "b": b.other_code},
        "a_accuracy": spread(accuracy_a.tolist()),
        "b_accuracy": spread(accuracy_b.tolist()),
        "rope": rope,
        "delta": delta,
        "spread": {"a": _sources(a.correct), "b": _sources(b.correct)},
        "difference": float(accuracy_b.mean() - accuracy_a.mean()),
        "interval": None,
        "probability_of_improvement": None,
        "seeds_needed": _seeds_needed(accuracy_a, accuracy_b, delta),
        "verdict": None,
        "add_seeds": None,
    }
    if len(a.seeds) >= 2 and len(b.seeds) >= 2:
        groups = compare_groups(a.correct, b.correct, resamples=resamples, seed=seed, level=LEVEL)
        low, high = groups.interval
        result["interval"] = {"level": LEVEL, "low": low, "high": high, "resamples": resamples, "seed": seed}
        p_low, p_high = groups.probability_interval
        result["probability_of_improvement"] = {
            "value": groups.probability_of_improvement,
            "low": p_low,
            "high": p_high,
        }
        result["verdict"] = verdict(low, high, rope)
    if result["verdict"] in (None, "undecided"):
        result["add_seeds"] = _seeds_to_add(a, b, result["seeds_needed"])
    return result


SEEDS_WITHOUT_A_SPREAD = 5  # what to ask for when no side has two seeds to measure the spread with


def _seeds_to_add(a: SeedGroup, b: SeedGroup, needed: int | None) -> str | None:
    """The commands that give each side the seeds the power calculation asks for (None: beyond MAX_SEEDS);
    without a spread to compute it from, 5; where both sides have them already, twice as many."""
    if needed is None and max(len(a.seeds), len(b.seeds)) >= 2:
        return None
    wanted = needed or SEEDS_WITHOUT_A_SPREAD
    if min(len(a.seeds), len(b.seeds)) >= wanted:
        wanted = 2 * max(len(a.seeds), len(b.seeds))
    return "; ".join(_add_seeds(group, wanted) for group in (a, b) if len(group.seeds) < wanted)


def _runs(group: SeedGroup, accuracy: np.ndarray) -> list[dict]:
    return [
        {"name": name, "seed": seed, "accuracy": float(value)}
        for name, seed, value in zip(group.names, group.seeds, accuracy, strict=True)
    ]


def _sources(correct: np.ndarray) -> dict | None:
    if len(correct) < 2:
        return None
    sources = spread_sources(correct)
    return {"sd": sources.sd, "test_set_share": sources.test_set_share, "training_share": sources.training_share}


def _seeds_needed(accuracy_a: np.ndarray, accuracy_b: np.ndarray, delta: float) -> int | None:
    """From the pooled standard deviation of the sides that have two seeds or more; None without one."""
    spreads = [(len(x) - 1, np.var(x, ddof=1)) for x in (accuracy_a, accuracy_b) if len(x) > 1]
    if not spreads:
        return None
    pooled = (sum(df * var for df, var in spreads) / sum(df for df, _ in spreads)) ** 0.5
    return seeds_needed(float(pooled), delta)


def _add_seeds(group: SeedGroup, wanted: int) -> str:
    return f"fashionlab seeds {wanted}" + ("" if group.revision == WORKSPACE else f" {group.revision}")
