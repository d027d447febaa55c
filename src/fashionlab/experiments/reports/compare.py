"""`fashionlab compare` as text and markdown: the configurations first (or why not), then the two named models."""

from __future__ import annotations

from fashionlab.experiments.reports.formats import joined
from fashionlab.experiments.reports.verdicts import parameters_line, verdict_sentence
from fashionlab.experiments.terms.wording import counted, figure, percent, seed_word, side_label
from fashionlab.statistics.significance import MAX_SEEDS


def verdict_line(result: dict) -> str:
    level, p = percent(result["interval"]["level"]), f"McNemar p = {result['mcnemar_p']:.3g}"
    if result["verdict"] == "no detectable difference":
        return f"no detectable difference at {level} ({p})"
    return f"B is {'better' if result['verdict'] == 'B better' else 'worse'} than A at {level} ({p})"


def as_text(result: dict) -> str:
    """The configurations first (or why not), then the two named models."""
    interval, configuration = result["interval"], result["configuration"]
    width = max(len(row["class"]) for row in result["recall"])
    lines = [
        *_configuration_text(result, configuration),
        "",
        f"the two trained models {side_label(result['a'])} and {side_label(result['b'])} alone, "
        "on the test images (their seeds' noise not included):",
        f"A  {side_label(result['a'])}: test accuracy {result['a']['accuracy']:.4f}",
        f"B  {side_label(result['b'])}: test accuracy {result['b']['accuracy']:.4f}",
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
    return joined(lines)


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
        f"{letter}  {side_label(side)}: {_seed_list(c[key + '_seeds'])}: test accuracy {figure(c[key + '_accuracy'])}"
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
        *_sequential_text(c),
    ]


def _sequential_text(c: dict) -> list[str]:
    """Where `decide` would read these seeds otherwise, the one line that says so and why."""
    looked = c.get("sequential")
    if not looked or looked["verdict"] == c["verdict"]:
        return []
    return [
        f"`fashionlab decide` reads these seeds as {looked['verdict']}: at its look of {looked['seeds']} shared "
        f"seeds, {percent(looked['level'])} interval [{looked['low']:+.4f}, {looked['high']:+.4f}], since it "
        f"spends {percent(looked['alpha'])} over planned looks, where this {percent(c['interval']['level'])} "
        f"interval takes all {len(c['shared_seeds'])} shared seeds at once"
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
        f"{letter}'s {seed_word(len(seeds))} {', '.join(map(str, seeds))}"
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


def _needed(c: dict) -> str:
    return f"more than {MAX_SEEDS}" if c["seeds_needed"] is None else str(c["seeds_needed"])


def _seed_list(seeds: list) -> str:
    if seeds == [None]:
        return "1 run, no seed recorded"
    return f"{counted(len(seeds), 'seed')} ({', '.join(map(str, seeds))})"


def _runs_of_other_code(count: int) -> str:
    return f"{counted(count, 'run')} of these parameters with other code left out"


def as_markdown(result: dict) -> str:
    interval, c = result["interval"], result["configuration"]
    a, b = result["a"], result["b"]
    lines = [
        "| configuration | seeds | test accuracy, mean ± sd (min–max) |",
        "|---|---|---|",
        f"| A: `{side_label(a)}` | {_seed_list(c['a_seeds'])} | {figure(c['a_accuracy'])} |",
        f"| B: `{side_label(b)}` | {_seed_list(c['b_seeds'])} | {figure(c['b_accuracy'])} |",
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
        lines += [f"{line[0].upper()}{line[1:]}." for line in _sequential_text(c)]
    lines += [
        "",
        f"| the two trained models | A: `{side_label(a)}` | B: `{side_label(b)}` | B − A |",
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
    return joined(lines)
