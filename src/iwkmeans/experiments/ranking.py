"""Ranking methods over many data sets and runs: the Friedman test, the
Nemenyi critical difference and the critical-difference diagram.

Demšar (2006, "Statistical comparisons of classifiers over multiple data
sets", JMLR 7) recommends, to compare k methods on N independent blocks
(data sets, or data sets x seeds): rank the methods within each block (1 for
the best, ties sharing the mean of their ranks), test whether the average
ranks differ with the Friedman test (or its Iman-Davenport F variant, less
conservative), and if they do, call two methods different when their
average ranks differ by at least the Nemenyi critical difference. The
critical-difference diagram draws the average ranks on one axis and joins
the methods that are not significantly different.

:func:`friedman_test` takes any score matrix, :func:`rank_samplers` the
tables of :func:`~iwkmeans.experiments.compare_samplers` (one block per data
set and run, scored by the learning curve's AUC), :func:`nemenyi_groups`
lists the groups the diagram joins and :func:`plot_critical_difference`
draws it.
"""

import math
from numbers import Real

import numpy as np
from scipy import stats
from sklearn.utils import check_array

from .._validation import check_int, check_real
from . import metrics

__all__ = [
    "friedman_test",
    "nemenyi_critical_difference",
    "nemenyi_groups",
    "rank_samplers",
    "plot_critical_difference",
]


def friedman_test(scores, *, tie_correction=True):
    """The Friedman test of k methods over N blocks, and its average ranks.

    In each block (row) the methods are ranked, 1 for the highest score,
    tied scores sharing the mean of their ranks; ``R_j`` is method j's rank
    averaged over the blocks. The Friedman statistic is::

        chi2 = 12 N / (k (k + 1)) * (sum_j R_j^2 - k (k + 1)^2 / 4)

    divided, with ``tie_correction``, by ``1 - sum (t^3 - t) / (N k (k^2 -
    1))`` where t runs over the sizes of the groups of tied scores in each
    block (as :func:`scipy.stats.friedmanchisquare` does); under the null
    hypothesis that all methods are equivalent it follows a chi-square
    distribution with k - 1 degrees of freedom. The Iman-Davenport variant::

        F = (N - 1) chi2 / (N (k - 1) - chi2)

    follows an F distribution with k - 1 and (k - 1)(N - 1) degrees of
    freedom; it is the less conservative of the two (Demšar 2006, section
    3.2.2). When every block ranks the methods the same way, ``chi2`` is
    ``N (k - 1)`` and F is infinite (p-value 0).

    Parameters
    ----------
    scores : array-like of shape (n_blocks, n_methods)
        One row per block (a data set, a data set and a seed, ...), one
        column per method; higher is better (negate a loss). At least 2
        blocks and 2 methods; finite values. Not modified.
    tie_correction : bool, default=True
        Correct the statistic for tied scores. Demšar's worked examples use
        the uncorrected statistic (False); with no ties both are equal.

    Returns
    -------
    result : dict
        ``average_ranks`` (ndarray of shape (n_methods,), 1 = best),
        ``chi2`` and ``chi2_pvalue`` (the Friedman statistic and its
        p-value), ``iman_davenport`` and ``iman_davenport_pvalue``,
        ``n_blocks``, ``n_methods``.

    Raises
    ------
    ValueError
        If ``scores`` is not a finite 2-D array with at least 2 blocks and
        2 methods, or if, with ``tie_correction``, every block ties all its
        methods (then nothing is ranked and the statistic is undefined).

    Examples
    --------
    >>> from iwkmeans.experiments.ranking import friedman_test
    >>> result = friedman_test([[3, 2, 1], [3, 1, 2], [2, 3, 1]])
    >>> result["average_ranks"].round(3).tolist(), round(result["chi2"], 4)
    ([1.333, 2.0, 2.667], 2.6667)
    """
    scores = _check_scores(scores)
    n_blocks, n_methods = scores.shape
    # rankdata ranks ascending; the highest score must get rank 1.
    ranks = stats.rankdata(-scores, axis=1)
    average_ranks = ranks.mean(axis=0)
    k, n = n_methods, n_blocks
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(average_ranks**2) - k * (k + 1) ** 2 / 4)
    if tie_correction:
        ties = sum(np.sum(counts**3 - counts) for counts in map(_tie_sizes, scores))
        correction = 1 - ties / (n * k * (k * k - 1))
        if correction <= 0:
            raise ValueError(
                "scores ties all the methods in every block: the Friedman test has "
                "nothing to rank (set tie_correction=False for a statistic of 0)."
            )
        chi2 /= correction
    # Rounding can push an exact agreement a hair past its bound N (k - 1).
    chi2 = float(min(max(chi2, 0.0), n * (k - 1)))
    denominator = n * (k - 1) - chi2
    if denominator > 1e-12 * n * (k - 1):
        f_stat = (n - 1) * chi2 / denominator
        f_pvalue = float(stats.f.sf(f_stat, k - 1, (k - 1) * (n - 1)))
    else:
        f_stat, f_pvalue = math.inf, 0.0
    return {
        "average_ranks": average_ranks,
        "chi2": chi2,
        "chi2_pvalue": float(stats.chi2.sf(chi2, k - 1)),
        "iman_davenport": float(f_stat),
        "iman_davenport_pvalue": f_pvalue,
        "n_blocks": n,
        "n_methods": k,
    }


