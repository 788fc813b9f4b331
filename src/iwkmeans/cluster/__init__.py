"""Weighted K-Means with fixed centers: the clustering library.

:class:`IncrementalKMeans` (Lloyd), :class:`IncrementalMiniBatchKMeans`
(mini-batches, ``partial_fit``), :class:`HierarchicalKMeans` (levels, each
fixed while the next is fitted) and :func:`kmeans_plusplus` (greedy weighted
seeding from fixed centers). Every kernel call goes through
:mod:`iwkmeans._core`; nothing here knows about active learning.
"""

from ._hierarchical import HierarchicalKMeans
from ._incremental import IncrementalKMeans
from ._minibatch import IncrementalMiniBatchKMeans
from ._seeding import kmeans_plusplus

__all__ = [
    "IncrementalKMeans",
    "IncrementalMiniBatchKMeans",
    "HierarchicalKMeans",
    "kmeans_plusplus",
]
