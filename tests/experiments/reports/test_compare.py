"""fashionlab.experiments.reports.compare: where `decide` reads the same seeds otherwise, one line says so."""

from fashionlab.experiments.reports.compare import _sequential_text


def configuration(verdict: str, sequential: str) -> dict:
    reading = {"verdict": sequential, "seeds": 5, "level": 0.9904, "low": -0.0012, "high": 0.0101, "alpha": 0.05}
    return {"verdict": verdict, "interval": {"level": 0.95}, "shared_seeds": [1, 2, 3, 4, 5, 42], "sequential": reading}


def test_a_verdict_decide_would_not_give_is_said_in_one_line_with_decides():
    (line,) = _sequential_text(configuration("better", "undecided"))
    assert line == (
        "`fashionlab decide` reads these seeds as undecided: at its look of 5 shared seeds, 99.04% interval "
        "[-0.0012, +0.0101], since it spends 5% over planned looks, where this 95% interval takes all 6 shared "
        "seeds at once"
    )


def test_the_same_verdict_or_no_reading_adds_nothing():
    assert _sequential_text(configuration("better", "better")) == []
    assert _sequential_text({"verdict": None, "sequential": None}) == []
