"""The samplers as small-text query strategies.

:class:`SmallTextQueryStrategy` wraps any sampler of :mod:`iwkmeans.active`
behind small-text's ``QueryStrategy`` interface, ``query(clf, dataset,
indices_unlabeled, indices_labeled, y, n=10)``, for a
``PoolBasedActiveLearner`` with small-text's scikit-learn integration
(``SklearnClassifierFactory``, ``SklearnDataset``): dense or sparse (e.g.
TF-IDF) features, single-label classification. It needs none of small-text's
deep-learning dependencies.

Requires the ``smalltext`` extra: ``pip install "iwkmeans[smalltext]"``.
"""

import warnings

import numpy as np
from scipy import sparse
from sklearn.base import clone

try:
    from small_text.base import LABEL_UNLABELED
    from small_text.data import SklearnDataset
    from small_text.query_strategies import QueryStrategy
except ImportError as error:  # the extra is installed where this module is tested
    raise ImportError(
        'iwkmeans.active.integrations.smalltext needs small-text: pip install "iwkmeans[smalltext]"'
    ) from error

__all__ = ["SmallTextQueryStrategy"]


class _TrainedModel:
    """small-text's trained classifier in the place of the sampler's.

    The active learner trains ``clf`` on the labeled set after every update;
    the sampler's fit on the labeled rows (once two classes are labeled)
    keeps that model instead of training another, and its ``predict_proba``
    on sample rows is small-text's on a dataset of those rows.
    """

    def __init__(self, clf, target_labels):
        self.clf = clf
        self.target_labels = target_labels

    def __sklearn_clone__(self):
        return self

    def fit(self, X_labeled, y_labeled):
        if self.clf is None:
            raise ValueError(
                "The sampler selects with a model, but the active learner has no trained "
                "classifier (clf is None): initialize it with labeled data (retrain=True) "
                "before querying."
            )
        return self

    def predict_proba(self, X):
        with warnings.catch_warnings():
            # small-text 1.x warns that its dataset's own label check is
            # deprecated, at every dataset it builds: nothing about this call.
            warnings.simplefilter("ignore", DeprecationWarning)
            rows = SklearnDataset(
                X, np.full(X.shape[0], LABEL_UNLABELED), target_labels=self.target_labels
            )
        return np.asarray(self.clf.predict_proba(rows))


