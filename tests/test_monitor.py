"""LabelingMonitor: tracked values against brute force, the tutorial's advice
on constructed histories, validation and the plot."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import image
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from iwkmeans import LabelingMonitor, entropy_score, margin_score
from iwkmeans.experiments.monitor import AGREEMENT_MARGIN, LOW_CONTRADICTION, WINDOW, advise
from iwkmeans.experiments.stopping import KappaAverage, default_criteria, first_stop

from _helpers import PNG_SIGNATURE
from reference import nearest

NAN = float("nan")


class Threshold(ClassifierMixin, BaseEstimator):
    """Class 1 where the first feature exceeds ``threshold``; fit only sets
    the classes."""

    def __init__(self, threshold=0.5):
        self.threshold = threshold

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        return (np.asarray(X)[:, 0] > self.threshold).astype(int)

    def predict_proba(self, X):
        p = np.clip(0.5 + np.asarray(X)[:, 0] - self.threshold, 0, 1)
        return np.column_stack([1 - p, p])


def history(contradictions, agreements=None, random_agreements=None):
    n = len(contradictions)
    agreements = [0.5] * n if agreements is None else agreements
    random_agreements = [0.5] * n if random_agreements is None else random_agreements
    return [
        {"contradiction": c, "agreement": a, "random_agreement": r}
        for c, a, r in zip(contradictions, agreements, random_agreements)
    ]


# The tutorial's three cases, and their neighbours.
@pytest.mark.parametrize(
    "entries, expected",
    [
        (history([NAN, 0.05, 0.08, 0.12, 0.2]), {"easier"}),  # rising
        (history([NAN, 0.1, 0.1, 0.1, 0.1]), {"easier"}),  # flat, not low
        (history([NAN, 0.3, 0.2, 0.1, 0.05]), set()),  # decreasing
        (history([NAN, 0.01, 0.0, 0.01, 0.01]), {"stop"}),  # flat and low
        (history([NAN, 0.3, 0.2, 0.02, 0.01, 0.0, 0.01]), {"stop"}),  # low at last
        (history([NAN, 0.3, 0.2, 0.1, 0.05], [0.9] * 5, [0.6] * 5), {"harder"}),
        (history([NAN, 0.3, 0.2, 0.1, 0.05], [0.62] * 5, [0.6] * 5), set()),
        (history([NAN, 0.01, 0.0, 0.01, 0.01], [1.0] * 5, [0.7] * 5), {"stop", "harder"}),
        (history([NAN, 0.1, 0.2]), set()),  # too short to judge
        (history([]), set()),
    ],
)
def test_advice_on_constructed_histories(entries, expected):
    assert set(advise(entries)) == expected


def test_advice_messages_give_the_values():
    advice = advise(history([NAN, 0.05, 0.08, 0.12, 0.2]))
    assert advice["easier"] == (
        "Contradictions are not decreasing (last 4: 0.050, 0.080, 0.120, 0.200). "
        "Use a strategy that selects easier batches."
    )
    assert "Stop labeling" in advise(history([0.0] * 4))["stop"]
    assert "selects harder batches" in advise(history([0.5] * 4, [1] * 4, [0] * 4))["harder"]


finite = st.floats(0, 1)
entry = st.fixed_dictionaries(
    {
        "contradiction": finite | st.just(NAN),
        "agreement": finite | st.just(NAN),
        "random_agreement": finite,
    }
)


@given(st.lists(entry, max_size=12), st.integers(2, 6), st.floats(0, 0.2), st.floats(-0.2, 0.2))
def test_advice_follows_its_definition(entries, window, low, margin):
    """Against a brute-force reading of the rules, with np.polyfit's slope."""
    advice = advise(entries, window=window, low_contradiction=low, agreement_margin=margin)
    assert not {"stop", "easier"} <= advice.keys()
    c = [e["contradiction"] for e in entries if not np.isnan(e["contradiction"])]
    if len(c) < window:
        assert not {"stop", "easier"} & advice.keys()
    else:
        last = np.array(c[-window:])
        assert ("stop" in advice) == bool(np.all(last <= low))
        slope = np.polyfit(np.arange(window), last, 1)[0]
        if "stop" not in advice and abs(slope) > 1e-9:
            assert ("easier" in advice) == (slope > 0)
    a = [e["agreement"] for e in entries if not np.isnan(e["agreement"])]
    r = [e["random_agreement"] for e in entries]
    if len(a) < window:
        assert "harder" not in advice
    else:
        excess = np.mean(a[-window:]) - np.mean(r[-window:])
        if abs(excess - margin) > 1e-9:
            assert ("harder" in advice) == (excess > margin)


