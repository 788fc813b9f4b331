"""Committees of fitted classifiers, read on common classes.

A committee is either a fitted scikit-learn ensemble whose ``estimators_``
are classifiers (:class:`~sklearn.ensemble.BaggingClassifier`, random
forests, extra trees, :class:`~sklearn.ensemble.VotingClassifier`, ...) or a
list of fitted classifiers. Its members may know different classes (a
bagging member trained on a bootstrap sample may miss one) and see
different features (a bagging member trained on a feature subset, listed in
``estimators_features_``): :func:`committee_proba` and
:func:`committee_votes` give every member the features it was trained on and
align its outputs on one list of classes, ready for
:func:`~iwkmeans.active._uncertainty.vote_entropy_score` and
:func:`~iwkmeans.active._uncertainty.kl_divergence_score`.

:func:`bootstrap_committee` builds the committee of
:class:`~iwkmeans.active._samplers.CommitteeSampler` from one classifier.
"""

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.utils import check_random_state

from .._validation import check_data


def is_committee_ensemble(estimator):
    """Whether a fitted estimator is an ensemble whose members form a
    committee: ``estimators_`` a list of at least 2 fitted classifiers with
    ``predict_proba``, and ``classes_`` of its own. (Gradient boosting's
    ``estimators_``, an array of regressors, is not one.)"""
    members = getattr(estimator, "estimators_", None)
    return (
        isinstance(members, (list, tuple))
        and len(members) >= 2
        and hasattr(estimator, "classes_")
        and all(
            is_classifier(member)
            and hasattr(member, "predict_proba")
            and hasattr(member, "classes_")
            for member in members
        )
    )


def _positions(labels, lookup, where):
    """Positions in the common classes (``lookup``: label -> column) of
    each of ``labels``."""
    try:
        return np.array([lookup[label] for label in labels], dtype=np.intp)
    except (KeyError, TypeError):
        missing = [label for label in labels if label not in lookup]
        raise ValueError(
            f"{where} has class(es) {missing[:5]!r} that are not among the classes "
            f"{list(lookup)[:10]!r}."
        ) from None


def _member_classes(member, index):
    classes = getattr(member, "classes_", None)
    if classes is None:
        raise TypeError(
            f"member {index} of the committee ({type(member).__name__}) has no classes_: "
            "the committee must be made of fitted classifiers."
        )
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(
            f"member {index} of the committee has classes_ of shape {classes.shape}: "
            "multi-output classifiers are not supported."
        )
    return classes


def _encoded(member_classes, n_classes):
    """Whether a member's classes are indices into its ensemble's classes_,
    integers in [0, n_classes): scikit-learn's ensembles train their members
    on the encoded labels."""
    if member_classes.dtype.kind not in "iuf" or member_classes.size == 0:
        return False
    values = member_classes.astype(np.float64)
    return bool(np.all((values == np.round(values)) & (values >= 0) & (values < n_classes)))


