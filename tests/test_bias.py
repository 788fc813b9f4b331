"""The reuse check: labeled_set_bias on a tiny cached run, and BiasResult."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from iwkmeans.experiments import run_experiment
from iwkmeans.experiments.bias import BiasResult, labeled_set_bias
from iwkmeans.experiments.cache import replay

from _helpers import PNG_SIGNATURE

RUN = "Leftmost_seed0"


class LeftmostSampler:
    """Selects the pool rows with the smallest first feature: class 0 first
    in the data below, a labeled set biased against class 1."""

    def __init__(self, classifier, batch_size):
        self.classifier = classifier
        self.batch_size = batch_size

    def fit(self, X, y):
        self.classifier_ = clone(self.classifier).fit(X, y)
        return self

    def select_samples(self, X_pool):
        return np.argsort(X_pool[:, 0], kind="stable")[: self.batch_size]


class RowRecorder(ClassifierMixin, BaseEstimator):
    """Remembers which rows it was trained on (column 1 of X is the row number)."""

    def fit(self, X, y):
        self.rows_ = X[:, 1].astype(int)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(X.shape[0], self.classes_[0])


def class_one_share(estimator, X, y):
    """A scorer: the share of class 1 in a DummyClassifier's training set."""
    return estimator.class_prior_[1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """40 rows of 2 classes; column 0 is the class (0 or 10) plus noise,
    column 1 the row number. A 50/50 split, 4 initial labels, 2 batches of 4
    leftmost rows: 20 train rows, 16 of them in the pool."""
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    X = np.column_stack([10 * y + rng.normal(size=40), np.arange(40)])
    cache = tmp_path_factory.mktemp("cache")
    run_experiment(
        X,
        y,
        lambda c, b, r: LeftmostSampler(c, b),
        initial_size=4,
        batch_size=4,
        n_batches=2,
        classifier=LogisticRegression(),
        random_state=0,
        cache=cache,
        run_name="Leftmost",
    )
    steps = list(replay(cache, RUN, X, y))
    return cache, X, y, steps


def test_replayed_scores_are_the_labeled_sets_class_shares(tiny_run):
    cache, X, y, steps = tiny_run
    result = labeled_set_bias(
        cache, RUN, X, y, DummyClassifier(strategy="prior"), scoring=class_one_share, n_random=5
    )
    assert result.run == RUN and result.scoring == "class_one_share"
    assert result.n_labeled.tolist() == [4, 8, 12]
    np.testing.assert_array_equal(
        result.replayed, [np.mean(y[step.labeled] == 1) for step in steps]
    )
    # The initial set is stratified (2 of each class); the batches are the
    # 8 leftmost pool rows, all of class 0: shares 2/4, 2/8, 2/12.
    np.testing.assert_allclose(result.replayed, [2 / 4, 2 / 8, 2 / 12])


def test_step_0_random_sets_are_the_initial_set(tiny_run):
    cache, X, y, _ = tiny_run
    result = labeled_set_bias(
        cache, RUN, X, y, DummyClassifier(strategy="prior"), scoring=class_one_share, n_random=5
    )
    np.testing.assert_array_equal(result.random[:, 0], result.replayed[0])
    assert result.difference[0] == 0
    assert result.percentile[0] == 50  # every random score ties with it


def test_random_sets_are_the_initial_set_plus_nested_pool_rows(tiny_run):
    cache, X, y, steps = tiny_run
    initial, test = steps[0].labeled, steps[0].test
    pool = np.setdiff1d(np.arange(40), np.concatenate([initial, test]))
    assert pool.size == 16
    trained, judged = [], []

    def record(estimator, X_test, y_test):
        trained.append(estimator.rows_)
        judged.append(X_test[:, 1].astype(int))
        return 0.0

    n_random = 4
    labeled_set_bias(
        cache, RUN, X, y, RowRecorder(), scoring=record, n_random=n_random, random_state=0
    )
    # The replayed sets first, then each random set at every step.
    assert len(trained) == 3 + n_random * 3
    for rows, step in zip(trained[:3], steps):
        np.testing.assert_array_equal(rows, step.labeled)
    for r in range(n_random):
        sets = trained[3 + 3 * r : 6 + 3 * r]
        for rows, size in zip(sets, (4, 8, 12)):
            assert rows.size == size
            np.testing.assert_array_equal(rows[:4], initial)
            added = rows[4:]
            assert np.unique(added).size == added.size and np.isin(added, pool).all()
        np.testing.assert_array_equal(sets[2][:8], sets[1])  # nested
    for rows in judged:
        np.testing.assert_array_equal(rows, test)


def test_random_sets_are_uniform_over_the_pool(tiny_run):
    # Step 1 adds 4 random rows of the pool, 8 of each class: the class-1
    # share of the set is (2 + H) / 8, H hypergeometric with mean 4 * 8/16
    # = 2, so its mean is 0.5, and its standard deviation is
    # sqrt(4 * 1/2 * 1/2 * 12/15) / 8 = 0.1118.
    cache, X, y, steps = tiny_run
    assert np.sum(y[np.setdiff1d(np.arange(40), np.r_[steps[0].labeled, steps[0].test])]) == 8
    n_random = 200
    result = labeled_set_bias(
        cache,
        RUN,
        X,
        y,
        DummyClassifier(strategy="prior"),
        scoring=class_one_share,
        n_random=n_random,
        random_state=0,
    )
    standard_error = 0.1118 / np.sqrt(n_random)
    assert abs(result.random_mean[1] - 0.5) < 4 * standard_error
    assert result.random_std[1] == pytest.approx(0.1118, rel=0.15)


def test_a_set_chosen_against_a_class_ranks_below_the_random_ones(tiny_run):
    cache, X, y, _ = tiny_run
    result = labeled_set_bias(
        cache,
        RUN,
        X,
        y,
        DummyClassifier(strategy="prior"),
        scoring=class_one_share,
        n_random=20,
        random_state=0,
    )
    for t in range(3):
        below = np.sum(result.random[:, t] < result.replayed[t])
        ties = np.sum(result.random[:, t] == result.replayed[t])
        assert result.percentile[t] == pytest.approx(100 * (below + ties / 2) / 20)
    np.testing.assert_allclose(result.difference, result.replayed - result.random.mean(axis=0))
    # 2/12 is the lowest share a set of 12 can have here (8 class-0 rows in
    # the pool): no random set is below it.
    assert result.difference[-1] < 0
    assert result.percentile[-1] < 5


def test_the_other_model_is_seeded_with_the_runs_seed(tiny_run):
    cache, X, y, _ = tiny_run
    X_copy, y_copy = X.copy(), y.copy()
    tree = DecisionTreeClassifier(max_features=1)  # random_state None: seeded by the run
    first = labeled_set_bias(cache, RUN, X, y, tree, n_random=3, random_state=1)
    second = labeled_set_bias(cache, RUN, X, y, tree, n_random=3, random_state=1)
    np.testing.assert_array_equal(first.replayed, second.replayed)
    np.testing.assert_array_equal(first.random, second.random)
    assert tree.get_params()["random_state"] is None  # the user's model is not changed
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_bad_arguments(tiny_run, tmp_path):
    cache, X, y, _ = tiny_run
    model = DummyClassifier()
    with pytest.raises(ValueError, match="not stored"):
        labeled_set_bias(cache, "Other_seed0", X, y, model)
    with pytest.raises(ValueError, match="n_random"):
        labeled_set_bias(cache, RUN, X, y, model, n_random=0)
    with pytest.raises(ValueError, match="X is not the data"):
        labeled_set_bias(cache, RUN, X + 1, y, model)
    with pytest.raises(TypeError, match="get_params"):
        labeled_set_bias(cache, RUN, X, y, "not a model")
    with pytest.raises(TypeError, match="cache must be a folder path"):
        labeled_set_bias(3, RUN, X, y, model)


def test_result_on_hand_computed_scores(tmp_path):
    # Step 1: random 0.5, 0.25, 0.75 -> mean 0.5, std 0.25, 10th percentile
    # 0.25 + 0.2 * 0.25 = 0.3, 90th 0.7; replayed 0.25 ties one of 3 and
    # beats none: percentile 100 * 0.5 / 3 = 16.7, difference -0.25.
    result = BiasResult("R_seed0", [4, 8], [0.5, 0.25], [[0.5, 0.5], [0.5, 0.25], [0.5, 0.75]])
    np.testing.assert_allclose(result.random_mean, [0.5, 0.5])
    np.testing.assert_allclose(result.random_std, [0.0, 0.25])
    np.testing.assert_allclose(result.random_p10, [0.5, 0.3])
    np.testing.assert_allclose(result.random_p90, [0.5, 0.7])
    np.testing.assert_allclose(result.difference, [0.0, -0.25])
    np.testing.assert_allclose(result.percentile, [50, 100 / 6])
    assert result.to_markdown() == (
        "| step | labeled | replayed accuracy | random mean | std | 10th-90th pct "
        "| difference | percentile |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| 0 | 4 | 0.500 | 0.500 | 0.000 | 0.500-0.500 | +0.000 | 50 |\n"
        "| 1 | 8 | 0.250 | 0.500 | 0.250 | 0.300-0.700 | -0.250 | 17 |\n"
    )
    assert result.rows()[1]["percentile"] == pytest.approx(100 / 6)
    single = BiasResult("R_seed0", [4], [0.5], [[0.25]])
    assert single.random_std.tolist() == [0.0]
    path = tmp_path / "bias.png"
    assert result.plot(path, title="t") == path
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_bad_result_arguments():
    with pytest.raises(ValueError, match="n_labeled must be a 1-D array"):
        BiasResult("r", [], [], [[]])
    with pytest.raises(ValueError, match=r"replayed must have shape \(2,\)"):
        BiasResult("r", [4, 8], [0.5], [[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"random must have shape \(n_random, 2\)"):
        BiasResult("r", [4, 8], [0.5, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="finite"):
        BiasResult("r", [4, 8], [0.5, np.inf], [[0.5, 0.5]])
