"""`fashionlab race` as text and markdown, and the lines it prints as it goes: one per look, one per round."""

from __future__ import annotations

from fashionlab.experiments.reports.formats import joined
from fashionlab.experiments.terms.names import assignment
from fashionlab.experiments.terms.wording import listed
from fashionlab.statistics.sequential import WITHIN, RaceLook

# A configuration's status at the end, as every format and the picture's legend word it.
STATUS = {
    "winner": "winner",
    "leader": "leader",
    "within": "within the ROPE of the leader",
    "dropped": "dropped",
    "failed": "failed",
    "open": "undecided",
}


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
    if outcome == "equivalent":
        within = [c for c in configurations if c["status"] in ("leader", "within")]
        timed = [c for c in within if c["seconds_per_seed"] is not None]
        cheapest = min(timed, key=lambda c: c["seconds_per_seed"]) if timed else None
        cheap = (
            f"; the cheapest to train: {cheapest['label']} ({cheapest['seconds_per_seed']:.1f} s a seed)"
            if cheapest
            else ""
        )
        names = ", ".join(c["label"] for c in within)
        return f"equivalent within the {rope}: {names}, led by {leader} ({spent}){cheap}"
    if outcome == "alone":
        failed = ", ".join(f"{c['label']} ({c['failed']})" for c in configurations if c["status"] == "failed")
        return f"only {leader} is left, not shown better: the others' runs failed: {failed}"
    more = result.get("more_seeds") or {}
    hint = ", ".join(f"{label} about {n}" for label, n in more.items())
    return f"undecided at --max-seeds {result['max_seeds']}: {leader} leads" + (
        f"; the shared seeds that would decide each against it, from this look: {hint}" if hint else ""
    )


def as_text(result: dict) -> str:
    configurations = result["configurations"]
    width = max(len("configuration"), *(len(c["label"]) for c in configurations))
    lines = [
        f"{len(configurations)} configurations raced on paired seeds; looks planned at "
        f"{', '.join(map(str, result['plan']['looks']))} shared seeds, each against the leader at its share of "
        f"{result['alpha']:g}/{len(configurations) - 1} (Bonferroni over the comparisons with the leader, "
        "Hwang-Shih-DeCani spending over the looks)",
        f"{'configuration':<{width}}  seeds  accuracy  against the leader, at its last look         status",
    ]
    for c in sorted(configurations, key=_rank):
        versus = c["against_leader"]
        if c["status"] in ("leader", "winner"):
            against = "—"
        elif versus:
            against = (
                f"{versus['difference']:+.4f} [{versus['low']:+.4f}, {versus['high']:+.4f}], {versus['seeds']} seeds"
            )
        else:
            against = "—"
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
    lines += [f"verdict: {verdict_line(result)}", f"reproduce: {result['reproduce']}"]
    if result.get("report"):
        lines.append(f"picture: {result['report']['png']} (and in `dvc plots show`)")
    return joined(lines)


def as_markdown(result: dict) -> str:
    lines = [
        f"**{verdict_line(result)}.**",
        "",
        "| configuration | seeds | accuracy | against the leader | status |",
        "|---|---:|---:|---|---|",
    ]
    for c in sorted(result["configurations"], key=_rank):
        versus = c["against_leader"]
        against = (
            f"{versus['difference']:+.4f} ({versus['level']:.2%} CI {versus['low']:+.4f} to {versus['high']:+.4f}, "
            f"{versus['seeds']} seeds)"
            if versus and c["status"] not in ("leader", "winner")
            else "—"
        )
        accuracy = "—" if c["accuracy"] is None else f"{c['accuracy']:.4f}"
        lines.append(f"| `{c['label']}` | {len(c['seeds'])} | {accuracy} | {against} | {STATUS[c['status']]} |")
    if result.get("report"):
        lines += ["", f"![every configuration against the leader]({result['report']['png']})"]
    lines += ["", f"Reproduce: `{result['reproduce']}`"]
    return joined(lines)


def _rank(configuration: dict) -> tuple:
    order = ("winner", "leader", "within", "open", "dropped", "failed")
    versus = configuration["against_leader"] or {}
    return order.index(configuration["status"]), -(versus.get("difference") or 0.0), configuration["label"]
