"""IncrementalKMeans.extend and HierarchicalKMeans."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from iwkmeans import IncrementalKMeans
from iwkmeans.cluster._hierarchical import HierarchicalKMeans

import reference


@pytest.fixture
def X():
    return make_blobs(n_samples=1500, n_features=4, centers=12, random_state=0)[0]


def test_extend_keeps_previous_centers_fixed(X):
    first = IncrementalKMeans(4, random_state=0).fit(X)
    before = first.cluster_centers_.copy()
    second = first.extend(X, 3)
    assert second.cluster_centers_.shape == (7, 4)
    assert second.cluster_centers_[:4].tobytes() == before.tobytes()
    assert second.fixed_mask_.tolist() == [True] * 4 + [False] * 3
    assert first.cluster_centers_.tobytes() == before.tobytes()  # self unchanged
    np.testing.assert_array_equal(second.predict(X), second.labels_)
    assert second.inertia_ <= first.inertia_
    same = IncrementalKMeans(3, random_state=0).fit(X, fixed_centers=before)
    np.testing.assert_array_equal(same.cluster_centers_, second.cluster_centers_)


def test_extend_after_an_array_init(X):
    first = IncrementalKMeans(2, init=X[:2]).fit(X)
    assert first.extend(X, 5).cluster_centers_.shape == (7, 4)


def test_levels_sizes_and_parents(X):
    hkm = HierarchicalKMeans((3, 4, 5), random_state=0).fit(X)
    assert hkm.cluster_centers_.shape == (12, 4)
    np.testing.assert_array_equal(hkm.level_, [0] * 3 + [1] * 4 + [2] * 5)
    assert np.all(hkm.parent_[:3] == -1)
    for child in range(3, 12):
        parent = hkm.parent_[child]
        assert hkm.level_[parent] == hkm.level_[child] - 1
        same_level_above = np.flatnonzero(hkm.level_ == hkm.level_[child] - 1)
        d = reference.sq_distances(
            hkm.cluster_centers_[[child]], hkm.cluster_centers_[same_level_above]
        )[0]
        assert parent == same_level_above[np.argmin(d)]


def test_coarser_levels_unchanged_when_a_finer_level_is_added(X):
    coarse = HierarchicalKMeans((3, 4), random_state=5).fit(X)
    fine = HierarchicalKMeans((3, 4, 6), random_state=5).fit(X)
    assert fine.cluster_centers_[:7].tobytes() == coarse.cluster_centers_.tobytes()


def test_finest_level_no_worse_than_the_coarse_level_alone(X):
    coarse = IncrementalKMeans(3, random_state=1).fit(X)
    hkm = HierarchicalKMeans((3, 5), random_state=1).fit(X)
    assert hkm.inertia_ <= coarse.inertia_
    np.testing.assert_allclose(
        hkm.inertia_,
        reference.inertia(X, np.ones(len(X)), hkm.cluster_centers_, hkm.labels_),
        rtol=1e-8,
    )


def test_predict_per_level(X):
    hkm = HierarchicalKMeans((3, 4), random_state=0).fit(X)
    np.testing.assert_array_equal(hkm.predict(X), hkm.labels_)
    top = hkm.predict(X, level=0)
    np.testing.assert_array_equal(top, reference.nearest(X, hkm.cluster_centers_[:3])[0])
    assert hkm.transform(X).shape == (len(X), 7)
    with pytest.raises(ValueError, match="level == 2, must be <= 1"):
        hkm.predict(X, level=2)


def test_int_n_clusters_is_one_level(X):
    hkm = HierarchicalKMeans(5, random_state=0).fit(X)
    flat = IncrementalKMeans(5, random_state=np.random.RandomState(0)).fit(X)
    np.testing.assert_array_equal(hkm.cluster_centers_, flat.cluster_centers_)


@pytest.mark.parametrize(
    "n_clusters, message",
    [
        ((), "n_clusters must name at least one level"),
        ((3, 0), "n_clusters == 0, must be >= 1"),
    ],
)
def test_invalid_levels(X, n_clusters, message):
    with pytest.raises(ValueError, match=message):
        HierarchicalKMeans(n_clusters).fit(X)
