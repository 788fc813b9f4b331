"""iwkmeans.dask: Lloyd, k-means|| and WKMeans selection on Dask, against
the single-machine estimator, the NumPy reference and a real two-worker
LocalCluster (one worker of which is killed during a fit)."""

import contextlib
import io
import logging
import os
import signal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import make_blobs

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402

import iwkmeans  # noqa: E402
from iwkmeans import dask as idk  # noqa: E402
from iwkmeans.dask import _chunk_tasks  # noqa: E402
from iwkmeans.dask import _lloyd as _dask_lloyd  # noqa: E402
from iwkmeans.dask import _seeding as _dask_seeding  # noqa: E402
from iwkmeans.dask._data import check_values, framed_chunks  # noqa: E402

import reference  # noqa: E402
from _helpers import DTYPES, RTOL, make_problem  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """Two worker processes with one thread each, as on a small real cluster."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def fit_both(X, w, fixed, init, rows, **params):
    """The single-machine fit and the Dask fit (chunks of ``rows`` rows)."""
    k = init.shape[0]
    ref = iwkmeans.IncrementalKMeans(k, init=init, **params).fit(
        X, sample_weight=w, fixed_centers=fixed
    )
    ours = idk.IncrementalKMeans(k, init=init, **params).fit(
        da.from_array(X, chunks=(rows, -1)), sample_weight=w, fixed_centers=fixed
    )
    return ref, ours


def assert_same_fit(ref, ours, dtype):
    np.testing.assert_array_equal(ours.labels_.compute(), ref.labels_)
    np.testing.assert_allclose(
        ours.cluster_centers_, ref.cluster_centers_, rtol=RTOL[dtype], atol=RTOL[dtype]
    )
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=RTOL[dtype])
    assert ours.n_iter_ == ref.n_iter_
    assert ours.cluster_centers_.dtype == dtype
    np.testing.assert_array_equal(ours.fixed_mask_, ref.fixed_mask_)


def assert_identical(a, b):
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_.compute(), b.labels_.compute())
    assert a.inertia_ == b.inertia_ and a.n_iter_ == b.n_iter_


# --- Lloyd: equal to the single machine, identical for any workers ---------


# Every Dask task costs a few milliseconds on a two-core machine, so the
# tests on the cluster use few chunks and data that converges quickly; the
# many-chunk cases run on the synchronous scheduler, which computes the same.
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [300, 1000])
@pytest.mark.parametrize("n_fixed", [0, 4])
def test_matches_single_machine_on_cluster(client, dtype, rows, n_fixed):
    X, w, fixed, init = make_problem(0, 1000, 5, n_fixed, 6, dtype, blobs=True)
    ref, ours = fit_both(X, w, fixed, init, rows)
    assert_same_fit(ref, ours, dtype)
    np.testing.assert_array_equal(ours.cluster_centers_[:n_fixed], fixed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [33, 256])
@pytest.mark.parametrize("tol", [0.0, 1e-2])
def test_matches_single_machine_many_chunks(sync, dtype, rows, tol):
    X, w, fixed, init = make_problem(1, 800, 4, 3, 5, dtype)
    ref, ours = fit_both(X, w, fixed, init, rows, tol=tol)
    assert_same_fit(ref, ours, dtype)


def test_identical_for_one_or_two_workers_and_any_scheduler(client):
    X, w, fixed, _ = make_problem(2, 1500, 6, 3, 8, np.float32, blobs=True)
    Xd = da.from_array(X, chunks=(400, -1))

    def fit():
        return idk.IncrementalKMeans(8, random_state=0).fit(
            Xd, sample_weight=w, fixed_centers=fixed
        )

    two_workers = fit()
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    ) as one:
        with distributed.Client(one, set_as_default=False) as one_client:
            with dask.config.set(scheduler=one_client):
                one_worker = fit()
    with dask.config.set(scheduler="threads"):
        threads = fit()
    with dask.config.set(scheduler="sync"):
        single_thread = fit()
    for other in (one_worker, threads, single_thread):
        assert_identical(two_workers, other)


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 300),
    d=st.integers(1, 5),
    n_fixed=st.integers(0, 4),
    k=st.integers(1, 6),
    rows=st.integers(1, 120),
    far=st.booleans(),
)
def test_one_iteration_matches_reference(seed, n, d, n_fixed, k, rows, far):
    X, w, fixed, init = make_problem(seed, n, d, n_fixed, k, np.float64)
    if far:
        init[0] = 1e3  # nothing is near it: relocated onto the farthest sample
    centers = np.concatenate([fixed, init])
    Xd, wd = da.from_array(X, chunks=(rows, -1)), da.from_array(w, chunks=rows)
    with dask.config.set(scheduler="sync"):
        chunks = framed_chunks(Xd, wd, check_values(Xd, wd))
        frame = chunks.frame
        new, shift, inertia, _ = _dask_lloyd.lloyd_iteration(chunks, frame.to(centers), n_fixed, 1)
    # The iteration computes in the frame of the data, with normalised weights.
    new, shift = frame.back(new), frame.squared(shift)
    inertia = frame.squared(inertia, chunks.weight_scale)
    labels, expected = reference.lloyd_step(X, w, centers, n_fixed)
    np.testing.assert_allclose(new, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(shift, np.sum((expected - centers) ** 2), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(inertia, reference.inertia(X, w, centers, labels), rtol=1e-10)


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 300),
    d=st.integers(1, 4),
    rows=st.integers(1, 100),
    offset=st.floats(-1e3, 1e3),
)
def test_mean_variance_matches_numpy(seed, n, d, rows, offset):
    """The variance behind tol, merged over chunks (in the frame of the
    data), against numpy's."""
    X = np.random.default_rng(seed).normal(size=(n, d)) + offset
    with dask.config.set(scheduler="sync"):
        checked = check_values(da.from_array(X, chunks=(rows, -1)), None)
    variance = checked.variance / checked.frame.scale**2
    np.testing.assert_allclose(variance, X.var(axis=0).mean(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_cluster_relocated_like_single_machine(sync, dtype):
    X, w, fixed, init = make_problem(3, 300, 3, 2, 4, dtype)
    init[0] = 1e3
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        ref, ours = fit_both(X, w, fixed, init, 64, max_iter=1, verbose=1)
    assert "relocated 1 empty cluster" in buffer.getvalue()
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=RTOL[dtype])


def test_relocate_empty_moves_later_clusters_emptied_on_the_way():
    # Free cluster 0 is empty; the farthest sample is the only member of
    # free cluster 1, which is then empty and takes the next farthest.
    sums = np.array([[0.0], [5.0], [9.0]])
    weights = np.array([0.0, 1.0, 3.0])
    candidates = [
        (
            np.array([10.0, 4.0]),
            np.array([7, 2]),
            np.array([1, 2]),
            np.array([1.0, 1.0]),
            np.array([[5.0], [1.0]]),
        )
    ]
    moved = _dask_lloyd.relocate_empty(sums, weights, candidates, n_fixed=0)
    assert moved == 2
    np.testing.assert_array_equal(weights, [1.0, 1.0, 2.0])
    np.testing.assert_array_equal(sums, [[5.0], [1.0], [8.0]])


# --- k-means|| ---------------------------------------------------------------


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(10, 200),
    k=st.integers(1, 10),
    n_fixed=st.integers(0, 3),
    rows=st.integers(8, 100),
    duplicates=st.booleans(),
)
def test_kmeans_parallel_picks_distinct_positive_deterministic(
    seed, n, k, n_fixed, rows, duplicates
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if duplicates:
        X = X[rng.integers(0, max(1, n // 4), size=n)]  # few distinct samples
    w = rng.integers(0, 3, size=n).astype(np.float64)
    w[rng.choice(n, size=k, replace=False)] += 1
    fixed = rng.normal(size=(n_fixed, 3))
    Xd = da.from_array(X, chunks=(rows, -1))
    with dask.config.set(scheduler="sync"):
        centers, picks = idk.kmeans_parallel(
            Xd, k, sample_weight=w, fixed_centers=fixed, random_state=seed
        )
        again = idk.kmeans_parallel(Xd, k, sample_weight=w, fixed_centers=fixed, random_state=seed)
    assert np.unique(picks).size == k
    assert np.all(w[picks] > 0)
    np.testing.assert_array_equal(centers, X[picks])
    np.testing.assert_array_equal(again[1], picks)


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 200),
    rows=st.integers(1, 60),
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
)
def test_nearest_seed_tracks_the_nearest_of_all_centers(seed, n, rows, sizes):
    """Adding centers batch by batch, per chunk, gives the brute-force nearest
    of all of them; their weights are the brute-force totals."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    w = rng.uniform(0, 2, size=n)
    batches = [rng.normal(size=(size, 2)) for size in sizes]
    starts = range(0, n, rows)
    states = [None] * len(starts)
    n_known = 0
    with dask.config.set(scheduler="sync"):
        frame = check_values(da.from_array(X, chunks=(rows, -1)), None).frame
    for batch in batches:
        states = [
            _chunk_tasks.nearest_seed(
                X[s : s + rows],
                frame,
                state,
                frame.to(batch),
                n_known,
                np.empty(0, dtype=np.intp),
                np.empty(0, dtype=np.intp),
                1,
            )
            for s, state in zip(starts, states)
        ]
        n_known += batch.shape[0]
    labels, sq_distances = reference.nearest(X, np.concatenate(batches))
    np.testing.assert_array_equal(np.concatenate([s[1] for s in states]), labels)
    # Distances in the frame's units.
    np.testing.assert_allclose(
        frame.squared(np.concatenate([s[0] for s in states])), sq_distances, rtol=1e-12, atol=1e-12
    )
    weights = _dask_lloyd.add_in_order(
        [
            _chunk_tasks.weight_per_center(X[s : s + rows], w[s : s + rows], s, state, n_known)
            for s, state in zip(starts, states)
        ]
    )
    np.testing.assert_allclose(weights, np.bincount(labels, w, minlength=n_known))


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 300),
    rows=st.integers(1, 80),
    oversampling=st.floats(0.5, 50),
)
def test_oversampled_draws_narrow_to_the_exact_draws(seed, n, rows, oversampling):
    """Each chunk's superset, narrowed with the total potential, is exactly
    the set of samples with u * potential < l * w * d^2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    w = rng.integers(0, 3, size=n).astype(np.float64)
    d2 = rng.exponential(size=n)
    starts = list(range(0, n, rows))
    draws = [
        _chunk_tasks.oversample(
            X[s : s + rows], w[s : s + rows], s, (d2[s : s + rows], None), seed + s, oversampling
        )
        for s in starts
    ]
    potential = float(_dask_lloyd.add_in_order([p for p, _ in draws]))
    u, weighted, drawn_rows, samples = (
        np.concatenate(part) for part in zip(*[c for _, c in draws])
    )
    drawn = drawn_rows[u * potential < oversampling * weighted]
    u_all = np.concatenate(
        [np.random.default_rng(seed + s).random(len(X[s : s + rows])) for s in starts]
    )
    np.testing.assert_allclose(potential, np.sum(w * d2))
    np.testing.assert_array_equal(drawn, np.flatnonzero(u_all * potential < oversampling * w * d2))
    np.testing.assert_array_equal(samples, X[drawn_rows])


@pytest.mark.parametrize("n_fixed", [0, 5])
def test_kmeans_parallel_fit_as_good_as_kmeans_plusplus(sync, n_fixed):
    """Final inertia after Lloyd, k-means|| start over k-means++ start, on
    average over seeds (one seed alone varies by +-15% either way)."""
    ratios = []
    for seed in range(8):
        X, _ = make_blobs(
            n_samples=3000, n_features=6, centers=25, cluster_std=1.5, random_state=seed
        )
        fixed = X[:n_fixed] + 0.5
        ref = iwkmeans.IncrementalKMeans(20, random_state=seed).fit(X, fixed_centers=fixed)
        ours = idk.IncrementalKMeans(20, random_state=seed).fit(
            da.from_array(X, chunks=(400, -1)), fixed_centers=fixed
        )
        ratios.append(ours.inertia_ / ref.inertia_)
    assert np.mean(ratios) <= 1.02, ratios


# --- distributed selection ---------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labeled", [False, True])
def test_select_wkmeans_same_as_single_machine_on_cluster(client, dtype, labeled):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 8)).astype(dtype)
    scores = np.round(rng.uniform(size=3000), 2)  # many ties at the threshold
    X_labeled = rng.normal(size=(40, 8)) if labeled else None
    expected = iwkmeans.select_wkmeans(X, scores, 20, X_labeled=X_labeled, random_state=0)
    picks = idk.select_wkmeans(
        da.from_array(X, chunks=(333, -1)),
        da.from_array(scores, chunks=500),
        20,
        X_labeled=X_labeled,
        random_state=0,
    )
    np.testing.assert_array_equal(picks, expected)


