"""IncrementalMiniBatchKMeans: mini-batch K-Means in which some centers are fixed."""

import math

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from .._core import (
    effective_n_threads,
    frame_of,
    framed_block_step,
    initial_picks,
    normalised_weights,
    scaled_tol,
    single_threaded_blas,
    weighted_inertia,
)
from .._validation import (
    FLOAT_DTYPES,
    check_fixed_centers,
    check_init_array,
    check_int,
    check_n_free,
    check_n_threads,
    check_real,
    check_sample_weight,
    check_tol,
    screen_input,
)
from ._incremental import FittedCentersMixin

# Steps between two checks for free centers that receive (almost) nothing.
REASSIGN_EVERY = 10
# What a fit sets: removed again when a fit is interrupted, so that an
# interrupted estimator is plainly unfitted.
FITTED_ATTRIBUTES = (
    "cluster_centers_",
    "fixed_mask_",
    "counts_",
    "n_steps_",
    "labels_",
    "inertia_",
    "n_iter_",
    "_random_state",
    "n_features_in_",
)


class IncrementalMiniBatchKMeans(FittedCentersMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """Mini-batch K-Means with fixed centers, for pools too large for Lloyd.

    Each step assigns a mini-batch to the nearest of all centers (fixed and
    free) with the compiled block step, then moves every free center to the
    running weighted mean of all samples it has received so far:
    ``c_j <- (W_j c_j + S_j) / (W_j + w_j)``, where ``S_j`` and ``w_j`` are the
    batch's weighted sum and weight for center j and ``W_j`` the weight
    received before. Weights therefore act exactly as repetitions. Fixed
    centers attract samples but never move.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of free clusters.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), \
            default="k-means++"
        Seeding of the free centers, on ``init_size`` samples drawn at
        random; or the free centers themselves.
    batch_size : int, default=1024
        Samples per mini-batch.
    max_iter : int, default=100
        Maximum number of passes over the data in :meth:`fit`.
    tol : float, default=0.0
        Stop when the squared shift of the free centers over one step,
        relative to the mean per-feature variance, is at most ``tol``
        (0 disables this test).
    max_no_improvement : int or None, default=10
        Stop after this many steps without improvement of the smoothed
        batch inertia (None disables this test).
    init_size : int, default=None
        Samples used for seeding; default ``3 * batch_size`` (at least
        ``n_clusters``, at most the data).
    reassignment_ratio : float, default=0.01
        Every REASSIGN_EVERY steps, a free center that has received less than
        this fraction of the weight of the most-fed free center is moved onto
        a sample of the current batch (0 disables this).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the order of the mini-batches.
    n_threads : int, default=None
        OpenMP threads, as in :class:`IncrementalKMeans`.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_fixed + n_clusters, n_features)
        Fixed centers first, then the free ones.
    fixed_mask_ : ndarray of bool of shape (n_fixed + n_clusters,)
        True for the fixed rows of ``cluster_centers_``.
    counts_ : ndarray of shape (n_clusters,)
        Weight received so far by each free center.
    labels_ : ndarray of shape (n_samples,)
        Nearest center of every sample after :meth:`fit` (not set by
        :meth:`partial_fit`).
    inertia_ : float
        Weighted inertia of ``labels_`` (after :meth:`fit`).
    n_steps_ : int
        Mini-batch steps run.
    n_iter_ : int
        Passes over the data started by :meth:`fit`.
    n_features_in_ : int
        Number of features seen during fit.
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        batch_size=1024,
        max_iter=100,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        reassignment_ratio=0.01,
        random_state=None,
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.reassignment_ratio = reassignment_ratio
        self.random_state = random_state
        self.n_threads = n_threads

    def _check_params(self):
        check_int(self.batch_size, "batch_size", min_val=1)
        check_int(self.max_iter, "max_iter", min_val=1)
        check_tol(self.tol)
        if self.max_no_improvement is not None:
            check_int(self.max_no_improvement, "max_no_improvement", min_val=1)
        check_real(self.reassignment_ratio, "reassignment_ratio", min_val=0, max_val=1)
        if self.init_size is not None:
            check_int(self.init_size, "init_size", min_val=1)
        check_n_threads(self.n_threads)
        if isinstance(self.init, str) and self.init not in ("k-means++", "random"):
            raise ValueError(
                "init must be 'k-means++', 'random' or an array of shape "
                f"(n_clusters, n_features); got {self.init!r}."
            )

    def _validate(self, X, sample_weight, reset):
        screen_input(X, "X")
        # After the first call, X takes the fitted dtype (as predict does):
        # the centers and their running means live in it.
        dtype = FLOAT_DTYPES if reset else self.cluster_centers_.dtype
        X = validate_data(self, X, dtype=dtype, order="C", reset=reset)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return X, sample_weight

    def _initialise(self, X, sample_weight, fixed_centers, random_state, n_threads):
        """Seed the free centers on a random subset of X."""
        fixed = check_fixed_centers(fixed_centers, X.shape[1], X.dtype)
        check_n_free(self.n_clusters, sample_weight)
        if not isinstance(self.init, str):
            free = check_init_array(self.init, self.n_clusters, X)
        else:
            free = self._seed(X, sample_weight, fixed, random_state, n_threads)
        self.cluster_centers_ = np.concatenate([fixed, free])
        self.fixed_mask_ = np.arange(len(self.cluster_centers_)) < len(fixed)
        self.counts_ = np.zeros(self.n_clusters)
        self.n_steps_ = 0

    def _seed(self, X, sample_weight, fixed, random_state, n_threads):
        """k-means++ or random free centers from ``init_size`` random samples."""
        init_size = self.init_size or 3 * self.batch_size
        init_size = min(X.shape[0], max(init_size, self.n_clusters))
        rows = np.sort(random_state.choice(X.shape[0], init_size, replace=False))
        weights = sample_weight[rows]
        if np.count_nonzero(weights) < self.n_clusters:
            rows, weights = np.arange(X.shape[0]), sample_weight
        picks = initial_picks(
            self.init, X[rows], weights, fixed, self.n_clusters, random_state, n_threads
        )
        return X[rows[picks]]

    def _step(self, X, sample_weight, n_threads, random_state, frame=None):
        """One mini-batch update; returns (batch inertia, squared shift of the
        centers in the frame's units, which keep it finite).

        Without ``frame`` (partial_fit), the step computes in X's own frame
        with weights of at most 1, and its sums come back in the user's
        coordinates and units, where the running means live (in float64).
        With ``frame`` (a fit's, found once for all its batches, see
        _framed_passes), the centers, the running weights and sample_weight
        are already in that frame's units and everything stays there.
        Callers hold the single-threaded BLAS limit (entered once per fit)."""
        n_fixed = int(self.fixed_mask_.sum())
        centers = self.cluster_centers_
        framed = frame is not None
        if framed:
            _, sums, weights, inertia = framed_block_step(
                X, sample_weight, centers, n_fixed, frame, n_threads
            )
            scale = 1.0
        else:
            frame = frame_of(X, n_threads)
            sample_weight, weight_scale = normalised_weights(sample_weight)
            _, sums, weights, inertia = framed_block_step(
                X, sample_weight, frame.to(centers), n_fixed, frame, n_threads
            )
            inertia = float(frame.squared(inertia, weight_scale))
            sums = frame.sums_back(sums, weights) * weight_scale
            weights = weights * weight_scale
            scale = frame.scale
        hit = weights > 0
        free = centers[n_fixed:]
        old = free[hit].astype(np.float64)
        total = self.counts_[hit] + weights[hit]
        new = (old * self.counts_[hit, None] + sums[hit]) / total[:, None]
        free[hit] = new
        self.counts_[hit] = total
        self.n_steps_ += 1
        if self.n_steps_ % REASSIGN_EVERY == 0:
            self._reassign_starved(X, sample_weight, free, random_state, frame if framed else None)
        return inertia, float(np.sum(((new - old) * scale) ** 2))

    def _reassign_starved(self, X, sample_weight, free, random_state, frame=None):
        """Move the free centers that received almost nothing onto samples of
        the batch (drawn in proportion to weight), as scikit-learn does: a
        center stuck far from the data otherwise never recovers, since the
        running mean only moves centers that receive samples."""
        starved = np.flatnonzero(self.counts_ < self.reassignment_ratio * self.counts_.max())
        positive = np.count_nonzero(sample_weight)
        if starved.size == 0 or starved.size >= self.n_clusters or positive == 0:
            return
        starved = starved[:positive]
        picks = random_state.choice(
            X.shape[0],
            size=starved.size,
            replace=False,
            p=sample_weight / sample_weight.sum(dtype=np.float64),
        )
        free[starved] = X[picks] if frame is None else frame.to(X[picks])
        # As if each had received as much as the least-fed healthy center.
        healthy = np.setdiff1d(np.arange(self.n_clusters), starved)
        self.counts_[starved] = self.counts_[healthy].min()

    def fit(self, X, y=None, sample_weight=None, fixed_centers=None):
        """Seed on a subset, then run mini-batch steps over shuffled passes.

        Interrupted (Ctrl-C) or out of memory, the estimator is left unfitted:
        no attribute of a half-done fit remains.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (dense). float32 stays float32, other numbers
            become float64.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (at least one positive); None means 1.
        fixed_centers : array-like of shape (n_fixed, n_features), default=None
            Centers that take part in the assignment but never move. They come
            first in ``cluster_centers_``, in the order given.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._check_params()
        for name in FITTED_ATTRIBUTES:  # a previous fit's state is replaced
            self.__dict__.pop(name, None)
        X, sample_weight = self._validate(X, sample_weight, reset=True)
        try:
            # Kept for partial_fit calls after fit.
            self._random_state = random_state = check_random_state(self.random_state)
            n_threads = effective_n_threads(self.n_threads)
            self._initialise(X, sample_weight, fixed_centers, random_state, n_threads)
            with single_threaded_blas():
                frame = self._passes(X, sample_weight, random_state, n_threads)
            self.inertia_, self.labels_ = weighted_inertia(
                X, sample_weight, self.cluster_centers_, n_threads, measured=frame
            )
        except BaseException:
            for name in FITTED_ATTRIBUTES:
                self.__dict__.pop(name, None)
            raise
        return self

    def _passes(self, X, sample_weight, random_state, n_threads):
        """Mini-batch steps over shuffled passes, until max_iter passes or an
        early stop (tol, max_no_improvement); returns X's frame."""
        # The steps compute in X's frame (see _rows), with weights of at
        # most 1: the centers, their running weights and tol (relative to
        # the variance) live there during the passes, and come back after.
        frame = frame_of(X, n_threads)
        tol = scaled_tol(X, self.tol, n_threads, frame)
        normalised, weight_scale = normalised_weights(sample_weight)
        fixed = self.cluster_centers_[self.fixed_mask_].copy()
        self.cluster_centers_ = frame.to(self.cluster_centers_)
        self.counts_ = self.counts_ / weight_scale
        try:
            self._framed_passes(X, normalised, sample_weight, random_state, n_threads, frame, tol)
        finally:
            centers = frame.back(self.cluster_centers_)
            centers[self.fixed_mask_] = fixed  # the user's own rows, bit for bit
            self.cluster_centers_ = centers
            self.counts_ = self.counts_ * weight_scale
        return frame

    def _framed_passes(self, X, normalised, sample_weight, random_state, n_threads, frame, tol):
        """The passes of _passes, in the frame."""
        n_samples = X.shape[0]
        batch_size = min(self.batch_size, n_samples)
        # Smoothed per-sample batch inertia, as scikit-learn's early stopping.
        alpha = min(1.0, 2.0 * batch_size / (n_samples + 1))
        smoothed, best, stale = None, math.inf, 0
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            order = random_state.permutation(n_samples)
            for start in range(0, n_samples, batch_size):
                rows = np.sort(order[start : start + batch_size])
                inertia, shift = self._step(
                    X[rows], normalised[rows], n_threads, random_state, frame
                )
                per_sample = inertia / max(float(sample_weight[rows].sum()), 1e-300)
                smoothed = (
                    per_sample
                    if smoothed is None
                    else ((1 - alpha) * smoothed + alpha * per_sample)
                )
                if smoothed < best:
                    best, stale = smoothed, 0
                else:
                    stale += 1
                if (tol > 0 and shift <= tol) or (
                    self.max_no_improvement is not None and stale >= self.max_no_improvement
                ):
                    return

    def partial_fit(self, X, y=None, sample_weight=None, fixed_centers=None):
        """One mini-batch step on X; the first call also seeds the centers.

        ``fixed_centers`` sets the fixed centers on the first call; later
        calls may pass the same ones again (a loop naturally does), and are
        refused if they differ, as scikit-learn treats ``classes`` in
        ``partial_fit``. After the first call X is cast to the fitted dtype.
        A step interrupted (Ctrl-C) leaves the centers of the previous step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The mini-batch (dense), all of it used in one step.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch (at least one positive); None
            means 1.
        fixed_centers : array-like of shape (n_fixed, n_features), default=None
            The fixed centers, set by the first call; a later call may pass
            the same ones again or None.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first = not hasattr(self, "cluster_centers_")
        self._check_params()
        X, sample_weight = self._validate(X, sample_weight, reset=first)
        n_threads = effective_n_threads(self.n_threads)
        if first:
            self._random_state = check_random_state(self.random_state)
            self._initialise(X, sample_weight, fixed_centers, self._random_state, n_threads)
        elif fixed_centers is not None:
            self._check_same_fixed_centers(fixed_centers, X)
        state = self.cluster_centers_.copy(), self.counts_.copy(), self.n_steps_
        try:
            with single_threaded_blas():
                self._step(X, sample_weight, n_threads, self._random_state)
        except BaseException:
            self.cluster_centers_, self.counts_, self.n_steps_ = state
            raise
        return self

    def _check_same_fixed_centers(self, fixed_centers, X):
        """Accept fixed centers equal to those already set; refuse others."""
        given = check_fixed_centers(fixed_centers, X.shape[1], X.dtype)
        current = self.cluster_centers_[self.fixed_mask_]
        if given.shape != current.shape or not np.array_equal(given, current):
            raise ValueError(
                "fixed_centers differ from the fixed centers set by the first call "
                f"to partial_fit ({current.shape[0]} rows); they cannot change "
                "between calls. Pass the same ones, or None."
            )
