"""query(X, y, *, batch_size, missing_label, candidates): the one-array
convention of scikit-activeml and small-text on every sampler."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB, MultinomialNB

from iwkmeans import IWKMeansSampler, KMeansSampler, MarginSampler, RandomSampler

from _helpers import SAMPLERS

MISSING = -1


def labeled_data(seed=0, n=150, n_labeled=15, n_classes=3, d=3):
    """Blobs with ``n_labeled`` labeled rows spread over the data (every one
    of ``n_classes`` classes among them when there are enough) and -1
    elsewhere: (X, y as int)."""
    X, labels = make_blobs(n, n_features=d, centers=3, cluster_std=2.0, random_state=seed)
    rng = np.random.default_rng(seed)
    y = np.full(n, MISSING)
    rows = rng.choice(n, size=n_labeled, replace=False)
    y[rows] = np.arange(n_labeled) % n_classes if n_classes else labels[rows]
    return X, y


def conventions(y_int):
    """The same labeling in the three conventions: (y, missing_label)."""
    missing = y_int == MISSING
    as_float = y_int.astype(float)
    as_float[missing] = np.nan
    as_object = y_int.astype(object)
    as_object[missing] = None
    return {"nan": (as_float, np.nan), "-1": (y_int, -1), "None": (as_object, None)}


def make(cls, batch_size=5, seed=0, classifier=None):
    # GaussianNB: a model with predict_proba that fits in a millisecond.
    return cls(classifier or GaussianNB(), batch_size, random_state=seed)


def fit_then_select(cls, X, y_int, batch_size, seed, candidates=None, classifier=None):
    """The definition of query: fit on the labeled rows, select from the
    unlabeled (candidate) rows, map back to rows of X."""
    pool = np.flatnonzero(y_int == MISSING)
    if candidates is not None:
        pool = np.intersect1d(pool, candidates)
    labeled = np.flatnonzero(y_int != MISSING)
    sampler = make(cls, batch_size, seed, classifier).fit(X[labeled], y_int[labeled])
    return pool[sampler.select_samples(X[pool])]


@settings(max_examples=30)
@given(
    cls=st.sampled_from(SAMPLERS),
    seed=st.integers(0, 1000),
    n_labeled=st.integers(0, 40),
    n_classes=st.integers(1, 3),
    batch=st.integers(1, 12),
    convention=st.sampled_from(["nan", "-1", "None"]),
    n_candidates=st.none() | st.integers(0, 80),
)
def test_query_picks_distinct_unlabeled_candidates(
    cls, seed, n_labeled, n_classes, batch, convention, n_candidates
):
    X, y_int = labeled_data(seed, n=60, n_labeled=n_labeled, n_classes=n_classes)
    y, missing_label = conventions(y_int)[convention]
    rng = np.random.default_rng(seed)
    candidates = None
    allowed = np.flatnonzero(y_int == MISSING)
    if n_candidates is not None:
        # Any rows, labeled ones and repeats included.
        candidates = rng.integers(0, len(X), size=n_candidates)
        allowed = np.intersect1d(allowed, candidates)
    if allowed.size == 0:
        with pytest.raises(ValueError, match="there is nothing to query"):
            make(cls, batch, seed).query(X, y, missing_label=missing_label, candidates=candidates)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        picks = make(cls, batch, seed).query(
            X, y, missing_label=missing_label, candidates=candidates
        )
    expected_size = min(batch, allowed.size)
    assert (len(caught) == 1) == (batch > allowed.size)
    assert picks.shape == (expected_size,)
    assert np.unique(picks).size == expected_size
    assert set(picks.tolist()) <= set(allowed.tolist())  # never a labeled row
    assert picks.dtype.kind == "i"


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("n_classes", [3, 1, 0], ids=["model", "one-class", "no-label"])
def test_query_is_fit_then_select_samples(cls, n_classes):
    X, y_int = labeled_data(1, n_labeled=15 if n_classes else 0, n_classes=n_classes)
    candidates = np.arange(0, 150, 2)
    for cand in (None, candidates):
        got = make(cls, 6, seed=4).query(X, y_int, missing_label=-1, candidates=cand)
        np.testing.assert_array_equal(got, fit_then_select(cls, X, y_int, 6, 4, cand))


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda cls: cls.__name__)
def test_every_missing_label_convention_gives_the_same_picks(cls):
    X, y_int = labeled_data(2)
    picks = [
        make(cls, 5, seed=1).query(X, y, missing_label=missing_label)
        for y, missing_label in conventions(y_int).values()
    ]
    # NaN in an object array, and string labels with a string marker, too.
    as_object = y_int.astype(object)
    as_object[y_int == MISSING] = np.nan
    picks.append(make(cls, 5, seed=1).query(X, as_object))
    names = np.array(["a", "b", "c", ""])[y_int]
    picks.append(make(cls, 5, seed=1).query(X, names, missing_label=""))
    for other in picks[1:]:
        np.testing.assert_array_equal(picks[0], other)


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda cls: cls.__name__)
def test_query_never_modifies_its_arguments(cls):
    X, y_int = labeled_data(3)
    arguments = [X, *(y for y, _ in conventions(y_int).values()), np.arange(40, 150)]
    copies = [argument.copy() for argument in arguments]
    for argument in arguments:
        argument.setflags(write=False)  # a write would raise
    X, y_float, y_int, y_object, candidates = arguments
    sampler = make(cls, 5)
    sampler.query(X, y_float, candidates=candidates)
    sampler.query(X, y_int, missing_label=-1)
    sampler.query(X, y_object, missing_label=None, candidates=candidates)
    for argument, copy in zip(arguments, copies):
        np.testing.assert_array_equal(argument, copy)


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda cls: cls.__name__)
def test_query_on_a_sparse_pool(cls):
    X, y_int = labeled_data(4)
    X[X < 0] = 0.0  # structural zeros, and counts for MultinomialNB (sparse input)
    X_sparse = sparse.csr_matrix(X)
    got = make(cls, 5, 2, MultinomialNB()).query(X_sparse, y_int, missing_label=-1)
    expected = fit_then_select(cls, X_sparse, y_int, 5, 2, classifier=MultinomialNB())
    np.testing.assert_array_equal(got, expected)
    assert set(got.tolist()) <= set(np.flatnonzero(y_int == MISSING).tolist())


def test_query_fits_the_sampler_and_keeps_its_parameters():
    X, y_int = labeled_data(5)
    sampler = IWKMeansSampler(LogisticRegression(), 4, random_state=0)
    picks = sampler.query(X, y_int, batch_size=9, missing_label=-1)
    assert picks.shape == (9,)
    assert sampler.batch_size == 4  # the argument overrides, the parameter stays
    assert not sampler.cold_start_
    np.testing.assert_array_equal(sampler.classifier_.classes_, [0, 1, 2])
    assert sampler.X_labeled_.shape == (15, 3)


def test_a_short_pool_warns_and_returns_every_unlabeled_candidate():
    X, y_int = labeled_data(6)
    candidates = np.r_[np.flatnonzero(y_int != MISSING)[:3], np.flatnonzero(y_int == MISSING)[:3]]
    with pytest.warns(UserWarning, match=r"batch_size=5, but only 3 unlabeled row\(s\)"):
        picks = make(MarginSampler, 5).query(X, y_int, missing_label=-1, candidates=candidates)
    np.testing.assert_array_equal(np.sort(picks), candidates[3:])


def test_repeated_candidates_count_once():
    X, y_int = labeled_data(7)
    unlabeled = np.flatnonzero(y_int == MISSING)[:20]
    once = make(KMeansSampler, 4).query(X, y_int, missing_label=-1, candidates=unlabeled)
    twice = make(KMeansSampler, 4).query(
        X, y_int, missing_label=-1, candidates=np.r_[unlabeled, unlabeled[::-1]]
    )
    np.testing.assert_array_equal(once, twice)


def test_object_labels_of_numbers_train_the_classifier():
    # scikit-learn refuses an object array of numbers as targets; the
    # labeled entries of an object y become a numeric array.
    X, y_int = labeled_data(8)
    y_object, _ = conventions(y_int)["None"]
    sampler = make(MarginSampler, 3)
    sampler.query(X, y_object, missing_label=None)
    assert sampler.classifier_.classes_.dtype.kind == "i"


X_ERR, Y_ERR = labeled_data(9, n=40)
Y_FLOAT = conventions(Y_ERR)["nan"][0]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"y": Y_ERR}, TypeError, "missing_label=nan (the default) marks the unlabeled rows by"),
        (
            {"y": Y_ERR, "missing_label": None},
            TypeError,
            "missing_label=None marks the unlabeled rows by None, which only an object array",
        ),
        (
            {"y": Y_ERR, "missing_label": "?"},
            TypeError,
            "missing_label='?' cannot occur in y, whose dtype is int64",
        ),
        (
            {"y": Y_ERR, "missing_label": True},
            TypeError,
            "missing_label must be np.nan, None, a number or a string; got True.",
        ),
        (
            {"y": Y_ERR[:-1], "missing_label": -1},
            ValueError,
            "y must have shape (40,), one label per row of X; got shape (39,).",
        ),
        (
            {"y": np.where(Y_ERR == 0, np.nan, Y_ERR).astype(float), "missing_label": -1},
            ValueError,
            "is neither a label nor missing_label=-1",
        ),
        (
            {"y": np.zeros(40), "missing_label": -1},
            ValueError,
            "y marks no row as unlabeled (missing_label=-1): there is nothing to query.",
        ),
        (
            {"y": Y_FLOAT, "candidates": X_ERR[:5]},
            ValueError,
            "Sample rows as candidates are not supported: append them to X",
        ),
        (
            {"y": Y_FLOAT, "candidates": Y_ERR == MISSING},
            TypeError,
            "not a boolean mask; pass np.flatnonzero(mask).",
        ),
        (
            {"y": Y_FLOAT, "candidates": [1.0, 2.0]},
            TypeError,
            "candidates must hold integer row indices; got dtype float64.",
        ),
        (
            {"y": Y_FLOAT, "candidates": [3, -1]},
            ValueError,
            "candidates[1] = -1 is not a row of X: X has 40 rows",
        ),
        (
            {"y": Y_FLOAT, "candidates": []},
            ValueError,
            "y marks no row among the candidates as unlabeled",
        ),
        ({"y": Y_FLOAT, "batch_size": 0}, ValueError, "batch_size == 0, must be >= 1."),
        (
            {"y": Y_FLOAT, "batch_size": True},
            TypeError,
            "batch_size must be an integer, not a bool",
        ),
        ({"y": np.ma.masked_array(Y_FLOAT)}, TypeError, "y is a numpy masked array"),
    ],
)
def test_query_errors_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        RandomSampler(None, 3, random_state=0).query(X_ERR, **kwargs)


def test_query_validates_x():
    with pytest.raises(ValueError, match="Input X contains NaN"):
        RandomSampler(None, 3).query(np.full((5, 2), np.nan), np.full(5, np.nan))