finite_entry = st.fixed_dictionaries(
    {"contradiction": finite, "agreement": finite, "random_agreement": finite}
)


@given(st.lists(entry, max_size=6), st.lists(finite_entry, min_size=WINDOW, max_size=8))
def test_advice_depends_on_the_last_window_only(older, recent):
    assert advise(older + recent) == advise(recent)


def test_tracked_values_match_brute_force():
    rng = np.random.default_rng(0)
    X_holdout = rng.normal(size=(300, 3))
    X_pool = rng.normal(size=(400, 3))
    y_pool = (X_pool[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    for array in (X_holdout, X_pool, y_pool):
        array.setflags(write=False)  # the monitor must never write to user data
    monitor = LabelingMonitor(X_holdout, score=entropy_score)
    labeled, batches, models = np.arange(10), [], []
    for step in range(4):
        model = LogisticRegression().fit(X_pool[labeled], y_pool[labeled])
        batch = np.arange(100 + 20 * step, 110 + 20 * step)
        monitor.update(model, X_pool[labeled], y_pool[labeled], X_pool[batch])
        models.append((model, labeled))
        batches.append(batch)
        labeled = np.concatenate([labeled, batch])

    report = monitor.report()
    assert [entry["batch"] for entry in report.history] == [0, 1, 2, 3]
    previous = None
    for entry, (model, labeled), batch in zip(report.history, models, batches):
        X_labeled, y_labeled = X_pool[labeled], y_pool[labeled]
        assert entry["n_labeled"] == labeled.size
        predictions = model.predict(X_holdout)
        if previous is None:
            assert np.isnan(entry["contradiction"])
        else:
            assert entry["contradiction"] == np.mean(previous != predictions)
        previous = predictions
        nn_batch, _ = nearest(X_pool[batch], X_labeled)
        assert entry["agreement"] == np.mean(model.predict(X_pool[batch]) == y_labeled[nn_batch])
        nn_holdout, sq = nearest(X_holdout, X_labeled)
        assert entry["random_agreement"] == np.mean(predictions == y_labeled[nn_holdout])
        assert entry["exploration"] == pytest.approx(np.mean(np.sqrt(sq)), rel=1e-12)
        p = model.predict_proba(X_pool[batch])
        entropy = -np.sum(p * np.log(p), axis=1) / np.log(2)
        assert entry["score_variance"] == pytest.approx(np.var(entropy), rel=1e-9)
    # The report is a copy: changing it leaves the monitor alone.
    report.history[0]["agreement"] = -1.0
    assert monitor.report().history[0]["agreement"] != -1.0


def test_given_scores_and_models_without_probabilities():
    X_holdout = np.linspace(0, 1, 50)[:, None]
    X_labeled, y_labeled = np.array([[0.0], [1.0]]), np.array([0, 1])
    monitor = LabelingMonitor(X_holdout)
    model = Threshold().fit()
    monitor.update(model, X_labeled, y_labeled, X_holdout[:4], scores=[0.1, 0.2, 0.3, 0.6])
    assert monitor.report().history[0]["score_variance"] == pytest.approx(
        np.var([0.1, 0.2, 0.3, 0.6])
    )

    class NoProba(Threshold):
        predict_proba = property()  # hasattr is False

    monitor.update(NoProba().fit(), X_labeled, y_labeled, X_holdout[:4])
    assert np.isnan(monitor.report().history[1]["score_variance"])


def feed(monitor, thresholds, batch):
    """Threshold models on a labeled set whose 1-NN boundary is at 0.5."""
    X_labeled, y_labeled = np.array([[0.0], [1.0]]), np.array([0, 1])
    for threshold in thresholds:
        monitor.update(Threshold(threshold).fit(), X_labeled, y_labeled, batch)
    return monitor.report()


HOLDOUT = (np.arange(200)[:, None] + 0.5) / 200  # uniform on (0, 1)


def test_monitor_advises_easier_batches_when_contradictions_rise():
    # Each model moves its boundary further than the last: 2, 4, 6, 8, ... % flip.
    thresholds = 0.2 + np.cumsum([0, 0.02, 0.04, 0.06, 0.08])
    report = feed(LabelingMonitor(HOLDOUT), thresholds, HOLDOUT[::40])
    np.testing.assert_allclose(
        [e["contradiction"] for e in report.history][1:], [0.02, 0.04, 0.06, 0.08]
    )
    assert set(report.advice) == {"easier"}


def test_monitor_advises_harder_batches_when_agreement_is_high():
    # Boundaries at 0.10-0.37 (shrinking moves) disagree with 1-NN on
    # (threshold, 0.5); a batch far from it agrees fully.
    thresholds = [0.10, 0.20, 0.27, 0.32, 0.35, 0.37]
    batch = np.array([[0.8], [0.9], [0.05]])
    report = feed(LabelingMonitor(HOLDOUT), thresholds, batch)
    assert all(e["agreement"] == 1.0 for e in report.history)
    np.testing.assert_allclose(
        [e["random_agreement"] for e in report.history], [1 - (0.5 - t) for t in thresholds]
    )
    assert set(report.advice) == {"harder"}


def test_monitor_advises_to_stop_when_contradictions_stay_low():
    thresholds = [0.5, 0.505, 0.5, 0.505, 0.51]  # one hold-out sample flips at most
    report = feed(LabelingMonitor(HOLDOUT), thresholds, HOLDOUT[95:105])
    assert max(e["contradiction"] for e in report.history[1:]) <= LOW_CONTRADICTION
    assert set(report.advice) == {"stop"}
    # Stricter thresholds, other advice: nothing is low, and nothing rises.
    strict = feed(
        LabelingMonitor(HOLDOUT, low_contradiction=0.0, window=3), thresholds, HOLDOUT[95:105]
    )
    assert set(strict.advice) == {"easier"}


def test_the_defaults_are_advise_defaults():
    monitor = LabelingMonitor(HOLDOUT)
    assert (monitor.window, monitor.low_contradiction, monitor.agreement_margin) == (
        WINDOW,
        LOW_CONTRADICTION,
        AGREEMENT_MARGIN,
    )


def test_plot(tmp_path):
    monitor = LabelingMonitor(HOLDOUT)
    with pytest.raises(ValueError, match="Nothing to plot yet"):
        monitor.plot(tmp_path / "empty.png")
    feed(monitor, [0.2, 0.3, 0.35], HOLDOUT[::50])
    path = monitor.plot(tmp_path / "monitor.png", title="test")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert image.imread(path).shape[2] in (3, 4)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(window=1), ValueError, "window == 1, must be >= 2"),
        (dict(low_contradiction=1.5), ValueError, "low_contradiction == 1.5, must be <= 1"),
        (dict(agreement_margin="x"), TypeError, "agreement_margin must be an instance of"),
        (dict(score="margin"), TypeError, "score must be a callable"),
    ],
)
def test_monitor_parameters(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        LabelingMonitor(HOLDOUT, **kwargs)


def test_update_validation():
    X_labeled, y_labeled = np.array([[0.0], [1.0]]), np.array([0, 1])
    with pytest.raises(ValueError, match="Input X_holdout contains NaN"):
        LabelingMonitor([[0.0], [np.nan]])
    monitor = LabelingMonitor(HOLDOUT)
    model = Threshold().fit()
    with pytest.raises(ValueError, match="X_batch has 2 features but X_holdout has 1"):
        monitor.update(model, X_labeled, y_labeled, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="X_labeled has 2 features but X_holdout has 1"):
        monitor.update(model, np.zeros((2, 2)), y_labeled, HOLDOUT[:3])
    with pytest.raises(ValueError, match=re.escape("scores must have shape (3,)")):
        monitor.update(model, X_labeled, y_labeled, HOLDOUT[:3], scores=[0.1, 0.2])
    with pytest.raises(ValueError, match="Input scores contains NaN"):
        monitor.update(model, X_labeled, y_labeled, HOLDOUT[:3], scores=[0.1, np.nan, 1])
    with pytest.raises(ValueError, match="classifier must be a fitted classifier"):
        monitor.update(DecisionTreeClassifier(), X_labeled, y_labeled, HOLDOUT[:3])
    assert monitor.report().history == []  # a failed update records nothing
    with pytest.raises(ValueError, match="history entries must have the keys"):
        advise([{"contradiction": 0.1}])


# The tutorial's step 2: keep exploring while random / K-Means batches would explore more.
def explore_history(explored, random=None, kmeans=None):
    entries = history([0.1] * len(explored))
    for i, entry in enumerate(entries):
        entry["explored"] = explored[i]
        entry["random_explored"] = NAN if random is None else random[i]
        entry["kmeans_explored"] = NAN if kmeans is None else kmeans[i]
    return entries


@pytest.mark.parametrize(
    "entries, expected",
    [
        (explore_history([0.1] * 4, random=[0.2] * 4), True),
        (explore_history([0.1] * 4, kmeans=[0.2] * 4), True),
        (explore_history([0.1] * 4, random=[0.1] * 4, kmeans=[0.05] * 4), False),  # not more
        (explore_history([0.1] * 3, random=[0.2] * 3), False),  # too short to judge
        (explore_history([0.1] * 4), False),  # no pool, no baseline
        # Means over the last 4 with both values: (0.1+0.3+0.1+0.3)/4 = 0.2 vs 0.25.
        (explore_history([9, 0.1, 0.3, 0.1, 0.3], random=[0] + [0.25] * 4), True),
        (explore_history([0.1, 0.3, 0.1, 0.3, NAN], random=[0.2, 0.2, 0.2, 0.2, 9]), False),
    ],
)
def test_explore_advice_on_constructed_histories(entries, expected):
    assert ("explore" in advise(entries)) == expected


def test_explore_advice_message():
    message = advise(explore_history([0.1] * 4, random=[0.2] * 4, kmeans=[0.3] * 4))["explore"]
    assert message.startswith(
        "The sampler's batches explored less of the hold-out than a random batch "
        "(0.2 vs 0.1) or a K-Means batch (0.3 vs 0.1) would have"
    )
    assert advise(history([0.1] * 4), stopping={"kappa": 3, "change": None}) == {
        "easier": advise(history([0.1] * 4))["easier"],
        "criteria": "Stopping criteria say stop: kappa (at batch 3).",
    }


def blobs_run(convert, criteria=None, X_pool=True, n_steps=4):
    """A short labeling loop on blobs, fed to a monitor after ``convert`` (e.g.
    to CSR); returns the monitor and, per step, what it was fed."""
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0]], dtype=float)
    y_all = rng.integers(0, 3, size=330)
    X_all = centers[y_all] + rng.normal(size=(330, 3))
    X_holdout, X, y = X_all[:80], X_all[80:], y_all[80:]
    monitor = LabelingMonitor(convert(X_holdout), criteria=criteria, random_state=0)
    labeled, pool, fed = np.arange(9), np.arange(9, 250), []
    for step in range(n_steps):
        model = LogisticRegression().fit(X[labeled], y[labeled])
        picked = pool[np.argsort(margin_score(model.predict_proba(X[pool])))[-5:]]
        monitor.update(
            model,
            convert(X[labeled]),
            y[labeled],
            convert(X[picked]),
            X_pool=convert(X[pool]) if X_pool else None,
        )
        fed.append((model, X[labeled], X[picked], X_holdout))
        labeled, pool = np.r_[labeled, picked], np.setdiff1d(pool, picked)
    return monitor, fed


