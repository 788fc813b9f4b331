"""The work done on one row-chunk of a larger data set: the Dask tasks.

Each function takes one chunk of rows (in the validated dtype), the
chunk's weights and the index of its first row in the whole data set, and
returns small results that the driver merges in chunk order. Nearest
centers and distances always come from the compiled core (``block_step``,
``assign``, ``label_distances``): no second distance or argmin code lives
here. This module imports no Dask, so a worker only needs numpy and the
package.

The frame. A fit (and k-means||, and score) computes in one frame for the
whole data (see iwkmeans._core._frame): the driver finds it from :func:`first_reference`
and every chunk's :func:`summary`, then hands the same
:class:`~iwkmeans._core._frame.Frame` to every task. Tasks take centers already in
the frame and return sums, weights, distances, potentials and inertia in
frame units, with the weights the driver divided by their maximum, so that
nothing the driver adds up can overflow; the driver brings the results back
to the user's units once, at the end. predict and transform, which are
lazy, frame each chunk on its own, as the in-memory estimator frames X.
"""

import math

import numpy as np

from .._core import (
    dense_half_extent,
    effective_n_threads,
    frame_of,
    framed_block_step,
    framed_distances,
    framed_inertia,
    framed_nearest,
    framed_sq_distances,
    nearest_centers,
    reference_point,
    scale_for,
    single_threaded_blas,
)
from .._validation import check_data
from ..active._selection import top_scores


def _contiguous(X, sample_weight):
    """The core takes C-contiguous arrays (Dask blocks can be views);
    weights None mean 1 (no weight array travels between workers)."""
    return np.ascontiguousarray(X), _weights(sample_weight, X)


def _weights(sample_weight, X):
    if sample_weight is None:
        return np.ones(X.shape[0], dtype=X.dtype)
    return np.ascontiguousarray(sample_weight)


def half_extent(X, reference, n_threads):
    """max |x - reference| / 2 over the values of dense rows, from which
    scale_for picks a frame's scale."""
    return dense_half_extent(X, reference, effective_n_threads(n_threads))


def _nearest(X, frame, centers, n_threads):
    """(labels, squared distances in frame units) of contiguous X to centers
    already in the frame, by the core."""
    n_threads = effective_n_threads(n_threads)
    labels = framed_nearest(X, centers, frame, n_threads)
    return labels, framed_sq_distances(X, centers, labels, frame, n_threads)


def cumulative_weight(X, sample_weight, start):
    """Running total of the chunk's weights, in float64."""
    return np.cumsum(_weights(sample_weight, X), dtype=np.float64)


def total_weight(X, sample_weight, start):
    """Total of the chunk's weights, in float64."""
    return float(np.sum(_weights(sample_weight, X), dtype=np.float64))


def first_reference(X):
    """The reference point of the whole data's frame: that of its first
    chunk (made of values of X, so shifting X shifts it exactly)."""
    return reference_point(np.asarray(X))


def summary(X, reference, n_threads, moments, block_rows=65536):
    """What the driver needs from every chunk, in the pass that checks the
    values: (whether the chunk is all finite, its half extent around
    ``reference`` (see iwkmeans._core._frame; None if ``reference`` is None), and if
    ``moments``: its number of rows, the exponent ``e`` of its own scale
    2**e, and the per-feature mean and sum of squared deviations from that
    mean of ``(x - reference) * 2**e``, in float64).

    The chunk's own scale brings its values to at most 1, so no moment
    overflows; the driver converts them exactly (powers of two) to the
    frame of the whole data, whose scale is at most this one. Computed over
    blocks of rows, so that the float64 temporaries stay a few MiB whatever
    the chunk's size (a worker's memory may be small)."""
    blocks = [X[s : s + block_rows] for s in range(0, X.shape[0], block_rows)]
    finite = all(bool(np.isfinite(block).all()) for block in blocks)
    if not finite or reference is None:
        return finite, None, None
    half = half_extent(X, reference, n_threads)
    if not moments:
        return finite, half, None
    scale = scale_for(half)
    exponent = math.frexp(scale)[1] - 1
    # (x / 2 - reference / 2) * 2 scale: x - reference may overflow, its half not.
    half_reference = 0.5 * np.asarray(reference, dtype=np.float64)
    twice = 2.0 * scale

    def framed(block):
        return (np.multiply(block, 0.5, dtype=np.float64) - half_reference) * twice

    mean = sum(framed(block).sum(axis=0) for block in blocks) / X.shape[0]
    deviations = np.zeros(X.shape[1])
    for block in blocks:
        centred = framed(block) - mean
        deviations += np.einsum("ij,ij->j", centred, centred)
    return finite, half, (X.shape[0], exponent, mean, deviations)


