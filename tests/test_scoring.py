"""Any metric (``scoring``) through the experiment loop and its reports; the
summary of every recorded metric; sparse (CSR) pools in the metrics and the
loop, against the dense results."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image
from scipy import sparse
from sklearn.dummy import DummyClassifier
from sklearn.metrics import f1_score, get_scorer, make_scorer
from sklearn.preprocessing import normalize
from sklearn.tree import DecisionTreeClassifier

from iwkmeans.experiments import (
    compare_samplers,
    format_summary,
    plot_learning_curves,
    run_experiment,
    summarize,
)
from iwkmeans.experiments._loop import STEP_KEYS, plot_metric
from iwkmeans.experiments.metrics import (
    classifier_agreement,
    exploration,
    learning_curve_auc,
    reverse_batch_accuracy,
)

from _helpers import PNG_SIGNATURE
from _helpers import iwkmeans_sampler as iwkmeans
from _helpers import random_sampler as random_

# Ten samples, six of class 0 and four of class 1: a stratified 50/50 split
# puts 3 zeros and 2 ones in the test set, whatever the seed.
TINY_X = np.arange(20, dtype=np.float64).reshape(10, 2)
TINY_Y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])


def tiny_run(scoring, **options):
    settings = dict(
        initial_size=2,
        batch_size=1,
        n_batches=2,
        # Predicts 0 everywhere, so every score is known in advance.
        classifier=DummyClassifier(strategy="constant", constant=0),
        random_state=0,
        scoring=scoring,
    )
    settings.update(options)
    return run_experiment(TINY_X, TINY_Y, random_, **settings)


def test_scores_by_hand():
    result = tiny_run(
        {
            "accuracy": "accuracy",
            "sklearn_accuracy": get_scorer("accuracy"),
            "balanced_accuracy": "balanced_accuracy",
            "f1_zero": make_scorer(f1_score, pos_label=0),
        }
    )
    # Test set: 3 zeros, 2 ones, all predicted 0.
    np.testing.assert_array_equal(result["accuracy"], [0.6, 0.6, 0.6])
    np.testing.assert_array_equal(result["sklearn_accuracy"], result["accuracy"])
    np.testing.assert_array_equal(result["balanced_accuracy"], [0.5, 0.5, 0.5])
    # Class 0: precision 3/5, recall 1, F1 = 2 * 0.6 / 1.6.
    np.testing.assert_allclose(result["f1_zero"], [0.75, 0.75, 0.75])
    keys = list(result)
    assert keys[:5] == ["n_labeled", "accuracy", "sklearn_accuracy", "balanced_accuracy", "f1_zero"]
    assert keys[5] == "contradiction"


def test_a_single_scorer_name_or_callable():
    assert "accuracy" not in tiny_run("balanced_accuracy")
    np.testing.assert_array_equal(tiny_run("balanced_accuracy")["balanced_accuracy"], [0.5] * 3)
    result = tiny_run(lambda estimator, X, y: float(len(y)))  # the test set's size
    np.testing.assert_array_equal(result["score"], [5.0, 5.0, 5.0])


def test_default_scoring_is_todays_accuracy(blobs_run_options):
    X, y, options = blobs_run_options
    default = run_experiment(X, y, random_, **options)
    assert list(default) == [*STEP_KEYS, "initial", "selected", "test"]
    named = run_experiment(X, y, random_, scoring=["accuracy"], **options)
    assert list(default) == list(named)
    for key in default:
        np.testing.assert_array_equal(default[key], named[key], err_msg=key)


@pytest.fixture(scope="module")
def blobs_run_options(noisy_blobs):
    X, y, noisy = noisy_blobs
    return (
        X,
        y,
        dict(
            initial_size=6,
            batch_size=5,
            n_batches=2,
            classifier=DecisionTreeClassifier(max_depth=3),
            random_state=0,
            noisy=noisy,
        ),
    )


@pytest.mark.parametrize(
    "scoring, error, message",
    [
        ("no_such_score", ValueError, "scoring: 'no_such_score' is not a valid scoring value"),
        (["accuracy", len], TypeError, "scoring as a list must hold scorer names"),
        (["f1", "f1"], ValueError, "scoring must not name a scorer twice"),
        ([], ValueError, "scoring must hold at least one scorer"),
        ({"agreement": "accuracy"}, ValueError, "'agreement' cannot be one"),
        ({"mine": 3}, TypeError, "scoring['mine'] must be a scorer name or a callable"),
        (3, TypeError, "scoring must be None, a scorer name, a callable"),
    ],
)
def test_invalid_scoring(scoring, error, message):
    with pytest.raises(error, match=re.escape(message)):
        tiny_run(scoring)


def test_learning_curve_auc_of_any_score():
    assert learning_curve_auc([-0.5, -0.25], bounded=False) == pytest.approx(-0.375)
    with pytest.raises(ValueError, match="accuracies must be finite"):
        learning_curve_auc([0.5, np.inf], bounded=False)
    with pytest.raises(ValueError, match=re.escape("accuracies must be finite and lie in [0, 1]")):
        learning_curve_auc([-0.5, 0.5])


def rows_by_hand():
    """Two methods; A has two runs of three steps, B one. Batch metrics are
    NaN at the last step, the contradiction at the first."""
    nan = math.nan
    table = [
        # method, run, accuracy, f1, contradiction, agreement, noisy_ratio
        ("A", "0", [0.2, 0.4, 0.6], [0.1, 0.2, 0.3], [nan, 0.5, 0.1], [0.8, 0.6, nan], [0.5, 0.0]),
        ("A", "1", [0.4, 0.6, 0.8], [0.3, 0.3, 0.3], [nan, 0.3, 0.3], [1.0, 1.0, nan], [1.0, 1.0]),
        ("B", "0", [0.5, 0.5, 0.5], [0.0, 0.0, 0.9], [nan, 0.0, 0.0], [0.0, 0.5, nan], [0.0, 0.5]),
    ]
    rows = []
    for method, run, accuracy, f1, contradiction, agreement, noisy in table:
        for step in range(3):
            rows.append(
                {
                    "method": method,
                    "run": run,
                    "seed": int(run),
                    "step": step,
                    "n_labeled": 10 + 5 * step,
                    "f1": f1[step],
                    "accuracy": accuracy[step],
                    "contradiction": contradiction[step],
                    "agreement": agreement[step],
                    "noisy_ratio": noisy[step] if step < 2 else nan,
                }
            )
    return rows


def test_summarize_by_hand():
    a, b = summarize(rows_by_hand())
    assert (a["method"], a["n_runs"], a["scorer"], b["n_runs"]) == ("A", 2, "accuracy", 1)
    # AUCs of A's runs: 40 and 60.
    assert a["auc_mean"] == pytest.approx(50)
    assert a["auc_std"] == pytest.approx(10)
    assert (a["auc_p10"], a["auc_p90"]) == (pytest.approx(42), pytest.approx(58))
    # Per-run means over the defined steps: contradiction 0.3 and 0.3,
    # agreement 0.7 and 1.0, noisy ratio 0.25 and 1.0.
    assert a["contradiction_mean"] == pytest.approx(0.3)
    assert a["contradiction_std"] == pytest.approx(0, abs=1e-15)
    assert a["agreement_mean"] == pytest.approx(0.85)
    assert a["agreement_std"] == pytest.approx(0.15)
    assert (a["agreement_p10"], a["agreement_p90"]) == (pytest.approx(0.73), pytest.approx(0.97))
    assert a["noisy_ratio_mean"] == a["noisy_ratio"] == pytest.approx(0.625)
    assert b["agreement_mean"] == b["agreement_p10"] == b["agreement_p90"] == pytest.approx(0.25)
    assert b["agreement_std"] == 0
    assert "exploration_mean" not in a  # not recorded in these rows

    a_f1, b_f1 = summarize(rows_by_hand(), scorer="f1")
    assert a_f1["scorer"] == "f1"
    assert a_f1["auc_mean"] == pytest.approx(25)  # AUCs 20 and 30
    assert b_f1["auc_mean"] == pytest.approx(30)
    assert a_f1["agreement_mean"] == a["agreement_mean"]


def test_the_default_scorer_is_accuracy_else_the_first_score():
    rows = [{k: v for k, v in row.items() if k != "accuracy"} for row in rows_by_hand()]
    assert summarize(rows)[0]["scorer"] == "f1"
    with pytest.raises(ValueError, match=re.escape("scorer must be one of the rows' scores")):
        summarize(rows, scorer="accuracy")
    bare = [{k: row[k] for k in ("method", "run", "seed", "step", "n_labeled")} for row in rows]
    with pytest.raises(ValueError, match="rows hold no score column"):
        summarize(bare)


def test_format_summary_per_scorer_and_columns():
    summary = summarize(rows_by_hand(), scorer="f1")
    table = format_summary(summary, columns=("agreement", "contradiction"))
    lines = table.splitlines()
    assert lines[0] == (
        "| method | runs | AUC (f1) | std | 10th-90th pct | noisy ratio | agreement "
        "| contradiction |"
    )
    assert (
        lines[2] == "| A | 2 | 25.00 | 5.00 | 21.00-29.00 | 0.62 | 0.850 ± 0.150 | 0.300 ± 0.000 |"
    )
    assert format_summary(summarize(rows_by_hand())).startswith("| method | runs | AUC | std |")
    with pytest.raises(ValueError, match="columns must name metrics of the summary"):
        format_summary(summary, columns=("exploration",))


def test_plots_per_scorer_and_of_any_metric(tmp_path):
    rows = rows_by_hand()
    one = plot_learning_curves(rows, tmp_path / "one.png")
    two = plot_learning_curves(rows, tmp_path / "two.png", scorer=["accuracy", "f1"], title="t")
    assert one.read_bytes()[:8] == two.read_bytes()[:8] == PNG_SIGNATURE
    # One panel per scorer, side by side: 700 pixels wide, then 2 x 500.
    assert image.imread(one).shape[1] == 700
    assert image.imread(two).shape[1] == 1000
    for metric in ("agreement", "f1"):
        path = plot_metric(rows, metric, tmp_path / f"{metric}.png", title=metric)
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(ValueError, match="metric must be one of the rows' columns"):
        plot_metric(rows, "easiness", tmp_path / "no.png")
    with pytest.raises(ValueError, match="scorer must be one of the rows' scores"):
        plot_learning_curves(rows, tmp_path / "no.png", scorer=["f1", "recall"])


def test_compare_samplers_reports_every_scorer(blobs_run_options):
    X, y, options = blobs_run_options
    options = {k: v for k, v in options.items() if k != "random_state"}
    rows = compare_samplers(
        X,
        y,
        {"Random": random_},
        seeds=[0, 1],
        progress=False,
        scoring=["balanced_accuracy", "f1_macro"],
        **options,
    )
    assert list(rows[0])[4:7] == ["n_labeled", "balanced_accuracy", "f1_macro"]
    (entry,) = summarize(rows)
    assert entry["scorer"] == "balanced_accuracy"
    curves = np.array([row["f1_macro"] for row in rows]).reshape(2, 3)
    (f1,) = summarize(rows, scorer="f1_macro")
    assert f1["auc_mean"] == pytest.approx(100 * curves.mean())
    assert {"easiness_mean", "exploration_decrease_p90", "noisy_ratio_std"} <= entry.keys()


# --- the cache keeps the scoring ----------------------------------------------


def test_the_cache_refuses_other_scorers_and_reads_back_the_same(blobs_run_options, tmp_path):
    X, y, options = blobs_run_options
    default = run_experiment(X, y, random_, cache=tmp_path, **options)
    # Naming the default is the same run: read back.
    again = run_experiment(X, y, random_, cache=tmp_path, scoring="accuracy", **options)
    np.testing.assert_array_equal(again["accuracy"], default["accuracy"])
    with pytest.raises(ValueError, match=re.escape("other settings (scoring: stored None")):
        run_experiment(X, y, random_, cache=tmp_path, scoring=["accuracy", "f1_macro"], **options)

    other = tmp_path / "other"
    scoring = {"acc": "accuracy", "f1": "f1_macro"}
    first = run_experiment(X, y, random_, cache=other, scoring=scoring, **options)
    longer = dict(options, n_batches=3)
    extended = run_experiment(X, y, random_, cache=other, scoring=scoring, **longer)
    fresh = run_experiment(X, y, random_, scoring=scoring, **longer)
    for key in fresh:
        np.testing.assert_array_equal(extended[key], fresh[key], err_msg=key)
    np.testing.assert_array_equal(first["f1"], fresh["f1"][:3])
    with pytest.raises(ValueError, match="other settings"):
        run_experiment(X, y, random_, cache=other, scoring={"acc": "accuracy"}, **options)


def test_the_cache_tells_sparse_data_apart(tmp_path):
    X, y = text_pool()
    options = dict(
        initial_size=6,
        batch_size=3,
        n_batches=1,
        classifier=DecisionTreeClassifier(max_depth=3),
        random_state=0,
        cache=tmp_path,
    )
    run_experiment(X, y, random_, **options)
    altered = X.copy()
    altered.data[0] += 1.0  # same shape and number of stored values
    with pytest.raises(ValueError, match="other settings"):
        run_experiment(altered, y, random_, **options)


# --- sparse pools -----------------------------------------------------------


def text_pool(n=90, n_words=40, seed=1):
    """A TF-IDF-like pool: non-negative sparse rows of unit norm, three
    topics each with words of its own."""
    y = np.repeat([0, 1, 2], n // 3)
    rng = np.random.default_rng(seed)
    noise = sparse.random(n, n_words, density=0.08, random_state=seed, format="csr")
    topic = sparse.csr_matrix(
        (rng.uniform(1, 2, n), (np.arange(n), 3 * y + rng.integers(0, 3, n))), shape=(n, n_words)
    )
    return normalize((noise + topic).tocsr()), y


def always(label):
    return DummyClassifier(strategy="constant", constant=label).fit([[0.0]], [label])


def test_sparse_metrics_by_hand():
    X_test = sparse.csr_matrix([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    X_labeled = sparse.csr_matrix([[0.0, 0.0], [6.0, 8.0]])
    expected = (0 + 5 + math.sqrt(80)) / 3
    assert exploration(X_test, X_labeled) == pytest.approx(expected)
    assert exploration(X_test, X_labeled.toarray()) == pytest.approx(expected)  # mixed
    assert exploration(X_test.toarray(), X_labeled) == pytest.approx(expected)
    # A tie goes to the first labeled sample, as with dense rows.
    labeled = sparse.csr_matrix([[0.0], [10.0]])
    batch = sparse.csr_matrix([[1.0], [9.0], [6.0], [5.0]])  # 1-NN says 0, 1, 1, 0
    assert classifier_agreement(always(1), labeled, [0, 1], batch) == pytest.approx(0.5)
    assert reverse_batch_accuracy(always(1), batch, [1, 0, 1, 1]) == pytest.approx(0.75)


def sparse_rows(rng, n, scale):
    return sparse.random(n, 5, density=0.5, random_state=rng, format="csr") * scale


@settings(max_examples=20)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(1, 8), st.sampled_from([0, 600]))
def test_sparse_metrics_equal_the_dense_ones(seed, n_test, n_labeled, exponent):
    rng = np.random.default_rng(seed)
    # Values near 2**600 too, whose squares overflow: scaled, they do not.
    X_test, X_labeled = (sparse_rows(rng, n, 2.0**exponent) for n in (n_test, n_labeled))
    copies = X_test.copy(), X_labeled.copy()
    dense = X_test.toarray(), X_labeled.toarray()
    assert exploration(X_test, X_labeled) == pytest.approx(exploration(*dense), rel=1e-9, abs=0)
    y_labeled = rng.integers(0, 2, n_labeled)
    model = always(1)  # agreement then counts the nearest labeled samples of class 1
    # Sparse distances come from another formula: a near-tie between
    # labeled samples of two classes may be broken the other way, so those
    # test samples are left out.
    unit = [A / 2.0**exponent for A in dense]
    distances = np.linalg.norm(unit[0][:, None] - unit[1][None], axis=2)
    near = distances <= distances.min(axis=1, keepdims=True) * (1 + 1e-6) + 1e-9
    clear = np.flatnonzero([np.unique(y_labeled[row]).size == 1 for row in near])
    if clear.size:
        assert classifier_agreement(
            model, X_labeled, y_labeled, X_test[clear]
        ) == classifier_agreement(model, dense[1], y_labeled, dense[0][clear])
    y_test = rng.integers(0, 2, n_test)
    assert reverse_batch_accuracy(model, X_test, y_test) == reverse_batch_accuracy(
        model, dense[0], y_test
    )
    for original, copy in zip((X_test, X_labeled), copies):  # inputs untouched
        assert (original != copy).nnz == 0


@pytest.fixture
def no_pool_densified(monkeypatch):
    """Fail any toarray of a sparse matrix with at least ``limit[0]`` rows."""
    limit = [np.inf]
    for cls in (sparse.csr_matrix, sparse.csr_array):
        original = cls.toarray

        def toarray(self, *args, _original=original, **kwargs):
            assert self.shape[0] < limit[0], f"a sparse {self.shape} was densified"
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "toarray", toarray)
    return limit


def test_the_loop_on_a_sparse_pool_equals_the_dense_one(no_pool_densified):
    X, y = text_pool()
    options = dict(
        initial_size=6,
        batch_size=3,
        n_batches=3,
        classifier=DecisionTreeClassifier(max_depth=3),
        random_state=0,
        noisy=np.arange(y.size) % 4 == 0,
        scoring=["accuracy", "f1_macro"],
    )
    dense = run_experiment(X.toarray(), y, random_, **options)
    no_pool_densified[0] = 30  # the test set has 45 rows, the pool 39
    csr = run_experiment(X, y, random_, **options)
    assert list(csr) == list(dense)
    for key in csr:
        np.testing.assert_allclose(csr[key], dense[key], rtol=1e-12, err_msg=key)
    # IWKMeans runs on the CSR pool too (the labeled set are its fixed centers).
    result = run_experiment(X, y, iwkmeans, **options)
    assert np.all(np.isfinite(result["exploration"]))