def test_explored_matches_brute_force():
    monitor, fed = blobs_run(np.asarray, X_pool=False)
    for entry, (_, X_labeled, X_batch, X_holdout) in zip(monitor.report().history, fed):
        before = np.mean(np.sqrt(nearest(X_holdout, X_labeled)[1]))
        after = np.mean(np.sqrt(nearest(X_holdout, np.vstack([X_labeled, X_batch]))[1]))
        assert entry["explored"] == pytest.approx(before - after, rel=1e-9, abs=1e-12)
        assert np.isnan(entry["random_explored"]) and np.isnan(entry["kmeans_explored"])


def test_baselines_from_a_pool_of_the_batch_alone_explore_as_much():
    # A pool of |B| rows: the random and K-Means batches are the batch itself.
    X_labeled, y_labeled = np.array([[0.0], [1.0]]), np.array([0, 1])
    batch = HOLDOUT[[10, 50, 120, 190]]
    monitor = LabelingMonitor(HOLDOUT, random_state=0)
    monitor.update(Threshold().fit(), X_labeled, y_labeled, batch, X_pool=batch[::-1])
    entry = monitor.report().history[0]
    # By hand: the hold-out is uniform on (0, 1), so its mean distance to a
    # set of points is sum(gap^2) / 4 over the gaps between them: 1/4 for
    # {0, 1}; with the batch (0.0525, 0.2525, 0.6025, 0.9525) the gaps are
    # 0.0525, 0.2, 0.35, 0.35, 0.0475, whose squares sum to 0.29: 0.0725.
    assert entry["exploration"] == pytest.approx(0.25)
    assert entry["explored"] == pytest.approx(0.25 - 0.0725, abs=1e-12)
    assert entry["random_explored"] == pytest.approx(entry["explored"], abs=1e-12)
    assert entry["kmeans_explored"] == pytest.approx(entry["explored"], abs=1e-12)
    only_random = LabelingMonitor(HOLDOUT, baselines=("random",))
    only_random.update(Threshold().fit(), X_labeled, y_labeled, batch, X_pool=HOLDOUT)
    assert np.isnan(only_random.report().history[0]["kmeans_explored"])


