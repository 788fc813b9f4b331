"""Uncertainty scores from predicted class probabilities.

Each score maps a probability matrix of shape (n_samples, n_classes) to one
value per sample in [0, 1], higher meaning more uncertain. The committee
scores (query by committee) map the probabilities of several models,
shape (n_members, n_samples, n_classes), or their votes, shape
(n_members, n_samples), to the members' disagreement on each sample, in
[0, 1] as well.
"""

import math

import numpy as np
from scipy import sparse
from sklearn.utils import check_array

from .._validation import FLOAT_DTYPES, reject_masked, screen_input

# Rows of a probability matrix must sum to 1 within this: float32 softmax
# outputs are off by ~1e-7 per class, and a model's own rounding adds more.
ROW_SUM_ATOL = 1e-4


def check_probabilities(proba):
    """proba as a float array of shape (n_samples, n_classes >= 2) whose rows
    are probability distributions (in [0, 1], summing to 1 within 1e-4)."""
    screen_input(proba, "proba")
    proba = check_array(proba, dtype=FLOAT_DTYPES, input_name="proba")
    if proba.shape[1] < 2:
        raise ValueError(
            f"proba must have at least 2 columns (one per class); got shape {proba.shape}."
        )
    outside = np.flatnonzero(np.any((proba < 0) | (proba > 1), axis=1))
    if outside.size:
        raise ValueError(f"proba must lie in [0, 1]; row {outside[0]} is {proba[outside[0]]}.")
    sums = proba.sum(axis=1, dtype=np.float64)
    off = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_ATOL)
    if off.size:
        raise ValueError(
            f"proba rows must sum to 1 (within {ROW_SUM_ATOL}); row {off[0]} sums to "
            f"{sums[off[0]]} ({off.size} such row(s))."
        )
    return proba


def confidence_score(proba):
    """Least confidence: ``1 - max_c p_c``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (``predict_proba``), at least 2
        classes: each row in [0, 1] and summing to 1 within 1e-4.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Uncertainty of each sample, in [0, 1] (higher: more uncertain), in
        proba's dtype (float32 stays float32, other numbers become float64).
    """
    proba = check_probabilities(proba)
    return 1.0 - proba.max(axis=1)


def margin_score(proba):
    """Smallest margin: ``1 - (p_(1) - p_(2))``, the two largest probabilities.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (``predict_proba``), at least 2
        classes: each row in [0, 1] and summing to 1 within 1e-4.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Uncertainty of each sample, in [0, 1] (higher: more uncertain), in
        proba's dtype (float32 stays float32, other numbers become float64).
    """
    proba = check_probabilities(proba)
    top_two = np.partition(proba, -2, axis=1)[:, -2:]
    return 1.0 - (top_two[:, 1] - top_two[:, 0])


def entropy_score(proba):
    """Entropy normalised to [0, 1]: ``-sum_c p_c log p_c / log(n_classes)``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (``predict_proba``), at least 2
        classes: each row in [0, 1] and summing to 1 within 1e-4.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Uncertainty of each sample, in [0, 1] (higher: more uncertain), with
        ``0 log 0`` taken as 0.
    """
    proba = check_probabilities(proba)
    # 0 log 0 = 0: take the log of 1 where p is 0.
    logs = np.log(np.where(proba > 0, proba, 1.0))
    return -(proba * logs).sum(axis=1) / np.log(proba.shape[1])


def check_committee_probabilities(probas):
    """probas as a float array of shape (n_members >= 2, n_samples >= 1,
    n_classes >= 2) whose rows are probability distributions (in [0, 1],
    summing to 1 within 1e-4)."""
    screen_input(probas, "probas")
    probas = check_array(
        probas, dtype=FLOAT_DTYPES, allow_nd=True, ensure_2d=False, input_name="probas"
    )
    if probas.ndim != 3:
        raise ValueError(
            "probas must have shape (n_members, n_samples, n_classes), one probability "
            f"matrix per member of the committee; got shape {probas.shape}."
        )
    n_members, n_samples, n_classes = probas.shape
    if n_members < 2 or n_samples < 1 or n_classes < 2:
        raise ValueError(
            "probas needs at least 2 members, 1 sample and 2 classes (shape "
            f"(n_members, n_samples, n_classes)); got shape {probas.shape}."
        )
    outside = np.argwhere(np.any((probas < 0) | (probas > 1), axis=2))
    if outside.size:
        member, row = outside[0]
        raise ValueError(
            f"probas must lie in [0, 1]; member {member}, sample {row} is {probas[member, row]}."
        )
    sums = probas.sum(axis=2, dtype=np.float64)
    off = np.argwhere(np.abs(sums - 1.0) > ROW_SUM_ATOL)
    if off.size:
        member, row = off[0]
        raise ValueError(
            f"probas rows must sum to 1 (within {ROW_SUM_ATOL}); member {member}, sample "
            f"{row} sums to {sums[member, row]} ({off.shape[0]} such row(s))."
        )
    return probas


