"""The Dask estimator, k-means|| seeding and selection from a Dask pool
(the public names of :mod:`iwkmeans.dask`)."""

import math

import dask
import dask.array
import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._core import single_threaded_blas
from .._validation import (
    check_batch_size,
    check_beta,
    check_fixed_centers,
    check_int,
    check_n_threads,
    check_real,
)
from ..active._selection import top_scores, wkmeans_picks
from ..cluster._incremental import LloydKMeansBase
from . import _chunk_tasks
from ._data import (
    as_dask_data,
    as_dask_weights,
    check_enough_samples,
    check_values,
    framed_chunks,
    keep_on_workers,
    shared,
)
from ._lloyd import add_in_order, final_labels, lloyd
from ._seeding import kmeans_parallel as _kmeans_parallel

__all__ = ["IncrementalKMeans", "kmeans_parallel", "select_wkmeans"]


def _check_seeding_params(oversampling_factor, n_rounds, rounds_name):
    check_real(oversampling_factor, "oversampling_factor", min_val=0, include_boundaries="neither")
    check_int(n_rounds, rounds_name, min_val=1)


def kmeans_parallel(
    X,
    n_clusters,
    *,
    sample_weight=None,
    fixed_centers=None,
    oversampling_factor=2.0,
    n_rounds=5,
    random_state=None,
    n_threads=None,
):
    """Choose ``n_clusters`` initial centers among the samples of a Dask
    array with k-means|| (Bahmani et al. 2012), starting from fixed centers.

    Each round draws every sample independently with probability
    ``min(1, l * w * D^2 / sum(w * D^2))``, ``l = oversampling_factor *
    n_clusters``, where ``D`` is the distance to the nearest center so far
    (the fixed centers at first, or one sample drawn in proportion to its
    weight if there are none). The drawn candidates, each weighted by the
    total weight of the samples nearest to it, are reduced to
    ``n_clusters`` by the greedy weighted k-means++ of the core, which
    starts from the fixed centers. Each round reads X once.

    Parameters
    ----------
    X : dask.array.Array or array-like of shape (n_samples, n_features)
        Samples, cut into chunks of rows (features are merged into one
        chunk). float32 stays float32; other numbers become float64.
    n_clusters : int
        Number of free centers to choose.
    sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None
        Non-negative weights; a sample of weight 0 is never picked.
    fixed_centers : array-like of shape (n_fixed, n_features), default=None
        Centers that already exist.
    oversampling_factor : float, default=2.0
        Expected candidates drawn per round, as a multiple of ``n_clusters``.
    n_rounds : int, default=5
        Rounds of drawing (more are run if fewer than ``n_clusters``
        candidates were drawn).
    random_state : int, RandomState instance or None, default=None
        Source of every random number. The picks depend on it and on the
        chunking of X, not on the workers or the scheduler.
    n_threads : int, default=None
        OpenMP threads of each chunk's task (and of the final k-means++);
        None follows each process's ``OMP_NUM_THREADS`` (1 in Dask's worker
        processes). The picks do not depend on it.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The picked samples, in X's dtype.
    indices : ndarray of shape (n_clusters,)
        Their row indices in X, all distinct.
    """
    X_in_memory = not isinstance(X, dask.array.Array)
    X = as_dask_data(X)
    sample_weight = as_dask_weights(sample_weight, X)
    _check_seeding_params(oversampling_factor, n_rounds, "n_rounds")
    check_n_threads(n_threads)
    X, sample_weight = keep_on_workers(X, sample_weight, X_in_memory)
    checked = check_values(X, sample_weight, variance=False, n_threads=n_threads)
    check_enough_samples(n_clusters, sample_weight, X.shape[0])
    fixed_centers = check_fixed_centers(fixed_centers, X.shape[1], X.dtype)
    with single_threaded_blas():
        indices, centers = _kmeans_parallel(
            framed_chunks(X, sample_weight, checked),
            fixed_centers,
            n_clusters,
            oversampling_factor,
            n_rounds,
            check_random_state(random_state),
            n_threads,
        )
    return centers, indices


