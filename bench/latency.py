"""Speed where users feel it (issue 16): warm, cold and busy calls, side by side.

Usage (from the repository root):

    python bench/latency.py [--repeats 7] [--idle 1.0] [--quick] [--json PATH]

Times each row's implementations (iwkmeans with its default ``n_threads``,
iwkmeans with ``n_threads=1``, and scikit-learn where it has the task) in one
process, in three conditions:

* warm: one untimed call, then ``--repeats`` timed calls back to back;
* cold: each timed call follows ``--idle`` seconds of sleep (OpenMP and
  OpenBLAS threads have gone to sleep by then), the implementations in turn;
* busy: as warm, while a helper process (multiprocessing, spawn) spins a
  pure-Python loop; it is started before the row's busy calls, given
  ``--busy-warmup`` seconds to get going, and stopped after them. The CPU it
  got is recorded (about 1.0 when it held one core throughout).

Each row runs warm, cold, busy in that order. Times are wall clock; the table
gives the median and (min-max) of the repeats; ratios are of medians:
cold / warm and busy / warm of the same implementation, the same over the
warm ``n_threads=1`` time (the issue's target: at most 1.5), and speed-up
vs scikit-learn = scikit-learn's time / ours in the same condition. "Other
CPUs" is the average number of CPUs that processes other than this one used
during the row's warm and cold calls (from /proc/stat): another program's load.

A second table times the case where ``n_threads=1`` was found many times slower
(the test ``test_gil_released_during_fit``: 200,000 x 32, k=64, 40 Lloyd
iterations): a fit run from a worker thread while the main thread runs
Python, after a fit in the main thread. It runs scaled down, in a child
process killed after ``--thread-timeout`` seconds (a stuck thread cannot be
stopped otherwise), once with OpenBLAS as configured and once with
``OPENBLAS_NUM_THREADS=1``.

To add a row, write a function ``(quick, dtype) -> Row`` and decorate it with
``@row``.
"""

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field

DEFAULT = "iwkmeans, n_threads default"
ONE = "iwkmeans, n_threads=1"
SKLEARN = "scikit-learn"
CONDITIONS = ("warm", "cold", "busy")
ENV_VARS = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "OMP_PROC_BIND",
    "OMP_DYNAMIC",
    "GOMP_SPINCOUNT",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "MKL_NUM_THREADS",
)


# ---------------------------------------------------------------- the rows


@dataclass
class Row:
    """One call measured: its label, shape, dtype and ``{implementation: zero-argument call}``."""

    call: str
    shape: str
    dtype: str
    calls: dict = field(default_factory=dict)


ROWS = []


def row(builder):
    """Register a row builder ``(quick, dtype) -> Row``."""
    ROWS.append(builder)
    return builder


@row
def fit_row(quick, dtype):
    from iwkmeans.benchmark import cases
    from iwkmeans.benchmark.peers import _iwkmeans_tasks, _sklearn_tasks

    n, d, k = (200, 8, 5) if quick else cases.FIT_SHAPES[0]  # 500 x 64, k = 50
    X, n_clusters, seed = cases._fit_case(n, d, k, dtype)
    ours, theirs = _iwkmeans_tasks()["fit"], _sklearn_tasks()["fit"]
    return Row(
        f"IncrementalKMeans({k}).fit (k-means++, n_init=1)",
        f"{n} x {d}",
        dtype,
        {
            DEFAULT: lambda: ours(X, n_clusters, seed, None),
            ONE: lambda: ours(X, n_clusters, seed, 1),
            # KMeans(k, n_init=1, random_state=seed): the same greedy k-means++
            # and Lloyd, with scikit-learn's own thread count.
            SKLEARN: lambda: theirs(X, n_clusters, seed, None),
        },
    )


@row
def selection_row(quick, dtype):
    import numpy as np
    from sklearn.datasets import make_blobs
    from sklearn.linear_model import LogisticRegression

    from iwkmeans.active import margin_score, select_wkmeans
    from iwkmeans.benchmark import cases

    if quick:
        n_pool, d, batch, n_labeled = 500, 8, 5, 20
    else:  # pool 20,000 x 64, batch 50, 500 labeled (the benchmark's selection case)
        n_pool, d, batch, n_labeled, _ = cases.SELECTION_CASES[0]
    X, y = make_blobs(
        n_samples=n_pool + n_labeled,
        n_features=d,
        centers=cases.SELECTION_CLASSES,
        cluster_std=cases.CLUSTER_STD,
        random_state=cases.SEED,
    )
    X = X.astype(dtype)
    X_labeled, pool = X[:n_labeled], X[n_labeled:]
    # Margin scores of a classifier fitted on the labeled samples, as
    # iwkmeans.benchmark.run_selection has them.
    model = LogisticRegression(max_iter=1000).fit(X_labeled, y[:n_labeled])
    scores = np.asarray(margin_score(model.predict_proba(pool)))

    def select(n_threads):
        return select_wkmeans(
            pool,
            scores,
            batch,
            beta=cases.SELECTION_BETA,
            X_labeled=X_labeled,
            random_state=cases.SEED,
            n_threads=n_threads,
        )

    return Row(
        f"select_wkmeans (batch {batch}, beta {cases.SELECTION_BETA}, {n_labeled} labeled)",
        f"pool {n_pool} x {d}",
        dtype,
        {DEFAULT: lambda: select(None), ONE: lambda: select(1)},
    )


