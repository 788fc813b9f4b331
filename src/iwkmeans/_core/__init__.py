"""The one door to the compiled kernels (:mod:`iwkmeans._kmeans`).

Everything above this layer (:mod:`iwkmeans.cluster`, :mod:`iwkmeans.active`,
:mod:`iwkmeans.dask`, the benchmark) reaches the kernels through the names
below, and only through them: a test checks that no other module imports
``_kmeans``. Nothing here validates its arguments: callers pass validated
samples (C-contiguous dense or canonical CSR, float32 or float64), centers
and weights in X's dtype, and a resolved thread count.

- ``_threads``: the thread budget (:func:`effective_n_threads`, fork-safe)
  and the single-threaded BLAS limit around the kernels.
- ``_frame``: the frame ``y = x * scale - shift`` in which every kernel
  computes (:class:`Frame`, :func:`frame_of`), and weights divided by their
  maximum.
- ``_distances``: nearest centers, distances, inertia, ``tol`` in frame
  units, and :class:`ScaledRows` for the selection functions and metrics.
- ``_seeding``: greedy weighted k-means++ from fixed centers.
- ``_lloyd``: :func:`lloyd_fit`, the trusted fit every estimator and
  sampler calls, and the block step of mini-batches and Dask chunks.
"""

from ._distances import (
    ScaledRows,
    framed_distances,
    framed_inertia,
    framed_nearest,
    framed_sq_distances,
    nearest_centers,
    scaled_tol,
    sq_distances_to,
    weighted_inertia,
)
from ._frame import (
    Frame,
    dense_half_extent,
    frame_of,
    normalised_weights,
    reference_point,
    scale_for,
    settled_reference,
    take_rows,
)
from ._kernels import _common
from ._lloyd import framed_block_step, lloyd_fit
from ._seeding import greedy_kmeans_plusplus, initial_picks, kmeans_plusplus_draws
from ._threads import effective_n_threads, single_threaded_blas

openmp_enabled = _common.openmp_enabled

__all__ = [
    "dense_half_extent",
    "effective_n_threads",
    "Frame",
    "frame_of",
    "framed_block_step",
    "framed_distances",
    "framed_inertia",
    "framed_nearest",
    "framed_sq_distances",
    "greedy_kmeans_plusplus",
    "initial_picks",
    "kmeans_plusplus_draws",
    "lloyd_fit",
    "nearest_centers",
    "normalised_weights",
    "openmp_enabled",
    "reference_point",
    "scale_for",
    "scaled_tol",
    "ScaledRows",
    "settled_reference",
    "single_threaded_blas",
    "sq_distances_to",
    "take_rows",
    "weighted_inertia",
]
