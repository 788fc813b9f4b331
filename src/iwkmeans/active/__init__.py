"""Active learning on top of :mod:`iwkmeans.cluster`.

Uncertainty scores from predicted probabilities, batch selection functions
(features, scores or embeddings in, pool indices out: WKMeans / IWKMeans,
submodular facility location, BADGE, k-center greedy) and the samplers that
wrap them behind one interface (``fit(X_labeled, y_labeled)``,
``select_samples(X_pool)``).
"""

from ._badge import LinearGradientEmbedding, select_badge
from ._samplers import (
    BadgeSampler,
    ClusteredSampler,
    ConfidenceSampler,
    EntropySampler,
    IWKMeansSampler,
    KCenterGreedySampler,
    KMeansSampler,
    MarginSampler,
    RandomSampler,
    SubmodularSampler,
    WKMeansSampler,
)
from ._selection import select_kcenter_greedy, select_wkmeans
from ._submodular import select_submodular
from ._uncertainty import confidence_score, entropy_score, margin_score

__all__ = [
    "confidence_score",
    "margin_score",
    "entropy_score",
    "select_wkmeans",
    "select_kcenter_greedy",
    "select_submodular",
    "select_badge",
    "LinearGradientEmbedding",
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
]
