"""`fashionlab race` as text and markdown, and the lines it prints as it goes: one per look, one per round."""

from __future__ import annotations

from fashionlab.experiments.reports.formats import joined
from fashionlab.experiments.terms.names import assignment
from fashionlab.experiments.terms.wording import listed
from fashionlab.statistics.sequential import WITHIN, RaceLook

# A configuration's status at the end, as every format and the picture's legend word it.
STATUS = {
    "winner": "winner",
    "choice": "the choice",
    "within": "within the ROPE of the choice",
    "close": "could be better by less than the ROPE",
    "worse": "worse than the choice beyond the ROPE",
    "leader": "leader",
    "near": "within the ROPE of the leader",
    "dropped": "dropped",
    "failed": "failed",
    "open": "undecided",
}
REFERENCES = ("winner", "choice", "leader")  # the row the others are measured against: no interval of its own
RANK = ("winner", "choice", "leader", "within", "near", "close", "open", "worse", "dropped", "failed")


def versus(result: dict, configuration: dict) -> dict | None:
    """The configuration's interval against what the race measures the others by, the choice or the leader (None
    for that one itself)."""
    if configuration["status"] in REFERENCES:
        return None
    return configuration["against_choice" if result["outcome"] == "choice" else "against_leader"]


def reference(result: dict) -> str:
    """What the others are drawn against: "the choice", "the winner" or "the leader"."""
    return {"choice": "the choice", "winner": "the winner"}.get(result["outcome"], "the leader")


def look_line(look: RaceLook, labels: list[str]) -> str:
    """One line per look: how many are in, who leads, who was dropped and why, who left because runs failed."""
    parts = [f"look at {look.seeds} shared seeds: {len(look.accuracy)} configurations"]
    if look.failed:
        parts.append("out, their runs failed: " + ", ".join(labels[i] for i in look.failed))
    if look.outcome == "alone":
        return "; ".join([*parts, "nothing left to race"])
    parts.append(f"leader {labels[look.leader]} ({look.accuracy[look.leader]:.4f})")
    for standing in look.standings:
        if standing.configuration in look.dropped:
            low, high = standing.interval
            parts.append(
                f"dropped {labels[standing.configuration]}: worse than the leader beyond the ROPE, "
                f"{standing.difference:+.4f}, {look.level:.2%} interval [{low:+.4f}, {high:+.4f}]"
            )
    if look.leader in look.dropped:
        parts.append(f"dropped the leader {labels[look.leader]}: another was shown better beyond the ROPE")
    open_ = sum(s.verdict == "undecided" and s.configuration not in look.dropped for s in look.standings)
    within = sum(s.verdict in WITHIN and s.configuration not in look.dropped for s in look.standings)
    if within:
        parts.append(f"{within} within the ROPE of the leader")
    if open_:
        parts.append(f"{open_} undecided")
    if look.good:
        good = ", ".join(labels[i] for i in sorted(look.good))
        parts.append(f"good choices (none better by more than the ROPE): {good}")
    return "; ".join(parts)


def round_line(wanted: int, seeds: list[int], training: int, configurations: int) -> str:
    """What a round trains: `seeds` for `training` of the race's configurations."""
    who = f"{training} of {configurations} configurations"
    return f"next look at {wanted} shared seeds: training {listed(seeds)} for {who}"


def verdict_line(result: dict) -> str:
    configurations, outcome = result["configurations"], result["outcome"]
    last = result["looks"][-1] if result["looks"] else None
    spent = f"after {last['seeds']} shared seeds" if last else "before any look"
    leader = (
        configurations[result["leader"]]["label"] if result["leader"] is not None and result["leader"] >= 0 else None
    )
    rope = f"ROPE ±{result['rope']:.4f}"
    if outcome == "winner":
        return f"winner: {leader}: every other configuration was shown worse than it beyond the {rope} ({spent})"
    if outcome == "choice":
        choice = configurations[result["choice"]]
        good = result["good_choices"]
        if len(good) == 1:
            how = "the one good choice"
        elif choice["seconds_per_seed"] is not None:
            how = f"the cheapest to train of {len(good)} good choices ({choice['seconds_per_seed']:.1f} s a seed)"
        else:
            how = f"the most accurate of {len(good)} good choices"
        return (
            f"choice: {choice['label']}: no other configuration is better than it by more than the {rope}, at "
            f"{1 - result['alpha']:.0%} over every look and comparison ({spent}; {how})"
        )
    if outcome == "alone":
        failed = ", ".join(f"{c['label']} ({c['failed']})" for c in configurations if c["status"] == "failed")
        return f"only {leader} is left, not shown better: the others' runs failed: {failed}"
    more = result.get("more_seeds") or {}
    hint = ", ".join(f"{label} about {n}" for label, n in more.items())
    return f"undecided at --max-seeds {result['max_seeds']}: {leader} leads, not yet a good choice" + (
        f"; the shared seeds in all that would make it one against each, from this look: {hint}" if hint else ""
    )


