"""Active-learning query samplers with one interface.

``sampler.fit(X_labeled, y_labeled)`` fits a clone of the classifier and
remembers the labeled set; ``sampler.select_samples(X_pool)`` returns
``batch_size`` distinct row indices into ``X_pool``; the uncertainty-based
samplers also have ``score_samples(X_pool)``. ``sampler.query(X, y)`` does
both in one call on one array of samples whose unlabeled rows ``y`` marks
with ``missing_label`` (the convention of scikit-activeml and small-text,
read by :mod:`iwkmeans.active._labels`), and returns indices into X.

Cold start: the labeled set may be empty. A classifier is fitted only once
two classes are labeled; until then the samplers that select with the model
make the representative pick of :func:`~iwkmeans.active._selection.representative_picks`
(K-Means on the pool, the sample nearest each center), IWKMeans with its
labeled samples as fixed centroids. The label-free samplers (random,
k-center, k-means, TypiClust) select as always.

A sampler never clusters by itself: it calls the selection functions of
:mod:`iwkmeans.active._selection`.
"""

import math
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    canonical_csr,
    check_batch_size,
    check_beta,
    check_data,
    check_fixed_centers,
    check_int,
    check_n_threads,
    check_real,
)
from ._badge import LinearGradientEmbedding, implicit_kmeans_plusplus
from ._cluster_margin import hierarchical_labels, round_robin_picks
from ._committee import (
    bootstrap_committee,
    committee_members,
    is_committee_ensemble,
    member_probas,
)
from ._labels import check_labeled_set, split_query
from ._selection import (
    check_clustering,
    check_fixed,
    representative_picks,
    select_kcenter_greedy,
    top_scores,
    wkmeans_picks,
)
from ._submodular import submodular_picks
from ._typiclust import typiclust_picks
from ._uncertainty import (
    confidence_score,
    entropy_score,
    kl_divergence_score,
    margin_score,
    vote_entropy_score,
)


