"""Active learning on top of :mod:`iwkmeans.cluster`.

Uncertainty scores from predicted probabilities (and a committee's
disagreement), batch selection functions (features, scores or embeddings in,
pool indices out: WKMeans / IWKMeans, submodular facility location, BADGE,
k-center greedy) and the samplers that wrap them behind one interface
(``fit(X_labeled, y_labeled)``, ``select_samples(X_pool)``, ``query(X, y)``);
:mod:`iwkmeans.active.integrations` offers them to scikit-activeml and
small-text.
"""

from ._badge import LinearGradientEmbedding, select_badge
from ._committee import committee_proba, committee_votes
from ._samplers import (
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
from ._selection import select_kcenter_greedy, select_wkmeans
from ._submodular import select_submodular
from ._uncertainty import (
    confidence_score,
    entropy_score,
    kl_divergence_score,
    margin_score,
    vote_entropy_score,
)

__all__ = [
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
    "CommitteeSampler",
    "TypiClustSampler",
    "ClusterMarginSampler",
]
