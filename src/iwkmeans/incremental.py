"""IncrementalKMeans: weighted K-Means in which some centers are fixed."""

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_is_fitted, validate_data

from ._kmeans import _common, _lloyd

from ._parallel import effective_n_threads, single_threaded_blas
from ._rows import FAR_LIMIT, frame_of, normalised_weights, take_rows
from ._validation import (
    check_int,
    FLOAT_DTYPES,
    canonical_csr,
    check_fixed_centers,
    check_init,
    check_n_free,
    check_n_threads,
    check_sample_weight,
    check_tol,
    screen_input,
)
from .seeding import initial_picks


def nearest_centers(X, centers, n_threads, frame=None):
    """Index of the nearest row of ``centers`` (user coordinates) for each
    row of X (validated, dense or CSR), computed by the compiled core in
    chunks, in X's frame (see _rows)."""
    frame = frame or frame_of(X, effective_n_threads(n_threads), centers)
    return framed_nearest(X, frame.to(centers), frame, n_threads)


def nearest_centers_and_distances(X, centers, n_threads):
    """:func:`nearest_centers`, and the squared distance of each row of X to
    its nearest center, in float64, computed from ``x - c`` itself (no
    cancellation error)."""
    frame = frame_of(X, effective_n_threads(n_threads), centers)
    framed_centers = frame.to(centers)
    labels = framed_nearest(X, framed_centers, frame, n_threads)
    return labels, frame.squared(
        framed_sq_distances(X, framed_centers, labels, frame, n_threads))


def sq_distances_to(X, centers, labels, n_threads, frame=None):
    """Squared distance of each row of X to ``centers[labels]``, in float64
    (inf where it exceeds float64's range)."""
    frame = frame or frame_of(X, effective_n_threads(n_threads), centers)
    return frame.squared(framed_sq_distances(X, frame.to(centers), labels, frame,
                                             n_threads))


