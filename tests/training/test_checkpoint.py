"""fashionlab.training.checkpoint: a run resumed from its checkpoint is bit-identical, and a checkpoint that
does not fit is set aside."""

import pytest

from fashionlab.common.outputs import write_files
from fashionlab.training.checkpoint import checkpoint_file, resume_checkpoint
from fashionlab.training.loop import Interrupted, Position
from tests.training.conftest import make_trainer, short_fit


def test_interrupted_and_resumed_run_is_bit_identical(data, tmp_path):
    straight = make_trainer()
    short_fit(straight, data, epochs=2)

    first = make_trainer()
    history = []
    calls = iter(range(100))
    with pytest.raises(Interrupted) as stop:  # stop in the middle of the second epoch
        short_fit(
            first, data, epochs=2, history=history, stop_requested=lambda: "SIGINT" if next(calls) == 10 else None
        )
    assert stop.value.position == Position(1, 3)
    write_files(checkpoint_file(tmp_path, first, stop.value.position, history, "key", complete=False))

    resumed = make_trainer(seed=99)  # a new process: other initial weights until the checkpoint is loaded
    position, restored = resume_checkpoint(tmp_path, resumed, "key")
    assert position == Position(1, 3) and len(restored) == 1
    final = short_fit(resumed, data, epochs=2, start=position, history=restored)
    for a, b in zip(straight.model.weights, resumed.model.weights, strict=True):
        assert a.numpy().tobytes() == b.numpy().tobytes()
    assert final[-1].train_loss == float(straight.train_loss.result())


def test_checkpoint_of_other_parameters_is_set_aside(data, tmp_path, capsys):
    trainer = make_trainer()
    write_files(checkpoint_file(tmp_path, trainer, Position(1, 0), [], "old-key", complete=False))
    assert resume_checkpoint(tmp_path, make_trainer(), "new-key") is None
    assert (tmp_path / "state.stale.npz").exists() and not (tmp_path / "state.npz").exists()
    assert "different training parameters" in capsys.readouterr().err


def test_finished_checkpoint_starts_a_fresh_run(tmp_path):
    trainer = make_trainer()
    write_files(checkpoint_file(tmp_path, trainer, Position(2, 0), [], "key", complete=True))
    assert resume_checkpoint(tmp_path, make_trainer(), "key") is None


def test_unreadable_checkpoint_is_set_aside(tmp_path, capsys):
    (tmp_path / "state.npz").write_bytes(b"not a zip")
    assert resume_checkpoint(tmp_path, make_trainer(), "key") is None
    assert (tmp_path / "state.stale.npz").exists()
    assert "cannot be read" in capsys.readouterr().err