def _check_scores(scores):
    scores = check_array(
        scores, dtype=np.float64, input_name="scores", ensure_2d=False, ensure_min_samples=0
    )
    if scores.ndim != 2 or scores.shape[0] < 2 or scores.shape[1] < 2:
        raise ValueError(
            "scores must have shape (n_blocks, n_methods) with at least 2 blocks and "
            f"2 methods; got shape {scores.shape}."
        )
    return scores


def _tie_sizes(row):
    """Sizes of the groups of equal values in one block."""
    return np.unique(row, return_counts=True)[1].astype(np.float64)


def nemenyi_critical_difference(n_methods, n_blocks, alpha=0.05):
    """The Nemenyi test's critical difference of average ranks.

    Two of ``k = n_methods`` methods ranked over ``N = n_blocks`` blocks
    differ significantly at level ``alpha`` when their average ranks differ
    by at least::

        CD = q_alpha * sqrt(k (k + 1) / (6 N))

    where ``q_alpha`` is the ``1 - alpha`` quantile of the studentized range
    of k means with infinite degrees of freedom, divided by sqrt(2)
    (Demšar 2006, section 3.2.2; his table gives q_0.05 = 1.960, 2.343,
    2.569, 2.728, 2.850 for k = 2 to 6).

    Parameters
    ----------
    n_methods : int >= 2
        Number of methods k.
    n_blocks : int >= 1
        Number of blocks N (data sets, or data sets x seeds).
    alpha : float in (0, 1), default=0.05
        Significance level.

    Returns
    -------
    cd : float
        The critical difference.

    Examples
    --------
    >>> from iwkmeans.experiments.ranking import nemenyi_critical_difference
    >>> round(nemenyi_critical_difference(4, 14), 2)  # Demšar's example
    1.25
    """
    check_int(n_methods, "n_methods", min_val=2)
    check_int(n_blocks, "n_blocks", min_val=1)
    check_real(alpha, "alpha", min_val=0, max_val=1, include_boundaries="neither")
    q_alpha = stats.studentized_range.ppf(1 - alpha, n_methods, np.inf) / math.sqrt(2)
    return float(q_alpha * math.sqrt(n_methods * (n_methods + 1) / (6 * n_blocks)))


def nemenyi_groups(average_ranks, cd):
    """The groups of methods whose average ranks are not significantly
    different: the bars of the critical-difference diagram.

    Methods are taken in order of average rank; each group is a run of
    consecutive methods whose largest and smallest ranks differ by less than
    ``cd`` (at least ``cd`` means significantly different), maximal (not
    inside another group) and of at least two methods.

    Parameters
    ----------
    average_ranks : dict of str to float, or array-like of shape (n_methods,)
        Average rank of each method (1 = best), keyed by name or by
        position.
    cd : float > 0
        The critical difference (see :func:`nemenyi_critical_difference`).

    Returns
    -------
    groups : list of tuple
        One tuple per group, of method names (or indices), best first;
        groups ordered by their best rank.

    Examples
    --------
    >>> from iwkmeans.experiments.ranking import nemenyi_groups
    >>> nemenyi_groups({"A": 1.2, "B": 1.9, "C": 3.4}, 1.0)
    [('A', 'B')]
    """
    names, ranks = _names_and_ranks(average_ranks)
    check_real(cd, "cd", min_val=0, include_boundaries="neither")
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    groups = []
    reach = 0  # the last position the previous group covered
    for start in range(order.size):
        stop = start
        while stop + 1 < order.size and sorted_ranks[stop + 1] - sorted_ranks[start] < cd:
            stop += 1
        if stop > start and stop > reach:
            groups.append(tuple(names[i] for i in order[start : stop + 1]))
            reach = stop
    return groups


