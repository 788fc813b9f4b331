"""Model-agnostic batch selection: scores (or nothing) in, pool indices out.

These functions are for users with any model, deep networks included: they
take the pool's features and, where needed, one uncertainty score per
sample, and return ``batch_size`` distinct row indices into the pool.
"""
import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_scalar

from ._validation import (
    check_data,
    check_fixed_centers,
    check_n_threads,
    check_sample_weight,
)
from ._rows import take_rows
from .incremental import (
    IncrementalKMeans,
    nearest_centers_and_distances,
    sq_distances_to,
    sq_row_norms,
)


def _check_batch_size(batch_size, n_pool, pool_name="X_pool"):
    check_scalar(batch_size, "batch_size", Integral, min_val=1)
    if batch_size > n_pool:
        raise ValueError(
            f"batch_size={batch_size} is larger than the pool: {pool_name} has "
            f"{n_pool} sample(s)."
        )


def top_scores(scores, count):
    """Indices of the ``count`` highest scores, in increasing index order.

    Ties at the threshold go to the lowest indices, so the choice is fully
    determined by the scores.
    """
    if count >= scores.shape[0]:
        return np.arange(scores.shape[0])
    threshold = np.partition(scores, -count)[-count]
    above = np.flatnonzero(scores > threshold)
    at = np.flatnonzero(scores == threshold)[: count - above.size]
    return np.sort(np.concatenate([above, at]))


def nearest_to_centers(X, centers, labels, members, n_threads=None):
    """For each center, the member of its cluster nearest to it (exact
    squared distance; ties: lowest row).

    ``members`` are the rows of X (dense or CSR) that belong to one of
    ``centers``, with ``labels[row]`` (int32) its center. A center with no
    member takes, in center order, the nearest row of X not yet taken.
    Returns one distinct row index per center.
    """
    n_centers = centers.shape[0]
    distance = sq_distances_to(X[members], centers, labels[members], n_threads)
    # Sort by (center, distance, row): the first row of each center is its pick.
    order = np.lexsort((members, distance, labels[members]))
    sorted_labels = labels[members][order]
    first = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    picks = np.full(n_centers, -1)
    picks[sorted_labels[first]] = members[order[first]]
    taken = np.zeros(X.shape[0], dtype=bool)
    taken[picks[picks >= 0]] = True
    for center in np.flatnonzero(picks < 0):
        free = np.flatnonzero(~taken)
        to_center = sq_distances_to(X[free], centers, np.full(free.size, center,
                                                              dtype=np.int32),
                                    n_threads)
        best = free[np.argmin(to_center)]
        picks[center] = best
        taken[best] = True
    return picks


def cluster_and_pick(X, weights, batch_size, fixed_centers, random_state, n_threads):
    """Weighted K-Means with ``batch_size`` free clusters around the fixed
    centers, then the row of X nearest to each free center (local indices)."""
    km = IncrementalKMeans(
        batch_size, random_state=random_state, n_threads=n_threads
    ).fit(X, sample_weight=weights, fixed_centers=fixed_centers)
    n_fixed = fixed_centers.shape[0]
    members = np.flatnonzero(km.labels_ >= n_fixed)
    labels = km.labels_ - np.int32(n_fixed)
    return nearest_to_centers(X, km.cluster_centers_[n_fixed:], labels, members,
                              n_threads)


