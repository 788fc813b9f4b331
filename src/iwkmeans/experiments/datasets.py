"""Synthetic data for active-learning experiments."""

import math

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_int, check_real

# Blob centers sit in distinct cells of a grid, jittered inside their cell;
# two distinct cells differ by at least one step along some axis, so with
# this cell size and unit standard deviation two blobs are at least
# CELL - 2 * JITTER = 6 standard deviations apart in any number of
# features: clean blobs are separable and all the difficulty comes from the
# noisy ones.
CELL = 10.0
JITTER = 2.0
# Up to this many grid cells, the blobs' cells are drawn with
# RandomState.choice(replace=False), which permutes the whole grid; beyond it
# (many features) the grid is far too large for that and each cell's
# coordinates are drawn instead, redrawing the rare duplicates.
MAX_PERMUTED_CELLS = 1 << 20


def _split_evenly(total, n_parts):
    counts = np.full(n_parts, total // n_parts)
    counts[: total % n_parts] += 1
    return counts


def _grid_side(n_cells, n_features):
    """The smallest side s with s ** n_features >= n_cells, in integers (a
    float root could land just below an exact power)."""
    side = max(1, math.ceil(n_cells ** (1 / n_features)) - 1)
    while side**n_features < n_cells:
        side += 1
    return side


def _blob_cells(rng, n_blobs, n_features):
    """Distinct grid cells for ``n_blobs`` blobs, shape (n_blobs, n_features).

    The grid has at least twice as many cells as blobs, so the blobs do not
    form a regular lattice. In two features this is the draw the function
    has always made (one ``choice`` over the cells, row-major), so that its
    output for given arguments never changed.
    """
    side = _grid_side(2 * n_blobs, n_features)
    n_cells = side**n_features
    if n_cells <= MAX_PERMUTED_CELLS:
        cells = rng.choice(n_cells, size=n_blobs, replace=False)
        return np.column_stack(np.unravel_index(cells, (side,) * n_features))
    coords = rng.randint(0, side, size=(n_blobs, n_features))
    while True:
        _, first = np.unique(coords, axis=0, return_index=True)
        repeated = np.setdiff1d(np.arange(n_blobs), first)
        if repeated.size == 0:
            return coords
        coords[repeated] = rng.randint(0, side, size=(repeated.size, n_features))


def make_noisy_blobs(
    n_samples=1000,
    n_classes=4,
    *,
    noise_fraction=0.5,
    blobs_per_class=None,
    n_blobs=None,
    noisy_blobs_fraction=None,
    n_features=2,
    random_state=None,
):
    """Separated Gaussian blobs, some of which have random labels.

    A small version of the Noisy-LD task: clean blobs, each of one class,
    hold ``n_samples - round(noise_fraction * n_samples)`` samples, shared
    evenly; noisy blobs hold the rest, and each noisy sample's label is
    drawn at random between two classes chosen for its blob. No classifier
    can do better than chance between those two classes on a noisy blob, so
    a sampler that keeps picking there (they are the most uncertain
    samples) wastes labels. Every blob has unit standard deviation and its
    center is at least 6 away from any other blob's.

    The blobs are counted in one of two ways: ``blobs_per_class`` clean
    blobs per class and as many noisy blobs (the default, 3 per class), or
    ``n_blobs`` blobs in all of which ``noisy_blobs_fraction`` are noisy
    (the clean ones go to the classes in turn, so every class has one when
    there are at least ``n_classes`` clean blobs).

    Two settings of the literature, each with blobs of equal size:

    - the high-dimensional setting: 40 features, 90 blobs of which 30 are
      noisy (10 classes here, 6 clean blobs each)::

          make_noisy_blobs(3000, 10, n_features=40, n_blobs=90,
                           noisy_blobs_fraction=1 / 3, noise_fraction=1 / 3)

    - the two-class toy: 2 classes, 2 clean blobs each and 2 noisy blobs
      in the plane::

          make_noisy_blobs(300, 2, n_blobs=6, noisy_blobs_fraction=1 / 3,
                           noise_fraction=1 / 3)

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples, clean and noisy.
    n_classes : int >= 2, default=4
        Number of classes.
    noise_fraction : float in [0, 1), default=0.5
        Share of the samples that are in noisy blobs.
    blobs_per_class : int >= 1, default=None
        Clean blobs per class, and as many noisy blobs in all as clean
        ones. None means 3 unless ``n_blobs`` is given; it cannot be given
        with ``n_blobs``.
    n_blobs : int >= 1, default=None
        Total number of blobs, clean and noisy, instead of
        ``blobs_per_class``.
    noisy_blobs_fraction : float in [0, 1), default=None
        With ``n_blobs``: ``round(noisy_blobs_fraction * n_blobs)`` of the
        blobs are noisy; None means half of them. It must leave at least
        ``n_classes`` clean blobs, and at least one noisy blob when
        ``noise_fraction > 0``. Only with ``n_blobs``.
    n_features : int >= 1, default=2
        Number of features.
    random_state : int, RandomState instance or None, default=None
        Source of the blobs' places, the samples and the noisy labels.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
        The samples, in random order.
    y : ndarray of shape (n_samples,), int64
        Labels in ``range(n_classes)``; every class has clean samples.
    noisy : ndarray of shape (n_samples,), bool
        True for the samples of the noisy blobs.

    Examples
    --------
    >>> from iwkmeans.experiments.datasets import make_noisy_blobs
    >>> X, y, noisy = make_noisy_blobs(300, 2, n_blobs=6, noisy_blobs_fraction=1 / 3,
    ...                                noise_fraction=1 / 3, random_state=0)
    >>> X.shape, int(noisy.sum())
    ((300, 2), 100)
    """
    check_int(n_samples, "n_samples", min_val=1)
    check_int(n_classes, "n_classes", min_val=2)
    check_real(noise_fraction, "noise_fraction", min_val=0, max_val=1, include_boundaries="left")
    check_int(n_features, "n_features", min_val=1)
    n_noisy = round(noise_fraction * n_samples)
    if n_blobs is None:
        if noisy_blobs_fraction is not None:
            raise ValueError(
                "noisy_blobs_fraction goes with n_blobs (the total number of blobs); "
                "with blobs_per_class there are as many noisy blobs as clean ones."
            )
        blobs_per_class = 3 if blobs_per_class is None else blobs_per_class
        check_int(blobs_per_class, "blobs_per_class", min_val=1)
        n_clean_blobs = n_noisy_blobs = n_classes * blobs_per_class
        clean_blobs_name = "n_classes * blobs_per_class"
    else:
        if blobs_per_class is not None:
            raise ValueError(
                "Give either blobs_per_class (clean blobs per class) or n_blobs (all "
                f"blobs), not both; got blobs_per_class={blobs_per_class!r} and "
                f"n_blobs={n_blobs!r}."
            )
        check_int(n_blobs, "n_blobs", min_val=1)
        if noisy_blobs_fraction is None:
            noisy_blobs_fraction = 0.5
        check_real(
            noisy_blobs_fraction,
            "noisy_blobs_fraction",
            min_val=0,
            max_val=1,
            include_boundaries="left",
        )
        n_noisy_blobs = round(noisy_blobs_fraction * n_blobs)
        n_clean_blobs = n_blobs - n_noisy_blobs
        if n_clean_blobs < n_classes:
            raise ValueError(
                f"n_blobs={n_blobs} with noisy_blobs_fraction={noisy_blobs_fraction} "
                f"leaves {n_clean_blobs} clean blob(s) for {n_classes} classes; every "
                "class needs at least one."
            )
        if n_noisy > 0 and n_noisy_blobs == 0:
            raise ValueError(
                f"n_blobs={n_blobs} with noisy_blobs_fraction={noisy_blobs_fraction} "
                f"makes no noisy blob for the {n_noisy} noisy samples of "
                f"noise_fraction={noise_fraction}; raise noisy_blobs_fraction or set "
                "noise_fraction=0."
            )
        clean_blobs_name = "n_blobs minus the noisy ones"
    if n_samples - n_noisy < n_clean_blobs:
        raise ValueError(
            f"n_samples={n_samples} leaves {n_samples - n_noisy} clean samples for "
            f"{n_clean_blobs} clean blobs ({clean_blobs_name}); every "
            "blob needs at least one."
        )
    rng = check_random_state(random_state)

    centers = CELL * _blob_cells(rng, n_clean_blobs + n_noisy_blobs, n_features).astype(np.float64)
    centers += rng.uniform(-JITTER, JITTER, size=centers.shape)

    counts = np.concatenate(
        [
            _split_evenly(n_samples - n_noisy, n_clean_blobs),
            _split_evenly(n_noisy, n_noisy_blobs) if n_noisy_blobs else [],
        ]
    ).astype(np.intp)
    blob = np.repeat(np.arange(n_clean_blobs + n_noisy_blobs), counts)
    X = centers[blob] + rng.normal(size=(n_samples, n_features))
    noisy = blob >= n_clean_blobs
    y = np.empty(n_samples, dtype=np.int64)
    y[~noisy] = blob[~noisy] % n_classes
    pairs = np.array(
        [rng.choice(n_classes, size=2, replace=False) for _ in range(n_noisy_blobs)],
        dtype=np.int64,
    ).reshape(n_noisy_blobs, 2)
    noisy_blob = blob[noisy] - n_clean_blobs
    y[noisy] = pairs[noisy_blob, rng.randint(0, 2, size=n_noisy)]

    order = rng.permutation(n_samples)
    return X[order], y[order], noisy[order]