def lloyd_stats(X, sample_weight, start, frame, centers, n_fixed, n_threads):
    """The core's block step on a chunk, in the frame: per free center, the
    weighted sum of the (framed) samples assigned to it and their weight
    (both float64), and the chunk's inertia, all in frame units."""
    X, sample_weight = _contiguous(X, sample_weight)
    with single_threaded_blas():
        _, sums, weights, inertia = framed_block_step(
            X, sample_weight, centers, n_fixed, frame, effective_n_threads(n_threads)
        )
    return sums, weights, inertia


def relocation_candidates(X, sample_weight, start, frame, centers, count, n_threads):
    """The chunk's ``count`` samples of positive weight farthest (weighted
    squared distance, in the frame) from their nearest center, farthest
    first (ties: lowest row), as (distances, rows in the whole data,
    labels, weights, samples in the frame, in X's dtype, as the core reads
    them). The global farthest samples are among the union of these."""
    X, sample_weight = _contiguous(X, sample_weight)
    labels, sq_distances = _nearest(X, frame, centers, n_threads)
    rows = np.flatnonzero(sample_weight > 0)
    distance = sample_weight[rows] * sq_distances[rows]
    order = np.lexsort((rows, -distance))[:count]
    rows = rows[order]
    return (distance[order], start + rows, labels[rows], sample_weight[rows], frame.to(X[rows]))


def labels_and_inertia(X, sample_weight, start, frame, centers, n_threads):
    """Index of the nearest center (in the frame) of each sample, and the
    chunk's inertia in frame units."""
    X, sample_weight = _contiguous(X, sample_weight)
    return framed_inertia(X, sample_weight, centers, frame, effective_n_threads(n_threads))


def predict(X, centers, n_threads):
    """Nearest center of each row of a chunk that has not been validated."""
    X = check_data(X)
    return nearest_centers(X, centers, n_threads)


def transform(X, centers, n_threads=None):
    """Euclidean distances of each row of a chunk to every center."""
    X = check_data(X)
    # Each chunk in its own frame, that of the in-memory transform: a frame
    # of the whole data would need a pass over X before the first result.
    return framed_distances(X, centers, frame_of(X, effective_n_threads(n_threads), centers))


def nearest_seed(X, frame, state, new_centers, first_label, picked, picked_labels, n_threads):
    """k-means||: squared distance (frame units) to, and index of, each
    sample's nearest center so far, once ``new_centers`` (in the frame,
    numbered from ``first_label``) are added to the centers behind
    ``state`` (None before the first ones).

    Ties keep the older center, which has the lower index. The rows
    ``picked`` (local indices) are new centers themselves, numbered
    ``picked_labels``: their distance is set to 0 and their center to their
    own, so they are never drawn again and their weight goes to themselves.
    """
    X = np.ascontiguousarray(X)
    labels, sq_distances = _nearest(X, frame, new_centers, n_threads)
    labels += np.int32(first_label)
    if state is not None:
        old_distances, old_labels = state
        closer = sq_distances < old_distances
        sq_distances = np.where(closer, sq_distances, old_distances)
        labels = np.where(closer, labels, old_labels)
    sq_distances[picked] = 0.0
    labels[picked] = picked_labels
    return sq_distances, labels


def oversample(X, sample_weight, start, state, seed, oversampling):
    """One k-means|| draw on a chunk, before the total potential is known.

    A sample is drawn when ``u * potential < oversampling * w * d^2`` with
    ``u`` uniform in [0, 1) and ``potential`` the total of ``w * d^2`` over
    all the data. The chunk's own potential is at most the total, so the
    samples that pass the test with it include every sample that will be
    drawn: they are returned (with ``u`` and ``w * d^2``) and the driver
    applies the test with the total. Returns (chunk potential, (u, w * d^2,
    rows in the whole data, samples)). With the distances in frame units
    and weights of at most 1, ``w * d^2`` is at most 4 per feature, and no
    potential overflows.
    """
    sq_distances, _ = state
    weighted = _weights(sample_weight, X) * sq_distances
    potential = float(weighted.sum())
    u = np.random.default_rng(seed).random(X.shape[0])
    keep = np.flatnonzero(u * potential < oversampling * weighted)
    return potential, (u[keep], weighted[keep], start + keep, np.ascontiguousarray(X[keep]))


def weight_per_center(X, sample_weight, start, state, n_centers):
    """Total weight of the samples nearest to each k-means|| center (float64)."""
    _, labels = state
    return np.bincount(labels, weights=_weights(sample_weight, X), minlength=n_centers).astype(
        np.float64
    )


def first_unpicked(X, sample_weight, start, picked, count):
    """Up to ``count`` samples of positive weight that are not centers yet,
    lowest rows first, as (rows in the whole data, samples)."""
    eligible = _weights(sample_weight, X) > 0
    eligible[picked] = False
    rows = np.flatnonzero(eligible)[:count]
    return start + rows, np.ascontiguousarray(X[rows])


def top_score_candidates(scores, start, count):
    """The chunk's ``count`` highest scores (ties: lowest rows), as (rows in
    the whole pool, increasing; scores). The pool's top scores are among the
    union of these."""
    rows = top_scores(scores, count)
    return start + rows, scores[rows]
