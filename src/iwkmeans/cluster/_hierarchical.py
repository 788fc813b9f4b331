"""HierarchicalKMeans: levels of clusters, each level's centers fixed for the next."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from .._core import effective_n_threads, lloyd_fit, nearest_centers
from .._validation import (
    FLOAT_DTYPES,
    check_int,
    check_n_free,
    check_n_threads,
    check_sample_weight,
    check_tol,
    screen_input,
)
from ._incremental import FittedCentersMixin


class HierarchicalKMeans(FittedCentersMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """K-Means in levels: each level adds clusters around all earlier ones.

    Level 1 fits ``n_clusters[0]`` clusters. Level l+1 fits
    ``n_clusters[l]`` *new* clusters with every center of levels 1..l fixed
    (:class:`IncrementalKMeans` with ``fixed_centers``): the new centers go
    where the earlier ones leave data poorly covered, and the earlier centers
    never move. Each new center records its parent, the nearest center of the
    level just above it.

    How this differs from scikit-learn's ``BisectingKMeans``: bisecting
    K-Means is divisive (it splits one cluster in two at a time, and a
    sample's finer cluster lies inside its coarser one). Here the hierarchy
    is additive: the user chooses how many centers each level adds, a finer
    level may take samples from any coarser cluster, and the coarse centers
    stay exactly where they were fitted, so they keep describing the data
    at their own scale.

    Parameters
    ----------
    n_clusters : int or sequence of int, default=(8,)
        New clusters per level; an int means one level.
    init : {"k-means++", "random"}, default="k-means++"
        Seeding of each level's new centers, as in :class:`IncrementalKMeans`;
        an array is not accepted.
    n_init : int, default=1
        Initialisations per level, as in :class:`IncrementalKMeans`.
    max_iter : int, default=300
        Maximum Lloyd iterations per initialisation of each level.
    tol : float, default=1e-4
        Convergence tolerance of each level, as in :class:`IncrementalKMeans`.
    random_state : int, RandomState instance or None, default=None
        Seeds every level (one generator, used level after level).
    n_threads : int, default=None
        OpenMP threads, as in :class:`IncrementalKMeans`.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (sum(n_clusters), n_features)
        The centers of all levels, level 1 first.
    level_ : ndarray of int of shape (sum(n_clusters),)
        Level of each center, counted from 0.
    parent_ : ndarray of int of shape (sum(n_clusters),)
        Index into ``cluster_centers_`` of each center's parent (the nearest
        center of the previous level); -1 on level 0.
    labels_ : ndarray of shape (n_samples,)
        Nearest center of all levels for each sample (the finest labels).
    inertia_ : float
        Weighted inertia of the finest labels.
    n_iter_ : int
        Lloyd iterations run, summed over the levels.
    n_features_in_ : int
        Number of features seen during fit.
    """

    def __init__(
        self,
        n_clusters=(8,),
        *,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        random_state=None,
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_threads = n_threads

    def _levels(self):
        levels = (
            (self.n_clusters,) if isinstance(self.n_clusters, Integral) else tuple(self.n_clusters)
        )
        if not levels:
            raise ValueError("n_clusters must name at least one level; got ().")
        for k in levels:
            check_int(k, "n_clusters", min_val=1)
        if not isinstance(self.init, str) or self.init not in ("k-means++", "random"):
            got = repr(self.init) if isinstance(self.init, str) else type(self.init).__name__
            raise ValueError(
                f"init must be 'k-means++' or 'random' for HierarchicalKMeans; got {got}."
            )
        return levels

    def fit(self, X, y=None, sample_weight=None):
        """Fit the levels one after the other.

        X, sample_weight and the parameters are checked once, here; every
        level then runs the trusted fit (:func:`iwkmeans._core.lloyd_fit`)
        with the centers of the levels before it fixed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (dense). float32 stays float32, other numbers
            become float64.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, the same for every level; None means 1.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        screen_input(X, "X")
        X = validate_data(self, X, dtype=FLOAT_DTYPES, order="C")
        levels = self._levels()
        check_int(self.n_init, "n_init", min_val=1)
        check_int(self.max_iter, "max_iter", min_val=1)
        check_tol(self.tol)
        check_n_threads(self.n_threads)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        for k in levels:
            check_n_free(k, sample_weight)
        random_state = check_random_state(self.random_state)
        n_threads = effective_n_threads(self.n_threads)
        centers = np.empty((0, X.shape[1]), dtype=X.dtype)
        level_of, parent_of = [], []
        n_iter = 0
        for level, k in enumerate(levels):
            fitted, labels, inertia, level_iter = lloyd_fit(
                X,
                sample_weight,
                centers,
                k,
                init=self.init,
                n_init=self.n_init,
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=random_state,
                n_threads=n_threads,
            )
            new = fitted[len(centers) :]
            if level == 0:
                parent_of += [-1] * k
            else:
                previous = np.flatnonzero(np.asarray(level_of) == level - 1)
                nearest = nearest_centers(new, centers[previous], n_threads)
                parent_of += previous[nearest].tolist()
            level_of += [level] * k
            centers = fitted
            n_iter += level_iter
        self.cluster_centers_ = centers
        self.level_ = np.asarray(level_of)
        self.parent_ = np.asarray(parent_of)
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def predict(self, X, level=None):
        """Index into ``cluster_centers_`` of the nearest center of levels
        0..``level`` (all levels if None).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, dense or CSR. float32 stays float32, other numbers
            become float64.
        level : int, default=None
            Finest level whose centers take part, counted from 0; None means
            all levels (the nearest center of all, as ``labels_``).

        Returns
        -------
        labels : ndarray of int32 of shape (n_samples,)
            Row of ``cluster_centers_`` nearest to each sample among the
            centers of levels 0..``level``.
        """
        X, centers = self._check_test_data(X)
        if level is not None:
            check_int(level, "level", min_val=0, max_val=int(self.level_.max()))
            # Levels are stored in order, so levels 0..level are a prefix.
            centers = centers[: np.count_nonzero(self.level_ <= level)]
        return nearest_centers(X, centers, self.n_threads)
