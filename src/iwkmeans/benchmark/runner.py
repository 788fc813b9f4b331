"""Running the cases on every implementation: ``_Runner``, :func:`run`, :func:`run_selection`."""

from functools import partial

import numpy as np
from threadpoolctl import ThreadpoolController

# PEERS is read through its module, so that replacing it there (as the tests
# do) reaches every reader.
from . import peers
from .cases import (
    DTYPES,
    FIT_DTYPES,
    FIT_SHAPES,
    FIXED_SHAPE,
    LLOYD_SHAPES,
    MARGINAL_SHORT_ITER,
    MINIBATCH_SHAPE,
    MINIBATCH_SIZE,
    QUALITY_SEEDS,
    QUICK_MAX_ITER,
    QUICK_MAX_SAMPLES,
    QUICK_MINIBATCH_SAMPLES,
    QUICK_SEEDING_SAMPLES,
    QUICK_SPARSE_SAMPLES,
    SEED,
    SEEDED_NOTE,
    SEEDING_SHAPE,
    SELECTION_BETA,
    SELECTION_CASES,
    SLOW_ROW_REPEATS,
    SLOW_ROW_SAMPLES,
    SPARSE_SHAPE,
    TIMED_SEEDS_NOTE,
    _blobs,
    _estimator_summary,
    _fit_case,
    _lloyd_case,
    _lloyd_fixed_case,
    _seeding_summary,
    _select,
    _selection_case,
    _selection_classifier,
    _sparse_case,
    _sparse_pool,
)
from .latency import run_latency
from .memory import MEMORY_MAX_SAMPLES, MEMORY_TASKS, _peak_extra_mib
from .peers import OURS, _iwkmeans_tasks, _load_peers
from .timing import BUSY_CPUS_THRESHOLD, _matmul_gflops, _OtherLoad, _time_interleaved

# iwkmeans finds each sample's nearest fixed center once per fit and scans
# only the free centers in an iteration: counting the fixed centers in every
# iteration (what a plain Lloyd computes) makes the row's GF/s an effective
# rate, which can exceed the hardware's; a marginal iteration (free centers
# only) would measure the plain Lloyd row's work again.
FIXED_GFLOPS_NOTE = (
    "GF/s counts the fixed centers' distances in every iteration, as a plain Lloyd "
    "computes them; iwkmeans computes them once per fit, so it is an effective rate, "
    "not a hardware one (no marginal iteration, no share of matmul)"
)

# The key of iwkmeans' shorter fit among a row's interleaved calls (see
# MARGINAL_SHORT_ITER): not an implementation name, so no peer can clash.
_SHORT_FIT = ("iwkmeans", MARGINAL_SHORT_ITER)


