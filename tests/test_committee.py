"""Query by committee: the vote-entropy and KL-to-the-consensus scores
against hand-computed values, the committee helpers (class alignment,
bagging feature subsets, encoded labels), CommitteeSampler (cold start,
query) and committee scores as WKMeans / IWKMeans weights."""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.ensemble import BaggingClassifier, RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from iwkmeans import (
    CommitteeSampler,
    KMeansSampler,
    committee_proba,
    committee_votes,
    kl_divergence_score,
    select_wkmeans,
    vote_entropy_score,
)
from iwkmeans.active._selection import preselect, top_scores
from iwkmeans.active._uncertainty import max_vote_entropy

LOG2, LOG3 = math.log(2), math.log(3)


def one_hot(labels, n_classes):
    """(n_members, n_samples) class indices -> one-hot probabilities."""
    return np.eye(n_classes)[np.asarray(labels)]


# --- the scores, by hand ------------------------------------------------------


def test_max_vote_entropy_by_hand():
    # The most even split of M votes over min(M, C) classes.
    assert max_vote_entropy(2, 2) == pytest.approx(LOG2)  # 1 + 1
    assert max_vote_entropy(2, 5) == pytest.approx(LOG2)  # 2 members: at most 2 classes
    assert max_vote_entropy(6, 3) == pytest.approx(LOG3)  # 2 + 2 + 2
    # 3 votes, 2 classes: 2 + 1, -(2/3 log 2/3 + 1/3 log 1/3) = log 3 - 2/3 log 2.
    assert max_vote_entropy(3, 2) == pytest.approx(LOG3 - 2 / 3 * LOG2)
    # 4 votes, 3 classes: 2 + 1 + 1, -(1/2 log 1/2 + 2 * 1/4 log 1/4) = 3/2 log 2.
    assert max_vote_entropy(4, 3) == pytest.approx(1.5 * LOG2)


def test_vote_entropy_by_hand():
    # 3 members, 3 classes (normaliser log 3), one column per sample:
    #   (a, a, a): unanimous, 0;
    #   (a, a, b): log 3 - 2/3 log 2, over log 3 = 1 - 2/3 log_3 2 = 0.5794;
    #   (a, b, c): log 3, over log 3 = 1.
    votes = [["a", "a", "a"], ["a", "a", "b"], ["a", "b", "c"]]
    expected = [0.0, 1 - 2 / 3 * LOG2 / LOG3, 1.0]
    np.testing.assert_allclose(vote_entropy_score(votes, n_classes=3), expected, atol=1e-12)
    # The same votes as integers, and with the number of classes inferred (3).
    np.testing.assert_allclose(vote_entropy_score([[0, 0, 0], [0, 0, 1], [0, 1, 2]]), expected)
    # 3 members, 2 classes: (a, a, b) is the most even split there is, 1.
    np.testing.assert_allclose(vote_entropy_score([["a", "a"], ["a", "a"], ["a", "b"]]), [0, 1])
    # 4 members: (a, a, a, b) has entropy H(3/4, 1/4) = 2 log 2 - 3/4 log 3;
    # over log 2 with 2 classes (0.8113); (a, a, b, b) is log 2: 1 with 2
    # classes, but 2/3 with 3 (normaliser 3/2 log 2: the split 2 + 1 + 1).
    votes = np.array([[0, 0], [0, 0], [0, 1], [1, 1]])
    h = 2 * LOG2 - 0.75 * LOG3
    np.testing.assert_allclose(vote_entropy_score(votes), [h / LOG2, 1.0])
    np.testing.assert_allclose(vote_entropy_score(votes, n_classes=3), [h / (1.5 * LOG2), 2 / 3])


