"""fashionlab.experiments.seeding.engine: the group of seeds a command trains stops on Ctrl-C with the seeds that
finished kept, even when the group itself missed the signal (the end-to-end cases are in
tests/experiments/commands/test_seeds.py)."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading

import pytest

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
