"""Synthetic data for active-learning experiments."""

import math

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_int, check_real

# Blob centers sit in distinct cells of a square grid, jittered inside their
# cell; with this cell size and unit standard deviation two blobs are at
# least CELL - 2 * JITTER = 6 standard deviations apart, so clean blobs are
# separable and all the difficulty comes from the noisy ones.
CELL = 10.0
JITTER = 2.0


def _split_evenly(total, n_parts):
    counts = np.full(n_parts, total // n_parts)
    counts[: total % n_parts] += 1
    return counts


def make_noisy_blobs(
    n_samples=1000, n_classes=4, *, noise_fraction=0.5, blobs_per_class=3, random_state=None
):
    """Separated 2-D Gaussian blobs, some of which have random labels.

    A small version of the Noisy-LD task: ``n_classes * blobs_per_class``
    clean blobs, ``blobs_per_class`` of each class, hold
    ``n_samples - round(noise_fraction * n_samples)`` samples; as many noisy
    blobs hold the rest, and each noisy sample's label is drawn at random
    between two classes chosen for its blob. No classifier can do better
    than chance between those two classes on a noisy blob, so a sampler that
    keeps picking there (they are the most uncertain samples) wastes labels.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples, clean and noisy.
    n_classes : int >= 2, default=4
        Number of classes.
    noise_fraction : float in [0, 1), default=0.5
        Share of the samples that are in noisy blobs.
    blobs_per_class : int >= 1, default=3
        Clean blobs per class (and as many noisy blobs in all as clean ones).
    random_state : int, RandomState instance or None, default=None
        Source of the blobs' places, the samples and the noisy labels.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
        The samples, in random order.
    y : ndarray of shape (n_samples,), int64
        Labels in ``range(n_classes)``; every class has clean samples.
    noisy : ndarray of shape (n_samples,), bool
        True for the samples of the noisy blobs.
    """
    check_int(n_samples, "n_samples", min_val=1)
    check_int(n_classes, "n_classes", min_val=2)
    check_real(noise_fraction, "noise_fraction", min_val=0, max_val=1, include_boundaries="left")
    check_int(blobs_per_class, "blobs_per_class", min_val=1)
    n_blobs = n_classes * blobs_per_class  # clean ones; as many noisy ones
    n_noisy = round(noise_fraction * n_samples)
    if n_samples - n_noisy < n_blobs:
        raise ValueError(
            f"n_samples={n_samples} leaves {n_samples - n_noisy} clean samples for "
            f"{n_blobs} clean blobs (n_classes * blobs_per_class); every blob "
            "needs at least one."
        )
    rng = check_random_state(random_state)

    # Twice as many cells as blobs, so the blobs do not form a regular lattice.
    side = math.ceil(math.sqrt(4 * n_blobs))
    cells = rng.choice(side * side, size=2 * n_blobs, replace=False)
    centers = CELL * np.column_stack([cells // side, cells % side]).astype(np.float64)
    centers += rng.uniform(-JITTER, JITTER, size=centers.shape)

    counts = np.concatenate(
        [_split_evenly(n_samples - n_noisy, n_blobs), _split_evenly(n_noisy, n_blobs)]
    )
    blob = np.repeat(np.arange(2 * n_blobs), counts)
    X = centers[blob] + rng.normal(size=(n_samples, 2))
    noisy = blob >= n_blobs
    y = np.empty(n_samples, dtype=np.int64)
    y[~noisy] = blob[~noisy] % n_classes
    pairs = np.array([rng.choice(n_classes, size=2, replace=False) for _ in range(n_blobs)])
    noisy_blob = blob[noisy] - n_blobs
    y[noisy] = pairs[noisy_blob, rng.randint(0, 2, size=n_noisy)]

    order = rng.permutation(n_samples)
    return X[order], y[order], noisy[order]
