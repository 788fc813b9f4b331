"""Warm, cold and busy calls: the speed users feel (issue 16).

A call is timed in three conditions, in this order:

* warm: one untimed call, then ``repeats`` timed calls back to back (threads
  awake, caches warm: a loop of calls);
* cold: each timed call follows ``idle`` seconds of sleep (IDLE_SECONDS, 1 s:
  by then the OpenMP and OpenBLAS worker threads have stopped spinning and
  sleep, as between the steps of a labeling loop), the implementations in
  turn, ``cold_repeats`` rounds;
* busy: as warm, while a helper process spins a pure-Python loop on one core
  (:class:`_Spinner`), started ``busy_warmup`` seconds before the row's busy
  calls and stopped after them.

:func:`run_latency` measures the rows (the full k-means++ fits at
active-learning sizes, ``kmeans_plusplus`` alone, ``select_wkmeans``) for
iwkmeans with the run's thread count, iwkmeans with ``n_threads=1`` (the
reference of the issue's ratios) and scikit-learn where it has the task, all
under the run's OpenMP and BLAS limits; :func:`~.report.format_latency`
renders them. ``bench/latency.py`` and ``bench/threads.py`` use the same
machinery.
"""

import statistics
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits

from .cases import (
    FIT_SHAPES,
    LATENCY_DTYPES,
    LATENCY_SEEDING_SHAPE,
    SELECTION_BETA,
    SELECTION_CASES,
    _fit_case,
    _select,
    _selection_case,
    _selection_classifier,
)
from .memory import _memory_context
from .peers import OURS, _iwkmeans_tasks, _sklearn_tasks
from .timing import _OtherLoad

CONDITIONS = ("warm", "cold", "busy")
# Sleep before each cold call: long enough for OpenBLAS's and OpenMP's worker
# threads to stop spinning and block (OpenBLAS's spin up to about 0.1 s after
# a call, OpenMP's less) and for other processes to have the caches.
IDLE_SECONDS = 1.0
# The busy helper runs this long before the first busy call, so that the
# scheduler has placed it on a core.
BUSY_WARMUP_SECONDS = 0.2
# Timed cold calls per implementation and row, each after IDLE_SECONDS of
# idling: the sleeps are most of the table's run time, so fewer than the
# warm and busy calls (and never more than ``repeats``); QUICK_COLD_REPEATS
# with ``quick``.
COLD_REPEATS = 3
QUICK_COLD_REPEATS = 1
# Seconds the busy helper may take to start (a spawned one imports iwkmeans).
SPINNER_START_TIMEOUT = 60.0
PEER = "scikit-learn"


def _label(n_threads):
    return f"{OURS}, n_threads={n_threads}"


REFERENCE = _label(1)


# ------------------------------------------------------------ the conditions


def _timed(call):
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _back_to_back(call, repeats):
    """Seconds of ``repeats`` calls back to back, after an untimed one."""
    call()  # untimed: wakes the threads, warms the caches
    return [_timed(call) for _ in range(repeats)]


def _spin(ready, stop, cpu):
    """The busy helper: a pure-Python loop on one core until ``stop`` is set."""
    ready.set()
    start = time.process_time()
    while not stop.is_set():
        for _ in range(100_000):
            pass
    cpu.value = time.process_time() - start


class _Spinner:
    """Context manager running :func:`_spin` in a child process meanwhile.

    The child comes from the memory measurement's process context (a fork
    server that has imported the libraries where there is one: it starts in
    milliseconds, where a spawned process would import iwkmeans anew, about
    a second per row). ``share`` is the CPU the helper got over the time it
    ran (about 1.0: it held one core throughout); ``process`` is the child.
    """

    def __init__(self, warmup=BUSY_WARMUP_SECONDS):
        self.warmup = warmup
        self.share = None
        self.process = None

    def __enter__(self):
        context = _memory_context()
        self._ready, self._stop = context.Event(), context.Event()
        self._cpu = context.Value("d", 0.0)
        self.process = context.Process(
            target=_spin, args=(self._ready, self._stop, self._cpu), daemon=True
        )
        self.process.start()
        deadline = time.perf_counter() + SPINNER_START_TIMEOUT
        while not self._ready.wait(0.05):
            # A child that died (e.g. it could not import this module) is
            # reported at once, not after the whole timeout.
            if not self.process.is_alive() or time.perf_counter() > deadline:
                self._end()
                raise RuntimeError(
                    "the busy helper process did not start "
                    f"(exit code {self.process.exitcode}, timeout {SPINNER_START_TIMEOUT:g} s)"
                )
        self._start = time.perf_counter()
        time.sleep(self.warmup)
        return self

    def _end(self):
        self._stop.set()
        self.process.join(10)
        if self.process.is_alive():  # stuck: it must not outlive the row
            self.process.terminate()
            self.process.join()

    def __exit__(self, *exc):
        self._end()
        self.share = self._cpu.value / max(time.perf_counter() - self._start, 1e-9)
        return False


