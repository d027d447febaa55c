"""Compare two revisions image by image: as two configurations, each a group of seeds, where both have
two seeds or more, and always as the two trained models they name; say whether the difference is more than
noise."""

from __future__ import annotations

from collections import Counter

import numpy as np

from fashionlab.experiments.predictions import Predictions
from fashionlab.experiments.replicates import WORKSPACE, SeedGroup, assignment, differing, shown, spread
from fashionlab.statistics.significance import (
    DELTA,
    LEVEL,
    MAX_SEEDS,
    ROPE,
    GroupComparison,
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
    groups += _machines_text(c)
    groups += [line] if (line := parameters_line(c["parameters"])) else []
    if c["verdict"] is None:
        single = " and ".join(letter for letter, _, key in sides if len(c[key + "_seeds"]) < 2)
        return [
            f"two trained models, not two configurations: {single} {'has' if len(single) == 1 else 'have'} one seed, "
            "so the verdict below is about these two models only",
            *groups,
            f"to compare the configurations, add seeds: {c['add_seeds']}",
        ]
    interval, improvement, spread = c["interval"], c["probability_of_improvement"], c["spread"]
    sides_spread = ", ".join(
        f"{letter} sd {s['sd']:.4f} ({s['test_set_share']:.0%} test set, {s['training_share']:.0%} training)"
        for letter, s in (("A", spread["a"]), ("B", spread["b"]))
        if s is not None
    )
    if c["paired"]:
        resampled = "seed pairs and test images resampled together"
        pairs = f"P(B > A) on a seed: {improvement['value']:.2f} of the {len(c['shared_seeds'])} shared seeds"
        spread_line = (
            f"spread between seeds: {sides_spread}; B - A on the same seed sd {spread['paired_difference_sd']:.4f} "
            f"(two unpaired runs: {spread['unpaired_difference_sd']:.4f})"
        )
    else:
        resampled = "seeds and test images resampled together"
        pairs = f"P(B > A) for a seed of each: {improvement['value']:.2f}"
        spread_line = f"spread between seeds: {sides_spread}"
    return [
        "two configurations, each a group of seeds: runs of the same code whose parameters differ only in seed",
        *groups,
        _pairing_text(c),
        f"B - A: {c['difference']:+.4f}, {interval['level']:.0%} interval [{interval['low']:+.4f}, "
        f"{interval['high']:+.4f}] ({resampled}: {interval['resamples']} resamples, seed {interval['seed']})",
        f"{pairs}, {interval['level']:.0%} interval [{improvement['low']:.2f}, {improvement['high']:.2f}]",
        spread_line,
        f"seeds per side to detect a difference of {c['delta']:.4f} at 80% power: {_needed(c)}",
        f"verdict: {configuration_verdict_line(c)}",
    ]


def _pairing_text(c: dict) -> str:
    """Which seeds were paired, and which were left out of the paired figures; or why nothing was paired."""
    if not c["paired"]:
        shared = c["shared_seeds"]
        having = f"seed {shared[0]} only" if shared else "no seed number"
        return (
            f"not paired: the groups share {having} (pairing needs 2), so each side's seeds are resampled on "
            "their own (`fashionlab seeds` gives both sides the same seed numbers)"
        )
    left_out = [
        f"{letter}'s {_seed_word(seeds)} {', '.join(map(str, seeds))}"
        for letter, seeds in (("A", c["left_out"]["a"]), ("B", c["left_out"]["b"]))
        if seeds
    ]
    line = (
        f"paired by seed: the {len(c['shared_seeds'])} seeds both sides ran ({', '.join(map(str, c['shared_seeds']))})"
    )
    if left_out:
        count = len(c["left_out"]["a"]) + len(c["left_out"]["b"])
        line += f"; {count} left out of the paired figures, the other side lacking them: {'; '.join(left_out)}"
    return line


def _seed_word(seeds: list) -> str:
    return "seed" if len(seeds) == 1 else "seeds"


def _machines_text(c: dict) -> list[str]:
    """A line per side whose runs come from more than one machine: their numerics differ in the last bits."""
    lines = []
    for letter, key in (("A", "a"), ("B", "b")):
        machines = c["machines"][key]
        if len(machines) > 1:
            shares = "; ".join(f"{entry['runs']} on {entry['machine']}" for entry in machines)
            lines.append(
                f"   {letter}'s runs come from {len(machines)} machines ({shares}): runs of one seed differ more"
            )
    return lines


def configuration_verdict_line(c: dict) -> str:
    line = verdict_sentence(c["verdict"], c["interval"]["level"], c["rope"])
    return line + (f"; add seeds: {c['add_seeds']}" if c["add_seeds"] else "")


def verdict_sentence(verdict: str, level: float, rope: float) -> str:
    """What a verdict on configurations says, with the interval it was read from."""
    interval, rope_text = f"the {level:.{_digits(level)}%} interval", f"ROPE ±{rope:.4f}"
    return {
        "better": f"B is better than A: {interval} is above 0 ({rope_text})",
        "slightly better": f"B is slightly better than A: {interval} is above 0 but within the {rope_text}, "
        "a real difference smaller than one that matters",
        "equivalent": f"equivalent: {interval} holds 0 and is within the {rope_text}",
        "slightly worse": f"B is slightly worse than A: {interval} is below 0 but within the {rope_text}, "
        "a real difference smaller than one that matters",
        "worse": f"B is worse than A: {interval} is below 0 ({rope_text})",
        "undecided": f"undecided: {interval} holds 0 and reaches beyond the {rope_text}",
    }[verdict]


def _digits(level: float) -> int:
    """Decimals that show a level as it is: 95%, 99.73%."""
    return 0 if round(level * 100, 6) == round(level * 100) else 2


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
    if line := parameters_line(c["parameters"]):
        lines += [line[0].upper() + line[1:] + ".", ""]
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


def parameter_changes(a: dict[str, object], b: dict[str, object]) -> dict[str, dict[str, object]]:
    """What B's parameters change from A's but the seed, {key: {"a": …, "b": …}}; {} where either is not
    recorded (a run made before DVC showed its parameters)."""
    if not a or not b:
        return {}
    return {key: {"a": a.get(key), "b": b.get(key)} for key in differing([a, b]) if key != "seed"}


def parameters_line(changes: dict[str, dict[str, object]]) -> str | None:
    """`B sets train.groups.lower.learning_rate=1e-06 (A: 0.0001)`, numbers as DVC shows them."""
    if not changes:
        return None
    listed = "; ".join(f"{assignment(key, sides['b'])} (A: {shown(sides['a'])})" for key, sides in changes.items())
    return f"parameters: B sets {listed}"


def compare_configurations(
    a: SeedGroup, b: SeedGroup, *, rope: float = ROPE, delta: float = DELTA, resamples: int = 10_000, seed: int = 0
) -> dict:
    """The comparison of two configurations as plain data; `verdict` is None while a side has one seed.

    Where the groups share two seed numbers or more, seed s of A is paired with seed s of B (the same split,
    initial weights and data order): the difference, its interval, P(B > A), the spread of the difference
    and the seeds needed come from the shared seeds, and the others are named and left out of them. With
    fewer, each side's seeds are resampled on their own.
    """
    accuracy_a, accuracy_b = a.correct.mean(axis=1), b.correct.mean(axis=1)
    shared = shared_seeds(a, b)
    paired = len(shared) >= 2
    result = {
        "a_seeds": list(a.seeds),
        "b_seeds": list(b.seeds),
        "a_runs": _runs(a, accuracy_a),
        "b_runs": _runs(b, accuracy_b),
        "other_code_left_out": {"a": a.other_code, "b": b.other_code},
        "parameters": parameter_changes(a.params, b.params),
        "machines": {"a": _machine_counts(a), "b": _machine_counts(b)},
        "a_accuracy": spread(accuracy_a.tolist()),
        "b_accuracy": spread(accuracy_b.tolist()),
        "paired": paired,
        "shared_seeds": shared,
        "left_out": {
            "a": [s for s in a.seeds if s not in shared] if paired else [],
            "b": [s for s in b.seeds if s not in shared] if paired else [],
        },
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
    if paired:
        correct_a, correct_b = paired_rows(a, b, shared)
        differences = correct_b.mean(axis=1) - correct_a.mean(axis=1)
        sd = float(np.std(differences, ddof=1))
        result["difference"] = float(differences.mean())
        result["spread"] |= {"paired_difference_sd": sd, "unpaired_difference_sd": _unpaired_sd(a, b)}
        result["seeds_needed"] = seeds_needed(sd, delta, paired=True)
    else:
        correct_a, correct_b = a.correct, b.correct
    if paired or (len(a.seeds) >= 2 and len(b.seeds) >= 2):
        groups = compare_groups(correct_a, correct_b, paired=paired, resamples=resamples, seed=seed, level=LEVEL)
        result |= _interval_and_verdict(groups, rope, resamples, seed)
    if result["verdict"] in (None, "undecided"):
        result["add_seeds"] = _seeds_to_add(a, b, result["seeds_needed"])
    return result


def shared_seeds(a: SeedGroup, b: SeedGroup) -> list[int]:
    """The seed numbers both groups ran, ascending."""
    return sorted(set(a.seeds) & set(b.seeds) - {None})


def paired_rows(a: SeedGroup, b: SeedGroup, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each group's runs of `seeds`, in that order: row i of both is the same seed."""
    rows_a, rows_b = ([group.seeds.index(s) for s in seeds] for group in (a, b))
    return a.correct[rows_a], b.correct[rows_b]


def _interval_and_verdict(groups: GroupComparison, rope: float, resamples: int, seed: int) -> dict:
    (low, high), (p_low, p_high) = groups.interval, groups.probability_interval
    return {
        "interval": {"level": LEVEL, "low": low, "high": high, "resamples": resamples, "seed": seed},
        "probability_of_improvement": {"value": groups.probability_of_improvement, "low": p_low, "high": p_high},
        "verdict": verdict(low, high, rope),
    }


def _unpaired_sd(a: SeedGroup, b: SeedGroup) -> float:
    """The standard deviation of the difference of two runs of other seeds: what pairing saves."""
    return float(np.sqrt(np.var(a.correct.mean(axis=1), ddof=1) + np.var(b.correct.mean(axis=1), ddof=1)))


def _machine_counts(group: SeedGroup) -> list[dict]:
    """How many of the group's runs each machine made, most first ("not recorded" for older runs)."""
    counts = Counter(machine or "not recorded" for machine in group.machines)
    return [{"machine": machine, "runs": runs} for machine, runs in counts.most_common()]


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
        {"name": name, "seed": seed, "accuracy": float(value), "machine": machine}
        for name, seed, value, machine in zip(group.names, group.seeds, accuracy, group.machines, strict=True)
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