class _Sampler(BaseEstimator):
    """What every sampler shares: ``fit`` on a labeled set that may be empty,
    ``select_samples`` from a pool, and ``query`` in the one-array
    convention. A subclass implements ``_pick(X, batch_size)`` on a
    validated pool."""

    # The samplers whose selection needs the model's predict_proba; they
    # fall back to the representative pick while no model can be trained.
    needs_proba = False
    # Whether the labeled samples are fixed centroids of the clustering
    # (IWKMeans), in the cold-start pick as in the selection with a model.
    uses_labeled = False
    # Whether the sampler trains models of its own from its classifier (a
    # committee of clones) rather than one: the adapters, which hand it the
    # other library's trained model, cannot serve it.
    trains_own_models = False
    # Whether fit keeps the labels as y_labeled_ (IWKMeans with
    # fixed="correct" compares them with the model's predictions).
    keeps_labels = False

    def __init__(self, classifier, batch_size, *, random_state=None):
        self.classifier = classifier
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X_labeled=None, y_labeled=None):
        """Fit a clone of the classifier on the labeled set and remember it.

        Parameters
        ----------
        X_labeled : {array-like, sparse matrix} of shape (n_labeled, n_features), default=None
            The labeled samples, dense or CSR. None, or an array of no rows,
            for none (a cold start).
        y_labeled : array-like of shape (n_labeled,), default=None
            Their labels (not NaN, not None). The label-free samplers
            (random, k-center, k-means, TypiClust) do not need them; the others do
            whenever ``X_labeled`` has rows.

        Returns
        -------
        self : object
            Fitted sampler.

        Notes
        -----
        Cold start. A clone of the classifier is fitted only once at least
        two classes are labeled (a classifier cannot be trained on one);
        until then ``cold_start_`` is True and ``classifier_`` is not set.
        The label-free samplers (:class:`RandomSampler`,
        :class:`KCenterGreedySampler`, :class:`KMeansSampler`,
        :class:`TypiClustSampler`) select as always. The samplers that
        select with the model fall back to the representative pick: K-Means
        on the pool with ``batch_size`` clusters (unit weights, k-means++
        seeding, the package's Lloyd iterations) and, for each cluster, the
        pool sample nearest its center; that is :class:`KMeansSampler`'s
        selection, deterministic for a given ``random_state``.
        :class:`IWKMeansSampler` keeps its labeled samples (all of one class,
        say) as fixed centroids of that clustering, as it does with a model,
        so that its picks avoid what is labeled already.
        """
        if self.needs_proba and not hasattr(self.classifier, "predict_proba"):
            raise TypeError(
                f"{type(self).__name__} needs a classifier with predict_proba; "
                f"{type(self.classifier).__name__} has none."
            )
        X, y, n_classes = check_labeled_set(
            X_labeled, y_labeled, sampler=type(self).__name__, needs_labels=self.needs_proba
        )
        self.X_labeled_ = X
        if self.keeps_labels:
            self.y_labeled_ = y
        self.cold_start_ = n_classes < 2
        if self.classifier is not None and not self.cold_start_:
            self.classifier_ = clone(self.classifier).fit(X, y)
        else:
            # A refit on fewer classes must not leave the previous model behind.
            vars(self).pop("classifier_", None)
        return self

    def select_samples(self, X_pool):
        """Select ``batch_size`` distinct pool samples.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``.
        """
        X = self._pool(X_pool)
        check_batch_size(self.batch_size, X.shape[0])
        return self._select(X, self.batch_size)

    def query(self, X, y, *, batch_size=None, missing_label=np.nan, candidates=None):
        """Pick unlabeled rows of X: fit on the labeled rows, select from the rest.

        The convention of scikit-activeml and small-text: one array of
        samples, one label per row, and ``missing_label`` where a row has no
        label yet.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Every sample, labeled or not, dense or CSR.
        y : array-like of shape (n_samples,)
            The label of each row of X, or ``missing_label`` for a row not
            labeled yet. Never modified.
        batch_size : int, default=None
            Number of rows to pick; None: the sampler's ``batch_size``.
        missing_label : float, int, str or None, default=np.nan
            The entry of ``y`` that marks an unlabeled row: NaN (in a float
            or object array), a value such as -1 among integer labels, or
            None in an object array.
        candidates : array-like of int of shape (n_candidates,), default=None
            Row indices into X that may be picked; labeled rows among them
            are never picked, and a repeated index counts once. None: every
            unlabeled row. Sample rows (a 2-D array) are not supported:
            append them to X with missing labels and pass their indices.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct indices of unlabeled rows of X (of candidates, if
            given), in the sampler's order.

        Raises
        ------
        ValueError
            If no row (among the candidates) is unlabeled, or if an entry
            of ``y`` is NaN or None without being ``missing_label``.
        TypeError
            If ``missing_label`` cannot occur in ``y``'s dtype (NaN among
            integers, None outside an object array), or if ``candidates``
            is not an array of integers.

        Warns
        -----
        UserWarning
            If fewer rows than ``batch_size`` can be picked: all of them
            are returned.

        Notes
        -----
        ``query`` is :meth:`fit` on the labeled rows followed by the
        selection on the pool (the unlabeled rows, or the unlabeled
        candidates, in increasing order), with the picks mapped back to rows
        of X: ``pool[self.fit(X[labeled], y[labeled]).select_samples(X[pool])]``.
        So it fits the sampler, never returns a labeled row, and with no or
        one labeled class makes the cold-start pick of :meth:`fit`.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LogisticRegression
        >>> from iwkmeans import IWKMeansSampler
        >>> X = np.r_[np.zeros((6, 2)), np.full((6, 2), 10.0)] + np.arange(12)[:, None] * 0.1
        >>> y = np.full(12, np.nan)  # nothing labeled yet
        >>> sampler = IWKMeansSampler(LogisticRegression(), batch_size=2, random_state=0)
        >>> picks = sampler.query(X, y)  # the cold-start pick: one row per blob
        >>> sorted(picks.tolist()), sampler.cold_start_
        ([2, 8], True)
        >>> y[picks] = X[picks, 0] > 5  # the oracle's labels: 0 and 1
        >>> picks = sampler.query(X, y, batch_size=3)  # with a model; no labeled row
        >>> sorted(picks.tolist()), sampler.cold_start_
        ([3, 5, 10], False)
        """
        X = check_data(X, name="X", accept_sparse=True)
        labeled, y_labeled, pool = split_query(y, X.shape[0], missing_label, candidates)
        if batch_size is None:
            batch_size = self.batch_size
        check_int(batch_size, "batch_size", min_val=1)
        if batch_size > pool.size:
            # scikit-activeml's choice too: a short last batch, not an error.
            warnings.warn(
                f"batch_size={batch_size}, but only {pool.size} unlabeled row(s) can "
                "be picked: query returns all of them.",
                UserWarning,
                stacklevel=2,
            )
            batch_size = pool.size
        self.fit(X[labeled], y_labeled)
        # X is validated: its pool rows need only the canonical CSR form.
        return pool[self._select(canonical_csr(X[pool], "X"), batch_size)]

    def _pool(self, X_pool):
        check_is_fitted(self, "cold_start_")
        X = check_data(X_pool, name="X_pool", accept_sparse=True)
        if self.X_labeled_ is not None and X.shape[1] != self.X_labeled_.shape[1]:
            raise ValueError(
                f"X_pool has {X.shape[1]} features but the labeled set has "
                f"{self.X_labeled_.shape[1]}."
            )
        return X

    def _check_params(self):
        """The parameters a selection reads besides batch_size (checked in
        the cold-start pick too)."""
        check_n_threads(getattr(self, "n_threads", None))

    def _select(self, X, batch_size):
        """``batch_size`` distinct rows of the validated pool X: the
        sampler's own pick, or the representative pick for a sampler that
        needs a model and has none (see :meth:`fit`)."""
        self._check_params()
        if self.needs_proba and self.cold_start_:
            return representative_picks(
                X,
                batch_size,
                self._fixed_centers(X),
                self.random_state,
                getattr(self, "n_threads", None),
                **self._clustering(X),
            )
        return self._pick(X, batch_size)

    def _clustering(self, X):
        """The options of the K-Means of the selection on the validated pool
        X (see :func:`~iwkmeans.active._selection.cluster`): WKMeans and
        IWKMeans have some; the others use the defaults."""
        return {}

    def _fixed_centers(self, X):
        """The labeled samples as dense centers in X's dtype if the sampler
        uses them (IWKMeans), else no center."""
        if not self.uses_labeled:
            return np.empty((0, X.shape[1]), dtype=X.dtype)
        return check_fixed_centers(self.X_labeled_, X.shape[1], X.dtype, name="X_labeled")


