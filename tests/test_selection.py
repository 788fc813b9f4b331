"""select_wkmeans (WKMeans, IWKMeans, Clustered) / select_kcenter_greedy and
the samplers."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from iwkmeans import (
    BadgeSampler,
    ClusteredSampler,
    ConfidenceSampler,
    EntropySampler,
    IWKMeansSampler,
    KCenterGreedySampler,
    KMeansSampler,
    MarginSampler,
    SubmodularSampler,
    WKMeansSampler,
    margin_score,
    select_kcenter_greedy,
    select_wkmeans,
)
from iwkmeans.active._selection import cluster_and_pick

import reference
from _helpers import SAMPLERS, every_thread, make_pool

THREADED = (KCenterGreedySampler, KMeansSampler, WKMeansSampler, IWKMeansSampler, ClusteredSampler)
PRESELECTING = (WKMeansSampler, IWKMeansSampler, ClusteredSampler, SubmodularSampler)


def make_sampler(cls, batch_size, seed, n_threads=None, beta=None):
    params = {"random_state": seed}
    if cls in THREADED:
        params["n_threads"] = n_threads
    if beta is not None and cls in PRESELECTING:
        params["beta"] = beta
    return cls(LogisticRegression(), batch_size, **params)


@given(
    seed=st.integers(0, 10_000),
    n_pool=st.integers(5, 400),
    batch=st.integers(1, 25),
    beta=st.floats(1.0, 12.0),
    cls=st.sampled_from(SAMPLERS),
)
def test_distinct_in_range_deterministic_thread_independent(seed, n_pool, batch, beta, cls):
    X_l, y_l, X_pool = make_pool(seed, n_pool)
    batch = min(batch, len(X_pool))
    picks = make_sampler(cls, batch, seed, 1, beta).fit(X_l, y_l).select_samples(X_pool)
    assert picks.shape == (batch,)
    assert len(set(picks.tolist())) == batch
    assert picks.min() >= 0 and picks.max() < len(X_pool)
    again = make_sampler(cls, batch, seed, 2, beta).fit(X_l, y_l).select_samples(X_pool)
    np.testing.assert_array_equal(picks, again)


@pytest.mark.parametrize("with_labeled", [False, True])
def test_selection_identical_for_any_thread_count(with_labeled):
    with every_thread():
        rng = np.random.default_rng(0)
        X = rng.normal(size=(30_000, 16))
        scores = rng.uniform(size=30_000)
        labeled = rng.normal(size=(300, 16)) if with_labeled else None
        for select in (
            lambda t: select_wkmeans(
                X, scores, 100, beta=30, X_labeled=labeled, random_state=0, n_threads=t
            ),
            lambda t: select_kcenter_greedy(X, 10, X_labeled=labeled, n_threads=t),
        ):
            np.testing.assert_array_equal(select(1), select(2))
            np.testing.assert_array_equal(select(1), select(3))


@given(
    seed=st.integers(0, 10_000),
    n_pool=st.integers(10, 500),
    batch=st.integers(1, 20),
    beta=st.floats(1.0, 5.0),
)
def test_wkmeans_picks_only_preselected(seed, n_pool, batch, beta):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_pool, 3))
    scores = rng.uniform(size=n_pool)
    batch = min(batch, n_pool)
    picks = select_wkmeans(X, scores, batch, beta=beta, random_state=seed)
    n_pre = min(n_pool, int(np.ceil(beta * batch)))
    preselected = np.argsort(-scores, kind="stable")[:n_pre]
    assert set(picks.tolist()) <= set(preselected.tolist())
    assert len(set(picks.tolist())) == batch


def test_iwkmeans_avoids_the_labeled_region_wkmeans_does_not():
    # Two identical, equally uncertain regions; labeled samples sit in the
    # first. IWKMeans sends the batch to the second; WKMeans splits it.
    rng = np.random.default_rng(0)
    region = rng.normal(scale=0.5, size=(200, 2))
    X_pool = np.r_[region, region + [20.0, 0.0]]
    scores = np.ones(len(X_pool))
    X_labeled = rng.normal(scale=0.5, size=(40, 2))
    iw = select_wkmeans(X_pool, scores, 10, beta=40, X_labeled=X_labeled, random_state=0)
    w = select_wkmeans(X_pool, scores, 10, beta=40, random_state=0)
    assert np.all(iw >= 200)
    assert 3 <= np.count_nonzero(w >= 200) <= 7


def test_wkmeans_picks_the_member_nearest_each_centroid():
    from iwkmeans import IncrementalKMeans

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    scores = rng.uniform(0.5, 1.0, size=300)
    picks = select_wkmeans(X, scores, 5, beta=100, random_state=3)
    km = IncrementalKMeans(5, random_state=3).fit(X, sample_weight=scores)
    for center in km.cluster_centers_:
        members = np.flatnonzero(
            reference.nearest(X, km.cluster_centers_)[0]
            == reference.nearest(center[None], km.cluster_centers_)[0][0]
        )
        nearest = members[np.argmin(reference.sq_distances(X[members], center[None])[:, 0])]
        assert nearest in picks


def test_no_weights_is_the_unweighted_clustering():
    # One code path: weights=None is unit weights, not a separate routine.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    no_fixed = np.empty((0, 3))
    np.testing.assert_array_equal(
        cluster_and_pick(X, None, 7, no_fixed, 5, 1),
        cluster_and_pick(X, np.ones(200), 7, no_fixed, 5, 1),
    )


@given(
    seed=st.integers(0, 10_000),
    n_pool=st.integers(10, 300),
    batch=st.integers(1, 15),
    beta=st.floats(1.0, 5.0),
    labeled=st.booleans(),
)
def test_clustered_is_wkmeans_with_unit_weights_on_the_preselection(
    seed, n_pool, batch, beta, labeled
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_pool, 3))
    scores = rng.uniform(size=n_pool)
    X_labeled = rng.normal(size=(5, 3)) if labeled else None
    batch = min(batch, n_pool)
    picks = select_wkmeans(
        X, scores, batch, beta=beta, X_labeled=X_labeled, weighted=False, random_state=seed
    )
    n_pre = min(n_pool, int(np.ceil(beta * batch)))
    preselected = np.sort(np.argsort(-scores, kind="stable")[:n_pre])
    # WKMeans on the preselected samples alone, every one kept, every weight 1.
    unit = select_wkmeans(
        X[preselected],
        np.ones(n_pre),
        batch,
        beta=n_pre / batch,
        X_labeled=X_labeled,
        random_state=seed,
    )
    np.testing.assert_array_equal(picks, preselected[unit])


def test_weights_move_the_pick_to_the_uncertain_sample():
    # One cluster: unweighted, its mean (3.2) is nearest x=3; weighted by the
    # scores, the mean (7.6) is nearest the one very uncertain sample, x=10.
    X = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    scores = np.array([0.1, 0.1, 0.1, 0.1, 1.0])
    assert select_wkmeans(X, scores, 1, beta=5, random_state=0).tolist() == [4]
    assert select_wkmeans(X, scores, 1, beta=5, weighted=False, random_state=0).tolist() == [3]


def test_clustered_sampler_is_select_wkmeans_unweighted():
    X_l, y_l, X_pool = make_pool(3, 300)
    sampler = ClusteredSampler(LogisticRegression(), 8, beta=4, random_state=2)
    picks = sampler.fit(X_l, y_l).select_samples(X_pool)
    scores = margin_score(sampler.classifier_.predict_proba(X_pool))
    np.testing.assert_array_equal(
        picks, select_wkmeans(X_pool, scores, 8, beta=4, weighted=False, random_state=2)
    )


def test_all_zero_scores_still_select():
    X = np.random.default_rng(0).normal(size=(50, 2))
    picks = select_wkmeans(X, np.zeros(50), 5, random_state=0)
    assert len(set(picks.tolist())) == 5


def test_kcenter_greedy_matches_brute_force():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 3))
    labeled = rng.normal(size=(7, 3))
    picks = select_kcenter_greedy(X, 6, X_labeled=labeled)
    chosen = list(labeled)
    expected = []
    for _ in range(6):
        d = reference.sq_distances(X, np.array(chosen)).min(axis=1)
        d[expected] = -1
        expected.append(int(np.argmax(d)))
        chosen.append(X[expected[-1]])
    np.testing.assert_array_equal(picks, expected)


def test_kcenter_greedy_without_labeled_starts_farthest_from_the_mean():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [2.0, 0.0]])
    assert select_kcenter_greedy(X, 1)[0] == 2


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda X, s: select_wkmeans(X, s, 51),
            ValueError,
            "batch_size=51 is larger than the pool: X_pool has 50 sample(s)",
        ),
        (lambda X, s: select_wkmeans(X, s, 5, beta=0.5), ValueError, "beta == 0.5, must be >= 1"),
        (
            lambda X, s: select_wkmeans(X, s, 5, X_labeled=np.ones((2, 3))),
            ValueError,
            "X_labeled must have 2 columns",
        ),
        (lambda X, s: select_wkmeans(X, -s, 5), ValueError, "scores must be non-negative"),
        (lambda X, s: select_wkmeans(X, s[:3], 5), ValueError, "scores must have shape (50,)"),
        (lambda X, s: select_kcenter_greedy(X, 0), ValueError, "batch_size == 0, must be >= 1"),
        (
            lambda X, s: select_kcenter_greedy(X, 5, X_labeled=np.ones((2, 3))),
            ValueError,
            "X_labeled must have 2 columns",
        ),
    ],
)
def test_selection_errors(call, error, message):
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(error, match=re.escape(message)):
        call(X, np.ones(50))


@pytest.mark.parametrize(
    "cls",
    [
        ConfidenceSampler,
        MarginSampler,
        EntropySampler,
        WKMeansSampler,
        IWKMeansSampler,
        ClusteredSampler,
        SubmodularSampler,
        BadgeSampler,
    ],
)
def test_uncertainty_samplers_need_predict_proba(cls):
    X_l, y_l, _ = make_pool(0, 20)
    with pytest.raises(
        TypeError, match="needs a classifier with predict_proba; LinearSVC has none"
    ):
        cls(LinearSVC(), 5).fit(X_l, y_l)


def test_sampler_errors():
    X_l, y_l, X_pool = make_pool(0, 20)
    sampler = MarginSampler(LogisticRegression(), 50).fit(X_l, y_l)
    with pytest.raises(ValueError, match="batch_size=50 is larger than the pool"):
        sampler.select_samples(X_pool)
    with pytest.raises(ValueError, match="X_pool has 2 features but the labeled set has 4"):
        MarginSampler(LogisticRegression(), 5).fit(X_l, y_l).select_samples(X_pool[:, :2])
    with pytest.raises(ValueError, match="beta == 0, must be >= 1"):
        IWKMeansSampler(LogisticRegression(), 5, beta=0).fit(X_l, y_l).select_samples(X_pool)


def test_score_samples_are_the_uncertainty_of_the_classifier():
    from iwkmeans import margin_score

    X_l, y_l, X_pool = make_pool(0, 100)
    sampler = MarginSampler(LogisticRegression(), 5).fit(X_l, y_l)
    expected = margin_score(sampler.classifier_.predict_proba(X_pool))
    np.testing.assert_allclose(sampler.score_samples(X_pool), expected)
    top = np.argsort(-expected, kind="stable")[:5]
    assert set(sampler.select_samples(X_pool).tolist()) == set(top.tolist())
