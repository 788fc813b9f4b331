"""Model-agnostic batch selection: scores (or nothing) in, pool indices out.

These functions are for users with any model, deep networks included: they
take the pool's features and, where needed, one uncertainty score per
sample, and return ``batch_size`` distinct row indices into the pool.
"""

import math

import numpy as np
from scipy import sparse

from .._core import (
    ScaledRows,
    effective_n_threads,
    frame_of,
    initial_picks,
    lloyd_fit,
    nearest_centers,
    normalised_weights,
    scaled_tol,
    take_rows,
)
from .._validation import (
    check_batch_size,
    check_beta,
    check_data,
    check_fixed_centers,
    check_int,
    check_n_threads,
    check_random_state_in_call,
    check_sample_weight,
)
from ..cluster._minibatch import IncrementalMiniBatchKMeans

# The clustering of the selection: Lloyd's loop (the method as described)
# or mini-batch steps (what the published IWKMeans runs used).
ALGORITHMS = ("lloyd", "minibatch")
# Which labeled samples are fixed centroids (IWKMeans).
FIXED = ("all", "correct")
# scikit-learn's KMeans defaults, used by every clustering of the selection.
MAX_ITER = 300
TOL = 1e-4


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


def cluster(
    X,
    weights,
    fixed_centers,
    n_clusters,
    random_state,
    n_threads,
    *,
    algorithm="lloyd",
    minibatch_size=1024,
    reset_every=None,
):
    """The samplers' K-Means: ``n_clusters`` free centers seeded by k-means++
    around ``fixed_centers`` on validated X with ``weights`` (of X's dtype),
    scikit-learn's defaults otherwise (one init, 300 iterations, tol 1e-4).
    Returns the centers (fixed ones first) and each row's label (int32).

    ``algorithm="minibatch"`` fits :class:`IncrementalMiniBatchKMeans` (dense
    X, batches of ``minibatch_size``) instead of Lloyd's loop;
    ``reset_every`` (Lloyd only) lets the fixed centers move, putting them
    back every ``reset_every`` iterations (:func:`cluster_with_resets`).
    The options are validated by the caller (:func:`check_clustering`)."""
    if reset_every is not None:
        return cluster_with_resets(
            X, weights, fixed_centers, n_clusters, random_state, n_threads, reset_every
        )
    if algorithm == "minibatch":
        model = IncrementalMiniBatchKMeans(
            n_clusters,
            batch_size=minibatch_size,
            random_state=random_state,
            n_threads=n_threads,
        ).fit(X, sample_weight=weights, fixed_centers=fixed_centers)
        return model.cluster_centers_, model.labels_.astype(np.int32, copy=False)
    centers, labels, _, _ = lloyd_fit(
        X,
        weights,
        fixed_centers,
        n_clusters,
        init="k-means++",
        n_init=1,
        max_iter=MAX_ITER,
        tol=TOL,
        random_state=check_random_state_in_call(random_state),
        n_threads=effective_n_threads(n_threads),
    )
    return centers, labels


