"""Friedman test, Nemenyi critical difference and groups, the ranking of
compare_samplers tables and the critical-difference diagram, against the
worked example of Demšar (2006, JMLR 7, section 3.2.2 and table 6) and
tiny examples computed by hand."""

import math
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from iwkmeans.active import IWKMeansSampler, RandomSampler
from iwkmeans.experiments import compare_samplers, summarize
from iwkmeans.experiments.ranking import (
    friedman_test,
    nemenyi_critical_difference,
    nemenyi_groups,
    plot_critical_difference,
    rank_samplers,
)

# Demšar's table 6: AUC of C4.5, C4.5+m, C4.5+cf and C4.5+m+cf on 14 data
# sets (adult ... wine), as printed (three decimals).
DEMSAR_NAMES = ["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"]
DEMSAR_AUC = np.array(
    [
        [0.763, 0.768, 0.771, 0.798],
        [0.599, 0.591, 0.590, 0.569],
        [0.954, 0.971, 0.968, 0.967],
        [0.628, 0.661, 0.654, 0.657],
        [0.882, 0.888, 0.886, 0.898],
        [0.936, 0.931, 0.916, 0.931],
        [0.661, 0.668, 0.609, 0.685],
        [0.583, 0.583, 0.563, 0.625],
        [0.775, 0.838, 0.866, 0.875],
        [1.000, 1.000, 1.000, 1.000],
        [0.940, 0.962, 0.965, 0.962],
        [0.619, 0.666, 0.614, 0.669],
        [0.972, 0.981, 0.975, 0.975],
        [0.957, 0.978, 0.946, 0.970],
    ]
)
VOTING = 12  # the row whose printed values tie C4.5+cf and C4.5+m+cf


def demsar_as_ranked():
    """The table with the voting row as the paper ranks it: C4.5+cf second
    and C4.5+m+cf third (the printed 0.975 and 0.975 are rounded)."""
    scores = DEMSAR_AUC.copy()
    scores[VOTING, 2] += 1e-4
    return scores


def test_demsar_worked_example():
    result = friedman_test(demsar_as_ranked(), tie_correction=False)
    # Average ranks 3.143, 2.000, 2.893, 1.964 (rank sums 44, 28, 40.5, 27.5).
    np.testing.assert_allclose(result["average_ranks"], [44 / 14, 2, 40.5 / 14, 27.5 / 14])
    # chi2_F = 12 * 14 / (4 * 5) * (sum R^2 - 4 * 25 / 4) = 9.28; F_F = 3.69.
    assert result["chi2"] == pytest.approx(9.2786, abs=1e-4)
    assert round(result["chi2"], 2) == 9.28
    assert round(result["iman_davenport"], 2) == 3.69
    assert result["n_blocks"] == 14 and result["n_methods"] == 4
    # F_F = 3.69 exceeds F(3, 39) at 0.05, 2.85: the null hypothesis is rejected.
    assert result["iman_davenport_pvalue"] == pytest.approx(stats.f.sf(3.6863, 3, 39), abs=1e-4)
    assert result["iman_davenport_pvalue"] < 0.05
    assert result["chi2_pvalue"] == pytest.approx(0.0258, abs=1e-4)


def test_demsar_nemenyi_conclusions():
    ranks = dict(zip(DEMSAR_NAMES, friedman_test(demsar_as_ranked())["average_ranks"]))
    cd_05 = nemenyi_critical_difference(4, 14, alpha=0.05)
    cd_10 = nemenyi_critical_difference(4, 14, alpha=0.10)
    # CD = 2.569 * sqrt(4 * 5 / (6 * 14)) = 1.25; 2.291 * ... = 1.12.
    assert round(cd_05, 2) == 1.25 and round(cd_10, 2) == 1.12
    # At 0.05 no two methods differ (the largest gap is 3.143 - 1.964 =
    # 1.18 < 1.25); at 0.10, C4.5 is behind C4.5+m and C4.5+m+cf.
    assert nemenyi_groups(ranks, cd_05) == [("C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5")]
    assert nemenyi_groups(ranks, cd_10) == [
        ("C4.5+m+cf", "C4.5+m", "C4.5+cf"),
        ("C4.5+cf", "C4.5"),
    ]


def test_demsar_table_as_printed_has_ties():
    # Printed values: voting ties C4.5+cf and C4.5+m+cf, which then share
    # rank 2.5 (rank sums 44, 28, 41, 27); the tie-corrected statistic is
    # scipy's.
    result = friedman_test(DEMSAR_AUC)
    np.testing.assert_allclose(result["average_ranks"], [44 / 14, 2, 41 / 14, 27 / 14])
    expected = stats.friedmanchisquare(*DEMSAR_AUC.T)
    assert result["chi2"] == pytest.approx(expected.statistic, rel=1e-12)
    assert result["chi2_pvalue"] == pytest.approx(expected.pvalue, rel=1e-9)


