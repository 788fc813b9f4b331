"""k-means++ seeding: the picks' invariants and a NumPy reference of the
greedy procedure."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iwkmeans import kmeans_plusplus
from iwkmeans._core import greedy_kmeans_plusplus

import reference
from _helpers import DTYPES, every_thread


def reference_greedy(X, w, fixed, n_clusters, random_state, n_trials):
    """The greedy weighted k-means++ written plainly, drawing the same random
    numbers in the same order as the compiled kernel."""
    w = w.astype(np.float64)
    first_draw = random_state.uniform()
    trial_draws = random_state.uniform(size=(n_clusters, n_trials))

    def pick(potential, u):
        return int(np.searchsorted(np.cumsum(potential), u * potential.sum(), side="right"))

    if len(fixed):
        closest = reference.sq_distances(X, fixed).min(axis=1)
        picks = []
    else:
        picks = [pick(w, first_draw)]
        closest = reference.sq_distances(X, X[picks]).min(axis=1)
    for c in range(len(picks), n_clusters):
        candidates = [pick(w * closest, u) for u in trial_draws[c]]
        d = reference.sq_distances(X, X[candidates])
        potentials = (w[:, None] * np.minimum(closest[:, None], d)).sum(axis=0)
        best = candidates[int(np.argmin(potentials))]
        picks.append(best)
        closest = np.minimum(closest, reference.sq_distances(X, X[[best]])[:, 0])
    return np.array(picks)


# Where the CPU has AVX-512, or AVX2 with FMA, the 700-sample pool is scored
# from a packed copy (20 candidates take three groups of the register tile,
# four on AVX2). The 70000 x 16 pool is over the copy's budget (4 MiB in
# either dtype): 4 candidates fit in one vector and take the fused kernel
# (AVX-512's small one, AVX2's tile), 20 take GEMM. Other CPUs take GEMM
# throughout.
@pytest.mark.parametrize("n_trials", [4, 20])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fixed", [0, 4])
@pytest.mark.parametrize("shape", [(700, 4), (70_000, 16)])
def test_matches_reference(shape, n_fixed, dtype, n_trials):
    n, d = shape
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)).astype(dtype)
    w = rng.uniform(0.1, 2.0, size=n).astype(dtype)
    fixed = rng.normal(size=(n_fixed, d)).astype(dtype)
    ours = greedy_kmeans_plusplus(X, w, fixed, 9, np.random.RandomState(1), n_trials, 2)
    expected = reference_greedy(X, w, fixed, 9, np.random.RandomState(1), n_trials)
    np.testing.assert_array_equal(ours, expected)


seedings = st.builds(
    dict,
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(10, 900),
    d=st.integers(1, 6),
    n_fixed=st.integers(0, 4),
    k=st.integers(1, 10),
    dtype=st.sampled_from(DTYPES),
    duplicates=st.booleans(),
)


def make_seeding(seed, n, d, n_fixed, k, dtype, duplicates):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    if duplicates:  # few distinct points: potentials hit zero early
        X = X[rng.integers(0, 3, size=n)]
    w = rng.integers(0, 3, size=n).astype(dtype)
    w[rng.choice(n, size=k, replace=False)] = 1
    fixed = rng.normal(size=(n_fixed, d)).astype(dtype)
    return X, w, fixed


@given(seedings)
def test_picks_distinct_positive_weight_deterministic(p):
    X, w, fixed = make_seeding(**p)
    centers, idx = kmeans_plusplus(
        X, p["k"], sample_weight=w, fixed_centers=fixed, random_state=p["seed"]
    )
    assert len(set(idx.tolist())) == p["k"]
    assert np.all(w[idx] > 0)
    assert centers.dtype == p["dtype"]
    np.testing.assert_array_equal(centers, X[idx])
    with every_thread():
        for n_threads in (1, 3):
            again = kmeans_plusplus(
                X,
                p["k"],
                sample_weight=w,
                fixed_centers=fixed,
                random_state=p["seed"],
                n_threads=n_threads,
            )[1]
            np.testing.assert_array_equal(again, idx)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fixed", [0, 30])
def test_picks_identical_for_any_thread_count(dtype, n_fixed):
    with every_thread():
        # Enough work per pick (20000 x 4 trials x 16) for several threads.
        rng = np.random.default_rng(4)
        X = rng.normal(size=(20_000, 16)).astype(dtype)
        fixed = rng.normal(size=(n_fixed, 16)).astype(dtype)
        picks = [
            kmeans_plusplus(
                X, 20, fixed_centers=fixed, random_state=1, n_local_trials=4, n_threads=t
            )[1]
            for t in (1, 2, 3, 8)
        ]
        for other in picks[1:]:
            np.testing.assert_array_equal(other, picks[0])


def test_picks_avoid_fixed_centers():
    # Six tight blobs; fixed centers sit on three of them. With D^2 measured
    # to the fixed centers, picks land on the three uncovered blobs.
    rng = np.random.default_rng(0)
    blob_centers = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [20, 0], [20, 10]], dtype=float)
    X = np.concatenate([c + 0.3 * rng.normal(size=(200, 2)) for c in blob_centers])
    blob = np.repeat(np.arange(6), 200)
    hits_covered = 0
    for seed in range(50):
        _, idx = kmeans_plusplus(X, 3, fixed_centers=blob_centers[:3], random_state=seed)
        hits_covered += np.count_nonzero(blob[idx] < 3)
        assert set(blob[idx].tolist()) <= {0, 1, 2, 3, 4, 5}
    # Without the fixed centers half the picks would go to covered blobs;
    # with them, essentially none (their D^2 mass is ~0.1% of the total).
    assert hits_covered <= 2
    free_hits = sum(
        np.count_nonzero(blob[kmeans_plusplus(X, 3, random_state=s)[1]] < 3) for s in range(50)
    )
    assert free_hits > 30


def test_first_pick_proportional_to_weight():
    X = np.arange(4.0).reshape(-1, 1)
    w = np.array([0.0, 1.0, 0.0, 3.0])
    firsts = [kmeans_plusplus(X, 1, sample_weight=w, random_state=s)[1][0] for s in range(400)]
    counts = np.bincount(firsts, minlength=4)
    assert counts[0] == counts[2] == 0
    assert 0.65 < counts[3] / 400 < 0.85


def test_integer_weights_equal_repeated_samples():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    w = rng.integers(1, 4, size=300)
    _, idx_w = kmeans_plusplus(X, 8, sample_weight=w, random_state=2)
    _, idx_r = kmeans_plusplus(np.repeat(X, w, axis=0), 8, random_state=2)
    owner = np.repeat(np.arange(300), w)
    np.testing.assert_array_equal(owner[idx_r], idx_w)


def test_n_local_trials_changes_picks_but_not_validity():
    X = np.random.default_rng(0).normal(size=(500, 3))
    _, one = kmeans_plusplus(X, 10, random_state=0, n_local_trials=1)
    _, many = kmeans_plusplus(X, 10, random_state=0, n_local_trials=8)
    assert len(set(one)) == len(set(many)) == 10