def max_vote_entropy(n_members, n_classes):
    """The largest vote entropy ``n_members`` votes over ``n_classes`` classes
    can have: that of the most even split, over ``min(n_members, n_classes)``
    classes, ``r`` of them with ``q + 1`` votes and the others with ``q``
    (``q, r = divmod(n_members, min(n_members, n_classes))``).

    Every other split of the votes is majorised by this one, so its entropy
    (Schur-concave) is no larger. It is ``log(min(n_members, n_classes))``
    when the smaller number divides the larger, a little less otherwise
    (3 votes over 2 classes: ``log 3 - (2/3) log 2``, not ``log 2``).
    """
    parts = min(n_members, n_classes)
    q, r = divmod(n_members, parts)
    entropy = -(parts - r) * (q / n_members) * math.log(q / n_members)
    if r:
        entropy -= r * ((q + 1) / n_members) * math.log((q + 1) / n_members)
    return entropy


def _entropy_of_counts(counts, n_members):
    """Entropy of each row of vote counts (n_samples, n_classes), 0 log 0 = 0."""
    shares = counts / n_members
    logs = np.log(np.where(shares > 0, shares, 1.0))
    return -(shares * logs).sum(axis=1)


def _label_votes(votes, n_classes):
    """Vote counts (n_samples, n_classes) of a (n_members, n_samples) array of
    labels, and the number of classes to normalise with."""
    if votes.shape[0] < 2 or votes.shape[1] < 1:
        raise ValueError(
            "votes needs at least 2 members and 1 sample (shape (n_members, n_samples)); "
            f"got shape {votes.shape}."
        )
    flat = votes.ravel()
    if flat.dtype.kind == "f":
        unknown = np.isnan(flat)
    elif flat.dtype == object:
        unknown = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in flat])
    else:
        unknown = np.zeros(flat.shape, dtype=bool)
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        value = flat[first].item() if isinstance(flat[first], np.generic) else flat[first]
        member, row = divmod(first, votes.shape[1])
        raise ValueError(f"votes[{member}, {row}] = {value!r} is not a label.")
    try:
        labels, codes = np.unique(flat, return_inverse=True)
    except TypeError:
        raise TypeError(
            "votes must hold labels of one kind (numbers, or strings) that can be compared."
        ) from None
    if n_classes is None:
        n_classes = max(labels.size, 2)
    elif isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"n_classes must be an int; got {n_classes!r}.")
    elif n_classes < max(labels.size, 2):
        raise ValueError(
            f"n_classes={n_classes}, but the votes hold {labels.size} distinct labels "
            "(and a committee score needs at least 2 classes)."
        )
    codes = codes.reshape(votes.shape)
    n_samples = votes.shape[1]
    counts = np.zeros((n_samples, labels.size))
    np.add.at(counts, (np.broadcast_to(np.arange(n_samples), votes.shape), codes), 1.0)
    return counts, int(n_classes)