# Demšar's table 5(a): q_alpha for k = 2..10 methods.
Q_05 = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
Q_10 = [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920]


@pytest.mark.parametrize("alpha, table", [(0.05, Q_05), (0.10, Q_10)])
def test_nemenyi_q_alpha_table(alpha, table):
    for k, q in zip(range(2, 11), table):
        for n in (1, 7, 30):
            cd = nemenyi_critical_difference(k, n, alpha)
            assert cd / math.sqrt(k * (k + 1) / (6 * n)) == pytest.approx(q, abs=1e-3)


def test_hand_computed_friedman():
    # Ranks (1 = highest): [1, 2, 3], [1, 3, 2], [2, 1, 3]; R = 4/3, 2, 8/3.
    result = friedman_test([[3, 2, 1], [3, 1, 2], [2, 3, 1]])
    np.testing.assert_allclose(result["average_ranks"], [4 / 3, 2, 8 / 3])
    # chi2 = 12 * 3 / (3 * 4) * (16/9 + 4 + 64/9 - 12) = 8/3; with 2 degrees
    # of freedom the chi-square tail is exp(-x / 2).
    assert result["chi2"] == pytest.approx(8 / 3)
    assert result["chi2_pvalue"] == pytest.approx(math.exp(-4 / 3))
    # F = 2 * (8/3) / (3 * 2 - 8/3) = 1.6; the F(2, 4) tail is (1 + x / 2)^-2.
    assert result["iman_davenport"] == pytest.approx(1.6)
    assert result["iman_davenport_pvalue"] == pytest.approx(1 / 1.8**2)


def test_hand_computed_ties():
    # Ranks [1.5, 1.5, 3] and [1, 2.5, 2.5]: R = 1.25, 2, 2.75.
    scores = [[1, 1, 0], [1, 0, 0]]
    plain = friedman_test(scores, tie_correction=False)
    np.testing.assert_allclose(plain["average_ranks"], [1.25, 2, 2.75])
    # 12 * 2 / (3 * 4) * (1.5625 + 4 + 7.5625 - 12) = 2.25.
    assert plain["chi2"] == pytest.approx(2.25)
    # Two ties of 2 in a 2 x 3 table: 1 - 2 * (8 - 2) / (2 * 3 * 8) = 0.75.
    corrected = friedman_test(scores)
    assert corrected["chi2"] == pytest.approx(3.0)
    assert corrected["chi2_pvalue"] == pytest.approx(math.exp(-1.5))
    # F = 1 * 3 / (2 * 2 - 3) = 3; the F(2, 2) tail is 1 / (1 + x).
    assert corrected["iman_davenport"] == pytest.approx(3.0)
    assert corrected["iman_davenport_pvalue"] == pytest.approx(0.25)
    assert corrected["chi2"] == pytest.approx(stats.friedmanchisquare(*np.array(scores).T)[0])


def test_unanimous_blocks():
    # Every block ranks the methods alike: chi2 reaches N (k - 1), F is infinite.
    result = friedman_test([[1, 2, 3], [10, 20, 30], [0.1, 0.2, 0.3]])
    np.testing.assert_array_equal(result["average_ranks"], [3, 2, 1])
    assert result["chi2"] == pytest.approx(6)
    assert result["iman_davenport"] == math.inf and result["iman_davenport_pvalue"] == 0


