"""The IWKMeans variants: which labeled samples are fixed centroids
(``fixed="correct"``), fixed centroids that move and are put back
(``reset_every``), and mini-batch clustering (``algorithm="minibatch"``), on
:func:`select_wkmeans` and the WKMeans/IWKMeans samplers."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from iwkmeans import (
    ClusteredSampler,
    IncrementalKMeans,
    IWKMeansSampler,
    WKMeansSampler,
    select_wkmeans,
)
from iwkmeans.active._selection import cluster_with_resets, preselect


def blobs_with_labels(seed, n_blobs=6, per_blob=15, spread=0.3, gap=20.0):
    """Well separated 2-D blobs (centers on a line, ``gap`` apart), one
    labeled sample at each blob's center, and each pool row's blob."""
    rng = np.random.default_rng(seed)
    centers = np.c_[np.arange(n_blobs) * gap, np.zeros(n_blobs)]
    X_pool = np.repeat(centers, per_blob, axis=0) + rng.normal(
        scale=spread, size=(n_blobs * per_blob, 2)
    )
    return X_pool, centers.copy(), np.repeat(np.arange(n_blobs), per_blob)


def nearest_member_picks(X, centers, labels, n_fixed):
    """The row of X nearest to each free center among its members, by plain
    NumPy (the reference for the selection's last step)."""
    picks = []
    for j in range(n_fixed, centers.shape[0]):
        members = np.flatnonzero(labels == j)
        distance = ((X[members] - centers[j]) ** 2).sum(axis=1)
        picks.append(members[np.argmin(distance)])
    return np.array(picks)


def labeled_problem(seed):
    """A pool, scores, and a labeled set of 12 rows (two classes) in 3-D."""
    rng = np.random.default_rng(seed)
    X_pool = rng.normal(size=(120, 3))
    scores = rng.uniform(0.1, 1.0, size=120)
    X_labeled = rng.normal(size=(12, 3))
    return X_pool, scores, X_labeled


# Defaults: today's picks ------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_defaults_are_plain_iwkmeans(seed):
    X_pool, scores, X_labeled = labeled_problem(seed)
    plain = select_wkmeans(X_pool, scores, 5, beta=4, X_labeled=X_labeled, random_state=seed)
    spelled_out = select_wkmeans(
        X_pool,
        scores,
        5,
        beta=4,
        X_labeled=X_labeled,
        fixed="all",
        reset_every=None,
        algorithm="lloyd",
        minibatch_size=7,  # ignored by Lloyd
        random_state=seed,
    )
    np.testing.assert_array_equal(spelled_out, plain)
    # Every row fixed, by mask or because the model is right on all of them.
    every = np.ones(len(X_labeled), dtype=bool)
    by_mask = select_wkmeans(
        X_pool, scores, 5, beta=4, X_labeled=X_labeled, fixed=every, random_state=seed
    )
    all_correct = select_wkmeans(
        X_pool,
        scores,
        5,
        beta=4,
        X_labeled=X_labeled,
        fixed="correct",
        y_labeled=np.arange(12) % 2,
        y_labeled_pred=np.arange(12) % 2,
        random_state=seed,
    )
    np.testing.assert_array_equal(by_mask, plain)
    np.testing.assert_array_equal(all_correct, plain)
    # The same as the public estimator on the preselection, fixed centers
    # the labeled rows, scores as weights, nearest member of each cluster.
    rows = preselect(scores, 5, 4)
    km = IncrementalKMeans(5, random_state=seed).fit(
        X_pool[rows], sample_weight=scores[rows], fixed_centers=X_labeled
    )
    expected = rows[nearest_member_picks(X_pool[rows], km.cluster_centers_, km.labels_, 12)]
    np.testing.assert_array_equal(np.sort(plain), np.sort(expected))


def test_sampler_defaults_are_plain_iwkmeans():
    X_pool, _, X_labeled = labeled_problem(0)
    y_labeled = (X_labeled[:, 0] > 0).astype(int)
    sampler = IWKMeansSampler(LogisticRegression(), 5, beta=4, random_state=0)
    picks = sampler.fit(X_labeled, y_labeled).select_samples(X_pool)
    scores = sampler.score_samples(X_pool)
    expected = select_wkmeans(X_pool, scores, 5, beta=4, X_labeled=X_labeled, random_state=0)
    np.testing.assert_array_equal(picks, expected)


# fixed="correct" --------------------------------------------------------------


@given(seed=st.integers(0, 2**16), wrong=st.sets(st.integers(0, 5), min_size=1, max_size=5))
def test_correct_only_the_misclassified_labeled_samples_repel_nothing(seed, wrong):
    # One labeled sample at the center of each blob; the model gets those of
    # the blobs in ``wrong`` wrong. With one pick per misclassified sample,
    # the picks land one in each of their blobs, none next to a labeled
    # sample the model classifies correctly (it is a fixed centroid that
    # holds its blob).
    X_pool, X_labeled, blob = blobs_with_labels(seed)
    y_labeled = np.arange(6)
    y_pred = y_labeled.copy()
    wrong = sorted(wrong)
    y_pred[wrong] = (y_pred[wrong] + 1) % 6
    scores = np.full(len(X_pool), 0.5)
    picks = select_wkmeans(
        X_pool,
        scores,
        len(wrong),
        beta=100,  # preselect the whole pool
        X_labeled=X_labeled,
        fixed="correct",
        y_labeled=y_labeled,
        y_labeled_pred=y_pred,
        random_state=seed,
    )
    assert sorted(blob[picks].tolist()) == wrong
    mask = y_labeled == y_pred
    by_mask = select_wkmeans(
        X_pool, scores, len(wrong), beta=100, X_labeled=X_labeled, fixed=mask, random_state=seed
    )
    np.testing.assert_array_equal(by_mask, picks)


def test_correct_against_all_on_a_hand_made_layout():
    # Two blobs with a labeled sample at each center, a lone row at 14; one
    # pick. The model is wrong about the labeled sample of blob 1 (at 10).
    # fixed="all": both blobs are held, the free cluster is the lone row.
    # fixed="correct": blob 1 and the lone row form the free cluster (mean
    # 11.025, every one of its rows nearer to it than to 0), and the pick is
    # the row nearest that mean, 11.
    X_pool = np.array([[-1.0], [0.1], [1.0], [9.0], [10.1], [11.0], [14.0]])
    X_labeled = np.array([[0.0], [10.0]])
    scores = np.full(7, 0.5)
    for seed in range(5):
        correct = select_wkmeans(
            X_pool,
            scores,
            1,
            X_labeled=X_labeled,
            fixed="correct",
            y_labeled=[0, 1],
            y_labeled_pred=[0, 0],
            random_state=seed,
        )
        every = select_wkmeans(X_pool, scores, 1, X_labeled=X_labeled, random_state=seed)
        assert X_pool[correct].ravel().tolist() == [11.0]
        assert X_pool[every].ravel().tolist() == [14.0]


def test_sampler_correct_uses_the_model_predictions_on_the_labeled_set():
    rng = np.random.default_rng(3)
    X_labeled = rng.normal(size=(40, 2))
    # Labels a linear model cannot fit exactly: some labeled rows are
    # misclassified by the fitted model.
    y_labeled = ((X_labeled[:, 0] + 0.8 * rng.normal(size=40)) > 0).astype(int)
    X_pool = rng.normal(size=(200, 2))
    sampler = IWKMeansSampler(LogisticRegression(), 6, beta=5, fixed="correct", random_state=1)
    picks = sampler.fit(X_labeled, y_labeled).select_samples(X_pool)
    predicted = sampler.classifier_.predict(X_labeled)
    assert 0 < np.count_nonzero(predicted != y_labeled) < 40
    np.testing.assert_array_equal(sampler.y_labeled_, y_labeled)
    expected = select_wkmeans(
        X_pool,
        sampler.score_samples(X_pool),
        6,
        beta=5,
        X_labeled=X_labeled,
        fixed="correct",
        y_labeled=y_labeled,
        y_labeled_pred=predicted,
        random_state=1,
    )
    np.testing.assert_array_equal(picks, expected)


# reset_every ------------------------------------------------------------------


@given(
    seed=st.integers(0, 2**16),
    n_anchors=st.integers(1, 8),
    k=st.integers(1, 5),
    reset_every=st.integers(1, 12),
)
def test_reset_every_leaves_the_labeled_centers_on_the_labeled_samples(
    seed, n_anchors, k, reset_every
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 2))
    weights = rng.uniform(0.1, 1.0, size=40)
    anchors = rng.normal(size=(n_anchors, 2))
    centers, labels = cluster_with_resets(X, weights, anchors, k, seed, 1, reset_every)
    assert centers.shape == (n_anchors + k, 2)
    np.testing.assert_array_equal(centers[:n_anchors], anchors)
    # Each row is labeled with its nearest center, anchors included.
    distance = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, np.argmin(distance, axis=1))


