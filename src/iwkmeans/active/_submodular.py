"""Zhdanov's Submodular(beta): facility location on the preselected samples.

The objective, for a set S of the m preselected samples with squared
distances d_ij between them, is

    f(S) = sum_i (d_max - min_{j in S} d_ij),    f({}) = 0,

the facility-location function with the similarity s_ij = d_max - d_ij,
where d_max is the largest d_ij (so every similarity is >= 0 and f is
monotone and submodular). Maximising f is minimising sum_i min_{j in S} d_ij,
the squared-distance K-medoids objective: the same objective that K-Means
approximates in WKMeans and Clustered, here optimised over the samples
themselves by the greedy algorithm, which reaches at least (1 - 1/e) of the
optimum.

The greedy is lazy: a sample's marginal gain can only shrink as S grows, so
a gain computed earlier is an upper bound, and only the sample at the top of
the priority queue of bounds needs its gain recomputed.
"""

import heapq

import numpy as np
from sklearn.metrics.pairwise import euclidean_distances

from .._core import ScaledRows
from .._validation import check_batch_size, check_beta, check_data, check_sample_weight
from ._selection import preselect


def _gains(distance_rows, closest):
    """Marginal gain of adding each candidate whose squared distances to the
    samples are ``distance_rows`` (1-D for one candidate, 2-D for several),
    given each sample's current ``closest`` squared distance."""
    return np.maximum(closest - distance_rows, 0.0).sum(axis=-1)


def facility_location_greedy(sq_distances, n_picks):
    """Lazy greedy maximisation of the facility-location objective.

    Parameters
    ----------
    sq_distances : ndarray of shape (m, m)
        Symmetric squared distances between the candidates, float64.
    n_picks : int
        Number of candidates to pick, at most m.

    Returns
    -------
    picks : ndarray of shape (n_picks,)
        Distinct candidate indices in the order the greedy picked them: each
        one has the largest marginal gain given the earlier ones (ties: lowest
        index), exactly as the plain greedy would pick them.
    """
    m = sq_distances.shape[0]
    # Before any pick every sample is "at" d_max, so f({}) = 0.
    closest = np.full(m, sq_distances.max())
    # heapq is a min-heap: (-bound, index) puts the largest bound first and,
    # among equal bounds, the lowest index, as the plain greedy's argmax does.
    heap = [(-gain, j) for j, gain in enumerate(_gains(sq_distances, closest))]
    heapq.heapify(heap)
    picks = np.empty(n_picks, dtype=np.intp)
    n_picked = 0
    while n_picked < n_picks:
        _, j = heapq.heappop(heap)
        entry = (-_gains(sq_distances[j], closest), j)
        # Every other bound is >= that sample's gain, so the fresh gain wins if
        # it beats the best remaining bound (with the same tie rule).
        if heap and entry > heap[0]:
            heapq.heappush(heap, entry)
            continue
        picks[n_picked] = j
        n_picked += 1
        np.minimum(closest, sq_distances[j], out=closest)
    return picks


def submodular_picks(X, scores, batch_size, beta):
    """:func:`select_submodular` on inputs that are already validated."""
    preselected = preselect(scores, batch_size, beta)
    candidates = X[preselected]
    # The only m x m matrix: m = ceil(beta * batch_size) preselected samples.
    # Measured in a frame (a point among them as origin, a power-of-two
    # scale: see ScaledRows), so that the expansion behind
    # euclidean_distances loses nothing to an offset of the data and no
    # square overflows; the scale multiplies every distance alike, which
    # changes none of the greedy's choices.
    frame = ScaledRows(candidates)
    sq_distances = euclidean_distances(frame.transform(candidates), squared=True)
    return preselected[facility_location_greedy(sq_distances, batch_size)]


def select_submodular(X_pool, scores, batch_size, *, beta=10):
    """Zhdanov's Submodular(beta) batch selection: facility location on the
    most uncertain samples.

    1. Preselect the ``beta * batch_size`` samples of highest score, as
       :func:`select_wkmeans` does.
    2. Among them, pick ``batch_size`` samples by greedy maximisation of the
       facility-location function ``f(S) = sum_i (d_max - min_{j in S}
       d_ij)``, with ``d_ij`` the squared Euclidean distances between the
       preselected samples and ``d_max`` the largest of them. Maximising f
       minimises the sum of squared distances of the preselected samples to
       their nearest pick, the objective K-Means approximates in
       :func:`select_wkmeans`, so the two differ in how they optimise it:
       here the centers are samples, chosen greedily (at least (1 - 1/e) of
       the optimum of f). The samples count equally; the scores only choose
       the preselection.

    The greedy is lazy (a priority queue of upper bounds on the marginal
    gains) and deterministic; it needs the ``m x m`` distances of the
    ``m = ceil(beta * batch_size)`` preselected samples only.

    Parameters
    ----------
    X_pool : array-like of shape (n_pool, n_features)
        Unlabeled samples (features or embeddings).
    scores : array-like of shape (n_pool,)
        Non-negative uncertainty scores, e.g. :func:`margin_score`.
    batch_size : int
        Number of samples to select, at most ``n_pool``.
    beta : float, default=10
        Preselection factor, >= 1.

    Returns
    -------
    indices : ndarray of shape (batch_size,)
        Distinct row indices into ``X_pool``, in the order of the greedy
        (the most representative first).
    """
    X = check_data(X_pool, name="X_pool", accept_sparse=True)
    scores = check_sample_weight(
        scores,
        X.shape[0],
        X.dtype,
        name="scores",
        require_positive=False,
        allow_vanishing=True,
    )
    check_batch_size(batch_size, X.shape[0])
    check_beta(beta)
    return submodular_picks(X, scores, batch_size, beta)
