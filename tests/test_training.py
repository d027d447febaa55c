import json

import numpy as np
import pytest

from fashionlab.checkpoint import checkpoint_file, resume_checkpoint
from fashionlab.errors import TrainingError
from fashionlab.model import build_model
from fashionlab.outputs import write_files
from fashionlab.params import ModelParams, OptimizerGroup
from fashionlab.trainer import Trainer
from fashionlab.training import Interrupted, Position, epoch_order, fit, seed_everything, summarize

MODEL = ModelParams(hidden_units=(16, 8), dense="custom", norm="custom", epsilon=1e-3, epsilon_placement="std")
LOWER = ("dense1", "norm1", "dense2", "norm2")


def groups(lower_lr=1e-4, upper_lr=1e-2, upper="sgd"):
    return {
        "lower": OptimizerGroup(layers=LOWER, optimizer="adam", learning_rate=lower_lr),
        "upper": OptimizerGroup(layers=("logits",), optimizer=upper, learning_rate=upper_lr),
    }


def make_trainer(seed=0, steps_per_call=1, jit_compile=False, **kwargs):
    seed_everything(seed)
    return Trainer(build_model(MODEL), groups(**kwargs), jit_compile, steps_per_call=steps_per_call)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    labels = (np.arange(300) % 10).astype(np.uint8)
    images = (rng.integers(0, 60, size=(300, 28, 28)) + labels[:, None, None] * 19).astype(np.uint8)
    return (images[:250], labels[:250]), (images[250:], labels[250:])


def _fit(trainer, data, epochs=2, **kwargs):
    train, val = data
    return fit(
        trainer,
        train,
        val,
        epochs=epochs,
        batch_size=32,
        seed=0,
        start=kwargs.pop("start", Position()),
        history=kwargs.pop("history", []),
        **kwargs,
    )


def test_each_group_is_updated_only_by_its_own_optimizer(data):
    import tensorflow as tf

    trainer = make_trainer(lower_lr=1e-3, upper_lr=0.5)
    (images, labels), _ = data
    images, labels = images[:32], labels[:32]
    before = [v.numpy().copy() for v in trainer.variables]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(trainer.loss_fn(labels, trainer.model(images, training=True)))
    gradients = [g.numpy() for g in tape.gradient(loss, trainer.variables)]
    trainer.train_step(trainer.distribute(images, labels, 32))
    after = [v.numpy() for v in trainer.variables]
    lower_count = len(trainer.group_variables["lower"])
    for i, (old, new, grad) in enumerate(zip(before, after, gradients, strict=True)):
        if i < lower_count:  # Adam's first step: lr * g / (|g| + eps / sqrt(1 - beta_2)), Keras's eps = 1e-7
            np.testing.assert_allclose(
                old - new, 1e-3 * grad / (np.abs(grad) + 1e-7 / np.sqrt(1e-3)), rtol=1e-3, atol=1.2e-7
            )
        else:  # plain SGD: lr * g
            np.testing.assert_allclose(old - new, 0.5 * grad, rtol=1e-4, atol=1e-7)
    assert {name: int(opt.iterations.numpy()) for name, opt in trainer.optimizers.items()} == {"lower": 1, "upper": 1}
    upper_ids = {id(v) for v in trainer.group_variables["upper"]}
    assert {id(v) for v in trainer.model.get_layer("logits").trainable_variables} == upper_ids


def test_step_traces_once_for_the_whole_run(data):
    trainer = make_trainer()
    history = _fit(trainer, data, epochs=3)  # 250 samples, batch 32: a partial last batch every epoch
    assert trainer.trace_count == 1
    assert len(history) == 3


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "XLA"])
def test_several_steps_per_call_train_as_single_steps(data, jit_compile):
    """250 samples in batches of 32: 8 steps an epoch, the last short, run as calls of 3, 3 and 2 steps."""
    shown = {1: [], 3: []}
    trainers = {k: make_trainer(steps_per_call=k, jit_compile=jit_compile) for k in shown}
    histories = {
        k: _fit(trainer, data, on_step=lambda position, steps, loss, acc, k=k: shown[k].append((position, loss, acc)))
        for k, trainer in trainers.items()
    }
    assert [step[0] for step in shown[3]] == [step[0] for step in shown[1]]  # every step shown, in order
    assert len(shown[3]) == 16 and shown[3][-1][0] == Position(1, 8)
    np.testing.assert_allclose([s[1:] for s in shown[3]], [s[1:] for s in shown[1]], rtol=1e-5)
    for ours, single in zip(trainers[3].model.weights, trainers[1].model.weights, strict=True):
        np.testing.assert_allclose(ours.numpy(), single.numpy(), rtol=1e-5, atol=1e-6)
    assert histories[3][-1].val_loss == pytest.approx(histories[1][-1].val_loss, rel=1e-5)
    assert trainers[3].trace_count == 1  # one trace; XLA compiles the 3- and the 2-step calls separately


