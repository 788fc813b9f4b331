"""Distances, nearest centers and inertia by the compiled core, in a frame.

Every function takes validated samples X (C-contiguous dense or canonical
CSR, float32 or float64) and computes in X's frame (see
:mod:`iwkmeans._core._frame`): centers "in user coordinates" are moved into
it here, "framed" ones are in it already. Results come back in the user's
units unless the name says "framed".
"""

import numpy as np
from scipy import sparse
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils.sparsefuncs import mean_variance_axis

from ._frame import FAR_LIMIT, frame_of, normalised_weights
from ._kernels import _common, _lloyd
from ._threads import effective_n_threads, single_threaded_blas

# Rows framed at once by ScaledRows.mean (a few MiB of float64).
_MEAN_BLOCK_ROWS = 1 << 14


def nearest_centers(X, centers, n_threads, frame=None):
    """Index of the nearest row of ``centers`` (user coordinates) for each
    row of X (validated, dense or CSR), computed by the compiled core in
    chunks, in X's frame (see iwkmeans._core._frame)."""
    frame = frame or frame_of(X, effective_n_threads(n_threads), centers)
    return framed_nearest(X, frame.to(centers), frame, n_threads)


def sq_distances_to(X, centers, labels, n_threads, frame=None):
    """Squared distance of each row of X to ``centers[labels]``, in float64
    (inf where it exceeds float64's range)."""
    frame = frame or frame_of(X, effective_n_threads(n_threads), centers)
    return frame.squared(framed_sq_distances(X, frame.to(centers), labels, frame, n_threads))


