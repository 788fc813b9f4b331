"""Inputs at the edges (reliability issue #14): malformed sparse matrices,
arguments that used to fail deep inside numpy or be silently accepted, and
data far from the origin or of huge magnitude in the numpy selection code."""

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from iwkmeans import (
    BadgeSampler,
    HierarchicalKMeans,
    IncrementalKMeans,
    IncrementalMiniBatchKMeans,
    KCenterGreedySampler,
    SubmodularSampler,
    WKMeansSampler,
    entropy_score,
    kmeans_plusplus,
    select_badge,
    select_kcenter_greedy,
    select_submodular,
    select_wkmeans,
)
from iwkmeans.active._badge import LinearGradientEmbedding, implicit_kmeans_plusplus
from iwkmeans.experiments.metrics import (
    classifier_agreement,
    exploration,
    learning_curve_auc,
    noisy_sample_ratio,
)

import reference
from _helpers import DTYPES

# --------------------------------------------------------------------------
# 1. Malformed sparse matrices
# --------------------------------------------------------------------------

# Run in a child process: before the structure check these crashed the
# interpreter (SIGSEGV) or corrupted memory, which must show as failed tests,
# not as a dead test run. One child runs every variant (starting a process
# that imports the package takes seconds here): for each, it names the
# variant on stderr, builds it, passes it to every entry point and prints one
# line of JSON: the error each call got (or "accepted") and whether the
# matrix's arrays were changed.
CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from iwkmeans import (HierarchicalKMeans, IncrementalKMeans,
                          IncrementalMiniBatchKMeans, KCenterGreedySampler,
                          kmeans_plusplus, select_kcenter_greedy, select_submodular,
                          select_wkmeans)
    from iwkmeans.experiments.metrics import exploration

    def outcomes(variant):
        n_samples, n_features = 30, 6
        good = sparse.random(n_samples, n_features, density=0.5, format="csr",
                             random_state=np.random.default_rng(0))
        data, indices, indptr = good.data.copy(), good.indices.copy(), good.indptr.copy()
        dense = good.toarray()
        if variant == "column_too_large":
            indices[7] = n_features + 3
        elif variant == "column_negative":
            indices[7] = -1
        elif variant == "indptr_decreasing":
            indptr[10] = indptr[12] + 2
        M = sparse.csr_matrix((data, indices, indptr), shape=good.shape)
        # The constructor refuses these, but a matrix's arrays can be replaced later.
        if variant == "indptr_start":
            M.indptr = indptr + 1
        elif variant == "indptr_end":
            M.data, M.indices = np.r_[data, 1.0], np.r_[indices, 0].astype(indices.dtype)
        elif variant == "indptr_length":
            M.indptr = indptr[:-1]
        elif variant == "indices_length":
            M.indices = indices[:-1]
        elif variant == "csc_row":
            M = good.tocsc()
            M.indices[4] = n_samples
        elif variant == "coo_column":
            M = good.tocoo()
            M.col[4] = n_features
        arrays = {part: getattr(M, part).copy()
                  for part in ("data", "indices", "indptr", "row", "col") if hasattr(M, part)}

        fitted = IncrementalKMeans(2, random_state=0).fit(dense)
        y = np.arange(n_samples) % 2
        calls = {
            "fit": ("X", lambda: IncrementalKMeans(2, random_state=0).fit(M)),
            "fixed_centers": ("fixed_centers",
                              lambda: IncrementalKMeans(2).fit(dense, fixed_centers=M)),
            "init": ("init", lambda: IncrementalKMeans(30, init=M).fit(dense)),
            "predict": ("X", lambda: fitted.predict(M)),
            "transform": ("X", lambda: fitted.transform(M)),
            "score": ("X", lambda: fitted.score(M)),
            "minibatch": ("X", lambda: IncrementalMiniBatchKMeans(2).fit(M)),
            "hierarchical": ("X", lambda: HierarchicalKMeans(2).fit(M)),
            "kmeans_plusplus": ("X", lambda: kmeans_plusplus(M, 2, random_state=0)),
            "select_wkmeans": ("X_pool", lambda: select_wkmeans(M, np.ones(n_samples), 2)),
            "X_labeled": ("X_labeled", lambda: select_wkmeans(dense, np.ones(n_samples), 2,
                                                              X_labeled=M)),
            "select_kcenter_greedy": ("X_pool", lambda: select_kcenter_greedy(M, 2)),
            "select_submodular": ("X_pool",
                                  lambda: select_submodular(M, np.ones(n_samples), 2)),
            "sampler_fit": ("X_labeled", lambda: KCenterGreedySampler(None, 2).fit(M, y)),
            "exploration": ("X_test", lambda: exploration(M, dense)),
        }
        results = {}
        for call, (name, run) in calls.items():
            try:
                run()
                outcome = "accepted"
            except Exception as error:
                outcome = f"{type(error).__name__}: {error}"
            unchanged = all(np.array_equal(getattr(M, part), before)
                            for part, before in arrays.items())
            results[call] = [name, outcome, unchanged]
        return results

    for variant in sys.argv[1:]:
        print(variant, file=sys.stderr, flush=True)
        print(json.dumps({variant: outcomes(variant)}), flush=True)