class RandomSampler(_Sampler):
    """``batch_size`` pool samples drawn uniformly without replacement.

    Label-free: :meth:`fit` needs no labels, and the classifier (fitted so
    the sampler fits any loop, once two classes are labeled) may be None.

    Parameters
    ----------
    classifier : classifier or None
        A scikit-learn classifier; :meth:`fit` fits a clone of it on the
        labeled set once two classes are labeled. Not used by the selection.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Source of the draw.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        ``classifier`` is None or fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled (then no classifier is
        fitted). The selection does not depend on it.
    """

    def select_samples(self, X_pool):
        """Draw ``batch_size`` pool samples uniformly without replacement.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in increasing order.
        """
        return super().select_samples(X_pool)

    def _pick(self, X, batch_size):
        rng = check_random_state(self.random_state)
        return np.sort(rng.choice(X.shape[0], size=batch_size, replace=False))


class _UncertaintySampler(_Sampler):
    """The ``batch_size`` pool samples of highest uncertainty score."""

    needs_proba = True

    def score_samples(self, X_pool):
        """Uncertainty of each pool sample, in [0, 1] (higher: more uncertain).

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        scores : ndarray of shape (n_pool,)
            The sampler's ``score`` of the fitted classifier's
            ``predict_proba`` on the pool.

        Raises
        ------
        ValueError
            In a cold start (fewer than two classes labeled): there is no
            model to score with.
        """
        X = self._pool(X_pool)
        if self.cold_start_:
            raise ValueError(
                f"{type(self).__name__} has no model to score with: fewer than two "
                "classes are labeled (a cold start; select_samples makes the "
                "representative pick instead)."
            )
        return self._scores(X)

    def _scores(self, X):
        return type(self).score(self.classifier_.predict_proba(X))

    def select_samples(self, X_pool):
        """The ``batch_size`` pool samples of highest score (ties: lowest index).

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in increasing order (in a
            cold start, one per cluster of the representative pick).
        """
        return super().select_samples(X_pool)

    def _pick(self, X, batch_size):
        return top_scores(self._scores(X), batch_size)


class ConfidenceSampler(_UncertaintySampler):
    """Least-confidence sampling: highest ``1 - max_c p_c``.

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the scores.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation of the cold-start pick; the
        selection with a model is deterministic.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.
    """

    score = staticmethod(confidence_score)


class MarginSampler(_UncertaintySampler):
    """Smallest-margin sampling: highest ``1 - (p_(1) - p_(2))``.

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the scores.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation of the cold-start pick; the
        selection with a model is deterministic.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.
    """

    score = staticmethod(margin_score)


class EntropySampler(_UncertaintySampler):
    """Maximum-entropy sampling: highest normalised entropy.

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the scores.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation of the cold-start pick; the
        selection with a model is deterministic.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.
    """

    score = staticmethod(entropy_score)


class KCenterGreedySampler(_Sampler):
    """Core-set sampling: greedy k-center from the labeled set
    (:func:`iwkmeans.select_kcenter_greedy`).

    Label-free: :meth:`fit` needs no labels and the classifier may be None.
    With no labeled sample the first pick is the sample farthest from the
    pool's mean.

    Parameters
    ----------
    classifier : classifier or None
        A scikit-learn classifier; :meth:`fit` fits a clone of it on the
        labeled set once two classes are labeled. Not used by the selection.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Not used: the selection is deterministic.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        ``classifier`` is None or fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled (then no classifier is
        fitted). The selection does not depend on it.
    """

    def __init__(self, classifier, batch_size, *, random_state=None, n_threads=None):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.n_threads = n_threads

    def select_samples(self, X_pool):
        """Greedy k-center picks from the labeled set.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in the order picked.
        """
        return super().select_samples(X_pool)

    def _pick(self, X, batch_size):
        return select_kcenter_greedy(
            X, batch_size, X_labeled=self.X_labeled_, n_threads=self.n_threads
        )


class KMeansSampler(_Sampler):
    """Unweighted K-Means on the whole pool with ``batch_size`` clusters; the
    sample nearest each centroid. No preselection, no labeled centroids.

    Label-free: :meth:`fit` needs no labels and the classifier may be None.
    Its selection is the representative pick that the samplers needing a
    model make in a cold start.

    Parameters
    ----------
    classifier : classifier or None
        A scikit-learn classifier; :meth:`fit` fits a clone of it on the
        labeled set once two classes are labeled. Not used by the selection.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        ``classifier`` is None or fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled (then no classifier is
        fitted). The selection does not depend on it.
    """

    def __init__(self, classifier, batch_size, *, random_state=None, n_threads=None):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.n_threads = n_threads

    def select_samples(self, X_pool):
        """The pool sample nearest to each centroid of an unweighted K-Means.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, one per cluster.
        """
        return super().select_samples(X_pool)

    def _pick(self, X, batch_size):
        return representative_picks(
            X, batch_size, self._fixed_centers(X), self.random_state, self.n_threads
        )


