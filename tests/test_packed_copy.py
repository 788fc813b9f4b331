"""One packed copy of X per fit: made by the caller (_seeding.packed_copy),
shared by the k-means++ seeding and Lloyd's iterations of every
initialisation instead of each kernel call copying X again.

A kernel given the copy must read it (a wrong copy changes its result),
compute exactly what it computes from its own copy (bit-identical), and
refuse a copy of the wrong size. On CPUs whose kernels have no packed path
for X the copy is None and each check that needs it is skipped."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iwkmeans import IncrementalKMeans
from iwkmeans._core._frame import frame_of
from iwkmeans._core._kernels import _lloyd, _seeding
from iwkmeans._core._seeding import kmeans_plusplus_draws

from _helpers import DTYPES, every_thread, make_problem

N_SAMPLES, N_FEATURES, N_FIXED, N_CLUSTERS = 997, 7, 3, 9


def problem(dtype, seed=1, n=N_SAMPLES, d=N_FEATURES, n_fixed=N_FIXED, k=N_CLUSTERS, offset=1000):
    # Far from the origin by default, so that the copy is in a frame with a
    # shift.
    X, w, fixed, init = make_problem(seed, n, d, n_fixed, k, dtype)
    X = X + dtype(offset)
    fixed = fixed + dtype(offset)
    init = init + dtype(offset)
    frame = frame_of(X, 1)
    return X, w.astype(dtype), frame, frame.to(fixed), frame.to(init)


def copy_for(X, frame, seeding):
    return _seeding.packed_copy(*frame.rows(X), X.shape[0], X.shape[1], seeding)


def seeding(X, w, frame, fixed, n_picks, n_threads, packed=(None, 0)):
    # The kernel's contract: at most as many picks as samples of positive
    # weight (make_problem's free centers are such samples).
    first_draw, trial_draws = kmeans_plusplus_draws(np.random.default_rng(2), n_picks, 4)
    picks = np.empty(n_picks, dtype=np.intp)
    _seeding.kmeans_plusplus(
        *frame.rows(X), w, fixed, first_draw, trial_draws, picks, n_threads, *packed
    )
    return picks


def lloyd(X, w, frame, fixed, init, n_threads, packed=(None, 0)):
    centers = np.concatenate([fixed, init])
    labels = np.empty(X.shape[0], dtype=np.int32)
    n_iter, inertia = _lloyd.lloyd(
        *frame.rows(X),
        X.shape[1],
        w,
        centers,
        fixed.shape[0],
        20,
        0.0,
        labels,
        n_threads,
        False,
        1.0,
        *packed,
    )
    return labels, centers, n_iter, inertia


def run_kernel(is_seeding, problem, n_threads, packed=(None, 0)):
    """The picks of the seeding, or Lloyd's (labels, centers, n_iter,
    inertia), on every thread asked for."""
    X, w, frame, fixed, init = problem
    with every_thread():
        if is_seeding:
            return (seeding(X, w, frame, fixed, init.shape[0], n_threads, packed),)
        return lloyd(X, w, frame, fixed, init, n_threads, packed)


KERNELS = pytest.mark.parametrize("is_seeding", [True, False], ids=["seeding", "lloyd"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", [1, 2])
@KERNELS
def test_kernel_from_the_shared_copy_is_bit_identical(dtype, n_threads, is_seeding):
    p = problem(dtype)
    packed = copy_for(p[0], p[2], is_seeding)
    if packed[0] is None:
        pytest.skip("no packed kernel for this problem on this CPU")
    own = run_kernel(is_seeding, p, n_threads)
    for a, b in zip(run_kernel(is_seeding, p, n_threads, packed), own):
        np.testing.assert_array_equal(a, b)
    # The copy is what the kernel reads: zeros put every row at the origin
    # (and change the picks, or the labels).
    wrong = run_kernel(is_seeding, p, n_threads, (np.zeros_like(packed[0]), packed[1]))
    assert not np.array_equal(wrong[0], own[0])


@given(
    st.builds(
        dict,
        seed=st.integers(0, 2**32 - 1),
        n=st.integers(12, 70),  # below, at and past one or a few blocks of rows
        d=st.integers(1, 9),
        n_fixed=st.integers(0, 3),
        k=st.integers(1, 4),
        offset=st.sampled_from([0, 1000]),
        dtype=st.sampled_from(DTYPES),
    ),
    st.booleans(),
)
def test_any_shape_from_the_shared_copy_is_bit_identical(p, is_seeding):
    p = dict(p)
    dtype = p.pop("dtype")
    prob = problem(dtype, **p)
    packed = copy_for(prob[0], prob[2], is_seeding)
    own = run_kernel(is_seeding, prob, 2)
    for a, b in zip(run_kernel(is_seeding, prob, 2, packed), own):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_copy_of_other_blocks_is_not_used(dtype):
    # A copy whose blocks are not the kernel's own (Lloyd's where it has
    # none, or a made-up size) is left aside: the kernel makes its own.
    p = problem(dtype)
    other = (np.zeros(p[0].size, dtype=dtype), 3)
    np.testing.assert_array_equal(run_kernel(False, p, 1, other)[0], run_kernel(False, p, 1)[0])


@pytest.mark.parametrize("dtype", DTYPES)
@KERNELS
def test_copy_of_the_wrong_size_is_refused(dtype, is_seeding):
    p = problem(dtype)
    copy, lanes = copy_for(p[0], p[2], is_seeding)
    if copy is None:
        pytest.skip("no packed kernel for this problem on this CPU")
    with pytest.raises(ValueError, match="shared packed copy"):
        run_kernel(is_seeding, p, 1, (copy[:-1], lanes))


@pytest.mark.parametrize("dtype", DTYPES)
@KERNELS
def test_packed_copy_layout(dtype, is_seeding):
    # Blocks of `lanes` rows, feature-major, in the frame, zero past the
    # last row: the layout the packed kernels read.
    X, _, frame, _, _ = problem(dtype)
    copy, lanes = copy_for(X, frame, is_seeding)
    if copy is None:
        assert lanes == 0
        pytest.skip("no packed kernel for this problem on this CPU")
    n_blocks = -(-X.shape[0] // lanes)
    blocks = copy.reshape(n_blocks, X.shape[1], lanes)
    rows = blocks.transpose(0, 2, 1).reshape(n_blocks * lanes, X.shape[1])
    np.testing.assert_array_equal(rows[: X.shape[0]], frame.to(X))
    assert not rows[X.shape[0] :].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_over_several_initialisations_keeps_its_result(dtype):
    # n_init=3 shares one copy between three seedings and three Lloyd runs:
    # the fit is the best of the three fits each initialisation gives alone.
    X, w, _, _, _ = problem(dtype)
    several = IncrementalKMeans(N_CLUSTERS, n_init=3, random_state=0).fit(X, sample_weight=w)
    rng = np.random.RandomState(0)
    alone = [
        IncrementalKMeans(N_CLUSTERS, n_init=1, random_state=rng).fit(X, sample_weight=w)
        for _ in range(3)
    ]
    best = min(alone, key=lambda km: km.inertia_)
    np.testing.assert_array_equal(several.labels_, best.labels_)
    np.testing.assert_array_equal(several.cluster_centers_, best.cluster_centers_)
