"""The samplers inside small-text (the ``smalltext`` extra): our strategy in
their PoolBasedActiveLearner with their scikit-learn integration, on a small
TF-IDF text task whose sparse features are never densified."""

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import MultinomialNB

from iwkmeans import (
    BadgeSampler,
    IWKMeansSampler,
    KCenterGreedySampler,
    MarginSampler,
    RandomSampler,
    SubmodularSampler,
    WKMeansSampler,
)

from _helpers import run_readme_section

pytest.importorskip("small_text")

from small_text import (  # noqa: E402
    PoolBasedActiveLearner,
    SklearnClassifierFactory,
    SklearnDataset,
)
from small_text.query_strategies import PoolExhaustedException  # noqa: E402

from iwkmeans.active.integrations.smalltext import SmallTextQueryStrategy  # noqa: E402

# small-text warns (DeprecationWarning) about its own internals at every dataset.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOPICS = [
    "goal match team score league player coach season striker referee",
    "stock market price share investor bank trade rate profit bond",
    "rain storm weather forecast wind cloud snow temperature sunny frost",
]
FILLER = "the a today new report says big small local latest".split()


def sentences(n=60, seed=0):
    """``n`` short sentences, three topics in turn, with filler words: (texts, topics)."""
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(n):
        words = [*rng.choice(TOPICS[i % 3].split(), 4), *rng.choice(FILLER, 3)]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, np.arange(n) % 3


def text_task():
    texts, y_true = sentences()
    x = TfidfVectorizer().fit_transform(texts)  # CSR
    return SklearnDataset(x, y_true, target_labels=np.arange(3)), y_true


@pytest.fixture
def no_pool_densified(monkeypatch):
    """Fail any toarray/todense of a sparse matrix with at least ``limit[0]``
    rows (the pool's size, set by the test); smaller ones (labeled rows,
    picked rows) are the samplers' business."""
    limit = [np.inf]
    for cls in (sparse.csr_matrix, sparse.csr_array):
        original = cls.toarray

        def toarray(self, *args, _original=original, **kwargs):
            assert self.shape[0] < limit[0], f"a sparse {self.shape} was densified"
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "toarray", toarray)
    return limit


@pytest.mark.parametrize(
    "cls",
    [
        IWKMeansSampler,
        WKMeansSampler,
        SubmodularSampler,
        BadgeSampler,
        MarginSampler,
        KCenterGreedySampler,
        RandomSampler,
    ],
    ids=lambda cls: cls.__name__,
)
def test_their_active_learner_loop(cls, no_pool_densified):
    train, y_true = text_task()
    factory = SklearnClassifierFactory(MultinomialNB(), num_classes=3)
    strategy = SmallTextQueryStrategy(cls(None, batch_size=1, random_state=0))
    learner = PoolBasedActiveLearner(factory, strategy, train)
    initial = np.array([0, 1, 2, 3, 4, 5])  # two of each topic
    learner.initialize_data(initial, y_true[initial])
    labeled = set(initial.tolist())
    for _ in range(3):
        no_pool_densified[0] = len(train) - len(labeled)
        picks = learner.query(num_samples=4)
        assert picks.shape == (4,) and np.unique(picks).size == 4
        assert picks.min() >= 0 and picks.max() < len(train)
        assert not set(picks.tolist()) & labeled
        # The active learner's model, not a second one: the picks are our
        # sampler's with the same (deterministically trained) classifier.
        rows = np.array(sorted(labeled))
        y = np.full(len(train), -1)
        y[rows] = y_true[rows]
        ours = cls(MultinomialNB() if cls.needs_proba else None, batch_size=4, random_state=0)
        np.testing.assert_array_equal(picks, ours.query(train.x, y, missing_label=-1))
        learner.update(y_true[picks])
        labeled |= set(picks.tolist())
    assert not strategy.sampler_.cold_start_
    assert len(learner.indices_labeled) == 18


def test_indices_are_dataset_rows_and_ignored_rows_are_never_picked():
    train, y_true = text_task()
    factory = SklearnClassifierFactory(MultinomialNB(), num_classes=3)
    strategy = SmallTextQueryStrategy(IWKMeansSampler(None, batch_size=1, random_state=0))
    learner = PoolBasedActiveLearner(factory, strategy, train)
    initial = np.array([0, 1, 2, 3, 4, 5])
    learner.initialize_data(initial, y_true[initial], indices_ignored=np.arange(30, 60))
    picks = learner.query(num_samples=5)
    assert set(picks.tolist()) <= set(range(6, 30))
    with pytest.raises(PoolExhaustedException):
        learner.query(num_samples=25)  # their check: 24 rows can be picked


def test_cold_start_pick_without_a_classifier():
    # Before the learner has a model (clf None): the sampler's cold-start
    # pick over the whole unlabeled dataset, e.g. for the initial labels.
    train, y_true = text_task()
    strategy = SmallTextQueryStrategy(IWKMeansSampler(None, batch_size=1, random_state=0))
    empty = np.empty(0, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        picks = strategy.query(None, train, np.arange(len(train)), empty, empty, n=6)
    assert strategy.sampler_.cold_start_ and np.unique(picks).size == 6
    # With two classes labeled the sampler needs the model it was not given.
    with pytest.raises(ValueError, match="no trained classifier"):
        strategy.query(None, train, np.arange(2, 60), np.array([0, 1]), y_true[:2], n=3)


def test_what_it_refuses():
    train, y_true = text_task()
    strategy = SmallTextQueryStrategy(MarginSampler(None, batch_size=1))
    multi_label = sparse.csr_matrix(np.eye(3, dtype=int)[y_true[:6]])
    with pytest.raises(TypeError, match="single-label"):
        strategy.query(None, train, np.arange(6, 60), np.arange(6), multi_label, n=3)
    texts = np.array(sentences()[0], dtype=object)
    with pytest.raises(TypeError, match="feature matrix"):
        strategy.query(None, texts.tolist(), np.arange(60), np.empty(0, int), [], n=3)
    assert str(strategy).startswith("SmallTextQueryStrategy(sampler=MarginSampler(")


def test_readme_section_runs():
    run_readme_section("### small-text")