class IncrementalKMeans(LloydKMeansBase):
    """Weighted K-Means with fixed centers on a Dask array (Lloyd's algorithm).

    The same objective, parameters and attributes as
    :class:`iwkmeans.IncrementalKMeans`, for data that is chunked over a
    Dask cluster or larger than memory (a memory-mapped array read chunk by
    chunk). Each iteration maps the core's compiled block step over the
    chunks of rows; the workers return per-center weighted sums, weights
    and inertia, which the client adds **in chunk order** before it moves
    the free centers. Results are therefore bit-identical for any number of
    workers and any scheduler, for a given chunking; with the same initial
    centers they equal the single-machine estimator's up to rounding
    (labels equal, centers to float precision).

    An empty free cluster moves onto the sample farthest from its center,
    found as the farthest of each chunk's farthest samples. Dask recomputes
    the chunks of a worker that dies during a fit; the result is the same.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of free clusters (in addition to the fixed ones).
    init : "k-means||" or array-like of shape (n_clusters, n_features), \
            default="k-means||"
        "k-means||": :func:`kmeans_parallel` around the fixed centers; an
        array gives the free centers directly.
    n_init : int, default=1
        Number of initialisations; the fit of lowest inertia is kept.
        Ignored (with a warning) when ``init`` is an array.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per initialisation.
    tol : float, default=1e-4
        Stop when the summed squared shift of the free centers is at most
        ``tol`` times the mean per-feature variance of X, or when no label
        changes.
    oversampling_factor : float, default=2.0
        Candidates drawn per k-means|| round, as a multiple of ``n_clusters``.
    init_rounds : int, default=5
        Rounds of k-means|| (``n_rounds`` of :func:`kmeans_parallel`).
    random_state : int, RandomState instance or None, default=None
        Source of every random number used by the initialisation.
    n_threads : int, default=None
        OpenMP threads of each chunk's task; None follows each process's
        ``OMP_NUM_THREADS`` (Dask's worker processes set it to 1). Results
        do not depend on it.
    verbose : int, default=0
        If positive, print the inertia of each iteration.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_fixed + n_clusters, n_features)
        The fixed centers (unchanged, in X's dtype) followed by the free ones.
    fixed_mask_ : ndarray of bool of shape (n_fixed + n_clusters,)
        True for the fixed rows of ``cluster_centers_``.
    labels_ : dask.array.Array of shape (n_samples,)
        Index into ``cluster_centers_`` of each sample's nearest center,
        persisted on the workers, chunked like X.
    inertia_ : float
        Weighted sum of squared distances of the samples to their centers.
    n_iter_ : int
        Lloyd iterations run by the kept initialisation.
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from iwkmeans.dask import IncrementalKMeans
    >>> X = da.from_array(np.array([[0., 0.], [0., 1.], [10., 0.], [10., 1.]]),
    ...                   chunks=(2, 2))
    >>> km = IncrementalKMeans(n_clusters=1, random_state=0)
    >>> km = km.fit(X, fixed_centers=[[0., 0.5]])
    >>> km.cluster_centers_
    array([[ 0. ,  0.5],
           [10. ,  0.5]])
    >>> km.labels_.compute()
    array([0, 0, 1, 1], dtype=int32)
    """

    default_init = "k-means||"
    inits = ("k-means||",)

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means||",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        oversampling_factor=2.0,
        init_rounds=5,
        random_state=None,
        n_threads=None,
        verbose=0,
    ):
        super().__init__(
            n_clusters,
            init=init,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            random_state=random_state,
            n_threads=n_threads,
            verbose=verbose,
        )
        self.oversampling_factor = oversampling_factor
        self.init_rounds = init_rounds

    def _check_params(self, X):
        """Validate the hyper-parameters; return (free init array or None, n_init)."""
        check_int(self.n_clusters, "n_clusters", min_val=1)
        _check_seeding_params(self.oversampling_factor, self.init_rounds, "init_rounds")
        return super()._check_params(X)

    def fit(self, X, y=None, sample_weight=None, fixed_centers=None):
        """Compute the free centers.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Training data, cut into chunks of rows (features are merged into
            one chunk). float32 stays float32; other numbers become float64.
            Read once to check it (NaN, infinity) and for ``tol``, then once
            per iteration; never modified.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : dask.array.Array or array-like of shape (n_samples,), \
                default=None
            Non-negative weights (at least one positive); None means 1.
        fixed_centers : array-like of shape (n_fixed, n_features), default=None
            Centers that take part in the assignment but never move. They
            come first in ``cluster_centers_``, in the order given.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X_in_memory = not isinstance(X, dask.array.Array)
        X = as_dask_data(X)
        free_init, n_init = self._check_params(X)
        sample_weight = as_dask_weights(sample_weight, X)
        X, sample_weight = keep_on_workers(X, sample_weight, X_in_memory)
        checked = check_values(X, sample_weight, n_threads=self.n_threads)
        # Everything below runs in the frame of the whole data (see iwkmeans._core._frame),
        # tol included; the results are brought back to the user's units.
        tol = checked.variance * self.tol
        check_enough_samples(self.n_clusters, sample_weight, X.shape[0])
        fixed_centers = check_fixed_centers(fixed_centers, X.shape[1], X.dtype)
        random_state = check_random_state(self.random_state)
        n_fixed = fixed_centers.shape[0]
        chunks = framed_chunks(X, sample_weight, checked)
        frame = chunks.frame
        framed_fixed = frame.to(fixed_centers)

        best = None
        with single_threaded_blas():
            for _ in range(n_init):
                if free_init is None:
                    _, free = _kmeans_parallel(
                        chunks,
                        fixed_centers,
                        self.n_clusters,
                        self.oversampling_factor,
                        self.init_rounds,
                        random_state,
                        self.n_threads,
                    )
                else:
                    free = free_init
                if self.verbose:
                    print("Initialization complete")
                centers, n_iter = lloyd(
                    chunks,
                    np.concatenate([framed_fixed, frame.to(free)]),
                    n_fixed,
                    self.max_iter,
                    tol,
                    self.n_threads,
                    self.verbose,
                )
                labels, inertia = final_labels(chunks, centers, self.n_threads)
                if best is None or inertia < best[3]:
                    best = (centers, labels, n_iter, inertia)

        framed_centers, self.labels_, self.n_iter_, inertia = best
        # Fixed centers are the user's rows themselves, bit for bit.
        self.cluster_centers_ = np.concatenate(
            [fixed_centers, frame.back(framed_centers[n_fixed:])]
        )
        self.inertia_ = float(frame.squared(inertia, chunks.weight_scale))
        self.fixed_mask_ = np.arange(self.cluster_centers_.shape[0]) < n_fixed
        self.n_features_in_ = X.shape[1]
        return self

    def _check_test_data(self, X):
        check_is_fitted(self)
        X = as_dask_data(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        # Compute in X's dtype: casting the few centers is cheaper than copying X.
        return X, self.cluster_centers_.astype(X.dtype, copy=False)

    def predict(self, X):
        """Index into ``cluster_centers_`` of the nearest center of each sample.

        Returns a lazy Dask array of int32, chunked like X's rows; NaN or
        infinity in X raises when it is computed. Each chunk is computed in
        its own frame, which holds the chunk and the centers (a frame of the
        whole data would need a pass over X first): the nearest center of a
        sample does not depend on the frame but through rounding.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples, cut into chunks of rows. float32 stays float32; other
            numbers become float64.

        Returns
        -------
        labels : dask.array.Array of int32 of shape (n_samples,)
            Row of ``cluster_centers_`` (fixed centers included) nearest to
            each sample, not computed yet.
        """
        X, centers = self._check_test_data(X)
        return X.map_blocks(
            _chunk_tasks.predict, centers, self.n_threads, drop_axis=1, dtype=np.int32
        )

    def transform(self, X):
        """Euclidean distances of each sample to every center (fixed ones
        first), as a lazy Dask array chunked like X's rows.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples, cut into chunks of rows. float32 stays float32; other
            numbers become float64.

        Returns
        -------
        distances : dask.array.Array of shape (n_samples, n_centers)
            Distance of each sample to each row of ``cluster_centers_``, in
            X's dtype, not computed yet.
        """
        X, centers = self._check_test_data(X)
        return X.map_blocks(
            _chunk_tasks.transform,
            centers,
            self.n_threads,
            chunks=(X.chunks[0], (centers.shape[0],)),
            dtype=X.dtype,
        )

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X on the fitted centers (computed).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples, cut into chunks of rows.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : dask.array.Array or array-like of shape (n_samples,), \
                default=None
            Non-negative weights; None means 1.

        Returns
        -------
        score : float
            ``-sum_i w_i * min_c ||x_i - c||^2``, ``c`` ranging over all the
            centers, fixed ones included (higher is better).
        """
        X, centers = self._check_test_data(X)
        sample_weight = as_dask_weights(sample_weight, X)
        # One frame for X and the centers, which may lie far outside new data.
        checked = check_values(
            X,
            sample_weight,
            require_positive=False,
            variance=False,
            holding=(centers,),
            n_threads=self.n_threads,
        )
        chunks = framed_chunks(X, sample_weight, checked)
        with single_threaded_blas():
            parts = chunks.compute(
                _chunk_tasks.labels_and_inertia,
                chunks.frame_node,
                shared(chunks.frame.to(centers)),
                self.n_threads,
            )
        inertia = add_in_order([inertia for _, inertia in parts])
        return -float(chunks.frame.squared(inertia, chunks.weight_scale))