def _measure(calls, repeats, cold_repeats, idle, busy_warmup):
    """The three conditions on ``{name: zero-argument call}``.

    Returns ({name: {condition: [seconds]}}, other processes' average CPUs
    during the warm and cold calls or None, the busy helper's CPU share).
    """
    times = {name: {"cold": []} for name in calls}
    with _OtherLoad() as load:
        for name, call in calls.items():
            times[name]["warm"] = _back_to_back(call, repeats)
        for _ in range(cold_repeats):
            for name, call in calls.items():
                time.sleep(idle)
                times[name]["cold"].append(_timed(call))
    with _Spinner(busy_warmup) as spinner:
        for name, call in calls.items():
            times[name]["busy"] = _back_to_back(call, repeats)
    return times, load.cpus, spinner.share


# ------------------------------------------------------------------ the rows


@dataclass
class _Case:
    """A row to measure: what is called, on what, and ``{name: zero-argument call}``."""

    call: str
    shape: str
    dtype: str
    calls: dict


def _implementations(ours, peer, args, n_threads):
    """{name: call}: iwkmeans on ``n_threads`` and on 1 thread, then the peer if any.

    ``ours`` and ``peer`` take ``(*args, n_threads)``; the peer gets the
    run's thread count (the limits around the calls impose it as well).
    """
    calls = {_label(t): partial(ours, *args, t) for t in dict.fromkeys((n_threads, 1))}
    if peer is not None:
        calls[PEER] = partial(peer, *args, n_threads)
    return calls


def _fit_row(n, d, k, dtype, n_threads):
    # One seed (SEED) for every call: the same work in every condition and
    # thread count (the main table's fit rows average 5 seeds instead).
    args = _fit_case(n, d, k, dtype)
    return _Case(
        "full fit, k-means++ (n_init=1)",
        f"{n} x {d} x {k}",
        np.dtype(dtype).name,
        _implementations(_iwkmeans_tasks()["fit"], _sklearn_tasks()["fit"], args, n_threads),
    )


def _seeding_row(n, d, k, dtype, n_threads):
    args = _fit_case(n, d, k, dtype)
    ours, theirs = _iwkmeans_tasks()["kmeans_plusplus"], _sklearn_tasks()["kmeans_plusplus"]
    return _Case(
        "kmeans_plusplus",
        f"{n} x {d} x {k}",
        np.dtype(dtype).name,
        _implementations(ours, theirs, args, n_threads),
    )


def _selection_row(n_pool, d, batch, n_labeled, dtype, n_threads):
    from ..active._uncertainty import margin_score

    X_labeled, y_labeled, pool = _selection_case(n_pool, d, n_labeled, dtype)
    # Margin scores of the classifier fitted on the labeled samples, as in
    # run_selection's labeling loop.
    scores = np.asarray(
        margin_score(_selection_classifier().fit(X_labeled, y_labeled).predict_proba(pool))
    )
    # scikit-learn has no selection: iwkmeans' two thread counts only.
    return _Case(
        f"select_wkmeans (batch {batch}, beta {SELECTION_BETA}, {n_labeled} labeled)",
        f"pool {n_pool} x {d}",
        np.dtype(dtype).name,
        _implementations(_select, None, (pool, scores, batch, X_labeled), n_threads),
    )


def _cases(quick, n_threads, dtypes):
    """The rows' builders, called one at a time so that one row's data exist at a time."""
    for n, d, k in FIT_SHAPES:
        for dtype in dtypes:
            yield partial(_fit_row, n, d, k, dtype, n_threads)
    n, d, k = LATENCY_SEEDING_SHAPE
    for dtype in dtypes:
        yield partial(_seeding_row, n, d, k, dtype, n_threads)
    for n_pool, d, batch, n_labeled, _target in SELECTION_CASES[: 1 if quick else None]:
        for dtype in dtypes:
            yield partial(_selection_row, n_pool, d, batch, n_labeled, dtype, n_threads)


def _ratios(median_ms):
    """The issue's ratios of one row, from its medians ``{name: {condition: ms}}``.

    For each iwkmeans thread count: ``cold / warm 1 thread`` and ``busy /
    warm 1 thread`` (over the warm median of ``n_threads=1``) and
    ``speed-up`` = {condition: the peer's median / this one's}, None where
    the row has no peer.
    """
    warm_one = median_ms[REFERENCE]["warm"]
    peer = median_ms.get(PEER)
    ratios = {}
    for name, ms in median_ms.items():
        if name == PEER:
            continue
        ratios[name] = {
            "cold / warm 1 thread": ms["cold"] / warm_one,
            "busy / warm 1 thread": ms["busy"] / warm_one,
            "speed-up": None if peer is None else {c: peer[c] / ms[c] for c in CONDITIONS},
        }
    return ratios