def framed_nearest(X, framed_centers, frame, n_threads):
    """Index of the nearest of ``framed_centers`` (in ``frame``) for each row
    of validated X."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    with single_threaded_blas():
        _lloyd.assign(*frame.rows(X), framed_centers, labels, effective_n_threads(n_threads))
    return labels


def framed_sq_distances(X, framed_centers, labels, frame, n_threads):
    """Squared distance of each row of validated X to
    ``framed_centers[labels]``, in the frame's units (the true ones times
    ``frame.scale**2``, so never overflowing), float64, computed from the
    differences (no cancellation)."""
    out = np.empty(X.shape[0])
    _lloyd.label_distances(
        *frame.rows(X), framed_centers, labels, out, effective_n_threads(n_threads)
    )
    return out


def scaled_tol(X, tol, n_threads, frame):
    """scikit-learn's meaning of ``tol`` (relative to the mean per-feature
    variance), in the frame's units, as the kernels compare it; 0 needs no
    pass over X."""
    if tol == 0:
        return 0.0
    if sparse.issparse(X):
        # The variance of x * scale, without a scaled copy of X's values.
        scaled = sparse.csr_matrix(
            (X.data * X.dtype.type(frame.scale), X.indices, X.indptr), shape=X.shape
        )
        return float(np.mean(mean_variance_axis(scaled, axis=0)[1])) * tol
    if frame.around_origin:
        # Data around the origin: their variance, times the scale squared
        # (a power of two), is the frame's, without framing every value.
        return _common.mean_variance(X, None, 1.0, n_threads) * frame.scale * frame.scale * tol
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
    far = np.flatnonzero(np.any(np.abs(framed_centers) >= FAR_LIMIT[X.dtype.type], axis=1))
    out = np.empty((X.shape[0], framed_centers.shape[0]), dtype=X.dtype)
    for start in range(0, X.shape[0], block_rows):
        rows = X[start : start + block_rows]
        if sparse.issparse(rows):
            block = rows * X.dtype.type(frame.scale)
        else:
            block = frame.to(rows)
        distances = euclidean_distances(block, framed_centers)
        with np.errstate(over="ignore"):
            out[start : start + block_rows] = distances / frame.scale
        for j in far:
            out[start : start + block_rows, j] = far_distances(rows, centers[j])
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


def weighted_inertia(X, sample_weight, centers, n_threads, measured=None):
    """sum_i w_i min_c ||x_i - c||^2 of validated X over ``centers`` (user
    coordinates), computed in a frame of X that covers the centers too
    (``measured``: a frame of X found before, whose measure of X it reuses,
    see frame_of); returns (inertia, labels)."""
    frame = frame_of(X, n_threads, centers, measured=measured)
    weights, weight_scale = normalised_weights(sample_weight)
    labels, inertia = framed_inertia(X, weights, frame.to(centers), frame, n_threads)
    return float(frame.squared(inertia, weight_scale)), labels


def framed_inertia(X, weights, framed_centers, frame, n_threads):
    """(labels, inertia in the frame's units) of validated X on
    ``framed_centers`` with weights of at most 1."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    with single_threaded_blas():
        _lloyd.assign(*frame.rows(X), framed_centers, labels, n_threads)
        inertia = _lloyd.total_inertia(*frame.rows(X), weights, framed_centers, labels, n_threads)
    return labels, float(inertia)


class ScaledRows:
    """The rows of X (dense or CSR) as the compiled core reads them, in a
    frame ``y = x * scale - reference * scale`` (a
    :class:`~iwkmeans._core._frame.Frame`), and squared distances computed in it.

    Squared distances between framed rows are the true ones times
    ``scale**2``, a power of two, so every decision taken on them (nearest,
    farthest, sums compared, draws proportional to them) is the one taken
    on exact values, while:

    - no square overflows or underflows, whatever the finite values: the
      scale brings every ``|x - reference|`` over X and ``others`` (the
      labeled rows or centers the rows are compared with) to at most 1;
    - data far from the origin loses no precision to its offset: dense rows
      are measured from a reference point among them (made of values of X,
      so that shifted and power-of-two scaled copies of the same data are
      framed bit for bit alike). CSR rows keep the origin (their zeros are
      data, and a shift would make them dense), as does ``shift=False``,
      for quantities measured from the origin such as BADGE's embeddings.

    The distances are computed by the compiled core from the differences of
    the rows, framed on the fly: no copy of X is formed.

    Parameters
    ----------
    X : validated dense array or CSR matrix
    *others : validated dense arrays with X's columns
        Points the rows are compared with; the scale covers them too.
    shift : bool, default=True
        Measure dense rows from the reference point (CSR rows never are).
    bound : float, default=0
        A magnitude that must also scale to at most 1 (BADGE's constant
        input of the intercept).
    n_threads : int, default=None
    """

    def __init__(self, X, *others, shift=True, bound=0.0, n_threads=None):
        self.X = X
        self.frame = frame_of(X, effective_n_threads(n_threads), *others, shift=shift, bound=bound)
        self.scale = self.frame.scale

    def transform(self, A):
        """Rows A (dense with X's columns, or CSR) in the frame, in X's dtype,
        rounded as the core frames X's own rows."""
        if sparse.issparse(A):
            return sparse.csr_matrix(
                (
                    np.multiply(A.data, self.scale, dtype=np.float64).astype(A.dtype),
                    A.indices,
                    A.indptr,
                ),
                shape=A.shape,
            )
        return self.frame.to(A)

    def mean(self):
        """The mean row of X, in the frame (in float64, block by block: no
        copy of X, and no sum that could overflow)."""
        total = np.zeros(self.X.shape[1])
        for start in range(0, self.X.shape[0], _MEAN_BLOCK_ROWS):
            block = self.X[start : start + _MEAN_BLOCK_ROWS]
            if sparse.issparse(block):
                total += np.asarray(block.sum(axis=0, dtype=np.float64)).ravel() * self.scale
            else:
                total += self.frame.to(block).sum(axis=0, dtype=np.float64)
        return total / self.X.shape[0]

    def sq_distances_to(self, centers, labels=None, n_threads=None):
        """Squared distance, in the frame, of each row of X to
        ``centers[labels[i]]`` (centers in the frame; labels int32, default
        all 0)."""
        if labels is None:
            labels = np.zeros(self.X.shape[0], dtype=np.int32)
        return framed_sq_distances(
            self.X, np.asarray(centers, dtype=self.X.dtype), labels, self.frame, n_threads
        )

    def nearest(self, centers, n_threads=None):
        """Index of the nearest of ``centers`` (in the frame) for each row of
        X, and the squared distance to it, in the frame."""
        centers = np.asarray(centers, dtype=self.X.dtype)
        labels = framed_nearest(self.X, centers, self.frame, n_threads)
        return labels, framed_sq_distances(self.X, centers, labels, self.frame, n_threads)