@given(
    arrays(np.int64, st.tuples(st.integers(2, 8), st.integers(3, 6)), elements=st.integers(0, 3)),
)
@settings(max_examples=60, deadline=None)
def test_chi2_matches_scipy(scores):
    # Small integers: many ties, which both correct for.
    assume(any(np.unique(row).size > 1 for row in scores))
    result = friedman_test(scores)
    expected = stats.friedmanchisquare(*scores.T)
    assert result["chi2"] == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert result["chi2_pvalue"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
    # Ranks always sum to k (k + 1) / 2 per block, and the statistic is
    # invariant under any increasing transformation of each block.
    k = scores.shape[1]
    assert result["average_ranks"].sum() == pytest.approx(k * (k + 1) / 2)
    shifted = friedman_test(np.exp(scores) + np.arange(scores.shape[0])[:, None])
    assert shifted["chi2"] == pytest.approx(result["chi2"])


def test_scores_not_modified():
    scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    scores.flags.writeable = False
    friedman_test(scores)
    np.testing.assert_array_equal(scores, [[3, 2, 1], [1, 2, 3]])


@pytest.mark.parametrize(
    "scores, message",
    [
        ([1.0, 2.0, 3.0], "scores must have shape (n_blocks, n_methods)"),
        ([[1.0, 2.0, 3.0]], "at least 2 blocks and 2 methods; got shape (1, 3)"),
        ([[1.0], [2.0]], "at least 2 blocks and 2 methods; got shape (2, 1)"),
        ([[1.0, np.nan], [2.0, 1.0]], "scores contains NaN"),
        ([[1.0, np.inf], [2.0, 1.0]], "scores contains infinity"),
        ([[1.0, 1.0], [2.0, 2.0]], "ties all the methods in every block"),
    ],
)
def test_friedman_bad_input(scores, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        friedman_test(scores)


def test_all_tied_without_correction_is_zero():
    result = friedman_test([[1.0, 1.0], [2.0, 2.0]], tie_correction=False)
    assert result["chi2"] == 0 and result["chi2_pvalue"] == 1


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((1, 10), ValueError, "n_methods == 1, must be >= 2"),
        ((3, 0), ValueError, "n_blocks == 0, must be >= 1"),
        ((3, 10, 0.0), ValueError, "alpha == 0.0, must be > 0"),
        ((3, 10, 1.0), ValueError, "alpha == 1.0, must be < 1"),
        ((3.0, 10), TypeError, "n_methods must be an instance of int"),
        ((True, 10), TypeError, "n_methods must be an integer, not a bool"),
    ],
)
def test_critical_difference_bad_input(args, error, message):
    with pytest.raises(error, match=re.escape(message)):
        nemenyi_critical_difference(*args)


def test_nemenyi_groups_by_hand():
    # Consecutive gaps of 0.8 with CD 1: each pair overlaps, no triple does.
    assert nemenyi_groups([1.0, 1.8, 2.6, 3.4], 1.0) == [(0, 1), (1, 2), (2, 3)]
    # A difference of exactly CD is significant.
    assert nemenyi_groups([1.0, 2.0], 1.0) == []
    assert nemenyi_groups({"b": 2.0, "a": 1.0, "c": 1.5}, 1.01) == [("a", "c", "b")]
    # Input order does not matter; a group inside another is not repeated.
    assert nemenyi_groups({"x": 3.0, "y": 1.0, "z": 1.2, "w": 1.5}, 0.6) == [("y", "z", "w")]


