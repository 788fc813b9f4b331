"""The fused tiles (AVX2 and FMA CPUs: Lloyd's nearest center, k-means++'s
candidate scores; AVX-512 CPUs: Lloyd's nearest center over inputs larger
than their packed copy's budget), k-means++'s packed kernel for AVX2 CPUs,
and the GEMM paths they replace: the same labels, the lowest index on ties,
the same seeding.

On integer data every dot product and norm is exact in either precision,
so each row's distances to the centers are exact integers: the kernels must
return NumPy's argmin (the first index among equal distances) exactly, and
ties are everywhere (centers drawn from a few values, some repeated). The
shapes walk through the kernel's remainders: rows not filling its tile of
six, centers filling whole panels, a narrow last panel, or a padded one.
On a CPU without the fused kernel both settings take the GEMM paths."""

import numpy as np
import pytest

from iwkmeans import IncrementalKMeans, kmeans_plusplus
from iwkmeans._core._distances import nearest_centers
from iwkmeans._kmeans import _common

from _helpers import DTYPES, every_thread, fused_kernel

KERNELS = pytest.mark.parametrize("fused", [True, False], ids=["fused", "gemm"])


def integer_problem(seed, n, d, k, dtype, offset=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(n, d)) + offset
    centers = rng.integers(-3, 4, size=(k, d)) + offset
    # Repeated centers: exact ties that only the lowest index may win.
    centers[k // 2 :: 3] = centers[: len(centers[k // 2 :: 3])]
    return X.astype(dtype), centers.astype(dtype)


def exact_nearest(X, centers):
    diff = X.astype(np.int64)[:, None, :] - centers.astype(np.int64)[None, :, :]
    return (diff**2).sum(axis=2).argmin(axis=1)


@KERNELS
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 5, 8, 9, 15, 16, 17, 23, 24, 25, 32, 33, 40, 100])
def test_nearest_center_exact_with_ties(fused, dtype, k):
    for n in [*range(1, 14), 600]:
        for d in (1, 3, 16, 33):
            X, centers = integer_problem(n * 1000 + d * 10 + k, n, d, k, dtype)
            with fused_kernel(fused):
                labels = nearest_centers(X, centers, n_threads=2)
            np.testing.assert_array_equal(labels, exact_nearest(X, centers), f"n={n} d={d}")


@KERNELS
@pytest.mark.parametrize("dtype", DTYPES)
def test_nearest_center_exact_far_from_the_origin(fused, dtype):
    # Data around 2**10 are framed (shifted) before the kernels read them.
    X, centers = integer_problem(7, 700, 12, 37, dtype, offset=1024)
    with fused_kernel(fused):
        labels = nearest_centers(X, centers, n_threads=2)
    np.testing.assert_array_equal(labels, exact_nearest(X, centers))


@KERNELS
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "k, offset",
    [(17, 0), (31, 0), (32, 0), (33, 0), (48, 0), (65, 0), (71, 0), (72, 0), (100, 0), (100, 1024)],
)
def test_large_input_nearest_exact_with_ties(fused, dtype, k, offset):
    # Inputs over the packed copy's budget (4 MiB), which AVX-512 CPUs read
    # below it: the fused tile (AVX-512's panels of 32 float or 16 double
    # centers, a narrow one of half that; AVX2's of 16 or 8) over chunks of
    # 256 rows (tiles of 6, 4 left, and 32 rows in the last chunk), or GEMM,
    # whose center-major scan (over 64 centers) takes eight centers at a
    # time, then the rest one by one (iwk_columns_min). Data around 2**10
    # are framed a chunk at a time before the tile reads them.
    X, centers = integer_problem(k, 20000, 64, k, dtype, offset=offset)
    X64, c64 = X.astype(np.int64), centers.astype(np.int64)
    exact = ((c64**2).sum(axis=1)[None, :] - 2 * (X64 @ c64.T)).argmin(axis=1)
    with fused_kernel(fused):
        labels = nearest_centers(X, centers, n_threads=2)
    np.testing.assert_array_equal(labels, exact)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3000, 16, 8), (3000, 64, 100), (2000, 40, 300)])
def test_fits_agree_between_kernels(dtype, shape):
    # Floating-point data: the kernels add the dot products in different
    # orders, so near ties may differ; each fit is bit-identical for any
    # thread count, and the two agree on all but a few labels.
    n, d, k = shape
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)).astype(dtype)
    init = X[rng.choice(n, k, replace=False)]
    fits = {}
    for fused in (True, False):
        for n_threads in (1, 2):
            with fused_kernel(fused), every_thread():
                km = IncrementalKMeans(k, init=init, max_iter=3, tol=0, n_threads=n_threads)
                fits[fused, n_threads] = km.fit(X)
    for fused in (True, False):
        np.testing.assert_array_equal(fits[fused, 1].labels_, fits[fused, 2].labels_)
        np.testing.assert_array_equal(
            fits[fused, 1].cluster_centers_, fits[fused, 2].cluster_centers_
        )
    agree = np.mean(fits[True, 1].labels_ == fits[False, 1].labels_)
    assert agree > 0.99
    np.testing.assert_allclose(fits[True, 1].inertia_, fits[False, 1].inertia_, rtol=1e-4)


# A pool of 997 rows is scored from a packed copy (iwk_score_packed_avx2:
# blocks of one vector of rows, groups of 6 candidates); one over the
# copy's 4 MiB budget by the fused tile (one or two vectors of candidates,
# GEMM past them).
@pytest.mark.parametrize("n_samples", [997, 60_000])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_local_trials", [1, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17])
def test_seeding_same_on_both_kernels(dtype, n_local_trials, n_samples):
    # Integer data: every candidate's potential is an exact sum, so both
    # kernels score the candidates alike and pick the same ones; the
    # trials walk through one and two vectors of candidates and past a
    # panel (17: GEMM on either setting), and through one, two and three
    # groups of the packed kernel. Weights are integers too.
    X, _ = integer_problem(3, n_samples, 19, 1, dtype)
    weights = np.random.default_rng(4).integers(1, 4, size=len(X)).astype(dtype)
    seedings = []
    for fused in (True, False):
        with fused_kernel(fused):
            centers, indices = kmeans_plusplus(
                X,
                12,
                sample_weight=weights,
                random_state=5,
                n_local_trials=n_local_trials,
                n_threads=2,
            )
        seedings.append(indices)
    np.testing.assert_array_equal(seedings[0], seedings[1])


def test_fused_kernel_switch():
    width = _common.fused_panel(False), _common.fused_panel(True)
    with fused_kernel(False):
        assert _common.fused_panel(False) == _common.fused_panel(True) == 0
    assert (_common.fused_panel(False), _common.fused_panel(True)) == width
    # Lloyd's panels of two vectors: AVX-512's 16 floats or 8 doubles each,
    # or AVX2's 8 or 4.
    assert width in ((0, 0), (16, 8), (32, 16))