def framed_nearest(X, framed_centers, frame, n_threads):
    """Index of the nearest of ``framed_centers`` (in ``frame``) for each row
    of validated X."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    with single_threaded_blas():
        _lloyd.assign(*frame.rows(X), framed_centers, labels,
                      effective_n_threads(n_threads))
    return labels


def framed_sq_distances(X, framed_centers, labels, frame, n_threads):
    """Squared distance of each row of validated X to
    ``framed_centers[labels]``, in the frame's units (the true ones times
    ``frame.scale**2``, so never overflowing), float64, computed from the
    differences (no cancellation)."""
    out = np.empty(X.shape[0])
    _lloyd.label_distances(*frame.rows(X), framed_centers, labels, out,
                           effective_n_threads(n_threads))
    return out


def sq_row_norms(X, n_threads):
    """||x_i||^2 of each row of X (dense or CSR), in float64, by the core."""
    origin = np.zeros((1, X.shape[1]), dtype=X.dtype)
    return sq_distances_to(X, origin, np.zeros(X.shape[0], dtype=np.int32), n_threads)


def scaled_tol(X, tol, n_threads, frame):
    """scikit-learn's meaning of ``tol`` (relative to the mean per-feature
    variance), in the frame's units, as the kernels compare it; 0 needs no
    pass over X."""
    if tol == 0:
        return 0.0
    if sparse.issparse(X):
        # The variance of x * scale, without a scaled copy of X's values.
        scaled = sparse.csr_matrix((X.data * X.dtype.type(frame.scale), X.indices,
                                    X.indptr), shape=X.shape)
        return float(np.mean(mean_variance_axis(scaled, axis=0)[1])) * tol
    if frame.around_origin:
        # Data around the origin: their variance, times the scale squared
        # (a power of two), is the frame's, without framing every value.
        return (_common.mean_variance(X, None, 1.0, n_threads)
                * frame.scale * frame.scale * tol)
    return _common.mean_variance(X, frame.shift, frame.scale, n_threads) * tol


def framed_distances(X, centers, frame, block_rows=4096):
    """Euclidean distances of every row of X to every center (user
    coordinates), computed in the frame block by block (only a block of X
    is ever framed in memory), in X's dtype.

    Centers too far outside the frame to be represented in it (see
    Frame.to) are measured in float64 from the differences instead, with a
    power-of-two rescaling against overflow: far from every sample, their
    distances lose nothing to cancellation."""
    framed_centers = frame.to(centers)
    far = np.flatnonzero(np.any(np.abs(framed_centers) >= FAR_LIMIT[X.dtype.type],
                                axis=1))
    out = np.empty((X.shape[0], framed_centers.shape[0]), dtype=X.dtype)
    for start in range(0, X.shape[0], block_rows):
        rows = X[start:start + block_rows]
        if sparse.issparse(rows):
            block = rows * X.dtype.type(frame.scale)
        else:
            block = frame.to(rows)
        distances = euclidean_distances(block, framed_centers)
        with np.errstate(over="ignore"):
            out[start:start + block_rows] = distances / frame.scale
        for j in far:
            out[start:start + block_rows, j] = far_distances(rows, centers[j])
    return out


def far_distances(rows, center):
    """||x - center|| for the rows (dense or CSR) and one center, in float64
    from the differences, rescaled by a power of two so that no square
    overflows (inf only where the distance itself exceeds float64)."""
    rows = rows.toarray() if sparse.issparse(rows) else rows
    diff = np.asarray(rows, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    top = np.abs(diff).max(axis=1, keepdims=True)
    exponent = np.frexp(np.where(top > 0, top, 1.0))[1]
    scaled = np.ldexp(diff, -exponent)
    with np.errstate(over="ignore"):
        return np.ldexp(np.sqrt(np.einsum("ij,ij->i", scaled, scaled)), exponent[:, 0])


class FittedCentersMixin:
    """predict, transform and score for estimators with ``cluster_centers_``
    (fixed ones first) and an ``n_threads`` parameter."""

    def _check_test_data(self, X):
        check_is_fitted(self)
        screen_input(X, "X")
        X = validate_data(self, X, dtype=FLOAT_DTYPES, order="C", reset=False,
                          accept_sparse="csr")
        # Compute in X's dtype: casting the few centers is cheaper than copying X.
        return canonical_csr(X, "X"), self.cluster_centers_.astype(X.dtype, copy=False)

    def predict(self, X):
        """Index into ``cluster_centers_`` of the nearest center of each sample."""
        X, centers = self._check_test_data(X)
        return nearest_centers(X, centers, self.n_threads)

    def transform(self, X):
        """Euclidean distances of each sample to every center (fixed ones first)."""
        X, centers = self._check_test_data(X)
        return framed_distances(
            X, centers, frame_of(X, effective_n_threads(self.n_threads), centers))

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the weighted inertia of X on the fitted centers."""
        X, centers = self._check_test_data(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return -weighted_inertia(X, sample_weight, centers,
                                 effective_n_threads(self.n_threads))[0]


def weighted_inertia(X, sample_weight, centers, n_threads):
    """sum_i w_i min_c ||x_i - c||^2 of validated X over ``centers`` (user
    coordinates), computed in a frame of X that covers the centers too;
    returns (inertia, labels)."""
    frame = frame_of(X, n_threads, centers)
    weights, weight_scale = normalised_weights(sample_weight)
    framed_centers = frame.to(centers)
    labels = np.empty(X.shape[0], dtype=np.int32)
    with single_threaded_blas():
        _lloyd.assign(*frame.rows(X), framed_centers, labels, n_threads)
        inertia = _lloyd.total_inertia(*frame.rows(X), weights, framed_centers,
                                       labels, n_threads)
    return float(frame.squared(inertia, weight_scale)), labels


class IncrementalKMeans(FittedCentersMixin, ClusterMixin, TransformerMixin,
                        BaseEstimator):
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
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self, X):
        """Validate the hyper-parameters; return (free init array or None, n_init)."""
        check_int(self.n_init, "n_init", min_val=1)
        check_int(self.max_iter, "max_iter", min_val=1)
        check_int(self.verbose, "verbose", min_val=0)
        check_tol(self.tol)
        check_n_threads(self.n_threads)
        return check_init(self.init, ("k-means++", "random"), self.n_clusters, X,
                          self.n_init)

    def fit(self, X, y=None, sample_weight=None, fixed_centers=None):
        """Compute the free centers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Never modified; a C-contiguous float32/float64
            array (memory-mapped ones included) is used without a copy, as
            is a CSR matrix without duplicate entries (other sparse formats
            are converted to CSR).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (at least one positive); None means 1.
        fixed_centers : array-like of shape (n_fixed, n_features), default=None
            Centers that take part in the assignment but never move. They come
            first in ``cluster_centers_``, in the order given.

        Returns
        -------
        self

        Interrupted (Ctrl-C, within one Lloyd iteration or one k-means++
        pick) or out of memory, the estimator is left unfitted: no attribute
        of an earlier fit or of the half-done one remains.
        """
        try:
            return self._fit(X, sample_weight, fixed_centers)
        except BaseException:
            for name in ("cluster_centers_", "labels_", "n_iter_", "inertia_",
                         "fixed_mask_", "n_features_in_"):
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
        random_state = check_random_state(self.random_state)
        n_threads = effective_n_threads(self.n_threads)
        n_fixed = fixed_centers.shape[0]
        # The kernels compute in X's frame (see _rows) with weights of at
        # most 1; the results are brought back to the user's units below.
        frame = frame_of(X, n_threads)
        weights, weight_scale = normalised_weights(sample_weight)
        framed_fixed = frame.to(fixed_centers)
        tol = scaled_tol(X, self.tol, n_threads, frame)

        best = None
        with single_threaded_blas():
            for _ in range(n_init):
                if free_init is None:
                    free_init_run = take_rows(X, initial_picks(
                        self.init, X, weights, fixed_centers, self.n_clusters,
                        random_state, n_threads, frame,
                    ))
                else:
                    free_init_run = free_init
                centers = np.concatenate([framed_fixed, frame.to(free_init_run)])
                labels = np.empty(X.shape[0], dtype=np.int32)
                if self.verbose:
                    print("Initialization complete")
                n_iter, inertia = _lloyd.lloyd(
                    *frame.rows(X), X.shape[1], weights, centers, n_fixed,
                    self.max_iter, tol, labels, n_threads, bool(self.verbose),
                    weight_scale,
                )
                if best is None or inertia < best[3]:
                    best = (centers, labels, n_iter, inertia)

        framed_centers, self.labels_, self.n_iter_, inertia = best
        # Fixed centers are the user's rows themselves, bit for bit.
        self.cluster_centers_ = np.concatenate(
            [fixed_centers, frame.back(framed_centers[n_fixed:])])
        self.inertia_ = float(frame.squared(inertia, weight_scale))
        self.fixed_mask_ = np.arange(self.cluster_centers_.shape[0]) < n_fixed
        return self

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

        Returns
        -------
        IncrementalKMeans
        """
        check_is_fitted(self)
        # An init array was sized for this estimator's free clusters.
        init = self.init if isinstance(self.init, str) else "k-means++"
        extended = clone(self).set_params(n_clusters=n_new, init=init)
        return extended.fit(X, sample_weight=sample_weight,
                            fixed_centers=self.cluster_centers_)