""")

# The part of the message that names the bad index or position; {name} is
# the argument's name.
MALFORMED = {
    "column_too_large": r"{name}\.indices\[7\] = 9 \(row \d+\) is not a valid column index",
    "column_negative": r"{name}\.indices\[7\] = -1 \(row \d+\) is not a valid column index",
    "indptr_decreasing": r"{name}\.indptr must be non-decreasing; got indptr\[11\] = \d+ "
    r"< indptr\[10\]",
    "indptr_start": r"{name}\.indptr\[0\] must be 0; got 1",
    "indptr_end": r"{name}\.indptr\[-1\] must be the number of stored values",
    "indptr_length": r"{name}\.indptr must have n_rows \+ 1 = 31 entries",
    "indices_length": r"{name}\.indices and {name}\.data must have the same length",
    "csc_row": r"{name}\.indices\[4\] = 30 \(column \d+\) is not a valid row index",
    "coo_column": r"{name}\.col\[4\] = 6 is out of range",
}


@pytest.fixture(scope="module")
def malformed_outcomes():
    """{variant: the child's results} for every variant of MALFORMED, or the
    child process itself if it died (its stderr ends with the variant)."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *sorted(MALFORMED)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if child.returncode != 0:
        return child
    return {k: v for line in child.stdout.splitlines() for k, v in json.loads(line).items()}


@pytest.mark.parametrize("variant", sorted(MALFORMED))
def test_malformed_sparse_input_is_a_value_error_at_every_entry_point(variant, malformed_outcomes):
    assert isinstance(malformed_outcomes, dict), (
        f"the child process died (return code {malformed_outcomes.returncode}) on the "
        f"last variant it names:\n{malformed_outcomes.stderr[-3000:]}"
    )
    results = malformed_outcomes[variant]
    wrong = {}
    for call, (name, outcome, unchanged) in results.items():
        expected = "ValueError: .*" + MALFORMED[variant].format(name=re.escape(name))
        if not re.match(expected, outcome) or not unchanged:
            wrong[call] = (outcome, "input unchanged" if unchanged else "INPUT CHANGED")
    assert not wrong, wrong


def test_well_formed_sparse_input_is_neither_copied_nor_touched():
    made = sparse.random(40, 5, density=0.4, format="csr", random_state=0)
    X = sparse.csr_matrix((made.data, made.indices, made.indptr), shape=made.shape)
    assert not hasattr(X, "_has_canonical_format")
    picks = select_kcenter_greedy(X, 3)
    assert len(set(picks.tolist())) == 3
    # Not even scipy's cached flags were set on the caller's matrix.
    assert not hasattr(X, "_has_canonical_format")
    from iwkmeans._validation import check_data

    checked = check_data(X, accept_sparse=True)
    assert np.shares_memory(checked.data, X.data)
    assert np.shares_memory(checked.indices, X.indices)


# --------------------------------------------------------------------------
# 2. Clear errors for arguments that used to fail late or pass silently
# --------------------------------------------------------------------------

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
X32 = X.astype(np.float32)
SCORES = RNG.uniform(size=40)
PROBA = RNG.dirichlet(np.ones(3), size=40)
Y = np.arange(40) % 2


def masked(a):
    return np.ma.masked_array(a, mask=np.zeros(np.shape(a), dtype=bool))


def fitted_hierarchical():
    return HierarchicalKMeans((2, 2), random_state=0).fit(X)


def sampler(cls, **params):
    return cls(LogisticRegression(), 3, random_state=0, **params).fit(X[:10], Y[:10])


ERRORS = [
    # bools where an int is expected
    (
        lambda: IncrementalKMeans(n_clusters=True).fit(X),
        TypeError,
        "n_clusters must be an integer, not a bool; got True.",
    ),
    (lambda: kmeans_plusplus(X, True), TypeError, "n_clusters must be an integer, not a bool"),
    (
        lambda: HierarchicalKMeans(True).fit(X),
        TypeError,
        "n_clusters must be an integer, not a bool",
    ),
    (
        lambda: HierarchicalKMeans((2, True)).fit(X),
        TypeError,
        "n_clusters must be an integer, not a bool",
    ),
    (
        lambda: fitted_hierarchical().predict(X, level=True),
        TypeError,
        "level must be an integer, not a bool",
    ),
    (
        lambda: IncrementalKMeans(2, n_threads=True).fit(X),
        TypeError,
        "n_threads must be an integer, not a bool",
    ),
    (
        lambda: kmeans_plusplus(X, 2, n_local_trials=True),
        TypeError,
        "n_local_trials must be an integer, not a bool",
    ),
    (
        lambda: select_wkmeans(X, SCORES, True),
        TypeError,
        "batch_size must be an integer, not a bool",
    ),
    (
        lambda: select_kcenter_greedy(X, True),
        TypeError,
        "batch_size must be an integer, not a bool",
    ),
    (
        lambda: select_submodular(X, SCORES, True),
        TypeError,
        "batch_size must be an integer, not a bool",
    ),
    (lambda: select_badge(X, True), TypeError, "batch_size must be an integer, not a bool"),
    (
        lambda: KCenterGreedySampler(None, True).fit(X[:5], Y[:5]).select_samples(X),
        TypeError,
        "batch_size must be an integer, not a bool",
    ),
    # beta: finite, >= 1, not a bool
    (
        lambda: select_wkmeans(X, SCORES, 2, beta=np.nan),
        ValueError,
        "beta must be a finite number; got nan.",
    ),
    (
        lambda: select_wkmeans(X, SCORES, 2, beta=np.inf),
        ValueError,
        "beta must be a finite number; got inf.",
    ),
    (
        lambda: select_wkmeans(X, SCORES, 2, beta=True),
        TypeError,
        "beta must be a number, not a bool",
    ),
    (
        lambda: select_submodular(X, SCORES, 2, beta=np.nan),
        ValueError,
        "beta must be a finite number",
    ),
    (
        lambda: sampler(WKMeansSampler, beta=float("inf")).select_samples(X),
        ValueError,
        "beta must be a finite number; got inf.",
    ),
    (
        lambda: sampler(SubmodularSampler, beta=np.nan).select_samples(X),
        ValueError,
        "beta must be a finite number",
    ),
    # tol: finite, >= 0
    (
        lambda: IncrementalKMeans(2, tol=np.nan).fit(X),
        ValueError,
        "tol must be a finite number; got nan.",
    ),
    (
        lambda: IncrementalKMeans(2, tol=np.inf).fit(X),
        ValueError,
        "tol must be a finite number; got inf.",
    ),
    (lambda: HierarchicalKMeans(2, tol=np.nan).fit(X), ValueError, "tol must be a finite number"),
    (
        lambda: IncrementalMiniBatchKMeans(2, tol=np.nan).fit(X),
        ValueError,
        "tol must be a finite number",
    ),
    (lambda: IncrementalKMeans(2, tol=-1.0).fit(X), ValueError, "tol == -1.0, must be >= 0"),
    # float64 weights that a cast to float32 data would destroy
    (
        lambda: IncrementalKMeans(2).fit(X32, sample_weight=np.r_[1.0, np.full(39, 1e-50)]),
        ValueError,
        "sample_weight has 39 positive value(s) that become 0 when cast to "
        "float32, the data's dtype (e.g. sample_weight[1] = 1e-50",
    ),
    (
        lambda: kmeans_plusplus(X32, 2, sample_weight=np.r_[np.full(39, 1e-50), 1.0]),
        ValueError,
        "or pass the data as float64",
    ),
    (
        lambda: IncrementalKMeans(2).fit(X32, sample_weight=np.r_[1.0, np.full(39, 1e50)]),
        ValueError,
        "sample_weight[1] = 1e+50 becomes infinite when cast to float32",
    ),
    (
        lambda: select_wkmeans(X32, np.r_[SCORES[:39], 1e50], 2),
        ValueError,
        "scores[39] = 1e+50 becomes infinite when cast to float32",
    ),
    # masked arrays: the mask would be ignored
    (lambda: IncrementalKMeans(2).fit(masked(X)), TypeError, "X is a numpy masked array"),
    (
        lambda: IncrementalKMeans(2).fit(X, sample_weight=masked(SCORES)),
        TypeError,
        "sample_weight is a numpy masked array, whose mask would be ignored",
    ),
    (
        lambda: IncrementalKMeans(2).fit(X, fixed_centers=masked(X[:2])),
        TypeError,
        "fixed_centers is a numpy masked array",
    ),
    (
        lambda: IncrementalKMeans(2, init=masked(X[:2])).fit(X),
        TypeError,
        "init is a numpy masked array",
    ),
    (
        lambda: IncrementalKMeans(2).fit(X).predict(masked(X)),
        TypeError,
        "X is a numpy masked array",
    ),
    (lambda: HierarchicalKMeans(2).fit(masked(X)), TypeError, "X is a numpy masked array"),
    (lambda: IncrementalMiniBatchKMeans(2).fit(masked(X)), TypeError, "X is a numpy masked array"),
    (lambda: kmeans_plusplus(masked(X), 2), TypeError, "X is a numpy masked array"),
    (lambda: select_wkmeans(masked(X), SCORES, 2), TypeError, "X_pool is a numpy masked array"),
    (lambda: select_wkmeans(X, masked(SCORES), 2), TypeError, "scores is a numpy masked array"),
    (
        lambda: select_wkmeans(X, SCORES, 2, X_labeled=masked(X[:3])),
        TypeError,
        "X_labeled is a numpy masked array",
    ),
    (lambda: select_kcenter_greedy(masked(X), 2), TypeError, "X_pool is a numpy masked array"),
    (lambda: select_submodular(X, masked(SCORES), 2), TypeError, "scores is a numpy masked array"),
    (lambda: select_badge(masked(X), 2), TypeError, "embeddings is a numpy masked array"),
    (lambda: entropy_score(masked(PROBA)), TypeError, "proba is a numpy masked array"),
    (
        lambda: KCenterGreedySampler(None, 2).fit(masked(X), Y),
        TypeError,
        "X_labeled is a numpy masked array",
    ),
    (
        lambda: sampler(WKMeansSampler).select_samples(masked(X)),
        TypeError,
        "X_pool is a numpy masked array",
    ),
    (lambda: exploration(masked(X), X[:3]), TypeError, "X_test is a numpy masked array"),
    (lambda: noisy_sample_ratio([0, 1], masked(Y > 0)), TypeError, "noisy is a numpy masked array"),
    (
        lambda: learning_curve_auc(masked([0.5, 0.6])),
        TypeError,
        "accuracies is a numpy masked array",
    ),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_error_names_the_argument_and_what_was_expected(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_minibatch_batch_size_bool():
    with pytest.raises(TypeError, match="batch_size must be an integer, not a bool"):
        IncrementalMiniBatchKMeans(2, batch_size=True).fit(X)


def test_masked_array_input_is_not_modified():
    data = masked(X.copy())
    data.mask[0, 0] = True
    before = data.data.copy(), data.mask.copy()
    with pytest.raises(TypeError):
        select_kcenter_greedy(data, 2)
    np.testing.assert_array_equal(data.data, before[0])
    np.testing.assert_array_equal(data.mask, before[1])


def test_tiny_scores_on_float32_pools_count_as_zero():
    # A score below float32's range (an entropy of a very confident
    # prediction) ranks its sample last; it is not an error.
    scores = np.r_[SCORES[:30], np.full(10, 1e-60)]
    picks = select_wkmeans(X32, scores, 5, random_state=0)
    assert len(set(picks.tolist())) == 5
    picks = select_submodular(X32, scores, 5)
    assert len(set(picks.tolist())) == 5


def test_weights_in_range_for_float32_are_accepted_and_not_modified():
    weights = np.r_[1.0, np.full(39, 1e-30)]  # small, but positive in float32
    before = weights.copy()
    km = IncrementalKMeans(2, random_state=0).fit(X32, sample_weight=weights)
    assert km.cluster_centers_.dtype == np.float32
    np.testing.assert_array_equal(weights, before)


def test_validators_live_in_validation_only():
    from iwkmeans.active import _selection as selection

    # Every module imports batch_size and beta checks from _validation.
    assert not hasattr(selection, "_check_batch_size")
    assert not hasattr(selection, "_check_beta")


# --------------------------------------------------------------------------
# 3. Far from the origin, huge values: exact farthest-first picks
# --------------------------------------------------------------------------


def farthest_first(X, batch_size, X_labeled=None):
    """Greedy k-center straight from the definition, in float64 from the
    differences themselves (exact for the small integers used below)."""
    X = np.asarray(X, dtype=np.float64)
    if X_labeled is None:
        sources = X.mean(axis=0, keepdims=True)
    else:
        sources = np.asarray(X_labeled, dtype=np.float64)
    closest = reference.sq_distances(X, sources).min(axis=1)
    picks = []
    for _ in range(batch_size):
        pick = int(np.argmax(closest))
        picks.append(pick)
        closest = np.minimum(closest, reference.sq_distances(X, X[pick : pick + 1])[:, 0])
        closest[pick] = -1.0
    return picks


def integer_data(seed, n, d, n_labeled):
    """Small integers: every distance between them, and every shifted and
    power-of-two scaled copy used below, is exact in float32 and float64."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-8, 9, size=(n, d)).astype(np.float64)
    labeled = rng.integers(-8, 9, size=(n_labeled, d)).astype(np.float64)
    return X, labeled


def moved(A, exponent, offset_units, dtype):
    """A * 2**exponent + offset, with the offset a whole number of
    2**exponent (so that the result is exact), in ``dtype``."""
    result = np.ldexp(A, exponent) + np.ldexp(float(offset_units), exponent)
    assert np.array_equal(
        np.ldexp(
            result.astype(dtype).astype(np.float64) - np.ldexp(float(offset_units), exponent),
            -exponent,
        ),
        A,
    )  # exact, as intended
    return result.astype(dtype)


# The spread of integer_data is 16: offsets up to 1e6 (float64) and 1e3
# (float32) times the spread, exponents over most of each dtype's range.
SPREAD = 16
SHIFTS = {
    np.float64: dict(exponent=st.integers(-1000, 990), offset=st.integers(-16 * 10**6, 16 * 10**6)),
    np.float32: dict(exponent=st.integers(-100, 100), offset=st.integers(-16 * 10**3, 16 * 10**3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@given(
    data=st.data(),
    seed=st.integers(0, 10_000),
    n=st.integers(2, 60),
    d=st.integers(1, 4),
    n_labeled=st.integers(0, 5),
)
def test_kcenter_picks_do_not_move_with_offset_and_scale(dtype, data, seed, n, d, n_labeled):
    X, labeled = integer_data(seed, n, d, n_labeled)
    exponent = data.draw(SHIFTS[dtype]["exponent"], label="exponent")
    offset = data.draw(SHIFTS[dtype]["offset"], label="offset units")
    batch = data.draw(st.integers(1, n), label="batch")
    X_moved = moved(X, exponent, offset, dtype)
    labeled_moved = moved(labeled, exponent, offset, dtype) if n_labeled else None
    before = X_moved.copy()
    expected = select_kcenter_greedy(X, batch, X_labeled=labeled if n_labeled else None)
    got = select_kcenter_greedy(X_moved, batch, X_labeled=labeled_moved)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(X_moved, before)  # input never modified
    if n_labeled:
        assert expected.tolist() == farthest_first(X, batch, labeled)


@pytest.mark.parametrize("with_labeled", [False, True])
@given(
    seed=st.integers(0, 10_000),
    n_log2=st.integers(1, 6),
    d=st.integers(1, 4),
    exponent=st.integers(-1000, 990),
)
def test_kcenter_is_the_exact_farthest_first_order(with_labeled, seed, n_log2, d, exponent):
    # n a power of two: the pool's mean is exact too, so no tie is broken by
    # rounding and the picks must be exactly the reference's.
    n = 2**n_log2
    X, labeled = integer_data(seed, n, d, 3)
    labeled = labeled if with_labeled else None
    scaled = np.ldexp(X, exponent)
    picks = select_kcenter_greedy(
        scaled, n, X_labeled=None if labeled is None else np.ldexp(labeled, exponent)
    )
    assert picks.tolist() == farthest_first(X, n, labeled)


@pytest.mark.parametrize("with_labeled", [False, True])
@given(seed=st.integers(0, 10_000), exponent=st.integers(-1000, 990))
def test_kcenter_sparse_is_scale_free(with_labeled, seed, exponent):
    X, labeled = integer_data(seed, 32, 6, 3)
    X[np.abs(X) < 5] = 0  # mostly zeros
    labeled = labeled if with_labeled else None
    S = sparse.csr_matrix(np.ldexp(X, exponent))
    picks = select_kcenter_greedy(
        S, 10, X_labeled=None if labeled is None else np.ldexp(labeled, exponent)
    )
    assert picks.tolist() == farthest_first(X, 10, labeled)


def test_kcenter_float32_far_from_the_origin():
    # Issue #14: float32 data offset by 1e7 shared 0 of 5 picks with the
    # exact order of the same float32 values.
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(300, 4)) * 100).astype(np.float32) + np.float32(1e7)
    for labeled in (None, X[:3]):
        assert select_kcenter_greedy(X, 5, X_labeled=labeled).tolist() == farthest_first(
            X, 5, labeled
        )


HUGE = [
    (np.float64, 2.0**511),  # ~1e154: squares overflow
    (np.float64, 2.0**1015),  # ~1e305: differences nearly overflow
    (np.float32, 2.0**60),  # ~1e18
    (np.float32, 2.0**120),  # ~1e36
    (np.float64, 2.0**-1000),  # tiny: squares underflow
]


@pytest.mark.parametrize("dtype, magnitude", HUGE)
@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_kcenter_huge_and_tiny_values(dtype, magnitude, layout):
    rng = np.random.default_rng(1)
    base = rng.normal(size=(200, 5))
    base[rng.uniform(size=base.shape) < 0.5] = 0
    X = (base * magnitude).astype(dtype)
    pool = sparse.csr_matrix(X) if layout == "sparse" else X
    reference_X = X.astype(np.float64) / magnitude  # exact: a power of two
    for labeled in (None, X[:4]):
        picks = select_kcenter_greedy(pool, 8, X_labeled=labeled)
        assert len(set(picks.tolist())) == 8 and picks.min() >= 0 and picks.max() < 200
        assert picks.tolist() == farthest_first(
            reference_X, 8, None if labeled is None else reference_X[:4]
        )


@pytest.mark.parametrize(
    "dtype, exponent, offset_units",
    [
        (np.float64, 700, 16 * 10**6),
        (np.float64, -700, -16 * 10**6),
        (np.float32, 60, 16 * 10**3),
        (np.float32, -60, 16 * 10**3),
    ],
)
def test_submodular_picks_do_not_move_with_offset_and_scale(dtype, exponent, offset_units):
    for seed in range(5):
        X, _ = integer_data(seed, 60, 3, 0)
        scores = np.random.default_rng(seed).uniform(size=60)
        expected = select_submodular(X, scores, 6, beta=5)
        got = select_submodular(moved(X, exponent, offset_units, dtype), scores, 6, beta=5)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("layout", [np.asarray, sparse.csr_matrix])
@pytest.mark.parametrize(
    "dtype, exponent",
    [(np.float64, 511), (np.float64, 1015), (np.float32, 62), (np.float64, -1000)],
)
def test_submodular_huge_and_tiny_values(layout, dtype, exponent):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4)).astype(dtype)
    X[rng.uniform(size=X.shape) < 0.3] = 0
    scores = rng.uniform(size=80)
    expected = select_submodular(layout(X), scores, 6, beta=4)
    got = select_submodular(layout(np.ldexp(X, exponent).astype(dtype)), scores, 6, beta=4)
    assert len(set(got.tolist())) == 6
    np.testing.assert_array_equal(got, expected)


def test_wkmeans_nearest_member_on_huge_values():
    # One cluster per blob; each pick must be the member nearest its centroid.
    X = np.repeat(np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]]), 5, axis=0)
    X = X + np.tile(np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1.0]]), (3, 1))
    expected = select_wkmeans(X, np.ones(15), 3, random_state=0)
    got = select_wkmeans(X * 2.0**1000, np.ones(15), 3, random_state=0)
    assert sorted(got.tolist()) == sorted(expected.tolist()) == [0, 5, 10]


def test_badge_distances_exact_for_inputs_far_from_the_origin():
    # Samples the model treats alike: the embedding distance is
    # ||a||^2 ||x - y||^2, which the expansion in ||x||^2 lost at an offset.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3)) + 1e8
    proba = np.tile([[0.7, 0.2, 0.1]], (10, 1))
    a = np.array([-0.3, 0.2, 0.1])
    got = LinearGradientEmbedding(proba, X).sq_distances_to(0)
    expected = (a @ a) * reference.sq_distances(X, X[:1])[:, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("magnitude", [2.0**600, 2.0**1015])
def test_badge_huge_inputs_pick_distinct_rows_as_at_unit_scale(magnitude):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    proba = rng.dirichlet(np.ones(3), size=60)
    big = LinearGradientEmbedding(proba, X * magnitude)
    distances = big.framed_sq_distances_to(5)
    assert np.all(np.isfinite(distances)) and distances.max() > 0
    picks = implicit_kmeans_plusplus(big, 10, np.random.RandomState(0))
    assert len(set(picks.tolist())) == 10
    # At this magnitude the intercept's 1 is negligible: the embeddings are
    # those of X * magnitude, proportional to the embeddings of X alone.
    E = np.einsum("ij,ik->ijk", proba - np.eye(3)[np.argmax(proba, axis=1)], X)
    exact = reference.sq_distances(E.reshape(60, -1), E.reshape(60, -1)[5:6])[:, 0]
    np.testing.assert_allclose(
        distances / distances.max(), exact / exact.max(), rtol=1e-9, atol=1e-12
    )


def test_badge_sampler_on_float32_far_from_the_origin_picks_distinct_rows():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(200, 4)) * 10 + 1e6).astype(np.float32)
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    badge = BadgeSampler(LogisticRegression(), 8, random_state=0).fit(X[:20], y[:20])
    picks = badge.select_samples(X[20:])
    assert len(set(picks.tolist())) == 8


@pytest.mark.parametrize(
    "dtype, exponent, offset_units",
    [
        (np.float64, 900, 16 * 10**6),
        (np.float64, -900, 5),
        (np.float32, 80, 16 * 10**3),
        (np.float32, -80, -16 * 10**3),
    ],
)
def test_metrics_distances_do_not_move_with_offset_and_scale(dtype, exponent, offset_units):
    X_test, X_labeled = integer_data(3, 50, 3, 6)
    expected = exploration(X_test, X_labeled)
    got = exploration(
        moved(X_test, exponent, offset_units, dtype),
        moved(X_labeled, exponent, offset_units, dtype),
    )
    assert got == np.ldexp(expected, exponent)


def test_metrics_huge_values():
    rng = np.random.default_rng(0)
    X_test, X_labeled = rng.normal(size=(50, 3)), rng.normal(size=(6, 3))
    magnitude = 2.0**1000
    assert exploration(X_test * magnitude, X_labeled * magnitude) == pytest.approx(
        exploration(X_test, X_labeled) * magnitude, rel=1e-12
    )

    class Nearest(BaseEstimator):  # predicts the label of the nearest labeled row
        def fit(self, X, y):
            self.fitted_ = True
            return self

        def predict(self, X):
            return np.argmin(reference.sq_distances(X / magnitude, X_labeled), axis=1)

    assert (
        classifier_agreement(
            Nearest().fit(None, None), X_labeled * magnitude, np.arange(6), X_test * magnitude
        )
        == 1.0
    )
