"""Slow, obviously correct NumPy versions of the kernels, for the tests.

Written straight from the objective in DESIGN.md, with no chunking, no GEMM
expansion and no threads.
"""

import numpy as np


def sq_distances(X, centers):
    """(n_samples, n_centers) exact squared distances, in float64."""
    diff = X[:, None, :].astype(np.float64) - centers[None, :, :].astype(np.float64)
    return np.einsum("ijk,ijk->ij", diff, diff)


def nearest(X, centers):
    """Labels (argmin, ties to the lowest index) and squared distances to them."""
    d = sq_distances(X, centers)
    labels = np.argmin(d, axis=1)
    return labels, d[np.arange(len(X)), labels]


def inertia(X, sample_weight, centers, labels):
    diff = X.astype(np.float64) - centers[labels].astype(np.float64)
    return float(np.sum(sample_weight * np.sum(diff * diff, axis=1)))


def lloyd_step(X, sample_weight, centers, n_fixed):
    """One Lloyd iteration: (labels under ``centers``, updated centers).

    Free centers move to the weighted mean of their samples; a free center
    with no weight takes the farthest remaining sample (weighted squared
    distance, ties to the lowest index), which leaves its old cluster.
    """
    w = sample_weight.astype(np.float64)
    labels, dist = nearest(X, centers)
    n_centers, n_features = centers.shape
    sums = np.zeros((n_centers, n_features))
    weights = np.zeros(n_centers)
    for i in range(len(X)):
        sums[labels[i]] += w[i] * X[i].astype(np.float64)
        weights[labels[i]] += w[i]
    far = np.where(w > 0, w * dist, -1.0)
    for j in range(n_fixed, n_centers):
        if weights[j] != 0:
            continue
        p = int(np.argmax(far))  # first of the maxima: lowest index
        if far[p] < 0:
            break
        far[p] = -1.0
        source = labels[p]
        if source >= n_fixed:
            sums[source] -= w[p] * X[p]
            weights[source] -= w[p]
        sums[j] = w[p] * X[p]
        weights[j] = w[p]
    new = centers.astype(np.float64).copy()
    moved = weights[n_fixed:] > 0
    new[n_fixed:][moved] = sums[n_fixed:][moved] / weights[n_fixed:][moved, None]
    return labels, new.astype(centers.dtype)


def assert_labels_agree_up_to_ties(X, centers, labels, expected, rtol):
    """``labels`` equal ``expected`` except at near-ties: samples whose two
    centers are equally near to within ``rtol`` (relative), which rounding
    in another order (another library, another frame) may break either way."""
    differ = np.flatnonzero(np.asarray(labels) != np.asarray(expected))
    if differ.size == 0:
        return
    d = sq_distances(X[differ], centers)
    rows = np.arange(differ.size)
    ours, theirs = d[rows, labels[differ]], d[rows, expected[differ]]
    gap = np.abs(ours - theirs) / np.maximum(np.maximum(ours, theirs), 1e-300)
    assert np.all(gap <= rtol), (
        f"{differ.size} labels differ, not all at near-ties: relative gaps {gap}"
    )
