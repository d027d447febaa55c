"""fashionlab.experiments.commands.replicates: `fashionlab replicates` on the structure `dvc exp show --json` prints
(the command itself runs in test_pipeline.py, on experiments of a real pipeline)."""

import pytest

from fashionlab.experiments.commands.replicates import groups
from fashionlab.experiments.records.runs import pending, runs, seed_group, workspace_run
from fashionlab.experiments.reports.replicates import as_markdown, as_text


def entry(rev, name, seed, accuracy, rate=0.01, macro_f1=None, code=None):
    params = {"seed": seed, "train": {"epochs": 20, "groups": {"upper": {"learning_rate": rate}}}}
    metrics = {"metrics/eval.json": {"data": {"accuracy": accuracy, "macro_f1": macro_f1 or accuracy - 0.001}}}
    data = {"params": {"params.yaml": {"data": params}}, "metrics": metrics}
    if code:  # what DVC lists of the stages' dependencies: Python files, and data that are not code
        data["deps"] = {"src/train.py": {"hash": code}, "data/train.npz": {"hash": f"{seed}"}}
    return {"rev": rev, "name": name, "data": data}


def experiment(name, seed, accuracy, state="success", **kwargs):
    return {"executor": {"state": state}, "name": name, "revs": [entry(f"{name}-sha", name, seed, accuracy, **kwargs)]}


TABLE = [
    {**entry("workspace", None, 42, 0.5), "experiments": None},  # repeats HEAD: must not count twice
    {
        **entry("c0ffee0123", "main", 42, 0.89),
        "experiments": [
            experiment("seed-1", 1, 0.892),
            experiment("seed-2", 2, 0.886),
            experiment("seed-1-again", 1, 0.5),  # older than seed-1: a repeat, not a replicate
            experiment("fast", 42, 0.87, rate=0.05),
            experiment("fast-2", 2, 0.86, rate=0.05),
            experiment("queued", 3, 0.89, state="queued"),  # shows its baseline's metrics: not a result
            experiment("running", 4, 0.89, state="running"),
            experiment("failed", 5, 0.89, state="failed"),
            {"executor": None, "name": "applied", "revs": [entry("a11ed", "applied", 7, 0.888)]},
        ],
    },
    {"rev": "0ld", "name": None, "data": {"params": {}, "metrics": {}}, "experiments": None},  # before metrics
]


def test_runs_skip_the_workspace_and_unfinished_experiments():
    found, skipped = runs(TABLE)
    assert [run.name for run in found] == ["main", "seed-1", "seed-2", "seed-1-again", "fast", "fast-2", "applied"]
    assert skipped == 4
    assert found[1].params["train.groups.upper.learning_rate"] == 0.01 and found[1].scores["accuracy"] == 0.892


def test_groups_differ_in_everything_but_seed():
    summary = groups(runs(TABLE)[0])
    default, fast = summary
    assert default["configuration"] == "train.groups.upper.learning_rate=0.01"
    assert [(run["name"], run["seed"]) for run in default["runs"]] == [
        ("seed-1", 1),
        ("seed-2", 2),
        ("applied", 7),
        ("main", 42),
    ]
    accuracies = [0.892, 0.886, 0.888, 0.89]
    mean = sum(accuracies) / 4
    sd = (sum((a - mean) ** 2 for a in accuracies) / 3) ** 0.5
    assert default["accuracy"] == {"mean": pytest.approx(mean), "sd": pytest.approx(sd), "min": 0.886, "max": 0.892}
    assert default["repeated_seeds"] == 1 and fast["repeated_seeds"] == 0
    assert fast["configuration"] == "train.groups.upper.learning_rate=0.05"
    assert fast["macro_f1"]["mean"] == pytest.approx(0.864)


def test_a_single_run_has_no_standard_deviation_and_one_group_is_labelled_as_such():
    (only,) = groups(runs([{**entry("abc1234", "main", 42, 0.9), "experiments": None}])[0])
    assert only["configuration"] == "same parameters"
    assert only["accuracy"] == {"mean": 0.9, "sd": None, "min": 0.9, "max": 0.9}
    text = as_text({"groups": [only], "skipped": 0})
    assert "same parameters: 1 run, seed 42\n" in text and "test accuracy  0.9000 ± n/a (0.9000–0.9000)" in text


def test_text_and_markdown_show_each_group_and_what_was_left_out():
    summary = groups(runs(TABLE)[0])
    text = as_text({"groups": summary, "skipped": 4})
    assert "train.groups.upper.learning_rate=0.01: 4 runs, seeds 1, 2, 7, 42" in text
    assert "  test accuracy  0.8890 ± 0.0026 (0.8860–0.8920)" in text
    assert "  accuracy by seed  1: 0.8920, 2: 0.8860, 7: 0.8880, 42: 0.8900\n" in text
    assert "  1 older run of a seed already listed left out\n" in text
    assert text.endswith("4 runs left out: queued, running, failed, or without test scores\n")
    markdown = as_markdown({"groups": summary, "skipped": 0}).splitlines()
    assert markdown[2].startswith("| train.groups.upper.learning_rate=0.01 | 4 | 1, 2, 7, 42 | 0.8890 ± 0.0026")
    assert len(markdown) == 4


CODE_TABLE = [
    {**entry("workspace", None, 42, 0.885, code="new"), "experiments": None},
    {
        **entry("c0ffee0123", "main", 42, 0.89, code="old"),
        "experiments": [
            experiment("seed-1", 1, 0.892, code="old"),
            experiment("seed-2", 2, 0.886, code="old"),
            experiment("seed-3-new-code", 3, 0.881, code="new"),
            experiment("queued", 4, 0.89, state="queued", code="old"),
        ],
    },
    {**entry("0ld", "older", 5, 0.87, code="older"), "experiments": None},
]


def test_runs_of_other_code_never_join_a_group():
    """The same parameters, three versions of the code: three groups, labelled by the code's hash."""
    summary = groups(runs(CODE_TABLE)[0])
    assert [[run["name"] for run in group["runs"]] for group in summary] == [
        ["seed-1", "seed-2", "main"],
        ["seed-3-new-code"],
        ["older"],
    ]
    assert summary[0]["configuration"].startswith("code=") and '"' not in summary[0]["configuration"]
    assert len({g["configuration"] for g in summary}) == 3


def test_a_revisions_seed_group_and_what_was_left_out():
    found, _ = runs(CODE_TABLE)
    main = found[0]
    members, other_code = seed_group(found, main)
    assert [(run.name, run.seed) for run in members] == [("seed-1", 1), ("seed-2", 2), ("main", 42)]
    assert other_code == 2  # seed-3-new-code and older: the same parameters, other code
    workspace = workspace_run(CODE_TABLE)
    assert (workspace.name, workspace.rev, workspace.scores["accuracy"]) == ("workspace", "workspace", 0.885)
    members, other_code = seed_group(found, workspace)
    assert [run.name for run in members] == ["seed-3-new-code", "workspace"] and other_code == 4
    assert [(run.name, run.seed) for run in pending(CODE_TABLE)] == [("queued", 4)]
