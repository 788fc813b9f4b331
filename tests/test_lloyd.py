"""The weighted Lloyd kernel against the NumPy reference and scikit-learn,
and the properties that must always hold."""

import contextlib
import io

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from iwkmeans import IncrementalKMeans

import reference
from _helpers import DTYPES, RTOL, every_thread, make_problem


def fit(X, w, fixed, init, **params):
    km = IncrementalKMeans(n_clusters=init.shape[0], init=init, **params)
    return km.fit(X, sample_weight=w, fixed_centers=fixed)


# Where the CPU has AVX-512, the 600-sample problem is read from a packed
# copy. The 70000 x 16 ones are over the copy's budget (4 MiB in either
# dtype) and take the other paths: the fused kernel for centers that fit in
# one vector (6), then GEMM with the sample-major scan (40) and the
# center-major one (80). CPUs with AVX2 and FMA but not AVX-512 take the
# fused tile throughout (test_fused.py checks the GEMM paths there too);
# others take GEMM.
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fixed", [0, 3])
@pytest.mark.parametrize(
    "shape", [(600, 5, 6), (70_000, 16, 6), (70_000, 16, 40), (70_000, 16, 80)]
)
def test_one_iteration_matches_reference(shape, dtype, n_fixed):
    n, d, k = shape
    X, w, fixed, init = make_problem(0, n, d, n_fixed, k, dtype)
    km = fit(X, w, fixed, init, max_iter=1)
    _, expected = reference.lloyd_step(X, w, np.concatenate([fixed, init]), n_fixed)
    np.testing.assert_allclose(km.cluster_centers_, expected, rtol=RTOL[dtype])
    assert km.n_iter_ == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_cluster_relocated_like_reference(dtype):
    X, w, fixed, init = make_problem(1, 300, 3, 2, 4, dtype)
    init[0] = 1e3  # nothing is near it: empty after the first assignment
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        km = fit(X, w, fixed, init, max_iter=1, verbose=1)
    assert "relocated 1 empty cluster" in buffer.getvalue()
    _, expected = reference.lloyd_step(X, w, np.concatenate([fixed, init]), 2)
    np.testing.assert_allclose(km.cluster_centers_, expected, rtol=RTOL[dtype])
    # The relocated center sits on the sample farthest (weighted) from its center.
    labels, dist = reference.nearest(X, np.concatenate([fixed, init]))
    assert np.any(np.all(km.cluster_centers_[2] == X[np.argmax(w * dist)], axis=0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_full_fit_matches_scikit_learn(dtype, weighted):
    X, _ = make_blobs(n_samples=3000, n_features=6, centers=10, cluster_std=2.0, random_state=3)
    X = X.astype(dtype)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=len(X)).astype(dtype)
    w = w if weighted else None
    init = X[:10].copy()
    ours = IncrementalKMeans(10, init=init, max_iter=100).fit(X, sample_weight=w)
    theirs = KMeans(10, init=init, n_init=1, max_iter=100, algorithm="lloyd").fit(
        X, sample_weight=w
    )
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(
        ours.cluster_centers_, theirs.cluster_centers_, rtol=RTOL[dtype], atol=RTOL[dtype]
    )
    np.testing.assert_allclose(ours.inertia_, theirs.inertia_, rtol=1e-5)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.cluster_centers_.dtype == dtype


problems = st.builds(
    dict,
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(20, 700),
    d=st.integers(1, 9),
    n_fixed=st.integers(0, 5),
    k=st.integers(1, 8),
    dtype=st.sampled_from(DTYPES),
)


@given(problems)
def test_inertia_never_increases(p):
    X, w, fixed, init = make_problem(**p)
    inertias = [fit(X, w, fixed, init, max_iter=t, tol=0).inertia_ for t in range(1, 7)]
    slack = RTOL[p["dtype"]] * inertias[0]
    assert all(b <= a + slack for a, b in zip(inertias, inertias[1:])), inertias


@given(problems)
def test_fixed_centers_returned_bit_identical(p):
    X, w, fixed, init = make_problem(**p)
    km = IncrementalKMeans(p["k"], random_state=p["seed"]).fit(
        X, sample_weight=w, fixed_centers=fixed
    )
    assert km.cluster_centers_[: p["n_fixed"]].tobytes() == fixed.tobytes()
    assert km.fixed_mask_.tolist() == [True] * p["n_fixed"] + [False] * p["k"]


@given(problems)
def test_labels_are_the_argmin_over_all_centers(p):
    X, w, fixed, init = make_problem(**p)
    km = IncrementalKMeans(p["k"], random_state=p["seed"]).fit(
        X, sample_weight=w, fixed_centers=fixed
    )
    d = reference.sq_distances(X, km.cluster_centers_)
    chosen = d[np.arange(len(X)), km.labels_]
    # Equal up to rounding: a near-tie may go either way in float arithmetic.
    np.testing.assert_allclose(chosen, d.min(axis=1), rtol=RTOL[p["dtype"]], atol=RTOL[p["dtype"]])
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    expected = reference.inertia(X, w, km.cluster_centers_, km.labels_)
    np.testing.assert_allclose(km.inertia_, expected, rtol=1e-6)


@given(problems)
def test_integer_weights_equal_repeated_samples(p):
    # tol=0: scikit-learn's tol is relative to the unweighted variance of X,
    # which repeating samples changes, so it could stop the two fits at
    # different iterations.
    X, w, fixed, init = make_problem(**p)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        weighted = fit(X, w, fixed, init, tol=0, verbose=1)
    # Relocating an empty cluster moves a whole weighted sample but a single
    # copy of a repeated one: the two problems differ there by design.
    assume("relocated" not in log.getvalue())
    repeated = fit(np.repeat(X, w.astype(int), axis=0), None, fixed, init, tol=0)
    np.testing.assert_array_equal(repeated.labels_, np.repeat(weighted.labels_, w.astype(int)))
    np.testing.assert_allclose(
        repeated.cluster_centers_,
        weighted.cluster_centers_,
        rtol=RTOL[p["dtype"]],
        atol=RTOL[p["dtype"]],
    )
    np.testing.assert_allclose(repeated.inertia_, weighted.inertia_, rtol=1e-5)


def assert_same_fit(a, b):
    assert a.cluster_centers_.tobytes() == b.cluster_centers_.tobytes()
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    assert a.n_iter_ == b.n_iter_


# Several chunks of rows, each its own thread under every_thread().
large_problems = st.builds(
    dict,
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5000, 8000),
    d=st.integers(10, 16),
    n_fixed=st.integers(0, 5),
    k=st.integers(20, 32),
    dtype=st.sampled_from(DTYPES),
)


