"""ClusterMarginSampler: the smallest margins, picked round-robin over their
clusters (smallest first), the clusters from hierarchical K-Means."""

import tracemalloc

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from iwkmeans import ClusterMarginSampler, HierarchicalKMeans, margin_score
from iwkmeans.active._cluster_margin import hierarchical_labels, round_robin_picks


def constructed_case():
    """12 samples, 4 clusters; the 9 smallest margins are in clusters 0
    (4 candidates), 1 (3), 2 (1) and 3 (1); sample 11 (cluster 2) has a large
    margin and is no candidate."""
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 3, 2, 0, 2])
    scores = np.array([0.9, 0.8, 0.7, 0.95, 0.85, 0.75, 0.99, 0.6, 0.65, 0.1, 0.1, 0.1])
    return labels, scores


def test_candidates_are_the_smallest_margins():
    labels, scores = constructed_case()
    picks = round_robin_picks(labels, scores, 9, 9, 0)
    assert sorted(picks.tolist()) == list(range(9))


@pytest.mark.parametrize("seed", range(5))
def test_round_robin_smallest_clusters_first(seed):
    labels, scores = constructed_case()
    picks = round_robin_picks(labels, scores, 9, 9, seed)
    clusters = labels[picks].tolist()
    # Round 1: clusters by number of candidates, ascending (ties: the lowest
    # label): 2 and 3 (one each), then 1 (three), then 0 (four).
    assert clusters[:4] == [2, 3, 1, 0]
    # Round 2 and 3: the clusters with candidates left, in the same order.
    assert clusters[4:6] == [1, 0]
    assert clusters[6:8] == [1, 0]
    assert clusters[8:] == [0]


@pytest.mark.parametrize("batch_size", range(1, 10))
def test_no_cluster_gives_twice_before_every_candidate_cluster_gave_once(batch_size):
    labels, scores = constructed_case()
    picks = round_robin_picks(labels, scores, batch_size, 9, 3)
    clusters = labels[picks]
    counts = np.bincount(clusters, minlength=4)
    candidates = np.bincount(labels[:9], minlength=4)
    # Fair shares: a cluster with candidates left has at least as many picks
    # as any other, minus one.
    for c in range(4):
        if counts[c] < candidates[c]:
            assert counts.max() <= counts[c] + 1
    assert np.unique(picks).size == batch_size


def test_the_draw_within_a_cluster_is_random_and_seeded():
    labels, scores = constructed_case()
    draws = {tuple(round_robin_picks(labels, scores, 4, 9, seed).tolist()) for seed in range(20)}
    assert len(draws) > 1  # cluster 0 gives any of its 4 candidates, 1 any of its 3
    np.testing.assert_array_equal(
        round_robin_picks(labels, scores, 4, 9, 7), round_robin_picks(labels, scores, 4, 9, 7)
    )


class FixedProba:
    """A classifier whose predicted probabilities are read from the last
    feature: p = (1 + m) / 2 and (1 - m) / 2, so the margin is m."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        margin = np.asarray(X)[:, -1]
        return np.c_[(1 + margin) / 2, (1 - margin) / 2]

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


def test_the_sampler_spreads_the_batch_over_the_clusters():
    # Three blobs of 100; the 30 smallest margins all lie in the large blob
    # 0 but for 2 in blob 1 and 1 in blob 2. Margin sampling would take the
    # batch from blob 0; Cluster-Margin takes the lone candidates first.
    rng = np.random.default_rng(0)
    X = np.r_[
        rng.normal(size=(100, 2)),
        rng.normal(size=(100, 2)) + [30.0, 0.0],
        rng.normal(size=(100, 2)) + [0.0, 30.0],
    ]
    margin = np.full(300, 0.9)
    margin[:27] = 0.01
    margin[[100, 101, 200]] = 0.02
    X = np.c_[X, margin]
    sampler = ClusterMarginSampler(FixedProba(), 3, n_clusters=3, random_state=0)
    picks = sampler.fit(X[:2], [0, 1]).select_samples(X)
    assert picks[0] == 200 and picks[1] in (100, 101) and picks[2] < 27


def test_hierarchical_labels_are_hierarchical_kmeans_labels():
    X, _ = make_blobs(400, n_features=3, centers=6, random_state=1)
    for levels in [(5,), (3, 9)]:
        expected = HierarchicalKMeans(levels, random_state=4).fit(X).labels_
        np.testing.assert_array_equal(hierarchical_labels(X, levels, 4, None), expected)


def test_scores_and_levels():
    X, y = make_blobs(200, n_features=2, centers=3, random_state=2)
    sampler = ClusterMarginSampler(LogisticRegression(), 5, n_clusters=(4, 8), random_state=0)
    sampler.fit(X[:30], y[:30])
    np.testing.assert_allclose(
        sampler.score_samples(X), margin_score(sampler.classifier_.predict_proba(X))
    )
    assert sampler._levels(200, 5) == (4, 8)
    assert sampler._levels(10, 5) == (4, 6)  # cut to the pool's size
    assert ClusterMarginSampler(None, 5)._levels(200, 5) == (50,)
    assert ClusterMarginSampler(None, 5)._levels(30, 5) == (30,)
    picks = sampler.select_samples(X)
    assert np.unique(picks).size == 5


def test_sparse_pool_picks_as_dense():
    X, y = make_blobs(200, n_features=3, centers=3, random_state=3)
    X = np.abs(X) + 1.0
    dense = ClusterMarginSampler(LogisticRegression(), 6, random_state=0).fit(X[:30], y[:30])
    csr = ClusterMarginSampler(LogisticRegression(), 6, random_state=0).fit(X[:30], y[:30])
    np.testing.assert_array_equal(
        dense.select_samples(X[30:]), csr.select_samples(sparse.csr_matrix(X[30:]))
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"margin_factor": 0.5}, ValueError, "margin_factor"),
        ({"n_clusters": 0}, ValueError, "n_clusters"),
        ({"n_clusters": ()}, ValueError, "at least one level"),
        ({"n_clusters": (3, 0)}, ValueError, "n_clusters"),
        ({"n_clusters": 2.5}, TypeError, "n_clusters"),
    ],
)
def test_parameters_are_checked(kwargs, error, message):
    X, y = make_blobs(100, n_features=2, centers=2, random_state=0)
    sampler = ClusterMarginSampler(LogisticRegression(), 3, **kwargs).fit(X[:20], y[:20])
    with pytest.raises(error, match=message):
        sampler.select_samples(X)


def test_a_large_pool_without_quadratic_memory():
    # 200,000 x 8: agglomerative clustering would need 2e10 distances (160 GB
    # in float64); hierarchical K-Means needs memory linear in the pool.
    # About 5 s on one core.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200_000, 8)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    sampler = ClusterMarginSampler(LogisticRegression(), 10, random_state=0)
    sampler.fit(X[:100], y[:100])
    tracemalloc.start()
    try:
        picks = sampler.select_samples(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.unique(picks).size == 10
    assert peak < 100 * X.nbytes  # traced by NumPy: nothing of n_pool^2