def cluster_with_resets(X, weights, anchors, n_clusters, random_state, n_threads, reset_every):
    """K-Means in which the ``anchors`` (the labeled samples) are centers
    that move during Lloyd's iterations but are put back on their own
    positions every ``reset_every`` iterations (sooner if the iterations
    have converged), and at the end.

    The ``n_clusters`` free centers are seeded exactly as :func:`cluster`
    seeds them (k-means++ around the anchors). Then, in rounds of at most
    ``reset_every`` iterations of the package's Lloyd loop (a round ends
    early when its Lloyd loop converges): the anchors that
    hold at least one row of X at the start of the round join the free
    centers for the round, the others stay where they are (a center that
    holds nothing has no mean to move to, and Lloyd's rule would relocate it
    onto a row of X, where it would take a pick's place); after the round
    every anchor is put back. It stops when the free centers move by at
    most ``tol`` over a round (scikit-learn's meaning of tol, as in
    :func:`cluster`), that is when moving the anchors no longer changes
    where the free centers end, or after 300 iterations in all. Returns (centers,
    labels) as :func:`cluster` does, the anchors first and equal to the
    given rows, each row labeled with its nearest center.

    With ``reset_every=1`` every assignment sees the anchors at their own
    positions, so the free centers follow plain IWKMeans (fixed anchors)
    step by step; the larger ``reset_every``, the longer the anchors can
    follow the rows they attract before being reset.
    """
    n_threads = effective_n_threads(n_threads)
    rng = check_random_state_in_call(random_state)
    frame = frame_of(X, n_threads)
    # The seeding of lloyd_fit (same weights, frame and draws), so that
    # reset_every=1 starts where plain IWKMeans starts.
    normalised, _ = normalised_weights(weights)
    free = take_rows(
        X, initial_picks("k-means++", X, normalised, anchors, n_clusters, rng, n_threads, frame)
    )
    framed_tol = scaled_tol(X, TOL, n_threads, frame)
    n_anchors = anchors.shape[0]
    done = 0
    while done < MAX_ITER:
        labels = nearest_centers(X, np.concatenate([anchors, free]), n_threads)
        holding = np.zeros(n_anchors, dtype=bool)
        holding[labels[labels < n_anchors]] = True
        centers, _, _, n_iter = lloyd_fit(
            X,
            weights,
            anchors[~holding],
            int(holding.sum()) + n_clusters,
            init=np.concatenate([anchors[holding], free]),
            n_init=1,
            max_iter=min(reset_every, MAX_ITER - done),
            tol=TOL,
            random_state=rng,
            n_threads=n_threads,
        )
        done += n_iter
        moved = centers[n_anchors:]  # the reset: only the free centers are kept
        shift = float(np.sum((frame.to(moved).astype(np.float64) - frame.to(free)) ** 2))
        free = moved
        if shift <= framed_tol:
            break
    centers = np.concatenate([anchors, free])
    return centers, nearest_centers(X, centers, n_threads)


def cluster_and_pick(X, weights, batch_size, fixed_centers, random_state, n_threads, **options):
    """Weighted K-Means with ``batch_size`` free clusters around the fixed
    centers, then the row of X nearest to each free center (local indices).
    ``options``: the clustering options of :func:`cluster`."""
    # The inputs are validated already (weights None: unit weights): the
    # trusted fit, with the defaults of IncrementalKMeans.
    weights = (
        np.ones(X.shape[0], dtype=X.dtype)
        if weights is None
        else np.asarray(weights, dtype=X.dtype)
    )
    centers, labels = cluster(
        X, weights, fixed_centers, batch_size, random_state, n_threads, **options
    )
    n_fixed = fixed_centers.shape[0]
    members = np.flatnonzero(labels >= n_fixed)
    return nearest_to_centers(X, centers[n_fixed:], labels - np.int32(n_fixed), members, n_threads)


def representative_picks(X, batch_size, fixed_centers, random_state, n_threads, **options):
    """The representative pick: K-Means on the whole of X (validated), unit
    weights, ``batch_size`` free clusters seeded by k-means++ around the
    fixed centers, and the row nearest each free center (local indices).
    ``options``: the clustering options of :func:`cluster` (those of
    WKMeans and IWKMeans, in their cold start).

    KMeansSampler's selection, and the cold-start fallback of every sampler
    that needs a model: with no model, every sample is equally uncertain,
    and WKMeans on equal scores with nothing preselected away is exactly
    this clustering. Deterministic for a given ``random_state``.
    """
    return cluster_and_pick(X, None, batch_size, fixed_centers, random_state, n_threads, **options)