def test_kl_divergence_by_hand():
    # 2 members, 2 classes. P1 = (1, 0), P2 = (1/2, 1/2): Q = (3/4, 1/4);
    # KL(P1||Q) = log(4/3), KL(P2||Q) = 1/2 log(2/3) + 1/2 log 2 = 1/2 log(4/3);
    # mean 3/4 log(4/3), over log 2: 3/4 log2(4/3) = 3/2 - 3/4 log2(3) = 0.3113.
    # P1 = P2: 0. P1 = (0.9, 0.1), P2 = (0.1, 0.9): Q = (1/2, 1/2), each
    # KL = 0.9 log 1.8 + 0.1 log 0.2, over log 2 (0.5310).
    probas = [[[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]], [[0.5, 0.5], [0.5, 0.5], [0.1, 0.9]]]
    expected = [1.5 - 0.75 * math.log2(3), 0.0, (0.9 * math.log(1.8) + 0.1 * math.log(0.2)) / LOG2]
    np.testing.assert_allclose(kl_divergence_score(probas), expected, atol=1e-12)


def test_three_members_three_classes_by_hand():
    # P1 = (1, 0, 0), P2 = (0, 1, 0), P3 = (1/2, 1/2, 0): Q = (1/2, 1/2, 0).
    # KL(P1||Q) = log 2 = KL(P2||Q), KL(P3||Q) = 0: the mean is 2/3 log 2, over
    # log 3 (the most even split of 3 votes over 3 classes): 2/3 log_3 2 = 0.4206.
    # The third class has probability 0 everywhere: 0 log 0 = 0.
    # Votes: member 3 ties and votes for the first column: (0, 1, 0), the
    # split 2 + 1, 1 - 2/3 log_3 2 = 0.5794.
    probas = [[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[0.5, 0.5, 0.0]]]
    np.testing.assert_allclose(kl_divergence_score(probas), [2 / 3 * LOG2 / LOG3])
    np.testing.assert_allclose(vote_entropy_score(probas), [1 - 2 / 3 * LOG2 / LOG3])


def test_zero_log_zero_is_zero_without_a_warning():
    probas = np.zeros((3, 4, 5))
    probas[:, :, 0] = 1.0  # every member certain of class 0: columns of zeros
    probas[2, 3] = [0.0, 0.0, 0.0, 0.0, 1.0]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        kl = kl_divergence_score(probas)
        ve = vote_entropy_score(probas)
    # The last sample: votes (0, 0, 4), the split 2 + 1; 3 members over 5
    # classes can split 1 + 1 + 1 (log 3): 1 - 2/3 log_3 2. One-hot members:
    # the KL score is the same.
    expected = [0, 0, 0, 1 - 2 / 3 * LOG2 / LOG3]
    np.testing.assert_allclose(kl, expected, atol=1e-12)
    np.testing.assert_allclose(ve, expected, atol=1e-12)
    assert not np.signbit(kl).any() and not np.signbit(ve).any()  # no -0.0


@given(st.integers(0, 2**32 - 1), st.integers(2, 7), st.integers(1, 20), st.integers(2, 6))
def test_bounds_and_one_hot_members(seed, n_members, n_samples, n_classes):
    rng = np.random.default_rng(seed)
    # Soft members, some nearly one-hot: both scores lie in [0, 1].
    alpha = rng.choice([0.05, 1.0, 10.0])
    probas = rng.dirichlet(np.full(n_classes, alpha), size=(n_members, n_samples))
    for score in (kl_divergence_score(probas), vote_entropy_score(probas)):
        assert score.shape == (n_samples,)
        assert np.all((score >= 0) & (score <= 1))
    # One-hot members: the KL score is the vote entropy.
    labels = rng.integers(0, n_classes, size=(n_members, n_samples))
    hard = one_hot(labels, n_classes)
    np.testing.assert_allclose(kl_divergence_score(hard), vote_entropy_score(hard), atol=1e-12)
    np.testing.assert_allclose(
        vote_entropy_score(labels, n_classes=n_classes), vote_entropy_score(hard), atol=1e-12
    )


