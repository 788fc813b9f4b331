"""Where a second thread pays off (issue 16, point 1): 1 vs 2 threads, warm / cold / busy.

Usage (from the repository root):

    python bench/threads.py [--repeats 5] [--cold-repeats 3] [--idle 1.0] [--quick] [--json PATH]

For a grid of Lloyd shapes (n x d, k centers), times one fit
``IncrementalKMeans(k, init=X[:k], max_iter=m, tol=0, n_threads=t)`` (fixed
initial centers and iterations, so that the work is known) with t = 1, t = 2
and the machine's default thread count when it is neither, in float32 and
float64; and a smaller grid of ``kmeans_plusplus(X, k, random_state=0,
n_threads=t)`` calls. Data are standard normal (a fixed seed per shape), on
which Lloyd needs many iterations; a fit that converges before ``m`` ran
fewer, and the table says how many (``n_iter_``, the same for every t).

The three conditions are bench/latency.py's, with its machinery (imported,
not copied): warm = one untimed call, then ``--repeats`` calls back to back;
cold = each call after ``--idle`` s of sleep, the thread counts in turn
(``--cold-repeats`` calls each: the sleeps are most of the run time); busy =
as warm, while a spawned process spins Python on one core. Each case runs
warm, cold, busy in that order, t = 1 first.

Work, in multiply-adds: a Lloyd iteration's distance pass is n*d*k ("work per
iteration", what ``useful_threads`` in src/iwkmeans/_kmeans/_common.pyx is
given: n samples of d*k each); a fit of ``n_iter_`` iterations that stopped
at ``max_iter`` makes one more pass for the final labels, so "fit work" is
n*d*k*(n_iter_ + 1) (n*d*k*n_iter_ if it converged earlier; norms, inertia
and center updates not counted). A k-means++ pick scores n samples against
``2 + int(ln k)`` candidates: "work per pick" n*d*(2 + int(ln k)), "call
work" k times that. "Threads today" is what ``useful_threads`` grants
``n_threads=2`` for that work by its size (1 below 2 * MIN_WORK_PER_THREAD =
2**20 multiply-adds or 8 chunks of 256 rows); rows where it grants 1 are
controls (both columns run one thread) and are left out of the summary.
Busy calls of t = 2 run on one thread wherever the policy sees the spinning
process (see machine_load.h).

Times are wall-clock medians: per Lloyd iteration (the fit's time over
``n_iter_``, fixed costs included) and per seeding call. Ratios are of
medians, t = 2 over t = 1 in the same condition. The summary brackets, per
family, dtype, condition and criterion, where 2 threads start to pass: the
largest work at which they fail and the smallest from which on they pass at
every larger grid point. Criteria: "faster" (t2 / t1 < 1) and "at most 1.1x"
(t2 / t1 <= 1.1), both for every condition; the issue's question is "faster"
warm and "at most 1.1x" cold and busy. "Other CPUs" is the average number of
CPUs other processes used during the case's warm and cold calls (and, in the
busy column, during the busy calls, the spinner included), from /proc/stat.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

# bench/latency.py: the conditions and the machine record
from latency import CONDITIONS, Spinner, _back_to_back, _timed, header, machine, summary

# (n, d, k, max_iter), work per iteration n*d*k from 1.3e5 to 2.6e9.
LLOYD_GRID = (
    (500, 32, 8, 5),  # 1.3e5: one thread today
    (2000, 32, 8, 5),  # 5.1e5: one thread today
    (500, 64, 50, 5),  # 1.6e6: issue 16's active-learning fit
    (10000, 32, 8, 5),  # 2.6e6
    (2000, 64, 50, 5),  # 6.4e6
    (2000, 64, 100, 5),  # 1.3e7
    (5000, 64, 100, 5),  # 3.2e7: issue 16's second active-learning fit
    (200000, 32, 8, 5),  # 5.1e7
    (20000, 64, 100, 5),  # 1.3e8
    (100000, 64, 100, 3),  # 6.4e8: issue 16's mid shape
    (20000, 128, 1000, 2),  # 2.6e9: issue 16's large shape
)
SEEDING_GRID = (  # (n, d, k)
    (500, 64, 50),
    (2000, 64, 50),
    (5000, 64, 100),
    (20000, 64, 100),
)
QUICK_LLOYD_GRID = ((300, 8, 5, 3), (2000, 16, 20, 3))
QUICK_SEEDING_GRID = ((2000, 16, 20),)
CRITERIA = (("faster", 1.0, False), ("at most 1.1x", 1.1, True))  # (name, limit, inclusive)
WATCHED = ("valgrind", "callgrind", "pytest")


@dataclass
class Case:
    family: str  # "lloyd" or "kmeans_plusplus"
    n: int
    d: int
    k: int
    dtype: str
    max_iter: int = 0  # Lloyd only
    calls: dict = field(default_factory=dict)  # {n_threads: zero-argument call}
    n_iter: int = 0
    work_unit: int = 0  # per Lloyd iteration / per k-means++ pick
    work_total: int = 0  # per fit / per seeding call
    unit_per_row: int = 0


def useful_threads(n_threads, n_samples, work_per_row):
    """What the kernels' thread policy grants for this work by its size
    alone (_common.threads_for with the machine's load left out)."""
    from iwkmeans._core._kernels import _common

    aware = _common.load_aware()
    _common.load_aware(False)
    try:
        return _common.threads_for(n_threads, n_samples, work_per_row)
    finally:
        _common.load_aware(aware)


def _data(n, d, dtype):
    import numpy as np

    return np.random.default_rng([n, d]).standard_normal((n, d)).astype(dtype)


def lloyd_case(n, d, k, max_iter, dtype, thread_counts):
    import numpy as np

    from iwkmeans import IncrementalKMeans

    X = _data(n, d, dtype)

    def fit(t):
        return IncrementalKMeans(k, init=X[:k], max_iter=max_iter, tol=0, n_threads=t).fit(X)

    fits = {t: fit(t) for t in thread_counts}
    first = fits[thread_counts[0]]
    for t, est in fits.items():  # thread counts change no bit (issue 16)
        if est.n_iter_ != first.n_iter_ or not np.array_equal(
            est.cluster_centers_, first.cluster_centers_
        ):
            raise AssertionError(f"{n} x {d} x {k} {dtype}: n_threads={t} changed the fit")
    passes = first.n_iter_ + (1 if first.n_iter_ == max_iter else 0)
    return Case(
        "lloyd",
        n,
        d,
        k,
        dtype,
        max_iter,
        {t: (lambda t=t: fit(t)) for t in thread_counts},
        n_iter=first.n_iter_,
        work_unit=n * d * k,
        work_total=n * d * k * passes,
        unit_per_row=d * k,
    )


def seeding_case(n, d, k, dtype, thread_counts):
    from iwkmeans import kmeans_plusplus

    X = _data(n, d, dtype)
    trials = 2 + int(math.log(k))

    def seed(t):
        return kmeans_plusplus(X, k, random_state=0, n_threads=t)

    return Case(
        "kmeans_plusplus",
        n,
        d,
        k,
        dtype,
        calls={t: (lambda t=t: seed(t)) for t in thread_counts},
        work_unit=n * d * trials,
        work_total=n * d * trials * k,
        unit_per_row=d * trials,
    )


def measure(case, repeats, cold_repeats, idle, busy_warmup):
    """latency.measure's three conditions with their own cold repeat count:
    {n_threads: {condition: [seconds]}} and the case's load figures."""
    from iwkmeans.benchmark.timing import _OtherLoad

    times = {t: {} for t in case.calls}
    with _OtherLoad() as load:
        for t, call in case.calls.items():
            times[t]["warm"] = _back_to_back(call, repeats)
        for t in case.calls:
            times[t]["cold"] = []
        for _ in range(cold_repeats):
            for t, call in case.calls.items():
                time.sleep(idle)
                times[t]["cold"].append(_timed(call))
    with _OtherLoad() as busy_load, Spinner(busy_warmup) as spinner:
        for t, call in case.calls.items():
            times[t]["busy"] = _back_to_back(call, repeats)
    return times, {
        "other_cpus_warm_cold": load.cpus,
        "other_cpus_busy": busy_load.cpus,
        "spinner_cpu_share": spinner.share,
    }


def watched_processes():
    """Names of running processes that would disturb the timings (pgrep -f)."""
    found = []
    for name in WATCHED:
        out = subprocess.run(["pgrep", "-f", name], capture_output=True, text=True).stdout.split()
        pids = [p for p in out if int(p) != os.getpid()]
        if pids:
            found.append(f"{name} ({len(pids)})")
    return found


# --------------------------------------------------------------- the report


def _sig(x, digits=3):
    from iwkmeans.benchmark.report import _sig as sig

    return "—" if x is None else sig(x, digits)


def _e(x):
    return f"{x:.2g}" if x < 1e3 else f"{x:.1e}".replace("e+0", "e").replace("e+", "e")


def ratio(res, cond, t=2):
    return res["times"][str(t)][cond]["median_s"] / res["times"]["1"][cond]["median_s"]


def table(results, family, thread_counts):
    lloyd = family == "lloyd"
    per = "ms / iteration" if lloyd else "ms / call"
    others = [t for t in thread_counts if t != 1]
    head = ["shape n x d, k", "dtype"]
    if lloyd:
        head += ["iterations (max)", "work / iteration", "fit work"]
    else:
        head += ["work / pick", "call work"]
    head += ["threads today (n_threads=2)"]
    for c in CONDITIONS:
        head += [f"{c} t={t} {per}" for t in thread_counts]
        head += [f"{c} t={t} / t=1" for t in others]
    head += ["other CPUs (warm, cold; busy incl. spinner)", "spinner CPU"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for res in (r for r in results if r["family"] == family):
        div = res["n_iter"] if lloyd else 1
        cells = [f"{res['n']} x {res['d']}, {res['k']}", res["dtype"]]
        if lloyd:
            cells.append(f"{res['n_iter']} ({res['max_iter']})")
        cells += [_e(res["work_unit"]), _e(res["work_total"]), str(res["threads_today"])]
        for c in CONDITIONS:
            cells += [_sig(res["times"][str(t)][c]["median_s"] * 1e3 / div) for t in thread_counts]
            cells += [_sig(ratio(res, c, t)) for t in others]
        load = res["load"]
        cells += [
            f"{_sig(load['other_cpus_warm_cold'], 2)}; {_sig(load['other_cpus_busy'], 2)}",
            _sig(load["spinner_cpu_share"], 2),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def brackets(results):
    """Per family, dtype, condition and criterion: (largest failing row,
    smallest row from which every larger one passes), ordered by the work
    per unit and by the total work; rows where today's policy runs one
    thread left out."""
    out = []
    for family in ("lloyd", "kmeans_plusplus"):
        for dtype in sorted({r["dtype"] for r in results}):
            rows = [
                r
                for r in results
                if r["family"] == family and r["dtype"] == dtype and r["threads_today"] > 1
            ]
            if not rows:
                continue
            for cond in CONDITIONS:
                for name, limit, inclusive in CRITERIA:
                    entry = {"family": family, "dtype": dtype, "condition": cond}
                    entry["criterion"] = name
                    for key in ("work_unit", "work_total"):
                        ordered = sorted(rows, key=lambda r: r[key])
                        passes = [
                            ratio(r, cond) <= limit if inclusive else ratio(r, cond) < limit
                            for r in ordered
                        ]
                        bad = [i for i, ok in enumerate(passes) if not ok]
                        last_bad = ordered[bad[-1]] if bad else None
                        start = bad[-1] + 1 if bad else 0
                        first_good = ordered[start] if start < len(ordered) else None
                        entry[key] = {
                            "largest_failing": last_bad and _label(last_bad, key),
                            "all_pass_from": first_good and _label(first_good, key),
                            "n_rows": len(ordered),
                            "n_failing": len(bad),
                        }
                    out.append(entry)
    return out


def _label(r, key):
    return {
        "shape": f"{r['n']} x {r['d']}, {r['k']}",
        "work": r[key],
        "ratio": {c: ratio(r, c) for c in CONDITIONS},
    }


def summary_table(entries):
    lines = [
        "| family | dtype | condition | criterion (t2 / t1) | largest work per iteration (pick) "
        "that fails | from this work per iteration (pick) on, all pass | the same by fit "
        "(call) work: fails at | passes from |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(x, cond):
        if x is None:
            return "none"
        return f"{_e(x['work'])} ({x['shape']}; {_sig(x['ratio'][cond])})"

    for e in entries:
        c = e["condition"]
        u, t = e["work_unit"], e["work_total"]
        lines.append(
            f"| {e['family']} | {e['dtype']} | {c} | {e['criterion']} | "
            f"{cell(u['largest_failing'], c)} | {cell(u['all_pass_from'], c)} | "
            f"{cell(t['largest_failing'], c)} | {cell(t['all_pass_from'], c)} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm and busy calls per case")
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--idle", type=float, default=1.0, help="seconds idle before a cold call")
    parser.add_argument("--busy-warmup", type=float, default=0.2)
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--no-seeding", action="store_true", help="skip the kmeans_plusplus rows")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat, 0.01 s idle")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements as JSON")
    args = parser.parse_args(argv)
    lloyd_grid, seeding_grid = LLOYD_GRID, SEEDING_GRID
    if args.quick:
        args.repeats, args.cold_repeats, args.idle, args.busy_warmup = 1, 1, 0.01, 0.05
        lloyd_grid, seeding_grid = QUICK_LLOYD_GRID, QUICK_SEEDING_GRID
    if args.no_seeding:
        seeding_grid = ()

    from iwkmeans._core import effective_n_threads
    from iwkmeans.benchmark.timing import _OtherLoad

    def log(text):
        print(text, file=sys.stderr, flush=True)

    default = effective_n_threads(None)
    thread_counts = sorted({1, 2, default})
    start = time.perf_counter()
    load_before = tuple(round(x, 2) for x in os.getloadavg())
    watched_before = watched_processes()
    info = machine()
    results = []
    builders = [
        (lambda n=n, d=d, k=k, m=m, dt=dt: lloyd_case(n, d, k, m, dt, thread_counts))
        for n, d, k, m in lloyd_grid
        for dt in args.dtypes.split(",")
    ] + [
        (lambda n=n, d=d, k=k, dt=dt: seeding_case(n, d, k, dt, thread_counts))
        for n, d, k in seeding_grid
        for dt in args.dtypes.split(",")
    ]
    with _OtherLoad() as whole:
        for build in builders:
            case = build()
            log(f"{case.family} {case.n} x {case.d}, k={case.k}, {case.dtype}")
            times, load = measure(
                case, args.repeats, args.cold_repeats, args.idle, args.busy_warmup
            )
            results.append(
                {
                    "family": case.family,
                    "n": case.n,
                    "d": case.d,
                    "k": case.k,
                    "dtype": case.dtype,
                    "max_iter": case.max_iter,
                    "n_iter": case.n_iter,
                    "work_unit": case.work_unit,
                    "work_total": case.work_total,
                    "threads_today": useful_threads(2, case.n, case.unit_per_row),
                    "times": {
                        str(t): {c: summary(s) for c, s in conds.items()}
                        for t, conds in times.items()
                    },
                    "load": load,
                }
            )
    load_after = tuple(round(x, 2) for x in os.getloadavg())
    watched_after = watched_processes()
    elapsed = time.perf_counter() - start
    entries = brackets(results)

    print("## Threads: where a second thread pays off (issue 16, point 1)\n")
    text = header(info, args, load_before, load_after).rsplit("\n- method:", 1)[0]
    print(text)
    print(
        f"- run: {elapsed:.0f} s; other processes used {_sig(whole.cpus, 2)} CPUs on average "
        "over the run (the busy spinner included); processes named "
        f"{', '.join(WATCHED)} at start: {', '.join(watched_before) or 'none'}; "
        f"at end: {', '.join(watched_after) or 'none'}"
    )
    print(
        f"- method: one process; median of {args.repeats} warm / {args.cold_repeats} cold / "
        f"{args.repeats} busy calls; warm = one untimed call then calls back to back; cold = "
        f"each call after {args.idle:g} s idle; busy = as warm while a spawned process spins "
        f"Python on one core (started {args.busy_warmup:g} s before); thread counts "
        f"{thread_counts} (default n_threads = {default}); Lloyd: IncrementalKMeans(k, "
        "init=X[:k], max_iter=m, tol=0, n_threads=t).fit(X), time per iteration = fit time / "
        "n_iter_; seeding: kmeans_plusplus(X, k, random_state=0, n_threads=t); X standard "
        "normal; work in multiply-adds (see the script's docstring)\n"
    )
    print("### Lloyd fits\n")
    print(table(results, "lloyd", thread_counts))
    if any(r["family"] == "kmeans_plusplus" for r in results):
        print("\n### k-means++ seeding\n")
        print(table(results, "kmeans_plusplus", thread_counts))
    print(
        "\n### Where 2 threads pass (rows where today's policy already runs one thread left "
        "out; cells: work (shape; t2 / t1 there))\n"
    )
    print(summary_table(entries))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "machine": info,
                    "args": vars(args),
                    "thread_counts": thread_counts,
                    "load_before": load_before,
                    "load_after": load_after,
                    "other_cpus_whole_run": whole.cpus,
                    "watched_before": watched_before,
                    "watched_after": watched_after,
                    "elapsed_s": elapsed,
                    "rows": results,
                    "summary": entries,
                },
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
