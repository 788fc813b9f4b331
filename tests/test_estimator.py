"""IncrementalKMeans as a scikit-learn estimator."""

import threading
import time
import tracemalloc

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from iwkmeans import IncrementalKMeans

import reference

# scikit-learn's estimator checks: test_estimator_checks.py.


@pytest.fixture
def blobs():
    X, _ = make_blobs(n_samples=2000, n_features=5, centers=6, random_state=0)
    return X


def test_predict_transform_score_agree(blobs):
    fixed = blobs[:4] + 0.5
    km = IncrementalKMeans(6, random_state=0).fit(blobs, fixed_centers=fixed)
    np.testing.assert_array_equal(km.predict(blobs), km.labels_)
    distances = km.transform(blobs)
    assert distances.shape == (2000, 10)
    np.testing.assert_allclose(
        distances**2, reference.sq_distances(blobs, km.cluster_centers_), rtol=1e-8, atol=1e-8
    )
    np.testing.assert_allclose(-km.score(blobs), km.inertia_, rtol=1e-10)
    np.testing.assert_array_equal(
        IncrementalKMeans(6, random_state=0).fit_predict(blobs, fixed_centers=fixed), km.labels_
    )


def test_predict_in_either_dtype(blobs):
    km = IncrementalKMeans(6, random_state=0).fit(blobs.astype(np.float32))
    np.testing.assert_array_equal(km.predict(blobs), km.labels_)


def test_more_inits_never_worse(blobs):
    one = IncrementalKMeans(6, n_init=1, init="random", random_state=0).fit(blobs)
    five = IncrementalKMeans(6, n_init=5, init="random", random_state=0).fit(blobs)
    assert five.inertia_ <= one.inertia_


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_init_picks_only_positive_weight_samples(blobs, init):
    # Six samples carry all the weight: each center starts on one of them and
    # the weighted means cannot leave them (to within the rounding of the
    # frame the kernels compute in, one unit in the last place).
    w = np.zeros(len(blobs))
    chosen = [5, 400, 800, 1200, 1600, 1999]
    w[chosen] = 1.0
    for seed in range(5):
        km = IncrementalKMeans(6, init=init, random_state=seed).fit(blobs, sample_weight=w)
        got = np.array(sorted(map(tuple, km.cluster_centers_)))
        expected = np.array(sorted(map(tuple, blobs[chosen])))
        np.testing.assert_allclose(
            got, expected, rtol=0, atol=4 * np.finfo(blobs.dtype).eps * np.abs(blobs).max()
        )


def test_read_only_memmap(tmp_path):
    X = np.random.default_rng(0).normal(size=(1000, 4)).astype(np.float32)
    path = tmp_path / "X.dat"
    X.tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    w = np.ones(1000, dtype=np.float32)
    w.setflags(write=False)
    km = IncrementalKMeans(5, random_state=0).fit(mapped, sample_weight=w, fixed_centers=X[:2])
    ref = IncrementalKMeans(5, random_state=0).fit(X, sample_weight=w, fixed_centers=X[:2])
    np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
    np.testing.assert_array_equal(km.predict(mapped), ref.labels_)


def test_c_contiguous_input_is_not_copied():
    X = np.random.default_rng(0).normal(size=(200_000, 16))
    IncrementalKMeans(8, random_state=0, max_iter=3).fit(X)  # warm imports
    tracemalloc.start()
    IncrementalKMeans(8, random_state=0, max_iter=3).fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < X.nbytes / 4, f"peak {peak} bytes for X of {X.nbytes}"


def test_verbose_prints_inertia_per_iteration(blobs, capsys):
    km = IncrementalKMeans(6, random_state=0, verbose=1).fit(blobs)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Iteration")]
    assert len(lines) == km.n_iter_
    values = [float(line.split("inertia ")[1].rstrip(".")) for line in lines]
    assert values == sorted(values, reverse=True)
    assert "Converged at iteration" in out


def test_gil_released_during_fit():
    X = np.random.default_rng(0).normal(size=(200_000, 32))
    km = IncrementalKMeans(64, init=X[:64], max_iter=40, tol=0, n_threads=1)
    done = threading.Event()

    def work():
        km.fit(X)
        done.set()

    worker = threading.Thread(target=work)
    start = time.perf_counter()
    worker.start()
    gaps, last = [], time.perf_counter()
    while not done.is_set():  # a busy Python loop in this thread
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    worker.join()
    elapsed = time.perf_counter() - start
    # Holding the GIL for the Lloyd loop would stall this loop for most of
    # the fit; released, it is never stalled for long.
    assert elapsed > 0.2, "fit too short to tell"
    assert max(gaps) < elapsed / 4, (max(gaps), elapsed)