def test_the_training_split_is_copied_into_tensorflow_once_per_split(data, monkeypatch):
    import tensorflow as tf

    trainer, copies = make_trainer(steps_per_call=3), []
    constant = tf.constant
    monkeypatch.setattr(tf, "constant", lambda value, *a, **k: copies.append(value) or constant(value, *a, **k))
    (images, labels), _ = data
    for _ in range(2):  # two `fit` calls on the same split, as the benchmarks make: one copy
        trainer.stepper(images, labels, 32)
    assert len(copies) == 2 and copies[0] is images and copies[1] is labels
    trainer.stepper(images.copy(), labels, 32)  # another split: copied again
    assert len(copies) == 4


def test_a_stop_is_honoured_after_the_call_and_resumes_to_the_same_bytes(data, tmp_path):
    straight = make_trainer(steps_per_call=3)
    _fit(straight, data, epochs=2)

    first, history, shown = make_trainer(steps_per_call=3), [], []
    with pytest.raises(Interrupted) as stop:  # asked during the first call: it finishes its 3 steps
        _fit(first, data, history=history, stop_requested=lambda: "SIGTERM", on_step=lambda p, *_: shown.append(p))
    assert stop.value.position == Position(0, 3) and shown == [Position(0, 1), Position(0, 2), Position(0, 3)]
    write_files(checkpoint_file(tmp_path, first, stop.value.position, history, "key", complete=False))

    resumed = make_trainer(seed=99, steps_per_call=3)
    position, restored = resume_checkpoint(tmp_path, resumed, "key")
    _fit(resumed, data, epochs=2, start=position, history=restored)
    for a, b in zip(straight.model.weights, resumed.model.weights, strict=True):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_history_has_one_row_per_epoch_with_each_group_rate(data):
    history = _fit(make_trainer(), data, epochs=2)
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
        _fit(trainer, data, epochs=2)  # ±1e38: the second step's loss overflows


def test_epoch_order_depends_only_on_seed_and_epoch():
    np.testing.assert_array_equal(epoch_order(3, 5, 100), epoch_order(3, 5, 100))
    assert not np.array_equal(epoch_order(3, 5, 100), epoch_order(3, 6, 100))


def test_interrupted_and_resumed_run_is_bit_identical(data, tmp_path):
    straight = make_trainer()
    _fit(straight, data, epochs=2)

    first = make_trainer()
    history = []
    calls = iter(range(100))
    with pytest.raises(Interrupted) as stop:  # stop in the middle of the second epoch
        _fit(first, data, epochs=2, history=history, stop_requested=lambda: "SIGINT" if next(calls) == 10 else None)
    assert stop.value.position == Position(1, 3)
    write_files(checkpoint_file(tmp_path, first, stop.value.position, history, "key", complete=False))

    resumed = make_trainer(seed=99)  # a new process: other initial weights until the checkpoint is loaded
    position, restored = resume_checkpoint(tmp_path, resumed, "key")
    assert position == Position(1, 3) and len(restored) == 1
    final = _fit(resumed, data, epochs=2, start=position, history=restored)
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


def test_train_stage_nan_loss_is_one_line_and_keeps_previous_outputs(tmp_path, data):
    from conftest import run_stage, save_split, snapshot, tiny_params, write_params

    (train_images, train_labels), (val_images, val_labels) = data
    save_split(tmp_path / "data", "train", train_images, train_labels)
    save_split(tmp_path / "data", "val", val_images, val_labels)
    params = tiny_params(data={"train_subset": 250})
    params["train"]["groups"]["lower"]["learning_rate"] = 1e38
    write_params(tmp_path / "params.yaml", params)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("model.keras", "history.csv", "train.json", "timing.json"):
        (out / name).write_text(f"previous {name}")
    before = snapshot(out)
    result = run_stage(
        "train",
        "--params",
        str(tmp_path / "params.yaml"),
        "--data",
        str(tmp_path / "data"),
        "--checkpoint",
        str(tmp_path / "checkpoint"),
        "--model",
        str(out / "model.keras"),
        "--history",
        str(out / "history.csv"),
        "--summary",
        str(out / "train.json"),
        "--timing",
        str(out / "timing.json"),
    )
    assert result.returncode == 1
    assert result.stderr.startswith("train.py: error: loss became nan at epoch 1, step ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert snapshot(out) == before


def test_nan_loss_keeps_the_last_good_checkpoint(data, tmp_path):
    from conftest import tiny_params
    from fashionlab.params import parse_params
    from fashionlab.progress import TrainingDisplay
    from fashionlab.resumable import run_key, train_resumable

    raw = tiny_params(data={"train_subset": 250})
    raw["model"]["hidden_units"] = [16, 8]
    raw["train"].update(epochs=3, batch_size=32, jit_compile=False)
    raw["train"]["groups"]["lower"]["learning_rate"] = 1e38
    params = parse_params(raw)
    history = _fit(make_trainer(), data, epochs=1)
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
    from conftest import tiny_params
    from fashionlab.checkpoint import STATE_FILE
    from fashionlab.outputs import read_npz
    from fashionlab.params import parse_params
    from fashionlab.progress import TrainingDisplay
    from fashionlab.resumable import train_resumable

    raw = tiny_params()
    raw["model"]["hidden_units"] = [16, 8]
    raw["train"].update(epochs=3, batch_size=32, jit_compile=False)
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
