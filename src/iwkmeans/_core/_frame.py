"""The samples as the compiled core reads them: dense rows or CSR, in a frame.

Every kernel takes its samples as five arguments: the values, the column
indices and row pointers of a CSR matrix (None twice for a dense C-contiguous
array, whose values are then read in place, without a copy), and the frame
(shift, scale) in which the kernels compute.

The frame is what keeps the arithmetic exact at the edges of the value
range. The kernels never compute with a sample x but with
``y = x * scale - shift`` (``shift = reference * scale``), rounded once to
X's precision, on the fly: the reference point sits inside the data, so
data far from the origin (Unix timestamps in float64, raw coordinates in
float32) lose nothing to the cancellation in ``||y||^2 - 2 <y, c> + ||c||^2``;
and ``scale`` is the power of two that brings every ``|y|`` to at most 1, so
no square overflows (values near 1e154 in float64, 1e19 in float32) or
underflows (1e-181, denormals). A power of two changes no decision, and the
reference is made of values of X, so a fit on ``X * 2**s + offset`` computes
with the same ``y`` as a fit on ``X * 2**t + other_offset``, bit for bit,
whenever both are represented exactly and both offsets put the data away from
the origin. Data around the origin (the reference within twice the data's
extent of it) are measured from the origin itself: their frame is a pure
power-of-two scale, which the kernels fold into the centers, reading the rows
as stored (no work per row, see _kmeans/_rows.pxd, Rows.fold); as precise
(|x| is then at most twice the extent), rounded in another order, so only a
near-tie can go the other way. Centers go into the frame before a
kernel call and come back after (:meth:`Frame.to`, :meth:`Frame.back`);
fixed centers handed back to the user are the user's own rows, never a round
trip.

CSR samples keep the origin as their reference: their zeros are data, and
measuring them from anywhere else would make every row dense. They are still
rescaled.
"""

import math

import numpy as np
from scipy import sparse

from ._kernels import _common

# Rows whose coordinate-wise median is the reference point: evenly spaced
# over X, so the median costs microseconds and reads no more than these rows.
REFERENCE_ROWS = 31

# The frame's scale stays within [2**MIN_SCALE_EXP, 2**MAX_SCALE_EXP]: a
# normal float64 at the low end, and at the high end far enough from
# overflow that the values of data of tiny range (down to denormals) are
# brought up to ~2**-474 at least, whose squares are still normal.
MIN_SCALE_EXP = -1022
MAX_SCALE_EXP = 600

# For float32 data the scale stays within [2**-126, 2**126] (see Frame).
FLOAT32_MAX_EXP = 126

# Mirrors FOLD_SCALE_EXP_FLOAT / _DOUBLE of _kmeans/_rows.pxd (see Frame.around_origin).
FOLD_SCALE_EXP = {np.float32: 40, np.float64: 400}

# The largest coordinate a center may have in the frame (see Frame.to): its
# square summed over a million features stays finite in the dtype.
FAR_LIMIT = {np.float32: 2.0**53, np.float64: 2.0**501}