@given(
    seed=st.integers(0, 10_000),
    n_pool=st.integers(5, 300),
    rows=st.integers(1, 100),
    batch=st.integers(1, 5),
    beta=st.sampled_from([1, 2.5, 10]),
    levels=st.integers(1, 20),
)
def test_select_wkmeans_same_as_single_machine(seed, n_pool, rows, batch, beta, levels):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_pool, 3))
    scores = rng.integers(0, levels, size=n_pool) / levels  # ties
    labeled = rng.normal(size=(3, 3)) if seed % 2 else None
    batch = min(batch, n_pool)
    expected = iwkmeans.select_wkmeans(
        X, scores, batch, beta=beta, X_labeled=labeled, random_state=seed
    )
    with dask.config.set(scheduler="sync"):
        picks = idk.select_wkmeans(
            da.from_array(X, chunks=(rows, -1)),
            scores,
            batch,
            beta=beta,
            X_labeled=labeled,
            random_state=seed,
        )
    np.testing.assert_array_equal(picks, expected)


# --- the estimator's interface and validation --------------------------------


def test_predict_transform_score_lazy_like_single_machine(sync):
    X, w, fixed, init = make_problem(5, 500, 4, 2, 5, np.float32)
    ref, ours = fit_both(X, w, fixed, init, 128)
    Xd = da.from_array(X, chunks=(100, -1))
    labels = ours.predict(Xd)
    assert isinstance(labels, da.Array) and labels.dtype == np.int32
    np.testing.assert_array_equal(labels.compute(), ref.predict(X))
    distances = ours.transform(Xd)
    assert isinstance(distances, da.Array)
    np.testing.assert_allclose(distances.compute(), ref.transform(X), rtol=1e-5)
    np.testing.assert_allclose(
        ours.score(Xd, sample_weight=w), ref.score(X, sample_weight=w), rtol=1e-5
    )
    np.testing.assert_array_equal(ours.fit_predict(Xd).compute(), ours.labels_.compute())


