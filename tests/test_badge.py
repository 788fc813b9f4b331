"""BADGE: select_badge on given embeddings, and BadgeSampler's implicit
linear-model gradient embeddings."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from iwkmeans import BadgeSampler, kmeans_plusplus, select_badge
from iwkmeans.active._badge import LinearGradientEmbedding

import reference
from _helpers import every_thread, make_pool


def gradient_embeddings(proba, X):
    """(p - onehot(argmax p)) ⊗ [x, 1], materialised row by row."""
    rows = []
    for p, x in zip(proba, X):
        residual = p.astype(np.float64).copy()
        residual[np.argmax(p)] -= 1.0
        rows.append(np.outer(residual, np.r_[x, 1.0]).ravel())
    return np.array(rows)


def fitted_sampler(seed, n_pool, batch, classifier=None):
    X_l, y_l, X_pool = make_pool(seed, n_pool)
    sampler = BadgeSampler(classifier or LogisticRegression(), batch, random_state=seed)
    return sampler.fit(X_l, y_l), X_pool


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    n_classes=st.integers(2, 5),
    n_features=st.integers(1, 6),
    row=st.integers(0, 59),
)
def test_kronecker_distances_equal_the_materialised_ones(seed, n, n_classes, n_features, row):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), size=n)
    X = rng.normal(size=(n, n_features))
    row = row % n
    E = gradient_embeddings(proba, X)
    expected = reference.sq_distances(E, E[row : row + 1])[:, 0]
    got = LinearGradientEmbedding(proba, X).sq_distances_to(row)
    # The expansion's rounding error scales with the squared norms.
    scale = np.einsum("ij,ij->i", E, E).max()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * scale)


@pytest.mark.parametrize("seed", range(8))
def test_sampler_picks_what_select_badge_picks_on_the_embeddings(seed):
    sampler, X_pool = fitted_sampler(seed, 300, 12)
    E = gradient_embeddings(sampler.classifier_.predict_proba(X_pool), X_pool)
    np.testing.assert_array_equal(
        sampler.select_samples(X_pool), select_badge(E, 12, random_state=seed)
    )


def test_select_badge_is_plain_kmeans_plusplus():
    E = np.random.default_rng(3).normal(size=(500, 6))
    _, indices = kmeans_plusplus(E, 10, random_state=7, n_local_trials=1)
    np.testing.assert_array_equal(select_badge(E, 10, random_state=7), indices)


@pytest.mark.parametrize("seed", range(10))
def test_picks_from_the_far_cluster(seed):
    rng = np.random.default_rng(seed)
    E = np.r_[rng.normal(size=(500, 5)), rng.normal(size=(5, 5)) + 1000.0]
    picks = select_badge(E, 5, random_state=seed)
    assert np.any(picks >= 500)
    assert len(set(picks.tolist())) == 5


@pytest.mark.parametrize("seed", range(5))
def test_sampler_picks_where_the_model_is_unsure(seed):
    # Two well-separated classes (confident predictions: gradients near 0)
    # and a strip of samples along the decision boundary (long gradients).
    # The first pick is uniform (so most likely a confident sample); each
    # later draw lands among the confident ones with probability ~1%.
    rng = np.random.default_rng(seed)
    X_l = np.r_[rng.normal([-6, 0], 1, size=(20, 2)), rng.normal([6, 0], 1, size=(20, 2))]
    y_l = np.repeat([0, 1], 20)
    strip = np.c_[rng.uniform(-0.3, 0.3, size=20), rng.uniform(-10, 10, size=20)]
    confident = np.r_[rng.normal([-6, 0], 1, size=(150, 2)), rng.normal([6, 0], 1, size=(150, 2))]
    X_pool = np.r_[confident, strip]
    sampler = BadgeSampler(LogisticRegression(), 6, random_state=seed).fit(X_l, y_l)
    picks = sampler.select_samples(X_pool)
    assert np.count_nonzero(picks >= 300) >= 4


@given(
    E=st.integers(1, 40).flatmap(
        lambda n: arrays(np.float64, (n, 2), elements=st.integers(-1, 1).map(float))
    ),
    seed=st.integers(0, 1000),
    data=st.data(),
)
def test_select_badge_distinct_even_with_duplicates(E, seed, data):
    # At most 9 distinct rows: large batches exhaust them and must still
    # return distinct indices (the zero-potential fallback).
    batch = data.draw(st.integers(1, len(E)))
    picks = select_badge(E, batch, random_state=seed)
    assert len(set(picks.tolist())) == batch
    assert picks.min() >= 0 and picks.max() < len(E)


@given(seed=st.integers(0, 1000), n_copies=st.integers(1, 4), data=st.data())
def test_sampler_distinct_even_with_duplicates(seed, n_copies, data):
    sampler, X_pool = fitted_sampler(seed, 10, 1)
    pool = np.repeat(X_pool, n_copies, axis=0)
    batch = data.draw(st.integers(1, len(pool)))
    picks = sampler.set_params(batch_size=batch).select_samples(pool)
    assert len(set(picks.tolist())) == batch
    assert picks.min() >= 0 and picks.max() < len(pool)


def test_any_classifier_with_predict_proba_and_float32():
    # Not a linear model: the embedding is then an approximation, but valid.
    sampler, X_pool = fitted_sampler(1, 200, 7, GaussianNB())
    X32 = X_pool.astype(np.float32)
    copy = X32.copy()
    picks = sampler.select_samples(X32)
    assert len(set(picks.tolist())) == 7
    np.testing.assert_array_equal(X32, copy)


def test_thread_count_does_not_matter():
    with every_thread():
        E = np.random.default_rng(0).normal(size=(20_000, 12))
        np.testing.assert_array_equal(
            select_badge(E, 30, random_state=0, n_threads=1),
            select_badge(E, 30, random_state=0, n_threads=2),
        )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda E: select_badge(E, 51),
            ValueError,
            "batch_size=51 is larger than the pool: embeddings has 50 sample(s)",
        ),
        (lambda E: select_badge(E, 0), ValueError, "batch_size == 0, must be >= 1"),
        (
            lambda E: select_badge(np.full_like(E, np.inf), 5),
            ValueError,
            "embeddings contains infinity",
        ),
        (lambda E: select_badge(E[:, 0], 5), ValueError, "Expected 2D array"),
        (
            lambda E: select_badge(E.astype(str), 5),
            TypeError,
            "embeddings must contain real numbers",
        ),
        (lambda E: select_badge(E, 5, n_threads=0), ValueError, "n_threads == 0"),
    ],
)
def test_errors(call, error, message):
    E = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(error, match=re.escape(message)):
        call(E)
