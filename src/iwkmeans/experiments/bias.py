"""Is my labeled set biased? The reuse check.

A labeled set chosen by an active-learning sampler is chosen *for* the
sampler's model: the samples that model was unsure of. Reused to train
another model (a different classifier, next year's network), it may serve
that model worse than the same number of labels drawn at random.
:func:`labeled_set_bias` measures this on a run stored in a cache (see
:mod:`iwkmeans.experiments.cache`): at every stored step, the other model
trained on the run's labeled set against the other model trained on random
labeled sets of the same size, all scored on the run's test rows.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state

from .._validation import check_data, check_int
from .cache import RunStore, replay, seeded_model
from .feasibility import _signed


@dataclass(frozen=True)
class BiasResult:
    """The other model's score on a run's labeled sets and on random ones
    (see :func:`labeled_set_bias`).

    Reading it: a labeled set that serves the other model as well as random
    labels do sits among the random scores (``percentile`` near 50,
    ``difference`` within the random spread). A set **biased** against the
    other model scores below the random sets (a negative ``difference``, a
    low ``percentile``): the labels were chosen for the run's model and
    reusing them costs the other model accuracy; a set above them (a high
    ``percentile``) carries over its benefit.

    Parameters
    ----------
    run : str
        The run, as the attribute.
    n_labeled : array-like of int of shape (n_steps,)
        The labeled-set sizes, as the attribute.
    replayed : array-like of float of shape (n_steps,)
        The replayed scores, as the attribute.
    random : array-like of float of shape (n_random, n_steps)
        The random sets' scores, as the attribute.
    scoring : str, default="accuracy"
        The scoring's name, as the attribute.

    Attributes
    ----------
    run : str
        The run's folder name in the cache.
    n_labeled : ndarray of int of shape (n_steps,)
        Size of the labeled set at each stored step.
    replayed : ndarray of float of shape (n_steps,)
        Test score of the other model trained on the run's labeled set.
    random : ndarray of float of shape (n_random, n_steps)
        Test score of the other model trained on each random labeled set
        (row) of the same size.
    scoring : str
        The scoring's name, for the table and the plot.
    random_mean, random_std, random_p10, random_p90 : ndarray of float of shape (n_steps,)
        Mean, standard deviation (ddof=1; 0 for a single random set) and
        10th and 90th percentiles of the random scores at each step.
    difference : ndarray of float of shape (n_steps,)
        ``replayed - random_mean``.
    percentile : ndarray of float of shape (n_steps,)
        Percentile rank of the replayed score among the random ones: the
        percentage of random sets that score below it, ties counting half
        (:func:`scipy.stats.percentileofscore` with ``kind="mean"``).
    """

    run: str
    n_labeled: np.ndarray
    replayed: np.ndarray
    random: np.ndarray
    scoring: str = "accuracy"
    random_mean: np.ndarray = field(init=False, repr=False)
    random_std: np.ndarray = field(init=False, repr=False)
    random_p10: np.ndarray = field(init=False, repr=False)
    random_p90: np.ndarray = field(init=False, repr=False)
    difference: np.ndarray = field(init=False, repr=False)
    percentile: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        n_labeled = np.array(self.n_labeled)  # copies: the caller's arrays stay theirs
        replayed = np.array(self.replayed, dtype=float)
        random = np.array(self.random, dtype=float)
        if n_labeled.ndim != 1 or n_labeled.size < 1 or n_labeled.dtype.kind not in "iu":
            raise ValueError(
                f"n_labeled must be a 1-D array of at least one integer; got {self.n_labeled!r}."
            )
        n_steps = n_labeled.size
        if replayed.shape != (n_steps,):
            raise ValueError(
                f"replayed must have shape ({n_steps},), one score per step; got {replayed.shape}."
            )
        if random.ndim != 2 or random.shape[0] < 1 or random.shape[1] != n_steps:
            raise ValueError(
                f"random must have shape (n_random, {n_steps}), one column per step; "
                f"got {random.shape}."
            )
        if not (np.all(np.isfinite(replayed)) and np.all(np.isfinite(random))):
            raise ValueError("replayed and random must be finite numbers.")
        std = random.std(axis=0, ddof=1) if random.shape[0] > 1 else np.zeros(n_steps)
        derived = {
            "run": str(self.run),
            "n_labeled": n_labeled,
            "replayed": replayed,
            "random": random,
            "scoring": str(self.scoring),
            "random_mean": random.mean(axis=0),
            "random_std": std,
            "random_p10": np.percentile(random, 10, axis=0),
            "random_p90": np.percentile(random, 90, axis=0),
            "difference": replayed - random.mean(axis=0),
            "percentile": np.array(
                [
                    stats.percentileofscore(random[:, t], replayed[t], kind="mean")
                    for t in range(n_steps)
                ]
            ),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: set once, here

    def rows(self):
        """The comparison as a table, one row per stored step.

        Returns
        -------
        rows : list of dict
            ``step``, ``n_labeled``, ``replayed``, ``random_mean``,
            ``random_std``, ``random_p10``, ``random_p90``, ``difference``,
            ``percentile``.
        """
        keys = (
            "replayed",
            "random_mean",
            "random_std",
            "random_p10",
            "random_p90",
            "difference",
            "percentile",
        )
        return [
            {"step": t, "n_labeled": int(self.n_labeled[t])}
            | {key: float(getattr(self, key)[t]) for key in keys}
            for t in range(self.n_labeled.size)
        ]

    def to_markdown(self):
        """The comparison as a Markdown table.

        Returns
        -------
        text : str
            One row per step: the labeled-set size, the replayed score, the
            random scores' mean, std and 10th-90th percentiles, the
            difference and the percentile rank; ending with a newline.
        """
        lines = [
            f"| step | labeled | replayed {self.scoring} | random mean | std | "
            f"10th-90th pct | difference | percentile |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in self.rows():
            lines.append(
                f"| {row['step']} | {row['n_labeled']} | {row['replayed']:.3f} | "
                f"{row['random_mean']:.3f} | {row['random_std']:.3f} | "
                f"{row['random_p10']:.3f}-{row['random_p90']:.3f} | "
                f"{_signed(row['difference'])} | {row['percentile']:.0f} |"
            )
        return "\n".join(lines) + "\n"

    def plot(self, path, *, title=None):
        """Write the comparison to a PNG: the replayed scores against the
        number of labels, beside the random sets' mean and a band from their
        10th to their 90th percentile.

        Uses matplotlib's Agg renderer through a bare ``Figure`` (no
        pyplot), so it works without a display and leaves the user's
        matplotlib backend alone.

        Parameters
        ----------
        path : str or os.PathLike or file-like
            Where to write the PNG.
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
        n_random = self.random.shape[0]
        (line,) = ax.plot(
            self.n_labeled, self.random_mean, color="gray", label=f"{n_random} random sets (mean)"
        )
        ax.fill_between(
            self.n_labeled,
            self.random_p10,
            self.random_p90,
            color=line.get_color(),
            alpha=0.25,
            linewidth=0,
            label="random: 10th-90th percentile",
        )
        ax.plot(
            self.n_labeled,
            self.replayed,
            marker="o",
            label=f"{self.run}'s labeled set (last: percentile {self.percentile[-1]:.0f})",
        )
        ax.set_xlabel("labeled samples")
        ax.set_ylabel(f"other model's test {self.scoring}")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        if title:
            ax.set_title(title)
        fig.savefig(path, dpi=100)
        return path


