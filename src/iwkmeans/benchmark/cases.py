"""The cases measured: their sizes, and the builders of their data and initial centers.

A case builder returns a task's arguments (less ``n_threads``) on ``n``
samples; :class:`~iwkmeans.benchmark.runner._Runner` times the tasks on them,
and a memory-measuring child process rebuilds the same arguments from the
same seed. ``_estimator_summary`` and ``_seeding_summary`` turn a task's
result into the report's (inertia, iterations).
"""

import numpy as np

SEED = 0
# Cases whose answer depends on each library's own random draws (full fits
# with k-means++, the seeding alone) report the mean inertia over this many
# seeds, SEED, SEED + 1, ...: one draw each can differ by a few percent.
QUALITY_SEEDS = 5
SEEDED_NOTE = (
    f"seedings differ: inertia is the mean over {QUALITY_SEEDS} seeds "
    "per library, so its difference measures quality, not error"
)
# Full fits: the seeding also decides how many iterations a fit takes, so
# one seed's time says as little as one seed's inertia.
TIMED_SEEDS_NOTE = (
    f"seedings differ: each timed call fits seeds {SEED} to "
    f"{SEED + QUALITY_SEEDS - 1}; time, inertia and iterations are "
    "the means per fit, so their differences measure the seeding, "
    "not error"
)
# Blob spread: overlapping blobs keep Lloyd moving for the timed iterations
# instead of converging after two or three.
CLUSTER_STD = 4.0

# (n, d, k, max_iter); quick mode drops the 1M case and caps max_iter.
LLOYD_SHAPES = (
    (100_000, 16, 8, 10),
    (100_000, 64, 100, 10),
    (1_000_000, 32, 256, 3),
    (20_000, 128, 1000, 10),
)
QUICK_MAX_ITER = 3
QUICK_MAX_SAMPLES = 100_000
# The Lloyd rows' time per *marginal* iteration comes from a second fit of
# iwkmeans stopped after this many iterations: (time of the max_iter fit -
# time of this one) / (difference of their n_iter_), so that a fit's fixed
# costs (validation, the extent pass, norms, the final labels and inertia)
# drop out and the rate is that of the iteration's own work. One iteration:
# the largest difference, so the least noise in it.
MARGINAL_SHORT_ITER = 1
# Timed calls of the rows where one call of a peer takes seconds (the
# million-row Lloyd, the sparse Lloyd: scikit-learn's sparse iteration took
# 1.6-4.8 s on the 2-core AMD EPYC; k-means++ on 100000 rows, a tenth of
# SLOW_ROW_SAMPLES: 1.3-2.3 s): at most this many, each after an untimed
# call. The Lloyd ones took 455 of a full run's 860 s there with 5. With 3,
# the full run still took 734 s (23:40, quiet): 177 s for the 50000-row
# sparse rows and 101 s for the million-row ones at max_iter=5, hence the
# sparse pool of 20000 rows and max_iter=3 there (the per-iteration rate
# comes from the marginal iterations either way).
SLOW_ROW_REPEATS = 3
SLOW_ROW_SAMPLES = 1_000_000
# (n, d, n_fixed, k, max_iter)
FIXED_SHAPE = (100_000, 64, 1000, 100, 10)
# (n, d, k): full fits at active-learning sizes, in FIT_DTYPES (float32 for
# faiss, which clusters float32 only).
FIT_SHAPES = ((500, 64, 50), (5000, 64, 100))
FIT_DTYPES = (np.float64, np.float32)
# (n, d, k): k-means++ seeding alone; quick mode uses QUICK_SEEDING_SAMPLES.
SEEDING_SHAPE = (100_000, 64, 100)
# (n, d, k, passes over the data): mini-batch K-Means from the same initial
# centers, a fixed number of passes (no early stopping), batches of
# MINIBATCH_SIZE; quick mode uses QUICK_MINIBATCH_SAMPLES.
MINIBATCH_SHAPE = (200_000, 32, 100, 3)
# A TF-IDF-like pool (n, vocabulary, k, share of stored values, iterations):
# 100 stored values per row on average, rows scaled to unit norm.
SPARSE_SHAPE = (20_000, 20_000, 100, 0.005, 3)
QUICK_SPARSE_SAMPLES = 10_000
MINIBATCH_SIZE = 1024
QUICK_MINIBATCH_SAMPLES = 50_000
QUICK_SEEDING_SAMPLES = 20_000

DTYPES = (np.float32, np.float64)
# (n_pool, n_features, batch_size, n_labeled, target ms): IWKMeans selection
# inside a labeling loop, with the labeled samples as fixed centroids.
SELECTION_CASES = ((20_000, 64, 50, 500, 8.0), (100_000, 64, 200, 500, 25.0))
SELECTION_BETA = 10
SELECTION_CLASSES = 10
# The cold-and-busy table (.latency): the full fits at active-learning sizes
# (FIT_SHAPES) and kmeans_plusplus alone at the larger one's shape (the
# seeding step of that fit, where a call is short enough for waking threads
# to show), in LATENCY_DTYPES; select_wkmeans on SELECTION_CASES (quick:
# the first).
LATENCY_SEEDING_SHAPE = FIT_SHAPES[1]
LATENCY_DTYPES = (np.float64, np.float32)
# faiss's default ClusteringParameters.seed: with frozen centroids faiss draws
# the free centers' initial positions itself, from rows this seed decides
# (see _faiss_free_init_rows).
FAISS_SEED = 1234


