"""What computing in a frame costs: the benchmark's iwkmeans rows, before and after.

Usage (from the repository root):

    git worktree add /tmp/before <commit before the frame>
    (cd /tmp/before && python setup.py build_ext --inplace)
    python bench/frame_cost.py /tmp/before/src src [--repeats 7] [--quick]

Each of the two source trees (their compiled core built in place) runs in a
worker process of its own, which imports that tree's iwkmeans, builds the
benchmark's data with the benchmark's own case builders (same seeds) and
times the benchmark's own iwkmeans tasks. The driver asks the two workers in
turn, case after case and repeat after repeat (interleaved, so a busy spell
of the machine hits both), and prints a Markdown table of medians and minima
and their after/before ratios (the minimum is the least disturbed call: on
a shared machine it is the steadier of the two). Each timed call follows a
0.2 s pause and an untimed call, as in the main benchmark.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap

WORKER = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from threadpoolctl import threadpool_limits
    from iwkmeans.benchmark import cases
    from iwkmeans.benchmark.peers import _iwkmeans_tasks

    tasks = _iwkmeans_tasks()
    built = {}

    def arguments(case):
        if case not in built:
            builder, args = CASES[case]
            built[case] = getattr(cases, builder)(*args)
        return built[case]

    CASES = json.loads(sys.argv[1])
    for key, value in CASES.items():
        value[1][-1] = getattr(np, value[1][-1])  # the dtype, by name
    threads = int(sys.argv[2])
    with threadpool_limits(threads):
        for line in sys.stdin:
            case = line.strip()
            task = tasks[case.split("|")[0]]
            args = arguments(case)
            task(*args, threads)
            time.sleep(0.2)
            start = time.perf_counter()
            task(*args, threads)
            print(time.perf_counter() - start, flush=True)
""")


def cases(quick):
    """{name: (builder in iwkmeans.benchmark.cases, its arguments)}: the rows
    of bench/RESULTS.md that time iwkmeans alone (no peer needed)."""
    from iwkmeans.benchmark import cases as c

    out = {}
    for dtype in ("float32", "float64"):
        for n, d, k, max_iter in c.LLOYD_SHAPES:
            if quick and n > c.QUICK_MAX_SAMPLES:
                continue
            out[f"lloyd|{n}x{d}x{k}|{dtype}"] = ("_lloyd_case", [n, d, k, max_iter, dtype])
        n, d, n_fixed, k, max_iter = c.FIXED_SHAPE
        out[f"lloyd_fixed|{n}x{d}x{k}+{n_fixed}|{dtype}"] = (
            "_lloyd_fixed_case",
            [n, d, n_fixed, k, max_iter, dtype],
        )
        n, d, k, density, max_iter = c.SPARSE_SHAPE
        if quick:
            n = c.QUICK_SPARSE_SAMPLES
        out[f"lloyd_sparse|{n}x{d}x{k}|{dtype}"] = (
            "_sparse_case",
            [n, d, k, density, max_iter, dtype],
        )
        for n, d, k in c.FIT_SHAPES:
            out[f"fit|{n}x{d}x{k}|{dtype}"] = ("_fit_case", [n, d, k, dtype])
        n, d, k = c.SEEDING_SHAPE
        if quick:
            n = c.QUICK_SEEDING_SAMPLES
        out[f"kmeans_plusplus|{n}x{d}x{k}|{dtype}"] = ("_fit_case", [n, d, k, dtype])
        n, d, k, passes = c.MINIBATCH_SHAPE
        if quick:
            n = c.QUICK_MINIBATCH_SAMPLES
        out[f"minibatch|{n}x{d}x{k}|{dtype}"] = ("_lloyd_case", [n, d, k, passes, dtype])
    return out


def worker(source, table, threads):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(source))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(table), str(threads)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def ask(process, case):
    process.stdin.write(case + "\n")
    process.stdin.flush()
    return float(process.stdout.readline())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="source tree (its src/) before the change")
    parser.add_argument("after", help="source tree (its src/) after the change")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only", default="", help="time only the cases whose name contains this text"
    )
    args = parser.parse_args()
    table = {name: case for name, case in cases(args.quick).items() if args.only in name}
    workers = {
        name: worker(path, table, args.threads)
        for name, path in (("before", args.before), ("after", args.after))
    }
    times = {case: {"before": [], "after": []} for case in table}
    for case in table:
        for _ in range(args.repeats):
            for name, process in workers.items():
                times[case][name].append(ask(process, case))
        print(
            case,
            {k: round(statistics.median(v) * 1e3, 3) for k, v in times[case].items()},
            file=sys.stderr,
            flush=True,
        )
    for process in workers.values():
        process.stdin.close()
        process.wait()
    cpu = platform.processor() or "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    print(
        f"CPU: {cpu}; threads {args.threads}; median of {args.repeats}; "
        f"OPENBLAS_CORETYPE: {os.environ.get('OPENBLAS_CORETYPE', 'unset')}\n"
    )
    print(
        "| task | shape | dtype | before ms (median / min) | after ms (median / min) "
        "| after / before (medians) | after / before (minima) |"
    )
    print("|---|---|---|---:|---:|---:|---:|")
    for case, pair in times.items():
        task, shape, dtype = case.split("|")
        before = [statistics.median(pair["before"]) * 1e3, min(pair["before"]) * 1e3]
        after = [statistics.median(pair["after"]) * 1e3, min(pair["after"]) * 1e3]
        print(
            f"| {task} | {shape} | {dtype} | {before[0]:.3g} / {before[1]:.3g} | "
            f"{after[0]:.3g} / {after[1]:.3g} | {after[0] / before[0]:.3f} | "
            f"{after[1] / before[1]:.3f} |"
        )


if __name__ == "__main__":
    main()
