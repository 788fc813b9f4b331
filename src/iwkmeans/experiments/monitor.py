"""Monitoring a live labeling loop without a labeled test set.

A :class:`LabelingMonitor` is fed after each batch with the model and the
batch it selected. It tracks, with the functions of :mod:`iwkmeans.experiments.metrics`:

- the **contradiction ratio** on an unlabeled hold-out: how many of its
  predicted labels changed since the previous batch;
- the **classifier/1-NN agreement** on the batch, and on the whole hold-out
  as the baseline of a random batch;
- the **exploration** of the hold-out by the labeled set;
- the **variance of the batch's uncertainty scores**;
- how much of the hold-out the batch **explored**, and, given the pool,
  how much a random batch and a K-Means batch of the same size would have;
- the signals of any **stopping criteria** of
  :mod:`iwkmeans.experiments.stopping` it is given.

It accepts dense arrays and sparse CSR matrices (TF-IDF text) alike, with
the same results; a sparse hold-out, batch or pool is never densified. It
turns what it tracks into advice (:func:`advise`):

- contradictions not decreasing: the new labels keep overturning the model,
  use a strategy that selects **easier** batches;
- agreement on the batches above a random batch's: they lie where the
  labeled set already explains the model, use a strategy that selects
  **harder** batches;
- contradictions low: new labels no longer change the model, **stop**
  labeling;
- a random or K-Means batch would explore more of the hold-out than the
  sampler's batch: keep **explore**-ing with such batches;
- a stopping criterion has said stop: its **criteria** advice names it.
"""

import copy
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.utils import check_array, check_random_state

from .._validation import check_data, check_int, check_real, screen_input
from ..active import KMeansSampler
from ..active._uncertainty import margin_score
from . import metrics
from .stopping import check_criterion

WINDOW = 4
LOW_CONTRADICTION = 0.02
AGREEMENT_MARGIN = 0.05
BASELINES = ("random", "kmeans")
# The keys every history entry has; a criterion's name may not be one.
KEYS = (
    "batch",
    "n_labeled",
    "contradiction",
    "agreement",
    "random_agreement",
    "exploration",
    "score_variance",
    "explored",
    "random_explored",
    "kmeans_explored",
)


@dataclass
class MonitorReport:
    """What a :class:`LabelingMonitor` has seen, and its advice.

    Parameters
    ----------
    advice : dict of str, default={}
        The advice, as the attribute of the same name.
    history : list of dict, default=[]
        The history, as the attribute of the same name.
    stopping : dict, default={}
        The stopping criteria's first stops, as the attribute of the same
        name.

    Attributes
    ----------
    advice : dict of str
        Advice code -> message, with the codes ``"stop"`` (stop labeling:
        contradictions are low), ``"easier"`` (use a strategy that selects
        easier batches), ``"harder"`` (one that selects harder batches),
        ``"explore"`` (random or K-Means batches would explore more) and
        ``"criteria"`` (a stopping criterion has said stop); empty when
        there is nothing to advise, or not yet enough batches to judge.
    history : list of dict
        One entry per batch, oldest first: ``batch``, ``n_labeled``,
        ``contradiction``, ``agreement``, ``random_agreement``,
        ``exploration``, ``score_variance``, ``explored``,
        ``random_explored``, ``kmeans_explored`` and each stopping
        criterion's signal under its name (see
        :meth:`LabelingMonitor.update`).
    stopping : dict of str to int or None
        Each stopping criterion's name -> the first batch at which it said
        stop, None if it has not.
    """

    advice: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    stopping: dict = field(default_factory=dict)


def _check_thresholds(window, low_contradiction, agreement_margin):
    check_int(window, "window", min_val=2)
    check_real(low_contradiction, "low_contradiction", min_val=0, max_val=1)
    check_real(agreement_margin, "agreement_margin", min_val=-1, max_val=1)


def _last(history, key, window):
    """The last ``window`` finite values of ``key``, or None if fewer."""
    values = [entry[key] for entry in history if np.isfinite(entry[key])]
    return values[-window:] if len(values) >= window else None


