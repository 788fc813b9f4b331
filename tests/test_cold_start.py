"""Cold start: every sampler fits on no labeled sample (None or empty
arrays) and on one labeled class; the samplers that need a model then make
the representative pick (K-Means on the pool, the sample nearest each
center), IWKMeans with its labeled samples as fixed centroids."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from iwkmeans import (
    IWKMeansSampler,
    KCenterGreedySampler,
    KMeansSampler,
    RandomSampler,
    TypiClustSampler,
    select_kcenter_greedy,
)
from iwkmeans.active._samplers import _Sampler
from iwkmeans.active._selection import cluster_and_pick

from _helpers import SAMPLERS, make_pool

LABEL_FREE = (RandomSampler, KCenterGreedySampler, KMeansSampler, TypiClustSampler)
MODEL_BASED = [cls for cls in SAMPLERS if cls not in LABEL_FREE]


def pool(seed=0, n=120, d=3):
    X, _ = make_blobs(n, n_features=d, centers=4, random_state=seed)
    return X


def representative(X, batch_size, seed, fixed=None):
    """The documented fallback, spelled out: K-Means with batch_size free
    clusters (unit weights, around ``fixed``), the row nearest each center."""
    if fixed is None:
        fixed = np.empty((0, X.shape[1]))
    return cluster_and_pick(X, None, batch_size, fixed, seed, None)


def test_every_exported_sampler_is_under_test():
    import iwkmeans.active

    exported = {
        obj
        for obj in vars(iwkmeans.active).values()
        if isinstance(obj, type) and issubclass(obj, _Sampler)
    }
    assert exported == set(SAMPLERS)


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda cls: cls.__name__)
def test_no_labeled_sample_none_or_empty_arrays(cls):
    X = pool()
    X.setflags(write=False)
    picks = []
    for args in [(), (None, None), (np.empty((0, 3)), np.empty(0)), ([], []), (X[:0], [])]:
        sampler = cls(LogisticRegression(), 6, random_state=3).fit(*args)
        assert sampler.cold_start_
        assert not hasattr(sampler, "classifier_")
        picks.append(sampler.select_samples(X))
    for other in picks[1:]:
        np.testing.assert_array_equal(picks[0], other)
    assert picks[0].shape == (6,) and np.unique(picks[0]).size == 6
    assert 0 <= picks[0].min() and picks[0].max() < len(X)


@pytest.mark.parametrize("cls", MODEL_BASED, ids=lambda cls: cls.__name__)
def test_model_based_samplers_fall_back_to_the_representative_pick(cls):
    X = pool(1)
    expected = representative(X, 7, 5)
    for _ in range(2):  # deterministic for a given random_state
        picks = cls(LogisticRegression(), 7, random_state=5).fit().select_samples(X)
        np.testing.assert_array_equal(picks, expected)
    # It is KMeansSampler's selection.
    np.testing.assert_array_equal(
        KMeansSampler(None, 7, random_state=5).fit().select_samples(X), expected
    )


@pytest.mark.parametrize("cls", MODEL_BASED, ids=lambda cls: cls.__name__)
def test_one_labeled_class_is_a_cold_start(cls):
    X = pool(2)
    X_labeled, y_labeled = X[:10] + 0.1, np.full(10, "only")
    sampler = cls(LogisticRegression(), 5, random_state=1).fit(X_labeled, y_labeled)
    assert sampler.cold_start_ and not hasattr(sampler, "classifier_")
    # IWKMeans keeps the labeled samples as fixed centroids; the others
    # cluster the pool alone.
    fixed = X_labeled if cls is IWKMeansSampler else None
    np.testing.assert_array_equal(sampler.select_samples(X), representative(X, 5, 1, fixed))


def test_iwkmeans_cold_start_avoids_the_labeled_region():
    # Two identical regions, one class labeled in the first: the fixed
    # centroids hold that region, so the picks go to the other one, where
    # the plain representative pick splits the batch.
    rng = np.random.default_rng(0)
    region = rng.normal(scale=0.5, size=(200, 2))
    X = np.r_[region, region + [20.0, 0.0]]
    X_labeled = rng.normal(scale=0.5, size=(40, 2))
    y_labeled = np.zeros(40, dtype=int)
    sampler = IWKMeansSampler(LogisticRegression(), 10, random_state=0)
    picks = sampler.fit(X_labeled, y_labeled).select_samples(X)
    assert np.all(picks >= 200)
    plain = KMeansSampler(None, 10, random_state=0).fit().select_samples(X)
    assert 3 <= np.count_nonzero(plain >= 200) <= 7


@pytest.mark.parametrize("cls", LABEL_FREE, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("classifier", [None, LogisticRegression()], ids=["none", "logreg"])
def test_label_free_samplers_never_need_labels(cls, classifier):
    X_labeled, y_labeled, X_pool = make_pool(0, 100)
    with_labels = cls(classifier, 5, random_state=0).fit(X_labeled, y_labeled)
    without = cls(classifier, 5, random_state=0).fit(X_labeled)
    assert without.cold_start_ and not hasattr(without, "classifier_")
    assert hasattr(with_labels, "classifier_") == (classifier is not None)
    np.testing.assert_array_equal(
        with_labels.select_samples(X_pool), without.select_samples(X_pool)
    )


def test_kcenter_without_labeled_samples_is_the_plain_greedy():
    X = pool(4)
    np.testing.assert_array_equal(
        KCenterGreedySampler(None, 5).fit().select_samples(X), select_kcenter_greedy(X, 5)
    )


@pytest.mark.parametrize("cls", MODEL_BASED, ids=lambda cls: cls.__name__)
def test_model_based_samplers_need_the_labels_of_labeled_rows(cls):
    X_labeled, _, _ = make_pool(0, 20)
    with pytest.raises(ValueError, match=f"{cls.__name__} needs y_labeled, the labels of the"):
        cls(LogisticRegression(), 5).fit(X_labeled)


@pytest.mark.parametrize(
    "cls", [cls for cls in MODEL_BASED if hasattr(cls, "score_samples")], ids=lambda c: c.__name__
)
def test_score_samples_has_no_model_to_score_with(cls):
    sampler = cls(LogisticRegression(), 5).fit()
    with pytest.raises(ValueError, match="has no model to score with"):
        sampler.score_samples(pool())


def test_refit_on_one_class_drops_the_previous_model():
    X_labeled, y_labeled, X_pool = make_pool(0, 100)
    sampler = IWKMeansSampler(LogisticRegression(), 5, random_state=0).fit(X_labeled, y_labeled)
    assert not sampler.cold_start_ and hasattr(sampler, "classifier_")
    sampler.fit(X_labeled[:3], np.ones(3))
    assert sampler.cold_start_ and not hasattr(sampler, "classifier_")
    fixed = X_labeled[:3]
    np.testing.assert_array_equal(
        sampler.select_samples(X_pool), representative(X_pool, 5, 0, fixed)
    )


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda cls: cls.__name__)
def test_cold_start_on_a_sparse_pool(cls):
    X = pool(5)
    X[X < 0] = 0.0  # some structural zeros
    X_sparse = sparse.csr_matrix(X)
    picks = cls(LogisticRegression(), 4, random_state=2).fit().select_samples(X_sparse)
    assert np.unique(picks).size == 4 and picks.max() < X.shape[0]
    sampler = cls(LogisticRegression(), 4, random_state=2)
    again = sampler.fit(X_sparse[:0], []).select_samples(X_sparse)
    np.testing.assert_array_equal(picks, again)


def test_empty_labeled_set_keeps_its_number_of_features():
    sampler = KMeansSampler(None, 2).fit(np.empty((0, 4)))
    with pytest.raises(ValueError, match="X_pool has 3 features but the labeled set has 4"):
        sampler.select_samples(pool())


@pytest.mark.parametrize("cls", MODEL_BASED, ids=lambda cls: cls.__name__)
def test_the_fallback_is_documented(cls):
    assert "cold start" in cls.__doc__
    assert "representative pick" in cls.fit.__doc__
    assert "k-means++" in cls.fit.__doc__