class WKMeansSampler(_UncertaintySampler):
    """WKMeans (Zhdanov 2019): margin scores, the ``beta * batch_size`` most
    uncertain samples clustered with the scores as weights, one sample per
    cluster (:func:`iwkmeans.select_wkmeans`).

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the scores.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    beta : float, default=10
        Preselection factor, >= 1: the ``ceil(beta * batch_size)``
        samples of highest margin score are preselected.
    algorithm : {"lloyd", "minibatch"}, default="lloyd"
        The weighted K-Means: Lloyd's loop (the method as described by
        Zhdanov 2019) or mini-batch K-Means
        (:class:`~iwkmeans.IncrementalMiniBatchKMeans`, dense pools only)
        for large preselections; the published IWKMeans runs used a
        mini-batch K-Means. Also the clustering of the cold-start pick.
    minibatch_size : int, default=1024
        Samples per mini-batch with ``algorithm="minibatch"``; ignored
        otherwise.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation (with a model and in the
        cold-start pick), and of the mini-batches.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.
    """

    score = staticmethod(margin_score)
    weighted = True

    def __init__(
        self,
        classifier,
        batch_size,
        *,
        beta=10,
        algorithm="lloyd",
        minibatch_size=1024,
        random_state=None,
        n_threads=None,
    ):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.beta = beta
        self.algorithm = algorithm
        self.minibatch_size = minibatch_size
        self.n_threads = n_threads

    def select_samples(self, X_pool):
        """The preselected sample nearest to each free centroid of the K-Means.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, one per free cluster.
        """
        return super().select_samples(X_pool)

    def _check_params(self):
        super()._check_params()
        check_beta(self.beta)
        check_clustering(self.algorithm, self.minibatch_size, getattr(self, "reset_every", None))

    def _clustering(self, X):
        return check_clustering(
            self.algorithm, self.minibatch_size, getattr(self, "reset_every", None), X
        )

    def _pick(self, X, batch_size):
        return wkmeans_picks(
            X,
            self._scores(X),
            batch_size,
            self.beta,
            self._fixed_centers(X),
            self.random_state,
            self.n_threads,
            weighted=self.weighted,
            **self._clustering(X),
        )


class IWKMeansSampler(WKMeansSampler):
    """IWKMeans: WKMeans with every labeled sample as a fixed centroid, which
    repels new picks from what is already known and from dense "honey pots"
    of uncertain samples next to it.

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the scores.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    beta : float, default=10
        Preselection factor, >= 1: the ``ceil(beta * batch_size)``
        samples of highest margin score are preselected.
    fixed : {"all", "correct"}, default="all"
        Which labeled samples are fixed centroids. "all": every one
        (IWKMeans). "correct": only those the fitted classifier predicts
        correctly (``classifier_.predict(X_labeled_) == y_labeled_``); a
        misclassified labeled sample repels nothing, so the picks may
        return to its region. In a cold start (no model) every labeled
        sample is fixed.
    reset_every : int, default=None
        None: the fixed centroids never move (IWKMeans). An int >= 1: they
        move with Lloyd's iterations like the free centroids of Zhdanov's
        (2019) K-Means (those that hold a preselected sample), but are put
        back on their labeled positions every ``reset_every`` iterations
        (sooner once the iterations have converged) and at the end; the
        rounds stop when one more round no longer moves the free centroids,
        or after 300 iterations (:func:`~iwkmeans.select_wkmeans`). 1 gives
        the picks of None (up to rounding). Needs ``algorithm="lloyd"``.
    algorithm : {"lloyd", "minibatch"}, default="lloyd"
        The weighted K-Means: Lloyd's loop (the method as described by
        Zhdanov 2019) or mini-batch K-Means
        (:class:`~iwkmeans.IncrementalMiniBatchKMeans`, dense pools only)
        for large preselections; the published IWKMeans runs used a
        mini-batch K-Means. Also the clustering of the cold-start pick.
    minibatch_size : int, default=1024
        Samples per mini-batch with ``algorithm="minibatch"``; ignored
        otherwise.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation (with a model and in the
        cold-start pick), and of the mini-batches.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    y_labeled_ : ndarray of shape (n_labeled,) or None
        Their labels, validated; None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start with the labeled
    samples, if any, as fixed centroids: IWKMeans with every sample equally
    uncertain and none preselected away. The picks then still avoid the
    regions already labeled. ``reset_every`` and ``algorithm`` apply to
    that clustering too.

    The options are variants of IWKMeans compared on Noisy-LD in
    ``examples/RESULTS.md``; the defaults are the method as published.
    """

    uses_labeled = True
    keeps_labels = True

    def __init__(
        self,
        classifier,
        batch_size,
        *,
        beta=10,
        fixed="all",
        reset_every=None,
        algorithm="lloyd",
        minibatch_size=1024,
        random_state=None,
        n_threads=None,
    ):
        super().__init__(
            classifier,
            batch_size,
            beta=beta,
            algorithm=algorithm,
            minibatch_size=minibatch_size,
            random_state=random_state,
            n_threads=n_threads,
        )
        self.fixed = fixed
        self.reset_every = reset_every

    def _check_params(self):
        super()._check_params()
        check_fixed(self.fixed)

    def _fixed_centers(self, X):
        """The labeled samples that are fixed centroids: all of them, or
        with ``fixed="correct"`` and a model, those it predicts correctly."""
        centers = super()._fixed_centers(X)
        if self.fixed == "correct" and not self.cold_start_ and centers.shape[0]:
            correct = self.classifier_.predict(self.X_labeled_) == self.y_labeled_
            centers = centers[correct]
        return centers


class ClusteredSampler(WKMeansSampler):
    """Zhdanov's Clustered(beta): WKMeans without the weights. The margin
    scores choose the ``beta * batch_size`` preselected samples; the K-Means
    on them is unweighted (``select_wkmeans(..., weighted=False)``).

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the scores.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    beta : float, default=10
        Preselection factor, >= 1: the ``ceil(beta * batch_size)``
        samples of highest margin score are preselected.
    algorithm : {"lloyd", "minibatch"}, default="lloyd"
        The weighted K-Means: Lloyd's loop (the method as described by
        Zhdanov 2019) or mini-batch K-Means
        (:class:`~iwkmeans.IncrementalMiniBatchKMeans`, dense pools only)
        for large preselections; the published IWKMeans runs used a
        mini-batch K-Means. Also the clustering of the cold-start pick.
    minibatch_size : int, default=1024
        Samples per mini-batch with ``algorithm="minibatch"``; ignored
        otherwise.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation (with a model and in the
        cold-start pick), and of the mini-batches.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.
    """

    weighted = False


