"""fashionlab.experiments.records.runs: which runs make one seed group."""

from fashionlab.experiments.records.runs import Run, seed_group

CODE = (("src/fashionlab/training/loop.py", "0" * 32),)


def run(name: str, seed: int, numerics: str) -> Run:
    return Run(name, {"seed": seed, "numerics": numerics, "train.epochs": 20}, {}, code_files=CODE)


def test_runs_of_portable_and_of_native_numerics_are_never_one_group():
    """`numerics` is a parameter: runs of the other mode are another configuration, not more seeds of this one
    (`compare`, `decide` and `race` all read their groups through `seed_group`)."""
    portable = [run("p1", 1, "portable"), run("p2", 2, "portable")]
    native = [run("n1", 1, "native"), run("n3", 3, "native")]
    members, other_code = seed_group([*native, *portable], portable[0])
    assert [member.name for member in members] == ["p1", "p2"] and other_code == 0
    members, _ = seed_group([*portable, *native], native[0])
    assert [member.name for member in members] == ["n1", "n3"]
