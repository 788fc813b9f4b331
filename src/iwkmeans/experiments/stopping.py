"""Stopping criteria: when to stop labeling, without a labeled test set.

Each criterion is a small object fed once per labeling step with what its
rule reads, and answering whether to stop:

- :class:`KappaAverage` -- stabilizing predictions (Bloodgood &
  Vijay-Shanker 2009): successive models agree (Cohen's kappa) on a stop
  set;
- :class:`ClassificationChange` -- no (or few) predicted labels of the stop
  set changed since the previous step (Zhu, Wang & Hovy 2008);
- :class:`OverallUncertainty` -- the model is sure of the stop set on
  average (Zhu, Wang & Hovy 2008);
- :class:`MaxConfidence` -- the model's confidence on the stop set has
  peaked and is falling (Vlachos 2008);
- :class:`UncertaintyVariance` -- the variance of the selected batch's
  uncertainty scores has peaked and is falling (Ghayoomi 2010).

They share one interface: ``stop(predictions=..., proba=..., scores=...)``
takes the step's input (each criterion reads one of them, named by its
``needs`` attribute), records the criterion's signal in ``signals_`` and
returns a bool. The *stop set* is a fixed set of unlabeled samples, the same
at every step (e.g. the monitor's hold-out, or the whole pool).
:func:`first_stop` applies a criterion to a recorded run, and
:func:`default_criteria` gives the five with their default settings, named
and parametrised as small-text names them where it has them.

References
----------
.. [1] M. Bloodgood and K. Vijay-Shanker, "A method for stopping active
   learning based on stabilizing predictions and the need for
   user-adjustable stopping", CoNLL 2009.
.. [2] J. Zhu, H. Wang and E. Hovy, "Multi-criteria-based strategy to stop
   active learning for data annotation", COLING 2008.
.. [3] A. Vlachos, "A stopping criterion for active learning", Computer
   Speech and Language 22(3), 2008.
.. [4] M. Ghayoomi, "Using variance as a stopping criterion for active
   learning of frame assignment", NAACL HLT 2010 Workshop on Active
   Learning for Natural Language Processing.
"""

import math

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import cohen_kappa_score
from sklearn.utils import check_array

from .._validation import check_int, check_real, reject_masked, screen_input
from ..active._uncertainty import check_probabilities, entropy_score
from . import metrics

__all__ = [
    "KappaAverage",
    "ClassificationChange",
    "OverallUncertainty",
    "MaxConfidence",
    "UncertaintyVariance",
    "default_criteria",
    "first_stop",
    "plot_signals",
]


def _labels(predictions):
    """predictions as a non-empty 1-D array of labels (any dtype)."""
    reject_masked(predictions, "predictions")
    labels = np.asarray(predictions)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(
            f"predictions must be a non-empty 1-D array of labels, one per sample of the "
            f"stop set; got shape {labels.shape}."
        )
    return labels


def _scores(scores):
    """scores as a non-empty 1-D float array of finite values."""
    screen_input(scores, "scores")
    scores = check_array(scores, ensure_2d=False, input_name="scores")
    if scores.ndim != 1:
        raise ValueError(
            f"scores must be a 1-D array, one uncertainty score per batch sample; got "
            f"shape {scores.shape}."
        )
    return scores


