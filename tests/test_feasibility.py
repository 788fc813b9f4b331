"""The feasibility check: learning_curve_check and FeasibilityResult (the
command line: test_cli.py)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs
from sklearn.neighbors import KNeighborsClassifier

from iwkmeans.experiments.feasibility import FeasibilityResult, learning_curve_check

from _helpers import PNG_SIGNATURE


class ScriptedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier whose test accuracy is ``curve[n]`` after a fit on n
    samples: column 0 of X holds the true label, and it predicts it for all
    but a ``1 - curve[n]`` share of the rows, which get the label -1."""

    def __init__(self, curve=None):
        self.curve = curve

    def fit(self, X, y):
        self.n_fit_ = X.shape[0]
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        first = X[:, [0]]
        labels = (first.toarray() if sparse.issparse(first) else first).ravel().astype(int)
        n_wrong = round((1 - self.curve[self.n_fit_]) * labels.size)
        labels[:n_wrong] = -1
        return labels


def scripted_data(n=100):
    """n rows, two balanced classes; column 0 is the label, column 1 noise."""
    y = np.arange(n) % 2
    X = np.column_stack([y, np.random.default_rng(0).normal(size=n)]).astype(float)
    return X, y


def test_scores_are_the_scripted_curve_and_the_verdict_rising():
    # 100 rows in 5 stratified folds: every test fold has 20 rows, so the
    # scripted accuracies (multiples of 0.05) are met exactly.
    X, y = scripted_data()
    curve = {20: 0.5, 40: 0.6, 60: 0.7, 80: 0.8}
    result = learning_curve_check(X, y, ScriptedClassifier(curve), random_state=0)
    assert result.sizes.tolist() == [20, 40, 60, 80]
    np.testing.assert_allclose(result.scores, np.tile([0.5, 0.6, 0.7, 0.8], (5, 1)))
    np.testing.assert_allclose(result.gains, 0.1)
    assert result.gain_mean == pytest.approx(0.1)
    assert result.gain_std == pytest.approx(0.0, abs=1e-12)
    assert result.verdict == "rising"
    assert result.explain().startswith(
        "rising: from 60 to 80 labeled samples the accuracy gains +0.100 on average over 5 folds"
    )


def test_a_curve_that_stops_rising_is_flat():
    X, y = scripted_data()
    curve = {20: 0.5, 40: 0.7, 60: 0.8, 80: 0.8}
    result = learning_curve_check(X, y, ScriptedClassifier(curve), random_state=0)
    np.testing.assert_allclose(result.mean, [0.5, 0.7, 0.8, 0.8])
    assert result.gain_mean == pytest.approx(0.0, abs=1e-12)
    assert result.verdict == "flat"
    assert "+0.000" in result.explain() and "random labeling will do" in result.explain()


def test_a_falling_curve_is_flat():
    X, y = scripted_data()
    curve = {20: 0.5, 40: 0.7, 60: 0.8, 80: 0.75}
    result = learning_curve_check(X, y, ScriptedClassifier(curve), random_state=0)
    assert result.gain_mean == pytest.approx(-0.05)
    assert result.verdict == "flat"


def test_each_size_trains_on_that_many_rows_of_the_other_folds():
    # The classifier sees exactly sizes[i] rows: the scripted curve would
    # raise a KeyError for any other count.
    X, y = scripted_data(103)
    # floor(0.2 * 103) = 20, floor(0.4 * 103) = 41, 61, 82; the smallest
    # training part is 103 - 21 = 82 (test folds of 21, 21, 21, 20, 20).
    curve = {20: 0.5, 41: 0.5, 61: 0.5, 82: 0.5}
    result = learning_curve_check(X, y, ScriptedClassifier(curve), random_state=0)
    assert result.sizes.tolist() == [20, 41, 61, 82]
    result = learning_curve_check(
        X, y, ScriptedClassifier({10: 0.5, 30: 0.5}), sizes=(10, 30), n_splits=3, random_state=0
    )
    assert result.sizes.tolist() == [10, 30] and result.scores.shape == (3, 2)


def test_sparse_input_gives_the_dense_result():
    X, y = make_blobs(120, centers=3, cluster_std=4.0, random_state=0)
    X = np.abs(X)
    dense = learning_curve_check(X, y, KNeighborsClassifier(), random_state=1)
    csr = learning_curve_check(sparse.csr_matrix(X), y, KNeighborsClassifier(), random_state=1)
    np.testing.assert_array_equal(csr.scores, dense.scores)
    assert csr.verdict == dense.verdict