@pytest.mark.parametrize(("n_members", "n_classes"), [(2, 2), (3, 2), (2, 4), (5, 3), (6, 3)])
def test_agreement_is_zero_and_the_most_even_split_is_one(n_members, n_classes):
    rng = np.random.default_rng(n_members * 10 + n_classes)
    # Agreement: every member predicts the same distribution.
    same = np.broadcast_to(rng.dirichlet(np.ones(n_classes), size=6), (n_members, 6, n_classes))
    np.testing.assert_allclose(kl_divergence_score(same), 0.0, atol=1e-12)
    np.testing.assert_array_equal(vote_entropy_score(same), 0.0)
    # Maximal disagreement: one-hot members, votes spread round robin over
    # min(M, C) classes (as evenly as M votes can be).
    split = one_hot(np.arange(n_members)[:, None] % n_classes, n_classes)
    np.testing.assert_allclose(kl_divergence_score(split), [1.0])
    np.testing.assert_allclose(vote_entropy_score(split), [1.0])
    np.testing.assert_allclose(
        vote_entropy_score(np.arange(n_members)[:, None] % n_classes, n_classes=n_classes), [1.0]
    )


def test_dtypes():
    probas = np.array([[[0.7, 0.3]], [[0.2, 0.8]]])
    assert kl_divergence_score(probas.astype(np.float32)).dtype == np.float32
    assert kl_divergence_score(probas).dtype == np.float64
    assert vote_entropy_score(probas.astype(np.float32)).dtype == np.float64
    np.testing.assert_allclose(
        kl_divergence_score(probas.astype(np.float32)), kl_divergence_score(probas), rtol=1e-5
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: kl_divergence_score([[0.5, 0.5]]), ValueError, "probas must have shape"),
        (lambda: kl_divergence_score([[[0.5, 0.5]]]), ValueError, "at least 2 members"),
        (lambda: kl_divergence_score([[[1.0]], [[1.0]]]), ValueError, "2 classes"),
        (
            lambda: kl_divergence_score([[[0.5, 0.5]], [[0.5, 0.6]]]),
            ValueError,
            "member 1, sample 0 sums to 1.1",
        ),
        (
            lambda: kl_divergence_score([[[0.5, 0.5]], [[1.5, -0.5]]]),
            ValueError,
            "probas must lie in [0, 1]; member 1, sample 0",
        ),
        (lambda: kl_divergence_score([[[np.nan, 1.0]]] * 2), ValueError, "NaN"),
        (lambda: vote_entropy_score([[0, 1, 2]]), ValueError, "at least 2 members"),
        (lambda: vote_entropy_score([0, 1, 2]), ValueError, "votes must have shape"),
        (lambda: vote_entropy_score([[0, 1], [2, 1]], n_classes=2), ValueError, "3 distinct"),
        (lambda: vote_entropy_score([[0.0, 1.0], [np.nan, 1.0]]), ValueError, "votes[1, 0]"),
        (lambda: vote_entropy_score([["a", None], ["b", "a"]]), ValueError, "votes[0, 1]"),
        (lambda: vote_entropy_score([[0, 1], [1, 1]], n_classes=2.0), TypeError, "n_classes"),
        (
            lambda: vote_entropy_score([[[0.5, 0.5]], [[0.4, 0.6]]], n_classes=3),
            ValueError,
            "probas has 2 columns",
        ),
        (lambda: vote_entropy_score(sparse.eye(2)), TypeError, "sparse"),
    ],
)
def test_invalid_inputs(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


# --- committees: alignment, feature subsets, encoded labels --------------------


def tiny_problem(seed=0, n=60, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X[:, 0] > 0.5, "c", np.where(X[:, 1] > 0, "b", "a"))
    return X, y


def test_a_member_that_misses_a_class_gets_a_zero_column():
    X, y = tiny_problem()
    two = y != "c"
    members = [
        LogisticRegression().fit(X[two], y[two]),  # knows a, b
        GaussianNB().fit(X, y),  # knows a, b, c
        DecisionTreeClassifier(random_state=0).fit(X[y != "a"], y[y != "a"]),  # b, c
    ]
    probas = committee_proba(members, X[:7])
    assert probas.shape == (3, 7, 3)  # the union of the classes, sorted: a, b, c
    np.testing.assert_array_equal(probas[0][:, :2], members[0].predict_proba(X[:7]))
    np.testing.assert_array_equal(probas[0][:, 2], 0.0)
    np.testing.assert_array_equal(probas[2][:, 0], 0.0)
    np.testing.assert_array_equal(probas[2][:, 1:], members[2].predict_proba(X[:7]))
    # Given classes: in that order, with a class nobody knows.
    given_classes = ["c", "z", "b", "a"]
    permuted = committee_proba(members, X[:7], classes=given_classes)
    np.testing.assert_array_equal(permuted[:, :, [3, 2, 0]], probas)
    np.testing.assert_array_equal(permuted[:, :, 1], 0.0)
    votes = committee_votes(members, X[:7], classes=given_classes)
    expected = np.array([member.predict(X[:7]) for member in members])
    np.testing.assert_array_equal(votes, expected)
    with pytest.raises(
        ValueError, match=re.escape("member 1 of the committee has class(es) ['c']")
    ):
        committee_proba(members, X[:7], classes=["a", "b"])


@pytest.mark.parametrize("labels", ["strings", "integers"])
def test_bagging_on_feature_subsets_with_members_missing_classes(labels):
    # 1-NN members on bootstrap samples of 9 rows, one of them alone in its
    # class: some members miss classes, and each sees 3 of 5 features. The
    # committee's mean is the ensemble's own predict_proba.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9, 5))
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2])
    if labels == "strings":
        y = np.array(["x", "y", "z"])[y]
    bagging = BaggingClassifier(
        KNeighborsClassifier(1, algorithm="brute"), n_estimators=12, max_features=3, random_state=0
    ).fit(X, y)
    assert any(len(member.classes_) < 3 for member in bagging.estimators_)
    assert all(len(features) == 3 for features in bagging.estimators_features_)
    pool = rng.normal(size=(30, 5))
    probas = committee_proba(bagging, pool)
    assert probas.shape == (12, 30, 3)
    np.testing.assert_allclose(probas.mean(axis=0), bagging.predict_proba(pool), atol=1e-12)
    # A member's vote is its prediction, decoded into the ensemble's labels.
    votes = committee_votes(bagging, pool)
    np.testing.assert_array_equal(votes, bagging.classes_[probas.argmax(axis=2)])
    assert set(np.unique(votes)) <= set(bagging.classes_.tolist())
    # Sparse samples: the same.
    np.testing.assert_allclose(committee_proba(bagging, sparse.csr_matrix(pool)), probas)