def test_extend_keeps_every_center_fixed(sync):
    X, _ = make_blobs(n_samples=2000, n_features=3, centers=8, random_state=0)
    first = idk.IncrementalKMeans(4, random_state=0).fit(da.from_array(X, chunks=500))
    second = first.extend(da.from_array(X, chunks=500), 3)
    np.testing.assert_array_equal(second.cluster_centers_[:4], first.cluster_centers_)
    assert second.cluster_centers_.shape == (7, 3) and second.inertia_ < first.inertia_


def test_inputs_not_modified_and_numpy_accepted(sync):
    X, w, fixed, init = make_problem(6, 300, 3, 2, 3, np.float64)
    copies = [a.copy() for a in (X, w, fixed, init)]
    km = idk.IncrementalKMeans(3, init=init).fit(X, sample_weight=w, fixed_centers=fixed)
    for original, copy in zip((X, w, fixed, init), copies):
        np.testing.assert_array_equal(original, copy)
    assert isinstance(km.labels_, da.Array) and km.labels_.shape == (300,)


def test_column_chunks_and_integers_accepted(sync):
    X = np.random.default_rng(8).integers(0, 20, size=(400, 4))
    init = X[:3].astype(np.float64)
    ref = iwkmeans.IncrementalKMeans(3, init=init).fit(X)
    ours = idk.IncrementalKMeans(3, init=init).fit(da.from_array(X, chunks=(90, 2)))
    assert ours.cluster_centers_.dtype == np.float64
    np.testing.assert_array_equal(ours.labels_.compute(), ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12)