def _faiss_free_init_rows(n, n_fixed, k, seed=FAISS_SEED):
    """Rows faiss starts the ``k`` free centers from when ``n_fixed`` are frozen.

    faiss's Clustering keeps the centers it is given and takes the others'
    initial positions from a permutation of the rows, ``perm[n_fixed:n_fixed
    + k]`` with ``faiss::rand_perm(perm, n, seed + 1)``: a Fisher-Yates
    shuffle drawing ``i + mt() % (n - i)`` from ``std::mt19937(seed + 1)``.
    numpy's legacy RandomState(seed) is that Mersenne Twister with that
    seeding, so the rows are computed here without faiss (the faiss peer
    checks them against ``faiss.rand_perm`` before it runs). The fixed-center
    case starts every implementation from these rows, so that faiss runs
    from the same initial centers as the others.
    """
    m = n_fixed + k
    draws = np.random.RandomState(seed + 1).randint(0, 2**32, size=m, dtype=np.uint32)
    perm = {}  # the positions the shuffle has touched so far
    for i in range(m):
        j = i + int(draws[i]) % (n - i)
        perm[i], perm[j] = perm.get(j, j), perm.get(i, i)
    return np.array([perm[i] for i in range(n_fixed, m)], dtype=np.intp)


def _blobs(n, d, k):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(
        n_samples=n, n_features=d, centers=k, cluster_std=CLUSTER_STD, random_state=SEED
    )
    return X


def _sample_rows(n, count):
    return np.random.default_rng(SEED).choice(n, count, replace=False)


def _estimator_summary(estimator):
    return float(estimator.inertia_), int(estimator.n_iter_)


def _seeding_summary(X, centers):
    """Potential of the seeding (the inertia of its centers) and no iteration count."""
    from sklearn.metrics import pairwise_distances_argmin_min

    _, distances = pairwise_distances_argmin_min(X.astype(np.float64), centers.astype(np.float64))
    return float(np.dot(distances, distances)), None


# Case builders: a task's arguments (less n_threads) on n samples. Module
# functions, so that a memory-measuring child process (which gets them
# pickled by reference) rebuilds the very data of the timed case; X64 hands
# in blobs already made.


def _case_data(n, d, k, dtype, X64):
    return (_blobs(n, d, k) if X64 is None else X64).astype(dtype, copy=False)


def _lloyd_case(n, d, k, max_iter, dtype, X64=None):
    X = _case_data(n, d, k, dtype, X64)
    return X, X[_sample_rows(n, k)], max_iter


def _lloyd_fixed_case(n, d, n_fixed, k, max_iter, dtype, X64=None):
    X = _case_data(n, d, k, dtype, X64)
    # The free centers start from the rows faiss would draw itself, so that
    # faiss (frozen centroids, no init for the others) starts like the rest.
    free = _faiss_free_init_rows(n, n_fixed, k)
    others = np.setdiff1d(np.arange(n), free)
    fixed = np.random.default_rng(SEED).choice(others, n_fixed, replace=False)
    return X, X[fixed], X[free], max_iter


def _sparse_pool(n, d, density):
    from scipy import sparse
    from sklearn.preprocessing import normalize

    # Distinct positions drawn directly (Floyd's sampling inside numpy):
    # scipy.sparse.random took 70 s for 50k x 20000 here.
    rng = np.random.default_rng(SEED)
    flat = rng.choice(n * d, size=round(density * n * d), replace=False)
    X = sparse.csr_matrix((rng.random(flat.size), (flat // d, flat % d)), shape=(n, d))
    return normalize(X)


def _sparse_case(n, d, k, density, max_iter, dtype, X64=None):
    X = (_sparse_pool(n, d, density) if X64 is None else X64).astype(dtype)
    return X, X[_sample_rows(n, k)].toarray(), max_iter


def _fit_case(n, d, k, dtype, X64=None):
    return _case_data(n, d, k, dtype, X64), k, SEED


def _selection_classifier():
    """The labeling loop's classifier, unfitted (its margin scores drive the selection)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _select(pool, scores, batch, X_labeled, n_threads):
    """The benchmark's selection call: select_wkmeans with SELECTION_BETA and SEED."""
    from ..active._selection import select_wkmeans

    return select_wkmeans(
        pool,
        scores,
        batch,
        beta=SELECTION_BETA,
        X_labeled=X_labeled,
        random_state=SEED,
        n_threads=n_threads,
    )


def _selection_case(n_pool, d, n_labeled, dtype=np.float64):
    """(X_labeled, y_labeled, pool) of a selection case: blobs of SELECTION_CLASSES classes."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(
        n_samples=n_pool + n_labeled,
        n_features=d,
        centers=SELECTION_CLASSES,
        cluster_std=CLUSTER_STD,
        random_state=SEED,
    )
    X = X.astype(dtype, copy=False)
    return X[:n_labeled], y[:n_labeled], X[n_labeled:]
