"""iwkmeans: weighted K-Means with fixed centroids, on a Cython/OpenMP core.

Public names:

- :class:`IncrementalKMeans` -- weighted Lloyd's K-Means in which some centers
  are fixed: they attract samples but never move.
- :func:`kmeans_plusplus` -- greedy, weighted k-means++ seeding that starts
  from fixed centers.
- :class:`HierarchicalKMeans` -- levels of clusters, each level's centers
  fixed while the next level is fitted.
- :class:`IncrementalMiniBatchKMeans` -- mini-batch K-Means with fixed
  centers and ``partial_fit``, for large pools.
- :func:`confidence_score`, :func:`margin_score`, :func:`entropy_score` --
  uncertainty of each sample from predicted class probabilities.
- :func:`select_wkmeans` (WKMeans, IWKMeans with labeled samples as fixed
  centroids, Clustered with ``weighted=False``), :func:`select_submodular`
  (facility location on the preselected samples), :func:`select_badge`
  (k-means++ on gradient embeddings) and :func:`select_kcenter_greedy` --
  batch selection for any model: features, scores or embeddings in, pool
  indices out.
- Samplers with one interface (``fit(X_labeled, y_labeled)``,
  ``select_samples(X_pool)``): :class:`RandomSampler`,
  :class:`ConfidenceSampler`, :class:`MarginSampler`, :class:`EntropySampler`,
  :class:`KCenterGreedySampler`, :class:`KMeansSampler`,
  :class:`WKMeansSampler`, :class:`IWKMeansSampler`,
  :class:`ClusteredSampler`, :class:`SubmodularSampler`,
  :class:`BadgeSampler`, :class:`CommitteeSampler`, :class:`TypiClustSampler`
  (TypiClust with the labeled samples as fixed centroids) and
  :class:`ClusterMarginSampler` (Cluster-Margin on hierarchical K-Means).
- :class:`LabelingMonitor` -- watches a live labeling loop without a labeled
  test set (contradictions, agreement, exploration, uncertainty) and advises
  on it (:mod:`iwkmeans.experiments.monitor`).

Submodules for active-learning experiments (imported on demand):
:mod:`iwkmeans.experiments.metrics` (learning-curve AUC, noisy-sample ratio,
contradictions, exploration, classifier agreement, batch easiness),
:mod:`iwkmeans.experiments` (the experiment loop, comparisons over seeds,
summary and learning-curve plots), :mod:`iwkmeans.experiments.cache` (the resumable,
replayable store of runs) and :mod:`iwkmeans.experiments.datasets` (noisy blobs).

:mod:`iwkmeans.dask` (with the ``dask`` extra) holds the Dask versions:
``IncrementalKMeans`` on row-chunked Dask arrays, ``kmeans_parallel``
(k-means|| from fixed centers) and ``select_wkmeans`` for a Dask pool.
"""

from .active._badge import select_badge
from .active._committee import committee_proba, committee_votes
from .active._samplers import (
    BadgeSampler,
    ClusteredSampler,
    ClusterMarginSampler,
    CommitteeSampler,
    ConfidenceSampler,
    EntropySampler,
    IWKMeansSampler,
    KCenterGreedySampler,
    KMeansSampler,
    MarginSampler,
    RandomSampler,
    SubmodularSampler,
    TypiClustSampler,
    WKMeansSampler,
)
from .active._selection import select_kcenter_greedy, select_wkmeans
from .active._submodular import select_submodular
from .active._uncertainty import (
    confidence_score,
    entropy_score,
    kl_divergence_score,
    margin_score,
    vote_entropy_score,
)
from .cluster._hierarchical import HierarchicalKMeans
from .cluster._incremental import IncrementalKMeans
from .cluster._minibatch import IncrementalMiniBatchKMeans
from .cluster._seeding import kmeans_plusplus
from .experiments.monitor import LabelingMonitor

__version__ = "0.1.0.dev0"
__all__ = [
    "IncrementalKMeans",
    "HierarchicalKMeans",
    "IncrementalMiniBatchKMeans",
    "kmeans_plusplus",
    "confidence_score",
    "margin_score",
    "entropy_score",
    "vote_entropy_score",
    "kl_divergence_score",
    "committee_proba",
    "committee_votes",
    "select_wkmeans",
    "select_kcenter_greedy",
    "select_submodular",
    "select_badge",
    "RandomSampler",
    "ConfidenceSampler",
    "MarginSampler",
    "EntropySampler",
    "KCenterGreedySampler",
    "KMeansSampler",
    "WKMeansSampler",
    "IWKMeansSampler",
    "ClusteredSampler",
    "SubmodularSampler",
    "BadgeSampler",
    "CommitteeSampler",
    "TypiClustSampler",
    "ClusterMarginSampler",
    "LabelingMonitor",
    "__version__",
]