def test_sparse_input_gives_the_dense_results():
    from scipy import sparse

    dense, _ = blobs_run(np.asarray, criteria=default_criteria())
    csr, _ = blobs_run(sparse.csr_matrix, criteria=default_criteria())
    assert sparse.issparse(csr.X_holdout)  # kept sparse, never densified
    a, b = dense.report(), csr.report()
    assert a.advice == b.advice and a.stopping == b.stopping
    for x, y in zip(a.history, b.history):
        assert x.keys() == y.keys()
        for key in x:
            assert x[key] == pytest.approx(y[key], rel=1e-9, abs=1e-12, nan_ok=True), key


def test_criteria_in_the_monitor_are_the_criteria_on_the_recorded_run():
    criteria = default_criteria()
    monitor, fed = blobs_run(np.asarray, criteria=criteria, n_steps=6)
    report = monitor.report()
    recorded = {
        "predictions": [model.predict(H) for model, _, _, H in fed],
        "proba": [model.predict_proba(H) for model, _, _, H in fed],
        "scores": [margin_score(model.predict_proba(B)) for model, _, B, _ in fed],
    }
    assert report.stopping == {
        name: first_stop(c, **{c.needs: recorded[c.needs]}) for name, c in criteria.items()
    }
    assert any(batch is not None for batch in report.stopping.values())  # something to see
    for name, criterion in monitor.criteria_.items():
        assert [e[name] for e in report.history] == pytest.approx(criterion.signals_, nan_ok=True)
    assert all(not hasattr(c, "signals_") for c in criteria.values())  # the user's: untouched
    said = [f"{n} (at batch {b})" for n, b in report.stopping.items() if b is not None]
    assert report.advice["criteria"] == f"Stopping criteria say stop: {', '.join(said)}."