def labeled_set_bias(
    cache, run, X, y, classifier, *, n_random=10, scoring="accuracy", random_state=None
):
    """Whether a run's labeled sets serve another model as random ones would.

    Compares them, as training sets of another model, with random labeled
    sets of the same size: is the run's set biased against that model?

    The run's stored steps are replayed from the cache
    (:func:`~iwkmeans.experiments.cache.replay`, which checks that ``X``
    and ``y`` are the run's data). At each step, ``classifier`` (the *other* model; cloned,
    and seeded with the run's seed if its ``random_state`` is None, as the
    run seeded its own) is trained on

    - the run's labeled set at that step (the initial set and the batches
      the sampler selected), and
    - each of ``n_random`` random labeled sets of the same size: the run's
      initial set plus as many rows of the run's pool drawn at random (a
      random sampler's run: one random order of the pool per set, the sets
      of successive steps nested);

    and scored on the run's test rows. The random sets share the run's
    initial set, so at step 0 every score is the replayed one: the
    comparison measures the sampler's choices only. See
    :class:`BiasResult` for reading the result.

    Parameters
    ----------
    cache : str or os.PathLike
        The cache folder the run was stored in (``run_experiment(...,
        cache=...)`` or ``compare_samplers(..., cache=...)``).
    run : str
        The run's folder name, e.g. ``"IWKMeans_seed0"`` (see
        :func:`~iwkmeans.experiments.cache.read_log`).
    X, y : arrays
        The data of the run.
    classifier : scikit-learn classifier
        The other model; any classifier (the run's own works too).
    n_random : int, default=10
        Number of random labeled sets.
    scoring : str or callable, default="accuracy"
        As in scikit-learn (a name, or a scorer ``f(estimator, X, y)``).
    random_state : int, RandomState instance or None, default=None
        Seed of the random sets; an int for a reproducible result.

    Returns
    -------
    result : BiasResult
        Per stored step: the labeled-set size, the replayed score, the
        random scores, their mean, std and percentiles, the difference and
        the replayed score's percentile rank; ``result.to_markdown()`` and
        ``result.plot(path)`` report them.
    """
    X = check_data(X, name="X")
    n_random = check_int(n_random, "n_random", min_val=1)
    rng = check_random_state(random_state)
    steps = list(replay(cache, run, X, y, classifier=classifier))
    if not steps:
        raise ValueError(f"run {run!r} has no stored step yet: run it first.")
    settings = RunStore(cache, run).stored_settings()
    y = np.asarray(y)
    model = seeded_model(classifier, settings["random_state"])
    scorer = check_scoring(model, scoring=scoring)
    initial, test = steps[0].labeled, steps[0].test
    # The run's pool: its train part (every row not in test) less the initial set.
    pool = np.setdiff1d(np.arange(X.shape[0]), np.concatenate([initial, test]))
    n_labeled = np.array([step.labeled.size for step in steps])
    n_added = n_labeled - initial.size

    def score(rows):
        return scorer(clone(model).fit(X[rows], y[rows]), X[test], y[test])

    # The other model trained on the run's labeled sets (replay fits it,
    # seeded as the random sets' models are).
    replayed = np.array([scorer(step.model, X[test], y[test]) for step in steps])
    random = np.empty((n_random, len(steps)))
    for r in range(n_random):
        order = rng.permutation(pool)
        for t, added in enumerate(n_added):
            random[r, t] = score(np.concatenate([initial, order[:added]]))
    name = scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "score")
    return BiasResult(run, n_labeled, replayed, random, name)
