"""iwkmeans: weighted K-Means with fixed centroids, on a Cython/OpenMP core.

Public names:

- :class:`IncrementalKMeans` -- weighted Lloyd's K-Means in which some centers
  are fixed: they attract samples but never move.
- :func:`kmeans_plusplus` -- greedy, weighted k-means++ seeding that starts
  from fixed centers.
"""
from .incremental import IncrementalKMeans
from .seeding import kmeans_plusplus

__version__ = "0.1.0.dev0"
__all__ = ["IncrementalKMeans", "kmeans_plusplus", "__version__"]
