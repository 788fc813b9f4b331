"""Dask inputs: validation, and a row-chunked array as one task per chunk.

Shapes and dtypes are checked at once; values (NaN, infinity, negative
weights) can only be checked by reading the data, so :func:`check_values`
reads X and the weights in one pass, which also yields what a fit needs
from all of X (the frame of the whole data, the weights' maximum and the
mean variance behind ``tol``), with little memory per chunk. Numpy inputs
are validated by the package's usual helpers and wrapped in a Dask array.
"""

import math
from typing import NamedTuple

import dask
import dask.array as da
import numpy as np

from .._core import Frame, scale_for, settled_reference
from .._validation import (
    FLOAT_DTYPES,
    check_data,
    check_n_free,
    check_sample_weight,
    screen_input,
)
from . import _chunk_tasks


def as_dask_data(X, name="X"):
    """X as a Dask array of float32/float64 with all features in one chunk.

    float32 stays float32, bools and integers become float64 (lazily). A
    numpy input is validated and cut into chunks of rows.
    """
    if not isinstance(X, da.Array):
        return da.from_array(check_data(X, name), chunks=("auto", -1))
    screen_input(X, name)
    if X.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must contain real numbers (bool, int or float); got dtype {X.dtype}."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D, of shape (n_samples, n_features); got {X.ndim} dimension(s)."
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


def as_dask_weights(sample_weight, X, name="sample_weight", allow_vanishing=False):
    """Weights as a Dask array in X's dtype, chunked like X's rows; None
    stays None (all ones: no array to read or move between workers).

    A numpy input is validated at once (negative, non-finite; positive
    values that vanish in X's dtype unless ``allow_vanishing``, as for
    scores); a Dask one by :func:`check_values`.
    """
    rows = (X.chunks[0],)
    if sample_weight is None:
        return None
    if not isinstance(sample_weight, da.Array):
        weights = check_sample_weight(
            sample_weight,
            X.shape[0],
            X.dtype,
            name=name,
            require_positive=False,
            allow_vanishing=allow_vanishing,
        )
        return da.from_array(weights, chunks=rows)
    screen_input(sample_weight, name)
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


class Checked(NamedTuple):
    """What :func:`check_values` learns from its pass over the data.

    frame : Frame or None
        The frame of the whole data (see iwkmeans._core._frame), in which every task and
        the driver compute: the reference point of the first chunk, and the
        scale for the largest distance of any value to it.
    weight_scale : float
        The weights' maximum (1 for unit weights, or when it is 0 or 1): the
        tasks see the weights divided by it (see :func:`framed_chunks`).
    variance : float or None
        The mean per-feature variance of X in the frame's units (as the
        single-machine ``scaled_tol``), behind ``tol``.
    """

    frame: object
    weight_scale: float
    variance: object


def check_values(
    X,
    sample_weight,
    *,
    weight_name="sample_weight",
    require_positive=True,
    frame=True,
    variance=True,
    holding=(),
    n_threads=None,
):
    """Read X and the weights once; raise a ValueError naming the argument
    if X is not finite or the weights are not finite and non-negative (or,
    with ``require_positive``, all zero).

    The same pass finds the frame of the whole data (if ``frame``) and the
    mean per-feature variance in it (if ``variance`` too): the first
    chunk's reference point is computed first, in the same graph, and every
    chunk's task measures its values around it. The frame's scale also
    brings the (few, dense, finite) points in ``holding`` to at most 1: the
    fitted centers when X is new data, which they may lie far outside.
    Returns a :class:`Checked`.
    """
    blocks = [block for block, rows in zip(X.to_delayed().ravel(), X.chunks[0]) if rows]
    reference = dask.delayed(_chunk_tasks.first_reference, pure=True)(blocks[0]) if frame else None
    summaries = [
        dask.delayed(_chunk_tasks.summary, pure=True)(
            block, reference, n_threads, frame and variance
        )
        for block in blocks
    ]
    weights = {}
    if sample_weight is not None:
        weights = dict(
            finite=da.isfinite(sample_weight).all(),
            smallest=sample_weight.min(),
            largest=sample_weight.max(),
            positive=(sample_weight > 0).any(),
        )
    reference, summaries, weights = dask.compute(reference, summaries, weights)
    if not all(finite for finite, _, _ in summaries):
        raise ValueError("Input X contains NaN or infinity.")
    if weights and not weights["finite"]:
        raise ValueError(f"Input {weight_name} contains NaN or infinity.")
    if weights and weights["smallest"] < 0:
        raise ValueError(
            f"{weight_name} must be non-negative; got {weights['smallest']} as its smallest value."
        )
    if weights and require_positive and not weights["positive"]:
        raise ValueError(f"{weight_name} must have a positive entry; all are zero.")
    weight_scale = float(weights["largest"]) if weights else 1.0
    if weight_scale == 0.0:
        weight_scale = 1.0  # all zero: nothing to divide (as normalised_weights)
    if not frame:
        return Checked(None, weight_scale, None)
    half = max(half for _, half, _ in summaries)
    for points in holding:
        half = max(half, _chunk_tasks.half_extent(points, reference, n_threads))
    reference, half = settled_reference(reference, half)
    whole = Frame(reference, scale_for(half), X.dtype)
    return Checked(
        whole,
        weight_scale,
        mean_variance([moments for _, _, moments in summaries], whole.scale) if variance else None,
    )


