"""Side-by-side timing of iwkmeans against other K-Means implementations.

Every comparison runs in one process on identical data with, where the
algorithm allows it, identical initial centers. The implementations are
called alternately (A B A B ...) after one untimed warm-up call of each, so
slow drifts of the machine (frequency scaling, a noisy neighbour) hit all of
them alike; the median of the timings is reported.

The cases are

* Lloyd iterations from the same initial centers with ``tol=0``, reported
  per iteration (fit time / ``n_iter_``), with the GF/s they reach and, as
  the hardware reference, the GF/s of numpy's matmul on one chunk of rows;
* Lloyd with fixed centers (iwkmeans, and faiss with frozen centroids);
* full fits at active-learning sizes, each implementation with its own
  k-means++ seeding and default stopping rule;
* k-means++ seeding alone.

For the Lloyd (free and fixed centers) and full-fit cases the peak extra
memory of one call of each implementation is measured as well, in a fresh process per implementation
and case (see :func:`_peak_extra_mib`).

The peers are scikit-learn, faiss (float32 only) and scikit-learn-intelex.
A peer is one entry in :data:`PEERS`: a name and a function returning the
tasks it can run; a peer that cannot be imported is skipped with a note in
the report.

Use :func:`run` to measure and :func:`format_report` to render the rows as a
Markdown report, or the command line ``python -m iwkmeans bench``.
"""
import datetime
import gc
import logging
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import numpy as np
from threadpoolctl import ThreadpoolController

SEED = 0
# Rows of the matmul reference product: enough for BLAS to reach its best
# rate at each (d, k), so the reference shows what the hardware delivers.
MATMUL_CHUNK = 4096
# Shortest timed batch of matmul reference products, in seconds: a single
# small product lasts microseconds, too close to the timer's resolution.
MATMUL_MIN_BATCH_SECONDS = 0.02
# Other processes' average CPU use above which a row is flagged: the
# kernels' OpenMP barriers wait for every thread, so one descheduled thread
# can slow a call down many times over.
BUSY_CPUS_THRESHOLD = 0.25
# Shortest case, in seconds, whose CPU accounting (10 ms ticks) is precise
# enough to tell other processes' load.
BUSY_MIN_SECONDS = 1.0
# Pause before every timed call. OpenBLAS worker threads busy-wait for new
# work for up to ~0.1 s after a call returns, and OpenMP threads spin too:
# without the pause, the implementation timed next shares the cores with
# the previous one's spinning threads (seen here: a 5000 x 64 x 100 fit
# measured 4x slower right after scikit-learn's multi-threaded k-means++).
# After the pause, an untimed call of the same implementation wakes its
# threads and caches again, so the timed call measures the steady state.
SETTLE_SECONDS = 0.2
# Blob spread: overlapping blobs keep Lloyd moving for the timed iterations
# instead of converging after two or three.
CLUSTER_STD = 4.0

# (n, d, k, max_iter); quick mode drops the 1M case and caps max_iter.
LLOYD_SHAPES = (
    (100_000, 16, 8, 10),
    (100_000, 64, 100, 10),
    (1_000_000, 32, 256, 5),
    (20_000, 128, 1000, 10),
)
QUICK_MAX_ITER = 5
QUICK_MAX_SAMPLES = 100_000
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
SPARSE_SHAPE = (100_000, 20_000, 100, 0.005, 10)
QUICK_SPARSE_SAMPLES = 20_000
MINIBATCH_SIZE = 1024
QUICK_MINIBATCH_SAMPLES = 50_000
QUICK_SEEDING_SAMPLES = 20_000

DTYPES = (np.float32, np.float64)
OURS = "iwkmeans"
# (n_pool, n_features, batch_size, n_labeled, target ms): IWKMeans selection
# inside a labeling loop, with the labeled samples as fixed centroids.
SELECTION_CASES = ((20_000, 64, 50, 500, 8.0), (100_000, 64, 200, 500, 25.0))
SELECTION_BETA = 10
SELECTION_CLASSES = 10
# Peak memory is measured for these tasks, in a fresh process per
# implementation and case (see _peak_extra_mib), on cases of at most
# MEMORY_MAX_SAMPLES samples: each child rebuilds its data, and at 1M samples
# the seven children (about 5 s each) would add over half a minute to a run
# that must stay under 10 minutes.
MEMORY_TASKS = ("lloyd", "lloyd_fixed", "fit")
MEMORY_MAX_SAMPLES = 100_000
MEMORY_TIMEOUT_SECONDS = 300
# faiss's default ClusteringParameters.seed: with frozen centroids faiss draws
# the free centers' initial positions itself, from rows this seed decides
# (see _faiss_free_init_rows).
FAISS_SEED = 1234
FLOAT32_ONLY = "float32 only"


# Implementations. Each loader returns {task: callable or reason-string}; a
# string says why the implementation cannot run that task. Thread counts are
# imposed on every implementation by threadpoolctl around the timed calls;
# n_threads is passed on to implementations that take it as well.
#
# Tasks and their call signatures:
#   "lloyd"            (X, init, max_iter, n_threads) -> fitted estimator
#   "lloyd_fixed"      (X, fixed_centers, init, max_iter, n_threads) -> fitted estimator
#   "fit"              (X, n_clusters, random_state, n_threads) -> fitted estimator
#   "kmeans_plusplus"  (X, n_clusters, random_state, n_threads) -> centers
#
# "Fitted estimator" means anything with ``inertia_`` and ``n_iter_``. A
# callable may carry (see _task_info) a ``why_not`` attribute: called with
# the arguments (less n_threads) before anything runs, it returns the reason
# the implementation cannot run this case (e.g. its dtype), or None; and a
# ``note`` for the report's rows it runs in. A returned estimator may carry a
# ``bench_note`` for its row.


