"""k-means++ seeding by the compiled core, on validated inputs."""

import numpy as np

from .._validation import check_n_local_trials
from ._frame import frame_of, normalised_weights
from ._kernels import _seeding
from ._threads import single_threaded_blas


def greedy_kmeans_plusplus(
    X,
    sample_weight,
    fixed_centers,
    n_clusters,
    random_state,
    n_local_trials,
    n_threads,
    frame=None,
    packed=(None, 0),
):
    """Indices of the k-means++ picks for inputs that are already validated
    (fixed centers in user coordinates), computed in X's frame (see iwkmeans._core._frame;
    ``frame`` if the caller has it already) with weights of at most 1.
    ``packed``: :func:`packed_rows` of X in that frame, if the caller has it."""
    first_draw, trial_draws = kmeans_plusplus_draws(random_state, n_clusters, n_local_trials)
    frame = frame or frame_of(X, n_threads)
    weights, _ = normalised_weights(sample_weight)
    picks = np.empty(n_clusters, dtype=np.intp)
    with single_threaded_blas():
        _seeding.kmeans_plusplus(
            *frame.rows(X),
            weights,
            frame.to(fixed_centers),
            first_draw,
            trial_draws,
            picks,
            n_threads,
            *packed,
        )
    return picks


def packed_rows(X, frame, seeding):
    """(copy, lanes): validated X packed in ``frame`` as the packed kernel
    of k-means++ (``seeding``) or of Lloyd reads it, or (None, 0) when it
    has none for X. Made once for a fit's seedings and Lloyd runs, which
    take it (their ``packed``) where their kernel reads the same blocks and
    would otherwise each copy X again."""
    return _seeding.packed_copy(*frame.rows(X), X.shape[0], X.shape[1], seeding)


def kmeans_plusplus_draws(random_state, n_clusters, n_local_trials):
    """The uniform [0, 1) draws of one k-means++ seeding: the first pick's
    (used only without fixed centers) and an (n_clusters, n_local_trials)
    array for the candidates, row c for pick c."""
    # All random numbers come from the caller's generator, in a fixed amount
    # that does not depend on the data: the kernel itself is deterministic.
    first_draw = random_state.uniform()
    return first_draw, random_state.uniform(size=(n_clusters, n_local_trials))


def initial_picks(
    init,
    X,
    sample_weight,
    fixed_centers,
    n_clusters,
    random_state,
    n_threads,
    frame=None,
    packed=(None, 0),
):
    """Rows of X (validated) where the free centers start, for ``init`` in
    {"k-means++", "random"}: greedy weighted k-means++ around the fixed
    centers, or distinct rows drawn in proportion to their weight.
    ``frame`` and ``packed`` as :func:`greedy_kmeans_plusplus` takes them."""
    if init == "random":
        return random_state.choice(
            X.shape[0],
            size=n_clusters,
            replace=False,
            p=sample_weight / sample_weight.sum(dtype=np.float64),
        )
    return greedy_kmeans_plusplus(
        X,
        sample_weight,
        fixed_centers,
        n_clusters,
        random_state,
        check_n_local_trials(None, n_clusters),
        n_threads,
        frame,
        packed,
    )