def _last_pairs(history, key, other, window):
    """The last ``window`` entries with finite values of both keys (which
    older histories may lack), as two lists, or None if fewer."""
    pairs = [
        (entry[key], entry[other])
        for entry in history
        if np.isfinite(entry.get(key, np.nan)) and np.isfinite(entry.get(other, np.nan))
    ]
    if len(pairs) < window:
        return None
    first, second = zip(*pairs[-window:])
    return list(first), list(second)


def advise(
    history,
    *,
    window=WINDOW,
    low_contradiction=LOW_CONTRADICTION,
    agreement_margin=AGREEMENT_MARGIN,
    stopping=None,
):
    """The advice of a labeling loop's history.

    Over the last ``window`` batches that have a value:

    - ``"stop"``: every contradiction ratio is at most ``low_contradiction``;
    - ``"easier"``: contradictions are not low and not decreasing: the
      least-squares slope of the contradiction ratios against the batch
      number is >= 0;
    - ``"harder"``: the batches' agreement exceeds the random baseline's by
      more than ``agreement_margin`` on average;
    - ``"explore"``: a random or K-Means batch would explore more of the
      hold-out than the sampler's batch did: the mean of
      ``random_explored`` (or ``kmeans_explored``) exceeds the mean of
      ``explored``, over the last ``window`` batches that have both;
    - ``"criteria"``: one of the ``stopping`` criteria has said stop.

    "stop" and "easier" exclude each other; the others are judged on their
    own.

    Parameters
    ----------
    history : list of dict
        One entry per batch, oldest first, with at least the keys
        ``contradiction``, ``agreement`` and ``random_agreement`` (NaN where
        a value is missing, e.g. the first batch's contradiction); the keys
        ``explored``, ``random_explored`` and ``kmeans_explored``, where
        present, feed the "explore" rule.
    window : int, default=4
        How many batches each rule looks at; fewer give no advice.
    low_contradiction : float in [0, 1], default=0.02
        Contradiction ratios at or below this are low.
    agreement_margin : float, default=0.05
        How far above the random baseline the agreement must be on average.
    stopping : dict of str to int or None, default=None
        Stopping criteria's names -> the first batch at which each said stop
        (None if it has not), as :attr:`MonitorReport.stopping` gives them.

    Returns
    -------
    advice : dict of str
        Advice code -> message, in the order ``"stop"``, ``"easier"``,
        ``"harder"``, ``"explore"``, ``"criteria"``.
    """
    _check_thresholds(window, low_contradiction, agreement_margin)
    needed = {"contradiction", "agreement", "random_agreement"}
    for entry in history:
        if not needed <= entry.keys():
            raise ValueError(
                f"history entries must have the keys {sorted(needed)}; got {sorted(entry.keys())}."
            )
    advice = {}
    contradictions = _last(history, "contradiction", window)
    if contradictions is not None:
        shown = ", ".join(f"{c:.3f}" for c in contradictions)
        # The slope's sign: centred integer abscissae, and an exact sum so
        # that equal ratios give exactly 0 (not decreasing).
        slope = math.fsum((2 * i - (window - 1)) * c for i, c in enumerate(contradictions))
        if max(contradictions) <= low_contradiction:
            advice["stop"] = (
                f"Contradictions are low (last {window}: {shown}, all <= "
                f"{low_contradiction}): new labels no longer change the model. "
                f"Stop labeling."
            )
        elif slope >= 0:
            advice["easier"] = (
                f"Contradictions are not decreasing (last {window}: {shown}). Use a "
                f"strategy that selects easier batches."
            )
    agreement = _last(history, "agreement", window)
    baseline = _last(history, "random_agreement", window)
    if agreement is not None and baseline is not None:
        excess = np.mean(agreement) - np.mean(baseline)
        if excess > agreement_margin:
            advice["harder"] = (
                f"The batches agree with 1-NN on the labeled set more than a "
                f"random batch does (by {excess:.3f} on average over the last "
                f"{window}). Use a strategy that selects harder batches."
            )
    more = []
    for name in BASELINES:
        pairs = _last_pairs(history, "explored", f"{name}_explored", window)
        if pairs is not None:
            explored, other = (math.fsum(values) / window for values in pairs)
            if other > explored:
                label = "K-Means" if name == "kmeans" else name
                more.append(f"a {label} batch ({other:.3g} vs {explored:.3g})")
    if more:
        advice["explore"] = (
            f"The sampler's batches explored less of the hold-out than {' or '.join(more)} "
            f"would have (mean decrease of the exploration over the last {window}). Keep "
            f"exploring: label random or K-Means batches."
        )
    if stopping:
        said = [
            f"{name} (at batch {batch})" for name, batch in stopping.items() if batch is not None
        ]
        if said:
            advice["criteria"] = f"Stopping criteria say stop: {', '.join(said)}."
    return advice


