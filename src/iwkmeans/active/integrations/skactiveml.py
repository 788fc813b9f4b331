"""The samplers as scikit-activeml pool query strategies.

:class:`SkactivemlQueryStrategy` wraps any sampler of :mod:`iwkmeans.active`
behind scikit-activeml's ``SingleAnnotatorPoolQueryStrategy`` interface, so
that it drops into their pool-based loops in place of their own strategies:
``qs.query(X, y, clf, fit_clf=True, sample_weight=None, candidates=None,
batch_size=1, return_utilities=False)``, with the unlabeled rows of ``y``
marked by the strategy's ``missing_label`` (their ``MISSING_LABEL``, NaN, by
default).

The other direction needs no adapter: :class:`iwkmeans.IncrementalKMeans` is
a scikit-learn clusterer, and scikit-activeml's clustering strategies
(``TypiClust``, ``ProbCover``, ``Clue``, ``DropQuery``) take it as their
``cluster_algo``.

Requires the ``skactiveml`` extra: ``pip install "iwkmeans[skactiveml]"``.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

try:
    from skactiveml.base import SingleAnnotatorPoolQueryStrategy, SkactivemlClassifier
    from skactiveml.utils import (
        MISSING_LABEL,
        check_equal_missing_label,
        check_type,
        labeled_indices,
        unlabeled_indices,
    )
except ImportError as error:  # the extra is installed where this module is tested
    raise ImportError(
        "iwkmeans.active.integrations.skactiveml needs scikit-activeml: "
        'pip install "iwkmeans[skactiveml]"'
    ) from error

__all__ = ["SkactivemlQueryStrategy"]


class _QueryModel:
    """scikit-activeml's classifier in the place of the sampler's.

    The sampler fits (a clone of) its classifier on the labeled rows once
    two classes are labeled, and never in a cold start. Here that fit is
    scikit-activeml's ``fit_clf`` step instead: a clone of ``clf`` fitted on
    the whole query data, ``(X, y)`` with its missing labels and
    ``sample_weight`` (the wrapper drops the unlabeled rows, a
    semi-supervised one uses them), or, with ``fit_clf=False``, ``clf`` as
    given, which must be fitted. So no classifier is fitted for a cold-start
    pick, which does not use one.
    """

    def __init__(self, clf, fit_args):
        self.clf = clf
        self.fit_args = fit_args  # None: use clf as it is (fit_clf=False)

    def __sklearn_clone__(self):
        return self

    def fit(self, X_labeled, y_labeled):
        if self.fit_args is None:
            check_is_fitted(self.clf)
            self.model_ = self.clf
        else:
            self.model_ = clone(self.clf).fit(*self.fit_args)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def _indicator_utilities(picks, selectable, n_columns):
    """scikit-activeml's utilities for a batch chosen as a whole: row b is 1
    at the b-th pick, 0 at the other rows still selectable, NaN at the rows
    that cannot be picked (labeled, not a candidate, or picked earlier in
    the batch)."""
    utilities = np.full((picks.size, n_columns), np.nan)
    utilities[:, selectable] = 0.0
    rows, earlier = np.tril_indices(picks.size, -1)
    utilities[rows, picks[earlier]] = np.nan
    utilities[np.arange(picks.size), picks] = 1.0
    return utilities


class SkactivemlQueryStrategy(SingleAnnotatorPoolQueryStrategy):
    """Wrap an iwkmeans sampler as a scikit-activeml pool query strategy.

    ``query`` fits the strategy's classifier the way scikit-activeml's
    strategies do and hands the selection to the sampler's own ``query``
    (``fit`` and ``select_samples`` for candidates given as sample rows):
    the picks are those of the sampler on the same data, labels and
    ``random_state``.

    Parameters
    ----------
    sampler : sampler of :mod:`iwkmeans.active`
        The selection, e.g. ``IWKMeansSampler(None, batch_size=1,
        random_state=0)``. It is cloned at each query; its ``classifier``
        is replaced by ``query``'s ``clf`` and its ``batch_size`` by
        ``query``'s, so both may be anything (None, 1) here.
    missing_label : float, int, str or None, default=np.nan
        The entry of ``y`` that marks an unlabeled row; ``clf`` must use
        the same.
    random_state : int, RandomState instance or None, default=None
        None: the sampler's own ``random_state``, unchanged, at every query.
        Otherwise it replaces the sampler's, drawn anew at each query from
        this seed and the number of unlabeled rows, as scikit-activeml's
        strategies draw theirs.

    Attributes
    ----------
    sampler_ : sampler
        The clone of ``sampler`` that made the last query, fitted:
        ``sampler_.cold_start_`` says whether it had a model.
    missing_label_ : float, int, str or None
        The checked ``missing_label`` of the last query.
    random_state_ : RandomState instance
        The random state scikit-activeml drew for the last query; used only
        when ``random_state`` is not None.
    n_features_in_ : int
        Number of features of the last query's ``X``.

    See Also
    --------
    iwkmeans.active.integrations.smalltext.SmallTextQueryStrategy : The same
        for small-text.

    Notes
    -----
    The samplers choose a batch as a whole (clustering, greedy or top-k
    picks), without one utility per sample that would reproduce the batch
    pick after pick. With ``return_utilities=True``, ``query`` returns the
    choice in scikit-activeml's shape, ``(batch_size, n_samples)``: row
    ``b`` is 1 at the ``b``-th pick, 0 at the other rows that could be
    picked, and NaN, their mark of a row that cannot be, at the labeled
    rows, the rows outside ``candidates`` and the rows picked earlier in
    the batch. Each row's argmax is thus its pick, as for their strategies.

    Unlike most of scikit-activeml's strategies, ``query`` never picks a
    labeled row, even one listed in ``candidates``; and while fewer than
    two classes are labeled the samplers that select with a model make
    their cold-start pick without fitting ``clf`` (see
    :meth:`iwkmeans.IWKMeansSampler.fit`).

    Examples
    --------
    scikit-activeml's pool-based loop, with this strategy in the place of
    theirs:

    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skactiveml.classifier import SklearnClassifier
    >>> from skactiveml.utils import MISSING_LABEL
    >>> from iwkmeans import IWKMeansSampler
    >>> from iwkmeans.active.integrations.skactiveml import SkactivemlQueryStrategy
    >>> X, y_true = make_blobs(n_samples=200, centers=4, random_state=0)
    >>> y = np.full(shape=y_true.shape, fill_value=MISSING_LABEL)
    >>> clf = SklearnClassifier(LogisticRegression(), classes=np.unique(y_true))
    >>> qs = SkactivemlQueryStrategy(IWKMeansSampler(None, batch_size=1, random_state=0))
    >>> for cycle in range(3):
    ...     query_idx = qs.query(X=X, y=y, clf=clf, batch_size=4)
    ...     y[query_idx] = y_true[query_idx]
    >>> int(np.sum(~np.isnan(y))), qs.sampler_.cold_start_
    (12, False)
    """

    def __init__(self, sampler, missing_label=MISSING_LABEL, random_state=None):
        super().__init__(missing_label=missing_label, random_state=random_state)
        self.sampler = sampler

    def query(
        self,
        X,
        y,
        clf=None,
        fit_clf=True,
        sample_weight=None,
        candidates=None,
        batch_size=1,
        return_utilities=False,
    ):
        """Pick the unlabeled samples whose labels to query next.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Every sample, labeled or not.
        y : array-like of shape (n_samples,)
            The label of each row of X, or ``missing_label`` for a row not
            labeled yet. Never modified.
        clf : skactiveml.base.SkactivemlClassifier, default=None
            The classifier whose ``predict_proba`` the sampler selects with,
            e.g. ``SklearnClassifier(LogisticRegression(), classes=...)``,
            with this strategy's ``missing_label``. Only the label-free
            samplers (random, k-center, k-means) do without one.
        fit_clf : bool, default=True
            Whether to fit a clone of ``clf`` on ``X``, ``y`` and
            ``sample_weight`` (as scikit-activeml's strategies do) or use
            ``clf`` as it is, fitted. Either way ``clf`` is never modified,
            and it is not used in a cold start.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples when fitting ``clf``; the selection does
            not use them.
        candidates : None or array-like of shape (n_candidates,), dtype=int or \
array-like of shape (n_candidates, n_features), default=None
            The samples that may be picked: None for every unlabeled row of
            X, indices into X (labeled rows among them are never picked),
            or sample rows, not necessarily rows of X, to select from.
        batch_size : int, default=1
            Number of samples to pick; fewer, with a warning, if fewer can
            be picked.
        return_utilities : bool, default=False
            Whether to return the utilities too (see Notes of the class).

        Returns
        -------
        query_indices : ndarray of shape (batch_size,)
            Distinct picks, in the sampler's order: indices into X, or into
            ``candidates`` if it holds sample rows.
        utilities : ndarray of shape (batch_size, n_samples) or (batch_size, n_candidates)
            Only if ``return_utilities``: row ``b`` is 1 at
            ``query_indices[b]``, 0 at the other rows that could be picked,
            NaN elsewhere (columns: the rows of X, or of ``candidates`` if
            it holds sample rows).

        Raises
        ------
        TypeError
            If ``clf`` is None and the sampler selects with a model, or is
            not a scikit-activeml classifier.
        ValueError
            If no row (among the candidates) is unlabeled, or ``clf``'s
            ``missing_label`` differs from the strategy's.
        """
        X, y, candidates, batch_size, return_utilities = self._validate_data(
            X, y, candidates, batch_size, return_utilities, reset=True
        )
        check_type(fit_clf, "fit_clf", bool)
        needs_model = getattr(self.sampler, "needs_proba", True)
        if getattr(self.sampler, "trains_own_models", False):
            raise TypeError(
                f"SkactivemlQueryStrategy cannot serve {type(self.sampler).__name__}: it trains a "
                "committee of its own from its classifier, while the adapter hands it the "
                "library's model. Use the sampler's own query instead."
            )
        if clf is None:
            if needs_model:
                raise TypeError(
                    f"{type(self.sampler).__name__} selects with a model: pass clf, a "
                    "scikit-activeml classifier such as SklearnClassifier(LogisticRegression())."
                )
            model = None
        else:
            check_type(clf, "clf", SkactivemlClassifier)
            check_equal_missing_label(clf.missing_label, self.missing_label_)
            fit_args = None
            if fit_clf:
                fit_args = (X, y) if sample_weight is None else (X, y, sample_weight)
            model = _QueryModel(clf, fit_args) if needs_model else None

        sampler = clone(self.sampler).set_params(classifier=model)
        if self.random_state is not None:
            sampler.set_params(random_state=self.random_state_)
        self.sampler_ = sampler

        if candidates is not None and candidates.ndim > 1:
            # Sample rows outside X: the pool itself, the labeled rows of X
            # the labeled set.
            labeled = labeled_indices(y, missing_label=self.missing_label_)
            sampler.set_params(batch_size=batch_size)
            picks = sampler.fit(X[labeled], y[labeled]).select_samples(candidates)
            selectable, n_columns = np.arange(len(candidates)), len(candidates)
        else:
            picks = sampler.query(
                X,
                y,
                batch_size=batch_size,
                missing_label=self.missing_label_,
                candidates=candidates,
            )
            selectable = unlabeled_indices(y, missing_label=self.missing_label_)
            if candidates is not None:
                selectable = np.intersect1d(selectable, candidates)
            n_columns = X.shape[0]
        picks = np.asarray(picks, dtype=int)
        if return_utilities:
            return picks, _indicator_utilities(picks, selectable, n_columns)
        return picks