def _task_info(why_not=None, note=None):
    """Decorator attaching ``why_not(*args) -> reason or None`` and ``note`` to a task."""
    def attach(func):
        func.why_not = why_not or (lambda *args: None)
        func.note = note
        return func
    return attach


def _float32_only(X, *rest):
    return None if X.dtype == np.float32 else FLOAT32_ONLY


def _iwkmeans_tasks():
    from iwkmeans import IncrementalKMeans, IncrementalMiniBatchKMeans, kmeans_plusplus

    def lloyd(X, init, max_iter, n_threads):
        return lloyd_fixed(X, None, init, max_iter, n_threads)

    def lloyd_fixed(X, fixed_centers, init, max_iter, n_threads):
        km = IncrementalKMeans(
            init.shape[0], init=init, max_iter=max_iter, tol=0, n_threads=n_threads
        )
        return km.fit(X, fixed_centers=fixed_centers)

    def fit(X, n_clusters, random_state, n_threads):
        km = IncrementalKMeans(
            n_clusters, n_init=1, random_state=random_state, n_threads=n_threads
        )
        return km.fit(X)

    def seeding(X, n_clusters, random_state, n_threads):
        return kmeans_plusplus(
            X, n_clusters, random_state=random_state, n_threads=n_threads
        )[0]

    def minibatch(X, init, passes, n_threads):
        mb = IncrementalMiniBatchKMeans(
            init.shape[0], init=init, batch_size=MINIBATCH_SIZE, max_iter=passes,
            max_no_improvement=None, random_state=SEED, n_threads=n_threads,
        )
        return mb.fit(X)

    return {
        "lloyd": lloyd,
        "lloyd_sparse": lloyd,
        "lloyd_fixed": lloyd_fixed,
        "fit": fit,
        "kmeans_plusplus": seeding,
        "minibatch": minibatch,
    }


def _sklearn_tasks():
    from sklearn.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus

    def lloyd(X, init, max_iter, n_threads):
        km = KMeans(
            init.shape[0], init=init, n_init=1, max_iter=max_iter, tol=0,
            algorithm="lloyd",
        )
        return km.fit(X)

    def fit(X, n_clusters, random_state, n_threads):
        km = KMeans(n_clusters, n_init=1, random_state=random_state, algorithm="lloyd")
        return km.fit(X)

    def seeding(X, n_clusters, random_state, n_threads):
        return kmeans_plusplus(X, n_clusters, random_state=random_state)[0]

    def minibatch(X, init, passes, n_threads):
        mb = MiniBatchKMeans(
            init.shape[0], init=init, n_init=1, batch_size=MINIBATCH_SIZE,
            max_iter=passes, max_no_improvement=None, random_state=SEED,
        )
        return mb.fit(X)

    return {
        "lloyd": lloyd,
        "lloyd_sparse": lloyd,
        "lloyd_fixed": "cannot fix centers",
        "fit": fit,
        "kmeans_plusplus": seeding,
        "minibatch": minibatch,
    }


class _FaissFit:
    """What the faiss tasks return: final centers and iterations run.

    ``inertia_`` is computed on demand, outside the timing, in float64 from
    the final centers: faiss's per-iteration objective (``obj``) is that of
    the centers *before* the iteration's update, whereas the other
    implementations report the inertia of their final centers.
    """

    def __init__(self, X, centers, n_iter):
        self._X = X
        self.cluster_centers_ = centers
        self.n_iter_ = n_iter

    @property
    def inertia_(self):
        return _seeding_summary(self._X, self.cluster_centers_)[0]


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


