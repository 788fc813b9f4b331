"""Values at the edges of the floating-point range (issue 14, items 1, 2, 4, 6).

The kernels compute in a frame (src/iwkmeans/_rows.py): samples measured from
a reference point made of their own values and rescaled by a power of two.
These tests hold what that promises: data far from the origin, huge and tiny
values give the answers of well-scaled data; a fit on ``X * 2**s + offset``
is the fit on ``X``, moved; no label ever leaves the range of centers; and
the crash cases (memory limits, Ctrl-C) end in a Python exception.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import sparse

from iwkmeans import (
    HierarchicalKMeans,
    IncrementalKMeans,
    IncrementalMiniBatchKMeans,
    kmeans_plusplus,
    select_wkmeans,
)
from iwkmeans._core import dense_half_extent, frame_of
from iwkmeans._core._kernels import _common

import reference
from _helpers import DTYPES, RTOL, every_thread, two_blobs


def same_partition(a, b):
    """Whether two labelings are the same partition (up to renaming)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# -- item 1: data far from the origin ------------------------------------------


@pytest.mark.parametrize("dtype, offset", [(np.float32, 3e4), (np.float64, 1.7e9)])
def test_blobs_far_from_the_origin_fit_as_centered_ones(dtype, offset):
    centered, _ = two_blobs(dtype)
    X, _ = two_blobs(dtype, offset)
    ours = IncrementalKMeans(2, init=X[[0, 600]]).fit(X)
    expected = IncrementalKMeans(2, init=centered[[0, 600]]).fit(centered)
    np.testing.assert_array_equal(ours.labels_, expected.labels_)
    assert ours.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(
        ours.cluster_centers_ - dtype(offset), expected.cluster_centers_, atol=1e-2
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_data_around_the_origin_are_measured_from_it(dtype):
    """Data around the origin get a frame that is a power of two alone (no
    shift: the kernels read the rows as stored); data far from it keep a
    reference among their rows. The choice does not depend on the data's
    magnitude, so X * 2**s is framed as X, scaled."""
    X, _ = two_blobs(dtype)
    near = frame_of(X, 1)
    assert near.around_origin and not near.shift.any()
    assert np.abs(X * near.scale).max() <= 1
    far = frame_of((X + dtype(1e3 if dtype == np.float32 else 1e6)).astype(dtype), 1)
    assert far.shift.any() and not far.around_origin
    for s in (-60, -20, 20, 60):
        scaled = frame_of((X * dtype(2.0**s)).astype(dtype), 1)
        assert not scaled.shift.any()
        assert scaled.scale == near.scale * 2.0**-s


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    dtype=st.sampled_from(DTYPES),
    n_samples=st.sampled_from([1, 2, 7, 300, 1100]),
    n_features=st.integers(1, 9),
    exponent=st.sampled_from([-1070, -140, -30, 0, 30, 120, 1020]),
    n_threads=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
)
@example(np.float32, 5, 3, -140, 1, 0)  # float32 denormals
@example(np.float32, 5, 3, 120, 2, 0)  # differences near float32's largest value
@example(np.float64, 5, 3, 1020, 2, 0)  # and float64's
def test_half_extent_is_the_largest_halved_difference(
    dtype, n_samples, n_features, exponent, n_threads, seed
):
    """The extent pass (per-feature minima and maxima, in any order over the
    chunks and threads) gives exactly max |x / 2 - reference / 2|, computed
    value by value in float64, at every magnitude: denormals, and values
    whose differences would overflow unhalved."""
    rng = np.random.default_rng(seed)
    finfo = np.finfo(dtype)
    X = rng.uniform(-1, 1, size=(n_samples, n_features)) * 2.0**exponent
    X = np.clip(X, -float(finfo.max), float(finfo.max)).astype(dtype)
    reference = X[rng.integers(n_samples)].astype(np.float64)
    expected = float(np.max(np.abs(0.5 * X.astype(np.float64) - 0.5 * reference)))
    assert dense_half_extent(X, reference, n_threads) == expected


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    dtype=st.sampled_from(DTYPES),
    n_samples=st.sampled_from([1, 2, 255, 257, 1100]),
    # Around the kernel's blocks of 32 features (a partial block, whole
    # ones, whole ones and a partial one).
    n_features=st.sampled_from([1, 7, 31, 32, 33, 64, 65, 130]),
    framed=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mean_variance_is_numpy_s_whatever_the_threads(dtype, n_samples, n_features, framed, seed):
    """The variance pass behind ``tol`` (per-feature sums in float64, per
    chunk, in registers over blocks of features) gives numpy's mean
    per-feature variance of the framed values, and the same bits on one
    thread and on a thread per chunk."""
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n_samples, n_features)) * 3 + 100).astype(dtype)
    shift = np.full(n_features, 25, dtype=dtype) if framed else None
    scale = 0.25 if framed else 1.0
    y = X * dtype(scale) - shift if framed else X
    expected = float(np.var(y.astype(np.float64), axis=0).mean())
    with every_thread():
        one, several = (_common.mean_variance(X, shift, scale, n_threads) for n_threads in (1, 2))
    assert one == several
    np.testing.assert_allclose(one, expected, rtol=1e-9, atol=1e-12)


