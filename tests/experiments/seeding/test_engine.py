"""fashionlab.experiments.seeding.engine: the group of seeds a command trains stops on Ctrl-C with the seeds that
finished kept, even when the group itself missed the signal (the end-to-end cases are in
tests/experiments/commands/test_seeds.py)."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading

import pytest

from tests.conftest import requires_debian_data, tiny_params, write_params

FAKE_GROUP = """
import json, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # a group that missed the signal
for line in iter(sys.stdin.readline, ""):
    folder = line.rstrip("\\n")
    print(json.dumps({"event": "start", "folder": folder}), flush=True)
    time.sleep(1)
    print(json.dumps({"event": "done", "folder": folder, "accuracy": 0.5, "seconds": 1.0}), flush=True)
"""


@pytest.mark.timeout(60)
def test_a_group_that_missed_the_signal_ends_with_its_seed_in_hand(tmp_path, monkeypatch):
    """Ctrl-C during seed 1 of 4, while seed 2 waits in the group's input: if the group missed it, `fashionlab`
    feeds it nothing more, so it ends after seed 2 and the command stops, instead of each waiting for the other."""
    from fashionlab.experiments.seeding import engine
    from fashionlab.experiments.seeding.plan import Job

    monkeypatch.setattr(engine.LocalGroup, "command", (sys.executable, "-c", FAKE_GROUP))
    monkeypatch.setattr(engine, "workspace_changes", lambda root: ([], []))
    monkeypatch.setattr(engine, "checkout", lambda root, folder, changes, overrides: folder)
    monkeypatch.setattr(engine, "save_experiment", lambda root, folder, name: name)
    monkeypatch.setattr(engine, "remember", lambda root, ref: None)
    jobs = [Job("workspace", seed, f"seed{seed}", ()) for seed in (1, 2, 3, 4)]
    with engine.GroupTraining(tmp_path, io.StringIO()) as training:
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(engine.Interrupted) as stop:
            training.run(jobs)
        assert training.engine.process.wait(timeout=10) == 0  # it ended on its own, its input closed
    assert str(stop.value) == (
        "interrupted by SIGINT: the seeds that finished were kept (workspace's seeds 1, 2); run it again"
    )


@pytest.mark.slow
@requires_debian_data
def test_this_machines_group_trains_seeds_of_both_numerics_each_with_its_own(tmp_path):
    """The group starts with the workspace's numerics; a seed of the other mode starts a group with those, and
    every seed records the mode it was trained with."""
    from fashionlab.experiments.seeding.local import LocalGroup

    write_params(tmp_path / "params.yaml", {**tiny_params(), "numerics": "native"})
    folders = []
    for name, mode in (("a", "portable"), ("b", "native"), ("c", "portable")):
        (tmp_path / name).mkdir()
        write_params(tmp_path / name / "params.yaml", {**tiny_params(train={"epochs": 1}), "numerics": mode})
        folders.append(tmp_path / name)
    group = LocalGroup(tmp_path, tmp_path / "group.log")
    group.start()
    waiting = list(folders)
    events = group.events(lambda: waiting.pop(0) if waiting else None)
    done = []
    while len(done) < len(folders):
        event = next(events)
        assert event["event"] not in ("failed", "error"), event
        if event["event"] == "done":
            done.append(event["folder"])
    group.close(used=True)
    assert done == [str(folder) for folder in folders]
    recorded = [json.loads((folder / "metrics" / "machine.json").read_text()) for folder in folders]
    assert [record["numerics"] for record in recorded] == ["portable", "native", "portable"]
    portable_flags = [bool(record["environment"]["TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL"]) for record in recorded]
    assert portable_flags == [True, False, True]