class _Criterion(BaseEstimator):
    """The shared interface: ``stop`` validates the input the criterion
    reads, computes its signal (:meth:`_signal`) and applies its rule
    (:meth:`_rule`) to the signals so far."""

    needs = None  # which input of stop() the criterion reads

    def stop(self, *, predictions=None, proba=None, scores=None):
        """Record one labeling step and tell whether to stop.

        Parameters
        ----------
        predictions : array-like of shape (n_stop,), default=None
            The step's model's predicted labels of the stop set (read by
            :class:`KappaAverage` and :class:`ClassificationChange`).
        proba : array-like of shape (n_stop, n_classes), default=None
            The step's model's predicted class probabilities of the stop set
            (read by :class:`OverallUncertainty` and :class:`MaxConfidence`).
        scores : array-like of shape (batch_size,), default=None
            The uncertainty scores of the batch selected at this step (read
            by :class:`UncertaintyVariance`).

        Returns
        -------
        stop : bool
            Whether the criterion's rule says to stop labeling now.
        """
        given = {"predictions": predictions, "proba": proba, "scores": scores}
        value = given[self.needs]
        if value is None:
            raise ValueError(
                f"{type(self).__name__} reads {self.needs}: pass stop({self.needs}=...)."
            )
        if not hasattr(self, "signals_"):
            self.reset()
        signal = self._signal(value)  # validates before anything is recorded
        self.signals_.append(signal)
        decision = bool(self._rule(self.signals_))
        self.stops_.append(decision)
        return decision

    def reset(self):
        """Forget the steps seen so far.

        Returns
        -------
        self : object
            The criterion, as if new.
        """
        self.signals_ = []
        self.stops_ = []
        return self


class _PairwiseCriterion(_Criterion):
    """A criterion comparing each step's predictions with the previous
    step's, on the same stop set."""

    needs = "predictions"

    def reset(self):
        """Forget the steps seen so far.

        Returns
        -------
        self : object
            The criterion, as if new.
        """
        self._previous = None
        return super().reset()

    def _signal(self, predictions):
        current = _labels(predictions)
        previous = self._previous
        if previous is not None and previous.shape != current.shape:
            raise ValueError(
                f"predictions must be of the same stop set at every step: got "
                f"{current.shape[0]} labels after {previous.shape[0]}."
            )
        signal = math.nan if previous is None else self._compare(previous, current)
        # A copy: the user may reuse the array for the next step.
        self._previous = current.copy()
        return signal


def _peaked(signals, window_size, min_decrease):
    """Whether the last ``window_size`` steps each lowered the signal by more
    than ``min_decrease``: it has peaked and is falling."""
    if len(signals) <= window_size:
        return False
    last = signals[-(window_size + 1) :]
    return all(a - b > min_decrease for a, b in zip(last[:-1], last[1:]))


class KappaAverage(_PairwiseCriterion):
    """Stabilizing predictions: successive models agree on the stop set.

    Bloodgood & Vijay-Shanker (2009). With ``f_t`` the model of step ``t``
    and ``S`` the stop set (unlabeled samples, the same at every step), the
    signal of step ``t >= 1`` is Cohen's kappa between ``f_{t-1}(S)`` and
    ``f_t(S)``::

        kappa = (p_o - p_e) / (1 - p_e)

    with ``p_o`` the share of ``S`` the two models label alike and ``p_e``
    the share expected by chance from their label frequencies
    (:func:`sklearn.metrics.cohen_kappa_score`); identical predictions have
    kappa 1 (also when ``p_e = 1``, where the ratio is 0/0). Stop once the
    mean of the last ``window_size`` kappas is at least ``kappa``. The
    paper's setting, and small-text's defaults: 3 and 0.99.

    Parameters
    ----------
    window_size : int, default=3
        How many successive kappas are averaged, >= 1.
    kappa : float in [-1, 1], default=0.99
        The agreement at or above which to stop.

    Attributes
    ----------
    needs : str
        ``"predictions"``: :meth:`stop` reads the predicted labels of the
        stop set.
    signals_ : list of float
        The kappa of each step with the previous one (NaN at the first).
    stops_ : list of bool
        What :meth:`stop` returned at each step.

    References
    ----------
    .. [1] M. Bloodgood and K. Vijay-Shanker, "A method for stopping active
       learning based on stabilizing predictions and the need for
       user-adjustable stopping", CoNLL 2009.

    Examples
    --------
    >>> from iwkmeans.experiments.stopping import KappaAverage
    >>> criterion = KappaAverage(window_size=2, kappa=0.8)
    >>> [criterion.stop(predictions=p) for p in ([0, 0, 1, 1], [0, 1, 1, 1],
    ...                                            [0, 1, 1, 1], [0, 1, 1, 1])]
    [False, False, False, True]
    >>> criterion.signals_
    [nan, 0.5, 1.0, 1.0]
    """

    def __init__(self, window_size=3, kappa=0.99):
        check_int(window_size, "window_size", min_val=1)
        check_real(kappa, "kappa", min_val=-1, max_val=1)
        self.window_size = window_size
        self.kappa = kappa

    def _compare(self, previous, current):
        if np.array_equal(previous, current):
            return 1.0
        return float(cohen_kappa_score(previous, current))

    def _rule(self, signals):
        kappas = signals[1:]
        if len(kappas) < self.window_size:
            return False
        return math.fsum(kappas[-self.window_size :]) / self.window_size >= self.kappa


