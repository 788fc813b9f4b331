"""Uncertainty scores against hand-computed values, and their validation."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iwkmeans import confidence_score, entropy_score, margin_score

SCORES = [confidence_score, margin_score, entropy_score]


def test_hand_computed_values():
    p = [[0.1, 0.2, 0.3, 0.4]]
    np.testing.assert_allclose(confidence_score(p), [0.6])
    np.testing.assert_allclose(margin_score(p), [0.9])
    np.testing.assert_allclose(entropy_score(p), [0.92], atol=5e-3)


def test_extremes():
    certain = [[0.0, 1.0, 0.0]]
    uniform = [[1 / 3, 1 / 3, 1 / 3]]
    for score in SCORES:
        np.testing.assert_allclose(score(certain), [0.0], atol=1e-12)
    np.testing.assert_allclose(confidence_score(uniform), [2 / 3])
    np.testing.assert_allclose(margin_score(uniform), [1.0])
    np.testing.assert_allclose(entropy_score(uniform), [1.0])


@given(st.integers(0, 2**32 - 1), st.integers(1, 50), st.integers(2, 12))
def test_scores_lie_in_unit_interval(seed, n, n_classes):
    p = np.random.default_rng(seed).dirichlet(np.ones(n_classes), size=n)
    for score in SCORES:
        s = score(p)
        assert s.shape == (n,)
        assert np.all((s >= -1e-12) & (s <= 1 + 1e-12))


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize(
    "proba, message",
    [
        ([[0.5, 0.6]], "proba rows must sum to 1"),
        ([[1.0]], "proba must have at least 2 columns"),
        ([[np.nan, 1.0]], "Input proba contains NaN"),
        ([[1.5, -0.5]], "proba must lie in [0, 1]"),
    ],
)
def test_invalid_probabilities(score, proba, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        score(proba)