@pytest.mark.parametrize("seed", range(6))
def test_reset_every_one_is_plain_iwkmeans(seed):
    # Reset after every iteration: each assignment sees the labeled
    # centroids on the labeled samples, as fixed centroids are seen.
    X_pool, scores, X_labeled = labeled_problem(seed)
    plain = select_wkmeans(X_pool, scores, 5, beta=4, X_labeled=X_labeled, random_state=seed)
    reset = select_wkmeans(
        X_pool, scores, 5, beta=4, X_labeled=X_labeled, reset_every=1, random_state=seed
    )
    np.testing.assert_array_equal(reset, plain)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reset_every", [2, 5, 300])
def test_reset_every_ends_on_a_round_that_moves_nothing(seed, reset_every):
    # The rounds stop when one more round, started with the labeled
    # centroids on the labeled samples, moves the free centers by at most
    # tol (scikit-learn's: 1e-4 times the mean per-feature variance). Check
    # with the public estimator: the labeled centroids that hold rows start
    # the round free, the others stay fixed.
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 4.0]
    anchors = np.r_[X[[0, 31]] + 0.05, [[20.0, 20.0]]]  # two in the blobs, one far
    weights = rng.uniform(0.5, 1.0, size=60)
    centers, labels = cluster_with_resets(X, weights, anchors, 3, seed, 1, reset_every)
    np.testing.assert_array_equal(centers[:3], anchors)
    holding = np.isin(np.arange(3), labels)
    assert holding.tolist() == [True, True, False]
    again = IncrementalKMeans(
        5, init=np.r_[anchors[holding], centers[3:]], max_iter=reset_every
    ).fit(X, sample_weight=weights, fixed_centers=anchors[~holding])
    shift = np.sum((again.cluster_centers_[3:] - centers[3:]) ** 2)
    assert shift <= 1e-4 * X.var(axis=0).mean() * (1 + 1e-9)


