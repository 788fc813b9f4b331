"""Active-learning metrics against hand-computed values, and their validation."""

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError

from iwkmeans.experiments.metrics import (
    classifier_agreement,
    contradiction_ratio,
    exploration,
    learning_curve_auc,
    noisy_sample_ratio,
    reverse_batch_accuracy,
)

from _helpers import DTYPES


def always(label):
    """A fitted classifier that predicts ``label`` everywhere."""
    return DummyClassifier(strategy="constant", constant=label).fit([[0.0]], [label])


def test_learning_curve_auc_is_the_mean_accuracy():
    assert learning_curve_auc([0.2, 0.4, 0.6]) == pytest.approx(0.4)
    per_run = learning_curve_auc([[0.2, 0.4], [0.5, 1.0]])
    np.testing.assert_allclose(per_run, [0.3, 0.75])


@pytest.mark.parametrize("accuracies", [[], [[]], [[[0.5]]], [0.5, 1.5], [np.nan]])
def test_learning_curve_auc_rejects_bad_curves(accuracies):
    with pytest.raises(ValueError, match="accuracies must"):
        learning_curve_auc(accuracies)


def test_noisy_sample_ratio():
    noisy = np.array([True, False, False, True])
    assert noisy_sample_ratio([0, 2, 3], noisy) == pytest.approx(2 / 3)
    assert noisy_sample_ratio(np.array([1], dtype=np.uint8), noisy) == 0.0


@pytest.mark.parametrize(
    "selected, noisy, error, message",
    [
        ([0, 1], [1, 0], TypeError, "noisy must be a boolean mask"),
        ([0.0, 1.0], [True, False], TypeError, "selected must hold integer indices"),
        ([0, 2], [True, False], ValueError, "selected must index into noisy (0 to 1); got 2"),
        ([-1], [True, False], ValueError, "selected must index into noisy"),
        ([1, 1], [True, False], ValueError, "selected must hold distinct indices"),
        ([], [True, False], ValueError, "selected must be a non-empty 1-D array"),
    ],
)
def test_noisy_sample_ratio_validation(selected, noisy, error, message):
    with pytest.raises(error, match=re.escape(message)):
        noisy_sample_ratio(selected, noisy)


def test_contradiction_ratio():
    assert contradiction_ratio([0, 1, 2, 2], [0, 2, 2, 1]) == 0.5
    assert contradiction_ratio(["cat", "dog"], ["cat", "dog"]) == 0.0
    with pytest.raises(
        ValueError,
        match="previous_predictions and predictions must "
        "have the same number of samples; got 2 and 3",
    ):
        contradiction_ratio([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="predictions must be a non-empty 1-D array"):
        contradiction_ratio([[0, 1]], [[0, 1]])


def test_exploration_by_hand():
    X_test = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    X_labeled = np.array([[0.0, 0.0], [6.0, 8.0]])
    # Nearest distances: 0, 5 (both labeled samples are 5 away), sqrt(80).
    assert exploration(X_test, X_labeled) == pytest.approx((0 + 5 + math.sqrt(80)) / 3)


@given(st.integers(0, 2**32 - 1), st.integers(1, 600), st.integers(1, 12), st.sampled_from(DTYPES))
def test_exploration_matches_brute_force(seed, n_test, n_labeled, dtype):
    rng = np.random.default_rng(seed)
    X_test = rng.normal(size=(n_test, 3)).astype(dtype)
    X_labeled = rng.normal(size=(n_labeled, 3)).astype(dtype)
    copies = X_test.copy(), X_labeled.copy()
    brute = (
        np.linalg.norm(X_test[:, None, :].astype(np.float64) - X_labeled[None, :, :], axis=2)
        .min(axis=1)
        .mean()
    )
    assert exploration(X_test, X_labeled) == pytest.approx(brute, rel=1e-6)
    np.testing.assert_array_equal(X_test, copies[0])  # inputs untouched
    np.testing.assert_array_equal(X_labeled, copies[1])


@given(st.integers(0, 2**32 - 1))
def test_a_batch_never_increases_exploration(seed):
    rng = np.random.default_rng(seed)
    X_test, X_labeled, X_batch = (rng.normal(size=(n, 2)) for n in (20, 4, 3))
    before = exploration(X_test, X_labeled)
    after = exploration(X_test, np.vstack([X_labeled, X_batch]))
    assert after <= before


def test_exploration_validation():
    with pytest.raises(ValueError, match="X_labeled has 3 features but X_test has 2"):
        exploration(np.zeros((4, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X_test"):
        exploration(np.array([[np.nan, 0.0]]), np.zeros((1, 2)))


def test_classifier_agreement_by_hand():
    X_labeled = np.array([[0.0], [10.0]])
    y_labeled = np.array([0, 1])
    X_batch = np.array([[1.0], [9.0], [6.0]])  # 1-NN says 0, 1, 1
    assert classifier_agreement(always(1), X_labeled, y_labeled, X_batch) == pytest.approx(2 / 3)
    assert classifier_agreement(always(0), X_labeled, y_labeled, X_batch) == pytest.approx(1 / 3)
    # A tie goes to the first labeled sample: [5] is 1-NN class 0.
    assert classifier_agreement(always(0), X_labeled, y_labeled, [[5.0]]) == 1.0


def test_classifier_agreement_validation():
    with pytest.raises(NotFittedError, match="classifier must be a fitted classifier"):
        classifier_agreement(DummyClassifier(), [[0.0]], [0], [[1.0]])
    with pytest.raises(ValueError, match="X_labeled and y_labeled must have the same"):
        classifier_agreement(always(0), [[0.0], [1.0]], [0], [[1.0]])
    with pytest.raises(ValueError, match="X_batch has 2 features but X_labeled has 1"):
        classifier_agreement(always(0), [[0.0]], [0], [[1.0, 2.0]])


def test_reverse_batch_accuracy():
    assert reverse_batch_accuracy(always(1), [[0.0], [1.0], [2.0]], [1, 0, 1]) == pytest.approx(
        2 / 3
    )
    with pytest.raises(NotFittedError, match="reference must be a fitted classifier"):
        reverse_batch_accuracy(DummyClassifier(), [[0.0]], [0])
    with pytest.raises(ValueError, match="X_batch and y_batch must have the same"):
        reverse_batch_accuracy(always(1), [[0.0]], [1, 0])
