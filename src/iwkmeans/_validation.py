"""Input validation shared by every public entry point.

Validation happens once, here; the compiled kernels trust what they get:
C-contiguous float32 or float64 arrays, finite values, non-negative weights.
No function here modifies its input: conversions make copies, and arrays
that are already right are passed through untouched.
"""
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.utils import check_array, check_scalar

FLOAT_DTYPES = (np.float64, np.float32)


def reject_non_numeric(X, name):
    """Raise a TypeError naming ``name`` if X holds text, bytes or dates.

    Object arrays are left to ``check_array``, which converts numbers and
    raises for anything else; so is complex data (a ValueError there, as
    scikit-learn's estimator checks expect).
    """
    if sparse.issparse(X) or hasattr(X, "dtypes"):
        return
    dtype = getattr(X, "dtype", None)
    if dtype is None:
        dtype = np.asarray(X).dtype
    if dtype.kind in "USVMm":
        raise TypeError(
            f"{name} must contain real numbers (bool, int or float); got dtype {dtype}."
        )


def check_data(X, name="X", *, accept_sparse=False):
    """X as a C-contiguous float32/float64 2-D array of finite values, or,
    if ``accept_sparse``, possibly as a CSR matrix (see :func:`canonical_csr`).

    float32 stays float32, integers and bools become float64. A C-contiguous
    float array is returned as is (no copy; read-only memory maps work).
    """
    reject_non_numeric(X, name)
    X = check_array(
        X, dtype=FLOAT_DTYPES, order="C",
        accept_sparse="csr" if accept_sparse else False, input_name=name,
    )
    return canonical_csr(X, name)


def canonical_csr(X, name):
    """A sparse X (already CSR, float, finite) in the form the kernels read:
    no duplicate entries and 32-bit indices. X itself is never changed: a
    matrix that needs either gets new arrays. Dense X passes through."""
    if not sparse.issparse(X):
        return X
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    if X.indices.dtype != np.int32 or X.indptr.dtype != np.int32:
        if X.nnz > np.iinfo(np.int32).max:
            raise ValueError(
                f"{name} has {X.nnz} stored values; sparse input is limited to "
                f"{np.iinfo(np.int32).max} (32-bit indices)."
            )
        X = type(X)(
            (X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
            shape=X.shape,
        )
    return X


def check_sample_weight(sample_weight, n_samples, dtype, *, name="sample_weight",
                        require_positive=True):
    """Non-negative finite weights of shape (n_samples,), with a positive
    total if ``require_positive``. None means all ones."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    reject_non_numeric(sample_weight, name)
    weights = check_array(
        sample_weight,
        dtype=dtype,
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
    if require_positive and not np.any(weights > 0):
        raise ValueError(f"{name} must have a positive entry; all are zero.")
    return weights


def check_fixed_centers(fixed_centers, n_features, dtype, name="fixed_centers"):
    """Fixed centers as an (n_fixed, n_features) array of X's dtype.

    None means no fixed center: an array with no rows.
    """
    if fixed_centers is None:
        return np.empty((0, n_features), dtype=dtype)
    reject_non_numeric(fixed_centers, name)
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
    reject_non_numeric(init, "init")
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
            f"init is an array, so n_init={n_init} is ignored and a single "
            "initialisation is run.",
            RuntimeWarning,
            stacklevel=4,  # the caller of fit
        )
    return array, 1


def check_n_free(n_clusters, sample_weight):
    """n_clusters must be an int >= 1 and at most the number of samples that
    can be picked as centers (those of positive weight)."""
    check_scalar(n_clusters, "n_clusters", Integral, min_val=1)
    n_samples = sample_weight.shape[0]
    n_available = int(np.count_nonzero(sample_weight))
    if n_clusters > n_available:
        detail = (
            "" if n_available == n_samples
            else f", of which {n_available} have a positive sample_weight"
        )
        raise ValueError(
            f"n_clusters={n_clusters} free clusters need at least as many samples; "
            f"got n_samples={n_samples}{detail}."
        )


def check_n_threads(n_threads):
    if n_threads is not None:
        check_scalar(n_threads, "n_threads", Integral, min_val=1)


def check_n_local_trials(n_local_trials, n_clusters):
    """Default: 2 + ln(n_clusters) trials per pick, as in Arthur & Vassilvitskii."""
    if n_local_trials is None:
        return 2 + int(np.log(n_clusters))
    check_scalar(n_local_trials, "n_local_trials", Integral, min_val=1)
    return int(n_local_trials)


def check_tol(tol):
    check_scalar(tol, "tol", Real, min_val=0)