class Frame:
    """Where the kernels compute: ``y = x * scale - shift``, in X's dtype.

    Attributes
    ----------
    reference : ndarray of float64 of shape (n_features,), or None for CSR
        A point made of values of X (the origin for CSR): ``shift / scale``.
    scale : float
        A power of two.
    shift : ndarray of X's dtype, or None
        ``reference * scale``, exact: for float32 data the scale is kept
        where it and ``shift`` are normal float32 numbers, so the kernels
        frame float32 data in float32 arithmetic.
    dtype : numpy dtype
        X's dtype, in which the kernels hold framed values.
    measure : tuple or None
        What :func:`frame_of` read of X in its pass over the values (the
        reference point it chose and X's half extent around it), so that a
        frame of the same X covering other points needs no second pass.
    """

    __slots__ = ("reference", "scale", "shift", "dtype", "measure")

    def __init__(self, reference, scale, dtype, measure=None):
        self.dtype = np.dtype(dtype)
        self.measure = measure
        if self.dtype == np.float32:
            # x * scale and shift must stay normal float32 numbers: |x *
            # scale| <= |shift| + 1 for the samples.
            top = 0.0 if reference is None else float(np.abs(reference).max(initial=0.0))
            if top > 0:
                scale = min(scale, math.ldexp(1.0, FLOAT32_MAX_EXP - math.frexp(top)[1]))
            scale = min(
                max(scale, math.ldexp(1.0, -FLOAT32_MAX_EXP)), math.ldexp(1.0, FLOAT32_MAX_EXP)
            )
        self.scale = float(scale)
        if reference is None:
            self.shift = self.reference = None
        else:
            self.shift = (np.asarray(reference, dtype=np.float64) * self.scale).astype(self.dtype)
            self.reference = self.shift.astype(np.float64) / self.scale

    def to(self, centers):
        """Centers (user coordinates) in the frame, in X's dtype,
        C-contiguous, computed as the kernels frame samples (in X's dtype).

        A center so far outside the data that it would overflow in the frame
        (a fixed center 1e300 away from data of unit spread) is brought back
        to FAR_LIMIT in each coordinate: still farther than any sample from
        every sample, and its squared distances stay finite, so no kernel
        meets inf - inf."""
        centers = np.asarray(centers, dtype=self.dtype)
        limit = FAR_LIMIT[self.dtype.type]
        if centers.size and float(np.abs(centers).max()) * self.scale >= limit / 2:
            with np.errstate(over="ignore", invalid="ignore"):
                framed = centers * self.dtype.type(self.scale)
                if self.shift is not None:
                    framed = framed - self.shift
            return np.ascontiguousarray(np.clip(framed, -limit, limit))
        # Within reach (the usual case): no overflow, nothing to clip.
        framed = centers * self.dtype.type(self.scale)
        if self.shift is not None:
            framed -= self.shift
        return np.ascontiguousarray(framed)

    @property
    def around_origin(self):
        """Whether the kernels read X's rows as stored, with the scale folded
        into the centers (_rows.pxd: foldable): dense rows, no shift, and a
        scale within 2**-FOLD_SCALE_EXP .. 2**FOLD_SCALE_EXP. Their raw
        values then neither overflow when squared nor lose precision."""
        if self.shift is None or self.shift.any():
            return False
        limit = FOLD_SCALE_EXP[self.dtype.type]
        return math.ldexp(1.0, -limit) <= self.scale <= math.ldexp(1.0, limit)

    def back(self, framed):
        """Centers in the frame back in user coordinates, in X's dtype."""
        centers = np.asarray(framed, dtype=np.float64) / self.scale
        if self.reference is not None:
            centers += self.reference
        return centers.astype(self.dtype, copy=False)

    def sums_back(self, sums, weights):
        """Weighted sums of framed samples (float64, one row per center, with
        their total weights) as sums of the samples themselves."""
        sums = sums / self.scale
        if self.reference is not None:
            sums += np.multiply.outer(weights, self.reference)
        return sums

    def squared(self, value, factor=1.0):
        """A squared distance (or inertia) in the frame in user units, times
        ``factor`` (the weights' scale); inf where the true value exceeds
        float64's range."""
        if isinstance(value, float):  # Python floats overflow to inf silently
            return value / self.scale / self.scale * factor
        with np.errstate(over="ignore"):
            return np.asarray(value, dtype=np.float64) / self.scale / self.scale * factor

    def rows(self, X):
        """The kernels' view of X (validated, dense or CSR) in this frame:
        (values, indices, indptr, shift, scale)."""
        values, indices, indptr = core_rows(X)
        return values, indices, indptr, self.shift, self.scale


def core_rows(X):
    """(values, indices, indptr) of validated samples, for the kernels."""
    if sparse.issparse(X):
        return X.data, X.indices, X.indptr
    return X.reshape(-1), None, None


