"""fashionlab.pipeline.group: several seeds through the whole pipeline in one process, each into its own folder,
reporting in JSON; a seed that fails fails alone. That a seed trained in a group is bit for bit the seed alone is
tested end to end, through `dvc repro -f`, in tests/experiments/commands/test_seeds.py."""

import json
import subprocess
import sys

from tests.conftest import ROOT, STAGE_ENV, requires_debian_data, snapshot, tiny_params, write_params


def run_group(folders, cwd=ROOT, env=None):
    result = subprocess.run(
        [sys.executable, "-m", "fashionlab.pipeline.group"],
        input="".join(f"{folder}\n" for folder in folders),
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**STAGE_ENV, **(env or {})},
    )
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def seed_folder(tmp_path, name, **train):
    folder = tmp_path / name
    folder.mkdir()
    write_params(folder / "params.yaml", tiny_params(train={"epochs": 1, **train}))
    return folder


@requires_debian_data
def test_a_seed_whose_loss_goes_nan_fails_alone_and_the_others_are_written(tmp_path):
    nan = seed_folder(
        tmp_path,
        "nan",
        groups={
            **tiny_params()["train"]["groups"],
            "lower": {"layers": ["dense1", "norm1", "dense2", "norm2"], "optimizer": "adam", "learning_rate": 1e38},
        },
    )
    good = seed_folder(tmp_path, "good")
    result, events = run_group([nan, good])
    assert result.returncode == 0, result.stderr[-2000:]
    kinds = [(event["event"], event.get("folder")) for event in events if event["event"] != "epoch"]
    assert kinds == [
        ("ready", None),  # its imports done: a cluster's node waits for it before it takes seeds
        ("start", str(nan)),
        ("failed", str(nan)),
        ("start", str(good)),
        ("done", str(good)),
    ]
    (failed,) = [event for event in events if event["event"] == "failed"]
    assert failed["error"].startswith("loss became nan at epoch 1, step ")
    assert "models" not in {path.split("/")[0] for path in snapshot(nan)}  # no model for the failed seed
    written = snapshot(good)
    assert {"models/model.keras", "metrics/eval.json", "metrics/machine.json", "data/prepared/train.npz"} <= set(
        written
    )
    done = events[-1]
    assert done["accuracy"] == json.loads(written["metrics/eval.json"])["accuracy"]


def test_a_folder_without_parameters_stops_the_group_in_one_record(tmp_path):
    result, events = run_group([tmp_path / "missing"])
    assert result.returncode == 2
    assert events == [
        {"event": "ready"},
        {
            "event": "error",
            "exit_code": 2,
            "error": f"{tmp_path}/missing/params.yaml: file not found, expected the pipeline's parameters",
        },
    ]


@requires_debian_data
def test_a_seed_of_the_other_numerics_ends_the_group_with_a_switch(tmp_path):
    """The numerics are chosen before TensorFlow loads: a group of native numerics trains the native seed, then
    hands the portable one back untouched for a group started with portable numerics."""
    native = seed_folder(tmp_path, "native", jit_compile=True)
    params = tiny_params(train={"epochs": 1})
    params["numerics"] = "native"
    write_params(native / "params.yaml", params)
    portable = seed_folder(tmp_path, "portable", jit_compile=True)
    result, events = run_group([native, portable], env={"FASHIONLAB_NUMERICS": "native"})
    assert result.returncode == 0, result.stderr[-2000:]
    kinds = [(event["event"], event.get("folder")) for event in events if event["event"] != "epoch"]
    assert kinds == [("ready", None), ("start", str(native)), ("done", str(native)), ("switch", str(portable))]
    assert events[-1]["numerics"] == "portable"
    assert json.loads((native / "metrics" / "machine.json").read_text())["numerics"] == "native"
    assert set(snapshot(portable)) == {"params.yaml"}