def _faiss_tasks():
    import faiss

    kmeans_pp = getattr(faiss, "ClusteringInitMethod_KMEANS_PLUS_PLUS", None)

    def cluster(X, n_clusters, niter, n_threads, *, init=None, frozen=False,
                kmeans_plusplus=False, seed=FAISS_SEED):
        faiss.omp_set_num_threads(n_threads)
        cp = faiss.ClusteringParameters()
        cp.niter = niter
        cp.seed = seed
        cp.frozen_centroids = frozen
        # Train on every sample: by default faiss subsamples to 256 per center.
        cp.max_points_per_centroid = 1 << 30
        cp.min_points_per_centroid = 1  # only silences a warning on small cases
        if kmeans_plusplus:
            cp.init_method = kmeans_pp
        d = X.shape[1]
        clus = faiss.Clustering(d, n_clusters, cp)
        if init is not None:
            faiss.copy_array_to_vector(
                np.ascontiguousarray(init, dtype=np.float32).ravel(), clus.centroids
            )
        clus.train(X, faiss.IndexFlatL2(d))
        centers = faiss.vector_float_to_array(clus.centroids).reshape(n_clusters, d)
        return _FaissFit(X, centers, clus.iteration_stats.size())

    def free_init_is_faiss_draw(X, fixed_centers, init, max_iter):
        if X.dtype != np.float32:
            return FLOAT32_ONLY
        perm = np.empty(X.shape[0], dtype=np.int32)
        faiss.rand_perm(faiss.swig_ptr(perm), X.shape[0], FAISS_SEED + 1)
        rows = perm[len(fixed_centers):len(fixed_centers) + len(init)]
        if not np.array_equal(X[rows], init):
            return "draws the free centers' initial positions itself, not from this init"
        return None

    plain_pp = ("faiss: plain k-means++ (one candidate per pick; iwkmeans' and "
                "scikit-learn's pick the best of 2 + log k)")

    @_task_info(_float32_only)
    def lloyd(X, init, max_iter, n_threads):
        return cluster(X, init.shape[0], max_iter, n_threads, init=init)

    @_task_info(free_init_is_faiss_draw)
    def lloyd_fixed(X, fixed_centers, init, max_iter, n_threads):
        # Frozen centroids: the given centers stay, the remaining ones start
        # from faiss's own draw of rows, which the case made equal to init.
        return cluster(X, len(fixed_centers) + len(init), max_iter, n_threads,
                       init=fixed_centers, frozen=True)

    @_task_info(_float32_only, plain_pp + "; no tol: stops when the objective stops "
                "changing, after at most 300 iterations (scikit-learn's default max_iter)")
    def fit(X, n_clusters, random_state, n_threads):
        return cluster(X, n_clusters, 300, n_threads, kmeans_plusplus=True,
                       seed=random_state)

    @_task_info(_float32_only, plain_pp)
    def seeding(X, n_clusters, random_state, n_threads):
        return cluster(X, n_clusters, 0, n_threads, kmeans_plusplus=True,
                       seed=random_state).cluster_centers_

    no_pp = "this faiss has no k-means++ (ClusteringParameters.init_method)"
    return {
        "lloyd": lloyd,
        "lloyd_sparse": "dense input only",
        "lloyd_fixed": lloyd_fixed,
        "fit": fit if kmeans_pp is not None else no_pp,
        "kmeans_plusplus": seeding if kmeans_pp is not None else no_pp,
    }


class _FallbackWatch(logging.Handler):
    """Tells whether scikit-learn-intelex fell back to stock scikit-learn in a call.

    sklearnex logs, at INFO level on its "sklearnex" logger, whether each
    call ran its accelerated (oneDAL) code or fell back; a fallback would
    make the sklearnex columns a second copy of scikit-learn's.
    """

    def __init__(self):
        super().__init__(logging.INFO)
        self.fell_back = False

    def emit(self, record):
        if "fallback" in record.getMessage().lower():
            self.fell_back = True

    def run(self, fit, X):
        # This handler alone for the call: sklearnex's own prints to stderr.
        logger = logging.getLogger("sklearnex")
        saved = logger.handlers, logger.level, logger.propagate
        self.fell_back = False
        logger.handlers, logger.propagate = [self], False
        logger.setLevel(logging.INFO)
        try:
            estimator = fit(X)
        finally:
            logger.handlers, _, logger.propagate = saved
            logger.setLevel(saved[1])
        if self.fell_back:
            estimator.bench_note = "fell back to stock scikit-learn"
        return estimator


def _sklearnex_tasks():
    from sklearnex.cluster import KMeans

    watch = _FallbackWatch()

    # n_jobs sets oneDAL's (TBB) threads, which threadpoolctl does not reach.
    def lloyd(X, init, max_iter, n_threads):
        km = KMeans(
            init.shape[0], init=init, n_init=1, max_iter=max_iter, tol=0,
            algorithm="lloyd", n_jobs=n_threads,
        )
        return watch.run(km.fit, X)

    def fit(X, n_clusters, random_state, n_threads):
        km = KMeans(n_clusters, n_init=1, random_state=random_state, algorithm="lloyd",
                    n_jobs=n_threads)
        return watch.run(km.fit, X)

    return {
        "lloyd": lloyd,
        "lloyd_sparse": lloyd,
        "lloyd_fixed": "cannot fix centers",
        "fit": fit,
        "kmeans_plusplus": "no standalone k-means++",
    }


@dataclass(frozen=True)
class Peer:
    """An implementation to compare with: a name and a loader of its tasks.

    ``load`` returns ``{task: callable or reason}`` (see the task list above)
    and raises ImportError when the implementation is not installed.
    ``distribution`` is the package whose version the report shows.
    """

    name: str
    load: Callable[[], dict]
    distribution: Optional[str] = None


PEERS = (
    Peer("scikit-learn", _sklearn_tasks, "scikit-learn"),
    Peer("faiss", _faiss_tasks, "faiss-cpu"),
    Peer("sklearnex", _sklearnex_tasks, "scikit-learn-intelex"),
)


def _load_peers():
    """{name: tasks dict, or the reason string if the peer could not be imported}."""
    loaded = {}
    for peer in PEERS:
        try:
            loaded[peer.name] = peer.load()
        except (ImportError, OSError) as exc:  # OSError: a shared library failed to load
            loaded[peer.name] = f"not available ({exc})"
    return loaded


# Measurement


def _time_interleaved(calls, repeats):
    """Median wall time and last result of each zero-argument call.

    One untimed warm-up of each call first (first-call costs: imports,
    page faults, OpenMP pool start-up), then ``repeats`` rounds calling each
    once in turn; each timed call follows a pause of SETTLE_SECONDS and an
    untimed call of the same implementation.
    """
    results = {name: call() for name, call in calls.items()}
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            time.sleep(SETTLE_SECONDS)
            call()
            start = time.perf_counter()
            results[name] = call()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), results[name]) for name in calls}