class _Runner:
    """Runs the cases on all implementations with one thread budget.

    With ``memory``, the rows of MEMORY_TASKS also get each implementation's
    peak extra memory (one fresh process per implementation and case), on
    rows of the ``memory_dtypes`` only (default: all).
    """

    def __init__(self, n_threads, repeats, log, memory=False, memory_dtypes=None):
        self.n_threads = n_threads
        self.repeats = repeats
        self.log = log
        self.memory = memory
        self.memory_dtypes = memory_dtypes
        self.implementations = {OURS: _iwkmeans_tasks(), **_load_peers()}
        self.loaders = {OURS: _iwkmeans_tasks, **{peer.name: peer.load for peer in peers.PEERS}}
        # Created after the implementations are imported, so that the
        # controller sees every BLAS and OpenMP library they loaded.
        self.controller = ThreadpoolController()

    def compare(
        self,
        task,
        build,
        n,
        summarize,
        *,
        case,
        shape,
        dtype,
        per_iteration,
        X64=None,
        warmup_samples=None,
        flops_per_iteration=None,
        matmul_shape=None,
        repeats=None,
        notes=(),
        quality_seeds=None,
        timed_seeds=None,
        marginal=False,
    ):
        """Time ``task(*build(n))`` on every implementation and return the report row.

        ``warmup_samples``: the size of the memory measurement's warm-up case.
        ``quality_seeds``: for tasks whose answer depends on each library's
        own random draws (the last argument of ``build`` is the seed), the
        inertia reported is the mean over this many seeds, so that the
        difference measures quality rather than the luck of one draw.
        ``timed_seeds``: for such tasks whose work also depends on the draws
        (a fit's iteration count), each timed call runs this many seeds and
        the report gives the time, inertia and iterations per seed, averaged.
        ``repeats``: timed calls per implementation, ``self.repeats`` if
        None; a row with fewer says so in a note.
        ``marginal``: for Lloyd tasks (the last argument of ``build`` is
        ``max_iter``), iwkmeans also runs, interleaved with the rest, a fit
        of MARGINAL_SHORT_ITER iterations, and the row gets its time per
        marginal iteration (the difference of the two fits' medians over the
        difference of their iteration counts); GF/s comes from that time,
        and its share of the matmul GF/s on the row's threads.
        """
        self.log(f"{case}: {shape} {np.dtype(dtype).name}")
        if repeats is None or repeats >= self.repeats:
            repeats = self.repeats
        else:
            notes = (*notes, f"median of {repeats} timings: one call takes seconds")
        args = build(n, X64=X64)
        calls, entries, skipped = {}, {}, {}
        for name, tasks in self.implementations.items():
            entry = tasks if isinstance(tasks, str) else tasks.get(task, "task not implemented")
            if not isinstance(entry, str):
                entry = getattr(entry, "why_not", lambda *args: None)(*args) or entry
            if isinstance(entry, str):
                skipped[name] = entry
            elif timed_seeds:
                calls[name] = partial(_over_seeds, entry, args[:-1], timed_seeds, self.n_threads)
                entries[name] = entry
            else:
                calls[name] = partial(entry, *args, self.n_threads)
                entries[name] = entry
                if getattr(entry, "note", None):
                    notes = (*notes, entry.note)
        if marginal and OURS in entries:
            short_args = (*args[:-1], MARGINAL_SHORT_ITER)
            calls[_SHORT_FIT] = partial(entries[OURS], *short_args, self.n_threads)
        with _OtherLoad() as other_load:
            # Both the OpenMP and the BLAS budgets: scikit-learn's Lloyd runs
            # on OpenMP, its k-means++ on multi-threaded BLAS.
            with self.controller.limit(limits=self.n_threads):
                measured = _time_interleaved(calls, repeats)
            matmul_gflops = None
            if matmul_shape is not None:
                matmul_gflops = tuple(
                    _matmul_gflops(*matmul_shape, dtype, threads, self.controller, self.repeats)
                    for threads in (1, self.n_threads)
                )
        mean_inertia = {}
        if quality_seeds:
            with self.controller.limit(limits=self.n_threads):
                for name, entry in entries.items():
                    mean_inertia[name] = float(
                        np.mean(
                            [
                                summarize(result)[0]
                                for result in _over_seeds(
                                    entry, args[:-1], quality_seeds, self.n_threads
                                )
                            ]
                        )
                    )
        del args

        notes = list(notes)
        short = measured.pop(_SHORT_FIT, None)
        calls.pop(_SHORT_FIT, None)
        # After the timings, so that the children count in no case's load.
        peaks, memory_method = self._peak_memory(
            task, build, n, dtype, warmup_samples, calls, notes
        )

        results = {}
        for name, (seconds, result) in measured.items():
            if timed_seeds:
                inertia, n_iter = (
                    float(np.mean(values)) for values in zip(*(summarize(r) for r in result))
                )
                seconds /= timed_seeds
                result = result[-1]
            else:
                inertia, n_iter = summarize(result)
            ms = seconds * 1e3 / (n_iter if per_iteration else 1)
            results[name] = {
                "ms": ms,
                "n_iter": n_iter,
                "inertia": mean_inertia.get(name, inertia),
                "peak_mib": peaks.get(name),
            }
            if getattr(result, "bench_note", None):
                notes.append(f"{name}: {result.bench_note}")
        ours = results[OURS]
        ours["marginal_ms"] = None
        if short is not None:
            ours["marginal_ms"] = _marginal_ms(
                measured[OURS][0], ours["n_iter"], short[0], summarize(short[1])[1], notes
            )
        by_peer = {}
        if other_load.cpus is not None and other_load.cpus > BUSY_CPUS_THRESHOLD:
            notes.append(
                f"other processes kept {other_load.cpus:.1f} CPUs busy on average "
                "during this case: its timings are unreliable"
            )
        for name in self.implementations:
            if name == OURS:
                continue
            if name in skipped:
                by_peer[name] = {"skipped": skipped[name]}
                continue
            peer = results[name]
            peer["speedup"] = peer["ms"] / ours["ms"]
            peer["rel_inertia_diff"] = (ours["inertia"] - peer["inertia"]) / peer["inertia"]
            by_peer[name] = peer
            if per_iteration and peer["n_iter"] != ours["n_iter"]:
                notes.append(
                    f"n_iter differs ({OURS} {ours['n_iter']}, {name} {peer['n_iter']}): "
                    "per-iteration times spread fixed costs differently"
                )

        row = {
            "table": "comparison",
            "case": case,
            "shape": shape,
            "dtype": np.dtype(dtype).name,
            "threads": self.n_threads,
            "repeats": repeats,
            "per_iteration": per_iteration,
            OURS: ours,
            "peers": by_peer,
            "gflops": None,
            "matmul_gflops": matmul_gflops,
            "matmul_share": None,
            "other_cpus": other_load.cpus,
            "memory_method": memory_method,
            "notes": notes,
        }
        if flops_per_iteration is not None:
            # Per marginal iteration where measured: the rate of the
            # iteration's own work, fixed costs of the fit excluded.
            ms = ours["ms"] if ours["marginal_ms"] is None else ours["marginal_ms"]
            if ms > 0:
                row["gflops"] = flops_per_iteration / (ms * 1e-3) / 1e9
        if marginal and row["gflops"] is not None and matmul_gflops is not None:
            # Against numpy's matmul on the row's thread count.
            row["matmul_share"] = row["gflops"] / matmul_gflops[1]
        return row

    def _peak_memory(self, task, build, n, dtype, warmup_samples, names, notes):
        """({name: peak extra MiB}, method or None) of one call of each implementation."""
        if not self.memory or task not in MEMORY_TASKS or warmup_samples is None:
            return {}, None
        if self.memory_dtypes is not None and np.dtype(dtype) not in self.memory_dtypes:
            notes.append(
                "peak memory measured on "
                f"{'/'.join(np.dtype(t).name for t in self.memory_dtypes)} rows only"
            )
            return {}, None
        if n > MEMORY_MAX_SAMPLES:
            notes.append(
                f"peak memory not measured above {MEMORY_MAX_SAMPLES} samples "
                "(a fresh process per implementation rebuilding the data: too slow)"
            )
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
                "lloyd",
                partial(_lloyd_case, d=d, k=k, max_iter=max_iter, dtype=dtype),
                n,
                _estimator_summary,
                X64=X64,
                warmup_samples=max(4 * k, 256),
                case=f"Lloyd, per iteration (max_iter={max_iter}, tol=0)",
                shape=f"{n} x {d} x {k}",
                dtype=dtype,
                per_iteration=True,
                flops_per_iteration=2.0 * n * k * d,
                matmul_shape=(d, k),
                marginal=True,
                repeats=SLOW_ROW_REPEATS if n >= SLOW_ROW_SAMPLES else None,
            )

    def lloyd_sparse(self, n, d, k, density, max_iter):
        X64 = _sparse_pool(n, d, density)
        for dtype in DTYPES:
            yield self.compare(
                "lloyd_sparse",
                partial(_sparse_case, d=d, k=k, density=density, max_iter=max_iter, dtype=dtype),
                n,
                _estimator_summary,
                X64=X64,
                case=f"sparse CSR Lloyd, per iteration (max_iter={max_iter}, tol=0)",
                shape=f"{n} x {d} x {k} ({X64.nnz / n:.0f} values per row)",
                dtype=dtype,
                per_iteration=True,
                repeats=SLOW_ROW_REPEATS,
            )

    def lloyd_fixed(self, n, d, n_fixed, k, max_iter):
        X64 = _blobs(n, d, k)
        for dtype in DTYPES:
            build = partial(
                _lloyd_fixed_case, d=d, n_fixed=n_fixed, k=k, max_iter=max_iter, dtype=dtype
            )
            yield self.compare(
                "lloyd_fixed",
                build,
                n,
                _estimator_summary,
                X64=X64,
                warmup_samples=2 * (n_fixed + k),
                case=f"Lloyd with fixed centers, per iteration (max_iter={max_iter}, tol=0)",
                shape=f"{n} x {d} x {k} (+{n_fixed} fixed)",
                dtype=dtype,
                per_iteration=True,
                flops_per_iteration=2.0 * n * (n_fixed + k) * d,
                matmul_shape=(d, n_fixed + k),
                notes=[FIXED_GFLOPS_NOTE],
            )

    def fit(self, n, d, k):
        X64 = _blobs(n, d, k)
        for dtype in FIT_DTYPES:
            yield self.compare(
                "fit",
                partial(_fit_case, d=d, k=k, dtype=dtype),
                n,
                _estimator_summary,
                X64=X64,
                warmup_samples=max(4 * k, 256),
                case="full fit with own k-means++ (n_init=1, default stopping)",
                shape=f"{n} x {d} x {k}",
                dtype=dtype,
                per_iteration=False,
                notes=[TIMED_SEEDS_NOTE],
                timed_seeds=QUALITY_SEEDS,
            )

    def minibatch(self, n, d, k, passes):
        X64 = _blobs(n, d, k)
        for dtype in DTYPES:
            yield self.compare(
                "minibatch",
                partial(_lloyd_case, d=d, k=k, max_iter=passes, dtype=dtype),
                n,
                _estimator_summary,
                X64=X64,
                case=f"mini-batch fit ({passes} passes, batches of {MINIBATCH_SIZE}, same init)",
                shape=f"{n} x {d} x {k}",
                dtype=dtype,
                per_iteration=False,
                notes=[
                    "batch sampling (and scikit-learn's reassignment of small "
                    "clusters) differ, so the inertia difference measures quality, "
                    "not error"
                ],
            )

    def kmeans_plusplus(self, n, d, k):
        X64 = _blobs(n, d, k)
        for dtype in (np.float64, np.float32):
            X = X64.astype(dtype, copy=False)
            yield self.compare(
                "kmeans_plusplus",
                partial(_fit_case, d=d, k=k, dtype=dtype),
                n,
                partial(_seeding_summary, X),
                X64=X64,
                case="kmeans_plusplus (inertia = seeding potential)",
                shape=f"{n} x {d} x {k}",
                dtype=dtype,
                per_iteration=False,
                notes=[SEEDED_NOTE],
                quality_seeds=QUALITY_SEEDS,
                repeats=SLOW_ROW_REPEATS if n >= SLOW_ROW_SAMPLES // 10 else None,
            )