# ------------------------------------------------------------ the conditions


def _spin(ready, stop, cpu):
    """The busy helper: a pure-Python loop on one core until ``stop`` is set."""
    ready.set()
    start = time.process_time()
    while not stop.is_set():
        for _ in range(100_000):
            pass
    cpu.value = time.process_time() - start


class Spinner:
    """Context manager running :func:`_spin` in a spawned process; ``share``
    is the CPU it got over the time it ran (about 1.0: one core throughout)."""

    def __init__(self, warmup):
        self.warmup = warmup
        self.share = None

    def __enter__(self):
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Event(), context.Event()
        self._cpu = context.Value("d", 0.0)
        self._process = context.Process(
            target=_spin, args=(self._ready, self._stop, self._cpu), daemon=True
        )
        self._process.start()
        if not self._ready.wait(60):
            raise RuntimeError("the busy helper process did not start")
        self._start = time.perf_counter()
        time.sleep(self.warmup)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self.share = self._cpu.value / max(time.perf_counter() - self._start, 1e-9)
        return False


def _timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _back_to_back(call, repeats):
    call()  # untimed: wakes the threads, warms the caches
    return [_timed(call) for _ in range(repeats)]


def measure(r, repeats, idle, busy_warmup):
    """{implementation: {condition: [seconds]}} and the row's load figures."""
    from iwkmeans.benchmark.timing import _OtherLoad

    times = {name: {} for name in r.calls}
    with _OtherLoad() as load:
        for name, call in r.calls.items():
            times[name]["warm"] = _back_to_back(call, repeats)
        cold = {name: [] for name in r.calls}
        for _ in range(repeats):
            for name, call in r.calls.items():
                time.sleep(idle)
                cold[name].append(_timed(call))
        for name in r.calls:
            times[name]["cold"] = cold[name]
    with Spinner(busy_warmup) as spinner:
        for name, call in r.calls.items():
            times[name]["busy"] = _back_to_back(call, repeats)
    return times, {"other_cpus_warm_cold": load.cpus, "spinner_cpu_share": spinner.share}


# ------------------------------------- a fit in a worker thread (leftover BLAS threads)

THREAD_WORKER = textwrap.dedent("""
    import json, os, sys, threading, time
    import numpy as np
    from iwkmeans import IncrementalKMeans

    n, d, k, max_iter, repeats = map(int, sys.argv[1:6])
    X = np.random.default_rng(0).normal(size=(n, d))
    main_id = threading.get_native_id()

    def cpu_of_threads():
        # CPU seconds of each thread of this process, from /proc.
        out = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def fit():
        IncrementalKMeans(k, init=X[:k], max_iter=max_iter, tol=0, n_threads=1).fit(X)

    def report(variant, seconds, before, fit_cpu=None):
        after = cpu_of_threads()
        # Threads other than the main one that existed before the fit: the
        # BLAS and OpenMP workers. Busy there means spinning or working.
        others = sum(after[t] - before[t] for t in before if t != main_id and t in after)
        print(json.dumps({"variant": variant, "seconds": seconds,
                          "other_threads_cpu": others, "fit_thread_cpu": fit_cpu}), flush=True)

    def in_worker(main_busy):
        done = threading.Event()
        cpu = []

        def work():
            start = time.thread_time()
            fit()
            cpu.append(time.thread_time() - start)
            done.set()

        before = cpu_of_threads()
        worker = threading.Thread(target=work)
        start = time.perf_counter()
        worker.start()
        if main_busy:
            while not done.is_set():  # a busy Python loop, as in the test
                time.perf_counter()
        worker.join()
        report("worker thread, main busy" if main_busy else "worker thread, main waits",
               time.perf_counter() - start, before, cpu[0])

    # As in the test suite: earlier fits ran in the main thread, one of them
    # multi-threaded.
    IncrementalKMeans(k, init=X[:k], max_iter=2, tol=0).fit(X)
    fit()
    for _ in range(repeats):
        before = cpu_of_threads()
        start = time.perf_counter()
        fit()
        report("main thread", time.perf_counter() - start, before)
    for _ in range(repeats):
        in_worker(False)
    for _ in range(repeats):
        in_worker(True)
""")
THREAD_VARIANTS = ("main thread", "worker thread, main waits", "worker thread, main busy")