def go_on_line(result: dict) -> str | None:
    """After `--max-seeds`, the command that goes on: a race with more seeds, the ones trained reused."""
    go_on = result.get("go_on")
    if not go_on:
        return None
    trained = result["looks"][-1]["seeds"] if result["looks"] else 0
    return (
        f"go on: {go_on['command']} (its {trained} shared seeds so far are reused, and trained only up to "
        f"{go_on['max_seeds']} in all: a new race, with the looks that --max-seeds plans)"
    )


def as_text(result: dict) -> str:
    configurations = result["configurations"]
    width = max(len("configuration"), *(len(c["label"]) for c in configurations))
    against_what = f"against {reference(result)}, at its last look"
    lines = [
        f"{len(configurations)} configurations raced on paired seeds; looks planned at "
        f"{', '.join(map(str, result['plan']['looks']))} shared seeds, each against the leader at its share of "
        f"{result['alpha']:g}/{len(configurations) - 1} (Bonferroni over the comparisons with the leader, on each "
        "interval's upper end, Hwang-Shih-DeCani spending over the looks)",
        f"{'configuration':<{width}}  seeds  accuracy  {against_what:<43} status",
    ]
    for c in sorted(configurations, key=_rank):
        interval = versus(result, c)
        against = (
            f"{interval['difference']:+.4f} [{interval['low']:+.4f}, {interval['high']:+.4f}], "
            f"{interval['seeds']} seeds"
            if interval
            else "—"
        )
        accuracy = "—" if c["accuracy"] is None else f"{c['accuracy']:.4f}"
        status = STATUS[c["status"]] + (f": {c['failed']}" if c["failed"] else "")
        lines.append(f"{c['label']:<{width}}  {len(c['seeds']):>5}  {accuracy:>8}  {against:<43} {status}")
    named = [c for c in configurations if c["revision"] and c["parameters"]]
    if named:
        lines.append("what sets the named ones apart:")
        lines += [
            f"  {c['label']}: " + ", ".join(assignment(key, value) for key, value in c["parameters"].items())
            for c in named
        ]
    lines.append(f"verdict: {verdict_line(result)}")
    if go_on := go_on_line(result):
        lines.append(go_on)
    lines.append(f"reproduce: {result['reproduce']}")
    if result.get("report"):
        lines.append(f"picture: {result['report']['png']} (and in `dvc plots show`)")
    return joined(lines)


def as_markdown(result: dict) -> str:
    lines = [
        f"**{verdict_line(result)}.**",
        "",
        f"| configuration | seeds | accuracy | against {reference(result)} | status |",
        "|---|---:|---:|---|---|",
    ]
    for c in sorted(result["configurations"], key=_rank):
        interval = versus(result, c)
        against = (
            f"{interval['difference']:+.4f} ({interval['level']:.2%} CI {interval['low']:+.4f} to "
            f"{interval['high']:+.4f}, {interval['seeds']} seeds)"
            if interval
            else "—"
        )
        accuracy = "—" if c["accuracy"] is None else f"{c['accuracy']:.4f}"
        lines.append(f"| `{c['label']}` | {len(c['seeds'])} | {accuracy} | {against} | {STATUS[c['status']]} |")
    if result.get("report"):
        lines += ["", f"![every configuration against {reference(result)}]({result['report']['png']})"]
    if go_on := go_on_line(result):
        lines += ["", go_on.replace("go on: ", "Go on: `", 1).replace(" (its ", "` (its ", 1)]
    lines += ["", f"Reproduce: `{result['reproduce']}`"]
    return joined(lines)


def _rank(configuration: dict) -> tuple:
    interval = configuration["against_choice"] or configuration["against_leader"] or {}
    return RANK.index(configuration["status"]), -(interval.get("difference") or 0.0), configuration["label"]
