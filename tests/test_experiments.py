"""The experiment loop's bookkeeping, determinism and validation; the runner,
summary and plot; the noisy-blobs generator."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image
from sklearn.tree import DecisionTreeClassifier

from iwkmeans import KCenterGreedySampler, RandomSampler
from iwkmeans.experiments import (
    compare_samplers,
    format_summary,
    plot_learning_curves,
    run_experiment,
    summarize,
)
from iwkmeans.experiments.datasets import make_noisy_blobs
from iwkmeans.experiments.metrics import learning_curve_auc

from _helpers import PNG_SIGNATURE
from _helpers import iwkmeans_sampler as iwkmeans
from _helpers import random_sampler as random_


@pytest.fixture(scope="module")
def blobs(noisy_blobs):
    return noisy_blobs  # read-only: the loop must never write to user data


def run(blobs, factory=iwkmeans, **options):
    X, y, noisy = blobs
    settings = dict(
        initial_size=6,
        batch_size=5,
        n_batches=4,
        classifier=DecisionTreeClassifier(max_depth=4),
        random_state=0,
        noisy=noisy,
    )
    settings.update(options)
    return run_experiment(X, y, factory, **settings)


def check_bookkeeping(result, n_samples, initial_size, batch_size, n_batches):
    initial, selected, test = result["initial"], result["selected"], result["test"]
    assert initial.shape == (initial_size,)
    assert selected.shape == (n_batches, batch_size)
    labeled = np.concatenate([initial, selected.ravel()])
    assert np.unique(labeled).size == labeled.size  # nothing selected twice
    assert np.intersect1d(labeled, test).size == 0
    # labeled + pool + test partition the rows: the pool is what is left.
    pool = np.setdiff1d(np.arange(n_samples), np.concatenate([labeled, test]))
    assert labeled.size + pool.size + test.size == n_samples
    np.testing.assert_array_equal(
        result["n_labeled"], initial_size + batch_size * np.arange(n_batches + 1)
    )


@pytest.mark.parametrize("factory", [iwkmeans, random_])
def test_bookkeeping(blobs, factory):
    X, y, _ = blobs
    result = run(blobs, factory)
    check_bookkeeping(result, 240, 6, 5, 4)
    assert result["test"].size == 120
    # Stratified: the initial set has 2 samples of each of the 3 classes.
    np.testing.assert_array_equal(np.bincount(y[result["initial"]]), [2, 2, 2])


@settings(max_examples=10)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 1000))
def test_bookkeeping_for_any_sizes(batch_size, n_batches, seed):
    X, y, _ = make_noisy_blobs(200, 3, blobs_per_class=2, random_state=seed)
    result = run_experiment(
        X,
        y,
        random_,
        initial_size=3,
        batch_size=batch_size,
        n_batches=n_batches,
        test_size=0.3,
        classifier=DecisionTreeClassifier(),
        random_state=seed,
    )
    check_bookkeeping(result, 200, 3, batch_size, n_batches)
    assert "noisy_ratio" not in result


def test_metrics_per_step(blobs):
    result = run(blobs)
    last = 4
    assert np.isnan(result["contradiction"][0])
    assert np.all(np.isfinite(result["contradiction"][1:]))
    for key in ("exploration_decrease", "agreement", "easiness", "noisy_ratio"):
        assert np.all(np.isfinite(result[key][:last])), key
        assert np.isnan(result[key][last]), key  # no batch after the last fit
    for key in ("accuracy", "contradiction", "agreement", "easiness", "noisy_ratio"):
        values = result[key][np.isfinite(result[key])]
        assert np.all((values >= 0) & (values <= 1)), key
    np.testing.assert_allclose(
        result["exploration_decrease"][:last], -np.diff(result["exploration"])
    )
    assert np.all(result["exploration_decrease"][:last] >= 0)


def test_noisy_ratio_counts_the_selected_samples(blobs):
    _, _, noisy = blobs
    result = run(blobs)
    np.testing.assert_allclose(result["noisy_ratio"][:-1], noisy[result["selected"]].mean(axis=1))


def test_a_run_is_determined_by_its_seed(blobs):
    first, second = run(blobs), run(blobs)
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    other = run(blobs, random_state=1)
    assert not np.array_equal(first["test"], other["test"])


def test_swap_split_exchanges_train_and_test(blobs):
    a, b = run(blobs), run(blobs, swap_split=True)
    train_a = np.setdiff1d(np.arange(240), a["test"])
    np.testing.assert_array_equal(np.sort(b["test"]), train_a)


def test_the_users_classifier_is_left_unseeded(blobs):
    classifier = DecisionTreeClassifier(max_depth=4)
    run(blobs, classifier=classifier)
    assert classifier.random_state is None
    assert not hasattr(classifier, "classes_")  # a clone was fitted, not it


def test_samplers_without_a_classifier_argument_work(blobs):
    factory = lambda c, b, r: KCenterGreedySampler(c, b)  # noqa: E731
    check_bookkeeping(run(blobs, factory), 240, 6, 5, 4)


@pytest.mark.parametrize(
    "options, message",
    [
        (
            dict(initial_size=2),
            "initial_size=2 is too small for a stratified initial set: y has 3 classes",
        ),
        (
            dict(n_batches=30),
            "n_batches * batch_size = 150 samples to select, but the "
            "pool (train part minus the initial set) has 114",
        ),
        (dict(random_state=None), "random_state must be an instance of int"),
        (dict(batch_size=0), "batch_size == 0, must be >= 1"),
        (dict(noisy=np.zeros(240)), "noisy must be a boolean mask of shape (240,)"),
    ],
)
def test_invalid_options(blobs, options, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        run(blobs, **options)


def test_mismatched_labels(blobs):
    X, y, _ = blobs
    with pytest.raises(ValueError, match=re.escape("y must have shape (240,)")):
        run_experiment(
            X,
            y[:-1],
            random_,
            initial_size=6,
            batch_size=5,
            n_batches=2,
            classifier=DecisionTreeClassifier(),
            random_state=0,
        )


def test_a_sampler_breaking_the_contract_is_reported(blobs):
    class Repeats(RandomSampler):
        def select_samples(self, X_pool):
            return np.zeros(self.batch_size, dtype=int)

    with pytest.raises(ValueError, match="sampler_factory must return 5 distinct"):
        run(blobs, lambda c, b, r: Repeats(c, b))


def test_compare_summarize_and_plot(blobs, tmp_path, capsys):
    X, y, noisy = blobs
    rows = compare_samplers(
        X,
        y,
        {"Random": random_, "IWKMeans": iwkmeans},
        seeds=[3, 4],
        both_halves=True,
        progress=False,
        initial_size=6,
        batch_size=5,
        n_batches=2,
        classifier=DecisionTreeClassifier(max_depth=4),
        noisy=noisy,
    )
    assert capsys.readouterr().err == ""  # no progress bar when asked for none
    assert len(rows) == 2 * 2 * 2 * 3  # methods x seeds x halves x steps
    assert {row["run"] for row in rows} == {"3A", "3B", "4A", "4B"}
    assert rows[0].keys() >= {
        "method",
        "run",
        "seed",
        "step",
        "n_labeled",
        "accuracy",
        "noisy_ratio",
    }

    summary = summarize(rows)
    assert [s["method"] for s in summary] == ["Random", "IWKMeans"]
    random_rows = [row for row in rows if row["method"] == "Random"]
    curves = np.array([row["accuracy"] for row in random_rows]).reshape(4, 3)
    auc = 100 * learning_curve_auc(curves)
    assert summary[0]["n_runs"] == 4
    assert summary[0]["auc_mean"] == pytest.approx(auc.mean())
    assert summary[0]["auc_std"] == pytest.approx(auc.std())
    assert summary[0]["auc_p10"] <= summary[0]["auc_mean"] <= summary[0]["auc_p90"]
    batches = [row["noisy_ratio"] for row in random_rows if row["step"] < 2]
    assert summary[0]["noisy_ratio"] == pytest.approx(np.mean(batches))
    table = format_summary(summary)
    assert table.startswith("| method | runs | AUC |") and "| IWKMeans | 4 |" in table

    path = plot_learning_curves(rows, tmp_path / "curves.png", title="test")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert image.imread(path).shape[2] in (3, 4)


def test_compare_samplers_validation(blobs):
    X, y, _ = blobs
    with pytest.raises(ValueError, match="samplers must name at least one"):
        compare_samplers(X, y, {}, seeds=[0])
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        compare_samplers(X, y, {"Random": random_}, seeds=[])


def test_make_noisy_blobs():
    X, y, noisy = make_noisy_blobs(1000, 4, noise_fraction=0.3, blobs_per_class=3, random_state=0)
    assert X.shape == (1000, 2) and X.dtype == np.float64
    assert y.dtype == np.int64 and noisy.dtype == bool
    assert noisy.sum() == 300
    np.testing.assert_array_equal(np.unique(y[~noisy]), np.arange(4))
    again = make_noisy_blobs(1000, 4, noise_fraction=0.3, blobs_per_class=3, random_state=0)
    for array, same in zip((X, y, noisy), again):
        np.testing.assert_array_equal(array, same)


def test_noisy_blobs_mix_two_classes_and_clean_blobs_one():
    from sklearn.cluster import KMeans

    X, y, noisy = make_noisy_blobs(600, 3, blobs_per_class=2, random_state=1)
    # 12 separated blobs: K-Means finds them; each holds a single class if
    # clean, at most two if noisy.
    blob = KMeans(12, n_init=5, random_state=0).fit_predict(X)
    for b in range(12):
        members = blob == b
        assert np.all(noisy[members]) or not np.any(noisy[members])
        n_labels = np.unique(y[members]).size
        if noisy[members][0]:
            assert n_labels <= 2
        else:
            assert n_labels == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_classes=1), "n_classes == 1, must be >= 2"),
        (dict(noise_fraction=1.0), "noise_fraction == 1.0, must be < 1"),
        (
            dict(n_samples=20, n_classes=4, blobs_per_class=3),
            "n_samples=20 leaves 10 clean samples for 12 clean blobs",
        ),
    ],
)
def test_make_noisy_blobs_validation(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_noisy_blobs(**kwargs)
