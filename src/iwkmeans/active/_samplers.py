"""Active-learning query samplers with one interface.

``sampler.fit(X_labeled, y_labeled)`` fits a clone of the classifier and
remembers the labeled set; ``sampler.select_samples(X_pool)`` returns
``batch_size`` distinct row indices into ``X_pool``; the uncertainty-based
samplers also have ``score_samples(X_pool)``. A sampler never clusters by
itself: it calls the selection functions of :mod:`iwkmeans.active._selection`.
"""

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_batch_size, check_beta, check_data, check_fixed_centers
from ._badge import LinearGradientEmbedding, implicit_kmeans_plusplus
from ._selection import (
    cluster_and_pick,
    select_kcenter_greedy,
    top_scores,
    wkmeans_picks,
)
from ._submodular import submodular_picks
from ._uncertainty import confidence_score, entropy_score, margin_score


class _Sampler(BaseEstimator):
    """Shared fit: fit a clone of the classifier (if any) on the labeled set."""

    needs_proba = False

    def __init__(self, classifier, batch_size, *, random_state=None):
        self.classifier = classifier
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X_labeled, y_labeled):
        """Fit a clone of the classifier on the labeled set and remember it.

        Parameters
        ----------
        X_labeled : {array-like, sparse matrix} of shape (n_labeled, n_features)
            The labeled samples, dense or CSR.
        y_labeled : array-like of shape (n_labeled,)
            Their labels.

        Returns
        -------
        self : object
            Fitted sampler.
        """
        if self.needs_proba and not hasattr(self.classifier, "predict_proba"):
            raise TypeError(
                f"{type(self).__name__} needs a classifier with predict_proba; "
                f"{type(self.classifier).__name__} has none."
            )
        self.X_labeled_ = check_data(X_labeled, name="X_labeled", accept_sparse=True)
        if self.classifier is not None:
            self.classifier_ = clone(self.classifier).fit(self.X_labeled_, y_labeled)
        return self

    def _pool(self, X_pool):
        check_is_fitted(self, "X_labeled_")
        if self.needs_proba:
            check_is_fitted(self, "classifier_")
        X = check_data(X_pool, name="X_pool", accept_sparse=True)
        if X.shape[1] != self.X_labeled_.shape[1]:
            raise ValueError(
                f"X_pool has {X.shape[1]} features but the labeled set has "
                f"{self.X_labeled_.shape[1]}."
            )
        check_batch_size(self.batch_size, X.shape[0])
        return X


class RandomSampler(_Sampler):
    """``batch_size`` pool samples drawn uniformly without replacement.

    The classifier is fitted (so the sampler fits any loop) but not used; it
    may be None.

    Parameters
    ----------
    classifier : classifier or None
        A scikit-learn classifier; :meth:`fit` fits a clone of it on the
        labeled set. Not used by the selection.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Source of the draw.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set (not set
        when ``classifier`` is None).
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
        X = self._pool(X_pool)
        rng = check_random_state(self.random_state)
        return np.sort(rng.choice(X.shape[0], size=self.batch_size, replace=False))


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
        """
        return self._scores(self._pool(X_pool))

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
            Distinct row indices into ``X_pool``, in increasing order.
        """
        return top_scores(self.score_samples(X_pool), self.batch_size)


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
        Not used: the selection is deterministic.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
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
        Not used: the selection is deterministic.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
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
        Not used: the selection is deterministic.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
    """

    score = staticmethod(entropy_score)


class KCenterGreedySampler(_Sampler):
    """Core-set sampling: greedy k-center from the labeled set
    (:func:`iwkmeans.select_kcenter_greedy`). The classifier may be None.

    Parameters
    ----------
    classifier : classifier or None
        A scikit-learn classifier; :meth:`fit` fits a clone of it on the
        labeled set. Not used by the selection.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Not used: the selection is deterministic.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set (not set
        when ``classifier`` is None).
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
        X = self._pool(X_pool)
        return select_kcenter_greedy(
            X, self.batch_size, X_labeled=self.X_labeled_, n_threads=self.n_threads
        )


class KMeansSampler(_Sampler):
    """Unweighted K-Means on the whole pool with ``batch_size`` clusters; the
    sample nearest each centroid. No preselection, no labeled centroids. The
    classifier may be None.

    Parameters
    ----------
    classifier : classifier or None
        A scikit-learn classifier; :meth:`fit` fits a clone of it on the
        labeled set. Not used by the selection.
    batch_size : int
        Number of samples :meth:`select_samples` returns, at most the pool's
        size.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set (not set
        when ``classifier`` is None).
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
        X = self._pool(X_pool)
        no_fixed = np.empty((0, X.shape[1]), dtype=X.dtype)
        return cluster_and_pick(
            X, None, self.batch_size, no_fixed, self.random_state, self.n_threads
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
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
    """

    score = staticmethod(margin_score)
    uses_labeled = False
    weighted = True

    def __init__(self, classifier, batch_size, *, beta=10, random_state=None, n_threads=None):
        super().__init__(classifier, batch_size, random_state=random_state)
        self.beta = beta
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
        X = self._pool(X_pool)
        check_beta(self.beta)
        if self.uses_labeled:
            # Dense centers in X's dtype (labeled rows of a sparse pool too).
            fixed = check_fixed_centers(self.X_labeled_, X.shape[1], X.dtype, name="X_labeled")
        else:
            fixed = np.empty((0, X.shape[1]), dtype=X.dtype)
        return wkmeans_picks(
            X,
            self._scores(X),
            self.batch_size,
            self.beta,
            fixed,
            self.random_state,
            self.n_threads,
            weighted=self.weighted,
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
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
    """

    uses_labeled = True


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
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means++ initialisation.
    n_threads : int, default=None
        OpenMP threads; the selection does not depend on it.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
    """

    weighted = False


class SubmodularSampler(_UncertaintySampler):
    """Zhdanov's Submodular(beta): the margin scores choose the ``beta *
    batch_size`` preselected samples, and a lazy greedy facility-location
    maximisation picks the batch among them
    (:func:`iwkmeans.select_submodular`). Deterministic: ``random_state`` is
    not used.

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
        Not used.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
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
        X = self._pool(X_pool)
        check_beta(self.beta)
        return submodular_picks(X, self._scores(X), self.batch_size, self.beta)


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
        Source of the k-means++ draws.

    Attributes
    ----------
    X_labeled_ : {ndarray, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples given to :meth:`fit`, validated (float32 or
        float64, dense or CSR).
    classifier_ : classifier
        The clone of ``classifier`` fitted on the labeled set.
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
        X = self._pool(X_pool)
        embedding = LinearGradientEmbedding(self.classifier_.predict_proba(X), X)
        return implicit_kmeans_plusplus(
            embedding, self.batch_size, check_random_state(self.random_state)
        )