def _nan_data():
    X = np.ones((50, 2))
    X[7, 1] = np.nan
    return da.from_array(X, chunks=10)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: idk.IncrementalKMeans(2).fit(_nan_data()), ValueError, "X contains NaN"),
        (
            lambda: idk.IncrementalKMeans(2).fit(
                da.ones((50, 2), chunks=10), sample_weight=-da.ones(50, chunks=10)
            ),
            ValueError,
            "sample_weight must be non-negative",
        ),
        (
            lambda: idk.IncrementalKMeans(2).fit(
                da.ones((50, 2), chunks=10), sample_weight=da.zeros(50, chunks=10)
            ),
            ValueError,
            "sample_weight must have a positive entry",
        ),
        (
            lambda: idk.IncrementalKMeans(2).fit(
                da.ones((50, 2), chunks=10), sample_weight=da.ones(49, chunks=10)
            ),
            ValueError,
            r"sample_weight must have shape \(50,\)",
        ),
        (
            lambda: idk.IncrementalKMeans(2).fit(da.ones((50, 2, 2), chunks=10)),
            ValueError,
            "X must be 2-D",
        ),
        (
            lambda: idk.IncrementalKMeans(2).fit(da.from_array(np.array([["a", "b"]]))),
            TypeError,
            "X must contain real numbers",
        ),
        (
            lambda: idk.IncrementalKMeans(2, init="k-means++").fit(da.ones((50, 2))),
            ValueError,
            "init must be 'k-means||'",
        ),
        (
            lambda: idk.IncrementalKMeans(2, init=np.ones((3, 2))).fit(da.ones((50, 2))),
            ValueError,
            r"init must have shape \(n_clusters, n_features\) = \(2, 2\)",
        ),
        (
            lambda: idk.IncrementalKMeans(60).fit(da.ones((50, 2))),
            ValueError,
            "n_clusters=60 free clusters need at least as many samples",
        ),
        (
            lambda: idk.IncrementalKMeans(2, oversampling_factor=0).fit(da.ones((50, 2))),
            ValueError,
            "oversampling_factor",
        ),
        (
            lambda: idk.IncrementalKMeans(2).fit(da.ones((50, 2)), fixed_centers=np.ones((1, 3))),
            ValueError,
            "fixed_centers must have 2 columns",
        ),
        (
            lambda: idk.select_wkmeans(da.ones((50, 2)), -da.ones(50), 3),
            ValueError,
            "scores must be non-negative",
        ),
        (
            lambda: idk.select_wkmeans(da.ones((50, 2)), da.ones(50), 51),
            ValueError,
            "batch_size=51 is larger than the pool",
        ),
    ],
)
def test_errors_name_the_argument(sync, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_predict_errors(sync):
    km = idk.IncrementalKMeans(2, random_state=0).fit(da.ones((20, 2)) + da.arange(20)[:, None])
    with pytest.raises(ValueError, match="X has 3 features"):
        km.predict(da.ones((5, 3)))
    with pytest.raises(ValueError, match="X contains NaN"):
        km.predict(_nan_data()).compute()


# --- a worker dies during a fit ----------------------------------------------


def test_worker_killed_mid_fit_same_result(client, monkeypatch):
    """Kill one worker process during the k-means|| rounds and another during
    the Lloyd iterations. X is persisted on the workers, so the chunks of a
    dead worker (and its k-means|| distances) are lost and Dask recomputes
    them; the result is the same as without failures."""
    X, _ = make_blobs(n_samples=4000, n_features=4, centers=10, random_state=7)
    X = da.from_array(X.astype(np.float32), chunks=(500, -1)).persist()
    expected = idk.IncrementalKMeans(10, random_state=0).fit(X)

    pids_before = set(client.run(os.getpid).values())
    kills = []

    def kill_one_worker():
        pid = sorted(client.run(os.getpid, on_error="ignore").values())[0]
        os.kill(pid, signal.SIGKILL)
        kills.append(pid)

    def killing_after(function, calls):
        count = [0]

        def wrapped(*args, **kwargs):
            count[0] += 1
            if count[0] == calls:
                kill_one_worker()
            return function(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(_dask_seeding, "_add_centers", killing_after(_dask_seeding._add_centers, 3))
    monkeypatch.setattr(
        _dask_lloyd, "lloyd_iteration", killing_after(_dask_lloyd.lloyd_iteration, 2)
    )
    again = idk.IncrementalKMeans(10, random_state=0).fit(X)
    assert len(kills) == 2 and kills[0] in pids_before
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != pids_before
    assert_identical(expected, again)
