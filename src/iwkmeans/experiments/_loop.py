"""Active-learning experiments: one run, several samplers over several seeds,
a summary table and learning-curve plots.

A run (:func:`run_experiment`) splits the data into a train and a test part,
draws a stratified initial labeled set from the train part and treats the rest
of it as the unlabeled pool. At each step the sampler fits its classifier on
the labeled set, the metrics of :mod:`iwkmeans.experiments.metrics` are recorded, and the
batch the sampler selects moves from the pool to the labeled set (the
"oracle" is the known label). The loop only keeps the books: selection is
the sampler's job. The test set is judged by any scikit-learn scorers
(``scoring``), and every report (:func:`summarize`, :func:`format_summary`,
:func:`plot_learning_curves`, :func:`plot_metric`) takes the scorer to show.
Samples may be a CSR matrix (TF-IDF text): the pool is never densified.
"""

from collections.abc import Mapping

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import check_scoring, get_scorer
from sklearn.model_selection import train_test_split

from .._validation import check_data, check_int
from ..active._samplers import (
    BadgeSampler,
    ClusteredSampler,
    ClusterMarginSampler,
    IWKMeansSampler,
    RandomSampler,
    SubmodularSampler,
    TypiClustSampler,
    WKMeansSampler,
)
from . import metrics
from .cache import RunStore, describe, run_key, run_settings, seeded_model
from .datasets import make_noisy_blobs

# Per-step entries of a run's result, in table order, with the default
# scoring; the scorers' entries take the place of "accuracy". "noisy_ratio"
# is there only when the noise flags are known.
STEP_KEYS = (
    "n_labeled",
    "accuracy",
    "contradiction",
    "exploration",
    "exploration_decrease",
    "agreement",
    "easiness",
    "noisy_ratio",
)
# The metrics recorded besides the scores, in table order.
METRIC_KEYS = STEP_KEYS[2:]
# The entries that describe the batch selected at a step: none at the last step.
BATCH_KEYS = ("agreement", "easiness", "noisy_ratio")
# Names a scorer cannot take: the other columns of a result or a table row.
_RESERVED = frozenset(
    ("n_labeled", *METRIC_KEYS, "initial", "selected", "test", "method", "run", "seed", "step")
)
# The default scoring: test accuracy, computed from the step's predictions.
_ACCURACY = "accuracy"


def _check_scoring(scoring):
    """The scorers of ``scoring`` as a dict name -> scorer, in order.

    The built-in "accuracy" given by name stays the string ``"accuracy"``:
    the loop computes it from the predictions it already has (scikit-learn's
    accuracy scorer gives the same value, predicting the test set again).
    """
    if scoring is None:
        return {_ACCURACY: _ACCURACY}
    if isinstance(scoring, str) or callable(scoring):
        named = {scoring: scoring} if isinstance(scoring, str) else {"score": scoring}
    elif isinstance(scoring, Mapping):
        named = dict(scoring)
    elif isinstance(scoring, (list, tuple)):
        if not all(isinstance(name, str) for name in scoring):
            raise TypeError(
                "scoring as a list must hold scorer names (str); give a dict "
                "name -> scorer for callables."
            )
        if len(set(scoring)) != len(scoring):
            raise ValueError(f"scoring must not name a scorer twice; got {list(scoring)!r}.")
        named = {name: name for name in scoring}
    else:
        raise TypeError(
            "scoring must be None, a scorer name, a callable scorer(estimator, X, y), "
            f"or a list or dict of them; got {type(scoring).__name__}."
        )
    if not named:
        raise ValueError("scoring must hold at least one scorer.")
    scorers = {}
    for name, scorer in named.items():
        if not isinstance(name, str) or name in _RESERVED:
            raise ValueError(
                f"scoring names its scorers; {name!r} cannot be one (not a str, or "
                f"taken by another column: {sorted(_RESERVED)})."
            )
        if isinstance(scorer, str):
            if scorer != _ACCURACY:
                try:
                    get_scorer(scorer)
                except ValueError as error:
                    raise ValueError(f"scoring: {error}") from None
        elif not callable(scorer):
            raise TypeError(
                f"scoring[{name!r}] must be a scorer name or a callable "
                f"scorer(estimator, X, y); got {type(scorer).__name__}."
            )
        scorers[name] = scorer
    return scorers


