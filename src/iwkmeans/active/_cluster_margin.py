"""Cluster-Margin (Citovsky et al. 2021) with the package's hierarchical
K-Means in place of agglomerative clustering.

The paper clusters the pool once with hierarchical agglomerative clustering
(average linkage), which needs the pairwise distances: O(n^2) memory and at
least as much time. :class:`~iwkmeans.cluster.HierarchicalKMeans` costs
O(n_pool x n_clusters x n_features) per Lloyd iteration and O(n_pool)
memory, which keeps pools of a million rows in reach. Each round then takes
the samples of smallest margin and picks among them round-robin over their
clusters, smallest first.
"""

import numpy as np

from .._validation import check_random_state_in_call
from ._selection import cluster, top_scores


def hierarchical_labels(X, levels, random_state, n_threads):
    """The finest labels of ``HierarchicalKMeans(levels)`` fitted on the
    validated X (dense or CSR): each level's new centers fitted by the
    trusted fit with every earlier center fixed, one generator for all
    levels, the estimator's defaults (k-means++, one initialisation, 300
    iterations, tol 1e-4). For a dense X, the same labels as
    ``HierarchicalKMeans(levels, random_state=random_state).fit(X).labels_``;
    CSR pools, which that estimator does not take, are clustered the same
    way."""
    rng = check_random_state_in_call(random_state)
    weights = np.ones(X.shape[0], dtype=X.dtype)
    centers = np.empty((0, X.shape[1]), dtype=X.dtype)
    for n_new in levels:
        centers, labels = cluster(X, weights, centers, n_new, rng, n_threads)
    return labels


def round_robin_picks(labels, scores, batch_size, n_candidates, random_state):
    """Cluster-Margin's selection from cluster labels and uncertainty scores.

    The ``n_candidates`` highest scores (the smallest margins; ties to the
    lowest index) are grouped by their cluster in ``labels``; the groups are
    sorted by their number of candidates, smallest first (ties: the lowest
    cluster label). Then, round after round, each group in that order that
    still has a candidate gives one, drawn uniformly at random, until
    ``batch_size`` picks: no cluster gives a second sample before every
    group has given one. Returns indices into ``scores``, in the order
    picked.
    """
    rng = check_random_state_in_call(random_state)
    candidates = top_scores(scores, n_candidates)
    groups = labels[candidates]
    order = np.argsort(groups, kind="stable")
    clusters, starts, counts = np.unique(groups[order], return_index=True, return_counts=True)
    members = [
        rng.permutation(candidates[order[starts[i] : starts[i] + counts[i]]])
        for i in np.lexsort((clusters, counts))
    ]
    picks = []
    depth = 0
    while len(picks) < batch_size:
        picks += [group[depth] for group in members if depth < group.size]
        depth += 1
    return np.asarray(picks[:batch_size], dtype=np.intp)