def test_forest_and_soft_voting_members_are_the_committee():
    X, y = tiny_problem(2)
    forest = RandomForestClassifier(n_estimators=7, random_state=0).fit(X, y)
    probas = committee_proba(forest, X[:10])
    assert probas.shape == (7, 10, 3)
    np.testing.assert_allclose(probas.mean(axis=0), forest.predict_proba(X[:10]))
    assert committee_votes(forest, X[:10]).dtype.kind == "U"
    voting = VotingClassifier(
        [("lr", LogisticRegression()), ("nb", GaussianNB())], voting="soft"
    ).fit(X, y)
    np.testing.assert_allclose(
        committee_proba(voting, X[:10]).mean(axis=0), voting.predict_proba(X[:10])
    )


def test_votes_of_members_without_predict_proba():
    X, y = tiny_problem(3)
    bagging = BaggingClassifier(Perceptron(), n_estimators=5, random_state=0).fit(X, y)
    votes = committee_votes(bagging, X[:20])
    assert votes.shape == (5, 20)
    scores = vote_entropy_score(votes, n_classes=len(bagging.classes_))
    assert np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(AttributeError):
        committee_proba(bagging, X[:20])


def test_committee_errors():
    X, y = tiny_problem()
    fitted = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="at least 2 members"):
        committee_proba([fitted], X)
    with pytest.raises(TypeError, match="fitted ensemble classifier"):
        committee_proba(fitted, X)
    with pytest.raises(TypeError, match=re.escape("member 1 of the committee (GaussianNB)")):
        committee_proba([fitted, GaussianNB()], X)
    with pytest.raises(ValueError, match="distinct labels"):
        committee_proba([fitted, fitted], X, classes=["a", "a", "b", "c"])


