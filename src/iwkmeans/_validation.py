"""Input validation shared by every public entry point.

Validation happens once, here; the compiled kernels trust what they get:
C-contiguous float32 or float64 arrays, finite values, non-negative weights,
CSR matrices whose index arrays are consistent. No function here modifies
its input: conversions make copies, and arrays that are already right are
passed through untouched.
"""

import math
import threading
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.utils import check_array, check_random_state, check_scalar

FLOAT_DTYPES = (np.float64, np.float32)
_INT32_MAX = np.iinfo(np.int32).max


def screen_input(X, name):
    """The checks that must see an argument as the caller passed it, before
    ``check_array`` or numpy converts it (and silently drops what it cannot
    keep): raise a TypeError naming ``name`` for a masked array or for text,
    bytes or dates, and a ValueError for a sparse matrix whose index arrays
    are inconsistent (see :func:`check_sparse_structure`).

    Object arrays are left to ``check_array``, which converts numbers and
    raises for anything else; so is complex data (a ValueError there, as
    scikit-learn's estimator checks expect).
    """
    reject_masked(X, name)
    if sparse.issparse(X):
        check_sparse_structure(X, name)
        return
    if hasattr(X, "dtypes"):
        return
    dtype = getattr(X, "dtype", None)
    if dtype is None:
        dtype = np.asarray(X).dtype
    if dtype.kind in "USVMm":
        raise TypeError(
            f"{name} must contain real numbers (bool, int or float); got dtype {dtype}."
        )


def reject_masked(values, name):
    """A masked array's mask would be dropped by every conversion (and the
    masked entries used as data), so it is refused outright."""
    if isinstance(values, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a numpy masked array, whose mask would be ignored; fill "
            f"the masked entries ({name}.filled(value)) or drop them, and pass a "
            "plain array."
        )


def check_sparse_structure(X, name):
    """Raise a ValueError naming ``name`` and the first bad index if the index
    arrays of a CSR, CSC or COO matrix do not describe a matrix of its shape.

    scipy checks little of this when a matrix is built from raw arrays (or
    has its arrays changed afterwards), and its own conversions, scikit-learn's
    checks and the kernels all read the arrays as they are: out of bounds,
    with a crash or different results from run to run. So this runs first,
    in O(nnz) numpy operations, without trusting any cached scipy flag.
    """
    if X.ndim != 2:
        return  # check_array refuses anything but a matrix
    if X.format in ("csr", "csc"):
        _check_compressed(X, name)
    elif X.format == "coo":
        _check_coo(X, name)


def _one_d_arrays(name, **arrays):
    for part, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.ndim != 1:
            raise ValueError(f"{name}.{part} must be a 1-D array; got {array!r:.80}.")
        if part != "data" and array.dtype.kind not in "iu":
            raise ValueError(f"{name}.{part} must hold integers; got dtype {array.dtype}.")


def _first_out_of_range(indices, size):
    """Position of the first index outside [0, size), or None. min and max
    first: they allocate nothing, and valid input never needs the mask."""
    if indices.size == 0 or (indices.min() >= 0 and indices.max() < size):
        return None
    return int(np.flatnonzero((indices < 0) | (indices >= size))[0])


