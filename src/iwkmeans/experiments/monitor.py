"""Monitoring a live labeling loop without a labeled test set.

A :class:`LabelingMonitor` is fed after each batch with the model and the
batch it selected. It tracks, with the functions of :mod:`iwkmeans.experiments.metrics`:

- the **contradiction ratio** on an unlabeled hold-out: how many of its
  predicted labels changed since the previous batch;
- the **classifier/1-NN agreement** on the batch, and on the whole hold-out
  as the baseline of a random batch;
- the **exploration** of the hold-out by the labeled set;
- the **variance of the batch's uncertainty scores**.

and turns them into advice (:func:`advise`):

- contradictions not decreasing: the new labels keep overturning the model,
  use a strategy that selects **easier** batches;
- agreement on the batches above a random batch's: they lie where the
  labeled set already explains the model, use a strategy that selects
  **harder** batches;
- contradictions low: new labels no longer change the model, **stop**
  labeling.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_array

from .._validation import check_data, check_int, check_real, screen_input
from ..active._uncertainty import margin_score
from . import metrics

WINDOW = 4
LOW_CONTRADICTION = 0.02
AGREEMENT_MARGIN = 0.05


@dataclass
class MonitorReport:
    """What a :class:`LabelingMonitor` has seen, and its advice.

    Parameters
    ----------
    advice : dict of str, default={}
        The advice, as the attribute of the same name.
    history : list of dict, default=[]
        The history, as the attribute of the same name.

    Attributes
    ----------
    advice : dict of str
        Advice code -> message, with the codes ``"easier"`` (use a strategy
        that selects easier batches), ``"harder"`` (one that selects harder
        batches) and ``"stop"`` (stop labeling); empty when there is nothing
        to advise, or not yet enough batches to judge.
    history : list of dict
        One entry per batch, oldest first: ``batch``, ``n_labeled``,
        ``contradiction``, ``agreement``, ``random_agreement``,
        ``exploration``, ``score_variance`` (see
        :meth:`LabelingMonitor.update`).
    """

    advice: dict = field(default_factory=dict)
    history: list = field(default_factory=list)


def _check_thresholds(window, low_contradiction, agreement_margin):
    check_int(window, "window", min_val=2)
    check_real(low_contradiction, "low_contradiction", min_val=0, max_val=1)
    check_real(agreement_margin, "agreement_margin", min_val=-1, max_val=1)


def _last(history, key, window):
    """The last ``window`` finite values of ``key``, or None if fewer."""
    values = [entry[key] for entry in history if np.isfinite(entry[key])]
    return values[-window:] if len(values) >= window else None


def advise(
    history,
    *,
    window=WINDOW,
    low_contradiction=LOW_CONTRADICTION,
    agreement_margin=AGREEMENT_MARGIN,
):
    """The advice of a labeling loop's history.

    Over the last ``window`` batches that have a value:

    - ``"stop"``: every contradiction ratio is at most ``low_contradiction``;
    - ``"easier"``: contradictions are not low and not decreasing: the
      least-squares slope of the contradiction ratios against the batch
      number is >= 0;
    - ``"harder"``: the batches' agreement exceeds the random baseline's by
      more than ``agreement_margin`` on average.

    "stop" and "easier" exclude each other; "harder" is judged on its own.

    Parameters
    ----------
    history : list of dict
        One entry per batch, oldest first, with at least the keys
        ``contradiction``, ``agreement`` and ``random_agreement`` (NaN where
        a value is missing, e.g. the first batch's contradiction).
    window : int, default=4
        How many batches each rule looks at; fewer give no advice.
    low_contradiction : float in [0, 1], default=0.02
        Contradiction ratios at or below this are low.
    agreement_margin : float, default=0.05
        How far above the random baseline the agreement must be on average.

    Returns
    -------
    advice : dict of str
        Advice code -> message, in the order ``"stop"``, ``"easier"``,
        ``"harder"``.
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
    return advice


class LabelingMonitor:
    """Watch a labeling loop and advise on it, without a labeled test set.

    After each batch, call :meth:`update` with the model the batch was
    selected with, the labeled set it was trained on, and the batch;
    :meth:`report` gives the tracked history and the advice of
    :func:`advise`, and :meth:`plot` draws the tracked curves.

    Parameters
    ----------
    X_holdout : array-like of shape (n_holdout, n_features)
        Unlabeled samples, drawn at random from the data and never labeled:
        contradictions and exploration are measured on them, and their
        classifier/1-NN agreement is the random baseline (see
        :meth:`update`).
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
    ):
        _check_thresholds(window, low_contradiction, agreement_margin)
        if not callable(score):
            raise TypeError(
                f"score must be a callable mapping probabilities to uncertainty "
                f"scores (e.g. iwkmeans.margin_score); got {score!r}."
            )
        self.X_holdout = check_data(X_holdout, name="X_holdout")
        self.score = score
        self.window = window
        self.low_contradiction = low_contradiction
        self.agreement_margin = agreement_margin
        self._history = []
        self._predictions = None

    def _check_features(self, X, name):
        X = check_data(X, name=name)
        if X.shape[1] != self.X_holdout.shape[1]:
            raise ValueError(
                f"{name} has {X.shape[1]} features but X_holdout has {self.X_holdout.shape[1]}."
            )
        return X

    def update(self, classifier, X_labeled, y_labeled, X_batch, *, scores=None):
        """Record one batch.

        With ``f`` the classifier (fitted on the labeled set ``L``), ``B``
        the batch it selected and ``H`` the hold-out, the history gains:

        - ``batch`` -- the batch number, from 0; ``n_labeled`` -- ``|L|``;
        - ``contradiction`` -- :func:`~iwkmeans.experiments.metrics.contradiction_ratio`
          of the previous and this model's predictions on ``H`` (NaN at the
          first batch);
        - ``agreement`` -- :func:`~iwkmeans.experiments.metrics.classifier_agreement` of
          ``f`` and 1-NN on ``L``, on ``B``;
        - ``random_agreement`` -- the same on ``H``: the expected agreement
          of a batch drawn at random from the unlabeled data, without the
          noise of one small random batch;
        - ``exploration`` -- :func:`~iwkmeans.experiments.metrics.exploration` of ``H``
          by ``L``;
        - ``score_variance`` -- variance of the uncertainty scores of ``B``:
          ``scores`` if given, else ``score(f.predict_proba(B))``; NaN if
          neither (a model without ``predict_proba``).

        Parameters
        ----------
        classifier : fitted classifier with ``predict``
            The model the batch was selected with.
        X_labeled : array-like of shape (n_labeled, n_features)
            The labeled samples the classifier was trained on (without the
            batch).
        y_labeled : array-like of shape (n_labeled,)
            Their labels.
        X_batch : array-like of shape (batch_size, n_features)
            The selected, not yet labeled, batch.
        scores : array-like of shape (batch_size,), default=None
            The batch's uncertainty scores, for models whose scores do not
            come from ``predict_proba`` (e.g. a deep network's).

        Returns
        -------
        self : LabelingMonitor
            The monitor, with one more entry in its history.
        """
        X_labeled = self._check_features(X_labeled, "X_labeled")
        X_batch = self._check_features(X_batch, "X_batch")
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
        self._predictions = predictions
        self._history.append(
            {
                "batch": len(self._history),
                "n_labeled": X_labeled.shape[0],
                "contradiction": contradiction,
                "agreement": agreement,
                "random_agreement": metrics.classifier_agreement(
                    classifier, X_labeled, y_labeled, self.X_holdout
                ),
                "exploration": metrics.exploration(self.X_holdout, X_labeled),
                "score_variance": np.nan if scores is None else float(np.var(scores)),
            }
        )
        return self

    def report(self):
        """The history so far and its advice.

        Returns
        -------
        report : MonitorReport
            The advice of :func:`advise` and a copy of the history.
        """
        return MonitorReport(
            advice=advise(
                self._history,
                window=self.window,
                low_contradiction=self.low_contradiction,
                agreement_margin=self.agreement_margin,
            ),
            history=[dict(entry) for entry in self._history],
        )

    def plot(self, path, *, title=None):
        """Write the tracked curves to a PNG, one panel per quantity, against
        the number of labeled samples.

        Uses matplotlib's Agg renderer through a bare ``Figure`` (no
        pyplot), so it works without a display and leaves the user's
        matplotlib backend alone.

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

        fig = Figure(figsize=(9, 6), layout="constrained")
        axes = fig.subplots(2, 2, sharex=True)
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
        for ax in axes.flat:
            ax.grid(alpha=0.3)
        for ax in axes[1]:
            ax.set_xlabel("labeled samples")
        if title:
            fig.suptitle(title)
        fig.savefig(path, dpi=100)
        return path
