"""Shared, cheap data generation for the asv benchmarks."""

import numpy as np
from sklearn.datasets import make_blobs

from iwkmeans._core import effective_n_threads

SEED = 0
# Parameter values of the thread count: one thread, or the default budget
# (OMP_NUM_THREADS, else the physical cores). Symbolic, so that results stay
# comparable across machines with different core counts.
THREADS = [1, "all"]


def n_threads(threads):
    """The explicit ``n_threads`` to pass for a ``threads`` parameter value."""
    return effective_n_threads(None) if threads == "all" else int(threads)


def blobs(n_samples, n_features, dtype, *, centers=64, seed=SEED):
    """Gaussian blobs as a C-contiguous array of ``dtype``."""
    X, _ = make_blobs(
        n_samples=n_samples,
        n_features=n_features,
        centers=centers,
        cluster_std=1.0,
        random_state=seed,
    )
    return np.ascontiguousarray(X, dtype=dtype)


def rows(X, n, seed):
    """``n`` distinct rows of X drawn at random (a copy)."""
    if n == 0:
        return np.empty((0, X.shape[1]), dtype=X.dtype)
    rng = np.random.RandomState(seed)
    return X[rng.choice(X.shape[0], n, replace=False)].copy()
