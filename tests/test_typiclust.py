"""TypiClustSampler: the most typical sample of each cluster without a
labeled sample, the labeled samples being fixed centroids of the K-Means."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from iwkmeans import TypiClustSampler
from iwkmeans.active._typiclust import typicality

CENTERS = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])


def blobs(seed=0, n=60):
    """Four well separated blobs of n samples. In each, the first sample sits
    at the blob's center with 20 samples on a circle of radius 0.1 around
    it, so that its 20 nearest neighbours are the closest of all (it is the
    blob's single most typical sample); the others lie 1 to 3 away."""
    rng = np.random.default_rng(seed)
    angle = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    ring = 0.1 * np.c_[np.cos(angle), np.sin(angle)]
    radius = rng.uniform(1.0, 3.0, size=n - 21)
    theta = rng.uniform(0, 2 * np.pi, size=n - 21)
    outer = radius[:, None] * np.c_[np.cos(theta), np.sin(theta)]
    return np.concatenate([np.r_[[[0.0, 0.0]], ring, outer] + center for center in CENTERS])


def test_typicality_is_one_over_the_mean_distance_to_the_k_nearest_others():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    k = 5
    distances = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(distances, np.inf)
    expected = 1.0 / np.sort(distances, axis=1)[:, :k].mean(axis=1)
    np.testing.assert_allclose(typicality(X, k), expected, rtol=1e-12)
    # K is capped by the cluster's size; a lone sample is infinitely typical.
    np.testing.assert_allclose(typicality(X[:3], 20), typicality(X[:3], 2))
    assert typicality(X[:1], 20).tolist() == [np.inf]


@pytest.mark.parametrize("labeled_blob", range(4))
def test_densest_point_of_each_uncovered_blob_and_none_of_the_labeled_blob(labeled_blob):
    X = blobs()
    # One labeled sample in one blob: a fixed centroid that holds that blob.
    X_labeled = CENTERS[labeled_blob : labeled_blob + 1] + 0.3
    sampler = TypiClustSampler(None, 3, random_state=0).fit(X_labeled)
    picks = sampler.select_samples(X)
    blob_of = np.arange(len(X)) // 60
    uncovered = [blob for blob in range(4) if blob != labeled_blob]
    assert sorted(blob_of[picks].tolist()) == uncovered
    # In each, the most typical sample (K = 20 nearest in its blob): here the
    # sample placed at the blob's center.
    for pick in picks:
        members = np.flatnonzero(blob_of == blob_of[pick])
        assert pick == members[np.argmax(typicality(X[members], 20))]
        assert pick == 60 * blob_of[pick]


def test_cold_start_takes_every_blob():
    picks = TypiClustSampler(None, 4, random_state=0).fit().select_samples(blobs(2))
    assert sorted(picks.tolist()) == [0, 60, 120, 180]


def test_largest_free_cluster_first():
    X = blobs(3)
    sizes = [60, 25, 40, 30]  # each keeps its center and its circle
    keep = np.concatenate([np.arange(60 * b, 60 * b + s) for b, s in enumerate(sizes)])
    picks = TypiClustSampler(None, 4, random_state=0).fit().select_samples(X[keep])
    # The blobs' centers (rows 0, 60, 85, 125 of X[keep]) by size: 60, 40, 30, 25.
    np.testing.assert_array_equal(picks, [0, 85, 125, 60])


def test_small_and_empty_free_clusters_give_their_turn_to_the_largest():
    # Two blobs, 3 free clusters: K-Means must split one blob; with a large
    # min_cluster_size no cluster qualifies at first, so all are used, and
    # the batch still holds 3 distinct samples.
    X = blobs(4)[:120]
    for min_cluster_size in (1, 5, 1000):
        picks = (
            TypiClustSampler(None, 3, min_cluster_size=min_cluster_size, random_state=0)
            .fit()
            .select_samples(X)
        )
        assert np.unique(picks).size == 3
    # A batch of the whole pool: every sample once.
    picks = TypiClustSampler(None, 12, random_state=0).fit().select_samples(X[:12])
    assert sorted(picks.tolist()) == list(range(12))


def test_max_cluster_samples_caps_the_knn_deterministically(monkeypatch):
    X = blobs(6, n=300)
    seen = []
    fit = NearestNeighbors.fit

    def spy(self, data, *args, **kwargs):
        seen.append(data.shape[0])
        return fit(self, data, *args, **kwargs)

    monkeypatch.setattr(NearestNeighbors, "fit", spy)
    first = TypiClustSampler(None, 4, max_cluster_samples=50, random_state=7).fit()
    picks = first.select_samples(X)
    assert seen and max(seen) <= 50
    again = TypiClustSampler(None, 4, max_cluster_samples=50, random_state=7).fit()
    np.testing.assert_array_equal(again.select_samples(X), picks)
    assert len(set((np.asarray(picks) // 300).tolist())) == 4


def test_sparse_pool_and_labeled_set_pick_as_dense():
    X = blobs(7) + 5.0  # no zero: the same rows, stored in full
    X_labeled = CENTERS[1:2] + 5.2
    dense = TypiClustSampler(None, 3, random_state=0).fit(X_labeled).select_samples(X)
    csr = (
        TypiClustSampler(None, 3, random_state=0)
        .fit(sparse.csr_matrix(X_labeled))
        .select_samples(sparse.csr_matrix(X))
    )
    np.testing.assert_array_equal(dense, csr)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"min_cluster_size": 0}, "min_cluster_size"),
        ({"max_cluster_samples": 1}, "max_cluster_samples"),
    ],
)
def test_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TypiClustSampler(None, 2, **kwargs).fit().select_samples(blobs())
