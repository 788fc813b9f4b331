"""The samplers inside scikit-activeml (the ``skactiveml`` extra): our
strategy in their pool-based loop with their classifier wrapper, picking as
our own ``query`` does, and IncrementalKMeans as the ``cluster_algo`` of
their clustering strategies."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.naive_bayes import GaussianNB

from iwkmeans import (
    CommitteeSampler,
    IncrementalKMeans,
    IWKMeansSampler,
    KCenterGreedySampler,
    MarginSampler,
    margin_score,
)

from _helpers import SAMPLERS, run_readme_section

pytest.importorskip("skactiveml")

from skactiveml.classifier import SklearnClassifier  # noqa: E402
from skactiveml.pool import (  # noqa: E402
    Clue,
    DropQuery,
    ProbCover,
    SubSamplingWrapper,
    TypiClust,
)
from skactiveml.utils import MISSING_LABEL, call_func  # noqa: E402

from iwkmeans.active.integrations.skactiveml import SkactivemlQueryStrategy  # noqa: E402


def blobs(n=160, seed=0):
    X, y_true = make_blobs(n_samples=n, centers=4, cluster_std=1.5, random_state=seed)
    return X, y_true


def their_clf(y_true, missing_label=MISSING_LABEL):
    # GaussianNB: a model with predict_proba that fits in a millisecond.
    return SklearnClassifier(GaussianNB(), classes=np.unique(y_true), missing_label=missing_label)


ADAPTED = [cls for cls in SAMPLERS if not cls.trains_own_models]


@pytest.mark.parametrize("cls", ADAPTED, ids=lambda cls: cls.__name__)
def test_their_loop_picks_as_our_query(cls):
    # Their pool-based loop from a cold start, with their classifier wrapper:
    # every batch is distinct, in range, unlabeled, and the batch our own
    # sampler's query picks on the same data and random_state.
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    clf = their_clf(y_true)
    qs = SkactivemlQueryStrategy(cls(None, batch_size=1, random_state=0))
    needs_model = cls.needs_proba
    ours = cls(GaussianNB() if needs_model else None, batch_size=4, random_state=0)
    for cycle in range(4):
        expected = ours.query(X, y)
        picks = qs.query(X=X, y=y, clf=clf, batch_size=4)
        assert picks.shape == (4,) and np.unique(picks).size == 4
        assert picks.min() >= 0 and picks.max() < len(X)
        assert np.isnan(y[picks]).all()
        np.testing.assert_array_equal(picks, expected)
        assert qs.sampler_.cold_start_ == ours.cold_start_
        y[picks] = y_true[picks]
    assert not ours.cold_start_  # the loop reached the model-based selection
    assert clf.__dict__.keys() == their_clf(y_true).__dict__.keys()  # clf is never fitted


def test_a_sampler_training_its_own_committee_is_refused():
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    qs = SkactivemlQueryStrategy(CommitteeSampler(None, batch_size=1, random_state=0))
    with pytest.raises(TypeError, match="cannot serve CommitteeSampler"):
        qs.query(X=X, y=y, clf=their_clf(y_true), batch_size=2)


def test_cold_start_does_not_fit_their_classifier():
    # Their wrapper warns when fitted on no label; a cold-start pick needs no model.
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    y[0] = y_true[0]  # one class labeled
    qs = SkactivemlQueryStrategy(IWKMeansSampler(None, batch_size=1, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        picks = qs.query(X, y, their_clf(y_true), batch_size=3)
    assert qs.sampler_.cold_start_ and 0 not in picks


def test_fit_clf_false_uses_their_fitted_classifier():
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    y[:12] = y_true[:12]
    qs = SkactivemlQueryStrategy(MarginSampler(None, batch_size=1, random_state=0))
    fitted = their_clf(y_true).fit(X, y)
    picks = qs.query(X, y, fitted, fit_clf=False, batch_size=5)
    np.testing.assert_array_equal(picks, qs.query(X, y, their_clf(y_true), batch_size=5))
    # A classifier fitted on other labels is used as it is: its margins rank the pool.
    other = y.copy()
    other[12:40] = y_true[12:40]
    elsewhere = their_clf(y_true).fit(X, other)
    scores = margin_score(elsewhere.predict_proba(X[12:]))
    expected = 12 + np.argsort(-scores, kind="stable")[:5]
    assert sorted(qs.query(X, y, elsewhere, fit_clf=False, batch_size=5)) == sorted(expected)
    # sample_weight goes to their classifier's fit.
    weighted = qs.query(X, y, their_clf(y_true), sample_weight=np.ones(len(X)), batch_size=5)
    np.testing.assert_array_equal(weighted, picks)


def test_integer_labels_and_candidate_indices():
    X, y_true = blobs()
    y = np.full(len(X), -1)
    y[:12] = y_true[:12]
    sampler = IWKMeansSampler(None, batch_size=1, random_state=0)
    qs = SkactivemlQueryStrategy(sampler, missing_label=-1)
    candidates = np.arange(0, 60)  # the labeled rows 0-11 among them
    picks, utilities = qs.query(
        X, y, their_clf(y_true, -1), candidates=candidates, batch_size=5, return_utilities=True
    )
    assert set(picks) <= set(range(12, 60)) and np.unique(picks).size == 5
    ours = IWKMeansSampler(GaussianNB(), batch_size=5, random_state=0)
    np.testing.assert_array_equal(picks, ours.query(X, y, missing_label=-1, candidates=candidates))
    # Their shape: one row per pick, one column per row of X; each row's
    # argmax is its pick, NaN where no pick can be (labeled, outside the
    # candidates, picked earlier in the batch).
    assert utilities.shape == (5, len(X))
    np.testing.assert_array_equal(np.nanargmax(utilities, axis=1), picks)
    assert np.isnan(utilities[:, :12]).all() and np.isnan(utilities[:, 60:]).all()
    for b in range(5):
        assert np.isnan(utilities[b, picks[:b]]).all()
        assert np.isfinite(utilities[b, np.setdiff1d(np.arange(12, 60), picks[:b])]).all()


def test_candidate_sample_rows():
    # Rows outside X: the picks index them, the labeled rows of X are the labeled set.
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    y[:12] = y_true[:12]
    rows = make_blobs(40, centers=4, cluster_std=1.5, random_state=1)[0]
    qs = SkactivemlQueryStrategy(IWKMeansSampler(None, batch_size=1, random_state=0))
    picks, utilities = qs.query(
        X, y, their_clf(y_true), candidates=rows, batch_size=4, return_utilities=True
    )
    ours = IWKMeansSampler(GaussianNB(), batch_size=4, random_state=0)
    np.testing.assert_array_equal(picks, ours.fit(X[:12], y[:12]).select_samples(rows))
    assert utilities.shape == (4, len(rows))
    np.testing.assert_array_equal(np.nanargmax(utilities, axis=1), picks)


def test_label_free_samplers_need_no_classifier_and_the_others_say_so():
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    y[:5] = y_true[:5]
    picks = SkactivemlQueryStrategy(KCenterGreedySampler(None, 1)).query(X, y, batch_size=3)
    np.testing.assert_array_equal(picks, KCenterGreedySampler(None, 3).query(X, y))
    with pytest.raises(TypeError, match="selects with a model: pass clf"):
        SkactivemlQueryStrategy(MarginSampler(None, 1)).query(X, y)
    with pytest.raises(ValueError, match="must be equal"):  # their check
        SkactivemlQueryStrategy(MarginSampler(None, 1)).query(
            X, y, their_clf(y_true, missing_label=-1)
        )


def test_random_state_follows_theirs_when_given():
    # None: the sampler's own seed; an int: drawn per query from it and the
    # number of unlabeled rows, as their strategies do: reproducible.
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    y[:12] = y_true[:12]
    sampler = IWKMeansSampler(None, batch_size=1, random_state=0)
    qs = SkactivemlQueryStrategy(sampler, random_state=7)
    first = qs.query(X, y, their_clf(y_true), batch_size=3)
    again = clone(qs).query(X, y, their_clf(y_true), batch_size=3)
    np.testing.assert_array_equal(first, again)
    assert qs.sampler_.random_state is not None and qs.sampler_.random_state != 0
    assert sampler.random_state == 0  # the sampler passed in is never changed


def test_their_tools_drive_the_strategy():
    # Their subsampling wrapper (candidates as indices, clf through **kwargs)
    # and call_func (keyword arguments matched to the signature).
    X, y_true = blobs()
    y = np.full(y_true.shape, MISSING_LABEL)
    y[:12] = y_true[:12]
    qs = SkactivemlQueryStrategy(IWKMeansSampler(None, batch_size=1, random_state=0))
    wrapper = SubSamplingWrapper(qs, max_candidates=50, random_state=0)
    picks = wrapper.query(X, y, clf=their_clf(y_true), batch_size=3)
    assert np.unique(picks).size == 3 and np.isnan(y[picks]).all()
    picks = call_func(qs.query, X=X, y=y, clf=their_clf(y_true), batch_size=2, unused=None)
    assert np.unique(picks).size == 2 and np.isnan(y[picks]).all()
    assert clone(qs).get_params()["sampler"].random_state == 0


class CountingKMeans(IncrementalKMeans):
    """IncrementalKMeans that counts its fits (the strategies instantiate it)."""

    fits = 0

    def fit(self, X, y=None, sample_weight=None, fixed_centers=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight, fixed_centers=fixed_centers)


@pytest.mark.parametrize("strategy", [TypiClust, ProbCover, Clue, DropQuery])
def test_incremental_kmeans_as_their_cluster_algo(strategy):
    X, y_true = blobs(120)
    y = np.full(y_true.shape, MISSING_LABEL)
    y[:8] = y_true[:8]
    qs = strategy(cluster_algo=CountingKMeans, random_state=0)
    kwargs = {"estimator": their_clf(y_true)} if strategy is Clue else {}
    if strategy is DropQuery:
        kwargs = {"clf": their_clf(y_true)}
    CountingKMeans.fits = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        picks = qs.query(X, y, batch_size=3, **kwargs)
    assert CountingKMeans.fits >= 1
    assert np.unique(picks).size == 3 and np.isnan(y[picks]).all()


def test_readme_section_runs():
    run_readme_section("### scikit-activeml")
