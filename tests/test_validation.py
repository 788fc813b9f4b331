"""Every bad input gets a clear error that names the argument."""

import re

import numpy as np
import pytest

from iwkmeans import IncrementalKMeans, kmeans_plusplus

X = np.random.default_rng(0).normal(size=(20, 3))


def fit(X=X, **kwargs):
    params = {k: kwargs.pop(k) for k in list(kwargs) if k not in ("sample_weight", "fixed_centers")}
    return IncrementalKMeans(**{"n_clusters": 3, **params}).fit(X, **kwargs)


def with_nan():
    bad = X.copy()
    bad[3, 1] = np.nan
    return bad


def with_inf():
    bad = X.copy()
    bad[0, 0] = np.inf
    return bad


CASES = [
    (lambda: fit(with_nan()), ValueError, "Input X contains NaN"),
    (lambda: fit(with_inf()), ValueError, "Input X contains infinity"),
    (lambda: fit(np.empty((0, 3))), ValueError, "0 sample"),
    (lambda: fit(X[0]), ValueError, "Expected 2D array, got 1D array"),
    (lambda: fit(X.astype(str)), TypeError, "X must contain real numbers"),
    (lambda: fit(X.astype(complex)), ValueError, "Complex data not supported"),
    (lambda: fit(n_clusters=0), ValueError, "n_clusters == 0, must be >= 1"),
    (lambda: fit(n_clusters=2.5), TypeError, "n_clusters must be an instance of"),
    (lambda: fit(n_clusters=21), ValueError, "n_clusters=21 free clusters need at least"),
    (
        lambda: fit(sample_weight=-np.ones(20)),
        ValueError,
        "sample_weight must be non-negative; got -1.0 at index 0",
    ),
    (
        lambda: fit(sample_weight=np.zeros(20)),
        ValueError,
        "sample_weight must have a positive entry",
    ),
    (
        lambda: fit(sample_weight=np.r_[np.ones(19), np.nan]),
        ValueError,
        "Input sample_weight contains NaN",
    ),
    (lambda: fit(sample_weight=np.ones(7)), ValueError, "sample_weight must have shape (20,)"),
    (
        lambda: fit(sample_weight=np.r_[np.ones(2), np.zeros(18)]),
        ValueError,
        "of which 2 have a positive sample_weight",
    ),
    (lambda: fit(fixed_centers=np.ones((2, 4))), ValueError, "fixed_centers must have 3 columns"),
    (
        lambda: fit(fixed_centers=np.full((2, 3), np.inf)),
        ValueError,
        "Input fixed_centers contains infinity",
    ),
    (
        lambda: fit(fixed_centers=[["a", "b", "c"]]),
        TypeError,
        "fixed_centers must contain real numbers",
    ),
    (lambda: fit(init="kmeans"), ValueError, "init must be 'k-means++', 'random'"),
    (lambda: fit(init=np.ones((2, 3))), ValueError, "init must have shape"),
    (lambda: fit(init=np.full((3, 3), np.nan)), ValueError, "Input init contains NaN"),
    (lambda: fit(max_iter=0), ValueError, "max_iter == 0, must be >= 1"),
    (lambda: fit(n_init=0), ValueError, "n_init == 0, must be >= 1"),
    (lambda: fit(tol=-1.0), ValueError, "tol == -1.0, must be >= 0"),
    (lambda: fit(n_threads=0), ValueError, "n_threads == 0, must be >= 1"),
    (lambda: kmeans_plusplus(X, 0), ValueError, "n_clusters == 0, must be >= 1"),
    (lambda: kmeans_plusplus(X, 21), ValueError, "n_samples=20"),
    (lambda: kmeans_plusplus(with_nan(), 2), ValueError, "Input X contains NaN"),
    (
        lambda: kmeans_plusplus(X, 2, n_local_trials=0),
        ValueError,
        "n_local_trials == 0, must be >= 1",
    ),
    (
        lambda: kmeans_plusplus(X, 2, sample_weight=-np.ones(20)),
        ValueError,
        "sample_weight must be non-negative",
    ),
    (
        lambda: kmeans_plusplus(X, 2, fixed_centers=np.ones((1, 2))),
        ValueError,
        "fixed_centers must have 3 columns",
    ),
]


@pytest.mark.parametrize("call, error, message", CASES)
def test_error_names_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_predict_checks_feature_count():
    km = fit()
    with pytest.raises(
        ValueError, match="X has 2 features, but IncrementalKMeans is expecting 3 features"
    ):
        km.predict(X[:, :2])


def test_unfitted_estimator():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        IncrementalKMeans().predict(X)


def test_array_init_with_n_init_warns():
    with pytest.warns(RuntimeWarning, match="n_init=3 is ignored"):
        fit(init=X[:3], n_init=3)


def test_integer_input_becomes_float64_and_float32_stays():
    ints = np.arange(40).reshape(20, 2)
    assert fit(ints).cluster_centers_.dtype == np.float64
    assert fit(X.astype(np.float32)).cluster_centers_.dtype == np.float32


@pytest.mark.parametrize("layout", ["fortran", "strided"])
def test_non_contiguous_input_works(layout):
    data = np.asfortranarray(X) if layout == "fortran" else np.repeat(X, 2, axis=1)[:, ::2]
    a = fit(data, random_state=0)
    b = fit(np.ascontiguousarray(data), random_state=0)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_random_state_in_call_draws_what_check_random_state_draws():
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.utils import check_random_state

    from iwkmeans._validation import check_random_state_in_call

    for seed in (0, 7, np.int64(2**32 - 1)):
        expected = check_random_state(seed).uniform(size=9)
        np.testing.assert_array_equal(check_random_state_in_call(seed).uniform(size=9), expected)
        # Reseeded, not continued, on the next call.
        np.testing.assert_array_equal(check_random_state_in_call(seed).uniform(size=9), expected)
    instance = np.random.RandomState(3)
    assert check_random_state_in_call(instance) is instance
    assert check_random_state_in_call(None) is np.random.mtrand._rand
    with pytest.raises(ValueError):
        check_random_state_in_call(-1)
    # One generator per thread: a call in another thread cannot reseed ours.
    ours = check_random_state_in_call(1)
    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(check_random_state_in_call, 1).result()
    assert theirs is not ours