def check_clustering(algorithm, minibatch_size, reset_every, X=None):
    """The clustering options of WKMeans and IWKMeans (see
    :func:`select_wkmeans`); ``X``, if given, the validated samples they
    will cluster. Returns them as keyword arguments of :func:`cluster`."""
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be 'lloyd' or 'minibatch'; got {algorithm!r}.")
    minibatch_size = check_int(minibatch_size, "minibatch_size", min_val=1)
    if reset_every is not None:
        reset_every = check_int(reset_every, "reset_every", min_val=1)
        if algorithm != "lloyd":
            raise ValueError(
                "reset_every needs algorithm='lloyd' (it counts Lloyd iterations); got "
                f"algorithm={algorithm!r} with reset_every={reset_every}."
            )
    if algorithm == "minibatch" and X is not None and sparse.issparse(X):
        raise ValueError(
            "algorithm='minibatch' needs dense samples (IncrementalMiniBatchKMeans "
            "takes no sparse matrix); got a sparse X_pool. Use algorithm='lloyd'."
        )
    return {"algorithm": algorithm, "minibatch_size": minibatch_size, "reset_every": reset_every}


def check_fixed(fixed):
    """``fixed`` of IWKMeans: 'all' or 'correct'."""
    if not isinstance(fixed, str) or fixed not in FIXED:
        raise ValueError(f"fixed must be 'all' or 'correct'; got {fixed!r}.")


def fixed_rows(fixed, n_labeled, y_labeled, y_labeled_pred):
    """Boolean mask of the labeled rows that are fixed centroids, from
    :func:`select_wkmeans`'s ``fixed``, ``y_labeled`` and ``y_labeled_pred``
    (None: every row)."""
    if isinstance(fixed, str):
        if fixed not in FIXED:
            raise ValueError(
                "fixed must be 'all', 'correct' or a boolean array of shape "
                f"({n_labeled},); got {fixed!r}."
            )
        if fixed == "all" or n_labeled == 0:  # nothing labeled: nothing to judge
            return None
        if y_labeled is None or y_labeled_pred is None:
            raise ValueError(
                "fixed='correct' needs y_labeled and y_labeled_pred (the labels of "
                "X_labeled and the model's predictions for it); got "
                f"y_labeled={'None' if y_labeled is None else 'an array'} and "
                f"y_labeled_pred={'None' if y_labeled_pred is None else 'an array'}."
            )
        y_true = np.asarray(y_labeled)
        y_pred = np.asarray(y_labeled_pred)
        for name, value in (("y_labeled", y_true), ("y_labeled_pred", y_pred)):
            if value.shape != (n_labeled,):
                raise ValueError(
                    f"{name} must have shape ({n_labeled},), one entry per row of "
                    f"X_labeled; got shape {value.shape}."
                )
        return y_true == y_pred
    mask = np.asarray(fixed)
    if mask.dtype != bool or mask.shape != (n_labeled,):
        raise ValueError(
            "fixed must be 'all', 'correct' or a boolean array of shape "
            f"({n_labeled},), one entry per row of X_labeled; got "
            f"{'an array of dtype ' + str(mask.dtype) if mask.ndim else repr(fixed)} "
            f"and shape {mask.shape}."
        )
    return mask


