"""k-means++ seeding that starts from fixed centers."""

from .._core import effective_n_threads, greedy_kmeans_plusplus, take_rows
from .._validation import (
    check_data,
    check_fixed_centers,
    check_n_free,
    check_n_local_trials,
    check_n_threads,
    check_random_state_in_call,
    check_sample_weight,
)


def kmeans_plusplus(
    X,
    n_clusters,
    *,
    sample_weight=None,
    fixed_centers=None,
    random_state=None,
    n_local_trials=None,
    n_threads=None,
):
    """Choose ``n_clusters`` initial centers among the samples with greedy k-means++.

    Each new center is the best of ``n_local_trials`` candidates drawn with
    probability proportional to ``w_i * D(x_i)^2``, where ``D`` is the
    distance to the nearest center chosen so far. With ``fixed_centers``,
    ``D`` is measured to the nearest fixed center from the start, so the new
    centers avoid regions the fixed ones already cover; without them the
    first center is drawn proportionally to the weights alone.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Samples to pick from, dense or CSR. float32 stays float32; other
        numbers become float64.
    n_clusters : int
        Number of new (free) centers to pick.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights; a sample of weight 0 is never picked.
    fixed_centers : array-like of shape (n_fixed, n_features), default=None
        Centers that already exist (converted to X's dtype).
    random_state : int, RandomState instance or None, default=None
        Source of every random number; fix it for reproducible picks.
    n_local_trials : int, default=None
        Candidates per pick; default ``2 + int(ln(n_clusters))``.
    n_threads : int, default=None
        OpenMP threads; default as described in :class:`IncrementalKMeans`.
        The picks do not depend on it.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The picked samples, in X's dtype.
    indices : ndarray of shape (n_clusters,)
        Their row indices in X, all distinct.
    """
    X = check_data(X, accept_sparse=True)
    sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    fixed_centers = check_fixed_centers(fixed_centers, X.shape[1], X.dtype)
    check_n_free(n_clusters, sample_weight)
    n_local_trials = check_n_local_trials(n_local_trials, n_clusters)
    check_n_threads(n_threads)
    indices = greedy_kmeans_plusplus(
        X,
        sample_weight,
        fixed_centers,
        n_clusters,
        check_random_state_in_call(random_state),
        n_local_trials,
        effective_n_threads(n_threads),
    )
    return take_rows(X, indices), indices