class SmallTextQueryStrategy(QueryStrategy):
    """Wrap an iwkmeans sampler as a small-text query strategy.

    ``query`` hands the selection to the sampler's own ``query`` on the
    dataset's features, with the active learner's trained classifier as the
    sampler's model: the picks are those of the sampler on the same
    features, labels and ``random_state``, given that model.

    Parameters
    ----------
    sampler : sampler of :mod:`iwkmeans.active`
        The selection, e.g. ``IWKMeansSampler(None, batch_size=10,
        random_state=0)``. It is cloned at each query; its ``classifier``
        is replaced by the active learner's and its ``batch_size`` by
        ``query``'s ``n``, so both may be anything (None, 1) here.

    Attributes
    ----------
    sampler_ : sampler
        The clone of ``sampler`` that made the last query, fitted:
        ``sampler_.cold_start_`` says whether it had a model. Not set
        before the first query.

    See Also
    --------
    iwkmeans.active.integrations.skactiveml.SkactivemlQueryStrategy : The
        same for scikit-activeml.

    Notes
    -----
    The model is the classifier the active learner trained (by its factory,
    with its fit arguments), not one the sampler trains: the probabilities
    are those small-text's own strategies would use, and no second model is
    trained per query. While fewer than two classes are labeled the samplers
    that select with a model make their cold-start pick without it (see
    :meth:`iwkmeans.IWKMeansSampler.fit`); so ``query`` also makes an initial
    pick from an unlabeled dataset with ``clf=None``.

    Sparse features stay sparse: the samplers read CSR rows as they are.
    Multi-label data (labels as a sparse matrix) is not supported.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from sklearn.linear_model import LogisticRegression
    >>> from small_text import (PoolBasedActiveLearner, SklearnClassifierFactory,
    ...                         SklearnDataset, random_initialization_balanced)
    >>> from iwkmeans import IWKMeansSampler
    >>> from iwkmeans.active.integrations.smalltext import SmallTextQueryStrategy
    >>> rng = np.random.default_rng(0)
    >>> y_true = np.arange(60) % 3  # three classes, each with its own word 0, 1, 2
    >>> counts = rng.poisson(0.3, size=(60, 20)) + np.eye(20)[y_true] * 3
    >>> train = SklearnDataset(sparse.csr_matrix(counts), y_true, target_labels=np.arange(3))
    >>> factory = SklearnClassifierFactory(LogisticRegression(), num_classes=3)
    >>> sampler = IWKMeansSampler(None, batch_size=1, random_state=0)
    >>> learner = PoolBasedActiveLearner(factory, SmallTextQueryStrategy(sampler), train)
    >>> indices_initial = random_initialization_balanced(y_true, n_samples=6)
    >>> learner.initialize_data(indices_initial, y_true[indices_initial])
    >>> for _ in range(3):
    ...     indices_queried = learner.query(num_samples=4)
    ...     learner.update(y_true[indices_queried])
    >>> learner.indices_labeled.shape
    (18,)
    """

    def __init__(self, sampler):
        self.sampler = sampler

    def query(self, clf, dataset, indices_unlabeled, indices_labeled, y, n=10):
        """Pick ``n`` samples of the unlabeled pool.

        Parameters
        ----------
        clf : small_text.classifiers.Classifier or None
            The active learner's trained classifier (for the scikit-learn
            integration, a ``SklearnClassifier``), whose ``predict_proba``
            the sampler selects with. None only while it has none: then
            only a cold-start pick can be made.
        dataset : small_text.data.SklearnDataset or ndarray or sparse matrix
            The samples: a dataset (or view) whose ``x``, dense or CSR, the
            sampler selects on, or such features themselves (the learner's
            ``representation``), which ``clf`` then scores too, as it does
            for small-text's own strategies.
        indices_unlabeled : array-like of int of shape (n_unlabeled,)
            Rows of ``dataset`` that may be picked.
        indices_labeled : array-like of int of shape (n_labeled,)
            Rows of ``dataset`` that are labeled.
        y : array-like of int of shape (n_labeled,)
            Label of each row in ``indices_labeled``, in that order.
        n : int, default=10
            Number of samples to pick.

        Returns
        -------
        indices : ndarray of shape (n,)
            Distinct rows of ``dataset`` among ``indices_unlabeled``, in the
            sampler's order.

        Raises
        ------
        small_text.query_strategies.EmptyPoolException
            If ``indices_unlabeled`` is empty.
        small_text.query_strategies.PoolExhaustedException
            If ``n`` exceeds the number of unlabeled rows.
        TypeError
            If the labels are multi-label (a sparse matrix) or the samples
            are not a feature matrix (e.g. a ``TextDataset``).
        ValueError
            If the sampler needs a model and ``clf`` is None.
        """
        self._validate_query_input(indices_unlabeled, n)
        if getattr(self.sampler, "trains_own_models", False):
            raise TypeError(
                f"SmallTextQueryStrategy cannot serve {type(self.sampler).__name__}: it trains a "
                "committee of its own from its classifier, while the adapter hands it the "
                "library's model. Use the sampler's own query instead."
            )
        if sparse.issparse(y):
            raise TypeError(
                "SmallTextQueryStrategy supports single-label classification only; got "
                "multi-label labels (a sparse matrix)."
            )
        X = getattr(dataset, "x", dataset)
        if not (sparse.issparse(X) or isinstance(X, np.ndarray)):
            raise TypeError(
                "SmallTextQueryStrategy selects on a feature matrix (dense or sparse): "
                "pass a SklearnDataset, or the features as the learner's representation; "
                f"got samples of type {type(X).__name__}."
            )
        indices_labeled = np.asarray(indices_labeled, dtype=np.intp)
        y_all = np.full(X.shape[0], LABEL_UNLABELED, dtype=np.int64)
        y_all[indices_labeled] = np.asarray(y)

        # The rows the model scores form a dataset with no label, whose
        # target labels are the dataset's ([0] for bare features, as
        # small-text infers for an unlabeled dataset).
        target_labels = getattr(dataset, "target_labels", np.array([0]))
        model = _TrainedModel(clf, target_labels)
        sampler = clone(self.sampler).set_params(classifier=model)
        self.sampler_ = sampler
        return sampler.query(
            X,
            y_all,
            batch_size=n,
            missing_label=LABEL_UNLABELED,
            candidates=np.asarray(indices_unlabeled, dtype=np.intp),
        )

    def __str__(self):
        return f"SmallTextQueryStrategy(sampler={self.sampler!r})"