def mean_variance(moments, scale):
    """Mean over the features of the variance of each feature, in units of
    the frame of scale ``scale``, from non-empty chunks' (rows, exponent e,
    mean, sum of squared deviations) in units of 2**e (exact: powers of
    two), merged in chunk order (Chan et al.'s pairwise update)."""
    exponent = math.frexp(scale)[1] - 1

    def in_frame(rows, own, mean, deviations):
        # 2**(exponent - own) <= 1: the moments can only shrink (ldexp
        # underflows gracefully, where the factor itself would be 0).
        return (rows, np.ldexp(mean, exponent - own), np.ldexp(deviations, 2 * (exponent - own)))

    count, mean, deviations = in_frame(*moments[0])
    for part in moments[1:]:
        rows, chunk_mean, chunk_deviations = in_frame(*part)
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


def framed_chunks(X, sample_weight, checked):
    """The :class:`RowChunks` of checked data, in the frame ``checked``
    found, with the weights divided by their maximum (as the single-machine
    ``normalised_weights``: weights of at most 1, whose products and sums
    cannot overflow), persisted on the workers."""
    if sample_weight is not None and checked.weight_scale != 1.0:
        dtype = sample_weight.dtype
        sample_weight = (sample_weight / dtype.type(checked.weight_scale)).astype(dtype).persist()
    return RowChunks(X, sample_weight, checked.frame, checked.weight_scale)


class RowChunks:
    """A validated Dask array and its weights as one delayed block per
    non-empty chunk of rows, in row order, with the frame in which tasks
    compute.

    ``blocks`` holds (X block, weight block, index of the chunk's first row,
    number of rows). Tasks built with :meth:`map` run the same function on
    every chunk; their results come back in chunk order, so every reduction
    the driver makes over them is independent of which worker ran what.
    ``frame`` (a :class:`~iwkmeans._core._frame.Frame`, or None) is the frame of
    the whole data, and ``weight_scale`` the factor by which the weights of
    the blocks were divided (see :func:`framed_chunks`).
    """

    def __init__(self, X, sample_weight, frame=None, weight_scale=1.0):
        sizes = np.asarray(X.chunks[0], dtype=np.intp)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        weights = (
            [None] * len(sizes) if sample_weight is None else sample_weight.to_delayed().ravel()
        )
        self.blocks = [
            (x, w, int(start), int(size))
            for x, w, start, size in zip(X.to_delayed().ravel(), weights, starts, sizes)
            if size > 0
        ]
        # Holding the arrays holds their persisted chunks on the workers
        # (the delayed blocks alone do not).
        self.arrays = (X, sample_weight)
        self.dtype = X.dtype
        self.n_samples, self.n_features = X.shape
        self.frame = frame
        self.weight_scale = weight_scale

    @property
    def frame_node(self):
        """The frame, as one node of the graph (see :func:`shared`)."""
        return shared(self.frame)

    def map(self, func, *args):
        """``func(X_chunk, weight_chunk, first_row, *args)`` for every chunk,
        as delayed values in chunk order."""
        task = dask.delayed(func, pure=True)
        return [task(x, w, start, *args) for x, w, start, _ in self.blocks]

    def compute(self, func, *args):
        """The results of :meth:`map`, computed, in chunk order."""
        return list(dask.compute(*self.map(func, *args)))


def shared(value):
    """A value that every chunk's task reads (centers, the frame): one node
    of the graph, sent once to each worker rather than embedded in every
    task."""
    return dask.delayed(value, pure=True)