def run_latency(
    quick=False,
    n_threads=None,
    repeats=None,
    cold_repeats=None,
    idle=None,
    busy_warmup=None,
    dtypes=None,
    log=None,
):
    """Time the calls users wait for warm, cold (after idling) and busy (beside a spinning process).

    The rows: full fits with k-means++ (``n_init=1``) at the active-learning
    sizes, ``kmeans_plusplus`` alone at the larger one's shape and
    ``select_wkmeans`` (margin scores of a LogisticRegression, 500 labeled
    samples as fixed centroids), each with iwkmeans on ``n_threads`` and on
    one thread, and scikit-learn's ``KMeans`` and ``kmeans_plusplus`` where
    it has the task; the OpenMP and BLAS limits are ``n_threads`` around all
    calls. Each row runs its warm calls, its cold calls and its busy calls,
    in this order (see the module's docstring).

    Parameters
    ----------
    quick : bool, default=False
        Only the first selection case, and QUICK_COLD_REPEATS cold calls.
    n_threads : int, default=None
        The thread count of the first iwkmeans line and the limits; None:
        the iwkmeans default (``OMP_NUM_THREADS`` or the physical cores).
    repeats : int, default=None
        Timed warm and busy calls per implementation and row; None: 5, or 3
        if ``quick``.
    cold_repeats : int, default=None
        Timed cold calls per implementation and row; None: COLD_REPEATS
        (QUICK_COLD_REPEATS if ``quick``), at most ``repeats``.
    idle : float, default=None
        Seconds of sleep before each cold call; None: IDLE_SECONDS (1 s).
    busy_warmup : float, default=None
        Seconds the busy helper runs before a row's first busy call; None:
        BUSY_WARMUP_SECONDS.
    dtypes : sequence of dtype, default=None
        The rows' dtypes; None: LATENCY_DTYPES (float64 and float32).
    log : callable, default=None
        Called with a one-line description before each row (progress).

    Returns
    -------
    rows : list of dict
        One per call, shape and dtype. Keys: ``table`` (``"latency"``),
        ``call``, ``shape``, ``dtype``, ``threads``, ``repeats`` ({condition:
        timed calls}), ``idle_s``, ``busy_warmup_s``, ``times_s`` ({name:
        {condition: [seconds]}}, names ``"iwkmeans, n_threads=N"`` and
        ``"scikit-learn"``), ``median_ms`` (the same, medians in ms),
        ``ratios`` (see below), ``other_cpus`` (other processes' average CPUs
        during the warm and cold calls, None if it could not be told) and
        ``spinner_cpu`` (the busy helper's CPU over its run, about 1.0).
        ``ratios[name]`` for each iwkmeans line: ``"cold / warm 1 thread"``,
        ``"busy / warm 1 thread"`` (its cold and busy medians over the warm
        median of ``n_threads=1``) and ``"speed-up"`` ({condition:
        scikit-learn's median / this one's}, None without a peer).
    """
    from .._core import effective_n_threads

    n_threads = effective_n_threads(n_threads)
    if repeats is None:
        repeats = 3 if quick else 5
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1; got {repeats}")
    if cold_repeats is None:
        cold_repeats = min(repeats, QUICK_COLD_REPEATS if quick else COLD_REPEATS)
    if cold_repeats < 1:
        raise ValueError(f"cold_repeats must be at least 1; got {cold_repeats}")
    idle = IDLE_SECONDS if idle is None else idle
    if idle < 0:
        raise ValueError(f"idle must be non-negative; got {idle}")
    busy_warmup = BUSY_WARMUP_SECONDS if busy_warmup is None else busy_warmup
    if busy_warmup < 0:
        raise ValueError(f"busy_warmup must be non-negative; got {busy_warmup}")
    dtypes = LATENCY_DTYPES if dtypes is None else dtypes
    log = log or (lambda line: None)
    rows = []
    for build in _cases(quick, n_threads, dtypes):
        # The data and the selection's classifier, untimed, on one BLAS
        # thread: the classifier's many small products run no faster on
        # more, and up to ten times slower beside another busy process.
        with threadpool_limits(limits=1, user_api="blas"):
            case = build()
        log(f"cold and busy calls: {case.call}: {case.shape} {case.dtype}")
        # Created once the row's implementations are imported, so that it
        # sees every BLAS and OpenMP library they loaded.
        controller = ThreadpoolController()
        with controller.limit(limits=n_threads):
            times, other_cpus, spinner_cpu = _measure(
                case.calls, repeats, cold_repeats, idle, busy_warmup
            )
        median_ms = {
            name: {c: statistics.median(times[name][c]) * 1e3 for c in CONDITIONS} for name in times
        }
        rows.append(
            {
                "table": "latency",
                "call": case.call,
                "shape": case.shape,
                "dtype": case.dtype,
                "threads": n_threads,
                "repeats": {"warm": repeats, "cold": cold_repeats, "busy": repeats},
                "idle_s": idle,
                "busy_warmup_s": busy_warmup,
                "times_s": times,
                "median_ms": median_ms,
                "ratios": _ratios(median_ms),
                "other_cpus": other_cpus,
                "spinner_cpu": spinner_cpu,
            }
        )
    return rows
