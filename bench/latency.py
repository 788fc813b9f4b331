"""Speed where users feel it (issue 16): warm, cold and busy calls, side by side.

Usage (from the repository root):

    python bench/latency.py [--repeats 7] [--cold-repeats 3] [--idle 1.0] [--quick] [--json PATH]

The rows and their conditions are ``python -m iwkmeans bench``'s cold-and-busy
table (:func:`iwkmeans.benchmark.run_latency`, :mod:`iwkmeans.benchmark.latency`):
the full k-means++ fits at active-learning sizes, ``kmeans_plusplus`` alone and
``select_wkmeans``, each with iwkmeans on the default ``n_threads`` and on one
thread, and scikit-learn where it has the task, timed warm, cold (after
``--idle`` s of sleep) and busy (beside a process spinning Python on one core).
This script runs that table alone, with its own repeat counts, and adds what
the package command does not record:

* a header with the thread pools (threadpoolctl), the thread-related
  environment variables and the load average before and after;
* all timings, not just medians, in ``--json``;
* a second table timing the case where ``n_threads=1`` was found many times
  slower (the test ``test_gil_released_during_fit``: 200,000 x 32, k=64, 40
  Lloyd iterations): a fit run from a worker thread while the main thread
  runs Python, after a fit in the main thread. It runs scaled down, in a
  child process killed after ``--thread-timeout`` seconds (a stuck thread
  cannot be stopped otherwise), once with OpenBLAS as configured and once
  with ``OPENBLAS_NUM_THREADS=1``.

``--quick`` is the package's quick table (the first selection case, one cold
call per implementation), 3 warm and busy calls unless ``--repeats`` says
otherwise, and a tiny thread case.
bench/threads.py imports its conditions from here (re-exported from the
package) and the machine record.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap

# The conditions, from the package (bench/threads.py imports them from here).
from iwkmeans.benchmark.latency import (
    BUSY_WARMUP_SECONDS,
    CONDITIONS,
    IDLE_SECONDS,
    _back_to_back,
    _timed,
    run_latency,
)
from iwkmeans.benchmark.latency import _Spinner as Spinner
from iwkmeans.benchmark.report import format_latency

__all__ = ["CONDITIONS", "Spinner", "_back_to_back", "_timed", "header", "machine", "summary"]

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
    """The machine record as Markdown lines; the last, "- method:", is the conditions'."""
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
            f"- method: one process; warm = one untimed call then {args.repeats} calls back to "
            f"back; cold = each call after {args.idle:g} s idle; busy = as warm while a "
            "process spins Python on one core (started "
            f"{args.busy_warmup:g} s before)",
        ]
    )


def _ms(s):
    from iwkmeans.benchmark.report import _sig

    return _sig(s["median_s"] * 1e3) + f" ({_sig(s['min_s'] * 1e3)}-{_sig(s['max_s'] * 1e3)})"


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
    parser.add_argument(
        "--repeats", type=int, default=None, help="warm and busy calls per row (default 7; 3 quick)"
    )
    parser.add_argument(
        "--cold-repeats", type=int, default=None, help="cold calls per row (default: --repeats)"
    )
    parser.add_argument(
        "--idle", type=float, default=IDLE_SECONDS, help="seconds idle before a cold call"
    )
    parser.add_argument("--busy-warmup", type=float, default=BUSY_WARMUP_SECONDS)
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--threads", type=int, default=None, help="default: iwkmeans' default")
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
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the package's quick table (first selection case, one cold call), "
        "3 warm and busy calls, a tiny thread case",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.quick:
        args.thread_repeats, args.thread_shape = 1, "2000,8,8,5"
    elif args.cold_repeats is None:
        args.cold_repeats = args.repeats

    def log(text):
        print(text, file=sys.stderr, flush=True)

    load_before = tuple(round(x, 2) for x in os.getloadavg())
    info = machine()
    rows = run_latency(
        quick=args.quick,
        n_threads=args.threads,
        repeats=args.repeats,
        cold_repeats=args.cold_repeats,
        idle=args.idle,
        busy_warmup=args.busy_warmup,
        dtypes=args.dtypes.split(","),
        log=log,
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
    print(format_latency(rows).replace("## Cold and busy calls\n\n", "", 1))
    if case is not None:
        print(thread_table(case))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "machine": info,
                    "args": vars(args),
                    "load_before": load_before,
                    "load_after": load_after,
                    "rows": rows,
                    "thread_case": case,
                },
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