def _scoring_function(scorers):
    """``score(model, X_test, y_test, predictions)`` -> dict name -> score.

    The scorers other than the built-in accuracy are evaluated together by
    scikit-learn's multimetric scorer, which predicts once for all those
    that need the same response (predict, predict_proba, ...).
    """
    others = {
        name: scorer
        for name, scorer in scorers.items()
        if not (isinstance(scorer, str) and scorer == _ACCURACY)
    }
    together = check_scoring(scoring=others) if others else None

    def score(model, X_test, y_test, predictions):
        values = {} if together is None else together(model, X_test, y_test)
        values = {name: float(value) for name, value in values.items()}
        for name in scorers.keys() - others.keys():
            values[name] = np.mean(predictions == y_test)
        return values

    return score


def _split(y, test_size, initial_size, seed, swap_split):
    """Row indices of the initial labeled set, the pool and the test set."""
    rows = np.arange(y.shape[0])
    train, test = train_test_split(rows, test_size=test_size, stratify=y, random_state=seed)
    if swap_split:
        train, test = test, train
    initial, pool = train_test_split(
        train, train_size=initial_size, stratify=y[train], random_state=seed
    )
    return initial, pool, test


def _check_picks(picks, batch_size, n_pool):
    """A sampler made by the user's factory must keep the samplers' contract."""
    picks = np.asarray(picks)
    if (
        picks.shape != (batch_size,)
        or picks.dtype.kind not in "iu"
        or np.unique(picks).size != batch_size
        or picks.min() < 0
        or picks.max() >= n_pool
    ):
        raise ValueError(
            f"The sampler from sampler_factory must return {batch_size} distinct "
            f"integer indices into a pool of {n_pool} samples; got {picks!r}."
        )
    return picks


