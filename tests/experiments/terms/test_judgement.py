"""fashionlab.experiments.terms.judgement: one value for the settings a verdict is read with, and one builder of
the command line that reproduces it, quoted, with every option that changed the result."""

import shlex

from fashionlab.experiments.terms.judgement import Judgement, reproduce
from fashionlab.experiments.terms.wording import percent


def test_the_defaults_give_only_the_cost_bound():
    assert reproduce("decide", ["HEAD", "longer"], Judgement()) == "fashionlab decide HEAD longer --max-seeds 20"


def test_every_setting_that_changed_the_result_is_named_and_every_word_quoted():
    judgement = Judgement(rope=0.01, resamples=500, seed=7, alpha=0.1, max_seeds=8)
    line = reproduce("race", ["it's mine", "-S", "train.epochs=1,3"], judgement)
    assert shlex.split(line) == [
        "fashionlab",
        "race",
        "it's mine",
        "-S",
        "train.epochs=1,3",
        *("--max-seeds", "8", "--alpha", "0.1", "--rope", "0.01", "--resamples", "500", "--seed", "7"),
    ]


def test_a_rate_is_written_as_it_is():
    assert [percent(x) for x in (0.05, 0.1, 0.95, 0.9973, 0.025)] == ["5%", "10%", "95%", "99.73%", "2.50%"]