def _names_and_ranks(average_ranks):
    if isinstance(average_ranks, dict):
        names = list(average_ranks)
        values = list(average_ranks.values())
    else:
        values = average_ranks
        names = None
    ranks = check_array(
        values,
        dtype=np.float64,
        input_name="average_ranks",
        ensure_2d=False,
        ensure_min_samples=0,
    )
    if ranks.ndim != 1 or ranks.size < 2:
        raise ValueError(
            "average_ranks must give the average rank of at least 2 methods; got "
            f"{ranks.size} value(s) of shape {ranks.shape}."
        )
    if names is None:
        names = list(range(ranks.size))
    return names, ranks


def _run_curves(rows, metric):
    """Method -> run -> (steps, values) from one compare_samplers table."""
    curves = {}
    for row in rows:
        if not isinstance(row, dict) or not {"method", "run", "step", metric} <= row.keys():
            raise ValueError(
                "rows must be compare_samplers tables: dicts with 'method', 'run', 'step' "
                f"and the metric {metric!r}; got a row {row!r}."
            )
        steps, values = curves.setdefault(row["method"], {}).setdefault(row["run"], ([], []))
        steps.append(row["step"])
        values.append(row[metric])
    return curves


def rank_samplers(rows, *, metric="accuracy", alpha=0.05, tie_correction=True):
    """Rank the samplers of :func:`~iwkmeans.experiments.compare_samplers`
    tables over data sets x runs: Friedman test and Nemenyi groups.

    Each block is one run (seed, and half with ``both_halves``) on one data
    set, and a method's score in a block is the AUC of its learning curve
    (:func:`~iwkmeans.experiments.metrics.learning_curve_auc` of ``metric``
    over the run's steps, x100), so that methods are compared on the same
    split, the same initial labels and the same data. Every method must
    have run in every block.

    Parameters
    ----------
    rows : list of dict, or dict of str to list of dict
        One :func:`~iwkmeans.experiments.compare_samplers` table, or a dict
        data-set name -> table (the same methods in each).
    metric : str, default="accuracy"
        The per-step entry whose learning curve is scored; its values must
        lie in [0, 1] (an accuracy, an F1 score, ...).
    alpha : float in (0, 1), default=0.05
        Significance level of the Nemenyi critical difference.
    tie_correction : bool, default=True
        Passed to :func:`friedman_test`.

    Returns
    -------
    ranking : dict
        ``methods`` (list, in table order), ``blocks`` (list of ``(dataset,
        run)``; dataset None for a single table), ``scores`` (ndarray of
        shape (n_blocks, n_methods): the AUCs), ``average_ranks`` (dict
        method -> average rank, 1 = best), ``chi2``, ``chi2_pvalue``,
        ``iman_davenport``, ``iman_davenport_pvalue`` (see
        :func:`friedman_test`), ``critical_difference`` (see
        :func:`nemenyi_critical_difference`), ``alpha`` and ``groups``
        (see :func:`nemenyi_groups`).

    Raises
    ------
    ValueError
        If a row lacks a key, a method is missing from a block, a run's
        steps are not 0, 1, ... in order, or there are fewer than 2
        methods or 2 blocks.
    """
    check_real(alpha, "alpha", min_val=0, max_val=1, include_boundaries="neither")
    if not isinstance(metric, str):
        raise TypeError(f"metric must be the name of a per-step entry; got {metric!r}.")
    tables = rows if isinstance(rows, dict) else {None: rows}
    if not tables or any(isinstance(table, dict) or not table for table in tables.values()):
        raise ValueError(
            "rows must be a non-empty compare_samplers table (list of dict) or a dict "
            "of data-set name -> such a table."
        )
    methods = []
    auc = {}  # (dataset, run) -> method -> AUC
    for dataset, table in tables.items():
        for method, runs in _run_curves(table, metric).items():
            if method not in methods:
                methods.append(method)
            for run, (steps, values) in runs.items():
                if steps != list(range(len(steps))):
                    raise ValueError(
                        f"The rows of {method!r}, run {run!r}"
                        + ("" if dataset is None else f" of data set {dataset!r}")
                        + f" must hold steps 0, 1, ... in order; got steps {steps}."
                    )
                if not all(isinstance(v, Real) for v in values):
                    raise ValueError(f"metric {metric!r} must hold numbers; got {values!r}.")
                score = 100 * metrics.learning_curve_auc(np.asarray(values, dtype=np.float64))
                auc.setdefault((dataset, run), {})[method] = score
    blocks = list(auc)
    missing = [(m, b) for b in blocks for m in methods if m not in auc[b]]
    if missing:
        method, (dataset, run) = missing[0]
        raise ValueError(
            f"Every method must run in every block (data set x run) to be ranked; "
            f"{method!r} has no run {run!r}"
            + ("" if dataset is None else f" on data set {dataset!r}")
            + f" ({len(missing)} missing in all)."
        )
    if len(methods) < 2 or len(blocks) < 2:
        raise ValueError(
            "Ranking needs at least 2 methods and 2 blocks (data sets x runs); got "
            f"{len(methods)} method(s) and {len(blocks)} block(s)."
        )
    scores = np.array([[auc[b][m] for m in methods] for b in blocks])
    friedman = friedman_test(scores, tie_correction=tie_correction)
    cd = nemenyi_critical_difference(len(methods), len(blocks), alpha)
    average_ranks = dict(zip(methods, friedman["average_ranks"].tolist()))
    return {
        "methods": methods,
        "blocks": blocks,
        "scores": scores,
        "average_ranks": average_ranks,
        "chi2": friedman["chi2"],
        "chi2_pvalue": friedman["chi2_pvalue"],
        "iman_davenport": friedman["iman_davenport"],
        "iman_davenport_pvalue": friedman["iman_davenport_pvalue"],
        "critical_difference": cd,
        "alpha": alpha,
        "groups": nemenyi_groups(average_ranks, cd),
    }