def _matmul_gflops(d, k, dtype, blas_threads, controller, repeats):
    """GF/s numpy's matmul reaches on a (MATMUL_CHUNK, d) @ (d, k) product."""
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((MATMUL_CHUNK, d)).astype(dtype)
    b = rng.standard_normal((d, k)).astype(dtype)
    out = np.empty((MATMUL_CHUNK, k), dtype=dtype)
    with controller.limit(limits=blas_threads, user_api="blas"):
        np.matmul(a, b, out=out)
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        single = max(time.perf_counter() - start, 1e-9)
        batch = max(1, math.ceil(MATMUL_MIN_BATCH_SECONDS / single))

        def products():
            for _ in range(batch):
                np.matmul(a, b, out=out)

        seconds, _ = _time_interleaved({"matmul": products}, repeats)["matmul"]
    return 2.0 * MATMUL_CHUNK * d * k * batch / seconds / 1e9


def _busy_cpu_seconds():
    """CPU seconds all processes (plus hypervisor steal) have used since boot; None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class _OtherLoad:
    """Context manager measuring the average CPUs other processes used meanwhile.

    ``cpus`` is None when it cannot be told: no /proc/stat, or too short a
    span for its clock ticks.
    """

    def __enter__(self):
        self.cpus = None
        self._start = (_busy_cpu_seconds(), time.process_time(), time.perf_counter())
        return self

    def __exit__(self, *exc):
        busy0, own0, wall0 = self._start
        busy1, own1, wall1 = _busy_cpu_seconds(), time.process_time(), time.perf_counter()
        if busy0 is not None and busy1 is not None and wall1 - wall0 >= BUSY_MIN_SECONDS:
            self.cpus = max(0.0, (busy1 - busy0 - (own1 - own0)) / (wall1 - wall0))
        return False


# Peak memory.
#
# Why not tracemalloc: it sees only allocations made through Python's
# allocators (numpy arrays included), not the C malloc of the compiled
# kernels (ours, faiss's C++, oneDAL's), which are what differ most between
# implementations. Why not measure in this process: the allocator keeps freed
# memory for reuse, so whatever ran before would hide part of a call's
# footprint, and the resident high-water mark only ever rises.
#
# So each measurement runs in a fresh process that rebuilds the case's data
# from the same seed, runs one warm-up call on a small version of the case
# (library start-up: thread pools, lazy imports, BLAS buffers), builds the
# real data, returns freed heap memory to the system (malloc_trim), resets
# the kernel's resident-set high-water mark (writing 5 to
# /proc/self/clear_refs, Linux >= 4.0) and reads VmHWM - VmRSS around one
# call: every page the call made resident, whoever allocated it. Where the
# mark cannot be reset, the fallback is the rise of getrusage's ru_maxrss
# over the call, a lower bound (zero when data building peaked higher).
#
# The processes come from multiprocessing's "forkserver" where there is one:
# forked from a server process that has only imported numpy and
# scikit-learn (no data, no kernel run), which saves each child the 1.5 s of
# those imports; elsewhere from "spawn".


def _status_kib(field):
    """A "kB" field of /proc/self/status (VmRSS, VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _maxrss_kib():
    import resource
    import sys

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 1024 if sys.platform == "darwin" else maxrss  # bytes on macOS


class _PeakRSS:
    """Peak resident memory added over a span: ``with _PeakRSS() as peak: ...; peak.mib``."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")  # resets VmHWM to the current VmRSS
            self.method = "VmHWM"
            self._base = _status_kib("VmRSS")
        except OSError:
            self.method = "ru_maxrss"
            self._base = _maxrss_kib()
        return self

    def __exit__(self, *exc):
        peak = _status_kib("VmHWM") if self.method == "VmHWM" else _maxrss_kib()
        self.mib = max(0.0, peak - self._base) / 1024
        return False


def _malloc_trim():
    """Return the C heap's free memory to the system (glibc; elsewhere a no-op)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _peak_in_child(load, task, build, n_samples, warmup_samples, n_threads):
    """In a fresh process: (peak extra MiB of one call of ``task``, method)."""
    func = load()[task]
    controller = ThreadpoolController()
    with controller.limit(limits=n_threads):
        func(*build(warmup_samples), n_threads)
        args = build(n_samples)
        gc.collect()
        _malloc_trim()
        with _PeakRSS() as peak:
            result = func(*args, n_threads)
        del result
    return peak.mib, peak.method


def _child_main(connection, *args):
    try:
        connection.send(("ok", _peak_in_child(*args)))
    except BaseException as exc:  # reported to the parent, which decides
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


def _memory_start_method():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def _memory_context():
    import multiprocessing

    context = multiprocessing.get_context(_memory_start_method())
    if context.get_start_method() == "forkserver":
        # Imports only; no effect if the server already runs.
        context.set_forkserver_preload(["sklearn.datasets", __name__])
    return context


def _peak_extra_mib(load, task, build, n_samples, warmup_samples, n_threads,
                    timeout=MEMORY_TIMEOUT_SECONDS):
    """Peak resident memory one call of ``task`` adds once its data exist, in MiB.

    ``load`` is the implementation's task loader and ``build(n)`` the case's
    arguments (less n_threads) on ``n`` samples; both are pickled by
    reference into a fresh process (see the comment above). Returns (MiB,
    method), method "VmHWM" or "ru_maxrss"; raises RuntimeError if the child
    fails, dies or outlasts ``timeout`` seconds.
    """
    context = _memory_context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main,
        args=(sender, load, task, build, n_samples, warmup_samples, n_threads),
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise RuntimeError(f"no answer within {timeout} s")
        try:
            status, value = receiver.recv()
        except EOFError:  # died without a word (crash, out of memory)
            child.join()
            raise RuntimeError(f"the process died (exit code {child.exitcode})") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join()
    if status != "ok":
        raise RuntimeError(value)
    return value


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

    _, distances = pairwise_distances_argmin_min(
        X.astype(np.float64), centers.astype(np.float64)
    )
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

    X = sparse.random(n, d, density=density, format="csr", random_state=SEED)
    return normalize(X)


def _sparse_case(n, d, k, density, max_iter, dtype, X64=None):
    X = (_sparse_pool(n, d, density) if X64 is None else X64).astype(dtype)
    return X, X[_sample_rows(n, k)].toarray(), max_iter


def _fit_case(n, d, k, dtype, X64=None):
    return _case_data(n, d, k, dtype, X64), k, SEED


class _Runner:
    """Runs the cases on all implementations with one thread budget.

    With ``memory``, the rows of MEMORY_TASKS also get each implementation's
    peak extra memory (one fresh process per implementation and case).
    """

    def __init__(self, n_threads, repeats, log, memory=False):
        self.n_threads = n_threads
        self.repeats = repeats
        self.log = log
        self.memory = memory
        self.implementations = {OURS: _iwkmeans_tasks(), **_load_peers()}
        self.loaders = {OURS: _iwkmeans_tasks, **{peer.name: peer.load for peer in PEERS}}
        # Created after the implementations are imported, so that the
        # controller sees every BLAS and OpenMP library they loaded.
        self.controller = ThreadpoolController()

    def compare(self, task, build, n, summarize, *, case, shape, dtype, per_iteration,
                X64=None, warmup_samples=None, flops_per_iteration=None,
                matmul_shape=None, notes=()):
        """Time ``task(*build(n))`` on every implementation and return the report row.

        ``warmup_samples``: the size of the memory measurement's warm-up case.
        """
        self.log(f"{case}: {shape} {np.dtype(dtype).name}")
        args = build(n, X64=X64)
        calls, skipped = {}, {}
        for name, tasks in self.implementations.items():
            entry = tasks if isinstance(tasks, str) else tasks.get(task, "task not implemented")
            if not isinstance(entry, str):
                entry = getattr(entry, "why_not", lambda *args: None)(*args) or entry
            if isinstance(entry, str):
                skipped[name] = entry
            else:
                calls[name] = partial(entry, *args, self.n_threads)
                if getattr(entry, "note", None):
                    notes = (*notes, entry.note)
        with _OtherLoad() as other_load:
            # Both the OpenMP and the BLAS budgets: scikit-learn's Lloyd runs
            # on OpenMP, its k-means++ on multi-threaded BLAS.
            with self.controller.limit(limits=self.n_threads):
                measured = _time_interleaved(calls, self.repeats)
            matmul_gflops = None
            if matmul_shape is not None:
                matmul_gflops = tuple(
                    _matmul_gflops(*matmul_shape, dtype, threads, self.controller, self.repeats)
                    for threads in (1, self.n_threads)
                )
        del args

        notes = list(notes)
        # After the timings, so that the children count in no case's load.
        peaks, memory_method = self._peak_memory(task, build, n, warmup_samples, calls, notes)

        results = {}
        for name, (seconds, result) in measured.items():
            inertia, n_iter = summarize(result)
            ms = seconds * 1e3 / (n_iter if per_iteration else 1)
            results[name] = {"ms": ms, "n_iter": n_iter, "inertia": inertia,
                             "peak_mib": peaks.get(name)}
            if getattr(result, "bench_note", None):
                notes.append(f"{name}: {result.bench_note}")
        ours = results[OURS]
        peers = {}
        if other_load.cpus is not None and other_load.cpus > BUSY_CPUS_THRESHOLD:
            notes.append(
                f"other processes kept {other_load.cpus:.1f} CPUs busy on average "
                "during this case: its timings are unreliable"
            )
        for name in self.implementations:
            if name == OURS:
                continue
            if name in skipped:
                peers[name] = {"skipped": skipped[name]}
                continue
            peer = results[name]
            peer["speedup"] = peer["ms"] / ours["ms"]
            peer["rel_inertia_diff"] = abs(ours["inertia"] - peer["inertia"]) / peer["inertia"]
            peers[name] = peer
            if per_iteration and peer["n_iter"] != ours["n_iter"]:
                notes.append(
                    f"n_iter differs ({OURS} {ours['n_iter']}, {name} {peer['n_iter']}): "
                    "per-iteration times spread fixed costs differently"
                )

        row = {
            "case": case,
            "shape": shape,
            "dtype": np.dtype(dtype).name,
            "threads": self.n_threads,
            "repeats": self.repeats,
            "per_iteration": per_iteration,
            OURS: ours,
            "peers": peers,
            "gflops": None,
            "matmul_gflops": matmul_gflops,
            "other_cpus": other_load.cpus,
            "memory_method": memory_method,
            "notes": notes,
        }
        if flops_per_iteration is not None:
            row["gflops"] = flops_per_iteration / (ours["ms"] * 1e-3) / 1e9
        return row

    def _peak_memory(self, task, build, n, warmup_samples, names, notes):
        """({name: peak extra MiB}, method or None) of one call of each implementation."""
        if not self.memory or task not in MEMORY_TASKS or warmup_samples is None:
            return {}, None
        if n > MEMORY_MAX_SAMPLES:
            notes.append(f"peak memory not measured above {MEMORY_MAX_SAMPLES} samples "
                         "(a fresh process per implementation rebuilding the data: too slow)")
            return {}, None
        peaks, methods = {}, set()
        for name in names:
            try:
                peaks[name], method = _peak_extra_mib(
                    self.loaders[name], task, build, n, warmup_samples, self.n_threads
                )
                methods.add(method)
            except Exception as exc:  # a failed measurement must not lose the timings
                notes.append(f"peak memory of {name} not measured: {type(exc).__name__}: {exc}")
        return peaks, "/".join(sorted(methods)) or None

    def lloyd(self, n, d, k, max_iter):
        X64 = _blobs(n, d, k)
        for dtype in DTYPES:
            yield self.compare(
                "lloyd", partial(_lloyd_case, d=d, k=k, max_iter=max_iter, dtype=dtype), n,
                _estimator_summary, X64=X64, warmup_samples=max(4 * k, 256),
                case=f"Lloyd, per iteration (max_iter={max_iter}, tol=0)",
                shape=f"{n} x {d} x {k}", dtype=dtype, per_iteration=True,
                flops_per_iteration=2.0 * n * k * d, matmul_shape=(d, k),
            )

    def lloyd_sparse(self, n, d, k, density, max_iter):
        X64 = _sparse_pool(n, d, density)
        for dtype in DTYPES:
            yield self.compare(
                "lloyd_sparse",
                partial(_sparse_case, d=d, k=k, density=density, max_iter=max_iter,
                        dtype=dtype), n,
                _estimator_summary, X64=X64,
                case=f"sparse CSR Lloyd, per iteration (max_iter={max_iter}, tol=0)",
                shape=f"{n} x {d} x {k} ({X64.nnz / n:.0f} values per row)",
                dtype=dtype, per_iteration=True,
            )

    def lloyd_fixed(self, n, d, n_fixed, k, max_iter):
        X64 = _blobs(n, d, k)
        for dtype in DTYPES:
            build = partial(_lloyd_fixed_case, d=d, n_fixed=n_fixed, k=k,
                            max_iter=max_iter, dtype=dtype)
            yield self.compare(
                "lloyd_fixed", build, n, _estimator_summary, X64=X64,
                warmup_samples=2 * (n_fixed + k),
                case=f"Lloyd with fixed centers, per iteration (max_iter={max_iter}, tol=0)",
                shape=f"{n} x {d} x {k} (+{n_fixed} fixed)", dtype=dtype,
                per_iteration=True, flops_per_iteration=2.0 * n * (n_fixed + k) * d,
                matmul_shape=(d, n_fixed + k),
            )

    def fit(self, n, d, k):
        X64 = _blobs(n, d, k)
        for dtype in FIT_DTYPES:
            yield self.compare(
                "fit", partial(_fit_case, d=d, k=k, dtype=dtype), n, _estimator_summary,
                X64=X64, warmup_samples=max(4 * k, 256),
                case="full fit with own k-means++ (n_init=1, default stopping)",
                shape=f"{n} x {d} x {k}", dtype=dtype, per_iteration=False,
                notes=["seedings differ, so the inertia difference measures quality, not error"],
            )

    def minibatch(self, n, d, k, passes):
        X64 = _blobs(n, d, k)
        for dtype in DTYPES:
            yield self.compare(
                "minibatch",
                partial(_lloyd_case, d=d, k=k, max_iter=passes, dtype=dtype), n,
                _estimator_summary, X64=X64,
                case=f"mini-batch fit ({passes} passes, batches of {MINIBATCH_SIZE}, "
                     "same init)",
                shape=f"{n} x {d} x {k}", dtype=dtype, per_iteration=False,
                notes=["batch sampling (and scikit-learn's reassignment of small "
                       "clusters) differ, so the inertia difference measures quality, "
                       "not error"],
            )

    def kmeans_plusplus(self, n, d, k):
        X64 = _blobs(n, d, k)
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype, copy=False)
            yield self.compare(
                "kmeans_plusplus", partial(_fit_case, d=d, k=k, dtype=dtype), n,
                partial(_seeding_summary, X), X64=X64,
                case="kmeans_plusplus (inertia = seeding potential)",
                shape=f"{n} x {d} x {k}", dtype=dtype, per_iteration=False,
                notes=["seedings differ, so the inertia difference measures quality, not error"],
            )