def thread_case(shape, repeats, timeout, openblas_one):
    """Run THREAD_WORKER in a child process; its measurements, and a note if it timed out."""
    env = dict(os.environ)
    if openblas_one:
        env["OPENBLAS_NUM_THREADS"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-c", THREAD_WORKER, *map(str, (*shape, repeats))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    note = None
    try:
        out, err = process.communicate(timeout=timeout)
        if process.returncode:
            note = f"child failed (exit code {process.returncode}): {err.strip()[-300:]}"
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        note = f"timed out after {timeout:g} s (killed); measurements up to then kept"
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")], note


# --------------------------------------------------------------- the report


def summary(seconds):
    values = sorted(seconds)
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return {
        "times_s": seconds,
        "median_s": statistics.median(values),
        "min_s": values[0],
        "max_s": values[-1],
        "q1_s": quartiles[0],
        "q3_s": quartiles[2],
    }


def machine():
    """Machine, versions and thread settings, as the other bench scripts record them."""
    import joblib
    import numpy as np
    import scipy
    import sklearn
    import threadpoolctl
    from threadpoolctl import threadpool_info

    import iwkmeans
    from iwkmeans._core import effective_n_threads, openmp_enabled
    from iwkmeans.benchmark.report import _cpu_model

    pools = [
        {key: lib.get(key) for key in ("user_api", "internal_api", "prefix", "version")}
        | {
            "num_threads": lib.get("num_threads"),
            "architecture": lib.get("architecture"),
            "threading_layer": lib.get("threading_layer"),
            "file": os.path.basename(lib["filepath"]),
        }
        for lib in threadpool_info()
    ]
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": joblib.cpu_count(only_physical_cores=True),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "default_n_threads": effective_n_threads(None),
        "openmp_enabled": openmp_enabled(),
        "python": platform.python_version(),
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "threadpoolctl": threadpoolctl.__version__,
            "iwkmeans": iwkmeans.__version__,
        },
        "env": {name: os.environ.get(name, "unset") for name in ENV_VARS},
        "threadpools": pools,
    }


def header(info, args, load_before, load_after):
    pools = "; ".join(
        f"{p['internal_api']} {p['version']} ({p['user_api']}, {p['num_threads']} threads"
        + (f", core type {p['architecture']}" if p["architecture"] else "")
        + (f", {p['threading_layer']}" if p["threading_layer"] else "")
        + f", {p['file']})"
        for p in info["threadpools"]
    )
    versions = "; ".join(f"{k} {v}" for k, v in info["versions"].items())
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items())
    return "\n".join(
        [
            f"- date: {info['date']}",
            f"- CPU: {info['cpu']}; cores: {info['logical_cores']} logical, "
            f"{info['physical_cores']} physical; default n_threads "
            f"{info['default_n_threads']}; iwkmeans OpenMP: "
            f"{'yes' if info['openmp_enabled'] else 'no (serial)'}",
            f"- Python {info['python']}; {versions}",
            f"- thread pools: {pools}",
            f"- environment: {env}",
            f"- load average (1, 5, 15 min): before {load_before}, after {load_after}",
            f"- method: one process; median (min-max) of {args.repeats} calls in ms; warm = "
            f"one untimed call then calls back to back; cold = each call after {args.idle:g} s "
            "idle; busy = as warm while a spawned process spins Python on one core (started "
            f"{args.busy_warmup:g} s before); other CPUs = other processes' average CPU use "
            "during the row's warm and cold calls",
        ]
    )


def _ms(s):
    from iwkmeans.benchmark.report import _sig

    return _sig(s["median_s"] * 1e3) + f" ({_sig(s['min_s'] * 1e3)}-{_sig(s['max_s'] * 1e3)})"


def _ratio(a, b):
    from iwkmeans.benchmark.report import _sig

    return "—" if a is None or b is None else _sig(a / b) + "x"