def test_reset_every_changes_the_picks_where_labeled_centroids_may_move():
    # A labeled sample at 0, at the edge of a blob (1 to 4 by 0.5), another
    # blob at 6, 7, 8; one pick. Fixed at 0, the labeled centroid leaves
    # the blob's far rows (3, 3.5, 4) to the free center, whose cluster
    # {3, 3.5, 4, 6, 7, 8} has mean 5.25: nearest row 6. Moving for two
    # iterations, it follows its rows towards their mean and gives blob 2
    # alone to the free center (mean 7); put back at 0, it loses 3.5 and 4
    # for one iteration and wins them back in the next, so every round
    # ends with the free center at 7 again: the pick is 7.
    X_pool = np.r_[np.linspace(1.0, 4.0, 7), [6.0, 7.0, 8.0]][:, None]
    X_labeled = np.array([[0.0]])
    scores = np.full(10, 0.5)
    for seed in range(3):
        picks = {
            reset_every: X_pool[
                select_wkmeans(
                    X_pool,
                    scores,
                    1,
                    X_labeled=X_labeled,
                    reset_every=reset_every,
                    random_state=seed,
                )
            ]
            .ravel()
            .tolist()
            for reset_every in (None, 1, 2, 300)
        }
        assert picks == {None: [6.0], 1: [6.0], 2: [7.0], 300: [7.0]}


# algorithm="minibatch" --------------------------------------------------------


@given(seed=st.integers(0, 2**16), minibatch_size=st.integers(1, 200), k=st.integers(1, 8))
def test_minibatch_picks_are_distinct_preselected_rows(seed, minibatch_size, k):
    X_pool, scores, X_labeled = labeled_problem(seed % 64)
    picks = select_wkmeans(
        X_pool,
        scores,
        k,
        beta=3,
        X_labeled=X_labeled,
        algorithm="minibatch",
        minibatch_size=minibatch_size,
        random_state=seed,
    )
    assert picks.shape == (k,)
    assert len(set(picks.tolist())) == k
    assert set(picks.tolist()) <= set(preselect(scores, k, 3).tolist())


@pytest.mark.parametrize("seed", range(5))
def test_minibatch_equals_lloyd_on_well_separated_blobs(seed):
    X_pool, X_labeled, blob = blobs_with_labels(seed, n_blobs=8)
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.2, 1.0, size=len(X_pool))
    # Half the blobs have a labeled sample: one pick per other blob.
    kwargs = dict(beta=100, X_labeled=X_labeled[::2], random_state=seed)
    lloyd = select_wkmeans(X_pool, scores, 4, **kwargs)
    minibatch = select_wkmeans(X_pool, scores, 4, algorithm="minibatch", **kwargs)
    assert sorted(blob[lloyd].tolist()) == [1, 3, 5, 7]
    np.testing.assert_array_equal(np.sort(minibatch), np.sort(lloyd))


@pytest.mark.parametrize("sampler_class", [WKMeansSampler, ClusteredSampler, IWKMeansSampler])
def test_samplers_cluster_by_minibatch(sampler_class):
    # Four well separated blobs, four picks; the labeled samples lie far
    # from them (100 above): one pick per blob, Lloyd or mini-batch.
    X_pool, _, blob = blobs_with_labels(0, n_blobs=4)
    X_labeled = np.c_[np.arange(4) * 20.0, np.full(4, 100.0)]
    y_labeled = np.arange(4) % 2
    picks = {}
    for algorithm in ("lloyd", "minibatch"):
        sampler = sampler_class(
            LogisticRegression(), 4, beta=100, algorithm=algorithm, random_state=0
        )
        picks[algorithm] = sampler.fit(X_labeled, y_labeled).select_samples(X_pool)
        assert sorted(blob[picks[algorithm]].tolist()) == [0, 1, 2, 3]
    np.testing.assert_array_equal(np.sort(picks["minibatch"]), np.sort(picks["lloyd"]))