def run_experiment(
    X,
    y,
    sampler_factory,
    *,
    initial_size,
    batch_size,
    n_batches,
    classifier,
    random_state,
    test_size=0.5,
    noisy=None,
    swap_split=False,
    cache=None,
    run_name=None,
    scoring=None,
):
    """One active-learning run: ``n_batches`` batches, ``n_batches + 1`` steps.

    1. Split the rows into train and test (stratified, seeded with
       ``random_state``); ``swap_split=True`` exchanges the two parts (the
       second half of a 2-fold protocol).
    2. Draw ``initial_size`` labeled samples from train (stratified, same
       seed); the rest of train is the pool.
    3. At each step the sampler fits ``classifier`` on the labeled set; the
       metrics below are recorded with that fitted model
       (``sampler.classifier_``); then, except at the last step, the sampler
       selects ``batch_size`` pool samples, which join the labeled set.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The samples; a CSR matrix (e.g. TF-IDF text) is never densified
        (the sampler and classifier must accept it).
    y : array-like of shape (n_samples,)
        Their labels: the oracle's answers, and the test set's truth.
    sampler_factory : callable
        ``sampler_factory(classifier, batch_size, random_state)`` returns a
        sampler (see :mod:`iwkmeans.active._samplers`), e.g.
        ``lambda c, b, r: IWKMeansSampler(c, b, beta=10, random_state=r)``.
        It gets a ``numpy.random.RandomState`` seeded with the run's seed, so
        a random sampler draws a new batch at every step yet the run is
        reproducible.
    initial_size : int
        Size of the initial labeled set, at least the number of classes.
    batch_size, n_batches : int
        Samples per batch and number of batches.
    classifier : scikit-learn classifier
        With ``predict_proba`` for the uncertainty-based samplers. Cloned; if
        it takes a ``random_state`` left to None, the clone gets the run's
        seed.
    random_state : int
        Seed of the run: the split, the initial set, the classifier, the
        sampler.
    test_size : float or int, default=0.5
        As in :func:`sklearn.model_selection.train_test_split`.
    noisy : array-like of bool, shape (n_samples,), default=None
        Noise flags; when given, the noisy-sample ratio of each batch is
        recorded.
    swap_split : bool, default=False
        Use the test part for training and the train part for testing.
    cache : str or os.PathLike, default=None
        A folder in which every step is stored as it completes (see
        :mod:`iwkmeans.experiments.cache`), under ``<run_name>_seed<random_state>``
        (plus ``_swapped`` with ``swap_split``). If the folder already holds
        steps of this run, they are read back instead of recomputed and the
        run continues from the first missing step, with the sampler's random
        state restored: an interrupted run resumes, a finished one is read
        back, and a longer ``n_batches`` extends it. The result is the one an
        uninterrupted run gives. A stored run made with other settings
        (sampler and its parameters, classifier, seed, sizes, split, data)
        raises a ValueError; so does one scored by other scorers (the stored
        steps have no values for them). Resuming assumes what the package's
        samplers do: a selection depends only on the labeled set, the pool
        and the random state the sampler was given.
    run_name : str, default=None
        Name of the run in the cache; None uses the sampler's class name.
    scoring : str, callable, list or dict, default=None
        How the test set judges each step's model, as in scikit-learn's
        model selection: a scorer name (``"accuracy"``,
        ``"balanced_accuracy"``, ``"f1_macro"``, see
        :func:`sklearn.metrics.get_scorer_names`), a callable
        ``scorer(estimator, X, y)`` (e.g. from
        :func:`sklearn.metrics.make_scorer`), a list of names, or a dict
        name -> name or callable. Each scorer's name is an entry of the
        result (a single callable's is ``"score"``). None is
        ``"accuracy"``.

    Returns
    -------
    result : dict of ndarrays
        Per step, arrays of shape (n_batches + 1,); NaN where a metric does
        not apply (no previous model at step 0, no batch at the last step):

        - ``n_labeled`` -- size of the labeled set;
        - ``accuracy`` -- test accuracy (with the default ``scoring``; one
          entry per scorer otherwise, named as in ``scoring``);
        - ``contradiction`` -- :func:`~iwkmeans.experiments.metrics.contradiction_ratio`
          of this step's and the previous step's test predictions;
        - ``exploration`` -- :func:`~iwkmeans.experiments.metrics.exploration` of the
          test set by the labeled set;
        - ``exploration_decrease`` -- ``exploration[t] - exploration[t+1]``:
          how much the batch selected at step t covered;
        - ``agreement`` -- :func:`~iwkmeans.experiments.metrics.classifier_agreement` on
          the batch selected at this step;
        - ``easiness`` -- :func:`~iwkmeans.experiments.metrics.reverse_batch_accuracy`
          of the batch, with the classifier trained on the whole test set as
          the reference;
        - ``noisy_ratio`` -- :func:`~iwkmeans.experiments.metrics.noisy_sample_ratio` of
          the batch (only with ``noisy``).

        And the bookkeeping, as row indices into X: ``initial``
        (initial_size,), ``selected`` (n_batches, batch_size) with the batch
        of each step, and ``test``.
    """
    X = check_data(X, name="X", accept_sparse=True)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape ({X.shape[0]},), one label per row of X; got shape {y.shape}."
        )
    if noisy is not None:
        noisy = np.asarray(noisy)
        if noisy.shape != y.shape or noisy.dtype != bool:
            raise ValueError(
                f"noisy must be a boolean mask of shape {y.shape}; got dtype "
                f"{noisy.dtype} and shape {noisy.shape}."
            )
    scorers = _check_scoring(scoring)
    check_int(random_state, "random_state", min_val=0)
    check_int(batch_size, "batch_size", min_val=1)
    check_int(n_batches, "n_batches", min_val=1)
    check_int(initial_size, "initial_size", min_val=1)
    n_classes = np.unique(y).size
    if initial_size < n_classes:
        raise ValueError(
            f"initial_size={initial_size} is too small for a stratified initial set: "
            f"y has {n_classes} classes."
        )

    initial, pool, test = _split(y, test_size, initial_size, random_state, swap_split)
    if n_batches * batch_size > pool.size:
        raise ValueError(
            f"n_batches * batch_size = {n_batches * batch_size} samples to select, "
            f"but the pool (train part minus the initial set) has {pool.size}."
        )
    model = seeded_model(classifier, random_state)
    rng = np.random.RandomState(random_state)
    sampler = sampler_factory(model, batch_size, rng)
    store = None
    n_stored = 0
    if cache is not None:
        name = type(sampler).__name__ if run_name is None else run_name
        store = RunStore(cache, run_key(name, random_state, swap_split))
        settings = run_settings(
            name,
            sampler,
            model,
            X,
            y,
            noisy,
            random_state,
            initial_size,
            batch_size,
            test_size,
            swap_split,
        )
        if scorers != {_ACCURACY: _ACCURACY}:
            # Only then: runs cached with the default scoring stay valid.
            settings["scoring"] = {name: describe(scorer) for name, scorer in scorers.items()}
        store.open(settings, initial, test)
        n_stored = min(store.n_stored(), n_batches + 1)
        if 0 < n_stored <= n_batches and not store.has_batch(n_stored - 1):
            n_stored -= 1  # a shorter run's last step: redo it, selecting this time
    reference = clone(model).fit(X[test], y[test])

    score = _scoring_function(scorers)
    keys = ("n_labeled", *scorers, *METRIC_KEYS[: None if noisy is not None else -1])
    result = {key: np.full(n_batches + 1, np.nan) for key in keys}
    result["n_labeled"] = np.zeros(n_batches + 1, dtype=np.intp)
    selected = np.empty((n_batches, batch_size), dtype=np.intp)
    labeled = initial
    previous = None
    for step in range(n_batches + 1):
        last = step == n_batches
        if step < n_stored:
            values, batch = store.load(step)
            if last:  # of this run, not of the longer one stored
                values = {k: v for k, v in values.items() if k not in BATCH_KEYS}
            if step == n_stored - 1 and not last:
                previous = store.load_predictions(step)
                rng.set_state(store.load_random_state(step))
            if batch is not None and not np.all(np.isin(batch, pool)):
                raise ValueError(
                    f"The cache {store.run_folder} is corrupt: step {step} selected "
                    f"rows that are not in the pool."
                )
        else:
            values, batch, previous = _step(
                sampler,
                batch_size,
                X,
                y,
                labeled,
                pool,
                test,
                previous,
                reference,
                noisy,
                last,
                score,
            )
            if store is not None:
                store.save(step, values, batch, previous, rng)
        for key in keys:
            if key in values:
                result[key][step] = values[key]
        if last:
            break
        selected[step] = batch
        labeled = np.concatenate([labeled, batch])
        pool = pool[~np.isin(pool, batch)]

    result["exploration_decrease"][:-1] = result["exploration"][:-1] - result["exploration"][1:]
    result.update(initial=initial, selected=selected, test=test)
    return result


