"""stages/evaluate.py: the scores, confusion pairs and pictures of a known model, the same bytes on a rerun,
and one line for a damaged input."""

import json

import keras
import numpy as np
import pytest

from fashionlab.data.catalog import FASHION_MNIST
from fashionlab.evaluation.mistakes import (
    file_name,
)
from tests.conftest import default_params, run_stage, save_split, snapshot, write_params


@pytest.fixture
def stage_files(tmp_path):
    """A tiny test split and a trivial saved model whose predictions are known: always class 3."""
    images = np.zeros((20, 28, 28), np.uint8)
    labels = (np.arange(20) % 10).astype(np.uint8)
    save_split(tmp_path, "test", images, labels)
    inputs = keras.Input((28, 28), dtype="uint8")
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    logits = keras.layers.Dense(
        10, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant([0, 0, 0, 5, 0, 0, 0, 0, 0, 0])
    )(x)
    keras.Model(inputs, logits).save(tmp_path / "model.keras")
    return tmp_path


def _evaluate(folder, model):
    params = write_params(folder / "params.yaml", default_params())
    return run_stage(
        "evaluate",
        "--params",
        str(params),
        "--test",
        str(folder / "test.npz"),
        "--model",
        str(model),
        "--metrics",
        str(folder / "out" / "eval.json"),
        "--confusion",
        str(folder / "out" / "confusion.csv"),
        "--per-class",
        str(folder / "out" / "per_class.csv"),
        "--mistakes",
        str(folder / "out" / "mistakes"),
    )


def test_stage_writes_scores_and_confusion_pairs(stage_files):
    result = _evaluate(stage_files, stage_files / "model.keras")
    assert result.returncode == 0, result.stderr
    scores = json.loads((stage_files / "out" / "eval.json").read_text())
    assert set(scores) == {"accuracy", "loss", "macro_f1"}
    assert scores["accuracy"] == pytest.approx(0.1)
    per_class = (stage_files / "out" / "per_class.csv").read_text().splitlines()
    assert per_class[0] == "class,precision,recall,f1,support" and len(per_class) == 11
    assert per_class[4] == "Dress,0.1,1,0.181818,2"
    lines = (stage_files / "out" / "confusion.csv").read_text().splitlines()
    assert lines[0] == "image,actual,predicted" and len(lines) == 21
    assert lines[1] == "0,T-shirt/top,Dress" and lines[20] == "19,Ankle boot,Dress"
    pictures = sorted(p.name for p in (stage_files / "out" / "mistakes").iterdir())
    assert pictures == sorted(file_name(name) for name in FASHION_MNIST.class_names)
    assert "t-shirt-top.png" in pictures


def test_stage_rerun_gives_the_same_bytes(stage_files):
    assert _evaluate(stage_files, stage_files / "model.keras").returncode == 0
    first = snapshot(stage_files / "out")
    assert _evaluate(stage_files, stage_files / "model.keras").returncode == 0
    assert snapshot(stage_files / "out") == first


@pytest.mark.parametrize("damage", ["missing", "corrupt", "truncated"])
def test_missing_or_damaged_model_is_one_line_and_keeps_outputs(stage_files, damage):
    assert _evaluate(stage_files, stage_files / "model.keras").returncode == 0
    before = snapshot(stage_files / "out")
    model = stage_files / "model.keras"
    if damage == "missing":
        model = stage_files / "absent.keras"
    elif damage == "corrupt":
        model.write_bytes(b"this is not a zip archive")
    else:
        model.write_bytes(model.read_bytes()[:200])
    result = _evaluate(stage_files, model)
    assert result.returncode == 1
    expected = "file not found" if damage == "missing" else "cannot load the model"
    assert result.stderr.startswith(f"evaluate.py: error: {model}: {expected}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert snapshot(stage_files / "out") == before


def test_test_split_missing_an_array(stage_files):
    assert _evaluate(stage_files, stage_files / "model.keras").returncode == 0
    before = snapshot(stage_files / "out")
    np.savez(stage_files / "test.npz", images=np.zeros((2, 28, 28), np.uint8))
    result = _evaluate(stage_files, stage_files / "model.keras")
    assert snapshot(stage_files / "out") == before
    assert result.returncode == 1
    assert (
        result.stderr == f"evaluate.py: error: {stage_files / 'test.npz'}: expected arrays images, labels, got images\n"
    )
