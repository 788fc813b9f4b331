"""Stopping criteria: signals and stop steps against hand-computed values on
tiny sequences, Cohen's kappa against a textbook table, the rules against a
brute-force reading and small-text's own criteria, validation and the plot."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image
from sklearn.base import clone
from sklearn.metrics import cohen_kappa_score

from iwkmeans.experiments.stopping import (
    ClassificationChange,
    KappaAverage,
    MaxConfidence,
    OverallUncertainty,
    UncertaintyVariance,
    default_criteria,
    first_stop,
    plot_signals,
)

from _helpers import PNG_SIGNATURE

NAN = float("nan")


def feed(criterion, **steps):
    """What stop() returns at each step, for a sequence of one input."""
    (name, values), *_ = steps.items()
    return [criterion.stop(**{name: value}) for value in values]


def table(counts):
    """Two raters' labels from a contingency table: counts[i][j] samples
    rated i by the first and j by the second."""
    first, second = [], []
    for i, row in enumerate(counts):
        for j, n in enumerate(row):
            first += [i] * n
            second += [j] * n
    return np.array(first), np.array(second)


def test_kappa_on_the_textbook_table():
    # The classic 2x2 example: 50 items, yes/yes 20, yes/no 5, no/yes 10,
    # no/no 15. p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.4.
    first, second = table([[20, 5], [10, 15]])
    criterion = KappaAverage(window_size=1, kappa=0.39)
    assert feed(criterion, predictions=[first, second]) == [False, True]
    assert criterion.signals_[0] != criterion.signals_[0]  # NaN: no previous model
    assert criterion.signals_[1] == pytest.approx(0.4, abs=1e-12)
    assert feed(KappaAverage(window_size=1, kappa=0.41), predictions=[first, second]) == [
        False,
        False,
    ]


def test_kappa_of_three_classes_by_hand():
    # 10 items: diagonal 3 + 2 + 2 = 7 agree; row sums (4, 3, 3), column
    # sums (3, 4, 3): p_e = (12 + 12 + 9) / 100 = 0.33; kappa = 0.37 / 0.67.
    first, second = table([[3, 1, 0], [0, 2, 1], [0, 1, 2]])
    criterion = KappaAverage(window_size=1)
    criterion.stop(predictions=first)
    criterion.stop(predictions=second)
    p_o = np.mean(first == second)
    assert p_o == 0.7
    assert criterion.signals_[1] == pytest.approx((0.7 - 0.33) / 0.67, abs=1e-12)


def test_identical_predictions_have_kappa_one():
    # One class only: p_e = 1 and kappa is 0/0 (scikit-learn gives NaN).
    criterion = KappaAverage(window_size=1, kappa=1.0)
    assert feed(criterion, predictions=[["a"] * 5, ["a"] * 5]) == [False, True]
    assert criterion.signals_[1] == 1.0


def test_kappa_average_stops_on_the_window_mean():
    before, after = [0, 0, 1, 1], [0, 1, 1, 1]  # kappa 0.5 (p_o 3/4, p_e 1/2)
    steps = [before, after, after, after, after]  # kappas: -, 0.5, 1, 1, 1
    # Means of the last 3: step 3 (0.5 + 1 + 1) / 3 = 0.833, step 4: 1.
    assert feed(KappaAverage(kappa=0.8), predictions=steps) == [False] * 3 + [True, True]
    assert first_stop(KappaAverage(kappa=0.9), predictions=steps) == 4
    assert first_stop(KappaAverage(kappa=0.99), predictions=steps[:4]) is None
    assert first_stop(KappaAverage(window_size=1, kappa=0.5), predictions=steps) == 1


def test_classification_change():
    steps = [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 0]]  # 2/4, 1/4, 0 changed
    criterion = ClassificationChange()
    assert feed(criterion, predictions=steps) == [False, False, False, True]
    np.testing.assert_array_equal(criterion.signals_, [NAN, 0.5, 0.25, 0.0])
    assert first_stop(ClassificationChange(threshold=0.25), predictions=steps) == 2
    assert first_stop(ClassificationChange(threshold=1.0), predictions=steps) == 1


def test_overall_uncertainty():
    # Binary entropy of (0.9, 0.1) in bits: -(0.9 log2 0.9 + 0.1 log2 0.1) = 0.46900.
    steps = [[[0.5, 0.5]], [[0.9, 0.1], [0.1, 0.9]], [[1.0, 0.0], [0.9, 0.1]], [[1.0, 0.0]]]
    criterion = OverallUncertainty()
    assert feed(criterion, proba=steps) == [False, False, False, True]
    np.testing.assert_allclose(criterion.signals_, [1.0, 0.46900, 0.23450, 0.0], atol=5e-6)
    assert first_stop(OverallUncertainty(threshold=0.3), proba=steps) == 2
    assert first_stop(OverallUncertainty(threshold=0.0), proba=steps) is None  # 0 < 0 is false


def confident(*levels):
    """One probability matrix per level c: two samples, confidence c each."""
    return [[[c, 1 - c], [1 - c, c]] for c in levels]


def test_max_confidence_stops_after_a_consistent_drop():
    steps = confident(0.6, 0.8, 0.7, 0.65, 0.6, 0.7)  # peak at step 1, then 3 drops
    criterion = MaxConfidence()
    assert feed(criterion, proba=steps) == [False] * 4 + [True, False]
    np.testing.assert_allclose(criterion.signals_, [0.6, 0.8, 0.7, 0.65, 0.6, 0.7])
    assert first_stop(MaxConfidence(window_size=2), proba=steps) == 3
    assert first_stop(MaxConfidence(window_size=4), proba=steps) is None
    # Drops of 0.1, 0.05 and 0.05: only the first exceeds 0.06.
    assert first_stop(MaxConfidence(window_size=1, min_decrease=0.06), proba=steps) == 2
    assert first_stop(MaxConfidence(window_size=2, min_decrease=0.06), proba=steps) is None


def test_uncertainty_variance_stops_after_its_peak():
    steps = [[0.5, 0.5], [0.0, 1.0], [0.25, 0.75], [0.5, 0.5]]  # variances 0, 1/4, 1/16, 0
    criterion = UncertaintyVariance(window_size=2)
    assert feed(criterion, scores=steps) == [False, False, False, True]
    np.testing.assert_array_equal(criterion.signals_, [0.0, 0.25, 0.0625, 0.0])
    assert first_stop(UncertaintyVariance(), scores=steps) is None  # needs 3 drops
    assert first_stop(UncertaintyVariance(window_size=1), scores=steps) == 2
    # Batches of different sizes are fine.
    assert first_stop(UncertaintyVariance(window_size=1), scores=[[0, 1, 0, 1], [0.5]]) == 1


labels = st.lists(st.integers(0, 2), min_size=6, max_size=6)


@settings(max_examples=40, deadline=None)
@given(st.lists(labels, min_size=1, max_size=8), st.integers(1, 4), st.floats(-1, 1))
def test_kappa_average_follows_its_definition(steps, window, threshold):
    """Against a brute-force reading: scikit-learn's kappa of successive
    predictions (1 when identical), the window mean compared with the
    threshold; and a higher threshold never stops earlier."""
    stops = feed(KappaAverage(window_size=window, kappa=threshold), predictions=steps)
    kappas = [1.0 if a == b else cohen_kappa_score(a, b) for a, b in zip(steps[:-1], steps[1:])]
    for t, stop in enumerate(stops):
        last = kappas[:t][-window:]
        expected = len(last) == window and math.fsum(last) / window >= threshold
        if len(last) < window or abs(math.fsum(last) / window - threshold) > 1e-12:
            assert stop == expected
    stricter = first_stop(
        KappaAverage(window_size=window, kappa=min(1.0, threshold + 0.1)), predictions=steps
    )
    first = first_stop(KappaAverage(window_size=window, kappa=threshold), predictions=steps)
    if stricter is not None:
        assert first is not None and first <= stricter


@settings(max_examples=40, deadline=None)
@given(st.lists(labels, min_size=1, max_size=8))
def test_classification_change_by_default_stops_on_identical_predictions(steps):
    stops = feed(ClassificationChange(), predictions=steps)
    assert stops == [t > 0 and steps[t] == steps[t - 1] for t in range(len(steps))]


def test_the_defaults_are_small_texts():
    stopping = pytest.importorskip("small_text.stopping_criteria")
    theirs = stopping.KappaAverage(num_classes=3)
    assert (KappaAverage().window_size, KappaAverage().kappa) == (theirs.window_size, theirs.kappa)
    assert ClassificationChange().threshold == stopping.ClassificationChange(3).threshold
    assert OverallUncertainty().threshold == stopping.OverallUncertainty(3).threshold


@settings(max_examples=25, deadline=None)
@given(st.lists(labels, min_size=2, max_size=8), st.floats(0, 1))
def test_agrees_with_small_text_on_predictions(steps, threshold):
    stopping = pytest.importorskip("small_text.stopping_criteria")
    arrays = [np.array(s) for s in steps]
    for ours, theirs in [
        (KappaAverage(kappa=threshold), stopping.KappaAverage(3, kappa=threshold)),
        (ClassificationChange(threshold), stopping.ClassificationChange(3, threshold)),
    ]:
        expected = [theirs.stop(predictions=a) for a in arrays]
        assert feed(ours, predictions=arrays) == [bool(e) for e in expected]


def test_agrees_with_small_text_on_probabilities():
    stopping = pytest.importorskip("small_text.stopping_criteria")
    rng = np.random.default_rng(0)
    for scale in (0.1, 1.0, 10.0):
        logits = scale * rng.normal(size=(30, 3))
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        for threshold in (0.05, 0.3, 0.6, 0.9):
            theirs = stopping.OverallUncertainty(3, threshold).stop(
                proba=proba, indices_stopping=np.arange(30)
            )
            assert OverallUncertainty(threshold).stop(proba=proba) == theirs


def test_first_stop_leaves_the_criterion_alone():
    criterion = KappaAverage(window_size=1)
    criterion.stop(predictions=[0, 1])
    assert first_stop(criterion, predictions=[[0, 1], [0, 1]]) == 1
    assert criterion.signals_ == [criterion.signals_[0]] and len(criterion.stops_) == 1


def test_reset_and_clone():
    criterion = ClassificationChange(threshold=0.5)
    feed(criterion, predictions=[[0, 1], [1, 1]])
    assert criterion.reset().signals_ == [] and criterion.stops_ == []
    assert criterion.stop(predictions=[1, 0]) is False  # no previous model after reset
    assert clone(criterion).get_params() == {"threshold": 0.5}


def test_a_failed_step_records_nothing():
    criterion = KappaAverage()
    criterion.stop(predictions=[0, 1, 1])
    with pytest.raises(ValueError, match="same stop set at every step: got 2 labels after 3"):
        criterion.stop(predictions=[0, 1])
    assert len(criterion.signals_) == 1
    assert criterion.stop(predictions=[0, 1, 1]) is False
    assert criterion.signals_[1] == 1.0


def test_default_criteria():
    criteria = default_criteria()
    assert list(criteria) == [
        "kappa_average",
        "classification_change",
        "overall_uncertainty",
        "max_confidence",
        "uncertainty_variance",
    ]
    assert [c.needs for c in criteria.values()] == [
        "predictions",
        "predictions",
        "proba",
        "proba",
        "scores",
    ]
    assert default_criteria()["kappa_average"] is not criteria["kappa_average"]


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: KappaAverage(window_size=0), ValueError, "window_size == 0, must be >= 1"),
        (lambda: KappaAverage(window_size=True), TypeError, "window_size must be an integer"),
        (lambda: KappaAverage(kappa=1.5), ValueError, "kappa == 1.5, must be <= 1"),
        (lambda: KappaAverage(kappa="high"), TypeError, "kappa must be an instance of"),
        (lambda: ClassificationChange(-0.1), ValueError, "threshold == -0.1, must be >= 0"),
        (lambda: OverallUncertainty(1.0), ValueError, "threshold == 1.0, must be < 1"),
        (lambda: OverallUncertainty(NAN), ValueError, "threshold must be a finite number"),
        (lambda: MaxConfidence(window_size=0), ValueError, "window_size == 0, must be >= 1"),
        (lambda: MaxConfidence(min_decrease=-1), ValueError, "min_decrease == -1, must be >= 0"),
        (lambda: UncertaintyVariance(window_size=2.5), TypeError, "window_size must be an"),
    ],
)
def test_bad_parameters(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    "criterion, kwargs, error, message",
    [
        (KappaAverage(), {"proba": [[1.0, 0.0]]}, ValueError, "KappaAverage reads predictions"),
        (MaxConfidence(), {"predictions": [0]}, ValueError, "MaxConfidence reads proba"),
        (UncertaintyVariance(), {}, ValueError, "UncertaintyVariance reads scores"),
        (KappaAverage(), {"predictions": [[0, 1]]}, ValueError, "non-empty 1-D array of labels"),
        (ClassificationChange(), {"predictions": []}, ValueError, "non-empty 1-D array"),
        (OverallUncertainty(), {"proba": [[0.7, 0.7]]}, ValueError, "proba rows must sum to 1"),
        (MaxConfidence(), {"proba": [[1.0]]}, ValueError, "proba must have at least 2 columns"),
        (UncertaintyVariance(), {"scores": [[0.1, 0.2]]}, ValueError, "scores must be a 1-D"),
        (UncertaintyVariance(), {"scores": [0.1, NAN]}, ValueError, "Input scores contains NaN"),
    ],
)
def test_bad_inputs(criterion, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        criterion.stop(**kwargs)


def test_first_stop_validation():
    with pytest.raises(TypeError, match="criterion must be a stopping criterion"):
        first_stop("kappa", predictions=[[0]])
    with pytest.raises(ValueError, match=re.escape("pass first_stop(criterion, proba=")):
        first_stop(OverallUncertainty(), predictions=[[0]])


def test_plot_signals(tmp_path):
    criteria = default_criteria()
    proba = confident(0.6, 0.8, 0.7, 0.65, 0.6)
    for step, p in enumerate(proba):
        predictions = [0, 1] if step < 2 else [1, 1]
        for criterion in criteria.values():
            criterion.stop(predictions=predictions, proba=p, scores=np.array(p)[:, 0])
    path = plot_signals(criteria, tmp_path / "s.png", x=10 * np.arange(5), title="test")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert image.imread(path).shape[:2] == (2 * 224, 3 * 272)  # 2 x 3 panels at 80 dpi
    with pytest.raises(ValueError, match="x must have shape \\(5,\\)"):
        plot_signals(criteria, tmp_path / "s.png", x=[1, 2])
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_signals({}, tmp_path / "s.png")
    with pytest.raises(ValueError, match="fed the same steps, at least one"):
        plot_signals({"new": KappaAverage()}, tmp_path / "s.png")