def vote_entropy_score(votes, *, n_classes=None):
    """Vote entropy of a committee, normalised to [0, 1].

    Query by committee (Seung et al. 1992) with the vote entropy of Dagan &
    Engelson (1995); see Settles (2009, section 3.2). Each of the ``M``
    members votes for one class; with ``V(c)`` the votes for class ``c``,
    the vote entropy of a sample is ``-sum_c (V(c)/M) log(V(c)/M)`` (``0 log
    0 = 0``), divided by the largest value ``M`` votes over ``C`` classes
    can reach: the entropy of the most even split of the votes over
    ``min(M, C)`` classes (``log(min(M, C))`` when the smaller number
    divides the larger; ``log 3 - (2/3) log 2`` for 3 members and 2
    classes). So a unanimous committee scores 0 and a committee split as
    evenly as its votes allow scores 1.

    Parameters
    ----------
    votes : array-like of shape (n_members, n_samples) or (n_members, n_samples, n_classes)
        The committee's votes: each member's predicted label of each sample
        (numbers or strings, not NaN or None; e.g. :func:`committee_votes`),
        or each member's predicted class probabilities (e.g.
        :func:`committee_proba`), in which case a member votes for its most
        probable class (ties: the first column). At least 2 members.
    n_classes : int, default=None
        The number of classes ``C`` of the problem, for labels: at least the
        number of distinct labels voted. None: that number (at least 2).
        Pass it (e.g. ``len(classes)``) when a class may get no vote, so
        that the scores of different pools share one scale. With
        probabilities it is their number of columns and must be None or
        equal to it.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Disagreement of the committee on each sample, in [0, 1] (higher:
        more uncertain), float64.

    References
    ----------
    .. [1] I. Dagan and S. P. Engelson, "Committee-based sampling for
       training probabilistic classifiers", ICML 1995.
    .. [2] B. Settles, "Active learning literature survey", Computer
       Sciences Technical Report 1648, University of Wisconsin-Madison, 2009.

    Examples
    --------
    >>> from iwkmeans import vote_entropy_score
    >>> votes = [["cat", "cat", "cat", "cat"],   # member 1
    ...          ["cat", "dog", "cat", "dog"],   # member 2
    ...          ["cat", "dog", "dog", "owl"]]   # member 3
    >>> vote_entropy_score(votes, n_classes=3).round(4)
    array([0.    , 0.5794, 0.5794, 1.    ])
    """
    reject_masked(votes, "votes")
    if sparse.issparse(votes):
        raise TypeError("votes must be a dense array of labels; got a sparse matrix.")
    as_array = np.asarray(votes)
    if as_array.ndim == 3:
        probas = check_committee_probabilities(votes)
        n_members, _, columns = probas.shape
        if n_classes is not None and n_classes != columns:
            raise ValueError(
                f"n_classes={n_classes}, but probas has {columns} columns (one per class)."
            )
        winners = probas.argmax(axis=2)
        counts = (winners[:, :, None] == np.arange(columns)).sum(axis=0, dtype=np.float64)
        n_classes = columns
    else:
        if as_array.ndim != 2:
            raise ValueError(
                "votes must have shape (n_members, n_samples) (labels) or (n_members, "
                f"n_samples, n_classes) (probabilities); got shape {as_array.shape}."
            )
        counts, n_classes = _label_votes(as_array, n_classes)
        n_members = as_array.shape[0]
    entropy = _entropy_of_counts(counts, n_members) / max_vote_entropy(n_members, n_classes)
    return np.clip(entropy, 0.0, 1.0) + 0.0  # + 0.0: no -0.0 for a unanimous vote


def kl_divergence_score(probas):
    """Mean KL divergence of the members to the consensus, normalised to [0, 1].

    Query by committee with the disagreement of McCallum & Nigam (1998); see
    Settles (2009, section 3.2). With ``P_m`` the class distribution member
    ``m`` of ``M`` predicts for a sample and ``Q = (1/M) sum_m P_m`` the
    consensus, the score is ``(1/M) sum_m KL(P_m || Q)``, where ``KL(P ||
    Q) = sum_c P_c log(P_c / Q_c)`` with ``0 log 0 = 0`` (``Q_c > 0``
    wherever ``P_c > 0``, so every term is finite). This is the
    Jensen-Shannon divergence of the members, ``H(Q) - (1/M) sum_m H(P_m)``.

    It is divided by the same constant as :func:`vote_entropy_score`, the
    entropy of the most even split of ``M`` votes over ``min(M, C)``
    classes: the largest value it can reach (the score is convex in each
    ``P_m``, so its maximum is at one-hot members, where it equals the vote
    entropy). So agreeing members score 0, one-hot members split as evenly
    as possible score 1, and for one-hot members the two scores coincide.

    Parameters
    ----------
    probas : array-like of shape (n_members, n_samples, n_classes)
        Each member's predicted class probabilities, columns aligned to the
        same classes (e.g. :func:`committee_proba`): each row in [0, 1] and
        summing to 1 within 1e-4. At least 2 members and 2 classes.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Disagreement of the committee on each sample, in [0, 1] (higher:
        more uncertain), in probas' dtype (float32 stays float32, other
        numbers become float64).

    References
    ----------
    .. [1] A. McCallum and K. Nigam, "Employing EM and pool-based active
       learning for text classification", ICML 1998.
    .. [2] B. Settles, "Active learning literature survey", Computer
       Sciences Technical Report 1648, University of Wisconsin-Madison, 2009.

    Examples
    --------
    >>> from iwkmeans import kl_divergence_score
    >>> probas = [[[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]],   # member 1
    ...           [[0.5, 0.5], [0.5, 0.5], [0.1, 0.9]]]   # member 2
    >>> kl_divergence_score(probas).round(4)
    array([0.3113, 0.    , 0.531 ])
    """
    probas = check_committee_probabilities(probas)
    n_members, _, n_classes = probas.shape
    p = probas.astype(np.float64, copy=False)
    consensus = p.mean(axis=0)
    # 0 log 0 = 0: where P_c is 0 the term is 0 (log of 1); elsewhere Q_c > 0.
    positive = p > 0
    ratio = np.where(positive, p, 1.0) / np.where(positive, consensus, 1.0)
    divergence = (p * np.log(ratio)).sum(axis=2).mean(axis=0)
    scores = divergence / max_vote_entropy(n_members, n_classes)
    return (np.clip(scores, 0.0, 1.0) + 0.0).astype(probas.dtype, copy=False)
