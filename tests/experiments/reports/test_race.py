"""fashionlab.experiments.reports.race: a race's result as a person reads it, in the same words as its help."""

from fashionlab.experiments import cli
from fashionlab.experiments.reports.race import as_markdown, as_text, verdict_line


def configuration(label: str, status: str, difference: float | None) -> dict:
    versus = None
    if difference is not None:
        versus = {"seeds": 20, "level": 0.999, "difference": difference, "low": -0.01, "high": 0.004}
    return {
        "label": label,
        "revision": None,
        "commit": None,
        "parameters": {},
        "seeds": list(range(1, 21)),
        "accuracy": 0.88,
        "accuracy_seeds": 20,
        "against_leader": versus,
        "status": status,
        "failed": None,
        "seconds_per_seed": 30.0,
        "trained": [],
    }


def test_the_undecided_are_called_undecided_in_the_help_the_table_and_the_verdict():
    result = {
        "configurations": [configuration("a=1", "leader", None), configuration("a=2", "open", -0.003)],
        "outcome": "budget",
        "leader": 0,
        "looks": [{"seeds": 20}],
        "alpha": 0.05,
        "rope": 0.005,
        "max_seeds": 20,
        "plan": {"looks": [3, 5, 8, 12, 16, 20]},
        "more_seeds": {"a=2": 45},
        "reproduce": "fashionlab race -S a=1,2 --max-seeds 20",
    }
    text, markdown = as_text(result), as_markdown(result)
    assert verdict_line(result).startswith("undecided at --max-seeds 20: a=1 leads")
    assert text.splitlines()[3].endswith(" undecided") and "| undecided |" in markdown
    assert "not separated" not in text + markdown
    race_help = cli.parser()._subparsers._group_actions[0].choices["race"].format_help()
    assert "undecided" in race_help and "not separated" not in race_help