class SubmodularSampler(_UncertaintySampler):
    """Zhdanov's Submodular(beta): the margin scores choose the ``beta *
    batch_size`` preselected samples, and a lazy greedy facility-location
    maximisation picks the batch among them
    (:func:`iwkmeans.select_submodular`). Deterministic once a model is
    fitted.

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the scores.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    beta : float, default=10
        Preselection factor, >= 1: the ``ceil(beta * batch_size)``
        samples of highest margin score are preselected.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation of the cold-start pick; the
        selection with a model is deterministic.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.
    """

    score = staticmethod(margin_score)

    def __init__(self, classifier, batch_size, *, beta=10, random_state=None):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.beta = beta

    def select_samples(self, X_pool):
        """Facility-location greedy picks among the preselected samples.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in the order picked.
        """
        return super().select_samples(X_pool)

    def _check_params(self):
        super()._check_params()
        check_beta(self.beta)

    def _pick(self, X, batch_size):
        return submodular_picks(X, self._scores(X), batch_size, self.beta)


class BadgeSampler(_Sampler):
    """BADGE (Ash et al. 2019) for a scikit-learn classifier with
    ``predict_proba``: plain k-means++ seeding on the gradient embeddings
    ``g(x) = (p(x) - onehot(argmax p(x))) ⊗ [x, 1]``.

    g(x) is the gradient of the cross-entropy loss, at the predicted label,
    with respect to the weights and intercept of a multinomial linear model
    on x (e.g. :class:`~sklearn.linear_model.LogisticRegression`): for such
    a model the embedding is exact. For any other classifier it is an
    approximation that treats x as the input of a softmax last layer: an
    uncertainty-scaled copy of the features, with no claim to be the model's
    gradient. For a network, compute the embeddings from its penultimate
    layer and call :func:`iwkmeans.select_badge`.

    The embeddings (n_pool x n_classes * (n_features + 1)) are never formed:
    the k-means++ distances come from the probabilities and the features by
    the Kronecker identity (see :mod:`iwkmeans.active._badge`), with memory
    O(n_pool x (n_classes + n_features)).

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the embeddings.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Source of the k-means++ draws (with a model and in the cold-start
        pick).

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.
    """

    needs_proba = True

    def select_samples(self, X_pool):
        """Plain k-means++ picks on the pool's gradient embeddings.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in the order picked.
        """
        return super().select_samples(X_pool)

    def _pick(self, X, batch_size):
        embedding = LinearGradientEmbedding(self.classifier_.predict_proba(X), X)
        return implicit_kmeans_plusplus(
            embedding, batch_size, check_random_state(self.random_state)
        )


