"""IncrementalKMeans: weighted K-Means in which some centers are fixed."""

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import (
    effective_n_threads,
    frame_of,
    framed_distances,
    lloyd_fit,
    nearest_centers,
    weighted_inertia,
)
from .._validation import (
    FLOAT_DTYPES,
    canonical_csr,
    check_fixed_centers,
    check_init,
    check_int,
    check_n_free,
    check_n_threads,
    check_random_state_in_call,
    check_sample_weight,
    check_tol,
    screen_input,
)


class FittedCentersMixin:
    """predict, transform and score for estimators with ``cluster_centers_``
    (fixed ones first) and an ``n_threads`` parameter."""

    def _check_test_data(self, X):
        check_is_fitted(self)
        screen_input(X, "X")
        X = validate_data(self, X, dtype=FLOAT_DTYPES, order="C", reset=False, accept_sparse="csr")
        # Compute in X's dtype: casting the few centers is cheaper than copying X.
        return canonical_csr(X, "X"), self.cluster_centers_.astype(X.dtype, copy=False)

    def predict(self, X):
        """Index into ``cluster_centers_`` of the nearest center of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, dense or CSR. float32 stays float32, other numbers
            become float64; the centers are cast to X's dtype.

        Returns
        -------
        labels : ndarray of int32 of shape (n_samples,)
            Row of ``cluster_centers_`` (fixed centers included) nearest to
            each sample; ties go to the lowest index.
        """
        X, centers = self._check_test_data(X)
        return nearest_centers(X, centers, self.n_threads)

    def transform(self, X):
        """Euclidean distances of each sample to every center (fixed ones first).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, dense or CSR. float32 stays float32, other numbers
            become float64.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_centers)
            Distance of each sample to each row of ``cluster_centers_``, in
            X's dtype.
        """
        X, centers = self._check_test_data(X)
        return framed_distances(
            X, centers, frame_of(X, effective_n_threads(self.n_threads), centers)
        )

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X on the fitted centers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples, dense or CSR.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (at least one positive); None means 1.

        Returns
        -------
        score : float
            ``-sum_i w_i * min_c ||x_i - c||^2``, ``c`` ranging over all the
            centers, fixed ones included (higher is better).
        """
        X, centers = self._check_test_data(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return -weighted_inertia(X, sample_weight, centers, effective_n_threads(self.n_threads))[0]


class LloydKMeansBase(ClusterMixin, TransformerMixin, BaseEstimator):
    """What the in-memory and the Dask estimators share: Lloyd's parameters
    (their meaning is documented on :class:`IncrementalKMeans`), their
    checks and :meth:`extend`. A subclass lists its own ``__init__`` (the
    parameters scikit-learn reads) and names the seeding its ``init``
    falls back to (``default_init``) and those it accepts (``inits``)."""

    default_init = "k-means++"
    inits = ("k-means++", "random")

    def __init__(
        self,
        n_clusters=8,
        *,
        init,
        n_init=1,
        max_iter=300,
        tol=1e-4,
        random_state=None,
        n_threads=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def _check_params(self, X):
        """Validate the hyper-parameters; return (free init array or None, n_init)."""
        check_int(self.n_init, "n_init", min_val=1)
        check_int(self.max_iter, "max_iter", min_val=1)
        check_int(self.verbose, "verbose", min_val=0)
        check_tol(self.tol)
        check_n_threads(self.n_threads)
        return check_init(self.init, self.inits, self.n_clusters, X, self.n_init)

    def extend(self, X, n_new, *, sample_weight=None):
        """Fit ``n_new`` more clusters, keeping every current center fixed.

        "k new clusters given everything found so far": returns a new fitted
        estimator whose first rows are this estimator's ``cluster_centers_``
        (fixed, unchanged) followed by ``n_new`` free centers. ``labels_``
        and ``predict`` range over all of them. This estimator is unchanged.
        Equivalent to ``fit(X, fixed_centers=self.cluster_centers_)`` on a
        clone with ``n_clusters=n_new``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data for the new round (the same data or new data).
        n_new : int
            Number of new free clusters.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples of X; None means 1.

        Returns
        -------
        extended : estimator of the same class
            The new fitted estimator.
        """
        check_is_fitted(self)
        # An init array was sized for this estimator's free clusters.
        init = self.init if isinstance(self.init, str) else self.default_init
        extended = clone(self).set_params(n_clusters=n_new, init=init)
        return extended.fit(X, sample_weight=sample_weight, fixed_centers=self.cluster_centers_)


class IncrementalKMeans(FittedCentersMixin, LloydKMeansBase):
    """Weighted K-Means (Lloyd) with optional fixed centers.

    Minimises ``sum_i w_i * min_c ||x_i - c||^2`` over ``n_clusters`` free
    centers, where ``c`` ranges over the fixed centers and the free ones.
    Fixed centers attract samples like any center but never move, so new
    clusters form where the data is not already covered: "fit k new clusters
    given everything found so far". Without fixed centers this is
    scikit-learn's ``KMeans(algorithm="lloyd")``.

    The whole Lloyd loop runs in compiled code, without the GIL, on OpenMP
    threads. Results are bit-identical for any ``n_threads``.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of free clusters (in addition to the fixed ones).
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features), \
            default="k-means++"
        Initial free centers. "k-means++" is greedy, weighted k-means++ that
        starts from the fixed centers; "random" draws ``n_clusters`` distinct
        samples with probability proportional to their weight; an array gives
        the free centers directly.
    n_init : int, default=1
        Number of initialisations; the fit of lowest inertia is kept. Ignored
        (with a warning) when ``init`` is an array.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per initialisation.
    tol : float, default=1e-4
        Stop when the summed squared shift of the free centers is at most
        ``tol`` times the mean per-feature variance of X (scikit-learn's
        meaning of ``tol``), or when no label changes.
    random_state : int, RandomState instance or None, default=None
        Source of every random number used by the initialisation.
    n_threads : int, default=None
        OpenMP threads. None: ``OMP_NUM_THREADS`` or the limit set with
        ``threadpoolctl.threadpool_limits`` if any, else all physical cores.
    verbose : int, default=0
        If positive, print the inertia after each assignment step.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_fixed + n_clusters, n_features)
        The fixed centers (bit-identical to the input, in X's dtype) followed
        by the free centers.
    fixed_mask_ : ndarray of bool of shape (n_fixed + n_clusters,)
        True for the fixed rows of ``cluster_centers_``.
    labels_ : ndarray of shape (n_samples,)
        Index into ``cluster_centers_`` of each sample's nearest center.
    inertia_ : float
        Weighted sum of squared distances of the samples to their centers.
    n_iter_ : int
        Lloyd iterations run by the kept initialisation.
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from iwkmeans import IncrementalKMeans
    >>> X = np.array([[0., 0.], [0., 1.], [10., 0.], [10., 1.]])
    >>> km = IncrementalKMeans(n_clusters=1, random_state=0)
    >>> km = km.fit(X, fixed_centers=[[0., 0.5]])
    >>> km.cluster_centers_
    array([[ 0. ,  0.5],
           [10. ,  0.5]])
    >>> km.labels_
    array([0, 0, 1, 1], dtype=int32)
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y=None, sample_weight=None, fixed_centers=None):
        """Compute the free centers.

        Interrupted (Ctrl-C, within one Lloyd iteration or one k-means++
        pick) or out of memory, the estimator is left unfitted: no attribute
        of an earlier fit or of the half-done one remains.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Never modified; a C-contiguous float32/float64
            array (memory-mapped ones included) is used without a copy, as
            is a CSR matrix without duplicate entries (other sparse formats
            are converted to CSR).
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
        try:
            return self._fit(X, sample_weight, fixed_centers)
        except BaseException:
            for name in (
                "cluster_centers_",
                "labels_",
                "n_iter_",
                "inertia_",
                "fixed_mask_",
                "n_features_in_",
            ):
                self.__dict__.pop(name, None)
            raise

    def _fit(self, X, sample_weight, fixed_centers):
        screen_input(X, "X")
        X = canonical_csr(
            validate_data(self, X, dtype=FLOAT_DTYPES, order="C", accept_sparse="csr"),
            "X",
        )
        free_init, n_init = self._check_params(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        fixed_centers = check_fixed_centers(fixed_centers, X.shape[1], X.dtype)
        check_n_free(self.n_clusters, sample_weight)
        n_fixed = fixed_centers.shape[0]
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = lloyd_fit(
            X,
            sample_weight,
            fixed_centers,
            self.n_clusters,
            init=self.init if free_init is None else free_init,
            n_init=n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=check_random_state_in_call(self.random_state),
            n_threads=effective_n_threads(self.n_threads),
            verbose=self.verbose,
        )
        self.fixed_mask_ = np.arange(self.cluster_centers_.shape[0]) < n_fixed
        return self