def run(quick=False, n_threads=None, repeats=None, log=None, memory=True):
    """Measure every case; return one dict per report row.

    Parameters
    ----------
    quick : bool, default=False
        Smaller workload (no 1M-sample case, at most 5 Lloyd iterations, a
        smaller k-means++ case, 3 repeats) for a run of a few minutes.
    n_threads : int, default=None
        Threads for every implementation; None: the iwkmeans default
        (``OMP_NUM_THREADS`` or the physical cores).
    repeats : int, default=None
        Timed calls per implementation and case; None: 5, or 3 if ``quick``.
    log : callable, default=None
        Called with a one-line description before each case (progress).
    memory : bool, default=True
        Also measure each implementation's peak extra memory on the Lloyd
        and full-fit cases of at most MEMORY_MAX_SAMPLES samples (a fresh
        process per implementation and case: about 2 s each).

    Returns
    -------
    rows : list of dict
        Keys: ``case``, ``shape``, ``dtype``, ``threads``, ``repeats``,
        ``per_iteration`` (times are per Lloyd iteration), ``"iwkmeans"``
        (``{"ms", "n_iter", "inertia", "peak_mib"}``, ``peak_mib`` None where
        not measured), ``peers`` (name -> the same keys plus ``speedup`` =
        peer time / iwkmeans time and ``rel_inertia_diff`` = |ours - peer| /
        peer, or ``{"skipped": reason}``), ``gflops`` (iwkmeans, Lloyd rows),
        ``matmul_gflops`` ((one thread, all threads) numpy matmul reference,
        Lloyd rows), ``other_cpus`` (average CPUs other processes used during
        the case, None if it could not be told), ``memory_method`` ("VmHWM",
        "ru_maxrss" or None: see :func:`_peak_extra_mib`) and ``notes``.
    """
    from ._parallel import effective_n_threads

    if repeats is None:
        repeats = 3 if quick else 5
    runner = _Runner(effective_n_threads(n_threads), repeats, log or (lambda line: None),
                     memory=memory)
    rows = []
    for n, d, k, max_iter in LLOYD_SHAPES:
        if quick:
            if n > QUICK_MAX_SAMPLES:
                continue
            max_iter = min(max_iter, QUICK_MAX_ITER)
        rows.extend(runner.lloyd(n, d, k, max_iter))
    n, d, n_fixed, k, max_iter = FIXED_SHAPE
    if quick:
        max_iter = min(max_iter, QUICK_MAX_ITER)
    rows.extend(runner.lloyd_fixed(n, d, n_fixed, k, max_iter))
    n, d, k, density, max_iter = SPARSE_SHAPE
    if quick:
        n, max_iter = QUICK_SPARSE_SAMPLES, min(max_iter, QUICK_MAX_ITER)
    rows.extend(runner.lloyd_sparse(n, d, k, density, max_iter))
    for n, d, k in FIT_SHAPES:
        rows.extend(runner.fit(n, d, k))
    n, d, k, passes = MINIBATCH_SHAPE
    if quick:
        n = QUICK_MINIBATCH_SAMPLES
    rows.extend(runner.minibatch(n, d, k, passes))
    n, d, k = SEEDING_SHAPE
    if quick:
        n = QUICK_SEEDING_SAMPLES
    rows.extend(runner.kmeans_plusplus(n, d, k))
    return rows