def _over_seeds(task, args, n_seeds, n_threads):
    """The results of ``task`` on seeds SEED .. SEED + n_seeds - 1."""
    return [task(*args, SEED + s, n_threads) for s in range(n_seeds)]


def _marginal_ms(long_seconds, long_iter, short_seconds, short_iter, notes):
    """Milliseconds per marginal iteration: (long - short) / (iterations long - short).

    None, with a note, when it cannot be told: the longer fit stopped by the
    shorter one's iteration count (it converged), or noise left no positive
    difference.
    """
    if long_iter <= short_iter:
        notes.append(
            f"no marginal iteration: the fit converged after {long_iter} iterations; "
            "GF/s from the fit time / n_iter"
        )
        return None
    ms = (long_seconds - short_seconds) * 1e3 / (long_iter - short_iter)
    if ms <= 0:
        notes.append(
            f"no marginal iteration: the {long_iter}-iteration fit timed no slower than "
            f"the {short_iter}-iteration one (noise); GF/s from the fit time / n_iter"
        )
        return None
    return ms


def run(quick=False, n_threads=None, repeats=None, log=None, memory=True, latency=True):
    """Measure every case; return one dict per report row.

    Parameters
    ----------
    quick : bool, default=False
        Smaller workload (no 1M-sample case, at most 3 Lloyd iterations, a
        smaller k-means++ case, 3 repeats, peak memory of the float64 rows
        only, one selection case and one cold call per implementation in the
        cold-and-busy rows) for a run of two to three minutes.
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
    latency : bool, default=True
        Also time the calls users wait for warm, cold and busy
        (:func:`run_latency`, with the same ``quick``, ``n_threads`` and
        ``repeats``): its rows come last.

    Returns
    -------
    rows : list of dict
        The comparison's rows, then :func:`run_latency`'s (``table ==
        "latency"``, keys documented there). A comparison row's keys:
        ``table`` (``"comparison"``), ``case``, ``shape``, ``dtype``,
        ``threads``, ``repeats``,
        ``per_iteration`` (times are per Lloyd iteration), ``"iwkmeans"``
        (``{"ms", "n_iter", "inertia", "peak_mib", "marginal_ms"}``,
        ``peak_mib`` None where not measured, ``marginal_ms`` the time per
        marginal iteration on the dense Lloyd rows, else None), ``peers``
        (name -> ``{"ms", "n_iter", "inertia", "peak_mib"}`` plus
        ``speedup`` = peer time / iwkmeans time and ``rel_inertia_diff`` =
        (ours - peer) / peer, or ``{"skipped": reason}``), ``gflops``
        (iwkmeans; per marginal iteration on the dense Lloyd rows, per fit
        time / n_iter with the fixed centers counted in every iteration on
        the fixed-center rows), ``matmul_gflops`` ((one thread, the row's
        threads) numpy matmul reference, the same rows), ``matmul_share``
        (``gflops`` over the matmul GF/s on the row's threads, dense Lloyd
        rows, else None), ``other_cpus`` (average CPUs
        other processes used during the case, None if it could not be told),
        ``memory_method`` ("VmHWM", "ru_maxrss" or None: see
        :func:`_peak_extra_mib`) and ``notes``.
    """
    from .._core import effective_n_threads

    if repeats is None:
        repeats = 3 if quick else 5
    # Quick mode measures memory on float64 rows only: the fresh processes
    # are its slowest part, and float32 needs half of float64's memory.
    runner = _Runner(
        effective_n_threads(n_threads),
        repeats,
        log or (lambda line: None),
        memory=memory,
        memory_dtypes=(np.float64,) if quick else None,
    )
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
    if latency:
        rows.extend(
            run_latency(quick=quick, n_threads=runner.n_threads, repeats=repeats, log=runner.log)
        )
    return rows


