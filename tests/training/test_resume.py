"""fashionlab.training.resume: the outputs written with each epoch's checkpoint, and the last good checkpoint
kept when the loss turns NaN."""

import json
import os
import signal

import pytest

from fashionlab.common.errors import TrainingError
from fashionlab.common.outputs import write_files
from fashionlab.training.checkpoint import checkpoint_file
from fashionlab.training.loop import Position
from tests.training.conftest import make_trainer, short_fit


def test_nan_loss_keeps_the_last_good_checkpoint(data, tmp_path):
    from fashionlab.common.params import parse_params
    from fashionlab.training.display import TrainingDisplay
    from fashionlab.training.resume import run_key, train_resumable
    from tests.conftest import tiny_params

    raw = tiny_params(data={"train_subset": 250})
    raw["model"]["hidden_units"] = [16, 8]
    raw["train"].update(epochs=3, batch_size=32, jit_compile=False)
    raw["numerics"] = "native"  # a step outside XLA: native numerics only
    raw["train"]["groups"]["lower"]["learning_rate"] = 1e38
    params = parse_params(raw)
    history = short_fit(make_trainer(), data, epochs=1)
    # A checkpoint at the end of epoch 1 with finite weights, as an earlier run of these parameters
    # would leave it (the optimizer state, learning rate included, comes back from the checkpoint).
    key = run_key(params, *data[0], *data[1])
    write_files(checkpoint_file(tmp_path, make_trainer(lower_lr=1e38), Position(1, 0), history, key, complete=False))
    saved = (tmp_path / "state.npz").read_bytes()

    trainer = make_trainer(lower_lr=1e38)
    with pytest.raises(TrainingError, match=r"^loss became (nan|inf) at epoch 2, step \d+"):
        train_resumable(trainer, params, data[0], data[1], tmp_path, TrainingDisplay(3, live=False), lambda *_: {})
    assert (tmp_path / "state.npz").read_bytes() == saved


def test_outputs_are_written_with_the_checkpoint_after_every_epoch(data, tmp_path):
    """The live metrics: each epoch's write holds the checkpoint and the history so far, the last one all."""
    from fashionlab.common.outputs import read_npz
    from fashionlab.common.params import parse_params
    from fashionlab.training.checkpoint import STATE_FILE
    from fashionlab.training.display import TrainingDisplay
    from fashionlab.training.resume import train_resumable
    from tests.conftest import tiny_params

    raw = tiny_params()
    raw["model"]["hidden_units"] = [16, 8]
    raw["train"].update(epochs=3, batch_size=32, jit_compile=False)
    raw["numerics"] = "native"  # a step outside XLA: native numerics only
    params = parse_params(raw)
    written = []

    def outputs(result, finished):
        # What is on disk when the next write is asked for: the previous write, whole.
        on_disk = read_npz(tmp_path / STATE_FILE) if (tmp_path / STATE_FILE).exists() else None
        history_on_disk = json.loads(on_disk["meta"].tobytes())["history"] if on_disk else []
        epochs = [record.epoch for record in result.history]
        written.append((epochs, finished, [record["epoch"] for record in history_on_disk]))
        return {tmp_path / "history.json": json.dumps(epochs).encode()}

    train_resumable(make_trainer(), params, data[0], data[1], tmp_path, TrainingDisplay(3, live=False), outputs)
    assert written == [([1], False, []), ([1, 2], False, [1]), ([1, 2, 3], False, [1, 2]), ([1, 2, 3], True, [1, 2, 3])]
    assert json.loads((tmp_path / "history.json").read_text()) == [1, 2, 3]


def test_a_signal_after_the_last_poll_is_acted_on_once_the_outputs_are_written(data, tmp_path, stage_handlers):
    """SIGINT during the last epoch's end, after the loop's last look at its flag: the outputs are written whole,
    then the stage's own handler stops it (before, training returned as if no signal had come)."""
    from fashionlab.common import interrupts
    from fashionlab.common.params import parse_params
    from fashionlab.training.display import TrainingDisplay
    from fashionlab.training.resume import train_resumable
    from tests.conftest import tiny_params

    raw = tiny_params()
    raw["model"]["hidden_units"] = [16, 8]
    raw["train"].update(epochs=2, batch_size=32, jit_compile=False)
    raw["numerics"] = "native"  # a step outside XLA: native numerics only
    params = parse_params(raw)

    class SignalledAtTheEnd(TrainingDisplay):
        def epoch_end(self, record, seconds):
            if record.epoch == params.train.epochs:
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(interrupts.StageInterrupted, match=r"^interrupted by SIGINT: "):
        train_resumable(
            make_trainer(),
            params,
            data[0],
            data[1],
            tmp_path,
            SignalledAtTheEnd(2, live=False),
            lambda result, finished: {tmp_path / "final.json": json.dumps(finished).encode()},
        )
    assert json.loads((tmp_path / "final.json").read_text()) is True  # written whole before it stopped