def run_selection(n_threads=None, repeats=5, log=None):
    """Latency of ``IWKMeansSampler.select_samples`` in a labeling loop.

    LogisticRegression on the labeled set, margin scores, beta = 10. Three
    timings, interleaved: the selection proper (:func:`select_wkmeans` on the
    scores: validation, preselection, weighted K-Means around the labeled
    samples, picks), the classifier's ``predict_proba`` on the pool, and
    ``select_samples`` as a whole. Returns one dict per case.
    """
    from sklearn.datasets import make_blobs
    from sklearn.linear_model import LogisticRegression

    from ._parallel import effective_n_threads
    from .samplers import IWKMeansSampler
    from .selection import select_wkmeans
    from .uncertainty import margin_score

    n_threads = effective_n_threads(n_threads)
    log = log or (lambda line: None)
    controller = ThreadpoolController()
    rows = []
    for n_pool, d, batch, n_labeled, target in SELECTION_CASES:
        log(f"IWKMeans selection: pool {n_pool} x {d}, batch {batch}")
        X, y = make_blobs(n_samples=n_pool + n_labeled, n_features=d,
                          centers=SELECTION_CLASSES, cluster_std=CLUSTER_STD,
                          random_state=SEED)
        X_labeled, pool = X[:n_labeled], X[n_labeled:]
        sampler = IWKMeansSampler(
            LogisticRegression(max_iter=1000), batch, beta=SELECTION_BETA,
            random_state=SEED, n_threads=n_threads,
        ).fit(X_labeled, y[:n_labeled])
        scores = margin_score(sampler.classifier_.predict_proba(pool))
        calls = {
            "select": partial(select_wkmeans, pool, scores, batch, beta=SELECTION_BETA,
                              X_labeled=X_labeled, random_state=SEED,
                              n_threads=n_threads),
            "predict_proba": partial(sampler.classifier_.predict_proba, pool),
            "select_samples": partial(sampler.select_samples, pool),
        }
        with controller.limit(limits=n_threads):
            measured = _time_interleaved(calls, repeats)
        rows.append({
            "pool": f"{n_pool} x {d}", "batch": batch, "labeled": n_labeled,
            "threads": n_threads, "target_ms": target,
            **{name: seconds * 1e3 for name, (seconds, _) in measured.items()},
        })
    return rows


