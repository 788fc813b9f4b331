"""Instructions per call of the benchmark's iwkmeans tasks, before and after.

Usage (from the repository root; needs valgrind):

    git worktree add /tmp/before <commit>
    (cd /tmp/before && python setup.py build_ext --inplace)
    python bench/instruction_count.py /tmp/before/src src [--only fit,minibatch]

Wall-clock timings of calls of a few milliseconds swing by 10-50% on a
shared machine, more than the few percent a change costs. The number of
instructions a call executes does not: this script counts them with
valgrind's callgrind, on one thread, for each source tree (its compiled
core built in place), as the difference between a process that runs the
task ``reps + 1`` times and one that runs it once, divided by ``reps`` (so
that start-up, imports and data building cancel out). Counts are exact and
repeatable to a few hundred instructions; they weigh an instruction of a
vector loop like one of a Python call, so they measure work, not time.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

WORKER = """
import json, sys
import numpy as np
from iwkmeans.benchmark import cases
from iwkmeans.benchmark.peers import _iwkmeans_tasks

task, builder, args, reps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
args[-1] = getattr(np, args[-1])  # the dtype, by name
data = getattr(cases, builder)(*args)
run = _iwkmeans_tasks()[task]
for _ in range(reps):
    run(*data, 1)
"""

# name -> (task, case builder, its arguments, repetitions)
CASES = {
    "fit|500x64x50|float32": ("fit", "_fit_case", [500, 64, 50, "float32"], 10),
    "fit|500x64x50|float64": ("fit", "_fit_case", [500, 64, 50, "float64"], 10),
    "fit|5000x64x100|float32": ("fit", "_fit_case", [5000, 64, 100, "float32"], 3),
    "fit|5000x64x100|float64": ("fit", "_fit_case", [5000, 64, 100, "float64"], 3),
    "minibatch|20000x32x100|float32": (
        "minibatch",
        "_lloyd_case",
        [20000, 32, 100, 1, "float32"],
        3,
    ),
    "minibatch|20000x32x100|float64": (
        "minibatch",
        "_lloyd_case",
        [20000, 32, 100, 1, "float64"],
        3,
    ),
    # The benchmark's own mini-batch rows (3 passes), and a Lloyd row.
    "minibatch3|200000x32x100|float32": (
        "minibatch",
        "_lloyd_case",
        [200000, 32, 100, 3, "float32"],
        1,
    ),
    "minibatch3|200000x32x100|float64": (
        "minibatch",
        "_lloyd_case",
        [200000, 32, 100, 3, "float64"],
        1,
    ),
    "lloyd|100000x16x8|float32": ("lloyd", "_lloyd_case", [100000, 16, 8, 10, "float32"], 1),
}


def count(source, case, reps, script):
    """Instructions of one process that runs the case ``reps`` times."""
    task, builder, args, _ = CASES[case]
    env = dict(
        os.environ,
        PYTHONPATH=os.path.abspath(source),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        PYTHONHASHSEED="0",
    )
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                script,
                task,
                builder,
                json.dumps(args),
                str(reps),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def per_call(source, case, script):
    reps = CASES[case][3]
    return (count(source, case, reps + 1, script) - count(source, case, 1, script)) / reps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="source tree (its src/) before the change")
    parser.add_argument("after", help="source tree (its src/) after the change")
    parser.add_argument("--only", default="", help="comma-separated prefixes of case names to run")
    parser.add_argument(
        "--jobs", type=int, default=1, help="valgrind processes at once (counts do not change)"
    )
    options = parser.parse_args()
    prefixes = [p for p in options.only.split(",") if p]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(WORKER)
    try:
        print(
            "| task | shape | dtype | before (M instructions per call) | after | after / before |"
        )
        print("|---|---|---|---:|---:|---:|")
        cases = [c for c in CASES if not prefixes or any(c.startswith(p) for p in prefixes)]
        # Each count is a process of its own: they run side by side, and the
        # rows print in order as they complete.
        with ThreadPoolExecutor(options.jobs) as pool:
            counts = {
                (case, tree): pool.submit(per_call, tree, case, f.name)
                for case in cases
                for tree in (options.before, options.after)
            }
            for case in cases:
                before = counts[case, options.before].result()
                after = counts[case, options.after].result()
                task, shape, dtype = case.split("|")
                print(
                    f"| {task} | {shape.replace('x', ' x ')} | {dtype} | {before / 1e6:.2f} "
                    f"| {after / 1e6:.2f} | {after / before:.3f} |",
                    flush=True,
                )
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    main()
