"""Will active learning help on my data? The feasibility check.

Before labeling with a clever sampler, train the model on random labeled
subsets of increasing size and look at the learning curve: if it is still
rising at the largest size, how the next labels are chosen matters and a
sampler has room to beat random labeling; if it is flat, the model has
stopped learning from more labels and random labeling will do.

:func:`learning_curve_check` runs the curve with scikit-learn's
:func:`~sklearn.model_selection.learning_curve` over stratified folds and
returns a :class:`FeasibilityResult`: the scores, their spread, the verdict
and the numbers behind it, a table and a plot. ``python -m iwkmeans
feasibility DATA`` runs it on a CSV or ``.npy`` file.
"""

from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, learning_curve
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target

from .._validation import check_data, check_int, reject_masked

SIZES = (0.2, 0.4, 0.6, 0.8)
"""The default training sizes: fractions of the labeled sample. With the
default 5 folds, 0.8 is a whole training fold."""

RISING = "rising"
FLAT = "flat"


@dataclass(frozen=True)
class FeasibilityResult:
    """A learning curve over folds and its verdict (see :func:`learning_curve_check`).

    The verdict reads the last step of the curve. With ``g_f`` the score at
    the largest size minus the score at the second-largest size in fold
    ``f`` (a paired difference: the same test rows, and nested training
    sets), the curve is **rising** if the mean gain is larger than its
    spread across folds::

        mean(g) > std(g, ddof=1)

    and **flat** otherwise (a gain of zero, a loss, or a gain smaller than
    the fold-to-fold noise). Without spread (every fold gains the same), any
    positive gain is rising. The rule asks the paired t statistic
    ``mean(g) / (std(g) / sqrt(n_folds))`` to exceed ``sqrt(n_folds)``: with
    5 folds that is t > 2.24, a one-sided p of 0.045 (the folds share
    training rows, so read it as a rule of thumb rather than a test); with
    more folds it asks more than a significant gain, a gain consistent from
    fold to fold.

    Parameters
    ----------
    sizes : array-like of int of shape (n_sizes,)
        The training sizes, as the attribute.
    scores : array-like of float of shape (n_folds, n_sizes)
        The test scores, as the attribute.
    scoring : str, default="accuracy"
        The scoring's name, as the attribute.

    Attributes
    ----------
    sizes : ndarray of int of shape (n_sizes,)
        Training sizes in samples, increasing.
    scores : ndarray of float of shape (n_folds, n_sizes)
        Test score of each fold (row) at each size (column); higher is
        better, as for scikit-learn's scorers.
    scoring : str
        The scoring's name, for the table and the plot.
    mean, std, p10, p90 : ndarray of float of shape (n_sizes,)
        Mean, standard deviation (ddof=1) and 10th and 90th percentiles of
        the scores over folds, at each size.
    gains : ndarray of float of shape (n_folds,)
        Per fold, the score at the largest size minus the score at the
        second-largest.
    gain_mean, gain_std : float
        Their mean and standard deviation (ddof=1).
    verdict : {"rising", "flat"}
        ``"rising"`` if ``gain_mean > gain_std``, else ``"flat"``.
    """

    sizes: np.ndarray
    scores: np.ndarray
    scoring: str = "accuracy"
    mean: np.ndarray = field(init=False, repr=False)
    std: np.ndarray = field(init=False, repr=False)
    p10: np.ndarray = field(init=False, repr=False)
    p90: np.ndarray = field(init=False, repr=False)
    gains: np.ndarray = field(init=False, repr=False)
    gain_mean: float = field(init=False)
    gain_std: float = field(init=False)
    verdict: str = field(init=False)

    def __post_init__(self):
        sizes = np.array(self.sizes)  # copies: the caller's arrays stay theirs
        scores = np.array(self.scores, dtype=float)
        if sizes.ndim != 1 or sizes.size < 2 or sizes.dtype.kind not in "iu":
            raise ValueError(
                f"sizes must be a 1-D array of at least 2 integers; got {self.sizes!r}."
            )
        if np.any(np.diff(sizes) <= 0):
            raise ValueError(f"sizes must be increasing; got {sizes.tolist()}.")
        if scores.ndim != 2 or scores.shape[0] < 2 or scores.shape[1] != sizes.size:
            raise ValueError(
                f"scores must have shape (n_folds, {sizes.size}) with at least 2 folds, "
                f"one column per size; got shape {scores.shape}."
            )
        if not np.all(np.isfinite(scores)):
            raise ValueError("scores must be finite numbers.")
        gains = scores[:, -1] - scores[:, -2]
        gain_mean, gain_std = gains.mean(), gains.std(ddof=1)
        derived = {
            "sizes": sizes,
            "scores": scores,
            "scoring": str(self.scoring),
            "mean": scores.mean(axis=0),
            "std": scores.std(axis=0, ddof=1),
            "p10": np.percentile(scores, 10, axis=0),
            "p90": np.percentile(scores, 90, axis=0),
            "gains": gains,
            "gain_mean": float(gain_mean),
            "gain_std": float(gain_std),
            "verdict": RISING if gain_mean > gain_std else FLAT,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: set once, here

    def rows(self):
        """The curve as a table, one row per training size.

        Returns
        -------
        rows : list of dict
            ``size``, ``mean``, ``std``, ``p10``, ``p90`` (over folds).
        """
        return [
            {
                "size": int(self.sizes[i]),
                "mean": float(self.mean[i]),
                "std": float(self.std[i]),
                "p10": float(self.p10[i]),
                "p90": float(self.p90[i]),
            }
            for i in range(self.sizes.size)
        ]

    def explain(self):
        """The verdict in one sentence, with the numbers behind it.

        Returns
        -------
        text : str
            E.g. ``"rising: from 80 to 100 labeled samples the score gains
            +0.031 on average over 5 folds, more than its spread across
            folds (0.012): ..."``.
        """
        n_folds = self.scores.shape[0]
        head = (
            f"{self.verdict}: from {self.sizes[-2]} to {self.sizes[-1]} labeled samples "
            f"the {self.scoring} gains {_signed(self.gain_mean)} on average over {n_folds} folds, "
        )
        if self.verdict == RISING:
            return head + (
                f"more than its spread across folds ({self.gain_std:.3f}): more labels "
                f"still help, so which ones are labeled matters and an active-learning "
                f"sampler has room to beat random labeling."
            )
        return head + (
            f"not more than its spread across folds ({self.gain_std:.3f}): the curve "
            f"is flat, random labeling will do."
        )

    def to_markdown(self):
        """The curve as a Markdown table, followed by the verdict.

        Returns
        -------
        text : str
            One table row per size (mean, std, 10th-90th percentiles of the
            score over folds), a blank line and :meth:`explain`, ending with
            a newline.
        """
        lines = [
            f"| labeled | {self.scoring} | std | 10th-90th pct |",
            "| ---: | ---: | ---: | ---: |",
        ]
        for row in self.rows():
            lines.append(
                f"| {row['size']} | {row['mean']:.3f} | {row['std']:.3f} | "
                f"{row['p10']:.3f}-{row['p90']:.3f} |"
            )
        return "\n".join(lines) + "\n\n" + self.explain() + "\n"

    def plot(self, path, *, title=None):
        """Write the learning curve to a PNG: each fold's curve, their mean
        and a band from the 10th to the 90th percentile, the verdict in the
        legend.

        Uses matplotlib's Agg renderer through a bare ``Figure`` (no
        pyplot), so it works without a display and leaves the user's
        matplotlib backend alone.

        Parameters
        ----------
        path : str or os.PathLike or file-like
            Where to write the PNG (the format follows the suffix, or
            ``savefig.format`` for a file object).
        title : str, default=None
            Title of the plot; None for none.

        Returns
        -------
        path : str or os.PathLike or file-like
            The ``path`` given.
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.5, 4), layout="constrained")
        ax = fig.add_subplot()
        for k, fold in enumerate(self.scores):
            ax.plot(
                self.sizes,
                fold,
                color="gray",
                alpha=0.5,
                linewidth=0.8,
                label="each fold" if k == 0 else None,
            )
        (line,) = ax.plot(
            self.sizes,
            self.mean,
            marker="o",
            label=f"mean: {self.verdict} (last gain {_signed(self.gain_mean)}, "
            f"spread {self.gain_std:.3f})",
        )
        ax.fill_between(
            self.sizes,
            self.p10,
            self.p90,
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
            label="10th-90th percentile",
        )
        ax.set_xlabel("labeled samples (random subsets)")
        ax.set_ylabel(f"test {self.scoring}")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        if title:
            ax.set_title(title)
        fig.savefig(path, dpi=100)
        return path


def _signed(value):
    """``value`` as ``+0.012``; one that rounds to zero prints ``+0.000``
    (adding 0.0 turns the -0.0 of a tiny negative into 0.0)."""
    return f"{round(value, 3) + 0.0:+.3f}"


def _check_labels(y, n_samples):
    reject_masked(y, "y")
    y = np.asarray(y)
    if y.shape != (n_samples,):
        raise ValueError(
            f"y must have shape ({n_samples},), one label per row of X; got shape {y.shape}."
        )
    kind = type_of_target(y, input_name="y")
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"y must hold class labels (binary or multiclass); got {kind} values.")
    if np.unique(y).size < 2:
        raise ValueError("y must hold at least 2 classes.")
    return y


def _absolute_sizes(sizes, n_samples, n_train, n_splits):
    """Training sizes in samples: fractions of ``n_samples`` (rounded down),
    or counts; increasing, at least 1 and at most ``n_train``."""
    values = list(sizes) if np.ndim(sizes) == 1 else None
    if not values or len(values) < 2:
        raise ValueError(f"sizes must be a sequence of at least 2 sizes; got {sizes!r}.")
    if all(isinstance(v, Integral) and not isinstance(v, (bool, np.bool_)) for v in values):
        counts = np.array(values, dtype=np.intp)
    elif all(isinstance(v, Real) and not isinstance(v, (bool, np.bool_)) for v in values):
        if any(isinstance(v, Integral) for v in values) or not all(0 < v < 1 for v in values):
            raise ValueError(
                f"sizes must be all fractions of the sample in (0, 1) or all counts of "
                f"samples (integers); got {list(values)!r}."
            )
        counts = np.floor(np.array(values, dtype=float) * n_samples).astype(np.intp)
    else:
        raise TypeError(f"sizes must hold numbers; got {list(values)!r}.")
    if np.any(np.diff(counts) <= 0):
        raise ValueError(
            f"sizes must be increasing (in samples: {counts.tolist()} of {n_samples})."
        )
    if counts[0] < 1 or counts[-1] > n_train:
        raise ValueError(
            f"sizes must be between 1 and {n_train} samples (the smallest training "
            f"part when {n_samples} samples are split into {n_splits} folds); got "
            f"{counts.tolist()} samples."
        )
    return counts


def learning_curve_check(
    X, y, classifier, *, sizes=SIZES, n_splits=5, scoring="accuracy", random_state=None
):
    """Will active learning help on this data? The learning curve of random
    labeled subsets, over folds, and its verdict.

    The labeled sample ``(X, y)`` is split into ``n_splits`` stratified
    folds. For each fold, the other folds' rows are shuffled and the
    ``classifier`` (cloned) is trained on their first ``sizes[0]``, then
    ``sizes[1]``, ... rows (nested random subsets, as a random labeling
    would add them) and scored on the fold. This is scikit-learn's
    :func:`~sklearn.model_selection.learning_curve` with shuffled training
    rows. The verdict (see :class:`FeasibilityResult` for the rule) says
    whether the curve is still **rising** at the largest size (room for a
    better sampler than random) or **flat** (random labeling will do).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The labeled sample; sparse input is taken as CSR.
    y : array-like of shape (n_samples,)
        Its class labels (at least 2 classes).
    classifier : scikit-learn classifier
        The model to be trained on the labels (cloned; never fitted itself).
    sizes : sequence of float or of int, default=(0.2, 0.4, 0.6, 0.8)
        Training sizes, increasing: fractions in (0, 1) of ``n_samples``
        (rounded down), or numbers of samples. The largest must fit in every
        training fold (``n_samples`` less the largest fold): with 5 folds,
        up to 80% of the sample.
    n_splits : int, default=5
        Number of stratified folds, at least 2: the spread of the curve.
    scoring : str or callable, default="accuracy"
        As in scikit-learn (``"balanced_accuracy"``, ``"f1_macro"``, a
        scorer ``f(estimator, X, y)``, ...); higher must be better.
    random_state : int, RandomState instance or None, default=None
        Seed of the folds and of the subsets; an int for a reproducible
        result.

    Returns
    -------
    result : FeasibilityResult
        The sizes in samples, the score of each fold at each size, their
        mean, std and percentiles, the verdict and the numbers behind it;
        ``result.to_markdown()`` and ``result.plot(path)`` report them.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from iwkmeans.experiments.feasibility import learning_curve_check
    >>> X, y = make_classification(300, random_state=0)
    >>> result = learning_curve_check(X, y, LogisticRegression(), random_state=0)
    >>> result.sizes.tolist(), result.scores.shape
    ([60, 120, 180, 240], (5, 4))
    """
    X = check_data(X, name="X", accept_sparse=True)
    y = _check_labels(y, X.shape[0])
    n_splits = check_int(n_splits, "n_splits", min_val=2, max_val=X.shape[0])
    clone(classifier)  # a TypeError naming the object if it is not an estimator
    rng = check_random_state(random_state)
    # Two seeds drawn from one generator: the folds, then the subsets.
    fold_seed, subset_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    folds = list(
        StratifiedKFold(n_splits, shuffle=True, random_state=fold_seed).split(
            np.zeros((X.shape[0], 1)), y
        )
    )
    n_train = min(train.size for train, _ in folds)
    counts = _absolute_sizes(sizes, X.shape[0], n_train, n_splits)
    _, _, test_scores = learning_curve(
        classifier,
        X,
        y,
        train_sizes=counts,
        cv=folds,
        scoring=scoring,
        shuffle=True,
        random_state=subset_seed,
        error_score="raise",  # a model that cannot fit a subset is the user's to know
    )
    name = scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "score")
    return FeasibilityResult(counts, test_scores.T, name)
