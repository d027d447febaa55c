"""fashionlab.experiments.reports.race and race_picture: a race's result as a person reads it, in the same words as
its help, and drawn against what it measures the others by."""

import json

from fashionlab.experiments import cli
from fashionlab.experiments.reports import race_picture
from fashionlab.experiments.reports.race import as_markdown, as_text, verdict_line


def configuration(label: str, status: str, difference: float | None, against: str = "leader") -> dict:
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
        "against_leader": versus if against == "leader" else None,
        "against_choice": versus if against == "choice" else None,
        "status": status,
        "failed": None,
        "seconds_per_seed": 30.0,
        "trained": [],
    }


def undecided() -> dict:
    return {
        "configurations": [configuration("a=1", "leader", None), configuration("a=2", "open", -0.003)],
        "outcome": "budget",
        "leader": 0,
        "choice": None,
        "good_choices": [],
        "looks": [{"seeds": 20}],
        "alpha": 0.05,
        "rope": 0.005,
        "max_seeds": 20,
        "plan": {"looks": [3, 5, 8, 12, 16, 20]},
        "more_seeds": {"a=2": 45},
        "go_on": {"max_seeds": 45, "command": "fashionlab race -S a=1,2 --max-seeds 45"},
        "reproduce": "fashionlab race -S a=1,2 --max-seeds 20",
    }


def chosen() -> dict:
    """Three configurations: a=2 named (the cheaper of two good choices), a=1 close to it, a=3 dropped."""
    rows = [
        configuration("a=1", "close", 0.001, against="choice"),
        configuration("a=2", "choice", None, against="choice"),
        configuration("a=3", "dropped", -0.02),
    ]
    rows[1]["seconds_per_seed"] = 12.0
    return {
        **undecided(),
        "configurations": rows,
        "outcome": "choice",
        "choice": 1,
        "good_choices": [0, 1],
        "more_seeds": None,
        "go_on": None,
        "looks": [{"seeds": 5}],
    }


def test_the_undecided_are_called_undecided_in_the_help_the_table_and_the_verdict():
    result = undecided()
    text, markdown = as_text(result), as_markdown(result)
    assert verdict_line(result).startswith("undecided at --max-seeds 20: a=1 leads, not yet a good choice")
    assert text.splitlines()[3].endswith(" undecided") and "| undecided |" in markdown
    assert "not separated" not in text + markdown
    race_help = cli.parser()._subparsers._group_actions[0].choices["race"].format_help()
    assert "undecided" in race_help and "not separated" not in race_help


def test_after_max_seeds_the_command_that_goes_on_is_printed_and_says_what_it_trains():
    result = undecided()
    lines = as_text(result).splitlines()
    assert lines[-2] == (
        "go on: fashionlab race -S a=1,2 --max-seeds 45 (its 20 shared seeds so far are reused, and trained only up "
        "to 45 in all: a new race, with the looks that --max-seeds plans)"
    )
    assert "Go on: `fashionlab race -S a=1,2 --max-seeds 45` (its 20 shared seeds" in as_markdown(result)
    assert "go on" not in as_text(chosen()).lower()


def test_a_choice_is_named_first_with_its_guarantee_and_the_others_against_it():
    result = chosen()
    assert verdict_line(result) == (
        "choice: a=2: no other configuration is better than it by more than the ROPE ±0.0050, at 95% over every look "
        "and comparison (after 5 shared seeds; the cheapest to train of 2 good choices (12.0 s a seed))"
    )
    text = as_text(result).splitlines()
    assert "against the choice, at its last look" in text[1]
    assert [line.split()[0] for line in text[2:5]] == ["a=2", "a=1", "a=3"]
    assert " ".join(text[3].split()[3:]) == "+0.0010 [-0.0100, +0.0040], 20 seeds could be better by less than the ROPE"
    markdown = as_markdown(result)
    assert markdown.startswith("**choice: a=2: ") and "| against the choice | status |" in markdown


def test_the_picture_draws_the_others_against_the_choice_with_only_the_statuses_it_has():
    result = chosen()
    rows = race_picture.rows(result)
    assert [(row["configuration"], row["difference"], row["status"]) for row in rows] == [
        ("a=1", 0.001, "could be better by less than the ROPE"),
        ("a=2", 0.0, "the choice"),
        ("a=3", -0.02, "dropped"),
    ]
    assert rows[1]["row"] == "a=2: 0.8800, 20 seeds"  # each row's accuracy and seeds, beside its name
    spec = json.loads(race_picture.template_text(rows))
    scale = spec["spec"]["layer"][-1]["encoding"]["color"]["scale"]
    assert scale["domain"] == ["the choice", "could be better by less than the ROPE", "dropped"]
    colours = dict(
        zip(
            *json.loads(race_picture.TEMPLATE.read_text())["spec"]["layer"][-1]["encoding"]["color"]["scale"].values(),
            strict=True,
        )
    )
    assert colours["winner"] == colours["the choice"] != colours["leader"]
    assert race_picture.title(result).startswith("Each configuration against the choice:")
    assert "template: race_intervals" in race_picture.pipeline_text(result["reproduce"], result)
