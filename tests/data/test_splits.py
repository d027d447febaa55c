"""fashionlab.data.splits: seeded, stratified splits of the training images."""

import numpy as np

from fashionlab.data.splits import class_counts, split_train, stratified_sample

LABELS = np.repeat(np.arange(10), [600, 600, 600, 600, 600, 600, 600, 600, 600, 300]).astype(np.uint8)


def test_stratified_sample_has_exact_size_and_proportions():
    rng = np.random.default_rng(0)
    sample = stratified_sample(LABELS, 570, rng)
    assert len(sample) == 570 and len(np.unique(sample)) == 570
    counts = np.bincount(LABELS[sample], minlength=10)
    np.testing.assert_array_equal(counts, [60] * 9 + [30])


def test_largest_remainder_rounding_keeps_the_total():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2, dtype=np.uint8)
    sample = stratified_sample(labels, 3, np.random.default_rng(1))
    assert len(sample) == 3
    assert np.bincount(labels[sample], minlength=3).tolist() == [
        1,
        1,
        1,
    ]  # quotas 1.5, 0.9, 0.6: floors 1, 0, 0; two more by remainder


def test_split_is_disjoint_seeded_and_stratified():
    train, val = split_train(LABELS, 570, None, seed=7)
    assert len(np.intersect1d(train, val)) == 0
    assert len(train) + len(val) == len(LABELS)
    again_train, again_val = split_train(LABELS, 570, None, seed=7)
    np.testing.assert_array_equal(val, again_val)
    np.testing.assert_array_equal(train, again_train)
    _, other_val = split_train(LABELS, 570, None, seed=8)
    assert not np.array_equal(val, other_val)


def test_train_subset_is_stratified_and_outside_validation():
    train, val = split_train(LABELS, 570, 1140, seed=3)
    assert len(train) == 1140 and len(np.intersect1d(train, val)) == 0
    np.testing.assert_array_equal(np.bincount(LABELS[train], minlength=10), [120] * 9 + [60])


def test_class_counts_keyed_by_name():
    names = tuple("abcdefghij")
    assert class_counts(np.array([0, 0, 9], dtype=np.uint8), names) == {
        "a": 2,
        "b": 0,
        "c": 0,
        "d": 0,
        "e": 0,
        "f": 0,
        "g": 0,
        "h": 0,
        "i": 0,
        "j": 1,
    }
