"""TypiClust (Hacohen, Dekel and Weinshall 2022) with the labeled samples as
fixed centroids.

The paper clusters labeled and unlabeled samples together into
``|L| + B`` clusters, then takes the most typical sample of each of the
``B`` largest clusters that hold no labeled sample. Here the ``|L|``
labeled samples are fixed centroids of the package's K-Means and ``B``
centroids are free: a labeled sample owns its own cluster, so the free
clusters are exactly the clusters without labels, and nothing is
re-clustered from scratch around what is known.
"""

import heapq

import numpy as np
from sklearn.neighbors import NearestNeighbors

from .._validation import check_random_state_in_call
from ._selection import cluster as kmeans_clusters


def typicality(X, n_neighbors):
    """Typicality of each row of X among the other rows (Hacohen et al. 2022).

    ``1 / mean Euclidean distance to the k nearest other rows``, with
    ``k = min(n_neighbors, n_rows - 1)``; infinite for a lone row and for a
    row whose k nearest neighbours are all at distance 0. X is dense or CSR.
    """
    n_rows = X.shape[0]
    k = min(n_neighbors, n_rows - 1)
    if k < 1:
        return np.full(n_rows, np.inf)
    # kneighbors() without X: every row's neighbours among the others.
    distances, _ = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()
    with np.errstate(divide="ignore"):
        return 1.0 / distances.mean(axis=1)


class _ClusterQueue:
    """The members of one cluster, handed out most typical first.

    Typicality is computed on at most ``max_samples`` members at a time (a
    draw without replacement, in row order), so its kNN costs at most
    ``max_samples**2`` distances; when they are all handed out, the next
    draw among the remaining members is ranked the same way.
    """

    def __init__(self, members):
        self.remaining = members
        self.ranked = []

    def __len__(self):
        return len(self.ranked) + self.remaining.size

    def pop(self, X, n_neighbors, max_samples, rng):
        if not self.ranked:
            rest = self.remaining
            if rest.size > max_samples:
                keep = np.zeros(rest.size, dtype=bool)
                keep[rng.choice(rest.size, size=max_samples, replace=False)] = True
                sample, self.remaining = rest[keep], rest[~keep]
            else:
                sample, self.remaining = rest, rest[:0]
            score = typicality(X[sample], n_neighbors)
            # Most typical first; ties to the lowest row. Reversed: pop() from the end.
            self.ranked = sample[np.lexsort((sample, -score))][::-1].tolist()
        return self.ranked.pop()


def typiclust_picks(
    X,
    batch_size,
    fixed_centers,
    n_neighbors,
    min_cluster_size,
    max_cluster_samples,
    random_state,
    n_threads,
):
    """TypiClust on the validated pool X (dense or CSR): local indices, in
    the order picked.

    K-Means (unit weights, k-means++ seeding, the package's Lloyd) with the
    ``fixed_centers`` (the labeled samples) fixed and ``batch_size`` free
    centers. Each cluster counts its labeled samples (1 for a fixed
    center's, 0 for a free one) plus its picks so far; each pick goes to
    the cluster of fewest, the one with most pool members first (ties: the
    lowest cluster index), and is its most typical member not picked yet.
    Clusters of fewer than ``min_cluster_size`` members are only used once
    the others have no member left. With every free cluster of at least
    ``min_cluster_size`` members, the batch is the most typical member of
    each free cluster, largest cluster first.
    """
    rng = check_random_state_in_call(random_state)
    n_fixed = fixed_centers.shape[0]
    _, labels = kmeans_clusters(
        X, np.ones(X.shape[0], dtype=X.dtype), fixed_centers, batch_size, rng, n_threads
    )
    n_clusters = n_fixed + batch_size
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_clusters + 1))
    sizes = np.diff(bounds)
    queues = [_ClusterQueue(order[bounds[c] : bounds[c + 1]]) for c in range(n_clusters)]
    covered = (np.arange(n_clusters) < n_fixed).astype(int)

    def heap_of(clusters):
        heap = [(int(covered[c]), -int(sizes[c]), c) for c in clusters if len(queues[c])]
        heapq.heapify(heap)
        return heap

    large = sizes >= max(min_cluster_size, 1)
    heap = heap_of(np.flatnonzero(large))
    small = np.flatnonzero(~large)
    picks = []
    while len(picks) < batch_size:
        if not heap:  # the large clusters are used up: the small ones too
            heap, small = heap_of(small), small[:0]
        count, negative_size, cluster = heapq.heappop(heap)
        picks.append(queues[cluster].pop(X, n_neighbors, max_cluster_samples, rng))
        if len(queues[cluster]):
            heapq.heappush(heap, (count + 1, negative_size, cluster))
    return np.asarray(picks, dtype=np.intp)