class ClassificationChange(_PairwiseCriterion):
    """Classification change: the predicted labels of the stop set no longer
    change.

    Zhu, Wang & Hovy (2008). The signal of step ``t >= 1`` is the share of
    the stop set ``S`` whose predicted label changed since step ``t - 1``
    (:func:`~iwkmeans.experiments.metrics.contradiction_ratio`). Stop once it
    is at most ``threshold``: with the default 0, once no label changes (the
    paper's rule); small-text's ``threshold`` admits a share of changes.

    Parameters
    ----------
    threshold : float in [0, 1], default=0.0
        The largest share of changed labels at which to stop.

    Attributes
    ----------
    needs : str
        ``"predictions"``: :meth:`stop` reads the predicted labels of the
        stop set.
    signals_ : list of float
        The share of changed labels at each step (NaN at the first).
    stops_ : list of bool
        What :meth:`stop` returned at each step.

    References
    ----------
    .. [1] J. Zhu, H. Wang and E. Hovy, "Multi-criteria-based strategy to
       stop active learning for data annotation", COLING 2008.
    """

    def __init__(self, threshold=0.0):
        check_real(threshold, "threshold", min_val=0, max_val=1)
        self.threshold = threshold

    def _compare(self, previous, current):
        return metrics.contradiction_ratio(previous, current)

    def _rule(self, signals):
        return signals[-1] <= self.threshold  # False for the first step's NaN


class OverallUncertainty(_Criterion):
    """Overall uncertainty: the model is sure of the stop set on average.

    Zhu, Wang & Hovy (2008). The signal is the mean over the stop set of the
    normalised entropy of the predicted class probabilities,
    ``-sum_c p_c log p_c / log(n_classes)``
    (:func:`~iwkmeans.entropy_score`). Stop once it is below ``threshold``.
    The paper measures it on the remaining unlabeled pool; small-text's
    default threshold is 0.05.

    Parameters
    ----------
    threshold : float in [0, 1), default=0.05
        The mean normalised entropy below which to stop.

    Attributes
    ----------
    needs : str
        ``"proba"``: :meth:`stop` reads the predicted class probabilities of
        the stop set.
    signals_ : list of float
        The mean normalised entropy at each step.
    stops_ : list of bool
        What :meth:`stop` returned at each step.

    References
    ----------
    .. [1] J. Zhu, H. Wang and E. Hovy, "Multi-criteria-based strategy to
       stop active learning for data annotation", COLING 2008.
    """

    needs = "proba"

    def __init__(self, threshold=0.05):
        check_real(threshold, "threshold", min_val=0, max_val=1, include_boundaries="left")
        self.threshold = threshold

    def _signal(self, proba):
        return float(np.mean(entropy_score(proba), dtype=np.float64))

    def _rule(self, signals):
        return signals[-1] < self.threshold


