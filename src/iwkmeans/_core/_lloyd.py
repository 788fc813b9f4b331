"""Lloyd's iterations by the compiled core, on validated inputs."""

import numpy as np

from ._distances import scaled_tol
from ._frame import frame_of, normalised_weights, take_rows
from ._kernels import _lloyd
from ._seeding import initial_picks, packed_rows
from ._threads import single_threaded_blas


def lloyd_fit(
    X,
    sample_weight,
    fixed_centers,
    n_clusters,
    *,
    init,
    n_init,
    max_iter,
    tol,
    random_state,
    n_threads,
    verbose=0,
):
    """Weighted Lloyd's K-Means with fixed centers on trusted inputs.

    X: validated samples; sample_weight: non-negative, at least n_clusters
    positive; fixed_centers: (n_fixed, n_features) in X's dtype; init:
    "k-means++", "random" or a (n_clusters, n_features) array of free
    centers (then n_init is 1); n_threads: a resolved count. The kernels
    compute in X's frame (see _frame) with weights of at most 1.

    Returns (centers, labels, inertia, n_iter) of the initialisation of
    lowest inertia: centers in the user's coordinates, the fixed ones first
    and bit-identical to ``fixed_centers``; inertia in the user's units.
    """
    n_fixed = fixed_centers.shape[0]
    frame = frame_of(X, n_threads)
    weights, weight_scale = normalised_weights(sample_weight)
    framed_fixed = frame.to(fixed_centers)
    framed_tol = scaled_tol(X, tol, n_threads, frame)
    # One packed copy of X for every seeding and Lloyd run of the fit, in
    # the seeding's blocks when there is one (Lloyd shares them on AVX-512).
    packed = packed_rows(X, frame, seeding=isinstance(init, str) and init == "k-means++")
    best = None
    with single_threaded_blas():
        for _ in range(n_init):
            if isinstance(init, str):
                free_init = take_rows(
                    X,
                    initial_picks(
                        init,
                        X,
                        weights,
                        fixed_centers,
                        n_clusters,
                        random_state,
                        n_threads,
                        frame,
                        packed,
                    ),
                )
            else:
                free_init = init
            centers = np.concatenate([framed_fixed, frame.to(free_init)])
            labels = np.empty(X.shape[0], dtype=np.int32)
            if verbose:
                print("Initialization complete")
            n_iter, inertia = _lloyd.lloyd(
                *frame.rows(X),
                X.shape[1],
                weights,
                centers,
                n_fixed,
                max_iter,
                framed_tol,
                labels,
                n_threads,
                bool(verbose),
                weight_scale,
                *packed,
            )
            if best is None or inertia < best[3]:
                best = (centers, labels, n_iter, inertia)
    framed_centers, labels, n_iter, inertia = best
    centers = np.concatenate([fixed_centers, frame.back(framed_centers[n_fixed:])])
    return centers, labels, float(frame.squared(inertia, weight_scale)), n_iter


def framed_block_step(X, weights, framed_centers, n_fixed, frame, n_threads):
    """One assignment of validated X to ``framed_centers`` (the first
    ``n_fixed`` fixed) with the statistics of the free ones: returns
    (labels, sums (n_free, n_features), weights (n_free,), inertia), sums
    and weights in float64, everything in the frame's units. The caller
    holds the single-threaded BLAS limit."""
    n_free = framed_centers.shape[0] - n_fixed
    labels = np.empty(X.shape[0], dtype=np.int32)
    sums = np.empty((n_free, X.shape[1]))
    totals = np.empty(n_free)
    inertia = _lloyd.block_step(
        *frame.rows(X), weights, framed_centers, n_fixed, labels, sums, totals, n_threads
    )
    return labels, sums, totals, float(inertia)