def test_criteria_without_probabilities():
    class NoProba(Threshold):
        predict_proba = property()  # hasattr is False

    monitor = LabelingMonitor(HOLDOUT, criteria=default_criteria())
    X_labeled, y_labeled = np.array([[0.0], [1.0]]), np.array([0, 1])
    for _ in range(5):
        monitor.update(NoProba().fit(), X_labeled, y_labeled, HOLDOUT[:4])
    report = monitor.report()
    assert report.stopping["classification_change"] == 1  # same predictions every time
    for name in ("overall_uncertainty", "max_confidence", "uncertainty_variance"):
        assert report.stopping[name] is None
        assert all(np.isnan(e[name]) for e in report.history)


def test_plot_with_criteria_and_baselines(tmp_path):
    monitor, _ = blobs_run(np.asarray, criteria=default_criteria(), n_steps=3)
    path = monitor.plot(tmp_path / "monitor.png")
    assert image.imread(path).shape[:2] == (900, 900)  # a third row of panels


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(criteria=[KappaAverage()]), TypeError, "criteria must be a dict of names"),
        (dict(criteria={"kappa": "KappaAverage"}), TypeError, "criteria['kappa'] must be a"),
        (dict(criteria={"exploration": KappaAverage()}), ValueError, "criteria names must be"),
        (dict(baselines="random"), ValueError, "baselines must be a tuple of names among"),
        (dict(baselines=("random", "typiclust")), ValueError, "baselines must be a tuple"),
        (dict(random_state="seed"), ValueError, "cannot be used to seed"),
    ],
)
def test_monitor_criteria_and_baselines_parameters(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        LabelingMonitor(HOLDOUT, **kwargs)


def test_update_validation_of_the_pool():
    X_labeled, y_labeled = np.array([[0.0], [1.0]]), np.array([0, 1])
    monitor = LabelingMonitor(HOLDOUT, criteria=default_criteria())
    model = Threshold().fit()
    with pytest.raises(ValueError, match=re.escape("X_pool must have at least as many rows")):
        monitor.update(model, X_labeled, y_labeled, HOLDOUT[:3], X_pool=HOLDOUT[:2])
    with pytest.raises(ValueError, match="X_pool has 2 features but X_holdout has 1"):
        monitor.update(model, X_labeled, y_labeled, HOLDOUT[:3], X_pool=np.zeros((5, 2)))
    assert monitor.report().history == []
    assert all(not hasattr(c, "signals_") for c in monitor.criteria_.values())
