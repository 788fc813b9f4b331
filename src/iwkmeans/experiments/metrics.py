"""Active-learning metrics: how good the model is, and what the sampler picked.

Notation: ``L`` is the labeled set, ``B`` the batch a sampler selected, ``T``
the test set (its labels are used only by the accuracy-based metrics).

- :func:`learning_curve_auc` -- quality of a whole run.
- :func:`noisy_sample_ratio` -- how much of a selection fell into noise.
- :func:`contradiction_ratio` -- how much the model changed between two steps.
- :func:`exploration` -- how well the labeled set covers the test set; its
  decrease from one step to the next is what a batch added to the coverage.
- :func:`classifier_agreement` -- whether the batch lies where the model and
  a 1-NN classifier on ``L`` agree (regions the labeled set already explains).
- :func:`reverse_batch_accuracy` -- how easy the batch is for a reference
  classifier trained on independent labeled data.

Each function takes plain arrays (and fitted classifiers where it needs
predictions) and never modifies them. Samples may be dense or sparse (CSR,
e.g. TF-IDF text): a sparse matrix is never densified. Distances to the
labeled set are computed in blocks of rows: no (n_test, n_labeled) matrix is
formed.
"""

import numpy as np
from scipy import sparse
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.utils.validation import check_is_fitted

from .._core import ScaledRows, scale_for
from .._validation import check_data, reject_masked

# check_is_fitted fills in %(name)s, the class of the estimator.
_NOT_FITTED = "{name} must be a fitted classifier; this %(name)s instance is not fitted yet."


def _vector(values, name):
    """values as a non-empty 1-D array (labels of any dtype are fine)."""
    reject_masked(values, name)
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {values.shape}.")
    return values


def _same_length(a, a_name, b, b_name):
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{a_name} and {b_name} must have the same number of samples; got "
            f"{a.shape[0]} and {b.shape[0]}."
        )


def _features(X, name, n_features=None, reference_name=None):
    X = check_data(X, name=name, accept_sparse=True)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but {reference_name} has {n_features}.")
    return X


def _nearest_labeled(X, X_labeled):
    """Index of the nearest labeled sample of each row of X (ties: lowest
    index), and the Euclidean distance to it times ``scale``, a power of
    two; returns (nearest, scaled distances, scale). Dense rows are measured
    in chunks by the compiled core in a frame (see
    :class:`~iwkmeans._core.ScaledRows`) so that neither an offset of the
    data nor huge values (whose squares overflow) spoil the nearest sample
    or the distance."""
    if sparse.issparse(X) or sparse.issparse(X_labeled):
        return _nearest_labeled_sparse(X, X_labeled)
    frame = ScaledRows(X, X_labeled)
    nearest, sq_distances = frame.nearest(frame.transform(X_labeled))
    return nearest, np.sqrt(sq_distances), frame.scale


def _nearest_labeled_sparse(X, X_labeled):
    """:func:`_nearest_labeled` when either side is sparse: both stay sparse
    (the labeled set of a text pool, densified, could hold more values than
    the whole pool) and scikit-learn measures them chunk by chunk within its
    working memory. Its distances come from ||x||^2 - 2 x.l + ||l||^2, fine
    for TF-IDF rows (no offset to cancel); the values are first scaled by a
    power of two that brings them to at most 1, so that no square
    overflows, and the distances scaled back exactly."""
    X, X_labeled = (sparse.csr_matrix(A) for A in (X, X_labeled))
    top = max(float(np.abs(A.data).max(initial=0.0)) for A in (X, X_labeled))
    scale = scale_for(0.5 * top)
    X, X_labeled = (
        sparse.csr_matrix((A.data * A.dtype.type(scale), A.indices, A.indptr), shape=A.shape)
        for A in (X, X_labeled)
    )
    nearest, distances = pairwise_distances_argmin_min(X, X_labeled)
    return nearest, distances, scale


def learning_curve_auc(accuracies, *, bounded=True):
    """Area under a learning curve: the mean accuracy over its points.

    With ``a_1, ..., a_P`` the test accuracies at the ``P`` points of one run
    (equally spaced numbers of labels)::

        AUC = (1 / P) * sum_t a_t

    The paper reports ``100 * AUC``. Any other score (F1, balanced accuracy,
    a negated loss) makes a learning curve too.

    Parameters
    ----------
    accuracies : array-like of shape (n_points,) or (n_runs, n_points)
        Accuracies in [0, 1], or other scores; one row per run for several
        runs.
    bounded : bool, default=True
        Require the values to lie in [0, 1] (accuracies, F1, ...); False
        admits any finite score (e.g. ``neg_log_loss``).

    Returns
    -------
    auc : float, or ndarray of shape (n_runs,)
        The AUC of the curve, or of each run.
    """
    reject_masked(accuracies, "accuracies")
    values = np.asarray(accuracies, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] == 0:
        raise ValueError(
            "accuracies must have shape (n_points,) or (n_runs, n_points) with at "
            f"least one point; got shape {values.shape}."
        )
    if bounded and not np.all((values >= 0) & (values <= 1)):  # False for NaN too
        raise ValueError("accuracies must be finite and lie in [0, 1].")
    if not np.all(np.isfinite(values)):
        raise ValueError("accuracies must be finite.")
    auc = values.mean(axis=-1)
    return float(auc) if values.ndim == 1 else auc


