"""Labeled sets as the samplers read them.

Two forms reach a sampler:

- ``fit(X_labeled, y_labeled)``: the labeled samples and their labels, which
  may be empty or None (a cold start), and whose labels the label-free
  samplers do not need.
- ``query(X, y, missing_label=..., candidates=...)``: one array of samples
  and one label per row, with ``missing_label`` marking the rows nobody has
  labeled yet. This is the convention of scikit-activeml (whose
  ``MISSING_LABEL`` is NaN) and small-text: NaN in a float array, a value
  such as -1 among integer labels, or None in an object array.

Everything here reads its arguments and never writes to them.
"""

import math
from numbers import Real

import numpy as np
from scipy import sparse
from sklearn.utils import check_array

from .._validation import check_data, reject_masked


def _is_nan(value):
    """True for a float NaN (Python's or numpy's), False for anything else."""
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _check_labels(y, name, n_samples, rows_of):
    """y as a 1-D array of ``n_samples`` entries, in its own dtype (object
    arrays, NaN and None included: the caller decides what they mean)."""
    reject_masked(y, name)
    if sparse.issparse(y):
        raise TypeError(f"{name} must be a 1-D array of labels; got a sparse matrix.")
    y = check_array(
        y,
        ensure_2d=False,
        dtype=None,
        ensure_all_finite=False,
        ensure_min_samples=0,
        input_name=name,
    )
    if y.shape != (n_samples,):
        raise ValueError(
            f"{name} must have shape ({n_samples},), one label per row of {rows_of}; "
            f"got shape {y.shape}."
        )
    return y


def _reject_unknown(y, rows, name, reason):
    """ValueError naming the first entry of y that is NaN or None: neither is
    a class a classifier can learn. ``rows`` maps y's positions to the
    indices the user knows."""
    if y.dtype.kind == "f":
        bad = np.flatnonzero(np.isnan(y))
    elif y.dtype == object:
        bad = np.flatnonzero([value is None or _is_nan(value) for value in y])
    else:
        return
    if bad.size:
        value = y[bad[0]]
        if isinstance(value, np.generic):
            value = value.item()  # nan, not np.float64(nan)
        raise ValueError(f"{name}[{rows[bad[0]]}] = {value!r} {reason}")


def _natural_labels(y):
    """Labels in the dtype a classifier accepts.

    An object array of numbers (what an object ``y`` with None for its
    missing labels leaves once those are dropped) is an "unknown" target
    type to scikit-learn, which refuses it; such labels become a numeric
    array. Strings, and anything else, stay as they are.
    """
    if y.dtype != object or y.size == 0 or any(isinstance(value, str) for value in y):
        return y
    numbers = np.asarray(y.tolist())
    return numbers if numbers.dtype.kind in "biuf" else y


def _count_classes(y):
    try:
        return np.unique(y).size
    except TypeError:
        # np.unique sorts: it fails on labels of kinds that do not compare.
        raise TypeError(
            "y_labeled must hold labels of one kind (numbers, or strings) that can be "
            f"compared; got {y[:5].tolist()!r}..."
        ) from None


def check_labeled_set(X_labeled, y_labeled, *, sampler, needs_labels):
    """``fit``'s labeled set: (X, y, n_classes).

    X_labeled None, or an empty 1-D list or array, is no labeled sample:
    X is None (the number of features is not known). An array of no rows
    keeps its number of features. y_labeled None means no label is known:
    fine for the label-free samplers, an error for the others
    (``needs_labels``) as soon as X_labeled has rows. Labels must not be NaN
    or None; an object array of numbers becomes a numeric array (see
    :func:`_natural_labels`).
    """
    if X_labeled is None or (
        not sparse.issparse(X_labeled) and np.ndim(X_labeled) == 1 and np.size(X_labeled) == 0
    ):
        X, n_labeled = None, 0
    else:
        X = check_data(X_labeled, name="X_labeled", accept_sparse=True, ensure_min_samples=0)
        n_labeled = X.shape[0]
    if y_labeled is None:
        if needs_labels and n_labeled:
            raise ValueError(
                f"{sampler} needs y_labeled, the labels of the {n_labeled} rows of "
                "X_labeled; got None. (With no labeled sample, pass X_labeled=None "
                "too: the sampler then makes its cold-start pick.)"
            )
        return X, None, 0
    y = _check_labels(y_labeled, "y_labeled", n_labeled, "X_labeled")
    _reject_unknown(
        y,
        np.arange(n_labeled),
        "y_labeled",
        "is not a label; every row of X_labeled needs one (to mark unlabeled rows, "
        "use query with missing_label).",
    )
    y = _natural_labels(y)
    return X, y, _count_classes(y)


