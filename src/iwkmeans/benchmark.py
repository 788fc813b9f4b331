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
* Lloyd with fixed centers (iwkmeans only);
* full fits at active-learning sizes, each implementation with its own
  k-means++ seeding and default ``tol``;
* k-means++ seeding alone.

scikit-learn is the only peer so far. A peer is one entry in :data:`PEERS`:
a name and a function returning the tasks it can run; a peer that cannot be
imported is skipped with a note in the report.

Use :func:`run` to measure and :func:`format_report` to render the rows as a
Markdown report, or the command line ``python -m iwkmeans bench``.
"""
import datetime
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

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
# (n, d, k): full fits at active-learning sizes.
FIT_SHAPES = ((500, 64, 50), (5000, 64, 100))
# (n, d, k): k-means++ seeding alone; quick mode uses QUICK_SEEDING_SAMPLES.
SEEDING_SHAPE = (100_000, 64, 100)
QUICK_SEEDING_SAMPLES = 20_000

DTYPES = (np.float32, np.float64)
OURS = "iwkmeans"
# (n_pool, n_features, batch_size, n_labeled, target ms): IWKMeans selection
# inside a labeling loop, with the labeled samples as fixed centroids.
SELECTION_CASES = ((20_000, 64, 50, 500, 8.0), (100_000, 64, 200, 500, 25.0))
SELECTION_BETA = 10
SELECTION_CLASSES = 10


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


def _iwkmeans_tasks():
    from iwkmeans import IncrementalKMeans, kmeans_plusplus

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

    return {
        "lloyd": lloyd,
        "lloyd_fixed": lloyd_fixed,
        "fit": fit,
        "kmeans_plusplus": seeding,
    }


def _sklearn_tasks():
    from sklearn.cluster import KMeans, kmeans_plusplus

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

    return {
        "lloyd": lloyd,
        "lloyd_fixed": "cannot fix centers",
        "fit": fit,
        "kmeans_plusplus": seeding,
    }


@dataclass(frozen=True)
class Peer:
    """An implementation to compare with: a name and a loader of its tasks.

    ``load`` returns ``{task: callable or reason}`` (see the task list above)
    and raises ImportError when the implementation is not installed.
    """

    name: str
    load: Callable[[], dict]


PEERS = (Peer("scikit-learn", _sklearn_tasks),)


def _load_peers():
    """{name: tasks dict, or the reason string if the peer could not be imported}."""
    loaded = {}
    for peer in PEERS:
        try:
            loaded[peer.name] = peer.load()
        except ImportError as exc:
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


class _Runner:
    """Runs the cases on all implementations with one thread budget."""

    def __init__(self, n_threads, repeats, log):
        self.n_threads = n_threads
        self.repeats = repeats
        self.log = log
        self.implementations = {OURS: _iwkmeans_tasks(), **_load_peers()}
        # Created after the implementations are imported, so that the
        # controller sees every BLAS and OpenMP library they loaded.
        self.controller = ThreadpoolController()

    def compare(self, task, args, summarize, *, case, shape, dtype, per_iteration,
                flops_per_iteration=None, matmul_shape=None, notes=()):
        """Time ``task(*args)`` on every implementation and return the report row."""
        self.log(f"{case}: {shape} {np.dtype(dtype).name}")
        calls, skipped = {}, {}
        for name, tasks in self.implementations.items():
            entry = tasks if isinstance(tasks, str) else tasks.get(task, "task not implemented")
            if isinstance(entry, str):
                skipped[name] = entry
            else:
                calls[name] = partial(entry, *args, self.n_threads)
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

        results = {}
        for name, (seconds, result) in measured.items():
            inertia, n_iter = summarize(result)
            ms = seconds * 1e3 / (n_iter if per_iteration else 1)
            results[name] = {"ms": ms, "n_iter": n_iter, "inertia": inertia}
        ours = results[OURS]
        peers = {}
        notes = list(notes)
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
            "notes": notes,
        }
        if flops_per_iteration is not None:
            row["gflops"] = flops_per_iteration / (ours["ms"] * 1e-3) / 1e9
        return row

    def lloyd(self, n, d, k, max_iter):
        X64 = _blobs(n, d, k)
        rows = _sample_rows(n, k)
        for dtype in DTYPES:
            X = X64.astype(dtype, copy=False)
            yield self.compare(
                "lloyd", (X, X[rows], max_iter), _estimator_summary,
                case=f"Lloyd, per iteration (max_iter={max_iter}, tol=0)",
                shape=f"{n} x {d} x {k}", dtype=dtype, per_iteration=True,
                flops_per_iteration=2.0 * n * k * d, matmul_shape=(d, k),
            )

    def lloyd_fixed(self, n, d, n_fixed, k, max_iter):
        X = _blobs(n, d, k)
        rows = _sample_rows(n, n_fixed + k)
        yield self.compare(
            "lloyd_fixed", (X, X[rows[:n_fixed]], X[rows[n_fixed:]], max_iter),
            _estimator_summary,
            case=f"Lloyd with fixed centers, per iteration (max_iter={max_iter}, tol=0)",
            shape=f"{n} x {d} x {k} (+{n_fixed} fixed)", dtype=np.float64,
            per_iteration=True, flops_per_iteration=2.0 * n * (n_fixed + k) * d,
            matmul_shape=(d, n_fixed + k),
        )

    def fit(self, n, d, k):
        yield self.compare(
            "fit", (_blobs(n, d, k), k, SEED), _estimator_summary,
            case="full fit with own k-means++ (n_init=1, default tol)",
            shape=f"{n} x {d} x {k}", dtype=np.float64, per_iteration=False,
            notes=["seedings differ, so the inertia difference measures quality, not error"],
        )

    def kmeans_plusplus(self, n, d, k):
        X64 = _blobs(n, d, k)
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype, copy=False)
            yield self.compare(
                "kmeans_plusplus", (X, k, SEED), partial(_seeding_summary, X),
                case="kmeans_plusplus (inertia = seeding potential)",
                shape=f"{n} x {d} x {k}", dtype=dtype, per_iteration=False,
                notes=["seedings differ, so the inertia difference measures quality, not error"],
            )


def run(quick=False, n_threads=None, repeats=None, log=None):
    """Measure every case; return one dict per report row.

    Parameters
    ----------
    quick : bool, default=False
        Smaller workload (no 1M-sample case, at most 5 Lloyd iterations, a
        smaller k-means++ case, 3 repeats) for a run of about a minute.
    n_threads : int, default=None
        Threads for every implementation; None: the iwkmeans default
        (``OMP_NUM_THREADS`` or the physical cores).
    repeats : int, default=None
        Timed calls per implementation and case; None: 5, or 3 if ``quick``.
    log : callable, default=None
        Called with a one-line description before each case (progress).

    Returns
    -------
    rows : list of dict
        Keys: ``case``, ``shape``, ``dtype``, ``threads``, ``repeats``,
        ``per_iteration`` (times are per Lloyd iteration), ``"iwkmeans"``
        (``{"ms", "n_iter", "inertia"}``), ``peers`` (name -> the same keys
        plus ``speedup`` = peer time / iwkmeans time and
        ``rel_inertia_diff`` = |ours - peer| / peer, or ``{"skipped":
        reason}``), ``gflops`` (iwkmeans, Lloyd rows), ``matmul_gflops``
        ((one thread, all threads) numpy matmul reference, Lloyd rows),
        ``other_cpus`` (average CPUs other processes used during the case,
        None if it could not be told) and ``notes``.
    """
    from ._parallel import effective_n_threads

    if repeats is None:
        repeats = 3 if quick else 5
    runner = _Runner(effective_n_threads(n_threads), repeats, log or (lambda line: None))
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
    for n, d, k in FIT_SHAPES:
        rows.extend(runner.fit(n, d, k))
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
    return "\n".join([
        "# iwkmeans benchmark",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- CPU: {_cpu_model()}; cores: {os.cpu_count()} logical (os.cpu_count), "
        f"{joblib.cpu_count(only_physical_cores=True)} physical (joblib)",
        f"- Python {platform.python_version()}; numpy {np.__version__}; "
        f"scipy {scipy.__version__}; scikit-learn {sklearn.__version__}; "
        f"iwkmeans {__version__}",
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
    ])


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

    header = ["case", "shape n x d x k", "dtype", "threads", f"{OURS} time"]
    for name in peer_names:
        header += [f"{name} time", f"speed-up{suffix(name)}", f"rel. inertia diff{suffix(name)}"]
    header += ["GF/s", "numpy matmul GF/s (1 / all threads)"]

    table = []
    for row in rows:
        case = row["case"] + "".join(" " + mark(note) for note in row["notes"])
        ours = row[OURS]
        cells = [case, row["shape"], row["dtype"], str(row["threads"]),
                 with_iters(ours["ms"], ours["n_iter"])]
        for name in peer_names:
            peer = row["peers"].get(name, {"skipped": "not run"})
            if "skipped" in peer:
                reason = f"{name}: {peer['skipped']}"
                cells += [f"— {mark(reason)}", "—", "—"]
            else:
                cells += [with_iters(peer["ms"], peer["n_iter"]), f"{_sig(peer['speedup'])}x",
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
