"""The sentences a verdict on two configurations is said in, shared by `compare` and `decide`."""

from __future__ import annotations

from fashionlab.experiments.terms.names import assignment, shown
from fashionlab.experiments.terms.wording import percent


def verdict_sentence(verdict: str, level: float, rope: float) -> str:
    """What a verdict on configurations says, with the interval it was read from."""
    interval, rope_text = f"the {percent(level)} interval", f"ROPE ±{rope:.4f}"
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


def parameters_line(changes: dict[str, dict[str, object]]) -> str | None:
    """`B sets train.groups.lower.learning_rate=1e-06 (A: 0.0001)`, numbers as DVC shows them."""
    if not changes:
        return None
    listed = "; ".join(f"{assignment(key, sides['b'])} (A: {shown(sides['a'])})" for key, sides in changes.items())
    return f"parameters: B sets {listed}"
