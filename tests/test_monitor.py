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

from iwkmeans import LabelingMonitor, entropy_score
from iwkmeans.experiments.monitor import AGREEMENT_MARGIN, LOW_CONTRADICTION, WINDOW, advise

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