class CommitteeSampler(_UncertaintySampler):
    """Query by committee: the ``batch_size`` pool samples on which a
    committee of classifiers disagrees most.

    The committee is the members of ``classifier`` if it is an ensemble
    (a bagging ensemble, a random forest, a voting classifier: the fitted
    ``estimators_``, each on the features it was trained on), else
    ``n_members`` clones of ``classifier`` fitted on stratified bootstrap
    samples of the labeled set (query by bagging). The disagreement is
    :func:`iwkmeans.kl_divergence_score` (``measure="kl_divergence"``) or
    :func:`iwkmeans.vote_entropy_score` (``measure="vote_entropy"``) of the
    members' probabilities, aligned on the classes of ``classifier_``.

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``. :meth:`fit` fits
        a clone of it on the labeled set (``classifier_``). If that is an
        ensemble whose ``estimators_`` are (at least two) classifiers with
        ``predict_proba`` (:class:`~sklearn.ensemble.BaggingClassifier`,
        :class:`~sklearn.ensemble.RandomForestClassifier`,
        :class:`~sklearn.ensemble.VotingClassifier` with
        ``voting="soft"``, ...), they are the committee, every member with
        an equal say; otherwise :meth:`fit` fits ``n_members`` more clones,
        one per bootstrap sample.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    n_members : int, default=5
        Size of the committee built from a classifier that is not an
        ensemble, at least 2; not used for an ensemble.
    measure : {"kl_divergence", "vote_entropy"}, default="kl_divergence"
        The disagreement: the members' mean KL divergence to their
        consensus (McCallum & Nigam 1998), which reads their confidences
        and so ties rarely, or the entropy of their votes (Dagan & Engelson
        1995), which takes few values (ties go to the lowest index). For
        one-hot members the two are equal.
    random_state : int, RandomState instance or None, default=None
        Source of the bootstrap samples and of the members' own
        ``random_state`` seeds, and seed of the k-means++ initialisation of
        the cold-start pick.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the whole labeled set; not set
        when fewer than two classes are labeled.
    committee_ : list of classifiers
        The committee: ``classifier_.estimators_`` for an ensemble, else
        the ``n_members`` clones fitted on stratified bootstrap samples
        (from each class, as many rows drawn with replacement as it has, so
        that every member knows every class; each member's
        ``random_state`` parameters get seeds drawn from ``random_state``).
        Not set when fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    See Also
    --------
    iwkmeans.committee_proba : The members' probabilities of any committee.
    iwkmeans.select_wkmeans : WKMeans / IWKMeans with the committee's
        scores (:meth:`score_samples`) as weights.

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.

    For WKMeans or IWKMeans with committee scores as the weights, give the
    scores to :func:`iwkmeans.select_wkmeans`:
    ``select_wkmeans(X_pool, sampler.fit(X_labeled, y_labeled).score_samples(X_pool),
    batch_size, X_labeled=X_labeled)``.

    References
    ----------
    .. [1] H. S. Seung, M. Opper and H. Sompolinsky, "Query by committee",
       COLT 1992.
    .. [2] N. Abe and H. Mamitsuka, "Query learning strategies using
       boosting and bagging", ICML 1998.
    .. [3] B. Settles, "Active learning literature survey", Computer
       Sciences Technical Report 1648, University of Wisconsin-Madison, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from iwkmeans import CommitteeSampler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = np.full(200, np.nan)
    >>> y[:20] = X[:20, 0] > 0  # 20 labeled rows, two classes
    >>> forest = RandomForestClassifier(n_estimators=10, random_state=0)
    >>> sampler = CommitteeSampler(forest, batch_size=5, random_state=0)
    >>> picks = sampler.query(X, y)  # the trees disagree most there
    >>> len(picks), bool(np.all(picks >= 20)), len(sampler.committee_)
    (5, True, 10)
    """

    trains_own_models = True

    _measures = {"kl_divergence": kl_divergence_score, "vote_entropy": vote_entropy_score}

    def __init__(
        self,
        classifier,
        batch_size,
        *,
        n_members=5,
        measure="kl_divergence",
        random_state=None,
    ):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.n_members = n_members
        self.measure = measure

    def _check_params(self):
        super()._check_params()
        check_int(self.n_members, "n_members", min_val=2)
        if not isinstance(self.measure, str) or self.measure not in self._measures:
            raise ValueError(
                f"measure must be one of {sorted(self._measures)}; got {self.measure!r}."
            )

    def fit(self, X_labeled=None, y_labeled=None):
        """Fit a clone of the classifier and the committee on the labeled set.

        Parameters
        ----------
        X_labeled : {array-like, sparse matrix} of shape (n_labeled, n_features), default=None
            The labeled samples, dense or CSR. None, or an array of no rows,
            for none (a cold start).
        y_labeled : array-like of shape (n_labeled,), default=None
            Their labels (not NaN, not None), needed whenever
            ``X_labeled`` has rows.

        Returns
        -------
        self : object
            Fitted sampler.

        Notes
        -----
        Once two classes are labeled, ``classifier_`` is a clone of the
        classifier fitted on the labeled set and ``committee_`` its
        members if it is an ensemble, else ``n_members`` clones fitted on
        stratified bootstrap samples of the labeled set.

        Cold start. While fewer than two classes are labeled,
        ``cold_start_`` is True and neither ``classifier_`` nor
        ``committee_`` is set; the selection is the representative pick:
        K-Means on the pool with ``batch_size`` clusters (unit weights,
        k-means++ seeding, the package's Lloyd iterations) and, for each
        cluster, the pool sample nearest its center, deterministic for a
        given ``random_state``.
        """
        self._check_params()
        if not hasattr(self.classifier, "predict_proba"):
            raise TypeError(
                f"{type(self).__name__} needs a classifier with predict_proba; "
                f"{type(self.classifier).__name__} has none."
            )
        X, y, n_classes = check_labeled_set(
            X_labeled, y_labeled, sampler=type(self).__name__, needs_labels=True
        )
        self.X_labeled_ = X
        if self.keeps_labels:
            self.y_labeled_ = y
        self.cold_start_ = n_classes < 2
        # A refit on fewer classes must not leave the previous committee behind.
        vars(self).pop("classifier_", None)
        vars(self).pop("committee_", None)
        if self.cold_start_:
            return self
        self.classifier_ = clone(self.classifier).fit(X, y)
        if not hasattr(self.classifier_, "classes_"):
            raise TypeError(
                f"{type(self).__name__} aligns its members' probabilities by their "
                f"classes_; the fitted {type(self.classifier).__name__} has none."
            )
        if self.classifier_ is self.classifier:
            raise TypeError(
                f"{type(self).__name__} needs independent members, but cloning "
                f"{type(self.classifier).__name__} returns the same object."
            )
        if is_committee_ensemble(self.classifier_):
            self.committee_ = list(self.classifier_.estimators_)
        else:
            self.committee_ = bootstrap_committee(
                self.classifier, X, y, self.n_members, self.random_state
            )
        return self

    def score_samples(self, X_pool):
        """Disagreement of the committee on each pool sample, in [0, 1].

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        scores : ndarray of shape (n_pool,)
            The ``measure`` of the members' probabilities on the pool
            (higher: more disagreement), float64; usable as the scores of
            :func:`iwkmeans.select_wkmeans`.

        Raises
        ------
        ValueError
            In a cold start (fewer than two classes labeled): there is no
            committee to score with.
        """
        return super().score_samples(X_pool)

    def select_samples(self, X_pool):
        """The ``batch_size`` pool samples of most disagreement (ties: lowest index).

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in increasing order (in a
            cold start, one per cluster of the representative pick).
        """
        return super().select_samples(X_pool)

    def _scores(self, X):
        source = self.classifier_ if is_committee_ensemble(self.classifier_) else self.committee_
        members, classes = committee_members(source, self.classifier_.classes_)
        return self._measures[self.measure](member_probas(members, X, classes.size))