def noisy_sample_ratio(selected, noisy):
    """Share of the selected samples that are noisy.

    With ``S`` the selected indices and ``noisy_i`` the noise flag of sample
    ``i``::

        ratio = |{i in S : noisy_i}| / |S|

    Parameters
    ----------
    selected : array-like of int, shape (n_selected,)
        Distinct indices into ``noisy``.
    noisy : array-like of bool, shape (n_samples,)
        True for the samples that are noisy (e.g. in a region whose labels are
        random).

    Returns
    -------
    ratio : float in [0, 1]
        The share of ``selected`` flagged in ``noisy``.
    """
    noisy = _vector(noisy, "noisy")
    if noisy.dtype != bool:
        raise TypeError(f"noisy must be a boolean mask; got dtype {noisy.dtype}.")
    selected = _vector(selected, "selected")
    if selected.dtype.kind not in "iu":
        raise TypeError(f"selected must hold integer indices; got dtype {selected.dtype}.")
    outside = selected[(selected < 0) | (selected >= noisy.shape[0])]
    if outside.size:
        raise ValueError(
            f"selected must index into noisy (0 to {noisy.shape[0] - 1}); got {outside[0]}."
        )
    if np.unique(selected).size != selected.size:
        raise ValueError("selected must hold distinct indices; it has repeats.")
    return float(np.mean(noisy[selected]))


def contradiction_ratio(previous_predictions, predictions):
    """Share of samples whose predicted label changed between two models.

    With ``f_{t-1}`` and ``f_t`` the models of two successive steps and
    ``x_1, ..., x_n`` unlabeled (e.g. test) samples::

        contradiction = (1 / n) * sum_i 1[f_{t-1}(x_i) != f_t(x_i)]

    It needs no ground truth: a high value late in a run means that the new
    labels keep overturning what the model had learned.

    Parameters
    ----------
    previous_predictions, predictions : array-like of shape (n_samples,)
        Labels predicted for the same samples, in the same order.

    Returns
    -------
    ratio : float in [0, 1]
        The share of samples whose two labels differ.
    """
    previous = _vector(previous_predictions, "previous_predictions")
    current = _vector(predictions, "predictions")
    _same_length(previous, "previous_predictions", current, "predictions")
    return float(np.mean(previous != current))


def exploration(X_test, X_labeled):
    """Mean distance from the test samples to their nearest labeled sample.

    With ``L`` the labeled samples and ``x_1, ..., x_n`` the test samples::

        E(L) = (1 / n) * sum_i min_{l in L} ||x_i - l||_2

    Lower is better covered. Adding a batch ``B`` can only lower it; the
    decrease ``E(L) - E(L u B)`` measures how much new ground the batch
    explored.

    Parameters
    ----------
    X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        The samples to cover (e.g. the test set).
    X_labeled : {array-like, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples.

    Returns
    -------
    exploration : float >= 0
        ``E(L)``, in the units of the features.
    """
    X_test = _features(X_test, "X_test")
    X_labeled = _features(X_labeled, "X_labeled", X_test.shape[1], "X_test")
    _, distances, scale = _nearest_labeled(X_test, X_labeled)
    # Averaged in the frame: a sum of huge distances could overflow.
    with np.errstate(over="ignore"):
        return float(np.mean(distances) / scale)


def classifier_agreement(classifier, X_labeled, y_labeled, X_batch):
    """Share of a batch on which a classifier agrees with 1-NN on the labeled set.

    With ``f`` the (fitted) classifier and ``nn(x)`` the labeled sample
    nearest to ``x`` (Euclidean; ties: lowest index)::

        agreement = (1 / |B|) * sum_{x in B} 1[f(x) = y_{nn(x)}]

    A batch with high agreement lies where the labeled set already explains
    the model; low agreement points at regions where the model extrapolates.

    Parameters
    ----------
    classifier : fitted classifier with ``predict``
        The model ``f``.
    X_labeled : {array-like, sparse matrix} of shape (n_labeled, n_features)
        The labeled samples, for the 1-NN classifier.
    y_labeled : array-like of shape (n_labeled,)
        Their labels.
    X_batch : {array-like, sparse matrix} of shape (n_batch, n_features)
        The batch ``B`` on which the two classifiers are compared.

    Returns
    -------
    agreement : float in [0, 1]
        The share of ``B`` on which ``f`` and 1-NN predict the same label.
    """
    check_is_fitted(classifier, msg=_NOT_FITTED.format(name="classifier"))
    X_labeled = _features(X_labeled, "X_labeled")
    y_labeled = _vector(y_labeled, "y_labeled")
    _same_length(X_labeled, "X_labeled", y_labeled, "y_labeled")
    X_batch = _features(X_batch, "X_batch", X_labeled.shape[1], "X_labeled")
    nearest, _, _ = _nearest_labeled(X_batch, X_labeled)
    return float(np.mean(classifier.predict(X_batch) == y_labeled[nearest]))


def reverse_batch_accuracy(reference, X_batch, y_batch):
    """Accuracy on a batch of a reference classifier ("easiness" of the batch).

    With ``g`` a classifier trained on an independent labeled set (in an
    experiment, the test set) and ``y_x`` the true label of ``x``::

        easiness = (1 / |B|) * sum_{x in B} 1[g(x) = y_x]

    Low values mean the sampler picks samples that even a well-trained model
    gets wrong: hard samples, or noise.

    Parameters
    ----------
    reference : fitted classifier with ``predict``
        The reference classifier ``g``.
    X_batch : {array-like, sparse matrix} of shape (n_batch, n_features)
        The batch ``B``.
    y_batch : array-like of shape (n_batch,)
        Its true labels.

    Returns
    -------
    easiness : float in [0, 1]
        The share of ``B`` that ``g`` predicts correctly.
    """
    check_is_fitted(reference, msg=_NOT_FITTED.format(name="reference"))
    X_batch = _features(X_batch, "X_batch")
    y_batch = _vector(y_batch, "y_batch")
    _same_length(X_batch, "X_batch", y_batch, "y_batch")
    return float(np.mean(reference.predict(X_batch) == y_batch))