# --- CommitteeSampler -----------------------------------------------------------


def labeled_pool(seed=0, n=150, n_labeled=20, n_classes=3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(n_classes, 2))
    y_true = rng.integers(0, n_classes, size=n)
    X = centers[y_true] + rng.normal(size=(n, 2))
    y = np.full(n, -1)
    y[:n_labeled] = y_true[:n_labeled]
    return X, y


def test_cold_start_is_the_representative_pick():
    X, y = labeled_pool()
    expected = KMeansSampler(None, 6, random_state=3).fit().select_samples(X)
    for labels in (None, np.zeros(10, dtype=int)):  # nothing labeled, one class
        X_labeled = None if labels is None else X[:10]
        sampler = CommitteeSampler(LogisticRegression(), 6, random_state=3)
        sampler.fit(X_labeled, labels)
        assert sampler.cold_start_
        assert not hasattr(sampler, "classifier_") and not hasattr(sampler, "committee_")
        np.testing.assert_array_equal(sampler.select_samples(X), expected)
        with pytest.raises(ValueError, match="has no model to score with"):
            sampler.score_samples(X)
    # A refit on one class drops the committee of the previous fit.
    sampler = CommitteeSampler(LogisticRegression(), 6, random_state=3).fit(X[:20], y[:20])
    assert len(sampler.committee_) == 5
    sampler.fit(X[:10], np.zeros(10, dtype=int))
    assert sampler.cold_start_ and not hasattr(sampler, "committee_")


@settings(max_examples=25)
@given(
    seed=st.integers(0, 1000),
    n_labeled=st.integers(0, 30),
    n_classes=st.integers(1, 3),
    batch=st.integers(1, 10),
    measure=st.sampled_from(["kl_divergence", "vote_entropy"]),
    ensemble=st.booleans(),
)
def test_query_never_returns_a_labeled_row(seed, n_labeled, n_classes, batch, measure, ensemble):
    X, y = labeled_pool(seed, n=60, n_labeled=n_labeled, n_classes=n_classes)
    classifier = (
        BaggingClassifier(
            DecisionTreeClassifier(max_depth=2), n_estimators=4, max_features=1, random_state=seed
        )
        if ensemble
        else LogisticRegression()
    )
    sampler = CommitteeSampler(classifier, batch, n_members=3, measure=measure, random_state=seed)
    picks = sampler.query(X, y, missing_label=-1)
    assert picks.shape == (batch,) and np.unique(picks).size == batch
    assert np.all(y[picks] == -1)
    # query is fit on the labeled rows, then select_samples on the others.
    labeled, pool = np.flatnonzero(y != -1), np.flatnonzero(y == -1)
    again = CommitteeSampler(classifier, batch, n_members=3, measure=measure, random_state=seed)
    np.testing.assert_array_equal(
        picks, pool[again.fit(X[labeled], y[labeled]).select_samples(X[pool])]
    )