def test_a_frame_reuses_its_measure_of_X():
    """frame_of(..., measured=frame) covers other points from the measure of
    X the frame holds, without a pass over X: the frame of a call that reads
    X again, exactly."""
    X, _ = two_blobs(np.float64, 1e6)
    centers = np.array([[1e6 + 1e4, 1e6], [1e6, 1e6 + 1e4]])  # both far from the data
    first = frame_of(X, 1)
    again, reused = frame_of(X, 1, centers), frame_of(X, 1, centers, measured=first)
    assert reused.scale == again.scale != first.scale
    np.testing.assert_array_equal(reused.shift, again.shift)


def test_predict_against_exact_fixed_centers_far_from_the_origin():
    X, _ = two_blobs(np.float32, 3e4, n=500)
    fixed = np.array([[3e4, 3e4], [3e4 + 6, 3e4]], dtype=np.float32)
    km = IncrementalKMeans(1, init=X[[3]], max_iter=1).fit(X, fixed_centers=fixed)
    labels = km.predict(X)
    expected, _ = reference.nearest(X, km.cluster_centers_)
    np.testing.assert_array_equal(labels, expected)


def test_float32_data_of_small_spread_converges():
    centered, truth = two_blobs(np.float32)
    X, _ = two_blobs(np.float32, offset=3.0, scale=1e-3)
    km = IncrementalKMeans(2, init=X[[0, 600]]).fit(X)
    assert km.n_iter_ < 20
    assert same_partition(
        km.labels_, IncrementalKMeans(2, init=centered[[0, 600]]).fit(centered).labels_
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_kmeans_plusplus_far_from_the_origin_picks_as_centered(dtype):
    centered, _ = two_blobs(dtype, n=300, seed=3)
    offset = 3e4 if dtype == np.float32 else 1.7e9
    X = (centered.astype(np.float64) + offset).astype(dtype)
    # Only where the shifted data are the centered ones moved exactly.
    if not np.array_equal(X.astype(np.float64) - offset, centered):
        centered = (X.astype(np.float64) - offset).astype(dtype)
    _, ours = kmeans_plusplus(X, 6, random_state=0)
    _, expected = kmeans_plusplus(centered, 6, random_state=0)
    np.testing.assert_array_equal(ours, expected)


# -- the property: a fit on X * 2**s + offset is the fit on X, moved -------------
#
# Derandomized: the same examples on every run, so that CI cannot meet on
# one run a near-tie (two centers equally near to within rounding, which
# data around the origin, read as stored, may break the other way than
# framed data) that the next run does not.


@st.composite
def shifted_problem(draw):
    """X on a grid of quarters (so that X * 2**s + offset is exact), an exponent
    s and an integer offset m (in units of 2**s), initial rows and fixed rows."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(8, 120))
    d = draw(st.integers(1, 4))
    k = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.integers(-40, 41, size=(n, d)) / 4.0
    # Offsets up to 1e6 times the spread (float64) and 1e3 (float32), which
    # keep (X + m) exact in the dtype.
    top = 10**6 if dtype == np.float64 else 10**3
    m = draw(st.integers(-top, top)) * np.ones(d) * 10
    lo, hi = (-900, 900) if dtype == np.float64 else (-100, 100)
    s = draw(st.integers(lo, hi))
    init_rows = rng.choice(n, size=k, replace=False)
    n_fixed = draw(st.integers(0, 2))
    fixed = rng.integers(-40, 41, size=(n_fixed, d)) / 4.0
    weights = rng.integers(1, 5, size=n).astype(np.float64)
    return dtype, X, m, s, init_rows, fixed, weights


def moved(values, m, s, dtype):
    return np.ldexp(values + m, s).astype(dtype)


# Found by hypothesis: data around the origin scaled by 2**508, whose
# variance (for tol) once overflowed when read as stored.
OVERFLOWING_VARIANCE = (
    np.float64,
    np.array([[7.0], [2.75], [0.25], [-4.75], [-4.0], [-9.25], [-8.5], [-9.75]]),
    np.array([0.0]),
    508,
    np.array([1]),
    np.empty((0, 1)),
    np.array([4.0, 3, 4, 3, 3, 4, 3, 3]),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(shifted_problem())
@example(OVERFLOWING_VARIANCE)
def test_fit_on_shifted_and_scaled_data_is_the_moved_fit(problem):
    dtype, X, m, s, init_rows, fixed, weights = problem
    base = X.astype(dtype)
    shifted = moved(X, m, s, dtype)
    assert np.array_equal(np.ldexp(shifted.astype(np.float64), -s) - m, X)  # exact
    fits = []
    for data, fixed_rows in ((base, fixed.astype(dtype)), (shifted, moved(fixed, m, s, dtype))):
        km = IncrementalKMeans(len(init_rows), init=data[init_rows], max_iter=50)
        fits.append(
            km.fit(
                data,
                sample_weight=weights.astype(dtype),
                fixed_centers=fixed_rows if len(fixed_rows) else None,
            )
        )
    np.testing.assert_array_equal(fits[1].labels_, fits[0].labels_)
    assert fits[1].n_iter_ == fits[0].n_iter_
    back = np.ldexp(fits[1].cluster_centers_.astype(np.float64), -s) - m
    spread = max(1.0, float(np.abs(X).max()))
    # Not RTOL (results in another order of operations): the frame makes
    # both fits compute on the same numbers, so the centers agree to a few
    # roundings at the data's magnitude (its spread and the offset m).
    atol = spread * (1e-5 if dtype == np.float32 else 1e-12) * (1 + np.abs(m).max() / 10)
    np.testing.assert_allclose(back, fits[0].cluster_centers_, rtol=0, atol=atol)
    np.testing.assert_array_equal(fits[1].predict(shifted), fits[0].predict(base))
    # The inertia in the user's units: inf where it truly exceeds float64.
    with np.errstate(over="ignore"):
        expected = np.ldexp(fits[0].inertia_, 2 * s)
    if np.isfinite(expected):
        # (to within the denormal range, where a float64 keeps few bits)
        np.testing.assert_allclose(
            fits[1].inertia_, expected, rtol=RTOL[dtype], atol=np.ldexp(1e-300, 2 * s) + 1e-320
        )
    else:
        assert fits[1].inertia_ == np.inf


@settings(max_examples=40, deadline=None, derandomize=True)
@given(shifted_problem())
def test_seeding_on_shifted_and_scaled_data_picks_the_same_rows(problem):
    dtype, X, m, s, init_rows, fixed, weights = problem
    k = len(init_rows)
    picks = []
    for data, fixed_rows in (
        (X.astype(dtype), fixed.astype(dtype)),
        (moved(X, m, s, dtype), moved(fixed, m, s, dtype)),
    ):
        picks.append(
            kmeans_plusplus(
                data,
                k,
                sample_weight=weights.astype(dtype),
                fixed_centers=fixed_rows if len(fixed_rows) else None,
                random_state=0,
            )[1]
        )
    np.testing.assert_array_equal(picks[1], picks[0])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(shifted_problem())
def test_sparse_fit_on_scaled_data_is_the_scaled_fit(problem):
    # CSR rows keep the origin as reference: scaling, not shifting, is exact.
    dtype, X, _, s, init_rows, _, weights = problem
    fits = []
    for data in (X.astype(dtype), np.ldexp(X, s).astype(dtype)):
        km = IncrementalKMeans(len(init_rows), init=data[init_rows], max_iter=50)
        fits.append(km.fit(sparse.csr_matrix(data), sample_weight=weights))
    np.testing.assert_array_equal(fits[1].labels_, fits[0].labels_)
    np.testing.assert_allclose(
        np.ldexp(fits[1].cluster_centers_.astype(np.float64), -s),
        fits[0].cluster_centers_,
        rtol=1e-6,
    )


# -- item 2: values whose squares overflow or underflow ---------------------------


HUGE = [(np.float64, 1e150), (np.float64, 1e300), (np.float32, 1e15), (np.float32, 1e36)]


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("dtype, scale", HUGE)
def test_huge_values_fit_as_unit_ones(dtype, scale, storage):
    unit, truth = two_blobs(dtype, n=200)
    X = (unit.astype(np.float64) * scale).astype(dtype)
    as_given = sparse.csr_matrix(X) if storage == "csr" else X
    km = IncrementalKMeans(2, init=X[[0, 200]]).fit(as_given)
    assert same_partition(km.labels_, truth) or same_partition(
        km.labels_, IncrementalKMeans(2, init=unit[[0, 200]]).fit(unit).labels_
    )
    assert np.isfinite(km.cluster_centers_).all()
    for labels in (km.labels_, km.predict(as_given)):
        assert labels.min() >= 0 and labels.max() < 2
    assert np.isfinite(km.transform(as_given)).all() or scale > 1e200
    _, picks = kmeans_plusplus(as_given, 5, random_state=0)
    assert len(set(picks.tolist())) == 5


@pytest.mark.parametrize("dtype, scale", HUGE)
def test_huge_values_on_every_estimator_and_selection(dtype, scale):
    unit, truth = two_blobs(dtype, n=200)
    X = (unit.astype(np.float64) * scale).astype(dtype)
    mb = IncrementalMiniBatchKMeans(2, batch_size=64, random_state=0).fit(X)
    assert mb.labels_.min() >= 0 and mb.labels_.max() < 2
    agreement = np.mean(mb.labels_ == truth)
    assert max(agreement, 1 - agreement) > 0.99  # the blobs overlap a little
    hkm = HierarchicalKMeans((2, 3), random_state=0).fit(X)
    assert 0 <= hkm.predict(X).min() and hkm.predict(X).max() < 5
    scores = np.random.default_rng(0).uniform(size=len(X))
    picked = select_wkmeans(X, scores, 5, X_labeled=X[:3], random_state=0)
    assert len(set(picked.tolist())) == 5
    assert picked.min() >= 0 and picked.max() < len(X)


@pytest.mark.parametrize(
    "dtype, scale",
    [(np.float64, 1e-181), (np.float64, 1e-300), (np.float32, 1e-30), (np.float32, 1e-41)],
)
def test_tiny_values_do_not_collapse_into_one_cluster(dtype, scale):
    unit, truth = two_blobs(np.float64, n=200)
    X = (unit * scale).astype(dtype)
    km = IncrementalKMeans(2, init=X[[0, 200]]).fit(X)
    if dtype == np.float32 and scale < 1e-38:
        # Denormal float32 keeps a few bits: the blobs stay apart, no more.
        assert np.mean(km.labels_ == truth) > 0.95
    else:
        assert same_partition(km.labels_, truth) or np.mean(km.labels_ == truth) > 0.99
    assert len(set(km.labels_.tolist())) == 2


@pytest.mark.parametrize("dtype, far", [(np.float64, 1e300), (np.float32, 1e38)])
def test_far_fixed_centers_are_never_nearest_and_measured_exactly(dtype, far):
    X, _ = two_blobs(dtype, n=100)
    fixed = np.array([[far, -far], [-far, 0.0], [1e30, 1e30]], dtype=dtype)
    km = IncrementalKMeans(2, random_state=0).fit(X, fixed_centers=fixed)
    for labels in (km.labels_, km.predict(X)):
        assert labels.min() >= 3 and labels.max() < 5  # the free centers win
    distances = km.transform(X[:5])
    expected = [
        [np.hypot(*(x.astype(np.float64) - c.astype(np.float64))) for c in km.cluster_centers_]
        for x in X[:5]
    ]
    # Not RTOL: these distances are measured exactly (differences, no
    # expansion), to within a few roundings of the dtype.
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(distances, np.array(expected, dtype=dtype), rtol=rtol)


def test_new_data_of_tiny_extent_near_a_center_is_assigned_exactly():
    # The frame of X alone would put every center beyond reach; it covers
    # the nearest center too.
    X, _ = two_blobs(np.float64, n=100)
    km = IncrementalKMeans(2, random_state=0).fit(X)
    rng = np.random.default_rng(1)
    for j in range(2):
        near = km.cluster_centers_[j] + [0.03, 0.0] + 1e-200 * rng.normal(size=(20, 2))
        np.testing.assert_array_equal(km.predict(near), j)
        np.testing.assert_allclose(km.score(near), -20 * 0.03**2, rtol=1e-9)


@pytest.mark.parametrize("factor", [1e308, 2.0**-1000, 3.0, 1e-300])
def test_scaling_every_weight_by_one_constant_changes_nothing(factor):
    X, _ = two_blobs(np.float64, n=300, seed=5)
    w = np.random.default_rng(1).uniform(0.5, 1.0, size=len(X))
    w[0] = 1.0  # the maximum: weights / max are then identical in both fits
    a = IncrementalKMeans(3, random_state=0).fit(X, sample_weight=w)
    b = IncrementalKMeans(3, random_state=0).fit(X, sample_weight=w * factor)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    if np.frexp(factor)[0] == 0.5:  # a power of two: the same weights, bit for bit
        np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    else:  # w * factor / max(w * factor) is w to within one rounding
        np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-13)
    assert np.isfinite(b.cluster_centers_).all()
    np.testing.assert_allclose(b.inertia_, a.inertia_ * factor, rtol=1e-12)
    np.testing.assert_array_equal(
        kmeans_plusplus(X, 4, sample_weight=w, random_state=1)[1],
        kmeans_plusplus(X, 4, sample_weight=w * factor, random_state=1)[1],
    )


# -- items 4 and 6: memory limits and Ctrl-C, in a child process -------------------


def run_child(code, timeout=120):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS, /proc")
def test_memory_limit_gives_memory_error_and_leaves_everything_intact():
    # 30,000 fixed centers need a 61 MB distance buffer per thread: under an
    # address-space limit the core once wrote through the NULL malloc gave.
    result = run_child("""
        import resource
        import numpy as np
        from iwkmeans import IncrementalKMeans
        rng = np.random.default_rng(0)
        X = rng.normal(size=(20000, 64))
        IncrementalKMeans(5, random_state=0).fit(X[:1000])  # threads started
        fixed = rng.normal(size=(30000, 64))
        copies = X.copy(), fixed.copy()
        status = open("/proc/self/status").read()
        size = int(status.split("VmSize:")[1].split()[0]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size + 40 * 2**20, resource.RLIM_INFINITY))
        km = IncrementalKMeans(5, random_state=0)
        try:
            km.fit(X, fixed_centers=fixed)
        except MemoryError:
            print("MemoryError")
        assert np.array_equal(X, copies[0]) and np.array_equal(fixed, copies[1])
        assert not hasattr(km, "cluster_centers_")
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
        km.fit(X[:2000], fixed_centers=fixed[:50])  # and the process goes on
        print("ok")
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["MemoryError", "ok"]


INTERRUPTED = """
    import sys, time
    import numpy as np
    from iwkmeans import IncrementalKMeans, kmeans_plusplus
    rng = np.random.default_rng(0)
    X = rng.uniform(size=({n}, 32)).astype(np.float32)
    km = IncrementalKMeans(256, init=X[:256], max_iter=100000, tol=0)
    print("ready", flush=True)
    start = time.perf_counter()
    try:
        {call}
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter() - start, flush=True)
        assert not hasattr(km, "cluster_centers_")
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child")
@pytest.mark.parametrize("call", ["km.fit(X)", "kmeans_plusplus(X, 4000, random_state=0)"])
def test_ctrl_c_interrupts_a_long_call(call):
    # Either call runs for minutes on two cores; Ctrl-C must end it with a
    # KeyboardInterrupt (an unfitted estimator) after one iteration or pick.
    code = textwrap.dedent(INTERRUPTED.format(n=400_000, call=call))
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err[-2000:]
    assert out.startswith("interrupted"), out