# Cold start and query -----------------------------------------------------------

OPTIONS = [
    {"fixed": "correct"},
    {"reset_every": 3},
    {"algorithm": "minibatch"},
    {"fixed": "correct", "algorithm": "minibatch", "minibatch_size": 16},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_cold_start_and_query_with_the_options(options):
    X_pool, X_labeled, blob = blobs_with_labels(1, n_blobs=6)
    # One class labeled: no model, the representative pick around the
    # labeled samples; fixed="correct" then fixes all of them.
    sampler = IWKMeansSampler(LogisticRegression(), 3, random_state=0, **options)
    picks = sampler.fit(X_labeled[:3], np.zeros(3)).select_samples(X_pool)
    assert sampler.cold_start_
    assert sorted(blob[picks].tolist()) == [3, 4, 5]
    # query on one array, unlabeled rows marked NaN, twice: cold, then warm.
    X = np.r_[X_labeled, X_pool]
    y = np.full(len(X), np.nan)
    first = sampler.query(X, y)
    assert len(set(first.tolist())) == 3 and sampler.cold_start_
    y[first] = np.arange(3) % 2
    y[:6] = np.arange(6) % 2
    second = sampler.query(X, y, batch_size=4)
    assert not sampler.cold_start_
    assert len(set(second.tolist())) == 4
    assert np.isnan(y[second]).all()


def test_cold_start_correct_fixes_every_labeled_sample():
    X_pool, X_labeled, _ = blobs_with_labels(2)
    picks = {
        fixed: IWKMeansSampler(LogisticRegression(), 3, fixed=fixed, random_state=0)
        .fit(X_labeled[:3], np.zeros(3))
        .select_samples(X_pool)
        for fixed in ("all", "correct")
    }
    np.testing.assert_array_equal(picks["correct"], picks["all"])


# Bad values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        ({"algorithm": "elkan"}, "algorithm must be 'lloyd' or 'minibatch'"),
        ({"algorithm": None}, "algorithm must be"),
        ({"minibatch_size": 0}, "minibatch_size"),
        ({"minibatch_size": 2.5}, "minibatch_size"),
        ({"reset_every": 0}, "reset_every"),
        ({"reset_every": True}, "reset_every"),
        ({"reset_every": 2, "algorithm": "minibatch"}, "reset_every needs algorithm='lloyd'"),
        ({"fixed": "some"}, "fixed must be 'all', 'correct'"),
        ({"fixed": "correct"}, "fixed='correct' needs y_labeled and y_labeled_pred"),
        (
            {"fixed": "correct", "y_labeled": [0, 1], "y_labeled_pred": [0, 1, 1]},
            r"y_labeled must have shape \(3,\)",
        ),
        ({"fixed": [True, False]}, r"boolean array of shape \(3,\)"),
        ({"fixed": np.array([1, 0, 1])}, r"boolean array of shape \(3,\)"),
    ],
)
def test_select_wkmeans_refuses_bad_options(options, message):
    X_pool, scores, _ = labeled_problem(0)
    X_labeled = X_pool[:3] + 0.5
    with pytest.raises((ValueError, TypeError), match=message):
        select_wkmeans(X_pool, scores, 2, X_labeled=X_labeled, **options)


def test_minibatch_refuses_a_sparse_pool():
    X_pool, scores, _ = labeled_problem(0)
    with pytest.raises(ValueError, match="algorithm='minibatch' needs dense samples"):
        select_wkmeans(sparse.csr_matrix(X_pool), scores, 2, algorithm="minibatch")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"fixed": "wrong"}, "fixed must be 'all' or 'correct'"),
        ({"reset_every": -1}, "reset_every"),
        ({"algorithm": "full"}, "algorithm must be"),
        ({"minibatch_size": 0}, "minibatch_size"),
        ({"reset_every": 1, "algorithm": "minibatch"}, "reset_every needs"),
    ],
)
def test_sampler_refuses_bad_options_with_a_model_and_in_a_cold_start(options, message):
    X_pool, _, X_labeled = labeled_problem(0)
    y_labeled = np.arange(12) % 2
    for labels in (y_labeled, np.zeros(12)):
        sampler = IWKMeansSampler(LogisticRegression(), 3, **options).fit(X_labeled, labels)
        with pytest.raises((ValueError, TypeError), match=message):
            sampler.select_samples(X_pool)