class MaxConfidence(_Criterion):
    """Max-confidence: the model's confidence on the stop set has peaked.

    Vlachos (2008). While uncertainty sampling labels the samples the model
    is least sure of, its confidence on a separate unlabeled set rises; once
    the informative samples are used up, the new labels are harder cases
    and the confidence starts to fall. Stop at that peak. The signal is the
    mean over the stop set of the largest predicted probability,
    ``max_c p_c``; stop once each of the last ``window_size`` steps lowered
    it by more than ``min_decrease`` (a consistent drop, not one noisy
    step).

    Zhu, Wang & Hovy (2008) give the name "max-confidence" to another rule
    (the most uncertain selected sample is below an uncertainty threshold).

    Parameters
    ----------
    window_size : int, default=3
        How many successive drops make the confidence fall, >= 1.
    min_decrease : float >= 0, default=0.0
        How much a step must lower the confidence to count as a drop.

    Attributes
    ----------
    needs : str
        ``"proba"``: :meth:`stop` reads the predicted class probabilities of
        the stop set.
    signals_ : list of float
        The mean confidence on the stop set at each step.
    stops_ : list of bool
        What :meth:`stop` returned at each step.

    References
    ----------
    .. [1] A. Vlachos, "A stopping criterion for active learning", Computer
       Speech and Language 22(3), 2008.
    """

    needs = "proba"

    def __init__(self, window_size=3, min_decrease=0.0):
        check_int(window_size, "window_size", min_val=1)
        check_real(min_decrease, "min_decrease", min_val=0)
        self.window_size = window_size
        self.min_decrease = min_decrease

    def _signal(self, proba):
        return float(np.mean(check_probabilities(proba).max(axis=1), dtype=np.float64))

    def _rule(self, signals):
        return _peaked(signals, self.window_size, self.min_decrease)


class UncertaintyVariance(_Criterion):
    """Variance of the batch's uncertainty: it has peaked.

    Ghayoomi (2010). The signal is the variance of the uncertainty scores of
    the batch selected at each step (e.g. :func:`~iwkmeans.margin_score` of
    its predicted probabilities). Early on the batch mixes samples of very
    different uncertainty; as the model settles, its most uncertain samples
    become alike and the variance falls. Stop once each of the last
    ``window_size`` steps lowered it by more than ``min_decrease``.

    Parameters
    ----------
    window_size : int, default=3
        How many successive drops make the variance fall, >= 1.
    min_decrease : float >= 0, default=0.0
        How much a step must lower the variance to count as a drop.

    Attributes
    ----------
    needs : str
        ``"scores"``: :meth:`stop` reads the uncertainty scores of the batch.
    signals_ : list of float
        The variance of the batch's scores at each step.
    stops_ : list of bool
        What :meth:`stop` returned at each step.

    References
    ----------
    .. [1] M. Ghayoomi, "Using variance as a stopping criterion for active
       learning of frame assignment", NAACL HLT 2010 Workshop on Active
       Learning for Natural Language Processing.
    """

    needs = "scores"

    def __init__(self, window_size=3, min_decrease=0.0):
        check_int(window_size, "window_size", min_val=1)
        check_real(min_decrease, "min_decrease", min_val=0)
        self.window_size = window_size
        self.min_decrease = min_decrease

    def _signal(self, scores):
        return float(np.var(_scores(scores), dtype=np.float64))

    def _rule(self, signals):
        return _peaked(signals, self.window_size, self.min_decrease)


def default_criteria():
    """The five criteria with their default settings.

    Returns
    -------
    criteria : dict of str to criterion
        ``"kappa_average"``, ``"classification_change"``,
        ``"overall_uncertainty"``, ``"max_confidence"`` and
        ``"uncertainty_variance"``, new instances.
    """
    return {
        "kappa_average": KappaAverage(),
        "classification_change": ClassificationChange(),
        "overall_uncertainty": OverallUncertainty(),
        "max_confidence": MaxConfidence(),
        "uncertainty_variance": UncertaintyVariance(),
    }


def check_criterion(criterion, name="criterion"):
    """Return a criterion of this module unchanged, refuse anything else.

    Parameters
    ----------
    criterion : object
        The value to check.
    name : str, default="criterion"
        Its name, for the error message.

    Returns
    -------
    criterion : stopping criterion
        ``criterion``, if it is one of this module's criteria.

    Raises
    ------
    TypeError
        If it is not.
    """
    if not isinstance(criterion, _Criterion):
        raise TypeError(
            f"{name} must be a stopping criterion of iwkmeans.experiments.stopping "
            f"(e.g. KappaAverage()); got {criterion!r}."
        )
    return criterion