def _check_compressed(X, name):
    data, indices, indptr = X.data, X.indices, X.indptr
    _one_d_arrays(name, data=data, indices=indices, indptr=indptr)
    is_csr = X.format == "csr"
    n_lines, n_positions = X.shape if is_csr else X.shape[::-1]
    line, position = ("row", "column") if is_csr else ("column", "row")
    if indptr.shape[0] != n_lines + 1:
        raise ValueError(
            f"{name}.indptr must have n_{line}s + 1 = {n_lines + 1} entries for a "
            f"{X.format.upper()} matrix of shape {X.shape}; got {indptr.shape[0]}."
        )
    if indptr[0] != 0:
        raise ValueError(f"{name}.indptr[0] must be 0; got {indptr[0]}.")
    if indices.shape[0] != data.shape[0]:
        raise ValueError(
            f"{name}.indices and {name}.data must have the same length; got "
            f"{indices.shape[0]} and {data.shape[0]}."
        )
    if indptr[-1] != data.shape[0]:
        raise ValueError(
            f"{name}.indptr[-1] must be the number of stored values, "
            f"{data.shape[0]}; got {indptr[-1]}."
        )
    decreasing = np.flatnonzero(indptr[1:] < indptr[:-1])
    if decreasing.size:
        i = int(decreasing[0])
        raise ValueError(
            f"{name}.indptr must be non-decreasing; got indptr[{i + 1}] = "
            f"{indptr[i + 1]} < indptr[{i}] = {indptr[i]}."
        )
    bad = _first_out_of_range(indices, n_positions)
    if bad is not None:
        # indptr is valid by now, so it tells which row holds the bad index.
        in_line = int(np.searchsorted(indptr, bad, side="right")) - 1
        raise ValueError(
            f"{name}.indices[{bad}] = {indices[bad]} ({line} {in_line}) is not a "
            f"valid {position} index: {name} has {n_positions} {position}s, so "
            f"indices must lie in [0, {n_positions - 1}]."
        )


def _check_coo(X, name):
    row, col = X.row, X.col
    _one_d_arrays(name, data=X.data, row=row, col=col)
    for part, indices, size in (("row", row, X.shape[0]), ("col", col, X.shape[1])):
        if indices.shape[0] != X.data.shape[0]:
            raise ValueError(
                f"{name}.{part} and {name}.data must have the same length; got "
                f"{indices.shape[0]} and {X.data.shape[0]}."
            )
        bad = _first_out_of_range(indices, size)
        if bad is not None:
            raise ValueError(
                f"{name}.{part}[{bad}] = {indices[bad]} is out of range: {name} has "
                f"shape {X.shape}, so indices must lie in [0, {size - 1}]."
            )


def check_data(X, name="X", *, accept_sparse=False, ensure_min_samples=1):
    """X as a C-contiguous float32/float64 2-D array of finite values, or,
    if ``accept_sparse``, possibly as a CSR matrix (see :func:`canonical_csr`).

    float32 stays float32, integers and bools become float64. A C-contiguous
    float array is returned as is (no copy; read-only memory maps work).
    ``ensure_min_samples=0`` admits an array of no rows (an empty labeled set).
    """
    screen_input(X, name)
    X = check_array(
        X,
        dtype=FLOAT_DTYPES,
        order="C",
        accept_sparse="csr" if accept_sparse else False,
        ensure_min_samples=ensure_min_samples,
        input_name=name,
    )
    return canonical_csr(X, name)


def canonical_csr(X, name):
    """A sparse X (CSR, float, finite, its structure screened by
    :func:`screen_input`) in the form the kernels read: sorted, without
    duplicate entries, with 32-bit indices. X itself is never changed, not
    even its cached flags: the result is a new matrix object on X's arrays,
    whose flags scipy computes afresh, or on new arrays if X needs sorting,
    summing or narrower indices. Dense X passes through.
    """
    if not sparse.issparse(X):
        return X
    if X.nnz > _INT32_MAX or X.shape[1] > _INT32_MAX:
        raise ValueError(
            f"{name} has {X.nnz} stored values and {X.shape[1]} columns; sparse "
            f"input is limited to {_INT32_MAX} of each (32-bit indices)."
        )
    X = type(X)(
        (X.data, X.indices.astype(np.int32, copy=False), X.indptr.astype(np.int32, copy=False)),
        shape=X.shape,
    )
    if not X.has_canonical_format:
        X = X.copy()  # sum_duplicates works in place
        X.sum_duplicates()
    return X