def committee_members(committee, classes=None):
    """``(members, classes)``: each member as ``(estimator, features,
    columns)`` -- its feature indices (None: every feature) and, for each of
    its ``classes_``, the column of the common ``classes``.

    ``classes`` None: the ensemble's ``classes_``, or the sorted union of the
    members' ``classes_`` for a list. Members of an ensemble whose
    ``classes_`` are integers in [0, n_classes) index the ensemble's
    ``classes_`` (scikit-learn's ensembles train them on the encoded
    labels); other members' ``classes_`` are labels.
    """
    ensemble = not isinstance(committee, (list, tuple))
    if ensemble:
        if not hasattr(committee, "estimators_") or not hasattr(committee, "classes_"):
            raise TypeError(
                "committee must be a fitted ensemble classifier (with estimators_ and "
                "classes_, e.g. BaggingClassifier or RandomForestClassifier) or a list of "
                f"fitted classifiers; got {type(committee).__name__}."
            )
        estimators = list(committee.estimators_)
        features = getattr(committee, "estimators_features_", None)
        if features is None:
            features = [None] * len(estimators)
        own_classes = np.asarray(committee.classes_)
        if own_classes.ndim != 1:
            raise ValueError(
                "multi-output ensembles are not supported: the committee's classes_ has "
                f"shape {own_classes.shape}."
            )
    else:
        estimators, features = list(committee), [None] * len(committee)
    if len(estimators) < 2:
        raise ValueError(f"a committee needs at least 2 members; got {len(estimators)}.")
    member_classes = [_member_classes(member, i) for i, member in enumerate(estimators)]
    if classes is None:
        if ensemble:
            classes = own_classes
        else:
            try:
                classes = np.unique(np.concatenate(member_classes))
            except TypeError:
                raise TypeError(
                    "the members' classes_ are of kinds that cannot be compared; pass classes."
                ) from None
    classes = np.asarray(classes)
    labels = classes.tolist()
    if classes.ndim != 1 or len(set(labels)) != len(labels):
        raise ValueError("classes must be a 1-D array of distinct labels.")
    if len(labels) < 2:
        raise ValueError(f"a committee score needs at least 2 classes; got {labels!r}.")
    lookup = {label: column for column, label in enumerate(labels)}
    if ensemble:
        _positions(own_classes.tolist(), lookup, "the ensemble")
    members = []
    for i, (member, member_features, own) in enumerate(zip(estimators, features, member_classes)):
        if ensemble and _encoded(own, len(own_classes)):
            own = own_classes[own.astype(np.intp)]
        columns = _positions(own.tolist(), lookup, f"member {i} of the committee")
        if member_features is not None:
            member_features = np.asarray(member_features)
        members.append((member, member_features, columns))
    return members, classes


def _rows_for(X, features):
    return X if features is None else X[:, features]


def member_probas(members, X, n_classes):
    """The members' predicted probabilities on X (validated), shape
    (n_members, n_samples, n_classes): a class a member does not know has
    probability 0 in its rows."""
    probas = np.zeros((len(members), X.shape[0], n_classes))
    for m, (member, features, columns) in enumerate(members):
        proba = np.asarray(member.predict_proba(_rows_for(X, features)), dtype=np.float64)
        if proba.shape != (X.shape[0], columns.size):
            raise ValueError(
                f"member {m} of the committee returned probabilities of shape "
                f"{proba.shape}; expected {(X.shape[0], columns.size)} (one column per "
                "class in its classes_)."
            )
        probas[m][:, columns] = proba
    return probas


def committee_proba(committee, X, *, classes=None):
    """Class probabilities of each member of a committee, on common classes.

    Parameters
    ----------
    committee : fitted ensemble classifier or list of fitted classifiers
        An ensemble whose ``estimators_`` are classifiers with
        ``predict_proba`` (:class:`~sklearn.ensemble.BaggingClassifier`,
        :class:`~sklearn.ensemble.RandomForestClassifier`,
        :class:`~sklearn.ensemble.ExtraTreesClassifier`,
        :class:`~sklearn.ensemble.VotingClassifier`, ...), or a list of at
        least 2 fitted classifiers with ``predict_proba``. A bagging
        member trained on a subset of the features
        (``estimators_features_``) is given those features. The members of
        an ensemble whose ``classes_`` are integers in ``[0, n_classes)``
        are taken to be trained on the encoded labels (as scikit-learn's
        ensembles train them): their ``classes_`` index the ensemble's.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The samples, dense or CSR, as the committee (or each member of the
        list) takes them.
    classes : array-like of shape (n_classes,), default=None
        The classes of the columns, in order; every class of every member
        must be among them. None: the ensemble's ``classes_``, or for a
        list the sorted union of the members' ``classes_``.

    Returns
    -------
    probas : ndarray of shape (n_members, n_samples, n_classes)
        ``probas[m, i, c]``: member ``m``'s probability of ``classes[c]``
        for sample ``i``, float64; 0 for a class the member does not know
        (a bagging member whose bootstrap sample missed it).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import BaggingClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from iwkmeans import committee_proba, kl_divergence_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> bagging = BaggingClassifier(
    ...     DecisionTreeClassifier(), n_estimators=5, max_features=0.5, random_state=0
    ... ).fit(X, y)
    >>> probas = committee_proba(bagging, X[:3])
    >>> probas.shape
    (5, 3, 2)
    >>> scores = kl_divergence_score(probas)  # disagreement on each sample, in [0, 1]
    """
    X = check_data(X, name="X", accept_sparse=True)
    members, classes = committee_members(committee, classes)
    return member_probas(members, X, classes.size)