def select_wkmeans(
    X_pool,
    scores,
    batch_size,
    *,
    beta=10,
    X_labeled=None,
    weighted=True,
    fixed="all",
    y_labeled=None,
    y_labeled_pred=None,
    reset_every=None,
    algorithm="lloyd",
    minibatch_size=1024,
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
    fixed : {"all", "correct"} or array-like of bool of shape (n_labeled,), \
            default="all"
        Which labeled samples are fixed centroids. "all": every one
        (IWKMeans). "correct": only those the model classifies correctly,
        ``y_labeled == y_labeled_pred``; a misclassified labeled sample then
        repels nothing, so the picks may return to its region. A boolean
        array: the rows of ``X_labeled`` to fix (True), for a test of
        correctness of one's own.
    y_labeled : array-like of shape (n_labeled,), default=None
        Labels of ``X_labeled``; needed by ``fixed="correct"`` only (when
        ``X_labeled`` has rows).
    y_labeled_pred : array-like of shape (n_labeled,), default=None
        The model's predictions for ``X_labeled``; needed by
        ``fixed="correct"`` only (when ``X_labeled`` has rows).
    reset_every : int, default=None
        None: the fixed centroids never move. An int >= 1: they move with
        Lloyd's iterations like free centroids (those that hold a
        preselected sample), but are put back on their labeled positions
        every ``reset_every`` iterations (sooner once the iterations have
        converged) and at the end, so they still end where the labeled
        samples are; the rounds stop when one more round no longer moves
        the free centroids (``tol`` 1e-4, as in scikit-learn) or after 300
        iterations. 1 gives the picks of None (up to rounding). Needs
        ``algorithm="lloyd"``.
    algorithm : {"lloyd", "minibatch"}, default="lloyd"
        The weighted K-Means: Lloyd's loop in compiled code (the method as
        described by Zhdanov 2019), or mini-batch K-Means
        (:class:`IncrementalMiniBatchKMeans`, dense ``X_pool`` only), for
        large preselections. The published IWKMeans runs (Abraham &
        Dreyfus-Schmidt) used a mini-batch K-Means with one init.
    minibatch_size : int, default=1024
        Samples per mini-batch with ``algorithm="minibatch"``; ignored
        otherwise. A preselection no larger than it is clustered in full
        batches (running means, early stopping and reassignment of starved
        centers still differ from Lloyd).
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation (and of the mini-batches).
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Returns
    -------
    indices : ndarray of shape (batch_size,)
        Distinct row indices into ``X_pool``.

    Raises
    ------
    ValueError
        If ``fixed``, ``reset_every``, ``algorithm`` or ``minibatch_size`` is
        not one of the values above, if ``fixed="correct"`` lacks
        ``y_labeled`` or ``y_labeled_pred`` (or their shapes do not match
        ``X_labeled``), or if ``algorithm="minibatch"`` meets a sparse pool.

    Notes
    -----
    The defaults are the method of Zhdanov (2019) and IWKMeans as always:
    every labeled sample a fixed centroid, Lloyd's iterations. ``fixed``
    and ``reset_every`` change only what the labeled samples do, so they
    matter only with ``X_labeled``.

    Examples
    --------
    >>> import numpy as np
    >>> from iwkmeans import select_wkmeans
    >>> X_pool = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> scores = np.full(6, 0.5)
    >>> X_labeled = np.array([[0.1], [5.1]])
    >>> # The model gets the labeled sample at 0.1 wrong: it repels nothing.
    >>> picks = select_wkmeans(X_pool, scores, 1, X_labeled=X_labeled, fixed="correct",
    ...                        y_labeled=[0, 1], y_labeled_pred=[1, 1], random_state=0)
    >>> X_pool[picks].ravel().tolist()
    [0.1]
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
    options = check_clustering(algorithm, minibatch_size, reset_every, X)
    labeled = check_fixed_centers(X_labeled, X.shape[1], X.dtype, name="X_labeled")
    mask = fixed_rows(fixed, labeled.shape[0], y_labeled, y_labeled_pred)
    if mask is not None:
        labeled = labeled[mask]
    return wkmeans_picks(
        X, scores, batch_size, beta, labeled, random_state, n_threads, weighted=weighted, **options
    )


def preselect(scores, batch_size, beta):
    """Indices of the ``ceil(beta * batch_size)`` highest scores (Zhdanov's
    preselection, shared by WKMeans, Clustered and Submodular)."""
    return top_scores(scores, math.ceil(beta * batch_size))


def wkmeans_picks(
    X, scores, batch_size, beta, fixed_centers, random_state, n_threads, weighted=True, **options
):
    """:func:`select_wkmeans` on inputs that are already validated, the
    fixed centers chosen; ``options``: the clustering options of
    :func:`cluster`."""
    preselected = preselect(scores, batch_size, beta)
    weights = None  # unit weights: Clustered, or every preselected score is 0
    largest = scores[preselected].max()
    if weighted and largest > 0:
        weights = np.maximum(scores[preselected], np.finfo(X.dtype).eps * largest)
    picks = cluster_and_pick(
        X[preselected], weights, batch_size, fixed_centers, random_state, n_threads, **options
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
