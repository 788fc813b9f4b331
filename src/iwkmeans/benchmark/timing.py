"""Timing: interleaved calls, the numpy matmul reference, and other processes' load."""

import math
import os
import statistics
import time

import numpy as np

from .cases import SEED

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