def committee_votes(committee, X, *, classes=None):
    """Predicted label of each member of a committee, in the common classes.

    Parameters
    ----------
    committee : fitted ensemble classifier or list of fitted classifiers
        An ensemble whose ``estimators_`` are classifiers, or a list of at
        least 2 fitted classifiers, as for :func:`committee_proba` (feature
        subsets and encoded labels included); the members need ``predict``
        only.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The samples, dense or CSR, as the committee (or each member of the
        list) takes them.
    classes : array-like of shape (n_classes,), default=None
        The classes the votes are reported in; every class of every member
        must be among them. None: the ensemble's ``classes_``, or for a
        list the sorted union of the members' ``classes_``.

    Returns
    -------
    votes : ndarray of shape (n_members, n_samples)
        ``votes[m, i]``: member ``m``'s predicted label of sample ``i``, an
        element of ``classes``; pass ``n_classes=len(classes)`` to
        :func:`vote_entropy_score`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from iwkmeans import committee_votes, vote_entropy_score
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array(["low", "low", "high", "high"])
    >>> members = [LogisticRegression().fit(X, y), DecisionTreeClassifier().fit(X, y)]
    >>> committee_votes(members, [[0.5], [2.5]])
    array([['low', 'high'],
           ['low', 'high']], dtype='<U4')
    >>> vote_entropy_score(committee_votes(members, [[0.5], [2.5]]), n_classes=2)
    array([0., 0.])
    """
    X = check_data(X, name="X", accept_sparse=True)
    members, classes = committee_members(committee, classes)
    votes = np.empty((len(members), X.shape[0]), dtype=np.intp)
    for m, (member, features, columns) in enumerate(members):
        predicted = np.asarray(member.predict(_rows_for(X, features)))
        if predicted.shape != (X.shape[0],):
            raise ValueError(
                f"member {m} of the committee predicted an array of shape "
                f"{predicted.shape}; expected ({X.shape[0]},)."
            )
        own = _member_classes(member, m).tolist()
        lookup = {label: column for label, column in zip(own, columns.tolist())}
        distinct, inverse = np.unique(predicted, return_inverse=True)
        votes[m] = _positions(distinct.tolist(), lookup, f"member {m}'s prediction")[inverse]
    return classes[votes]


def bootstrap_committee(classifier, X, y, n_members, random_state):
    """``n_members`` clones of ``classifier``, each fitted on a stratified
    bootstrap sample of (X, y): from each class, as many rows drawn with
    replacement as it has, so every member knows every class (a classifier
    such as logistic regression cannot be trained on one). A member's
    ``random_state`` parameters (nested ones included) get seeds drawn from
    ``random_state``, as bagging does, so the members differ and the
    committee is reproducible."""
    rng = check_random_state(random_state)
    _, codes = np.unique(y, return_inverse=True)
    by_class = [np.flatnonzero(codes == code) for code in range(codes.max() + 1)]
    members = []
    for _ in range(n_members):
        rows = np.sort(np.concatenate([rng.choice(rows, size=rows.size) for rows in by_class]))
        member = clone(classifier)
        params = member.get_params(deep=True) if hasattr(member, "get_params") else {}
        seeds = {
            name: rng.randint(np.iinfo(np.int32).max)
            for name in params
            if name == "random_state" or name.endswith("__random_state")
        }
        if seeds:
            member.set_params(**seeds)
        members.append(member.fit(X[rows], y[rows]))
    return members
