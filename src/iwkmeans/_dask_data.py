"""Dask inputs: validation, and a row-chunked array as one task per chunk.

Shapes and dtypes are checked at once; values (NaN, infinity, negative
weights) can only be checked by reading the data, so :func:`check_values`
reads X and the weights in one pass, which also yields what a fit needs
from all of X (the mean variance behind ``tol``), with little memory per
chunk. Numpy inputs are
validated by the package's usual helpers and wrapped in a Dask array.
"""
import math

import dask
import dask.array as da
import numpy as np

from . import _chunk_tasks
from ._validation import (
    FLOAT_DTYPES,
    check_data,
    check_n_free,
    check_sample_weight,
    reject_non_numeric,
)


def as_dask_data(X, name="X"):
    """X as a Dask array of float32/float64 with all features in one chunk.

    float32 stays float32, bools and integers become float64 (lazily). A
    numpy input is validated and cut into chunks of rows.
    """
    if not isinstance(X, da.Array):
        return da.from_array(check_data(X, name), chunks=("auto", -1))
    reject_non_numeric(X, name)
    if X.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must contain real numbers (bool, int or float); got dtype {X.dtype}."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D, of shape (n_samples, n_features); got "
            f"{X.ndim} dimension(s)."
        )
    if any(math.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"{name} has chunks of unknown size; call {name}.compute_chunk_sizes() first."
        )
    if 0 in X.shape:
        raise ValueError(
            f"{name} must have at least one sample and one feature; got shape {X.shape}."
        )
    if X.dtype not in FLOAT_DTYPES:
        X = X.astype(np.float64)
    return X.rechunk({1: -1})


def as_dask_weights(sample_weight, X, name="sample_weight"):
    """Weights as a Dask array in X's dtype, chunked like X's rows; None
    stays None (all ones: no array to read or move between workers).

    A numpy input is validated at once (negative, non-finite); a Dask one
    by :func:`check_values`.
    """
    rows = (X.chunks[0],)
    if sample_weight is None:
        return None
    if not isinstance(sample_weight, da.Array):
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype, name=name,
                                      require_positive=False)
        return da.from_array(weights, chunks=rows)
    reject_non_numeric(sample_weight, name)
    if sample_weight.shape != (X.shape[0],):
        raise ValueError(
            f"{name} must have shape ({X.shape[0]},) to match the samples; "
            f"got shape {sample_weight.shape}."
        )
    return sample_weight.astype(X.dtype).rechunk(rows)


def keep_on_workers(X, sample_weight, X_in_memory):
    """Persist what every pass reads and is cheap to keep: the weights (one
    value per sample) and X when it was given as a numpy array (in memory
    already). Otherwise every pass would send that array inside its graph
    again, and redo the weights' conversion; a Dask X is left as it is, so
    an X larger than memory is still read chunk by chunk."""
    if X_in_memory:
        X = X.persist()
    if sample_weight is not None:
        sample_weight = sample_weight.persist()
    return X, sample_weight


def check_values(X, sample_weight, *, weight_name="sample_weight",
                 require_positive=True, variance=True):
    """Read X and the weights once; raise a ValueError naming the argument
    if X is not finite or the weights are not finite and non-negative (or,
    with ``require_positive``, all zero). Returns the mean per-feature
    variance of X if ``variance``, else None."""
    moments = [dask.delayed(_chunk_tasks.finite_moments, pure=True)(block, 0)
               for block, rows in zip(X.to_delayed().ravel(), X.chunks[0]) if rows]
    weights = {}
    if sample_weight is not None:
        weights = dict(finite=da.isfinite(sample_weight).all(),
                       smallest=sample_weight.min(),
                       positive=(sample_weight > 0).any())
    moments, weights = dask.compute(moments, weights)
    if not all(finite for finite, *_ in moments):
        raise ValueError("Input X contains NaN or infinity.")
    if weights and not weights["finite"]:
        raise ValueError(f"Input {weight_name} contains NaN or infinity.")
    if weights and weights["smallest"] < 0:
        raise ValueError(
            f"{weight_name} must be non-negative; got {weights['smallest']} as its "
            "smallest value."
        )
    if weights and require_positive and not weights["positive"]:
        raise ValueError(f"{weight_name} must have a positive entry; all are zero.")
    return mean_variance(moments) if variance else None


def mean_variance(moments):
    """Mean over the features of the variance of each feature, from
    non-empty chunks' (_, rows, mean, sum of squared deviations), merged in
    chunk order (Chan et al.'s pairwise update)."""
    _, count, mean, deviations = moments[0]
    for _, rows, chunk_mean, chunk_deviations in moments[1:]:
        delta = chunk_mean - mean
        total = count + rows
        mean = mean + delta * (rows / total)
        deviations = deviations + chunk_deviations + delta * delta * (count * rows / total)
        count = total
    return float(np.mean(deviations / count))


def check_enough_samples(n_clusters, sample_weight, n_samples):
    """``check_n_free`` for weights that may be None (all ones)."""
    if sample_weight is None:
        sample_weight = np.broadcast_to(np.float32(1), (n_samples,))
    check_n_free(n_clusters, sample_weight)


class RowChunks:
    """A validated Dask array and its weights as one delayed block per
    non-empty chunk of rows, in row order.

    ``blocks`` holds (X block, weight block, index of the chunk's first row,
    number of rows). Tasks built with :meth:`map` run the same function on
    every chunk; their results come back in chunk order, so every reduction
    the driver makes over them is independent of which worker ran what.
    """

    def __init__(self, X, sample_weight):
        sizes = np.asarray(X.chunks[0], dtype=np.intp)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        weights = ([None] * len(sizes) if sample_weight is None
                   else sample_weight.to_delayed().ravel())
        self.blocks = [
            (x, w, int(start), int(size))
            for x, w, start, size in zip(X.to_delayed().ravel(), weights, starts, sizes)
            if size > 0
        ]
        self.dtype = X.dtype
        self.n_samples, self.n_features = X.shape

    def map(self, func, *args):
        """``func(X_chunk, weight_chunk, first_row, *args)`` for every chunk,
        as delayed values in chunk order."""
        task = dask.delayed(func, pure=True)
        return [task(x, w, start, *args) for x, w, start, _ in self.blocks]

    def compute(self, func, *args):
        """The results of :meth:`map`, computed, in chunk order."""
        return list(dask.compute(*self.map(func, *args)))


def shared(value):
    """A value that every chunk's task reads (centers): one node of the
    graph, sent once to each worker rather than embedded in every task."""
    return dask.delayed(value, pure=True)
