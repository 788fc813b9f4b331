"""How many threads the kernels use when n_threads is None."""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from iwkmeans import kmeans_plusplus
from iwkmeans._core._kernels import _common
from iwkmeans._core._threads import _blas_controllers, effective_n_threads, single_threaded_blas


def test_explicit_n_threads_wins():
    assert effective_n_threads(3) == 3


def test_threadpoolctl_openmp_limit_is_respected():
    with threadpool_limits(limits=1, user_api="openmp"):
        assert effective_n_threads(None) == 1


def test_omp_num_threads_is_respected():
    code = "from iwkmeans._core._threads import effective_n_threads as f; print(f(None))"
    env = {**os.environ, "OMP_NUM_THREADS": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "3"


def idle_waits_after_import(*environments):
    """For each dict of variables: (what _kernels set, GOMP_SPINCOUNT seen
    after the import) in a fresh process whose environment has them and no
    other wait setting. The processes run at once (each imports iwkmeans)."""
    code = (
        "import os; import iwkmeans; from iwkmeans._core import _kernels; "
        "print(_kernels.wait_setting, os.environ.get('GOMP_SPINCOUNT'))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={**base, **variables},
            stdout=subprocess.PIPE,
            text=True,
        )
        for variables in environments
    ]
    outputs = [process.communicate()[0].strip() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    return outputs


def test_idle_threads_spin_briefly_unless_the_user_chose():
    # libgomp reads the setting when the kernels load it; after that the
    # variable is gone, so child processes do not inherit it. A user's own
    # setting is left alone.
    from iwkmeans._core._kernels import SPIN_COUNT

    users = [
        {"GOMP_SPINCOUNT": "77"},
        {"OMP_WAIT_POLICY": "active"},
        {"OMP_WAIT_POLICY": "passive"},
    ]
    ours, *kept = idle_waits_after_import({}, *users)
    assert ours == f"('GOMP_SPINCOUNT', '{SPIN_COUNT}') None"
    assert kept == ["None 77", "None None", "None None"]


def test_default_is_at_most_the_physical_cores():
    from joblib import cpu_count

    if "OMP_NUM_THREADS" not in os.environ:
        assert 1 <= effective_n_threads(None) <= cpu_count(only_physical_cores=True)


def blas_threads():
    """Threads of each BLAS that single_threaded_blas controls: those loaded
    when iwkmeans first used it, including the one the kernels call (a BLAS
    that a later import brings, such as faiss's, is not among them)."""
    controlled = {c.filepath for c in _blas_controllers()}
    assert controlled
    return [lib["num_threads"] for lib in threadpool_info() if lib["filepath"] in controlled]


@pytest.mark.parametrize("outside", [1, 2])
def test_single_threaded_blas_nests_and_restores(outside):
    with threadpool_limits(limits=outside, user_api="blas"):
        before = blas_threads()
        assert set(before) == {outside}
        with single_threaded_blas():
            assert set(blas_threads()) == {1}
            with single_threaded_blas():
                assert set(blas_threads()) == {1}
            assert set(blas_threads()) == {1}
        assert blas_threads() == before


def in_thread(function):
    """function() run in a new thread; its result, or its exception raised."""
    out = {}

    def run():
        try:
            out["value"] = function()
        except BaseException as error:  # re-raised in the calling thread
            out["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_single_threaded_blas_applies_from_any_thread():
    """threadpoolctl lets one thread at a time set OpenBLAS's process-wide
    thread count and silently ignores the others: after a limit set (and
    lifted) in the main thread, a fit run from a worker thread used to keep
    BLAS on every core inside its OpenMP threads."""
    outside = blas_threads()
    with single_threaded_blas():
        pass

    def limited():
        with single_threaded_blas():
            return blas_threads()

    assert set(in_thread(limited)) == {1}
    assert blas_threads() == outside
    # And the main thread can still set (and lift) the limit afterwards.
    with single_threaded_blas():
        assert set(blas_threads()) == {1}
    assert blas_threads() == outside


def test_single_threaded_blas_holds_while_any_thread_is_inside():
    """Two threads inside at once: the first to leave does not lift the
    limit under the other's kernels; the last to leave restores it."""
    outside = blas_threads()
    first_inside, second_inside, first_left = (threading.Event() for _ in range(3))
    seen = {}

    def first():
        with single_threaded_blas():
            first_inside.set()
            second_inside.wait(10)
        first_left.set()

    def second():
        first_inside.wait(10)
        with single_threaded_blas():
            second_inside.set()
            first_left.wait(10)
            seen["after the first left"] = blas_threads()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(seen["after the first left"]) == {1}
    assert blas_threads() == outside


@pytest.fixture
def size_rule_only():
    """The thread policy by the work alone, whatever else runs meanwhile and
    however long the kernels were idle before."""
    _common.load_aware(False)
    _common.after_idle_rule(False)
    try:
        yield
    finally:
        _common.load_aware(True)
        _common.after_idle_rule(True)


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_thread_policy_is_bounded_by_n_threads_and_the_work(n_threads, size_rule_only):
    """Small work runs on one thread; large work on every thread it is
    given, never more than n_threads nor than there are chunks of rows."""
    per_thread = _common.work_per_thread()
    chunks = _common.chunks_per_thread()
    # A k-means++ pick at active-learning size: 500 rows, 5 candidates.
    assert _common.threads_for(n_threads, 500, 5 * 64) == 1
    # Two chunks of rows, however much work: one thread.
    assert _common.threads_for(n_threads, 300, 10**9) == 1
    # Eight chunks: two threads at most.
    assert _common.threads_for(n_threads, 8 * 256, 10**9) == min(n_threads, 8 // chunks)
    assert _common.threads_for(n_threads, 10**6, 10**4) == n_threads
    for n_samples, work_per_row in [(1, 1), (257, 10**5), (10**4, 3000), (10**5, 64 * 100)]:
        threads = _common.threads_for(n_threads, n_samples, work_per_row)
        assert 1 <= threads <= n_threads
        assert threads <= max(1, n_samples * work_per_row // per_thread)
        assert threads <= max(1, -(-n_samples // 256) // chunks)


def test_small_work_after_an_idle_pause_runs_on_one_thread():
    # Whether a call is cold goes by the clock; the pause is set here so that
    # every call counts as cold (0 s), or none does (an hour), whatever the
    # machine's timing.
    small = (5000, 6 * 64)  # a k-means++ pick at 5000 x 64 x 100: 1e6 per thread
    big = (10**6, 10**4)
    pause = _common.idle_pause()
    _common.load_aware(False)
    try:
        _common.idle_pause(0.0)
        assert _common.threads_for(2, *small) == 1
        assert _common.threads_for(2, *big) == 2
        _common.after_idle_rule(False)
        assert _common.threads_for(2, *small) == 2
        _common.after_idle_rule(True)
        _common.idle_pause(3600.0)
        assert _common.threads_for(2, *small) == 2
    finally:
        _common.idle_pause(pause)
        _common.load_aware(True)
        _common.after_idle_rule(True)


def test_kernel_calls_of_several_threads_work_mark_the_clock():
    # A call that the size rule gives two threads is the activity after
    # which the next call is not cold; one that is small for its size alone
    # is not.
    X = np.random.default_rng(0).normal(size=(5000, 64)).astype(np.float32)
    started = time.monotonic()
    kmeans_plusplus(X, 100, random_state=0, n_threads=2)
    assert _common.seconds_since_team_call() <= time.monotonic() - started
    time.sleep(0.05)
    quiet = _common.seconds_since_team_call()
    kmeans_plusplus(X[:300], 5, random_state=0, n_threads=2)
    assert _common.seconds_since_team_call() >= quiet


def spinners(count):
    """``count`` child processes, each spinning on one CPU until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


@pytest.mark.skipif(_common.free_cpus() is None, reason="the system does not report its load")
@pytest.mark.skipif((os.cpu_count() or 1) > 8, reason="would need a spinning process per CPU")
def test_busy_cpus_are_left_out_of_the_thread_policy():
    # With every CPU held by a spinning process, work worth every thread
    # gets one; the size rule alone (load_aware off) still gives them all.
    # The spinners may be descheduled for a moment: the check retries.
    big = (10**6, 10**4)
    children = spinners(os.cpu_count())
    try:
        deadline = time.monotonic() + 10
        while _common.threads_for(2, *big) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _common.threads_for(2, *big) == 1
        assert _common.free_cpus() <= 1  # the test itself is running
        _common.load_aware(False)
        try:
            assert _common.threads_for(2, *big) == 2
        finally:
            _common.load_aware(True)
    finally:
        for child in children:
            child.kill()
            child.wait()
    # Idle again: the same work gets both threads (unless something else
    # runs; retried likewise).
    deadline = time.monotonic() + 10
    while _common.threads_for(2, *big) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _common.threads_for(2, *big) == 2
