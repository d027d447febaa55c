"""fashionlab.experiments.seeding.progress: one live line for a group of seeds on a terminal, a line per seed as it
ends."""

import io

from fashionlab.experiments.seeding.progress import Progress, elapsed


class Terminal(io.StringIO):
    def isatty(self):
        return True


def feed(progress, events):
    for kind, label, seed, fields in events:
        progress.event(kind, label, seed, fields)


EVENTS = [
    ("start", "workspace", 1, {}),
    ("epoch", "workspace", 1, {"epoch": 1, "epochs": 2, "seconds": 5.0}),  # compiles: not in the estimate
    ("epoch", "workspace", 1, {"epoch": 2, "epochs": 2, "seconds": 1.0}),
    ("done", "workspace", 1, {"accuracy": 0.8921, "seconds": 8.0, "name": "seed1-abcdef0"}),
    ("start", "workspace", 2, {}),
    ("epoch", "workspace", 2, {"epoch": 1, "epochs": 2, "seconds": 1.0}),
    ("failed", "workspace", 2, {"error": "loss became nan at epoch 2, step 3"}),
    ("start", "workspace", 3, {}),
]


def test_a_terminal_sees_one_line_redrawn_and_a_line_per_seed():
    terminal = Terminal()
    progress = Progress(["workspace"] * 3, terminal)
    feed(progress, EVENTS)
    progress.close()
    text = terminal.getvalue()
    redrawn = [part for part in text.split("\r\x1b[K") if part]
    assert "seed 1: test accuracy 0.8921 (8.0 s, seed1-abcdef0)\n" in redrawn
    assert "seed 2: failed: loss became nan at epoch 2, step 3\n" in redrawn
    live = [part for part in redrawn if not part.endswith("\n")]
    assert live[0].startswith("0 of 3 seeds done · training seed 1 · 0:00 elapsed")
    # after seed 1: one steady epoch of 1 s and 2 s outside the epochs; seed 2 in its first epoch of 2
    assert "0 of 3 seeds done · training seed 1 (epoch 2/2) · 0:00 elapsed · about 0:04 left" in live
    assert "1 of 3 seeds done · training seed 2 (epoch 1/2) · 0:00 elapsed · about 0:07 left" in live
    assert live[-1].startswith("1 of 3 seeds done, 1 failed · training seed 3")
    assert text.endswith("\r\x1b[K")  # closed: the live line is wiped


def test_a_log_gets_only_the_lines_per_seed_and_sides_are_named():
    log = io.StringIO()
    progress = Progress(["A", "B"], log, sides=True)
    progress.event("start", "A", 1, {})
    progress.event("done", "A", 1, {"accuracy": 0.89, "seconds": 3.0, "name": "seed1-0000000"})
    progress.event("failed", "B", 1, {"error": "loss became nan"})
    assert (
        log.getvalue() == "A seed 1: test accuracy 0.8900 (3.0 s, seed1-0000000)\nB seed 1: failed: loss became nan\n"
    )


def test_elapsed_is_minutes_and_seconds():
    assert (elapsed(0), elapsed(59.6), elapsed(61), elapsed(3725)) == ("0:00", "1:00", "1:01", "62:05")