@pytest.mark.parametrize(
    "ranks, cd, message",
    [
        ([1.0], 1.0, "average_ranks must give the average rank of at least 2 methods"),
        ([1.0, np.nan], 1.0, "average_ranks contains NaN"),
        ([1.0, 2.0], 0.0, "cd == 0.0, must be > 0"),
    ],
)
def test_nemenyi_groups_bad_input(ranks, cd, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        nemenyi_groups(ranks, cd)


def table(curves, dataset_runs=("0", "1")):
    """A compare_samplers-like table: method -> one accuracy curve per run."""
    rows = []
    for r, run in enumerate(dataset_runs):
        for method, runs in curves.items():
            if r >= len(runs):
                continue  # this method did not run
            for step, accuracy in enumerate(runs[r]):
                row = {"method": method, "run": run, "seed": int(run), "step": step}
                rows.append(dict(row, accuracy=accuracy))
    return rows


def test_rank_samplers_by_hand():
    # Two data sets x two runs, three methods; AUC = mean of the curve x100.
    first = table({"A": [[0.5, 0.7], [0.4, 0.6]], "B": [[0.5, 0.5], [0.5, 0.6]],
                   "C": [[0.1, 0.1], [0.2, 0.2]]})  # fmt: skip
    second = table({"A": [[0.9, 0.9], [0.3, 0.3]], "B": [[0.8, 0.8], [0.7, 0.7]],
                    "C": [[0.1, 0.3], [0.1, 0.1]]})  # fmt: skip
    ranking = rank_samplers({"d1": first, "d2": second})
    assert ranking["methods"] == ["A", "B", "C"]
    assert ranking["blocks"] == [("d1", "0"), ("d1", "1"), ("d2", "0"), ("d2", "1")]
    np.testing.assert_allclose(
        ranking["scores"], [[60, 50, 10], [50, 55, 20], [90, 80, 20], [30, 70, 10]]
    )
    # Ranks per block: [1, 2, 3], [2, 1, 3], [1, 2, 3], [2, 1, 3].
    assert ranking["average_ranks"] == pytest.approx({"A": 1.5, "B": 1.5, "C": 3.0})
    # chi2 = 12 * 4 / (3 * 4) * (2.25 + 2.25 + 9 - 3 * 16 / 4) = 6 (at most
    # N (k - 1) = 8); with 2 degrees of freedom its tail is exp(-6 / 2).
    assert ranking["chi2"] == pytest.approx(6.0)
    assert ranking["chi2_pvalue"] == pytest.approx(math.exp(-3))
    assert ranking["critical_difference"] == pytest.approx(nemenyi_critical_difference(3, 4))
    assert ranking["alpha"] == 0.05
    # CD = 2.343 * sqrt(12 / 24) = 1.66 > 1.5: all three in one group.
    assert ranking["groups"] == [("A", "B", "C")]
    # A single table: the runs are the blocks.
    single = rank_samplers(first)
    assert single["blocks"] == [(None, "0"), (None, "1")]
    np.testing.assert_allclose(single["scores"], [[60, 50, 10], [50, 55, 20]])


def test_rank_samplers_on_compare_samplers(noisy_blobs):
    from sklearn.ensemble import RandomForestClassifier

    X, y, noisy = noisy_blobs
    rows = compare_samplers(
        X,
        y,
        {
            "Random": lambda c, b, r: RandomSampler(c, b, random_state=r),
            "IWKMeans": lambda c, b, r: IWKMeansSampler(c, b, beta=3, random_state=r),
        },
        seeds=[0],
        both_halves=True,
        progress=False,
        initial_size=6,
        batch_size=5,
        n_batches=2,
        classifier=RandomForestClassifier(n_estimators=5, max_depth=3),
        noisy=noisy,
    )
    ranking = rank_samplers(rows, alpha=0.1)
    assert ranking["blocks"] == [(None, "0A"), (None, "0B")]
    # The per-run AUCs average to summarize's.
    means = dict(zip(ranking["methods"], ranking["scores"].mean(axis=0)))
    for entry in summarize(rows):
        assert means[entry["method"]] == pytest.approx(entry["auc_mean"])
    assert ranking["critical_difference"] == pytest.approx(nemenyi_critical_difference(2, 2, 0.1))


@pytest.mark.parametrize(
    "rows, kwargs, error, message",
    [
        ([], {}, ValueError, "rows must be a non-empty compare_samplers table"),
        ({}, {}, ValueError, "rows must be a non-empty compare_samplers table"),
        ([{"method": "A", "run": "0"}], {}, ValueError, "dicts with 'method', 'run', 'step'"),
        (table({"A": [[0.5]], "B": [[0.5]]}), {"metric": "f1"}, ValueError, "the metric 'f1'"),
        (table({"A": [[0.5], [0.5]]}), {}, ValueError, "got 1 method(s) and 2 block(s)"),
        (table({"A": [[0.5]], "B": [[0.4]]}, ("0",)), {}, ValueError, "1 block(s)"),
        (table({"A": [[0.5], [0.5]], "B": [[0.4]]}), {}, ValueError, "'B' has no run '1'"),
        (
            table({"A": [[0.5, 0.6]] * 2, "B": [[0.4, 0.5]] * 2})[::-1],
            {},
            ValueError,
            "must hold steps 0, 1, ... in order",
        ),  # fmt: skip
        (table({"A": [[0.5]] * 2, "B": [[1.5]] * 2}), {}, ValueError, "lie in [0, 1]"),
        (table({"A": [[0.5]] * 2, "B": [[0.5]] * 2}), {"alpha": 0}, ValueError, "alpha == 0"),
        (table({"A": [[0.5]] * 2, "B": [[0.5]] * 2}), {"metric": 3}, TypeError, "metric must be"),
    ],
)
def test_rank_samplers_bad_input(rows, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        rank_samplers(rows, **kwargs)


def test_plot_critical_difference(tmp_path):
    from matplotlib import image

    ranks = dict(zip(DEMSAR_NAMES, friedman_test(demsar_as_ranked())["average_ranks"]))
    path = tmp_path / "cd.png"
    assert plot_critical_difference(ranks, 1.12, path, title="Demšar") == path
    picture = image.imread(path)
    height, width = picture.shape[:2]
    assert width > 2 * height > 0
    assert picture[..., :3].min() < 0.2  # something is drawn in black


@pytest.mark.parametrize(
    "ranks, cd, error, message",
    [
        ([1.0, 2.0], 1.0, TypeError, "ranks must be a dict of method name -> average rank"),
        ({"A": 1.0}, 1.0, ValueError, "at least 2 methods"),
        ({"A": 1.0, "B": 2.0}, -1.0, ValueError, "cd == -1.0, must be > 0"),
    ],
)
def test_plot_critical_difference_bad_input(tmp_path, ranks, cd, error, message):
    with pytest.raises(error, match=re.escape(message)):
        plot_critical_difference(ranks, cd, tmp_path / "cd.png")