class TypiClustSampler(_Sampler):
    """TypiClust (Hacohen et al. 2022) with the labeled samples as fixed
    centroids: the most typical sample of each cluster that holds no label.

    The paper clusters labeled and unlabeled samples into ``|L| + B``
    clusters (K-Means; ``B`` = ``batch_size``) and takes the most typical
    sample of each of the ``B`` largest clusters without a labeled sample.
    Here the pool is clustered by the package's K-Means with the ``|L|``
    labeled samples as fixed centroids and ``B`` free centroids (unit
    weights, k-means++ seeding): each labeled sample holds a cluster of its
    own, so the free clusters are the clusters without labels, and the
    clustering never moves what is known. The typicality of a sample is

        typicality(x) = 1 / (mean Euclidean distance from x to its K nearest
        neighbours among the other members of its cluster),

    with ``K = min(n_neighbors, cluster size - 1)`` (K = 20 in the paper);
    it is highest in the densest part of a cluster.

    The batch: each cluster counts its labeled samples (1 for a labeled
    sample's cluster, 0 for a free one) plus the samples picked from it so
    far; each pick goes to the cluster of lowest count, the one with the
    most pool members first, and is its most typical member not yet picked.
    So when every free cluster has at least ``min_cluster_size`` members,
    the batch is the most typical member of each free cluster, largest
    first. A free cluster left empty by K-Means, or smaller than
    ``min_cluster_size`` (an outlier's cluster; the paper's implementation
    discards its smallest clusters too), gives its turn to the largest
    clusters of the next count: a second sample from a free cluster, or a
    sample from a labeled sample's cluster.

    Label-free: it uses the labeled samples' features, not their labels,
    and no model. :meth:`fit` needs no labels, the classifier may be None,
    and it selects the same way with or without a model, in a cold start
    too (no labeled sample: ``B`` free clusters).

    Parameters
    ----------
    classifier : classifier or None
        A scikit-learn classifier; :meth:`fit` fits a clone of it on the
        labeled set once two classes are labeled. Not used by the selection.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    n_neighbors : int, default=20
        K of the typicality, >= 1 (the paper's 20); a cluster of m members
        uses ``min(n_neighbors, m - 1)``.
    min_cluster_size : int, default=5
        Clusters of fewer pool members are used only once the larger ones
        have no member left to give, >= 1 (1: every cluster is used).
    max_cluster_samples : int, default=1000
        Cap on the cost of the typicality, >= 2: a cluster of more members
        ranks a uniform draw of this many of them (scikit-learn's
        :class:`~sklearn.neighbors.NearestNeighbors` on the draw: at most
        ``max_cluster_samples**2`` distances per cluster), and the next draw
        only if all of those are picked. The pick is then the most typical
        member of the draw; the draw is deterministic for a given
        ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation and of the draws of large
        clusters.
    n_threads : int, default=None
        OpenMP threads of the K-Means; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        ``classifier`` is None or fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled (then no classifier is
        fitted). The selection does not depend on it.

    See Also
    --------
    IWKMeansSampler : Labeled samples as fixed centroids of a K-Means
        weighted by uncertainty.

    Notes
    -----
    Cost: Lloyd iterations of O(n_pool x (n_labeled + batch_size) x
    n_features) each, then one kNN search per cluster used, on at most
    ``max_cluster_samples`` members. Only pool members enter the
    typicality (the labeled sample of a cluster does not).

    References
    ----------
    .. [1] G. Hacohen, A. Dekel and D. Weinshall, "Active learning on a
       budget: opposite strategies suit high and low budgets", ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from iwkmeans import TypiClustSampler
    >>> rng = np.random.default_rng(0)
    >>> X_pool = np.r_[rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 10]
    >>> X_labeled = np.array([[0.0, 0.0]])  # the first blob is covered
    >>> sampler = TypiClustSampler(None, batch_size=1, random_state=0)
    >>> picks = sampler.fit(X_labeled).select_samples(X_pool)
    >>> bool(picks[0] >= 50)  # the typical sample of the uncovered blob
    True
    """

    uses_labeled = True

    def __init__(
        self,
        classifier,
        batch_size,
        *,
        n_neighbors=20,
        min_cluster_size=5,
        max_cluster_samples=1000,
        random_state=None,
        n_threads=None,
    ):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.n_neighbors = n_neighbors
        self.min_cluster_size = min_cluster_size
        self.max_cluster_samples = max_cluster_samples
        self.n_threads = n_threads

    def select_samples(self, X_pool):
        """The most typical sample of each cluster without a labeled sample.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in the order picked
            (largest free cluster first).
        """
        return super().select_samples(X_pool)

    def _check_params(self):
        super()._check_params()
        check_int(self.n_neighbors, "n_neighbors", min_val=1)
        check_int(self.min_cluster_size, "min_cluster_size", min_val=1)
        check_int(self.max_cluster_samples, "max_cluster_samples", min_val=2)

    def _pick(self, X, batch_size):
        return typiclust_picks(
            X,
            batch_size,
            self._fixed_centers(X),
            self.n_neighbors,
            self.min_cluster_size,
            self.max_cluster_samples,
            self.random_state,
            self.n_threads,
        )


