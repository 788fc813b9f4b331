"""CSR input: the same results as the same data stored dense."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sklearn.neighbors import KNeighborsClassifier

from iwkmeans import (
    IncrementalKMeans,
    kmeans_plusplus,
    select_kcenter_greedy,
    select_wkmeans,
)

import reference
from _helpers import DTYPES, RTOL, SAMPLERS, every_thread


def random_csr(seed, n, d, density, dtype, n_empty=0):
    """A CSR matrix with continuous values (so that no two distances tie by
    accident) and ``n_empty`` rows with no stored value."""
    rng = np.random.default_rng(seed)
    dense = rng.uniform(0.5, 1.5, size=(n, d)) * rng.choice([-1, 1], size=(n, d))
    dense[rng.random((n, d)) >= density] = 0
    dense[rng.choice(n, size=n_empty, replace=False)] = 0
    return sp.csr_matrix(dense.astype(dtype))


problems = st.builds(
    lambda seed, n, d, density, empty, dtype: (
        random_csr(seed, n, d, density, dtype, n_empty=min(empty, n - 1)),
        seed,
    ),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(8, 60),
    d=st.integers(1, 12),
    density=st.sampled_from([0.05, 0.2, 0.5, 1.0]),
    empty=st.integers(0, 5),
    dtype=st.sampled_from(DTYPES),
)


def distinct_rows(X):
    return np.unique(X.toarray(), axis=0).shape[0]


@given(problems, st.integers(1, 4), st.integers(0, 3))
def test_lloyd_on_csr_equals_dense(problem, k, n_fixed):
    X, seed = problem
    dense = X.toarray()
    k = min(k, distinct_rows(X))
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 4, size=X.shape[0]).astype(X.dtype)
    fixed = rng.normal(size=(n_fixed, X.shape[1])).astype(X.dtype)
    # One init for both: seeding is compared on its own below.
    init, _ = kmeans_plusplus(dense, k, fixed_centers=fixed, random_state=seed)
    params = dict(n_clusters=k, init=init, max_iter=20, tol=0)
    on_csr = IncrementalKMeans(**params).fit(X, sample_weight=w, fixed_centers=fixed)
    on_dense = IncrementalKMeans(**params).fit(dense, sample_weight=w, fixed_centers=fixed)
    np.testing.assert_array_equal(on_csr.labels_, on_dense.labels_)
    np.testing.assert_allclose(
        on_csr.cluster_centers_, on_dense.cluster_centers_, rtol=RTOL[X.dtype.type], atol=1e-5
    )
    np.testing.assert_allclose(
        on_csr.inertia_, on_dense.inertia_, rtol=RTOL[X.dtype.type], atol=1e-5
    )
    assert on_csr.n_iter_ == on_dense.n_iter_
    np.testing.assert_array_equal(on_csr.predict(X), on_dense.predict(dense))
    np.testing.assert_allclose(
        on_csr.score(X), on_dense.score(dense), rtol=RTOL[X.dtype.type], atol=1e-5
    )


@given(problems, st.integers(1, 5), st.integers(0, 3))
def test_kmeans_plusplus_on_csr_picks_as_dense(problem, k, n_fixed):
    # One trial per pick: with several, two candidates can tie exactly (two
    # samples nearest only to each other give the same potential whichever
    # is picked), and rounding, which differs between the storages, breaks
    # the tie. The greedy choice itself does not depend on the storage.
    X, seed = problem
    k = min(k, X.shape[0])
    fixed = np.random.default_rng(seed).normal(size=(n_fixed, X.shape[1]))
    centers, picks = kmeans_plusplus(X, k, fixed_centers=fixed, random_state=seed, n_local_trials=1)
    expected_centers, expected = kmeans_plusplus(
        X.toarray(), k, fixed_centers=fixed, random_state=seed, n_local_trials=1
    )
    np.testing.assert_array_equal(picks, expected)
    np.testing.assert_array_equal(centers, expected_centers)
    assert isinstance(centers, np.ndarray)


@pytest.mark.parametrize("dtype", DTYPES)
def test_greedy_kmeans_plusplus_on_csr_picks_as_dense(dtype):
    X = random_csr(6, 3000, 50, 0.1, dtype, n_empty=30)
    fixed = X[:5].toarray()
    _, picks = kmeans_plusplus(X, 20, fixed_centers=fixed, random_state=0)
    _, expected = kmeans_plusplus(X.toarray(), 20, fixed_centers=fixed, random_state=0)
    np.testing.assert_array_equal(picks, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fixed", [0, 3])
def test_one_iteration_matches_reference(dtype, n_fixed):
    X = random_csr(0, 500, 30, 0.1, dtype, n_empty=20)
    rng = np.random.default_rng(1)
    w = rng.integers(0, 4, size=X.shape[0]).astype(dtype)
    fixed = rng.normal(size=(n_fixed, 30)).astype(dtype)
    init = X[rng.choice(np.flatnonzero(w > 0), size=6, replace=False)].toarray()
    km = IncrementalKMeans(6, init=init, max_iter=1).fit(X, sample_weight=w, fixed_centers=fixed)
    _, expected = reference.lloyd_step(X.toarray(), w, np.concatenate([fixed, init]), n_fixed)
    np.testing.assert_allclose(km.cluster_centers_, expected, rtol=RTOL[dtype], atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_cluster_relocated_as_dense(dtype):
    X = random_csr(2, 300, 10, 0.3, dtype, n_empty=10)
    init = X[:4].toarray()
    init[0] = 1e3  # nothing is near it: empty after the first assignment
    fits = [IncrementalKMeans(4, init=init, max_iter=1).fit(data) for data in (X, X.toarray())]
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    np.testing.assert_allclose(fits[0].cluster_centers_, fits[1].cluster_centers_, rtol=RTOL[dtype])
    assert np.all(fits[0].cluster_centers_[0] < 1e3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_for_any_thread_count(dtype):
    with every_thread():
        X = random_csr(3, 20000, 300, 0.05, dtype, n_empty=100)
        fixed = X[:10].toarray()
        fits = [
            IncrementalKMeans(30, random_state=0, max_iter=5, n_threads=t).fit(
                X, fixed_centers=fixed
            )
            for t in (1, 2, 3)
        ]
        for other in fits[1:]:
            np.testing.assert_array_equal(other.labels_, fits[0].labels_)
            np.testing.assert_array_equal(other.cluster_centers_, fits[0].cluster_centers_)
            assert other.inertia_ == fits[0].inertia_


def test_duplicate_entries_are_summed_and_input_is_not_changed():
    # (0, 1) is stored twice: the matrix means 3.0 there.
    X = sp.csr_matrix(
        (np.array([1.0, 2.0, 5.0, 4.0]), np.array([1, 1, 0, 2]), np.array([0, 2, 3, 4])),
        shape=(3, 3),
    )
    data, indices = X.data.copy(), X.indices.copy()
    km = IncrementalKMeans(2, random_state=0).fit(X)
    expected = IncrementalKMeans(2, random_state=0).fit(X.toarray())
    np.testing.assert_array_equal(km.labels_, expected.labels_)
    np.testing.assert_array_equal(X.data, data)
    np.testing.assert_array_equal(X.indices, indices)
    assert not X.has_canonical_format


def test_other_sparse_formats_and_64_bit_indices():
    X = random_csr(4, 200, 8, 0.3, np.float64)
    expected = IncrementalKMeans(3, random_state=0).fit(X.toarray()).labels_
    wide = sp.csr_matrix(
        (X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)), shape=X.shape
    )
    for variant in (X.tocsc(), X.tocoo(), sp.csr_array(X), wide):
        km = IncrementalKMeans(3, random_state=0).fit(variant)
        np.testing.assert_array_equal(km.labels_, expected)


def test_all_zero_matrix():
    X = sp.csr_matrix((5, 4))
    km = IncrementalKMeans(1, random_state=0).fit(X)
    np.testing.assert_array_equal(km.cluster_centers_, np.zeros((1, 4)))
    assert km.inertia_ == 0.0


def test_sparse_errors_name_the_argument():
    X = random_csr(5, 20, 4, 0.5, np.float64)
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="X"):
        IncrementalKMeans(2).fit(bad)
    with pytest.raises(ValueError, match="n_clusters=30"):
        IncrementalKMeans(30).fit(X)
    with pytest.raises(ValueError, match="fixed_centers must have 4 columns"):
        IncrementalKMeans(2).fit(X, fixed_centers=np.zeros((2, 3)))


@pytest.mark.parametrize("cls", SAMPLERS)
def test_samplers_select_from_a_sparse_pool_as_from_dense(cls):
    # Nearest-neighbour probabilities are fractions of the neighbours, the
    # same whatever the storage; a fitted linear model's differ in the last
    # bit, and a last-bit change may turn the choice between two samples.
    X = random_csr(7, 400, 40, 0.15, np.float64, n_empty=10)
    y = (np.asarray(X[:, :20].sum(axis=1)).ravel() > 0).astype(int)
    labeled, pool = np.arange(40), np.arange(40, 400)
    picks = []
    for data in (X, X.toarray()):
        sampler = cls(KNeighborsClassifier(7), 12, random_state=0)
        sampler.fit(data[labeled], y[labeled])
        picks.append(sampler.select_samples(data[pool]))
    np.testing.assert_array_equal(picks[0], picks[1])
    assert len(set(picks[0].tolist())) == 12


@given(problems, st.integers(1, 6), st.floats(1.0, 4.0), st.integers(0, 4))
def test_select_wkmeans_on_csr_equals_dense(problem, batch, beta, n_labeled):
    X, seed = problem
    batch = min(batch, X.shape[0])
    rng = np.random.default_rng(seed)
    scores = rng.uniform(size=X.shape[0])
    labeled = rng.normal(size=(n_labeled, X.shape[1]))
    picks = select_wkmeans(X, scores, batch, beta=beta, X_labeled=labeled, random_state=seed)
    expected = select_wkmeans(
        X.toarray(), scores, batch, beta=beta, X_labeled=labeled, random_state=seed
    )
    np.testing.assert_array_equal(picks, expected)


@given(problems, st.integers(1, 6), st.integers(0, 4))
def test_select_kcenter_greedy_on_csr_equals_dense(problem, batch, n_labeled):
    # Labeled rows outside the pool: a pool row equal to a labeled one is at a
    # distance of 0 up to rounding, and rounding differs between storages.
    X, seed = problem
    n_labeled = min(n_labeled, X.shape[0] - 1)
    pool, labeled = X[n_labeled:], X[:n_labeled]  # sparse labeled rows work too
    batch = min(batch, pool.shape[0])
    picks = select_kcenter_greedy(pool, batch, X_labeled=labeled if n_labeled else None)
    expected = select_kcenter_greedy(
        pool.toarray(), batch, X_labeled=labeled.toarray() if n_labeled else None
    )
    np.testing.assert_array_equal(picks, expected)