def _step(sampler, batch_size, X, y, labeled, pool, test, previous, reference, noisy, last, score):
    """One step of a run: fit, record, select.

    Returns the step's values (metric name -> float, as in
    :func:`run_experiment`'s result; the batch metrics only when a batch is
    selected), the selected rows of X (None at the last step) and the test
    predictions.
    """
    X_labeled, X_test = X[labeled], X[test]
    sampler.fit(X_labeled, y[labeled])
    predictions = sampler.classifier_.predict(X_test)
    values = {
        "n_labeled": labeled.size,
        **score(sampler.classifier_, X_test, y[test], predictions),
        "exploration": metrics.exploration(X_test, X_labeled),
    }
    if previous is not None:
        values["contradiction"] = metrics.contradiction_ratio(previous, predictions)
    if last:
        return values, None, predictions
    picks = _check_picks(sampler.select_samples(X[pool]), batch_size, pool.size)
    batch = pool[picks]
    X_batch = X[batch]
    values["agreement"] = metrics.classifier_agreement(
        sampler.classifier_, X_labeled, y[labeled], X_batch
    )
    values["easiness"] = metrics.reverse_batch_accuracy(reference, X_batch, y[batch])
    if noisy is not None:
        values["noisy_ratio"] = metrics.noisy_sample_ratio(batch, noisy)
    return values, batch, predictions


