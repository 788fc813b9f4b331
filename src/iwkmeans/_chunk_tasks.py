"""The work done on one row-chunk of a larger data set: the Dask tasks.

Each function takes one chunk of rows (in the validated dtype), the
chunk's weights and the index of its first row in the whole data set, and
returns small results that the driver merges in chunk order. Nearest
centers and distances always come from the compiled core (``block_step``,
``assign``) through the package's own helpers: no second distance or argmin
code lives here. This module imports no Dask, so a worker only needs
numpy and the package.
"""
import numpy as np

from _kmeans import _lloyd

from ._parallel import effective_n_threads, single_threaded_blas
from ._rows import frame_of, normalised_weights
from ._validation import check_data
from .incremental import (
    framed_distances,
    nearest_centers,
    nearest_centers_and_distances,
    weighted_inertia,
)
from .selection import top_scores


def _contiguous(X, sample_weight):
    """The core takes C-contiguous arrays (Dask blocks can be views);
    weights None mean 1 (no weight array travels between workers)."""
    return np.ascontiguousarray(X), _weights(sample_weight, X)


def _weights(sample_weight, X):
    if sample_weight is None:
        return np.ones(X.shape[0], dtype=X.dtype)
    return np.ascontiguousarray(sample_weight)


def cumulative_weight(X, sample_weight, start):
    """Running total of the chunk's weights, in float64."""
    return np.cumsum(_weights(sample_weight, X), dtype=np.float64)


def total_weight(X, sample_weight, start):
    """Total of the chunk's weights, in float64."""
    return float(np.sum(_weights(sample_weight, X), dtype=np.float64))


def finite_moments(X, start, block_rows=65536):
    """Whether the chunk is all finite, and its number of rows, per-feature
    mean and per-feature sum of squared deviations from that mean (float64).
    Computed over blocks of rows, so that the float64 temporaries stay a
    few MiB whatever the chunk's size (a worker's memory may be small)."""
    blocks = [X[s:s + block_rows] for s in range(0, X.shape[0], block_rows)]
    finite = all(bool(np.isfinite(block).all()) for block in blocks)
    mean = sum(block.sum(axis=0, dtype=np.float64) for block in blocks) / X.shape[0]
    deviations = np.zeros(X.shape[1])
    for block in blocks:
        centred = block - mean
        deviations += np.einsum("ij,ij->j", centred, centred)
    return finite, X.shape[0], mean, deviations


def lloyd_stats(X, sample_weight, start, centers, n_fixed, n_threads):
    """The core's block step on a chunk: per free center, the weighted sum
    of the samples assigned to it and their weight (both float64), and the
    chunk's inertia. Computed in the chunk's frame (see _rows), returned in
    the user's coordinates and units."""
    X, sample_weight = _contiguous(X, sample_weight)
    n_threads = effective_n_threads(n_threads)
    n_free = centers.shape[0] - n_fixed
    labels = np.empty(X.shape[0], dtype=np.int32)
    sums = np.empty((n_free, X.shape[1]))
    weights = np.empty(n_free)
    frame = frame_of(X, n_threads)
    normalised, weight_scale = normalised_weights(sample_weight)
    with single_threaded_blas():
        inertia = _lloyd.block_step(*frame.rows(X), normalised, frame.to(centers),
                                    n_fixed, labels, sums, weights, n_threads)
    return (frame.sums_back(sums, weights) * weight_scale, weights * weight_scale,
            float(frame.squared(inertia, weight_scale)))


def relocation_candidates(X, sample_weight, start, centers, count, n_threads):
    """The chunk's ``count`` samples of positive weight farthest (weighted
    squared distance) from their nearest center, farthest first (ties:
    lowest row), as (distances, rows in the whole data, labels, weights,
    samples). The global farthest samples are among the union of these."""
    X, sample_weight = _contiguous(X, sample_weight)
    labels, sq_distances = nearest_centers_and_distances(X, centers, n_threads)
    rows = np.flatnonzero(sample_weight > 0)
    distance = sample_weight[rows] * sq_distances[rows]
    order = np.lexsort((rows, -distance))[:count]
    rows = rows[order]
    return distance[order], start + rows, labels[rows], sample_weight[rows], X[rows]


def labels_and_inertia(X, sample_weight, start, centers, n_threads):
    """Index of the nearest center of each sample, and the chunk's inertia."""
    X, sample_weight = _contiguous(X, sample_weight)
    inertia, labels = weighted_inertia(X, sample_weight, centers,
                                       effective_n_threads(n_threads))
    return labels, inertia


def predict(X, centers, n_threads):
    """Nearest center of each row of a chunk that has not been validated."""
    return nearest_centers(check_data(X), centers, n_threads)


def transform(X, centers):
    """Euclidean distances of each row of a chunk to every center."""
    X = check_data(X)
    return framed_distances(X, centers, frame_of(X, effective_n_threads(None)))


def nearest_seed(X, state, new_centers, first_label, picked, picked_labels,
                 n_threads):
    """k-means||: squared distance to, and index of, each sample's nearest
    center so far, once ``new_centers`` (numbered from ``first_label``) are
    added to the centers behind ``state`` (None before the first ones).

    Ties keep the older center, which has the lower index. The rows
    ``picked`` (local indices) are new centers themselves, numbered
    ``picked_labels``: their distance is set to 0 and their center to their
    own, so they are never drawn again and their weight goes to themselves.
    """
    X = np.ascontiguousarray(X)
    labels, sq_distances = nearest_centers_and_distances(X, new_centers, n_threads)
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
    rows in the whole data, samples)).
    """
    sq_distances, _ = state
    weighted = _weights(sample_weight, X) * sq_distances
    potential = float(weighted.sum())
    u = np.random.default_rng(seed).random(X.shape[0])
    keep = np.flatnonzero(u * potential < oversampling * weighted)
    return potential, (u[keep], weighted[keep], start + keep,
                       np.ascontiguousarray(X[keep]))


def weight_per_center(X, sample_weight, start, state, n_centers):
    """Total weight of the samples nearest to each k-means|| center (float64)."""
    _, labels = state
    return np.bincount(labels, weights=_weights(sample_weight, X),
                       minlength=n_centers).astype(np.float64)


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