def select_wkmeans(
    X_pool, scores, batch_size, *, beta=10, X_labeled=None, weighted=True,
    random_state=None, n_threads=None,
):
    """WKMeans batch selection (Zhdanov 2019); IWKMeans with ``X_labeled``;
    Zhdanov's Clustered with ``weighted=False``.

    1. Preselect the ``beta * batch_size`` samples of highest score (all of
       the pool if it is smaller; ties go to the lowest index).
    2. Run weighted K-Means on them with ``batch_size`` free clusters and the
       scores as sample weights (unit weights if ``weighted=False``). With ``X_labeled`` the labeled samples are
       fixed centroids (IWKMeans): they pull nearby samples into their own
       clusters, so the new picks avoid what is already labeled.
    3. Return, for each free cluster, the preselected sample nearest to its
       centroid; a cluster left without a sample takes the nearest sample not
       picked yet.

    Parameters
    ----------
    X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
        Unlabeled samples (features or embeddings), dense or CSR.
    scores : array-like of shape (n_pool,)
        Non-negative uncertainty scores, e.g. :func:`margin_score`. A score of
        0 keeps a tiny weight (machine epsilon times the largest score) so the
        sample can still fill a cluster; if every preselected score is 0,
        the clustering is unweighted.
    batch_size : int
        Number of samples to select, at most ``n_pool``.
    beta : float, default=10
        Preselection factor, >= 1.
    X_labeled : array-like of shape (n_labeled, n_features), default=None
        Already-labeled samples, used as fixed centroids.
    weighted : bool, default=True
        Weight the clustering by the scores (WKMeans). False gives
        Zhdanov's Clustered(beta): the scores only choose the preselection,
        and the clustering is the same code with unit weights.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Returns
    -------
    indices : ndarray of shape (batch_size,)
        Distinct row indices into ``X_pool``.
    """
    X = check_data(X_pool, name="X_pool", accept_sparse=True)
    n_pool = X.shape[0]
    scores = check_sample_weight(
        scores, n_pool, X.dtype, name="scores", require_positive=False
    )
    _check_batch_size(batch_size, n_pool)
    _check_beta(beta)
    check_n_threads(n_threads)
    fixed = check_fixed_centers(X_labeled, X.shape[1], X.dtype, name="X_labeled")
    return wkmeans_picks(X, scores, batch_size, beta, fixed, random_state, n_threads,
                         weighted=weighted)


def _check_beta(beta):
    check_scalar(beta, "beta", Real, min_val=1)


def preselect(scores, batch_size, beta):
    """Indices of the ``ceil(beta * batch_size)`` highest scores (Zhdanov's
    preselection, shared by WKMeans, Clustered and Submodular)."""
    return top_scores(scores, math.ceil(beta * batch_size))


def wkmeans_picks(X, scores, batch_size, beta, fixed_centers, random_state, n_threads,
                  weighted=True):
    """:func:`select_wkmeans` on inputs that are already validated."""
    preselected = preselect(scores, batch_size, beta)
    weights = None  # unit weights: Clustered, or every preselected score is 0
    largest = scores[preselected].max()
    if weighted and largest > 0:
        weights = np.maximum(scores[preselected], np.finfo(X.dtype).eps * largest)
    picks = cluster_and_pick(
        X[preselected], weights, batch_size, fixed_centers, random_state, n_threads
    )
    return preselected[picks]


def select_kcenter_greedy(X_pool, batch_size, *, X_labeled=None, n_threads=None):
    """Core-set selection by greedy k-center (Sener & Savarese 2018).

    Picks, one at a time, the pool sample farthest from everything labeled or
    picked so far. Without ``X_labeled`` the first pick is the sample farthest
    from the pool's mean. Distances to the labeled set are computed by the
    compiled core in chunks, and each pick updates them with one
    matrix-vector product: no (n_pool, n_labeled) or (n_pool, n_pool) matrix
    is formed.

    Returns ``batch_size`` distinct row indices into ``X_pool``.
    """
    X = check_data(X_pool, name="X_pool", accept_sparse=True)
    n_pool = X.shape[0]
    _check_batch_size(batch_size, n_pool)
    check_n_threads(n_threads)
    labeled = check_fixed_centers(X_labeled, X.shape[1], X.dtype, name="X_labeled")

    # Without labeled samples, the pool's mean stands in for them.
    if labeled.shape[0]:
        sources = labeled
    else:
        sources = np.asarray(X.mean(axis=0), dtype=X.dtype).reshape(1, -1)
    _, closest = nearest_centers_and_distances(X, sources, n_threads)
    norms = sq_row_norms(X, n_threads)
    picks = np.empty(batch_size, dtype=np.intp)
    for b in range(batch_size):
        pick = int(np.argmax(closest))
        picks[b] = pick
        # In X's dtype: a float64 vector would make numpy upcast all of X.
        to_pick = norms - 2.0 * (X @ take_rows(X, [pick])[0]) + norms[pick]
        np.minimum(closest, np.maximum(to_pick, 0.0), out=closest)
        closest[pick] = -1.0  # never again, even if rounding left it above 0
    return picks