def compare_samplers(
    X, y, samplers, *, seeds, both_halves=False, progress=None, cache=None, **run_options
):
    """Run every sampler with every seed; return one table row per step.

    Parameters
    ----------
    X, y : arrays
        The data, as for :func:`run_experiment`.
    samplers : dict
        Method name -> ``sampler_factory`` (see :func:`run_experiment`).
    seeds : iterable of int
        One run per seed and method.
    both_halves : bool, default=False
        Two runs per seed, named e.g. ``"11A"`` and ``"11B"``: B swaps the
        train and test parts of A (use with ``test_size=0.5``).
    progress : bool or None, default=None
        Progress bar on stderr, one tick per run; None shows it only when
        stderr is a terminal.
    cache : str or os.PathLike, default=None
        A cache folder for every run (see :func:`run_experiment`), each
        stored under its method's name: an interrupted comparison resumes
        where it stopped, and one that finished is read back.
    **run_options
        Passed to :func:`run_experiment` (``initial_size``, ``batch_size``,
        ``n_batches``, ``classifier``, ``test_size``, ``noisy``,
        ``scoring``).

    Returns
    -------
    rows : list of dict
        Tidy table: ``method``, ``run``, ``seed``, ``step`` and the per-step
        entries of :func:`run_experiment` (``n_labeled``, one entry per
        scorer such as ``accuracy``, ``contradiction``, ...), ordered by run,
        then method, then step.
    """
    if not samplers:
        raise ValueError("samplers must name at least one sampler factory.")
    halves = ("A", "B") if both_halves else ("",)
    runs = [(int(seed), half) for seed in seeds for half in halves]
    if not runs:
        raise ValueError("seeds must hold at least one seed.")
    # tqdm comes with the "demo" extra: imported where the bar is drawn, so
    # that the package imports without it.
    from tqdm import tqdm

    rows = []
    disable = None if progress is None else not progress
    with tqdm(total=len(runs) * len(samplers), unit="run", disable=disable) as bar:
        for seed, half in runs:
            for method, factory in samplers.items():
                bar.set_description(f"{method} {seed}{half}")
                result = run_experiment(
                    X,
                    y,
                    factory,
                    random_state=seed,
                    swap_split=half == "B",
                    cache=cache,
                    run_name=method,
                    **run_options,
                )
                per_step = [key for key in result if key not in ("initial", "selected", "test")]
                for step in range(result["n_labeled"].size):
                    row = {"method": method, "run": f"{seed}{half}", "seed": seed, "step": step}
                    row.update((key, result[key][step].item()) for key in per_step)
                    rows.append(row)
                bar.update()
    return rows


# Columns of a compare_samplers table that are not scores.
_NOT_SCORES = frozenset(("method", "run", "seed", "step", "n_labeled", *METRIC_KEYS))


def _scorer(rows, scorer):
    """The score column to report: ``scorer``, checked against the table,
    or by default "accuracy" if the table has it, else its first score."""
    if not rows:
        raise ValueError("rows must hold at least one row (see compare_samplers).")
    names = [key for key in rows[0] if key not in _NOT_SCORES]
    if not names:
        raise ValueError("rows hold no score column (see compare_samplers).")
    if scorer is None:
        return _ACCURACY if _ACCURACY in names else names[0]
    if scorer not in names:
        raise ValueError(f"scorer must be one of the rows' scores {names}; got {scorer!r}.")
    return scorer


def _curves(rows, key):
    """Per method (in table order): the n_labeled axis and an array
    (n_runs, n_steps) of ``key``."""
    if not rows:
        raise ValueError("rows must hold at least one row (see compare_samplers).")
    by_run = {}
    for row in rows:
        by_run.setdefault(row["method"], {}).setdefault(row["run"], []).append(row)
    curves = {}
    for method, runs in by_run.items():
        first = next(iter(runs.values()))
        curves[method] = (
            np.array([row["n_labeled"] for row in first]),
            np.array([[row[key] for row in run] for run in runs.values()], dtype=np.float64),
        )
    return curves