def first_stop(criterion, *, predictions=None, proba=None, scores=None):
    """The first step of a recorded run at which a criterion says stop.

    The criterion is applied step by step, as it would have been live, to a
    fresh copy of it (``criterion`` itself is left alone).

    Parameters
    ----------
    criterion : stopping criterion
        E.g. ``KappaAverage()``; it reads the input named by its ``needs``.
    predictions : sequence of array-like of shape (n_stop,), default=None
        Each step's predicted labels of the stop set, oldest first (e.g. the
        test predictions a cached run stores).
    proba : sequence of array-like of shape (n_stop, n_classes), default=None
        Each step's predicted class probabilities of the stop set.
    scores : sequence of array-like of shape (batch_size,), default=None
        Each step's batch uncertainty scores.

    Returns
    -------
    step : int or None
        The index of the first step at which it says stop, None if none.
    """
    check_criterion(criterion)
    given = {"predictions": predictions, "proba": proba, "scores": scores}
    steps = given[criterion.needs]
    if steps is None:
        raise ValueError(
            f"{type(criterion).__name__} reads {criterion.needs}: pass "
            f"first_stop(criterion, {criterion.needs}=[...one per step...])."
        )
    fresh = clone(criterion)
    for step, value in enumerate(steps):
        if fresh.stop(**{criterion.needs: value}):
            return step
    return None


def _threshold(criterion):
    """The line a criterion's signal is compared with, or None (the
    peak-finding rules have none)."""
    if isinstance(criterion, KappaAverage):
        return criterion.kappa, "kappa (window mean)"
    if isinstance(criterion, (ClassificationChange, OverallUncertainty)):
        return criterion.threshold, "threshold"
    return None


def plot_signals(criteria, path, *, x=None, xlabel="step", title=None):
    """Write the criteria's signals to a PNG, one panel each, with the step
    at which each first said stop.

    Uses matplotlib's Agg renderer through a bare ``Figure`` (no pyplot).

    Parameters
    ----------
    criteria : dict of str to stopping criterion
        The criteria, fed at every step (e.g. a monitor's ``criteria_``),
        by name.
    path : str or os.PathLike
        Where to write the PNG.
    x : array-like of shape (n_steps,), default=None
        The abscissa of each step (e.g. the number of labeled samples);
        None: the step number.
    xlabel : str, default="step"
        The abscissa's label.
    title : str, default=None
        Title above the panels; None for none.

    Returns
    -------
    path : str or os.PathLike
        The ``path`` given.
    """
    from matplotlib.figure import Figure

    if not isinstance(criteria, dict) or not criteria:
        raise ValueError(
            f"criteria must be a non-empty dict of names to criteria; got {criteria!r}."
        )
    for name, criterion in criteria.items():
        check_criterion(criterion, f"criteria[{name!r}]")
    lengths = {len(getattr(c, "signals_", [])) for c in criteria.values()}
    if lengths != {max(lengths)} or not max(lengths):
        raise ValueError(
            "criteria must all have been fed the same steps, at least one (their "
            f"signals_ have the lengths {sorted(lengths)})."
        )
    n_steps = lengths.pop()
    x = np.arange(n_steps) if x is None else np.asarray(x)
    if x.shape != (n_steps,):
        raise ValueError(f"x must have shape ({n_steps},), one value per step; got {x.shape}.")
    columns = min(len(criteria), 3)
    rows = -(-len(criteria) // columns)
    fig = Figure(figsize=(3.4 * columns, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (name, criterion) in zip(axes, criteria.items()):
        ax.plot(x, criterion.signals_, marker="o", markersize=3)
        line = _threshold(criterion)
        if line is not None:
            ax.axhline(line[0], color="gray", linestyle="--", label=line[1])
        stopped = next((i for i, stop in enumerate(criterion.stops_) if stop), None)
        if stopped is not None:
            ax.axvline(x[stopped], color="C3", label=f"stop ({xlabel} {x[stopped]})")
        ax.set_title(f"{name}: {type(criterion).__name__}", fontsize="medium")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="x-small")
        ax.grid(alpha=0.3)
        ax.set_xlabel(xlabel)
    for ax in axes[len(criteria) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=80)
    return path
