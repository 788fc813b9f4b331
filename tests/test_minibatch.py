"""IncrementalMiniBatchKMeans."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from iwkmeans import IncrementalKMeans, kmeans_plusplus
from iwkmeans.cluster._minibatch import IncrementalMiniBatchKMeans

import reference
from _helpers import DTYPES, every_thread


@pytest.fixture
def blobs():
    return make_blobs(n_samples=20_000, n_features=6, centers=15, cluster_std=1.5, random_state=0)[
        0
    ]


@pytest.mark.parametrize("dtype", DTYPES)
def test_fixed_centers_never_move(blobs, dtype):
    X = blobs.astype(dtype)
    fixed = X[:4] + 0.25
    mb = IncrementalMiniBatchKMeans(10, batch_size=512, random_state=0).fit(X, fixed_centers=fixed)
    assert mb.cluster_centers_[:4].tobytes() == fixed.tobytes()
    assert mb.cluster_centers_.dtype == dtype
    np.testing.assert_array_equal(mb.labels_, mb.predict(X))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_close_to_full_batch_inertia(blobs, seed):
    # From the same k-means++ centers: from different starts the two runs may
    # reach different local optima, whatever the algorithm.
    fixed = blobs[:3] + 0.5
    init, _ = kmeans_plusplus(blobs, 15, fixed_centers=fixed, random_state=seed)
    full = IncrementalKMeans(15, init=init).fit(blobs, fixed_centers=fixed)
    mb = IncrementalMiniBatchKMeans(15, init=init, batch_size=1024, random_state=seed).fit(
        blobs, fixed_centers=fixed
    )
    assert mb.inertia_ <= 1.03 * full.inertia_
    np.testing.assert_allclose(
        mb.inertia_,
        reference.inertia(blobs, np.ones(len(blobs)), mb.cluster_centers_, mb.labels_),
        rtol=1e-8,
    )


def test_step_is_the_running_weighted_mean():
    # Two steps on one free center: it ends at the weighted mean of both batches.
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(30, 3))
    wa, wb = rng.integers(1, 4, 50).astype(float), rng.integers(1, 4, 30).astype(float)
    mb = IncrementalMiniBatchKMeans(1, random_state=0)
    mb.partial_fit(a, sample_weight=wa).partial_fit(b, sample_weight=wb)
    expected = (wa @ a + wb @ b) / (wa.sum() + wb.sum())
    np.testing.assert_allclose(mb.cluster_centers_[0], expected, rtol=1e-12)
    np.testing.assert_allclose(mb.counts_, [wa.sum() + wb.sum()])


def test_integer_weights_equal_repeated_samples_in_a_step():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    w = rng.integers(1, 4, 200)
    init = IncrementalMiniBatchKMeans(5, random_state=0).partial_fit(X[:20])
    weighted, repeated = (
        IncrementalMiniBatchKMeans(5, random_state=0).partial_fit(X[:20]) for _ in range(2)
    )
    weighted.partial_fit(X, sample_weight=w.astype(float))
    repeated.partial_fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-12)
    assert init.n_steps_ == 1


def test_partial_fit_keeps_fixed_centers_and_rejects_other_ones(blobs):
    fixed = blobs[:2] + 1.0
    mb = IncrementalMiniBatchKMeans(6, random_state=0)
    for start in range(0, 20_000, 4000):
        mb.partial_fit(blobs[start : start + 4000], fixed_centers=fixed if start == 0 else None)
    assert mb.cluster_centers_[:2].tobytes() == fixed.tobytes()
    assert mb.n_steps_ == 5
    with pytest.raises(ValueError, match="fixed_centers differ"):
        mb.partial_fit(blobs[:100], fixed_centers=fixed + 1)


def test_deterministic_for_any_thread_count(blobs):
    with every_thread():
        fits = [
            IncrementalMiniBatchKMeans(20, batch_size=4096, random_state=3, n_threads=t).fit(blobs)
            for t in (1, 2)
        ]
        assert fits[0].cluster_centers_.tobytes() == fits[1].cluster_centers_.tobytes()


def test_a_starved_center_is_moved_onto_the_data(blobs):
    from iwkmeans.cluster._minibatch import REASSIGN_EVERY

    init = np.r_[blobs[:4], [[1e3] * 6]]  # the last center attracts nothing
    mb = IncrementalMiniBatchKMeans(5, init=init, batch_size=256, random_state=0)
    for step in range(REASSIGN_EVERY):
        mb.partial_fit(blobs[step * 256 : (step + 1) * 256])
    assert np.abs(mb.cluster_centers_[4]).max() < 100
    off = IncrementalMiniBatchKMeans(
        5, init=init, batch_size=256, random_state=0, reassignment_ratio=0.0
    )
    for step in range(REASSIGN_EVERY):
        off.partial_fit(blobs[step * 256 : (step + 1) * 256])
    assert off.cluster_centers_[4, 0] == 1e3


def test_partial_fit_takes_the_same_fixed_centers_on_every_call():
    # A loop naturally passes fixed_centers each time: the same ones are
    # accepted, other ones refused (scikit-learn's rule for ``classes``).
    rng = np.random.default_rng(0)
    X, fixed = rng.normal(size=(600, 3)), rng.normal(size=(4, 3))
    mb = IncrementalMiniBatchKMeans(5, random_state=0)
    for chunk in np.array_split(X, 3):
        mb.partial_fit(chunk, fixed_centers=fixed)
    np.testing.assert_array_equal(mb.cluster_centers_[:4], fixed)
    once = IncrementalMiniBatchKMeans(5, random_state=0).partial_fit(X[:200], fixed_centers=fixed)
    for chunk in np.array_split(X, 3)[1:]:
        once.partial_fit(chunk)
    np.testing.assert_array_equal(mb.cluster_centers_, once.cluster_centers_)
    with pytest.raises(ValueError, match="fixed_centers differ"):
        mb.partial_fit(X[:10], fixed_centers=fixed + 1)
    with pytest.raises(ValueError, match="fixed_centers differ"):
        mb.partial_fit(X[:10], fixed_centers=fixed[:3])


@pytest.mark.parametrize("first, later", [(np.float32, np.float64), (np.float64, np.float32)])
def test_partial_fit_casts_later_chunks_to_the_fitted_dtype(first, later):
    X = np.random.default_rng(0).normal(size=(400, 3))
    mb = IncrementalMiniBatchKMeans(4, random_state=0).partial_fit(X[:200].astype(first))
    mb.partial_fit(X[200:].astype(later))
    assert mb.cluster_centers_.dtype == first
    assert mb.predict(X.astype(later)).max() < 4