def _stack(A, B):
    """The rows of A then those of B, sparse (CSR) if either is."""
    if sparse.issparse(A) or sparse.issparse(B):
        return sparse.vstack([sparse.csr_matrix(A), sparse.csr_matrix(B)], format="csr")
    return np.vstack([A, B])


def _check_criteria(criteria):
    """criteria as a dict of names to criteria (None: empty)."""
    if criteria is None:
        return {}
    if not isinstance(criteria, dict):
        raise TypeError(
            "criteria must be a dict of names to stopping criteria (e.g. "
            f"iwkmeans.experiments.stopping.default_criteria()); got {criteria!r}."
        )
    for name, criterion in criteria.items():
        if not isinstance(name, str) or name in KEYS:
            raise ValueError(
                f"criteria names must be strings other than the history's keys {list(KEYS)}; "
                f"got {name!r}."
            )
        check_criterion(criterion, f"criteria[{name!r}]")
    return criteria


def _check_baselines(baselines):
    if isinstance(baselines, str) or not all(
        isinstance(b, str) and b in BASELINES for b in baselines
    ):
        raise ValueError(
            f"baselines must be a tuple of names among {BASELINES}; got {baselines!r}."
        )
    return tuple(baselines)


class LabelingMonitor:
    """Watch a labeling loop and advise on it, without a labeled test set.

    After each batch, call :meth:`update` with the model the batch was
    selected with, the labeled set it was trained on, the batch and
    (optionally) the pool it was drawn from; :meth:`report` gives the
    tracked history and the advice of :func:`advise`, and :meth:`plot`
    draws the tracked curves.

    Parameters
    ----------
    X_holdout : {array-like, sparse matrix} of shape (n_holdout, n_features)
        Unlabeled samples, drawn at random from the data and never labeled:
        contradictions and exploration are measured on them, and their
        classifier/1-NN agreement is the random baseline (see
        :meth:`update`); the stop set of the stopping criteria. Dense or
        CSR (never densified).
    score : callable, default=margin_score
        Maps the model's ``predict_proba`` output to uncertainty scores, e.g.
        :func:`~iwkmeans.margin_score`, :func:`~iwkmeans.confidence_score` or
        :func:`~iwkmeans.entropy_score`.
    window : int, default=4
        How many batches each rule of :func:`advise` looks at.
    low_contradiction : float in [0, 1], default=0.02
        Contradiction ratios at or below this are low (:func:`advise`).
    agreement_margin : float, default=0.05
        How far above the random baseline the batches' agreement must be on
        average (:func:`advise`).
    criteria : dict of str to stopping criterion, default=None
        Stopping criteria of :mod:`iwkmeans.experiments.stopping` to feed
        after each batch, by name (e.g. its ``default_criteria()``); the
        monitor feeds copies and leaves these alone. None: none.
    baselines : tuple of str, default=("random", "kmeans")
        The batches the sampler's exploration is compared with when
        :meth:`update` is given the pool: ``"random"`` (drawn uniformly)
        and ``"kmeans"`` (:class:`~iwkmeans.KMeansSampler`'s pick).
    random_state : int, RandomState instance or None, default=None
        Seeds the random and K-Means baseline batches.

    Attributes
    ----------
    criteria_ : dict of str to stopping criterion
        The monitor's copies of ``criteria``, as fed so far (their
        ``signals_`` cover the batches at which their input was available).

    Examples
    --------
    >>> monitor = LabelingMonitor(X_holdout)                      # doctest: +SKIP
    >>> for step in range(20):                                    # doctest: +SKIP
    ...     picked = sampler.fit(X_labeled, y_labeled).select_samples(X_pool)
    ...     monitor.update(sampler.classifier_, X_labeled, y_labeled, X_pool[picked])
    ...     ...  # label the batch, move it from the pool to the labeled set
    >>> monitor.report().advice                                   # doctest: +SKIP
    """

    def __init__(
        self,
        X_holdout,
        *,
        score=margin_score,
        window=WINDOW,
        low_contradiction=LOW_CONTRADICTION,
        agreement_margin=AGREEMENT_MARGIN,
        criteria=None,
        baselines=BASELINES,
        random_state=None,
    ):
        _check_thresholds(window, low_contradiction, agreement_margin)
        if not callable(score):
            raise TypeError(
                f"score must be a callable mapping probabilities to uncertainty "
                f"scores (e.g. iwkmeans.margin_score); got {score!r}."
            )
        self.X_holdout = check_data(X_holdout, name="X_holdout", accept_sparse=True)
        self.score = score
        self.window = window
        self.low_contradiction = low_contradiction
        self.agreement_margin = agreement_margin
        self.criteria = criteria
        self.criteria_ = {name: clone(c) for name, c in _check_criteria(criteria).items()}
        self.baselines = _check_baselines(baselines)
        self.random_state = random_state
        self._random = check_random_state(random_state)
        self._history = []
        self._stops = {name: [] for name in self.criteria_}
        self._predictions = None

    def _check_features(self, X, name):
        X = check_data(X, name=name, accept_sparse=True)
        if X.shape[1] != self.X_holdout.shape[1]:
            raise ValueError(
                f"{name} has {X.shape[1]} features but X_holdout has {self.X_holdout.shape[1]}."
            )
        return X

    def _explored(self, X_labeled, before, X_batch):
        """How much adding X_batch to the labeled set lowers the exploration
        of the hold-out."""
        return before - metrics.exploration(self.X_holdout, _stack(X_labeled, X_batch))

    def _baseline_batches(self, X_pool, size):
        """The random and K-Means batches of ``size`` rows from the pool."""
        batches = {}
        if "random" in self.baselines:
            batches["random"] = X_pool[self._random.choice(X_pool.shape[0], size, replace=False)]
        if "kmeans" in self.baselines:
            seed = self._random.randint(np.iinfo(np.int32).max)
            picked = KMeansSampler(None, size, random_state=seed).fit().select_samples(X_pool)
            batches["kmeans"] = X_pool[picked]
        return batches

    def update(self, classifier, X_labeled, y_labeled, X_batch, *, scores=None, X_pool=None):
        """Record one batch.

        With ``f`` the classifier (fitted on the labeled set ``L``), ``B``
        the batch it selected, ``H`` the hold-out and ``E(L)`` the
        :func:`~iwkmeans.experiments.metrics.exploration` of ``H`` by ``L``,
        the history gains:

        - ``batch`` -- the batch number, from 0; ``n_labeled`` -- ``|L|``;
        - ``contradiction`` -- :func:`~iwkmeans.experiments.metrics.contradiction_ratio`
          of the previous and this model's predictions on ``H`` (NaN at the
          first batch);
        - ``agreement`` -- :func:`~iwkmeans.experiments.metrics.classifier_agreement` of
          ``f`` and 1-NN on ``L``, on ``B``;
        - ``random_agreement`` -- the same on ``H``: the expected agreement
          of a batch drawn at random from the unlabeled data, without the
          noise of one small random batch;
        - ``exploration`` -- ``E(L)``;
        - ``score_variance`` -- variance of the uncertainty scores of ``B``:
          ``scores`` if given, else ``score(f.predict_proba(B))``; NaN if
          neither (a model without ``predict_proba``);
        - ``explored`` -- ``E(L) - E(L u B)``, how much of ``H`` the batch
          explored;
        - ``random_explored``, ``kmeans_explored`` -- the same for a batch of
          ``|B|`` rows of ``X_pool`` drawn at random, and for the K-Means
          pick of ``|B|`` rows (:class:`~iwkmeans.KMeansSampler`); NaN without
          ``X_pool`` or when not among ``baselines``;
        - under each stopping criterion's name, its signal (NaN when its
          input is missing: ``proba`` needs ``f.predict_proba``, ``scores``
          the batch's scores). Criteria reading ``predictions`` or ``proba``
          are given ``f``'s on ``H``, those reading ``scores`` the batch's
          uncertainty scores.

        Parameters
        ----------
        classifier : fitted classifier with ``predict``
            The model the batch was selected with.
        X_labeled : {array-like, sparse matrix} of shape (n_labeled, n_features)
            The labeled samples the classifier was trained on (without the
            batch).
        y_labeled : array-like of shape (n_labeled,)
            Their labels.
        X_batch : {array-like, sparse matrix} of shape (batch_size, n_features)
            The selected, not yet labeled, batch.
        scores : array-like of shape (batch_size,), default=None
            The batch's uncertainty scores, for models whose scores do not
            come from ``predict_proba`` (e.g. a deep network's).
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features), default=None
            The unlabeled pool the batch was selected from (the batch
            included), at least ``batch_size`` rows: the baseline batches
            are drawn from it. None: no baselines.

        Returns
        -------
        self : LabelingMonitor
            The monitor, with one more entry in its history.
        """
        X_labeled = self._check_features(X_labeled, "X_labeled")
        X_batch = self._check_features(X_batch, "X_batch")
        if X_pool is not None:
            X_pool = self._check_features(X_pool, "X_pool")
            if X_pool.shape[0] < X_batch.shape[0]:
                raise ValueError(
                    f"X_pool must have at least as many rows as X_batch ({X_batch.shape[0]}); "
                    f"got {X_pool.shape[0]}."
                )
        agreement = metrics.classifier_agreement(classifier, X_labeled, y_labeled, X_batch)
        if scores is not None:
            screen_input(scores, "scores")
            scores = check_array(scores, ensure_2d=False, input_name="scores")
            if scores.shape != (X_batch.shape[0],):
                raise ValueError(
                    f"scores must have shape ({X_batch.shape[0]},), one per batch "
                    f"sample; got shape {scores.shape}."
                )
        elif hasattr(classifier, "predict_proba"):
            scores = self.score(classifier.predict_proba(X_batch))
        predictions = np.asarray(classifier.predict(self.X_holdout))
        contradiction = np.nan
        if self._predictions is not None:
            contradiction = metrics.contradiction_ratio(self._predictions, predictions)
        exploration = metrics.exploration(self.X_holdout, X_labeled)
        entry = {
            "batch": len(self._history),
            "n_labeled": X_labeled.shape[0],
            "contradiction": contradiction,
            "agreement": agreement,
            "random_agreement": metrics.classifier_agreement(
                classifier, X_labeled, y_labeled, self.X_holdout
            ),
            "exploration": exploration,
            "score_variance": np.nan if scores is None else float(np.var(scores)),
            "explored": self._explored(X_labeled, exploration, X_batch),
            "random_explored": np.nan,
            "kmeans_explored": np.nan,
        }
        if X_pool is not None:
            for name, batch in self._baseline_batches(X_pool, X_batch.shape[0]).items():
                entry[f"{name}_explored"] = self._explored(X_labeled, exploration, batch)
        inputs = {"predictions": predictions, "scores": scores}
        if any(c.needs == "proba" for c in self.criteria_.values()):
            if hasattr(classifier, "predict_proba"):
                inputs["proba"] = classifier.predict_proba(self.X_holdout)
        # Fed on copies, kept only if every criterion accepts its input: a
        # failed update records nothing.
        fed, stops = copy.deepcopy(self.criteria_), {}
        for name, criterion in fed.items():
            value = inputs.get(criterion.needs)
            if value is None:
                entry[name], stops[name] = np.nan, False
            else:
                stops[name] = criterion.stop(**{criterion.needs: value})
                entry[name] = criterion.signals_[-1]
        self.criteria_ = fed
        for name, stop in stops.items():
            self._stops[name].append(stop)
        self._predictions = predictions
        self._history.append(entry)
        return self

    def report(self):
        """The history so far and its advice.

        Returns
        -------
        report : MonitorReport
            The advice of :func:`advise`, a copy of the history and the first
            stop of each stopping criterion.
        """
        stopping = {
            name: next((batch for batch, stop in enumerate(stops) if stop), None)
            for name, stops in self._stops.items()
        }
        return MonitorReport(
            advice=advise(
                self._history,
                window=self.window,
                low_contradiction=self.low_contradiction,
                agreement_margin=self.agreement_margin,
                stopping=stopping,
            ),
            history=[dict(entry) for entry in self._history],
            stopping=stopping,
        )

    def plot(self, path, *, title=None):
        """Write the tracked curves to a PNG, one panel per quantity, against
        the number of labeled samples.

        A third row, when there is something to draw in it, compares what
        the batches explored with the random and K-Means baselines, and
        marks the batches at which each stopping criterion said stop. Uses
        matplotlib's Agg renderer through a bare ``Figure`` (no pyplot), so
        it works without a display and leaves the user's matplotlib backend
        alone.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write the PNG.
        title : str, default=None
            Title above the panels; None for none.

        Returns
        -------
        path : str or os.PathLike
            The ``path`` given.
        """
        from matplotlib.figure import Figure

        if not self._history:
            raise ValueError("Nothing to plot yet: call update after each batch first.")
        n_labeled = [entry["n_labeled"] for entry in self._history]

        def curve(key):
            return [entry[key] for entry in self._history]

        measured = [
            name for name in BASELINES if any(np.isfinite(v) for v in curve(f"{name}_explored"))
        ]
        rows = 3 if measured or self.criteria_ else 2
        fig = Figure(figsize=(9, 3 * rows), layout="constrained")
        axes = fig.subplots(rows, 2, sharex=True)
        ax = axes[0, 0]
        ax.plot(n_labeled, curve("contradiction"), marker="o")
        ax.axhline(self.low_contradiction, color="gray", linestyle="--", label="low (stop)")
        ax.set_ylabel("contradiction ratio on the hold-out")
        ax.legend(loc="upper right", fontsize="small")
        ax = axes[0, 1]
        ax.plot(n_labeled, curve("agreement"), marker="o", label="batch")
        ax.plot(n_labeled, curve("random_agreement"), marker="o", label="random (hold-out)")
        ax.set_ylabel("classifier / 1-NN agreement")
        ax.legend(loc="best", fontsize="small")
        axes[1, 0].plot(n_labeled, curve("exploration"), marker="o")
        axes[1, 0].set_ylabel("exploration of the hold-out")
        axes[1, 1].plot(n_labeled, curve("score_variance"), marker="o")
        axes[1, 1].set_ylabel("variance of the batch's uncertainty")
        if rows == 3:
            ax = axes[2, 0]
            ax.plot(n_labeled, curve("explored"), marker="o", label="sampler's batch")
            for name in measured:
                label = "K-Means batch" if name == "kmeans" else "random batch"
                ax.plot(n_labeled, curve(f"{name}_explored"), marker="o", label=label)
            ax.set_ylabel("exploration decrease by the batch")
            ax.legend(loc="best", fontsize="small")
            ax = axes[2, 1]
            names = list(self._stops)
            if not names:
                # No criteria: the panel above ends the column and shows its ticks.
                ax.set_visible(False)
                axes[1, 1].tick_params(labelbottom=True)
                axes[1, 1].set_xlabel("labeled samples")
            for row, name in enumerate(names):
                ax.plot(n_labeled, [row] * len(n_labeled), color="lightgray", zorder=1)
                said = [n for n, stop in zip(n_labeled, self._stops[name]) if stop]
                ax.scatter(said, [row] * len(said), marker="s", color="C3", zorder=2)
            ax.set_yticks(range(len(names)), names, fontsize="small")
            ax.set_ylim(-0.5, max(len(names), 1) - 0.5)
            ax.set_ylabel("stopping criteria: said stop")
        for ax in axes.flat:
            ax.grid(alpha=0.3)
        for ax in axes[-1]:
            ax.set_xlabel("labeled samples")
        if title:
            fig.suptitle(title)
        fig.savefig(path, dpi=100)
        return path