def format_selection(rows):
    """Render :func:`run_selection`'s rows as a Markdown table."""
    header = ["pool n x d", "batch", "labeled (fixed centroids)", "threads",
              "selection ms (excl. predict_proba)", "target ms", "predict_proba ms",
              "select_samples ms (total)"]
    lines = ["## IWKMeansSampler.select_samples latency (LogisticRegression, margin, "
             f"beta={SELECTION_BETA})", "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        cells = [row["pool"], str(row["batch"]), str(row["labeled"]), str(row["threads"]),
                 _sig(row["select"]), _sig(row["target_ms"]), _sig(row["predict_proba"]),
                 _sig(row["select_samples"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# Report


def _sig(x, digits=3):
    """x with ``digits`` significant digits, in positional notation."""
    if x == 0:
        return "0"
    x = float(f"{x:.{digits - 1}e}")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _header(rows):
    import joblib
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    from _kmeans._common import openmp_enabled

    from . import __version__

    blas = [
        f"{lib['internal_api']} {lib.get('version')} "
        f"(core type {lib.get('architecture', 'n/a')}, {os.path.basename(lib['filepath'])})"
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    ]
    threads = sorted({row["threads"] for row in rows})
    repeats = sorted({row["repeats"] for row in rows})
    peers = "; ".join(f"{peer.name} {_distribution_version(peer.distribution)}"
                      for peer in PEERS)
    memory_methods = sorted({row.get("memory_method") for row in rows} - {None})
    return "\n".join([
        "# iwkmeans benchmark",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- CPU: {_cpu_model()}; cores: {os.cpu_count()} logical (os.cpu_count), "
        f"{joblib.cpu_count(only_physical_cores=True)} physical (joblib)",
        f"- Python {platform.python_version()}; numpy {np.__version__}; "
        f"scipy {scipy.__version__}; scikit-learn {sklearn.__version__}; "
        f"iwkmeans {__version__}",
        f"- peers: {peers}",
        f"- BLAS: {'; '.join(blas) or 'none found'}; iwkmeans core built with "
        f"OpenMP: {'yes' if openmp_enabled() else 'no (serial)'}",
        f"- OPENBLAS_CORETYPE: {os.environ.get('OPENBLAS_CORETYPE', 'unset')}",
        f"- method: same process, same data and initial centers, calls interleaved "
        f"(each timed call after a {SETTLE_SECONDS} s pause and an untimed call of the "
        f"same implementation); median of {', '.join(map(str, repeats))} timings; "
        f"threads {', '.join(map(str, threads))} (OpenMP and BLAS limits and n_threads)",
        "- times in ms (per Lloyd iteration in the per-iteration rows, with the "
        "iteration count run); speed-up = peer time / iwkmeans time; "
        "rel. inertia diff = |iwkmeans - peer| / peer; GF/s = 2 n (fixed + k) d per "
        "iteration / time; numpy matmul GF/s = a "
        f"({MATMUL_CHUNK}, d) @ (d, fixed + k) product on 1 / all threads",
        *([_memory_method_line(memory_methods)] if memory_methods else []),
    ])


def _distribution_version(distribution):
    from importlib import metadata

    if distribution is None:
        return "(version unknown)"
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _memory_method_line(methods):
    """The header line saying how the peak MiB columns were measured."""
    how = ("resident-set high-water mark (VmHWM, reset through /proc/self/clear_refs) "
           "minus the resident set just before the call")
    if methods != ["VmHWM"]:
        how = ("rise of getrusage's ru_maxrss over the call where the high-water mark "
               "could not be reset (a lower bound), else " + how)
    start = _memory_start_method()
    process = ("forked from a server process that has only imported the libraries"
               if start == "forkserver" else "spawned")
    return (
        "- peak MiB: peak extra resident memory of one call once its data exist, "
        "C malloc and numpy allocations alike: " + how + "; in a fresh process per "
        f"implementation and case ({process}) rebuilding the data from the same seed, "
        "after one warm-up call on a small case; same thread limits"
    )


def format_report(rows):
    """Render :func:`run`'s rows as Markdown: a header on machine and versions, the table, notes."""
    peer_names = list(dict.fromkeys(name for row in rows for name in row["peers"]))
    notes = []  # distinct notes, numbered in order of appearance

    def mark(text):
        if text not in notes:
            notes.append(text)
        return f"[{notes.index(text) + 1}]"

    def with_iters(ms, n_iter):
        return _sig(ms) if n_iter is None else f"{_sig(ms)} ({n_iter} it)"

    def suffix(name):
        return "" if len(peer_names) == 1 else f" vs {name}"

    # Peak-memory columns only when some row measured memory.
    memory = any(row.get("memory_method") for row in rows)

    def peak(result):
        if not memory:
            return []
        return ["—" if result.get("peak_mib") is None else _sig(result["peak_mib"])]

    header = ["case", "shape n x d x k", "dtype", "threads", f"{OURS} time"]
    header += [f"{OURS} peak MiB"] if memory else []
    for name in peer_names:
        header += [f"{name} time", *([f"{name} peak MiB"] if memory else []),
                   f"speed-up{suffix(name)}", f"rel. inertia diff{suffix(name)}"]
    header += ["GF/s", "numpy matmul GF/s (1 / all threads)"]

    table = []
    for row in rows:
        case = row["case"] + "".join(" " + mark(note) for note in row["notes"])
        ours = row[OURS]
        cells = [case, row["shape"], row["dtype"], str(row["threads"]),
                 with_iters(ours["ms"], ours["n_iter"]), *peak(ours)]
        for name in peer_names:
            peer = row["peers"].get(name, {"skipped": "not run"})
            if "skipped" in peer:
                reason = f"{name}: {peer['skipped']}"
                cells += [f"— {mark(reason)}", *peak({}), "—", "—"]
            else:
                cells += [with_iters(peer["ms"], peer["n_iter"]), *peak(peer),
                          f"{_sig(peer['speedup'])}x",
                          "0" if peer["rel_inertia_diff"] == 0 else f"{peer['rel_inertia_diff']:.1e}"]
        cells.append("—" if row["gflops"] is None else _sig(row["gflops"]))
        cells.append("—" if row["matmul_gflops"] is None
                     else " / ".join(_sig(g) for g in row["matmul_gflops"]))
        table.append(cells)

    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    lines = [_header(rows), "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [line(cells) for cells in table]
    if notes:
        lines += ["", *(f"[{i}] {text}" for i, text in enumerate(notes, 1))]
    return "\n".join(lines) + "\n"