def select_wkmeans(
    X_pool, scores, batch_size, *, beta=10, X_labeled=None, random_state=None, n_threads=None
):
    """WKMeans batch selection (Zhdanov 2019) from a Dask pool; IWKMeans
    with ``X_labeled``.

    The same selection as :func:`iwkmeans.select_wkmeans`, with the same
    result for the same data and seed: the ``beta * batch_size`` highest
    scores are found as a top-k over the chunks (each chunk's own top
    scores, merged with ties to the lowest row), only those samples are
    brought to the client, and the weighted clustering around the labeled
    samples runs there with the compiled core.

    Parameters
    ----------
    X_pool : dask.array.Array or array-like of shape (n_pool, n_features)
        Unlabeled samples, cut into chunks of rows.
    scores : dask.array.Array or array-like of shape (n_pool,)
        Non-negative uncertainty scores (converted to X_pool's dtype).
    batch_size : int
        Number of samples to select, at most ``n_pool``.
    beta : float, default=10
        Preselection factor, >= 1.
    X_labeled : array-like of shape (n_labeled, n_features), default=None
        Already-labeled samples, used as fixed centroids (IWKMeans).
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation of the local clustering.
    n_threads : int, default=None
        OpenMP threads of the local clustering.

    Returns
    -------
    indices : ndarray of shape (batch_size,)
        Distinct row indices into ``X_pool``.
    """
    X_in_memory = not isinstance(X_pool, dask.array.Array)
    X = as_dask_data(X_pool, name="X_pool")
    if scores is None:
        raise ValueError("scores must be an array of shape (n_pool,); got None.")
    scores = as_dask_weights(scores, X, name="scores", allow_vanishing=True)
    check_batch_size(batch_size, X.shape[0])
    check_beta(beta)
    check_n_threads(n_threads)
    fixed = check_fixed_centers(X_labeled, X.shape[1], X.dtype, name="X_labeled")
    count = math.ceil(beta * batch_size)
    X, scores = keep_on_workers(X, scores, X_in_memory)
    # Only the check: the top scores need no frame, and the local clustering
    # of the preselected samples frames them itself.
    check_values(
        X, scores, weight_name="scores", require_positive=False, frame=False, variance=False
    )

    score_blocks = scores.to_delayed().ravel()
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    parts = dask.compute(
        *[
            dask.delayed(_chunk_tasks.top_score_candidates, pure=True)(block, start, count)
            for block, start in zip(score_blocks, starts)
        ]
    )
    rows, candidate_scores = (np.concatenate(part) for part in zip(*parts))
    # Candidates come in increasing row order, so ties still go to the lowest row.
    preselected = rows[top_scores(candidate_scores, count)]
    X_preselected = X[preselected].compute()
    picks = wkmeans_picks(
        np.ascontiguousarray(X_preselected),
        candidate_scores[np.searchsorted(rows, preselected)],
        batch_size,
        beta,
        fixed,
        random_state,
        n_threads,
    )
    return preselected[picks]
