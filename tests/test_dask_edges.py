"""iwkmeans.dask at the edges of the value range: values whose squares
overflow float64 (1e154) or float32 (1e19), weights near the largest
float64, and data far from the origin (float32 raw coordinates, float64 Unix
timestamps). A fit computes in one frame for the whole data (see _rows), so
scaling the data by a power of two, or shifting it by a representable
offset, changes nothing but the units of the results.

The k-means|| cases run in a subprocess with a timeout: k-means|| used to
loop forever on them (its potential overflowed to infinity, so no sample
was ever drawn)."""

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

dask = pytest.importorskip("dask")
import dask.array as da  # noqa: E402

import iwkmeans  # noqa: E402
from iwkmeans import dask as idk  # noqa: E402

from _helpers import two_blobs  # noqa: E402

CHUNK_ROWS = 300
# The blobs' values are on this grid, so that adding an offset to float32
# or float64 data is exact.
GRID = 2.0**-8


def fit(X, init, sample_weight=None, fixed=None):
    return idk.IncrementalKMeans(init.shape[0], init=init).fit(
        da.from_array(X, chunks=(CHUNK_ROWS, -1)), sample_weight=sample_weight, fixed_centers=fixed
    )


def agreement(labels, truth):
    """Fraction of rows whose cluster is their blob, up to the numbering."""
    same = np.mean(labels == truth)
    return max(same, 1 - same)


def assert_same_labels_and_iterations(a, b):
    np.testing.assert_array_equal(a.labels_.compute(), b.labels_.compute())
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("dtype, factor", [(np.float64, 2.0**512), (np.float32, 2.0**60)])
def test_huge_values_scale_exactly(sync, dtype, factor):
    """Squares of the values overflow (float64 ~1.3e154, float32 ~1.2e18 on
    blobs up to 10): the fit is the small data's, scaled by the same power
    of two, bit for bit; the inertia is infinite only where its true value
    exceeds float64's range. Both initial centers start in one blob, so that
    Lloyd needs several iterations (and a tol that did not overflow)."""
    X, truth = two_blobs(grid=GRID)
    X = X.astype(dtype)
    init = X[[0, 1]]
    small = fit(X, init)
    big_X = (X * dtype(factor)).astype(dtype)
    big = fit(big_X, init * dtype(factor))
    assert small.n_iter_ > 2
    assert_same_labels_and_iterations(big, small)
    assert agreement(big.labels_.compute(), truth) > 0.99
    np.testing.assert_array_equal(big.cluster_centers_, small.cluster_centers_ * dtype(factor))
    with np.errstate(over="ignore"):
        expected_inertia = np.float64(small.inertia_) * np.float64(factor) ** 2
    assert big.inertia_ == expected_inertia  # inf for float64: 1e4 * 2**1024
    Xd = da.from_array(big_X, chunks=(CHUNK_ROWS, -1))
    np.testing.assert_array_equal(big.predict(Xd).compute(), big.labels_.compute())
    np.testing.assert_allclose(
        big.transform(Xd).compute() / dtype(factor),
        small.transform(da.from_array(X, chunks=(CHUNK_ROWS, -1))).compute(),
        rtol=1e-6,
    )
    np.testing.assert_allclose(big.score(Xd), -big.inertia_, rtol=1e-6)


def test_huge_weights_same_as_unit_weights(sync):
    """Weights of 1e308 (their sums overflow) or 1e300: the fit of unit
    weights; the inertia is theirs times the weight (inf past float64)."""
    X, truth = two_blobs(grid=GRID)
    init = X[[0, 1]]
    unit = fit(X, init)
    for weight in (1e308, 1e300):
        heavy = fit(X, init, sample_weight=np.full(X.shape[0], weight))
        assert_same_labels_and_iterations(heavy, unit)
        np.testing.assert_array_equal(heavy.cluster_centers_, unit.cluster_centers_)
        with np.errstate(over="ignore"):
            assert heavy.inertia_ == np.float64(unit.inertia_) * weight
    assert math.isinf(fit(X, init, sample_weight=np.full(X.shape[0], 1e308)).inertia_)
    w = da.from_array(np.full(X.shape[0], 1e300), chunks=CHUNK_ROWS)
    np.testing.assert_allclose(
        unit.score(da.from_array(X), sample_weight=w), -unit.inertia_ * 1e300, rtol=1e-12
    )
    assert agreement(unit.labels_.compute(), truth) > 0.99