def test_same_seed_same_result_and_inputs_untouched():
    X, y = make_blobs(120, centers=3, cluster_std=4.0, random_state=0)
    X_copy, y_copy = X.copy(), y.copy()
    first = learning_curve_check(X, y, KNeighborsClassifier(), random_state=3)
    second = learning_curve_check(X, y, KNeighborsClassifier(), random_state=3)
    np.testing.assert_array_equal(first.scores, second.scores)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_rule_on_hand_computed_scores():
    # Gains (last - second-last column): 0.25, 0.25, 0.5 -> mean 1/3, sample
    # std sqrt(((1/12)^2 + (1/12)^2 + (1/6)^2) / 2) = sqrt(3) / 12 = 0.1443.
    scores = [[0.5, 0.5, 0.75], [0.75, 0.25, 0.5], [0.25, 0.0, 0.5]]
    result = FeasibilityResult([10, 20, 30], scores)
    np.testing.assert_allclose(result.gains, [0.25, 0.25, 0.5])
    assert result.gain_mean == pytest.approx(1 / 3)
    assert result.gain_std == pytest.approx(np.sqrt(3) / 12)
    assert result.verdict == "rising"
    # Column 0: sorted 0.25, 0.5, 0.75 -> mean 0.5, std 0.25, 10th
    # percentile 0.25 + 0.2 * 0.25 = 0.3, 90th 0.5 + 0.8 * 0.25 = 0.7.
    assert result.mean[0] == pytest.approx(0.5)
    assert result.std[0] == pytest.approx(0.25)
    assert result.p10[0] == pytest.approx(0.3)
    assert result.p90[0] == pytest.approx(0.7)


def test_rule_boundary_a_gain_equal_to_its_spread_is_flat():
    # Gains 0.25, 0, 0.5: mean 0.25, sample std sqrt((0.0625 + 0.0625) / 2) = 0.25.
    result = FeasibilityResult([1, 2], [[0.25, 0.5], [0.5, 0.5], [0.0, 0.5]])
    assert result.gain_mean == result.gain_std == 0.25
    assert result.verdict == "flat"


@given(
    st.integers(2, 6),
    st.integers(2, 5),
    st.data(),
    st.integers(-16, 16),
)
def test_a_gain_shared_by_every_fold_is_rising_iff_positive(n_folds, n_sizes, data, step):
    # Scores on a 1/64 grid: the gains are exact, all equal to step / 64.
    grid = st.integers(0, 32).map(lambda k: k / 64)
    scores = np.array(
        data.draw(
            st.lists(
                st.lists(grid, min_size=n_sizes - 1, max_size=n_sizes - 1),
                min_size=n_folds,
                max_size=n_folds,
            )
        )
    )
    scores = np.column_stack([scores, scores[:, -1] + step / 64])
    result = FeasibilityResult(np.arange(1, n_sizes + 1) * 10, scores)
    assert result.gain_std == 0
    assert result.verdict == ("rising" if step > 0 else "flat")


def test_markdown_table_and_plot(tmp_path):
    result = FeasibilityResult([10, 20], [[0.5, 0.75], [0.25, 0.5]])
    assert result.to_markdown() == (
        "| labeled | accuracy | std | 10th-90th pct |\n"
        "| ---: | ---: | ---: | ---: |\n"
        "| 10 | 0.375 | 0.177 | 0.275-0.475 |\n"
        "| 20 | 0.625 | 0.177 | 0.525-0.725 |\n"
        "\n" + result.explain() + "\n"
    )
    assert result.rows()[1] == pytest.approx(
        {"size": 20, "mean": 0.625, "std": 0.25 / np.sqrt(2), "p10": 0.525, "p90": 0.725}
    )
    path = tmp_path / "curve.png"
    assert result.plot(path, title="t") == path
    assert path.read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.parametrize(
    "sizes, error, match",
    [
        ((0.2,), ValueError, "at least 2 sizes"),
        ((0.4, 0.2), ValueError, "increasing"),
        ((0.001, 0.5), ValueError, r"between 1 and 80 samples .* got \[0, 50\]"),
        ((0.201, 0.205), ValueError, r"increasing \(in samples: \[20, 20\] of 100\)"),
        ((0.5, 0.9), ValueError, "between 1 and 80 samples"),
        ((10, 0.5), ValueError, "all fractions"),
        ((0.5, 1.0), ValueError, "all fractions"),
        ((0, 10), ValueError, "between 1 and 80"),
        (("a", "b"), TypeError, "sizes must hold numbers"),
        (0.5, ValueError, "at least 2 sizes"),
    ],
)
def test_bad_sizes(sizes, error, match):
    X, y = scripted_data(100)
    with pytest.raises(error, match=match):
        learning_curve_check(X, y, ScriptedClassifier({}), sizes=sizes)


def test_bad_arguments():
    X, y = scripted_data(100)
    model = ScriptedClassifier({})
    with pytest.raises(ValueError, match=r"y must have shape \(100,\)"):
        learning_curve_check(X, y[:-1], model)
    with pytest.raises(ValueError, match="y must hold class labels"):
        learning_curve_check(X, y + 0.5 * np.arange(100), model)
    with pytest.raises(ValueError, match="at least 2 classes"):
        learning_curve_check(X, np.zeros(100), model)
    with pytest.raises(ValueError, match="n_splits"):
        learning_curve_check(X, y, model, n_splits=1)
    with pytest.raises(TypeError, match="n_splits"):
        learning_curve_check(X, y, model, n_splits=2.5)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        learning_curve_check(X_nan, y, model)
    with pytest.raises(TypeError, match="get_params"):
        learning_curve_check(X, y, "not a model")


def test_bad_result_arguments():
    with pytest.raises(ValueError, match="sizes must be a 1-D array of at least 2 integers"):
        FeasibilityResult([10], [[0.5], [0.5]])
    with pytest.raises(ValueError, match="sizes must be increasing"):
        FeasibilityResult([20, 10], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"scores must have shape \(n_folds, 2\)"):
        FeasibilityResult([10, 20], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="finite"):
        FeasibilityResult([10, 20], [[0.5, np.nan], [0.5, 0.5]])