def _spread(prefix, values):
    """Mean, std (ddof=0) and 10th and 90th percentiles of per-run values."""
    return {
        f"{prefix}_mean": values.mean(),
        f"{prefix}_std": values.std(),
        f"{prefix}_p10": np.percentile(values, 10),
        f"{prefix}_p90": np.percentile(values, 90),
    }


def _run_means(values):
    """Mean of each run (row) over the steps where the metric is recorded
    (not NaN); NaN for a run where it never is."""
    recorded = ~np.isnan(values)
    counts = recorded.sum(axis=1)
    totals = np.where(recorded, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def summarize(rows, *, scorer=None):
    """AUC of each method over its runs, and the spread of every other metric.

    Returns one dict per method (in table order): ``method``, ``n_runs``,
    ``scorer`` (the score whose learning curve is measured), ``auc_mean``,
    ``auc_std`` (over runs, ddof=0), ``auc_p10``, ``auc_p90`` (10th and 90th
    percentiles over runs), all as ``100 *``
    :func:`~iwkmeans.experiments.metrics.learning_curve_auc` of that score.

    For every metric the rows record (``contradiction``, ``exploration``,
    ``exploration_decrease``, ``agreement``, ``easiness`` and, when the
    noise is known, ``noisy_ratio``): ``<metric>_mean``, ``<metric>_std``,
    ``<metric>_p10`` and ``<metric>_p90``, the same statistics over runs of
    each run's mean over the steps where the metric is defined (its batches
    for the batch metrics). And, when the rows have it, ``noisy_ratio``: the
    share of noisy samples among all the samples the method selected (every
    batch has the same size, so it is the mean of the per-batch ratios).

    Parameters
    ----------
    rows : list of dict
        A table of :func:`compare_samplers`.
    scorer : str, default=None
        The score column whose learning curve gives the AUC (a name of the
        run's ``scoring``); None takes ``"accuracy"`` if the rows have it,
        else their first score.

    Returns
    -------
    summary : list of dict
        One entry per method, with the keys above.
    """
    scorer = _scorer(rows, scorer)
    recorded = [key for key in METRIC_KEYS if key in rows[0]]
    curves = {key: _curves(rows, key) for key in recorded}
    summary = []
    for method, (_, scores) in _curves(rows, scorer).items():
        auc = 100 * metrics.learning_curve_auc(scores, bounded=False)
        entry = {"method": method, "n_runs": auc.size, "scorer": scorer, **_spread("auc", auc)}
        if "noisy_ratio" in curves:
            entry["noisy_ratio"] = np.nanmean(curves["noisy_ratio"][method][1])
        for key in recorded:
            entry.update(_spread(key, _run_means(curves[key][method][1])))
        summary.append(entry)
    return summary


def format_summary(summary, *, columns=()):
    """The output of :func:`summarize` as a Markdown table.

    Parameters
    ----------
    summary : list of dict
        The output of :func:`summarize`.
    columns : sequence of str, default=()
        Metrics of the summary to add as columns, each shown as its mean
        and std over runs (e.g. ``("agreement", "easiness")``).

    Returns
    -------
    table : str
        One row per method (AUC, its std and 10th-90th percentiles, the
        noisy ratio if the summary has it, then ``columns``), ending with a
        newline. The AUC column names its scorer unless it is accuracy.
    """
    if isinstance(columns, str):
        columns = (columns,)
    available = [key[: -len("_mean")] for key in summary[0] if key.endswith("_mean")]
    for column in columns:
        if column == "auc" or column not in available:
            raise ValueError(
                f"columns must name metrics of the summary, among "
                f"{[key for key in available if key != 'auc']}; got {column!r}."
            )
    scorer = summary[0].get("scorer", _ACCURACY)
    auc = "AUC" if scorer == _ACCURACY else f"AUC ({scorer})"
    has_noise = "noisy_ratio" in summary[0]
    lines = [
        f"| method | runs | {auc} | std | 10th-90th pct |"
        + (" noisy ratio |" if has_noise else "")
        + "".join(f" {column} |" for column in columns),
        "| --- | ---: | ---: | ---: | ---: |"
        + (" ---: |" if has_noise else "")
        + " ---: |" * len(columns),
    ]
    for s in summary:
        line = (
            f"| {s['method']} | {s['n_runs']} | {s['auc_mean']:.2f} | "
            f"{s['auc_std']:.2f} | {s['auc_p10']:.2f}-{s['auc_p90']:.2f} |"
        )
        if has_noise:
            line += f" {s['noisy_ratio']:.2f} |"
        for column in columns:
            line += f" {s[f'{column}_mean']:.3f} ± {s[f'{column}_std']:.3f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _draw(ax, curves, factor, labels, legend="best"):
    """One line per method: the mean over runs of ``factor * values`` at each
    number of labels where some run recorded it, in a band from the 10th to
    the 90th percentile over runs."""
    for method, (n_labeled, values) in curves.items():
        values = factor * values
        kept = ~np.all(np.isnan(values), axis=0)
        n_labeled, values = n_labeled[kept], values[:, kept]
        low, high = np.nanpercentile(values, [10, 90], axis=0)
        (line,) = ax.plot(n_labeled, np.nanmean(values, axis=0), label=labels[method])
        ax.fill_between(n_labeled, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("labeled samples")
    ax.grid(alpha=0.3)
    ax.legend(loc=legend, fontsize="small")


def plot_learning_curves(rows, path, *, title=None, scorer=None):
    """Write the learning curves of a :func:`compare_samplers` table to a PNG.

    One line per method: the mean test score (times 100) over its runs at
    each number of labels, with a band from the 10th to the 90th percentile
    over runs; the legend gives each method's mean AUC. Several scorers make
    one panel each, side by side. Uses matplotlib's Agg renderer through a
    bare ``Figure`` (no pyplot), so it works without a display and leaves
    the user's matplotlib backend alone. Returns ``path``.

    Parameters
    ----------
    rows : list of dict
        A table of :func:`compare_samplers`.
    path : str or os.PathLike
        Where to write the PNG.
    title : str, default=None
        Title of the plot; None for none.
    scorer : str or list of str, default=None
        The score column(s) to plot (names of the run's ``scoring``); None
        is the one :func:`summarize` takes by default.

    Returns
    -------
    path : str or os.PathLike
        The ``path`` given.
    """
    from matplotlib.figure import Figure

    names = [scorer] if scorer is None or isinstance(scorer, str) else list(scorer)
    if not names:
        raise ValueError("scorer must name at least one score column.")
    names = [_scorer(rows, name) for name in names]
    fig = Figure(figsize=(7 if len(names) == 1 else 5 * len(names), 4.5), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        curves = _curves(rows, name)
        aucs = {
            m: 100 * metrics.learning_curve_auc(v, bounded=False) for m, (_, v) in curves.items()
        }
        labels = {method: f"{method} (AUC {auc.mean():.1f})" for method, auc in aucs.items()}
        _draw(ax, curves, 100, labels, "upper left")
        ax.set_ylabel(f"test {name} (%)")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    return path


def plot_metric(rows, metric, path, *, title=None):
    """Write one recorded metric of a :func:`compare_samplers` table over
    the learning curve to a PNG.

    One line per method: the mean over its runs of ``metric`` at each number
    of labels where it is recorded (a batch metric is not at the last step,
    the contradiction ratio not at the first), with a band from the 10th to
    the 90th percentile over runs; the legend gives each method's mean over
    runs (see :func:`summarize`). Values are plotted in the metric's units.
    Drawn as :func:`plot_learning_curves` draws (Agg, no pyplot).

    Parameters
    ----------
    rows : list of dict
        A table of :func:`compare_samplers`.
    metric : str
        A column of the rows: ``"contradiction"``, ``"exploration"``,
        ``"exploration_decrease"``, ``"agreement"``, ``"easiness"``,
        ``"noisy_ratio"`` (with noise flags) or a score.
    path : str or os.PathLike
        Where to write the PNG.
    title : str, default=None
        Title of the plot; None for none.

    Returns
    -------
    path : str or os.PathLike
        The ``path`` given.
    """
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("rows must hold at least one row (see compare_samplers).")
    available = [
        key for key in rows[0] if key not in ("method", "run", "seed", "step", "n_labeled")
    ]
    if metric not in available:
        raise ValueError(f"metric must be one of the rows' columns {available}; got {metric!r}.")
    curves = _curves(rows, metric)
    labels = {
        method: f"{method} (mean {np.mean(_run_means(values)):.3f})"
        for method, (_, values) in curves.items()
    }
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    _draw(ax, curves, 1, labels)
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=100)
    return path


def run_demo(
    n_seeds=5, batch_size=10, output="iwkmeans_demo.png", progress=None, extra_samplers=False
):
    """The demo experiment: Random vs WKMeans vs IWKMeans on noisy blobs.

    A small Noisy-LD: :func:`~iwkmeans.experiments.datasets.make_noisy_blobs` with 2,000
    samples, 10 classes of 5 clean blobs each and half of the samples in
    noisy blobs; a 50/50 split, 20 initial labels, 10 batches of
    ``batch_size``, a random forest of 30 trees (depth 10), ``beta`` = the
    number of classes as in the paper; seeds 0 to ``n_seeds - 1``. With
    ``extra_samplers``, Zhdanov's Clustered and Submodular (same ``beta``),
    BADGE, TypiClust (labeled samples as fixed centroids, defaults of
    :class:`TypiClustSampler`) and Cluster-Margin (hierarchical K-Means,
    defaults of :class:`ClusterMarginSampler`: ``k_m = 10 * batch_size``)
    run too; BADGE's gradient embedding treats the features as the input of
    a linear last layer, which a random forest does not have, so there it
    is the approximation described in :class:`BadgeSampler`.
    Writes the learning curves to ``output`` and returns ``(summary,
    output)`` (see :func:`summarize`).

    Parameters
    ----------
    n_seeds : int, default=5
        Number of seeds, hence runs per sampler.
    batch_size : int, default=10
        Samples per batch.
    output : str or os.PathLike, default="iwkmeans_demo.png"
        Where to write the learning curves (PNG).
    progress : bool or None, default=None
        Progress bar on stderr, as in :func:`compare_samplers`.
    extra_samplers : bool, default=False
        Run Clustered, Submodular, BADGE, TypiClust and Cluster-Margin too.

    Returns
    -------
    summary : list of dict
        The output of :func:`summarize`, one entry per sampler.
    output : str or os.PathLike
        The ``output`` given.
    """
    n_classes = 10
    X, y, noisy = make_noisy_blobs(
        2000, n_classes, noise_fraction=0.5, blobs_per_class=5, random_state=0
    )
    samplers = {
        "Random": lambda c, b, r: RandomSampler(c, b, random_state=r),
        "WKMeans": lambda c, b, r: WKMeansSampler(c, b, beta=n_classes, random_state=r),
        "IWKMeans": lambda c, b, r: IWKMeansSampler(c, b, beta=n_classes, random_state=r),
    }
    if extra_samplers:
        samplers.update(
            {
                "Clustered": lambda c, b, r: ClusteredSampler(c, b, beta=n_classes, random_state=r),
                "Submodular": lambda c, b, r: SubmodularSampler(c, b, beta=n_classes),
                "BADGE": lambda c, b, r: BadgeSampler(c, b, random_state=r),
                "TypiClust": lambda c, b, r: TypiClustSampler(c, b, random_state=r),
                "Cluster-Margin": lambda c, b, r: ClusterMarginSampler(c, b, random_state=r),
            }
        )
    rows = compare_samplers(
        X,
        y,
        samplers,
        seeds=range(n_seeds),
        progress=progress,
        initial_size=2 * n_classes,
        batch_size=batch_size,
        n_batches=10,
        classifier=RandomForestClassifier(n_estimators=30, max_depth=10),
        noisy=noisy,
    )
    plot_learning_curves(
        rows,
        output,
        title=f"Noisy blobs: {n_seeds} seed(s), batches of {batch_size}",
    )
    return summarize(rows), output