class ClusterMarginSampler(_UncertaintySampler):
    """Cluster-Margin (Citovsky et al. 2021) with hierarchical K-Means in
    place of agglomerative clustering.

    1. The pool is clustered by :class:`~iwkmeans.HierarchicalKMeans`
       (levels of K-Means, each with the earlier levels' centers fixed;
       unit weights) with ``n_clusters`` clusters, where the paper runs
       hierarchical agglomerative clustering with average linkage, whose
       O(n_pool^2) distances rule out large pools. A sample's cluster is its
       nearest center of all levels.
    2. The ``k_m = ceil(margin_factor * batch_size)`` samples of smallest
       margin ``p_(1) - p_(2)`` (the difference of the two largest
       predicted probabilities; ties to the lowest index) are the
       candidates.
    3. The candidates are grouped by cluster and the groups sorted by their
       number of candidates, smallest first (ties: the lowest cluster
       index). Round-robin: each group in that order gives one candidate,
       drawn uniformly at random, then each group with candidates left
       gives a second, and so on until ``batch_size`` picks. No cluster
       gives two samples before every group has given one, and rare
       regions of uncertainty come first.

    Parameters
    ----------
    classifier : classifier
        A scikit-learn classifier with ``predict_proba``; :meth:`fit` fits a
        clone of it on the labeled set, whose probabilities on the pool give
        the margins.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    margin_factor : float, default=10
        ``k_m / batch_size``, >= 1: the ``ceil(margin_factor * batch_size)``
        samples of smallest margin are the candidates. The paper leaves
        ``k_m >= k_t`` (``k_t`` = ``batch_size``) a parameter; 10 is the
        default ``beta`` of :class:`WKMeansSampler`, whose preselection is
        the same set of samples, so the two choose from the same
        candidates.
    n_clusters : int, sequence of int or None, default=None
        The clusters of the pool: an int for one level of K-Means, a
        sequence for the new clusters of each level of
        :class:`~iwkmeans.HierarchicalKMeans` (coarse first); levels beyond
        the pool's size in total are cut. None: one level of
        ``min(n_pool, 10 * batch_size)`` clusters, about one cluster per
        candidate, so that the candidates fall in more clusters than the
        batch needs where the uncertainty is spread out.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation (with a model and in the
        cold-start pick) and of the draws within a cluster.
    n_threads : int, default=None
        OpenMP threads of the K-Means; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features) or None
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR); None if it was given none.
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set; not set when
        fewer than two classes are labeled.
    cold_start_ : bool
        Whether fewer than two classes are labeled: then no classifier is
        fitted and the selection is the representative pick (see
        :meth:`fit`).

    See Also
    --------
    iwkmeans.HierarchicalKMeans : The clustering.
    MarginSampler : The candidates alone, without the clusters.

    Notes
    -----
    While fewer than two classes are labeled (no model), it makes the
    representative pick of :meth:`fit`'s cold start.

    The paper clusters the pool once, before the first round; a sampler
    only sees the pool it is given, so this one clusters every pool it
    selects from (the same pool and ``random_state`` give the same
    clusters). Cost per call: Lloyd iterations of O(n_pool x n_clusters x
    n_features) each and O(n_pool) memory besides the pool, against the
    O(n_pool^2) distances of agglomerative clustering; a pool of a million
    rows is in reach, and ``n_clusters`` sets the price.

    References
    ----------
    .. [1] G. Citovsky, G. DeSalvo, C. Gentile, L. Karydas, A. Rajagopalan,
       A. Rostamizadeh and S. Kumar, "Batch active learning at scale",
       NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from iwkmeans import ClusterMarginSampler, MarginSampler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = np.full(300, np.nan)
    >>> y[:20] = X[:20, 0] > 0  # 20 labeled rows, two classes
    >>> sampler = ClusterMarginSampler(LogisticRegression(), batch_size=5, random_state=0)
    >>> picks = sampler.query(X, y)  # 5 clusters of the 50 smallest margins
    >>> smallest = MarginSampler(LogisticRegression(), batch_size=50).query(X, y)
    >>> len(picks), bool(np.all(picks >= 20)), set(picks.tolist()) <= set(smallest.tolist())
    (5, True, True)
    """

    score = staticmethod(margin_score)

    def __init__(
        self,
        classifier,
        batch_size,
        *,
        margin_factor=10,
        n_clusters=None,
        random_state=None,
        n_threads=None,
    ):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.margin_factor = margin_factor
        self.n_clusters = n_clusters
        self.n_threads = n_threads

    def select_samples(self, X_pool):
        """Round-robin picks over the clusters of the smallest-margin samples.

        Parameters
        ----------
        X_pool : {array-like, sparse matrix} of shape (n_pool, n_features)
            Unlabeled samples, dense or CSR, with as many features as the
            labeled set.

        Returns
        -------
        indices : ndarray of shape (batch_size,)
            Distinct row indices into ``X_pool``, in the order picked (in a
            cold start, one per cluster of the representative pick).
        """
        return super().select_samples(X_pool)

    def _check_params(self):
        super()._check_params()
        check_real(self.margin_factor, "margin_factor", min_val=1)
        self._levels()

    def _levels(self, n_pool=None, batch_size=None):
        """The new clusters of each level, cut to ``n_pool`` in total."""
        if self.n_clusters is None:
            if n_pool is None:
                return ()
            return (min(n_pool, 10 * batch_size),)
        if isinstance(self.n_clusters, Integral) or not np.iterable(self.n_clusters):
            levels = (self.n_clusters,)  # check_int names what else it is
        else:
            levels = tuple(self.n_clusters)
            if not levels:
                raise ValueError("n_clusters must name at least one level; got ().")
        for n_new in levels:
            check_int(n_new, "n_clusters", min_val=1)
        if n_pool is None:
            return levels
        cut, room = [], n_pool
        for n_new in levels:
            if room == 0:
                break
            cut.append(min(n_new, room))
            room -= cut[-1]
        return tuple(cut)

    def _pick(self, X, batch_size):
        scores = self._scores(X)
        levels = self._levels(X.shape[0], batch_size)
        labels = hierarchical_labels(X, levels, self.random_state, self.n_threads)
        n_candidates = math.ceil(self.margin_factor * batch_size)
        return round_robin_picks(labels, scores, batch_size, n_candidates, self.random_state)