@pytest.mark.parametrize("dtype, offset", [(np.float32, 3e4), (np.float64, 1.7e9)])
def test_far_from_origin_same_as_centered(sync, dtype, offset):
    """Data offset by 3e4 (float32) or 1.7e9 (float64, Unix timestamps),
    exactly: the same labels and iterations as the centered data, and the
    same inertia to 1e-12, from the same initial (and fixed) centers, and
    the fixed centers returned as given. Noise rather than blobs: many samples near the
    boundaries, where centers rounded at the offset's precision would move
    labels."""
    rng = np.random.default_rng(1)
    X = (np.round(rng.normal(size=(1200, 3)) * 256) / 256).astype(dtype)
    far_X = (X.astype(np.float64) + offset).astype(dtype)
    np.testing.assert_array_equal(far_X.astype(np.float64) - offset, X)  # exact
    init, fixed = X[[3, 50, 700, 900]], X[[10]] + dtype(0.5)
    centered = fit(X, init, fixed=fixed)
    far = fit(far_X, init + dtype(offset), fixed=fixed + dtype(offset))
    assert_same_labels_and_iterations(far, centered)
    # The centered data are measured from the origin (their frame is a pure
    # scale, rows read as stored), the far ones from a reference among them:
    # the same decisions, sums rounded in another order.
    assert far.inertia_ == pytest.approx(centered.inertia_, rel=1e-12)
    np.testing.assert_array_equal(far.cluster_centers_[:1], fixed + dtype(offset))
    ulp = float(np.spacing(dtype(offset)))
    np.testing.assert_allclose(
        far.cluster_centers_.astype(np.float64) - offset,
        centered.cluster_centers_,
        rtol=0,
        atol=ulp,
    )
    # And the single machine's labels, from the same centers.
    single = iwkmeans.IncrementalKMeans(4, init=init + dtype(offset)).fit(
        far_X, fixed_centers=fixed + dtype(offset)
    )
    np.testing.assert_array_equal(far.labels_.compute(), single.labels_)


# --- k-means||, in a subprocess: it used to loop forever here ----------------

KMEANS_PARALLEL_CASES = textwrap.dedent("""
    import json
    import sys

    import dask
    import dask.array as da
    import numpy as np

    from iwkmeans import dask as idk

    dask.config.set(scheduler="sync")
    rng = np.random.default_rng(0)
    base = np.r_[rng.normal(size=(600, 2)), rng.normal(size=(600, 2)) + [6.0, 0.0]]
    base = np.round(base * 256) / 256
    truth = np.repeat([0, 1], 600)


    def run(X, sample_weight=None):
        Xd = da.from_array(X, chunks=(300, -1))
        w = None if sample_weight is None else da.from_array(sample_weight, chunks=300)
        km = idk.IncrementalKMeans(2, random_state=0).fit(Xd, sample_weight=w)
        _, picks = idk.kmeans_parallel(Xd, 2, sample_weight=w, random_state=1)
        labels = km.labels_.compute()
        same = float(np.mean(labels == truth))
        return dict(labels=labels.tolist(), agreement=max(same, 1 - same),
                    picks=sorted(picks.tolist()), n_iter=km.n_iter_,
                    finite_centers=bool(np.isfinite(km.cluster_centers_).all()))


    cases = {
        "unit64": lambda: run(base),
        "unit32": lambda: run(base.astype(np.float32)),
        "huge64": lambda: run(base * 1e154),
        "huge32": lambda: run((base * 1e18).astype(np.float32)),
        "weights": lambda: run(base, np.full(1200, 1e308)),
        "far32": lambda: run((base + 3e4).astype(np.float32)),
        "far64": lambda: run(base + 1.7e9),
    }
    print(json.dumps({name: case() for name, case in cases.items()}))
""")


@pytest.fixture(scope="module")
def kmeans_parallel_results():
    """Every k-means|| case, run once in one subprocess (an interpreter
    start costs seconds), killed if it does not end in time."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", KMEANS_PARALLEL_CASES],
            capture_output=True,
            text=True,
            timeout=180,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("k-means|| did not terminate within 180 s")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", ["huge64", "huge32", "weights", "far32", "far64"])
def test_kmeans_parallel_terminates_and_finds_the_blobs(kmeans_parallel_results, case):
    result = kmeans_parallel_results[case]
    assert set(result["labels"]) == {0, 1}
    assert result["agreement"] > 0.99
    assert result["finite_centers"]
    assert len(set(result["picks"])) == 2


@pytest.mark.parametrize(
    "case, unit", [("weights", "unit64"), ("far32", "unit32"), ("far64", "unit64")]
)
def test_kmeans_parallel_same_as_unit_or_centered(kmeans_parallel_results, case, unit):
    """Uniform weights of 1e308 are unit weights; data shifted exactly is
    the centered data: the same picks and the same fit, from the same seed."""
    result, expected = kmeans_parallel_results[case], kmeans_parallel_results[unit]
    assert result["picks"] == expected["picks"]
    assert result["labels"] == expected["labels"]
    assert result["n_iter"] == expected["n_iter"]


def test_new_data_of_tiny_extent_far_from_the_centers(sync):
    """predict, transform and score on new data of tiny extent (1e-200, near
    the origin), whose nearest center is 0.03 away: the frame holds the
    centers too, so that framing them cannot overflow (which made every
    distance infinite, every center a tie)."""
    X, _ = two_blobs(grid=GRID)
    km = fit(X, X[[700, 0]])  # the center near the origin is the second
    centers = km.cluster_centers_
    new = np.random.default_rng(2).normal(size=(40, 2)) * 1e-200
    Xd = da.from_array(new, chunks=(20, -1))
    distances = np.sqrt(((new[:, None, :] - centers[None]) ** 2).sum(axis=2))
    assert np.all(distances[:, 1] < distances[:, 0])
    np.testing.assert_array_equal(km.predict(Xd).compute(), np.ones(40))
    np.testing.assert_allclose(km.transform(Xd).compute(), distances, rtol=1e-12)
    np.testing.assert_allclose(km.score(Xd), -np.sum(distances[:, 1] ** 2), rtol=1e-9)
