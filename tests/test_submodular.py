"""Submodular(beta): the facility-location lazy greedy and select_submodular."""

import itertools
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression

from iwkmeans import SubmodularSampler, margin_score, select_submodular
from iwkmeans.active._submodular import facility_location_greedy

import reference
from _helpers import make_pool

# Integer coordinates make every squared distance, and every sum of them, an
# exact float: the greedy and the references then agree bit for bit, ties
# (duplicate points) included.
points = st.integers(2, 9).flatmap(
    lambda m: st.integers(1, 3).flatmap(
        lambda d: arrays(np.float64, (m, d), elements=st.integers(-4, 4).map(float))
    )
)


def objective(D, S):
    """f(S) = sum_i (d_max - min_{j in S} d_ij), straight from the definition."""
    if not len(S):
        return 0.0
    return float(np.sum(D.max() - D[:, list(S)].min(axis=1)))


def plain_greedy(D, k):
    """Each step adds the candidate that raises f the most (lowest index on
    ties), f evaluated from scratch."""
    picks = []
    for _ in range(k):
        gains = [
            objective(D, picks + [j]) - objective(D, picks) if j not in picks else -np.inf
            for j in range(len(D))
        ]
        picks.append(int(np.argmax(gains)))
    return picks


@given(X=points, data=st.data())
def test_lazy_greedy_is_the_plain_greedy(X, data):
    D = reference.sq_distances(X, X)
    k = data.draw(st.integers(1, len(X)))
    assert facility_location_greedy(D, k).tolist() == plain_greedy(D, k)


@given(X=points, data=st.data())
def test_greedy_is_within_one_minus_one_over_e_of_the_optimum(X, data):
    D = reference.sq_distances(X, X)
    k = data.draw(st.integers(1, min(4, len(X))))
    greedy = objective(D, facility_location_greedy(D, k).tolist())
    best = max(objective(D, S) for S in itertools.combinations(range(len(X)), k))
    assert greedy >= (1 - 1 / np.e) * best
    if k == 1:  # one pick: the greedy step is the exhaustive search
        assert greedy == best


@given(X=points)
def test_objective_monotone_and_gains_non_increasing_along_the_greedy(X):
    D = reference.sq_distances(X, X)
    picks = facility_location_greedy(D, len(X)).tolist()
    values = [objective(D, picks[:t]) for t in range(len(X) + 1)]
    gains = np.diff(values)
    assert np.all(gains >= 0)
    assert np.all(np.diff(gains) <= 0)
    # Every sample picked: each one is its own nearest pick.
    assert values[-1] == len(X) * D.max()


@given(X=points, data=st.data())
def test_objective_is_submodular(X, data):
    # The similarity d_max - d_ij >= 0 is what makes f monotone submodular:
    # a sample's gain can only shrink as the set grows (what the lazy greedy
    # relies on).
    m = len(X)
    D = reference.sq_distances(X, X)
    B = data.draw(st.sets(st.integers(0, m - 1), max_size=m - 1))
    A = data.draw(st.sets(st.sampled_from(sorted(B)))) if B else set()
    x = data.draw(st.sampled_from(sorted(set(range(m)) - B)))
    gain_a = objective(D, sorted(A | {x})) - objective(D, sorted(A))
    gain_b = objective(D, sorted(B | {x})) - objective(D, sorted(B))
    assert gain_a >= gain_b >= 0


@given(
    seed=st.integers(0, 10_000),
    n_pool=st.integers(5, 300),
    batch=st.integers(1, 12),
    beta=st.floats(1.0, 4.0),
)
def test_select_submodular_is_the_greedy_on_the_preselection(seed, n_pool, batch, beta):
    rng = np.random.default_rng(seed)
    X = rng.integers(-20, 20, size=(n_pool, 3)).astype(np.float64)
    scores = rng.uniform(size=n_pool)
    batch = min(batch, n_pool)
    picks = select_submodular(X, scores, batch, beta=beta)
    n_pre = min(n_pool, int(np.ceil(beta * batch)))
    preselected = np.sort(np.argsort(-scores, kind="stable")[:n_pre])
    D = reference.sq_distances(X[preselected], X[preselected])
    np.testing.assert_array_equal(picks, preselected[plain_greedy(D, batch)])


def test_picks_spread_over_the_clusters():
    # Three tight groups in the preselection: three picks, one from each.
    rng = np.random.default_rng(0)
    groups = [rng.normal(loc, 0.1, size=(20, 2)) for loc in ([0, 0], [5, 0], [0, 5])]
    X = np.concatenate(groups)
    picks = select_submodular(X, np.ones(60), 3, beta=20)
    assert sorted(picks // 20) == [0, 1, 2]


def test_float32_and_input_unchanged():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 4)).astype(np.float32)
    scores = rng.uniform(size=100).astype(np.float32)
    X_copy, scores_copy = X.copy(), scores.copy()
    picks = select_submodular(X, scores, 5, beta=4)
    assert len(set(picks.tolist())) == 5
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(scores, scores_copy)


def test_sampler_is_select_submodular_on_margin_scores():
    X_l, y_l, X_pool = make_pool(5, 200)
    sampler = SubmodularSampler(LogisticRegression(), 6, beta=3).fit(X_l, y_l)
    scores = margin_score(sampler.classifier_.predict_proba(X_pool))
    np.testing.assert_array_equal(
        sampler.select_samples(X_pool), select_submodular(X_pool, scores, 6, beta=3)
    )
    np.testing.assert_allclose(sampler.score_samples(X_pool), scores)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda X, s: select_submodular(X, s, 51), "batch_size=51 is larger than the pool"),
        (lambda X, s: select_submodular(X, s, 5, beta=0.5), "beta == 0.5, must be >= 1"),
        (lambda X, s: select_submodular(X, -s, 5), "scores must be non-negative"),
        (lambda X, s: select_submodular(X, s[:3], 5), "scores must have shape (50,)"),
        (lambda X, s: select_submodular(np.full_like(X, np.nan), s, 5), "X_pool contains NaN"),
    ],
)
def test_errors(call, message):
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=re.escape(message)):
        call(X, np.ones(50))