def test_bootstrap_committee_knows_every_class_and_is_reproducible():
    X, y = labeled_pool(4, n_labeled=12)
    y_labeled = y[:12].copy()
    y_labeled[0] = 7  # a class of one sample: every stratified bootstrap keeps it
    sampler = CommitteeSampler(LogisticRegression(), 8, n_members=4, random_state=0)
    sampler.fit(X[:12], y_labeled)
    assert len(sampler.committee_) == 4
    for member in sampler.committee_:
        np.testing.assert_array_equal(member.classes_, sampler.classifier_.classes_)
    # Score = the measure of the members' aligned probabilities.
    pool = X[12:]
    scores = sampler.score_samples(pool)
    np.testing.assert_allclose(
        scores, kl_divergence_score(committee_proba(sampler.committee_, pool))
    )
    sampler.set_params(measure="vote_entropy")
    np.testing.assert_allclose(
        sampler.score_samples(pool), vote_entropy_score(committee_proba(sampler.committee_, pool))
    )
    # The selection is the highest scores (ties: lowest index).
    np.testing.assert_array_equal(
        sampler.select_samples(pool), top_scores(sampler.score_samples(pool), 8)
    )
    # Members get distinct seeds of their own from random_state: they differ,
    # and the committee is the same for the same random_state.
    trees = [
        CommitteeSampler(DecisionTreeClassifier(max_features=1), 5, random_state=1)
        .fit(X[:12], y_labeled)
        .score_samples(pool)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(trees[0], trees[1])
    assert trees[0].max() > 0


def test_an_ensemble_classifier_is_the_committee():
    X, y = labeled_pool(5, n_labeled=40)
    labeled, pool = slice(0, 40), slice(40, None)
    bagging = BaggingClassifier(
        DecisionTreeClassifier(), n_estimators=6, max_features=1, random_state=0
    )
    sampler = CommitteeSampler(bagging, 5, n_members=2, random_state=0).fit(X[labeled], y[labeled])
    assert sampler.committee_ == sampler.classifier_.estimators_  # n_members is not used
    np.testing.assert_allclose(
        sampler.score_samples(X[pool]),
        kl_divergence_score(committee_proba(sampler.classifier_, X[pool])),
    )


def test_sparse_pool_picks_as_dense():
    X, y = labeled_pool(6, n_labeled=30)
    X = np.abs(X)
    X[X < 0.5] = 0.0
    picks = []
    for data in (X, sparse.csr_matrix(X)):
        sampler = CommitteeSampler(MultinomialNB(), 5, random_state=0)
        picks.append(sampler.query(data, y, missing_label=-1))
    np.testing.assert_array_equal(picks[0], picks[1])


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"n_members": 1}, ValueError, "n_members == 1, must be >= 2"),
        ({"measure": "entropy"}, ValueError, "measure must be one of"),
        (
            {"classifier": KMeansSampler(None, 2)},
            TypeError,
            "needs a classifier with predict_proba",
        ),
    ],
)
def test_sampler_parameters_are_checked(params, error, message):
    X, y = labeled_pool()
    sampler = CommitteeSampler(LogisticRegression(), 4).set_params(**params)
    with pytest.raises(error, match=re.escape(message)):
        sampler.fit(X[:20], y[:20])


# --- committee scores as WKMeans / IWKMeans weights ----------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_committee_scores_as_wkmeans_weights(dtype):
    X, y = labeled_pool(7, n=400, n_labeled=30)
    X_labeled, y_labeled, X_pool = X[:30], y[:30], X[30:].astype(dtype)
    bagging = BaggingClassifier(LogisticRegression(), n_estimators=5, random_state=0)
    bagging.fit(X_labeled, y_labeled)
    for scores in (
        vote_entropy_score(committee_proba(bagging, X_pool)),
        kl_divergence_score(committee_proba(bagging, X_pool)),
        CommitteeSampler(LogisticRegression(), 6, random_state=0)
        .fit(X_labeled, y_labeled)
        .score_samples(X_pool),
    ):
        for labeled in (None, X_labeled):  # WKMeans, IWKMeans
            picks = select_wkmeans(X_pool, scores, 6, beta=4, X_labeled=labeled, random_state=0)
            assert picks.shape == (6,) and np.unique(picks).size == 6
            # Picked among the 24 most disagreed-upon samples (ties: lowest index).
            assert set(picks.tolist()) <= set(preselect(scores, 6, 4).tolist())


class _Shared:
    """A model whose clone is itself and that has no classes_."""

    def __sklearn_clone__(self):
        return self

    def fit(self, X, y):
        self.model_ = GaussianNB().fit(X, y)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_members_must_be_independent_classifiers_with_classes():
    X, y = labeled_pool()
    with pytest.raises(TypeError, match="the fitted _Shared has none"):
        CommitteeSampler(_Shared(), 4).fit(X[:20], y[:20])
    _Shared.classes_ = property(lambda self: self.model_.classes_)
    try:
        with pytest.raises(TypeError, match="cloning _Shared returns the same object"):
            CommitteeSampler(_Shared(), 4).fit(X[:20], y[:20])
    finally:
        del _Shared.classes_