def frame_of(X, n_threads, *others, shift=True, bound=0.0, measured=None):
    """The frame of validated samples X (see the module docstring): one pass
    over the values (in the compiled core, on ``n_threads`` threads) for
    their extent around the reference point, or none if ``measured`` (a
    frame of this same X from an earlier call, with the same ``shift``)
    holds that measure already.

    ``others`` (dense arrays with X's columns: centers, labeled rows) are
    the points X is compared with: the scale also covers the nearest of them
    to the reference, so that when all of them lie far from data of tiny
    extent, the distances to the ones that can be nearest keep their
    precision; farther ones are brought in by Frame.to, never nearest
    anyway. ``bound`` (a magnitude) is brought to at most 1 too.
    ``shift=False`` keeps the origin as the reference, for quantities that
    are measured from it.
    """
    n_features = X.shape[1]
    if measured is not None:
        reference, half = measured.measure
    elif sparse.issparse(X):
        reference = None
        half = _common.half_extent(X.data, X.indptr, n_features, None, n_threads)
    else:
        reference = reference_point(X) if shift else np.zeros(n_features)
        half = dense_half_extent(X, reference, n_threads)
        reference, half = settled_reference(reference, half)
    measure = (reference, half)
    rows = [np.asarray(A, dtype=np.float64) for A in others if A.shape[0]]
    if rows:
        half_reference = 0.0 if reference is None else 0.5 * reference
        nearest = min(float(np.abs(0.5 * A - half_reference).max(axis=1).min()) for A in rows)
        half = max(half, nearest)
    return Frame(reference, scale_for(max(half, 0.5 * bound)), X.dtype, measure)


def settled_reference(reference, half):
    """(reference, half extent around it) of dense data, given both for a
    reference point inside the data: the origin instead when the point lies
    within twice the data's extent of it (max |reference| <= 2 * half).
    The frame is then a pure power-of-two scale, which the kernels fold
    into the centers, reading the rows as stored (when the scale is not
    extreme; else they frame them, computing the same products). The rule
    does not depend on the data's magnitude, so a fit on ``X * 2**s``
    frames as one on X does, and stays the same fit scaled, bit for bit.
    Far from the origin, the reference stays."""
    top = 0.5 * float(np.abs(reference).max(initial=0.0))
    if top == 0.0 or top > half:
        return reference, half
    # |x| <= |x - reference| + |reference|: a bound of the half extent about
    # the origin, at most twice the one about the reference.
    return np.zeros_like(reference), half + top


def dense_half_extent(X, reference, n_threads):
    """max |x - reference| / 2 over the values of validated dense rows, by
    the core (exact, in any order): what :func:`scale_for` takes."""
    X = np.ascontiguousarray(X)
    return _common.half_extent(
        X.reshape(-1),
        None,
        X.shape[1],
        np.ascontiguousarray(reference, dtype=np.float64),
        n_threads,
    )


def reference_point(X):
    """Coordinate-wise lower median of up to REFERENCE_ROWS evenly spaced rows
    of dense X: a point inside the data, robust to a few outliers, and made of
    values of X (so that shifting X shifts it exactly)."""
    n_samples = X.shape[0]
    if n_samples == 0:
        return np.zeros(X.shape[1])
    step = max(1, n_samples // REFERENCE_ROWS)
    rows = np.asarray(X[::step][:REFERENCE_ROWS], dtype=np.float64)
    middle = (rows.shape[0] - 1) // 2
    return np.partition(rows, middle, axis=0)[middle]


def scale_for(half_extent_value):
    """The power of two that brings values whose largest distance to the
    reference is ``2 * half_extent_value`` to at most 1 in magnitude."""
    if not half_extent_value > 0:
        return 1.0
    # half < 2**e, so every |x - reference| < 2**(e + 1).
    _, e = math.frexp(half_extent_value)
    return math.ldexp(1.0, min(MAX_SCALE_EXP, max(MIN_SCALE_EXP, -(e + 1))))


def normalised_weights(sample_weight):
    """(weights / their maximum, that maximum): the kernels see weights of at
    most 1, so that their products and sums cannot overflow, and multiplying
    every weight by one constant changes nothing. Weights whose maximum is
    already 1 (the usual unit weights) are returned as they are."""
    top = float(sample_weight.max()) if sample_weight.size else 1.0
    if top == 1.0 or top == 0.0:
        return sample_weight, 1.0
    return (sample_weight / sample_weight.dtype.type(top)).astype(
        sample_weight.dtype, copy=False
    ), top


def take_rows(X, rows):
    """The given rows of X as a dense array (centers are always dense)."""
    picked = X[rows]
    return picked.toarray() if sparse.issparse(picked) else picked
