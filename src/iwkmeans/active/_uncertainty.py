"""Uncertainty scores from predicted class probabilities.

Each score maps a probability matrix of shape (n_samples, n_classes) to one
value per sample in [0, 1], higher meaning more uncertain.
"""

import numpy as np
from sklearn.utils import check_array

from .._validation import FLOAT_DTYPES, screen_input

# Rows of a probability matrix must sum to 1 within this: float32 softmax
# outputs are off by ~1e-7 per class, and a model's own rounding adds more.
ROW_SUM_ATOL = 1e-4


def check_probabilities(proba):
    """proba as a float array of shape (n_samples, n_classes >= 2) whose rows
    are probability distributions (in [0, 1], summing to 1 within 1e-4)."""
    screen_input(proba, "proba")
    proba = check_array(proba, dtype=FLOAT_DTYPES, input_name="proba")
    if proba.shape[1] < 2:
        raise ValueError(
            f"proba must have at least 2 columns (one per class); got shape {proba.shape}."
        )
    outside = np.flatnonzero(np.any((proba < 0) | (proba > 1), axis=1))
    if outside.size:
        raise ValueError(f"proba must lie in [0, 1]; row {outside[0]} is {proba[outside[0]]}.")
    sums = proba.sum(axis=1, dtype=np.float64)
    off = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_ATOL)
    if off.size:
        raise ValueError(
            f"proba rows must sum to 1 (within {ROW_SUM_ATOL}); row {off[0]} sums to "
            f"{sums[off[0]]} ({off.size} such row(s))."
        )
    return proba


def confidence_score(proba):
    """Least confidence: ``1 - max_c p_c``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (``predict_proba``), at least 2
        classes: each row in [0, 1] and summing to 1 within 1e-4.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Uncertainty of each sample, in [0, 1] (higher: more uncertain), in
        proba's dtype (float32 stays float32, other numbers become float64).
    """
    proba = check_probabilities(proba)
    return 1.0 - proba.max(axis=1)


def margin_score(proba):
    """Smallest margin: ``1 - (p_(1) - p_(2))``, the two largest probabilities.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (``predict_proba``), at least 2
        classes: each row in [0, 1] and summing to 1 within 1e-4.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Uncertainty of each sample, in [0, 1] (higher: more uncertain), in
        proba's dtype (float32 stays float32, other numbers become float64).
    """
    proba = check_probabilities(proba)
    top_two = np.partition(proba, -2, axis=1)[:, -2:]
    return 1.0 - (top_two[:, 1] - top_two[:, 0])


def entropy_score(proba):
    """Entropy normalised to [0, 1]: ``-sum_c p_c log p_c / log(n_classes)``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (``predict_proba``), at least 2
        classes: each row in [0, 1] and summing to 1 within 1e-4.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Uncertainty of each sample, in [0, 1] (higher: more uncertain), with
        ``0 log 0`` taken as 0.
    """
    proba = check_probabilities(proba)
    # 0 log 0 = 0: take the log of 1 where p is 0.
    logs = np.log(np.where(proba > 0, proba, 1.0))
    return -(proba * logs).sum(axis=1) / np.log(proba.shape[1])
