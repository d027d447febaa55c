"""fashionlab.evaluation.mistakes: the pictures of misclassified test images and their captions."""

import io

import numpy as np
from PIL import Image

from fashionlab.evaluation.mistakes import (
    COLUMNS,
    GAP,
    LINE,
    MISTAKES_SHOWN,
    SCALE,
    change_grids,
    file_name,
    mistake_grids,
)


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
