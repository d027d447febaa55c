"""fashionlab.experiments.records.git: git runs with SIGINT and SIGTERM blocked, so Ctrl-C reaches `fashionlab`
(which keeps every finished seed and stops) and never kills a checkout or the fetch of a saved seed halfway."""

import os
import re
import signal
import subprocess
import sys
import time

from fashionlab.experiments.records.git import git


def test_git_runs_with_ctrl_c_and_sigterm_blocked(tmp_path, monkeypatch):
    """A `git` that reports its blocked signals (Linux: /proc/self/status): SIGINT and SIGTERM wait for it to end,
    whenever they come, even before it runs its first instruction."""
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nprint(open('/proc/self/status').read())\n")  # sh would reset its mask
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    blocked = int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", git(tmp_path, "rev-parse"), re.MULTILINE)[1], 16)
    assert blocked & (1 << (signal.SIGINT - 1)) and blocked & (1 << (signal.SIGTERM - 1))
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # and no longer in ours


def test_ctrl_c_to_the_job_leaves_a_running_git_to_finish(tmp_path):
    """The whole job signalled, as a terminal does, while `git` (here one that takes a second) runs: it ends
    normally and its output arrives; the signal is left to `fashionlab`'s own handler."""
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\nimport pathlib, time\npathlib.Path({str(tmp_path / 'started')!r}).touch()\n"
        "time.sleep(1)\nprint('done')\n"
    )
    fake.chmod(0o755)
    script = (
        "import signal, sys\n"
        "from fashionlab.experiments.records.git import git\n"
        "signal.signal(signal.SIGINT, lambda *_: print('interrupted', flush=True))\n"
        f"print(git({str(tmp_path)!r}, 'fetch').strip(), flush=True)\n"
    )
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    job = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists():  # a script that failed before running git would never get here
        assert job.poll() is None and time.monotonic() < deadline, job.communicate(timeout=30)
        time.sleep(0.01)
    os.killpg(job.pid, signal.SIGINT)
    output, _ = job.communicate(timeout=30)
    assert job.returncode == 0 and output.split() == ["interrupted", "done"]
