"""fashionlab.training.loop: seeded epochs, the history, NaN checks and stop requests between calls."""

import numpy as np
import pytest

from fashionlab.common.errors import TrainingError
from fashionlab.common.outputs import write_files
from fashionlab.training.checkpoint import checkpoint_file, resume_checkpoint
from fashionlab.training.loop import Interrupted, Position, epoch_order, summarize
from tests.training.conftest import make_trainer, short_fit


def test_a_stop_is_honoured_after_the_call_and_resumes_to_the_same_bytes(data, tmp_path):
    straight = make_trainer(steps_per_call=3)
    short_fit(straight, data, epochs=2)

    first, history, shown = make_trainer(steps_per_call=3), [], []
    with pytest.raises(Interrupted) as stop:  # asked during the first call: it finishes its 3 steps
        short_fit(first, data, history=history, stop_requested=lambda: "SIGTERM", on_step=lambda p, *_: shown.append(p))
    assert stop.value.position == Position(0, 3) and shown == [Position(0, 1), Position(0, 2), Position(0, 3)]
    write_files(checkpoint_file(tmp_path, first, stop.value.position, history, "key", complete=False))

    resumed = make_trainer(seed=99, steps_per_call=3)
    position, restored = resume_checkpoint(tmp_path, resumed, "key")
    short_fit(resumed, data, epochs=2, start=position, history=restored)
    for a, b in zip(straight.model.weights, resumed.model.weights, strict=True):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_history_has_one_row_per_epoch_with_each_group_rate(data):
    history = short_fit(make_trainer(), data, epochs=2)
    rows = [record.as_row() for record in history]
    assert [row["epoch"] for row in rows] == [1, 2]
    assert list(rows[0]) == [
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "lr_lower",
        "lr_upper",
    ]
    assert rows[0]["lr_lower"] == pytest.approx(1e-4) and rows[0]["lr_upper"] == pytest.approx(1e-2)
    assert rows[1]["train_loss"] < rows[0]["train_loss"]
    assert 0 <= rows[1]["val_accuracy"] <= 1
    summary = summarize(history)
    assert summary["final"] == {"epoch": 2, "val_loss": rows[1]["val_loss"], "val_accuracy": rows[1]["val_accuracy"]}
    assert summary["best"]["val_loss"] == min(r["val_loss"] for r in rows)


def test_validation_metrics_are_reset_each_epoch(data):
    trainer = make_trainer()
    _, (val_images, val_labels) = data
    first = trainer.validate(val_images, val_labels)
    assert trainer.validate(val_images, val_labels) == first


@pytest.mark.parametrize("steps_per_call", [1, 3])
def test_nan_loss_stops_training_naming_epoch_and_step(data, steps_per_call):
    trainer = make_trainer(lower_lr=1e38, steps_per_call=steps_per_call)  # the first Adam step moves weights by
    with pytest.raises(TrainingError, match=r"^loss became (nan|inf) at epoch 1, step 2: training stopped"):
        short_fit(trainer, data, epochs=2)  # ±1e38: the second step's loss overflows


def test_epoch_order_depends_only_on_seed_and_epoch():
    np.testing.assert_array_equal(epoch_order(3, 5, 100), epoch_order(3, 5, 100))
    assert not np.array_equal(epoch_order(3, 5, 100), epoch_order(3, 6, 100))