def missing_mask(y, missing_label):
    """The rows of a validated 1-D ``y`` whose label is ``missing_label``.

    Raises a TypeError when ``missing_label`` cannot occur in an array of
    y's dtype (NaN among integers, None outside an object array, a string
    among numbers or a number among strings): every row would then count as
    labeled, which is never what the caller meant.
    """
    if missing_label is None:
        if y.dtype != object:
            raise TypeError(
                "missing_label=None marks the unlabeled rows by None, which only an "
                f"object array holds; y has dtype {y.dtype}. Pass y as an object array "
                "(np.array(labels, dtype=object)) or the value that marks the "
                "unlabeled rows (missing_label=np.nan, -1, ...)."
            )
        return np.fromiter((value is None for value in y), dtype=bool, count=y.shape[0])
    if _is_nan(missing_label):
        if y.dtype.kind == "f":
            return np.isnan(y)
        if y.dtype == object:
            return np.fromiter((_is_nan(value) for value in y), dtype=bool, count=y.shape[0])
        raise TypeError(
            "missing_label=nan (the default) marks the unlabeled rows by NaN, which y "
            f"of dtype {y.dtype} cannot hold; pass the value that marks them, e.g. "
            "missing_label=-1 for integer labels."
        )
    if isinstance(missing_label, (bool, np.bool_)) or not isinstance(missing_label, (Real, str)):
        raise TypeError(
            f"missing_label must be np.nan, None, a number or a string; got {missing_label!r}."
        )
    is_number = isinstance(missing_label, Real)
    if y.dtype != object and (y.dtype.kind in "biuf") != is_number:
        raise TypeError(
            f"missing_label={missing_label!r} cannot occur in y, whose dtype is "
            f"{y.dtype}; pass the value that marks the unlabeled rows, of the labels' "
            "kind."
        )
    return np.asarray(y == missing_label, dtype=bool)


def check_candidates(candidates, n_samples):
    """``candidates`` as sorted, distinct row indices into X.

    Only indices are supported: a 2-D array of sample rows is refused (its
    rows are not rows of X, so the returned indices could not point into
    X), as are boolean masks and float arrays, so that no array is read as
    indices by accident.
    """
    reject_masked(candidates, "candidates")
    if sparse.issparse(candidates):
        raise TypeError(
            "candidates must be a 1-D array of row indices into X; got a sparse matrix."
        )
    indices = np.asarray(candidates)
    if indices.ndim == 2:
        raise ValueError(
            "candidates must be a 1-D array of row indices into X; got an array of shape "
            f"{indices.shape}. Sample rows as candidates are not supported: append them "
            "to X with missing labels and pass their indices."
        )
    if indices.ndim != 1:
        raise ValueError(
            "candidates must be a 1-D array of row indices into X; got an array of shape "
            f"{indices.shape}."
        )
    if indices.size == 0:
        return np.empty(0, dtype=np.intp)
    if indices.dtype.kind == "b":
        raise TypeError(
            "candidates must hold row indices into X, not a boolean mask; pass "
            "np.flatnonzero(mask)."
        )
    if indices.dtype.kind not in "iu":
        raise TypeError(f"candidates must hold integer row indices; got dtype {indices.dtype}.")
    outside = np.flatnonzero((indices < 0) | (indices >= n_samples))
    if outside.size:
        i = outside[0]
        raise ValueError(
            f"candidates[{i}] = {indices[i]} is not a row of X: X has {n_samples} rows, "
            f"so indices must lie in [0, {n_samples - 1}]."
        )
    return np.unique(indices).astype(np.intp, copy=False)


def split_query(y, n_samples, missing_label, candidates):
    """``query``'s reading of (y, missing_label, candidates) for X of
    ``n_samples`` rows: (labeled rows, their labels, pool rows).

    The pool is the unlabeled rows, or the unlabeled ones among
    ``candidates``; a labeled candidate is never in it. Raises a ValueError
    if the pool is empty: there is nothing to query.
    """
    y = _check_labels(y, "y", n_samples, "X")
    missing = missing_mask(y, missing_label)
    labeled = np.flatnonzero(~missing)
    y_known = y[labeled]
    _reject_unknown(
        y_known,
        labeled,
        "y",
        f"is neither a label nor missing_label={missing_label!r}, the marker of the "
        "unlabeled rows.",
    )
    if candidates is None:
        pool = np.flatnonzero(missing)
        where = ""
    else:
        pool = check_candidates(candidates, n_samples)
        pool = pool[missing[pool]]
        where = " among the candidates"
    if pool.size == 0:
        raise ValueError(
            f"y marks no row{where} as unlabeled (missing_label={missing_label!r}): "
            "there is nothing to query."
        )
    return labeled, y_known, pool
