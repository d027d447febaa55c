"""fashionlab.experiments.scratch: git runs outside the terminal's process group, so Ctrl-C reaches `fashionlab`
(which keeps every finished seed and stops) and never kills a checkout or the fetch of a saved seed halfway."""

import os
import signal
import subprocess
import sys
import time

from fashionlab.experiments.scratch import git


def test_git_runs_in_a_process_group_of_its_own(tmp_path, monkeypatch):
    """A `git` that reports its process group: a Ctrl-C sent to ours does not reach it."""
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport os\nprint(os.getpgrp())\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    assert int(git(tmp_path, "rev-parse")) != os.getpgrp()


def test_ctrl_c_to_the_job_leaves_a_running_git_to_finish(tmp_path):
    """The whole job signalled, as a terminal does, while `git` (here one that takes a second) runs: it ends
    normally and its output arrives; the signal is left to `fashionlab`'s own handler."""
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path}/started\nsleep 1\necho done\n")
    fake.chmod(0o755)
    script = (
        "import signal, sys\n"
        "from fashionlab.experiments.scratch import git\n"
        "signal.signal(signal.SIGINT, lambda *_: print('interrupted', flush=True))\n"
        f"print(git({str(tmp_path)!r}, 'fetch').strip(), flush=True)\n"
    )
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    job = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    while not (tmp_path / "started").exists():
        time.sleep(0.01)
    os.killpg(job.pid, signal.SIGINT)
    output, _ = job.communicate(timeout=30)
    assert job.returncode == 0 and output.split() == ["interrupted", "done"]
