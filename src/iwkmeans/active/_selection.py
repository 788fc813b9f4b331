"""Model-agnostic batch selection: scores (or nothing) in, pool indices out.

These functions are for users with any model, deep networks included: they
take the pool's features and, where needed, one uncertainty score per
sample, and return ``batch_size`` distinct row indices into the pool.
"""

import math

import numpy as np

from .._core import ScaledRows, effective_n_threads, lloyd_fit, take_rows
from .._validation import (
    check_batch_size,
    check_beta,
    check_data,
    check_fixed_centers,
    check_n_threads,
    check_random_state_in_call,
    check_sample_weight,
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
    squared distance, in a :class:`ScaledRows` frame; ties: lowest row).

    ``members`` are the rows of X (dense or CSR) that belong to one of
    ``centers``, with ``labels[row]`` (int32) its center. A center with no
    member takes, in center order, the nearest row of X not yet taken.
    Returns one distinct row index per center.
    """
    n_centers = centers.shape[0]
    frame = ScaledRows(X, centers)
    framed_centers = frame.transform(centers)
    own = np.zeros(X.shape[0], dtype=np.int32)  # rows of no center: any valid label
    own[members] = labels[members]
    distance = frame.sq_distances_to(framed_centers, own, n_threads)[members]
    # Sort by (center, distance, row): the first row of each center is its pick.
    order = np.lexsort((members, distance, labels[members]))
    sorted_labels = labels[members][order]
    first = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    picks = np.full(n_centers, -1)
    picks[sorted_labels[first]] = members[order[first]]
    taken = np.zeros(X.shape[0], dtype=bool)
    taken[picks[picks >= 0]] = True
    for center in np.flatnonzero(picks < 0):
        to_center = frame.sq_distances_to(framed_centers[center : center + 1], n_threads=n_threads)
        to_center[taken] = np.inf
        best = int(np.argmin(to_center))
        picks[center] = best
        taken[best] = True
    return picks


def cluster(X, weights, fixed_centers, n_clusters, random_state, n_threads):
    """The samplers' K-Means: ``n_clusters`` free centers seeded by k-means++
    around ``fixed_centers`` on validated X with ``weights`` (of X's dtype),
    scikit-learn's defaults otherwise (one init, 300 iterations, tol 1e-4).
    Returns the centers (fixed ones first) and each row's label."""
    centers, labels, _, _ = lloyd_fit(
        X,
        weights,
        fixed_centers,
        n_clusters,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        random_state=check_random_state_in_call(random_state),
        n_threads=effective_n_threads(n_threads),
    )
    return centers, labels


def cluster_and_pick(X, weights, batch_size, fixed_centers, random_state, n_threads):
    """Weighted K-Means with ``batch_size`` free clusters around the fixed
    centers, then the row of X nearest to each free center (local indices)."""
    # The inputs are validated already (weights None: unit weights): the
    # trusted fit, with the defaults of IncrementalKMeans.
    weights = (
        np.ones(X.shape[0], dtype=X.dtype)
        if weights is None
        else np.asarray(weights, dtype=X.dtype)
    )
    centers, labels = cluster(X, weights, fixed_centers, batch_size, random_state, n_threads)
    n_fixed = fixed_centers.shape[0]
    members = np.flatnonzero(labels >= n_fixed)
    return nearest_to_centers(X, centers[n_fixed:], labels - np.int32(n_fixed), members, n_threads)


def representative_picks(X, batch_size, fixed_centers, random_state, n_threads):
    """The representative pick: K-Means on the whole of X (validated), unit
    weights, ``batch_size`` free clusters seeded by k-means++ around the
    fixed centers, and the row nearest each free center (local indices).

    KMeansSampler's selection, and the cold-start fallback of every sampler
    that needs a model: with no model, every sample is equally uncertain,
    and WKMeans on equal scores with nothing preselected away is exactly
    this clustering. Deterministic for a given ``random_state``.
    """
    return cluster_and_pick(X, None, batch_size, fixed_centers, random_state, n_threads)


def select_wkmeans(
    X_pool,
    scores,
    batch_size,
    *,
    beta=10,
    X_labeled=None,
    weighted=True,
    random_state=None,
    n_threads=None,
):
    """WKMeans batch selection (Zhdanov 2019); IWKMeans with ``X_labeled``;
    Zhdanov's Clustered with ``weighted=False``.

    1. Preselect the ``beta * batch_size`` samples of highest score (all of
       the pool if it is smaller; ties go to the lowest index).
    2. Run weighted K-Means on them with ``batch_size`` free clusters and the
       scores as sample weights (unit weights if ``weighted=False``). With
       ``X_labeled`` the labeled samples are fixed centroids (IWKMeans): they
       pull nearby samples into their own clusters, so the new picks avoid
       what is already labeled.
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
        the clustering is unweighted. A score too small for the pool's
        dtype (below 1.4e-45 for float32) counts as 0.
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
        scores,
        n_pool,
        X.dtype,
        name="scores",
        require_positive=False,
        allow_vanishing=True,
    )
    check_batch_size(batch_size, n_pool)
    check_beta(beta)
    check_n_threads(n_threads)
    fixed = check_fixed_centers(X_labeled, X.shape[1], X.dtype, name="X_labeled")
    return wkmeans_picks(
        X, scores, batch_size, beta, fixed, random_state, n_threads, weighted=weighted
    )


def preselect(scores, batch_size, beta):
    """Indices of the ``ceil(beta * batch_size)`` highest scores (Zhdanov's
    preselection, shared by WKMeans, Clustered and Submodular)."""
    return top_scores(scores, math.ceil(beta * batch_size))


def wkmeans_picks(
    X, scores, batch_size, beta, fixed_centers, random_state, n_threads, weighted=True
):
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
    picked so far (ties: the lowest index). Without ``X_labeled`` the first
    pick is the sample farthest from the pool's mean. Distances are exact
    squared distances computed by the compiled core from differences of rows
    shifted and scaled by a power of two (see :class:`ScaledRows`), chunk by
    chunk: the picks are the exact farthest-first order even for data far
    from the origin or of huge magnitude, and the same for shifted and
    power-of-two scaled copies of the data. No (n_pool, n_labeled) or
    (n_pool, n_pool) matrix, and no float64 copy of the pool, is formed.

    Parameters
    ----------
    X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
        Unlabeled samples (features or embeddings), dense or CSR.
    batch_size : int
        Number of samples to select, at most ``n_pool``.
    X_labeled : array-like of shape (n_labeled, n_features), default=None
        Already-labeled samples: the picks start from their coverage.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Returns
    -------
    indices : ndarray of shape (batch_size,)
        Distinct row indices into ``X_pool``, in the order picked.
    """
    X = check_data(X_pool, name="X_pool", accept_sparse=True)
    n_pool = X.shape[0]
    check_batch_size(batch_size, n_pool)
    check_n_threads(n_threads)
    labeled = check_fixed_centers(X_labeled, X.shape[1], X.dtype, name="X_labeled")

    frame = ScaledRows(X, labeled)
    if labeled.shape[0]:
        _, closest = frame.nearest(frame.transform(labeled), n_threads)
    else:
        # Without labeled samples, the pool's mean stands in for them.
        closest = frame.sq_distances_to(frame.mean().reshape(1, -1), n_threads=n_threads)
    picks = np.empty(batch_size, dtype=np.intp)
    for b in range(batch_size):
        pick = int(np.argmax(closest))
        picks[b] = pick
        to_pick = frame.sq_distances_to(frame.transform(take_rows(X, [pick])), n_threads=n_threads)
        np.minimum(closest, to_pick, out=closest)
        closest[pick] = -1.0  # never again, even among rows at distance 0
    return picks