def table(results):
    from iwkmeans.benchmark.report import _sig

    head = [
        "call",
        "shape",
        "dtype",
        "implementation",
        "warm ms",
        "cold ms",
        "busy ms",
        "cold / warm",
        "busy / warm",
        "cold, busy / warm n_threads=1",
        "speed-up vs scikit-learn (warm / cold / busy)",
        "other CPUs",
        "spinner CPU",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 4 + "---:|" * (len(head) - 4)]
    for res in results:
        med = {
            name: {c: s["median_s"] for c, s in conds.items()}
            for name, conds in res["times"].items()
        }
        one = med.get(ONE, {}).get("warm")
        for name, conds in res["times"].items():
            m = med[name]
            peer = med.get(SKLEARN)
            speedup = (
                " / ".join(_ratio(peer[c], m[c]) for c in CONDITIONS)
                if peer and name != SKLEARN
                else "—"
            )
            to_one = (
                f"{_ratio(m['cold'], one)} / {_ratio(m['busy'], one)}"
                if one and name != SKLEARN
                else "—"
            )
            other, share = res["load"]["other_cpus_warm_cold"], res["load"]["spinner_cpu_share"]
            cells = [
                res["call"],
                res["shape"],
                res["dtype"],
                name,
                *(_ms(conds[c]) for c in CONDITIONS),
                _ratio(m["cold"], m["warm"]),
                _ratio(m["busy"], m["warm"]),
                to_one,
                speedup,
                "—" if other is None else _sig(other, 2),
                "—" if share is None else _sig(share, 2),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def thread_table(case):
    from iwkmeans.benchmark.report import _sig

    n, d, k, max_iter = case["shape"]
    lines = [
        f"Fit from a worker thread while the main thread runs Python (scaled down from "
        f"test_gil_released_during_fit): IncrementalKMeans({k}, init=X[:{k}], "
        f"max_iter={max_iter}, tol=0, n_threads=1) on {n} x {d} float64, after fits in the "
        f"main thread (one multi-threaded); a child process per column, killed after "
        f"{case['timeout']:g} s; median (min-max) of {case['repeats']} in ms, and the CPU "
        "seconds of the process's other threads (BLAS, OpenMP workers) during the fit (median).",
        "",
        "| variant | OpenBLAS as configured | OPENBLAS_NUM_THREADS=1 |",
        "|---|---:|---:|",
    ]
    for variant in THREAD_VARIANTS:
        cells = []
        for column in ("default", "openblas_1"):
            runs = [m for m in case[column]["runs"] if m["variant"] == variant]
            if not runs:
                cells.append("— (" + (case[column]["note"] or "not run") + ")")
                continue
            s = summary([m["seconds"] for m in runs])
            others = statistics.median(m["other_threads_cpu"] for m in runs)
            cells.append(f"{_ms(s)}; other threads {_sig(others, 2)} CPU s")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    notes = [
        f"{c}: {case[c]['note']}"
        for c in ("default", "openblas_1")
        if case[c]["note"] and case[c]["runs"]
    ]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--idle", type=float, default=1.0, help="seconds idle before a cold call")
    parser.add_argument("--busy-warmup", type=float, default=0.2)
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--thread-repeats", type=int, default=3)
    parser.add_argument("--thread-timeout", type=float, default=60.0)
    parser.add_argument(
        "--thread-shape",
        default="10000,32,64,20",
        help="n,d,k,max_iter of the worker-thread case (the test's: 200000,32,64,40)",
    )
    parser.add_argument(
        "--thread-case",
        choices=("both", "default", "none"),
        default="both",
        help="run the worker-thread case with OpenBLAS as configured and with "
        "OPENBLAS_NUM_THREADS=1 (both), as configured only (default), or not at all",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat, 0.01 s idle")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.idle, args.busy_warmup = 1, 0.01, 0.05
        args.thread_repeats, args.thread_shape = 1, "2000,8,8,5"

    def log(text):
        print(text, file=sys.stderr, flush=True)

    load_before = tuple(round(x, 2) for x in os.getloadavg())
    info = machine()
    results = []
    for build in ROWS:
        for dtype in args.dtypes.split(","):
            r = build(args.quick, dtype)
            log(f"{r.call}, {r.shape}, {dtype}")
            times, load = measure(r, args.repeats, args.idle, args.busy_warmup)
            results.append(
                {
                    "call": r.call,
                    "shape": r.shape,
                    "dtype": dtype,
                    "times": {
                        name: {c: summary(s) for c, s in conds.items()}
                        for name, conds in times.items()
                    },
                    "load": load,
                }
            )
    case = None
    if args.thread_case != "none":
        shape = tuple(int(v) for v in args.thread_shape.split(","))
        case = {"shape": shape, "repeats": args.thread_repeats, "timeout": args.thread_timeout}
        case["openblas_1"] = {"runs": [], "note": "not run (--thread-case default)"}
        columns = (("default", False), ("openblas_1", True))
        for column, one in columns[: 2 if args.thread_case == "both" else 1]:
            log(f"fit in a worker thread, {shape}, OPENBLAS_NUM_THREADS=1: {one}")
            runs, note = thread_case(shape, args.thread_repeats, args.thread_timeout, one)
            case[column] = {"runs": runs, "note": note}
    load_after = tuple(round(x, 2) for x in os.getloadavg())

    print("## Latency: warm, cold and busy calls (issue 16)\n")
    print(header(info, args, load_before, load_after) + "\n")
    print(table(results))
    if case is not None:
        print("\n" + thread_table(case))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "machine": info,
                    "args": vars(args),
                    "load_before": load_before,
                    "load_after": load_after,
                    "rows": results,
                    "thread_case": case,
                },
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
