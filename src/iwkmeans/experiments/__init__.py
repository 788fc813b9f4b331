"""Active-learning experiments: the loop, its metrics, monitor, cache and data.

:func:`run_experiment` runs one labeling loop, :func:`compare_samplers` runs
it over seeds (any scikit-learn ``scoring``, several at once),
:func:`summarize` / :func:`format_summary` / :func:`plot_learning_curves` /
:func:`plot_metric` report it and :func:`run_demo` is the CLI's demo.
Submodules: :mod:`~iwkmeans.experiments.metrics` (learning-curve AUC, noisy-sample
ratio, contradictions, exploration, classifier agreement, batch easiness),
:mod:`~iwkmeans.experiments.monitor` (the labeling monitor and its advice),
:mod:`~iwkmeans.experiments.stopping` (stopping criteria, live or on recorded
runs), :mod:`~iwkmeans.experiments.feasibility` (will active learning help on
this data?), :mod:`~iwkmeans.experiments.bias` (does a run's labeled set serve
another model?), :mod:`~iwkmeans.experiments.ranking` (Friedman test, Nemenyi
critical difference and its diagram), :mod:`~iwkmeans.experiments.cache` (the
resumable, replayable store of runs) and :mod:`~iwkmeans.experiments.datasets`
(noisy blobs).
"""

from ._loop import (
    compare_samplers,
    format_summary,
    plot_learning_curves,
    plot_metric,
    run_demo,
    run_experiment,
    summarize,
)
from .bias import BiasResult, labeled_set_bias
from .feasibility import FeasibilityResult, learning_curve_check
from .ranking import (
    friedman_test,
    nemenyi_critical_difference,
    nemenyi_groups,
    plot_critical_difference,
    rank_samplers,
)
from .stopping import (
    ClassificationChange,
    KappaAverage,
    MaxConfidence,
    OverallUncertainty,
    UncertaintyVariance,
    default_criteria,
    first_stop,
    plot_signals,
)

__all__ = [
    "run_experiment",
    "compare_samplers",
    "summarize",
    "format_summary",
    "plot_learning_curves",
    "plot_metric",
    "run_demo",
    "KappaAverage",
    "ClassificationChange",
    "OverallUncertainty",
    "MaxConfidence",
    "UncertaintyVariance",
    "default_criteria",
    "first_stop",
    "plot_signals",
    "learning_curve_check",
    "FeasibilityResult",
    "labeled_set_bias",
    "BiasResult",
    "friedman_test",
    "nemenyi_critical_difference",
    "nemenyi_groups",
    "rank_samplers",
    "plot_critical_difference",
]