def plot_critical_difference(ranks, cd, path, *, title=None):
    """Draw a critical-difference diagram (Demšar 2006) to a PNG.

    An axis of average ranks, 1 (best) on the left; each method hangs from
    its average rank, the better half labelled on the left and the other
    half on the right; a thick bar joins each group of methods whose ranks
    differ by less than ``cd`` (see :func:`nemenyi_groups`), and a bar of
    length ``cd`` above the axis gives the scale. Uses matplotlib's Agg
    renderer through a bare ``Figure`` (no pyplot), so it needs no display
    and leaves the user's backend alone.

    Parameters
    ----------
    ranks : dict of str to float
        Average rank of each method (e.g. ``rank_samplers(...)
        ["average_ranks"]``), at least two methods.
    cd : float > 0
        The critical difference.
    path : str or os.PathLike
        Where to write the PNG.
    title : str, default=None
        Title of the diagram; None for none.

    Returns
    -------
    path : str or os.PathLike
        The ``path`` given.
    """
    if not isinstance(ranks, dict):
        raise TypeError(
            f"ranks must be a dict of method name -> average rank; got {type(ranks).__name__}."
        )
    names, values = _names_and_ranks(ranks)
    groups = nemenyi_groups(ranks, cd)  # also checks cd
    from matplotlib.figure import Figure

    k = len(names)
    order = np.argsort(values, kind="stable")
    n_left = (k + 1) // 2
    # Vertical layout in rows of text (y grows downwards): the CD bar, the
    # axis at 0, the group bars, then one row per method label on each side.
    group_y = [0.55 + 0.3 * g for g in range(len(groups))]
    first_label = (group_y[-1] if groups else 0.3) + 0.7
    n_rows = max(n_left, k - n_left)
    bottom = first_label + 0.5 * (n_rows - 1) + 0.4
    height = 0.32 * (bottom + 2.2)
    fig = Figure(figsize=(7, height), layout=None)
    ax = fig.add_axes((0.27, 0.0, 0.46, 1.0))
    low, high = 1, max(k, math.ceil(values.max()))
    ax.set_xlim(low, high)
    ax.set_ylim(bottom, -2.2)
    ax.set_axis_off()
    line = dict(color="black", linewidth=1, solid_capstyle="butt", clip_on=False)
    ax.plot([low, high], [0, 0], **line)
    for tick in np.arange(low, high + 0.25, 0.5):
        major = float(tick).is_integer()
        ax.plot([tick, tick], [0, -0.25 if major else -0.12], **line)
        if major:
            ax.text(tick, -0.35, f"{tick:g}", ha="center", va="bottom", fontsize=9)
    ax.plot([low, low + cd], [-1.4, -1.4], **line)
    for end in (low, low + cd):
        ax.plot([end, end], [-1.55, -1.25], **line)
    ax.text(low + cd / 2, -1.6, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    span = high - low
    for position, index in enumerate(order):
        left = position < n_left
        row = position if left else k - 1 - position
        y = first_label + 0.5 * row
        x_end = low - 0.04 * span if left else high + 0.04 * span
        ax.plot([values[index], values[index], x_end], [0, y, y], **line)
        ax.text(
            x_end + (-0.02 if left else 0.02) * span,
            y,
            f"{names[index]} ({values[index]:.2f})"
            if left
            else f"({values[index]:.2f}) {names[index]}",
            ha="right" if left else "left",
            va="center",
            fontsize=9,
        )
    rank_of = dict(zip(names, values))
    for y, group in zip(group_y, groups):
        ax.plot(
            [rank_of[group[0]] - 0.03 * span, rank_of[group[-1]] + 0.03 * span],
            [y, y],
            color="black",
            linewidth=3,
            solid_capstyle="butt",
        )
    if title:
        ax.set_title(title, fontsize=10, pad=2)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path