def check_sample_weight(
    sample_weight,
    n_samples,
    dtype,
    *,
    name="sample_weight",
    require_positive=True,
    allow_vanishing=False,
):
    """Non-negative finite weights of shape (n_samples,), in the data's
    ``dtype``, with a positive total if ``require_positive``. None means all
    ones.

    The weights are checked in their own precision before the cast to
    ``dtype``, so that weights the cast would turn into infinity, or positive
    weights it would turn into 0 (a float64 1e-50 in float32), are reported
    as such. A vanishing weight is an error unless ``allow_vanishing`` (for
    scores, where a 0 only ranks a sample last).
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    screen_input(sample_weight, name)
    weights = check_array(
        sample_weight,
        dtype=FLOAT_DTYPES,
        order="C",
        ensure_2d=False,
        ensure_min_samples=0,
        input_name=name,
    )
    if weights.shape != (n_samples,):
        raise ValueError(
            f"{name} must have shape ({n_samples},) to match the samples; "
            f"got shape {weights.shape}."
        )
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        raise ValueError(
            f"{name} must be non-negative; got {weights[negative[0]]} at "
            f"index {negative[0]} ({negative.size} negative value(s) in all)."
        )
    weights = _cast_weights(weights, dtype, name, allow_vanishing)
    if require_positive and not np.any(weights > 0):
        raise ValueError(f"{name} must have a positive entry; all are zero.")
    return weights


def _cast_weights(weights, dtype, name, allow_vanishing):
    dtype = np.dtype(dtype)
    if weights.dtype == dtype:
        return weights
    with np.errstate(over="ignore"):
        cast = weights.astype(dtype)
    advice = (
        "rescale the weights (the clustering does not depend on their overall "
        "scale) or pass the data as float64."
    )
    too_large = np.flatnonzero(np.isinf(cast))
    if too_large.size:
        i = too_large[0]
        raise ValueError(
            f"{name}[{i}] = {weights[i]:g} becomes infinite when cast to {dtype}, "
            f"the data's dtype (largest {np.finfo(dtype).max:.3g}); {advice}"
        )
    if not allow_vanishing:
        vanished = np.flatnonzero((cast == 0) & (weights > 0))
        if vanished.size:
            i = vanished[0]
            raise ValueError(
                f"{name} has {vanished.size} positive value(s) that become 0 when "
                f"cast to {dtype}, the data's dtype (e.g. {name}[{i}] = "
                f"{weights[i]:g}; the smallest positive {dtype} is "
                f"{np.finfo(dtype).smallest_subnormal:.3g}); {advice}"
            )
    return cast


def check_fixed_centers(fixed_centers, n_features, dtype, name="fixed_centers"):
    """Fixed centers as an (n_fixed, n_features) array of X's dtype.

    None means no fixed center: an array with no rows.
    """
    if fixed_centers is None:
        return np.empty((0, n_features), dtype=dtype)
    screen_input(fixed_centers, name)
    centers = check_array(
        fixed_centers,
        dtype=dtype,
        order="C",
        accept_sparse="csr",
        ensure_min_samples=0,
        ensure_min_features=0,
        input_name=name,
    )
    if sparse.issparse(centers):
        # Centers are dense in the core; a sparse set (e.g. the labeled rows
        # of a TF-IDF pool) is densified once.
        centers = centers.toarray()
    if centers.shape[1] != n_features:
        raise ValueError(
            f"{name} must have {n_features} columns, the number of features "
            f"of the data; got shape {centers.shape}."
        )
    return centers


def check_init_array(init, n_clusters, X):
    """An array of initial free centers: (n_clusters, n_features), X's dtype."""
    init = check_data(init, name="init").astype(X.dtype, copy=False)
    if init.shape != (n_clusters, X.shape[1]):
        raise ValueError(
            f"init must have shape (n_clusters, n_features) = "
            f"({n_clusters}, {X.shape[1]}); got {init.shape}."
        )
    return init


