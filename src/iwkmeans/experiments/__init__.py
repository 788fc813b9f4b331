"""Active-learning experiments: the loop, its metrics, monitor, cache and data.

:func:`run_experiment` runs one labeling loop, :func:`compare_samplers` runs
it over seeds, :func:`summarize` / :func:`format_summary` /
:func:`plot_learning_curves` report it and :func:`run_demo` is the CLI's
demo. Submodules: :mod:`~iwkmeans.experiments.metrics` (learning-curve AUC,
noisy-sample ratio, contradictions, exploration, classifier agreement, batch
easiness), :mod:`~iwkmeans.experiments.monitor` (the labeling monitor and its
advice), :mod:`~iwkmeans.experiments.cache` (the resumable, replayable store
of runs) and :mod:`~iwkmeans.experiments.datasets` (noisy blobs).
"""

from ._loop import (
    compare_samplers,
    format_summary,
    plot_learning_curves,
    run_demo,
    run_experiment,
    summarize,
)

__all__ = [
    "run_experiment",
    "compare_samplers",
    "summarize",
    "format_summary",
    "plot_learning_curves",
    "run_demo",
]