@settings(max_examples=15)
@given(large_problems)
def test_bit_identical_across_thread_counts(p):
    with every_thread():
        X, w, fixed, _ = make_problem(**p)
        fits = [
            IncrementalKMeans(p["k"], random_state=p["seed"], n_threads=t).fit(
                X, sample_weight=w, fixed_centers=fixed
            )
            for t in (1, 2, 3)
        ]
        assert_same_fit(fits[0], fits[1])
        assert_same_fit(fits[0], fits[2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_with_more_threads_than_cores(dtype):
    with every_thread():
        X, w, fixed, _ = make_problem(7, 5000, 12, 20, 30, dtype)
        one, eight = (
            IncrementalKMeans(30, random_state=0, n_threads=t).fit(
                X, sample_weight=w, fixed_centers=fixed
            )
            for t in (1, 8)
        )
        assert_same_fit(one, eight)


@given(problems)
def test_user_arrays_unchanged(p):
    X, w, fixed, init = make_problem(**p)
    copies = [a.copy() for a in (X, w, fixed, init)]
    km = fit(X, w, fixed, init)
    km.predict(X)
    km.score(X, sample_weight=w)
    for original, copy in zip((X, w, fixed, init), copies):
        assert original.tobytes() == copy.tobytes()
    # The fitted centers are new arrays, not views of the inputs.
    assert not np.shares_memory(km.cluster_centers_, fixed)
    assert not np.shares_memory(km.cluster_centers_, init)


def test_fixed_centers_only_attract():
    # Two groups; a fixed center on the left one: the free center takes the right.
    X = np.array([[0.0, 0.0], [0.0, 1.0], [9.0, 0.0], [9.0, 1.0], [10.0, 0.5]])
    km = IncrementalKMeans(1, random_state=0).fit(X, fixed_centers=[[0.0, 0.5]])
    np.testing.assert_allclose(km.cluster_centers_, [[0.0, 0.5], [28 / 3, 0.5]])
    np.testing.assert_array_equal(km.labels_, [0, 0, 1, 1, 1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_k_times_d_second_pass_matches_scikit_learn(dtype):
    # 260 centers x 131 statistics do not fit 64 blocks in the fused-sums
    # budget, so the sums take the separate, feature-owned pass.
    X, _ = make_blobs(n_samples=16_000, n_features=130, centers=300, random_state=0)
    X = X.astype(dtype)
    init = X[:260].copy()
    ours = [IncrementalKMeans(260, init=init, max_iter=3, n_threads=t).fit(X) for t in (1, 2)]
    theirs = KMeans(260, init=init, n_init=1, max_iter=3, algorithm="lloyd").fit(X)
    assert_same_fit(ours[0], ours[1])
    if dtype == np.float64:
        np.testing.assert_array_equal(ours[0].labels_, theirs.labels_)
        np.testing.assert_allclose(
            ours[0].cluster_centers_, theirs.cluster_centers_, rtol=RTOL[dtype], atol=RTOL[dtype]
        )
    else:
        # scikit-learn centers X on its mean, iwkmeans frames it on a median:
        # in float32 the two roundings may break a near-tie differently, and
        # a sample that changes cluster early moves both centers a little.
        assert np.mean(ours[0].labels_ == theirs.labels_) > 0.999
        np.testing.assert_allclose(ours[0].inertia_, theirs.inertia_, rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_block_steps_add_up_to_the_full_statistics(dtype):
    from iwkmeans._kmeans import _lloyd

    X, w, fixed, init = make_problem(11, 1500, 4, 3, 5, dtype)
    centers = np.concatenate([fixed, init])
    labels = np.empty(len(X), dtype=np.int32)
    sums = np.zeros((5, 4))
    weights = np.zeros(5)
    total = 0.0
    for rows in np.array_split(np.arange(len(X)), 3):
        block_sums, block_weights = np.empty((5, 4)), np.empty(5)
        block_labels = np.empty(len(rows), dtype=np.int32)
        # The identity frame: no shift, scale 1.
        total += _lloyd.block_step(
            X[rows].reshape(-1),
            None,
            None,
            np.zeros(4, dtype=dtype),
            1.0,
            w[rows],
            centers,
            3,
            block_labels,
            block_sums,
            block_weights,
            2,
        )
        labels[rows] = block_labels
        sums += block_sums
        weights += block_weights
    expected_labels, _ = reference.nearest(X, centers)
    np.testing.assert_array_equal(labels, expected_labels)
    for j in range(5):
        members = labels == 3 + j
        np.testing.assert_allclose(sums[j], (w[members, None] * X[members]).sum(0), rtol=1e-6)
        np.testing.assert_allclose(weights[j], w[members].sum(), rtol=1e-6)
    np.testing.assert_allclose(total, reference.inertia(X, w, centers, labels), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tie_between_fixed_and_free_goes_to_the_fixed_center(dtype):
    # x = 1 is exactly as far from the fixed center 0 as from the free one 2;
    # the lower index (the fixed center) wins, so the free center moves to 3.
    X = np.array([[1.0], [3.0]], dtype=dtype)
    km = IncrementalKMeans(1, init=np.array([[2.0]]), max_iter=1).fit(
        X, fixed_centers=np.array([[0.0]])
    )
    assert km.cluster_centers_[1, 0] == 3.0
    np.testing.assert_array_equal(km.labels_, [0, 1])