def check_init(init, names, n_clusters, X, n_init):
    """``init``: one of ``names`` or an array of initial free centers.

    Returns (the array, or None for a named method; the number of
    initialisations to run: n_init, or 1 for an array, with a warning if
    n_init asked for more).
    """
    if isinstance(init, str):
        if init not in names:
            raise ValueError(
                f"init must be {', '.join(map(repr, names))} or an array of shape "
                f"(n_clusters, n_features); got {init!r}."
            )
        return None, n_init
    array = check_init_array(init, n_clusters, X)
    if n_init != 1:
        warnings.warn(
            f"init is an array, so n_init={n_init} is ignored and a single initialisation is run.",
            RuntimeWarning,
            stacklevel=4,  # the caller of fit
        )
    return array, 1


def check_int(value, name, *, min_val=None, max_val=None):
    """``value`` as an int within the bounds; a bool is refused (Python counts
    True as the integer 1, which would make n_clusters=True one cluster)."""
    _reject_bool(value, name, "an integer")
    check_scalar(value, name, Integral, min_val=min_val, max_val=max_val)
    return int(value)


def check_real(value, name, *, min_val=None, max_val=None, include_boundaries="both"):
    """``value`` as a finite float within the bounds (NaN passes every
    comparison, so check_scalar alone would let it through); bools refused."""
    _reject_bool(value, name, "a number")
    check_scalar(value, name, Real)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    check_scalar(
        value, name, Real, min_val=min_val, max_val=max_val, include_boundaries=include_boundaries
    )
    return float(value)


def _reject_bool(value, name, expected):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {expected}, not a bool; got {value!r}.")


def check_n_free(n_clusters, sample_weight):
    """n_clusters must be an int >= 1 and at most the number of samples that
    can be picked as centers (those of positive weight)."""
    check_int(n_clusters, "n_clusters", min_val=1)
    n_samples = sample_weight.shape[0]
    n_available = int(np.count_nonzero(sample_weight))
    if n_clusters > n_available:
        detail = (
            ""
            if n_available == n_samples
            else f", of which {n_available} have a positive sample_weight"
        )
        raise ValueError(
            f"n_clusters={n_clusters} free clusters need at least as many samples; "
            f"got n_samples={n_samples}{detail}."
        )


def check_batch_size(batch_size, n_pool, pool_name="X_pool"):
    """An int in [1, n_pool]: a batch is that many distinct pool samples."""
    check_int(batch_size, "batch_size", min_val=1)
    if batch_size > n_pool:
        raise ValueError(
            f"batch_size={batch_size} is larger than the pool: {pool_name} has {n_pool} sample(s)."
        )


def check_beta(beta):
    """The preselection factor: a finite number >= 1 (ceil(beta * batch_size)
    samples are preselected)."""
    check_real(beta, "beta", min_val=1)


def check_n_threads(n_threads):
    if n_threads is not None:
        check_int(n_threads, "n_threads", min_val=1)


def check_n_local_trials(n_local_trials, n_clusters):
    """Default: 2 + ln(n_clusters) trials per pick, as in Arthur & Vassilvitskii."""
    if n_local_trials is None:
        return 2 + int(np.log(n_clusters))
    return check_int(n_local_trials, "n_local_trials", min_val=1)


def check_tol(tol):
    """A finite number >= 0 (NaN would never stop the iterations early)."""
    check_real(tol, "tol", min_val=0)


# One RandomState per thread for check_random_state_in_call.
_reseeded = threading.local()


def check_random_state_in_call(seed):
    """scikit-learn's ``check_random_state``, for a call that draws every
    random number it needs before it returns and keeps no generator.

    An int seed reseeds a RandomState kept for the calling thread: the same
    numbers as ``RandomState(seed)``, whose construction (a new MT19937
    state from OS entropy, then the legacy seeding) takes about 0.12 ms, a
    tenth of a fit of 500 x 64 x 50; reseeding takes microseconds. The
    generator returned for an int is reseeded by the thread's next such
    call, so it must not outlive this one. None and RandomState instances
    go to ``check_random_state``.
    """
    if isinstance(seed, Integral):
        state = getattr(_reseeded, "state", None)
        if state is None:
            state = _reseeded.state = np.random.RandomState()
        state.seed(seed)
        return state
    return check_random_state(seed)