def run_selection(n_threads=None, repeats=5, log=None):
    """Latency of ``IWKMeansSampler.select_samples`` in a labeling loop.

    LogisticRegression on the labeled set, margin scores, beta = 10. Three
    timings, interleaved: the selection proper (:func:`select_wkmeans` on the
    scores: validation, preselection, weighted K-Means around the labeled
    samples, picks), the classifier's ``predict_proba`` on the pool, and
    ``select_samples`` as a whole. Returns one dict per case.

    Parameters
    ----------
    n_threads : int, default=None
        Threads for the selection and the classifier; None: the iwkmeans
        default (``OMP_NUM_THREADS`` or the physical cores).
    repeats : int, default=5
        Timed calls of each of the three per case.
    log : callable, default=None
        Called with a one-line description before each case (progress).

    Returns
    -------
    rows : list of dict
        Keys: ``pool`` (``"n x d"``), ``batch``, ``labeled``, ``threads``,
        ``target_ms`` (the selection latency aimed at) and the median times in
        milliseconds ``select``, ``predict_proba`` and ``select_samples``.
    """
    from .._core import effective_n_threads
    from ..active._samplers import IWKMeansSampler
    from ..active._uncertainty import margin_score

    n_threads = effective_n_threads(n_threads)
    log = log or (lambda line: None)
    controller = ThreadpoolController()
    rows = []
    for n_pool, d, batch, n_labeled, target in SELECTION_CASES:
        log(f"IWKMeans selection: pool {n_pool} x {d}, batch {batch}")
        X_labeled, y_labeled, pool = _selection_case(n_pool, d, n_labeled)
        sampler = IWKMeansSampler(
            _selection_classifier(),
            batch,
            beta=SELECTION_BETA,
            random_state=SEED,
            n_threads=n_threads,
        ).fit(X_labeled, y_labeled)
        scores = margin_score(sampler.classifier_.predict_proba(pool))
        calls = {
            "select": partial(_select, pool, scores, batch, X_labeled, n_threads),
            "predict_proba": partial(sampler.classifier_.predict_proba, pool),
            "select_samples": partial(sampler.select_samples, pool),
        }
        with controller.limit(limits=n_threads):
            measured = _time_interleaved(calls, repeats)
        rows.append(
            {
                "pool": f"{n_pool} x {d}",
                "batch": batch,
                "labeled": n_labeled,
                "threads": n_threads,
                "target_ms": target,
                **{name: seconds * 1e3 for name, (seconds, _) in measured.items()},
            }
        )
    return rows
