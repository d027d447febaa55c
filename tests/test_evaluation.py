import io
import json

import keras
import numpy as np
import pytest
from PIL import Image

from conftest import default_params, run_stage, save_split, snapshot, write_params
from fashionlab.datasets import FASHION_MNIST
from fashionlab.evaluation import classification_scores, cross_entropy
from fashionlab.mistakes import COLUMNS, GAP, LINE, MISTAKES_SHOWN, SCALE, change_grids, file_name, mistake_grids

NAMES = ("a", "b", "c")


def test_scores_on_known_predictions():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    scores, (a, b, c) = classification_scores(labels, predicted, NAMES)
    assert scores["accuracy"] == pytest.approx(6 / 8)
    assert a == {"class": "a", "precision": 1.0, "recall": 0.75, "f1": pytest.approx(6 / 7), "support": 4}
    assert b["precision"] == 0.5 and b["recall"] == 0.5
    assert c["precision"] == pytest.approx(2 / 3) and c["recall"] == 1.0
    assert scores["macro_f1"] == pytest.approx((6 / 7 + 0.5 + 0.8) / 3)


def test_class_never_predicted_scores_zero_not_nan():
    _, per_class = classification_scores(np.array([0, 1, 2]), np.array([0, 0, 2]), NAMES)
    assert per_class[1] == {"class": "b", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_cross_entropy_matches_keras():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 10)).astype(np.float32) * 30
    labels = rng.integers(0, 10, 50)
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert cross_entropy(logits, labels) == pytest.approx(float(expected), rel=1e-5)


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


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def tile(grid: np.ndarray, slot: int, caption_lines: int) -> tuple[np.ndarray, np.ndarray]:
    """The enlarged image in `slot` (one pixel in SCALE), and the caption area under it."""
    size, width, height = 28 * SCALE, 28 * SCALE + GAP, 28 * SCALE + caption_lines * LINE + GAP
    top, left = LINE + GAP + (slot // COLUMNS) * height, GAP + (slot % COLUMNS) * width
    image = grid[top : top + size : SCALE, left : left + size : SCALE]
    return image, grid[top + size : top + size + caption_lines * LINE, left : left + size]


def test_mistake_grids_show_the_first_misclassified_images_of_each_class_in_test_order():
    images = np.arange(40 * 28 * 28, dtype=np.int64).reshape(40, 28, 28).astype(np.uint8)
    labels = np.array([0, 1] * 20)
    predictions = labels.copy()
    wrong_zeros = [2, 6, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38]  # 17: one too many to show
    predictions[wrong_zeros] = 1
    predictions[[3]] = 0
    grids = mistake_grids(images, labels, predictions, ("zero", "one"))
    assert set(grids) == {"zero.png", "one.png"}
    zero, one = decode(grids["zero.png"]), decode(grids["one.png"])
    assert zero.shape == one.shape  # the same size for every class: side by side in `dvc plots diff`
    for slot, index in enumerate(wrong_zeros[:MISTAKES_SHOWN]):
        image, caption = tile(zero, slot, 2)
        assert np.array_equal(image, images[index]), slot
        assert (caption < 128).any(), slot  # the predicted class and the image's number are written under it
    image, caption = tile(one, 0, 2)
    assert np.array_equal(image, images[3]) and (caption < 128).any()
    assert (tile(one, 1, 2)[0] == 255).all() and (tile(one, 1, 2)[1] == 255).all()  # empty slots stay white
    assert grids == mistake_grids(images, labels, predictions, ("zero", "one"))  # the same bytes again


def test_captions_say_what_each_image_was_taken_for():
    """The same picture with another prediction, or another image number, differs only in its caption."""
    images = np.zeros((12, 28, 28), np.uint8)
    labels = np.zeros(12, np.int64)
    predictions = np.ones(12, np.int64)
    other = predictions.copy()
    other[0] = 2
    names = ("Shirt", "T-shirt/top", "Coat")
    first = decode(mistake_grids(images, labels, predictions, names)["shirt.png"])
    second = decode(mistake_grids(images, labels, other, names)["shirt.png"])
    _, caption = tile(first, 0, 2)
    changed = np.argwhere(first != second)
    top, left = LINE + GAP + 28 * SCALE, GAP
    assert len(changed) and (changed[:, 0] >= top).all() and (changed[:, 0] < top + LINE).all()
    assert (changed[:, 1] >= left).all() and (changed[:, 1] < left + 28 * SCALE).all()
    assert (caption < 128).any()


def test_change_grids_caption_both_predictions_per_true_class():
    images = np.full((6, 28, 28), 200, np.uint8)
    actual = np.array([0, 0, 1, 1, 2, 2])
    a = np.array([1, 0, 1, 0, 2, 2])  # wrong on 0 and 3
    b = np.array([0, 1, 1, 0, 2, 2])  # fixes 0, breaks 1
    grids = change_grids(images, actual, a, b, ("Bag", "Coat", "Dress"))
    assert sorted(grids) == ["broken-bag.png", "fixed-bag.png"]
    fixed = decode(grids["fixed-bag.png"])
    image, caption = tile(fixed, 0, 3)
    assert (image == 200).all() and (caption < 128).any()


def test_class_file_names_are_portable():
    names = ("T-shirt/top", "Ankle boot", "Bag")
    assert [file_name(name) for name in names] == ["t-shirt-top.png", "ankle-boot.png", "bag.png"]


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
