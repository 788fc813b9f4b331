"""Kernels in a child forked after a multi-threaded fit.

GNU OpenMP's thread pool does not survive fork(): without the at-fork handler
of iwkmeans._core._threads a multi-threaded kernel call in the child waits forever.
Each case runs in its own Python (in its own process group, killed whole on
timeout), so a regression fails here instead of hanging the test run.
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

TIMEOUT = 60
# The parent must run its kernels on 2 threads (that is what leaves the stale
# OpenMP pool behind) whatever the machine: fix the OpenMP budget.
ENV = {**os.environ, "OMP_NUM_THREADS": "2"}

PRELUDE = """
import os, sys, time
import numpy as np
import scipy.sparse as sp
from iwkmeans import IncrementalKMeans, kmeans_plusplus
from iwkmeans._core._threads import effective_n_threads

# Large enough that the Lloyd and k-means++ kernels use 2 threads (the
# kernels give a small call 1 thread).
X = np.random.RandomState(0).rand(8192, 20)
X_csr = sp.random(8192, 50, density=0.2, format="csr", random_state=0)


def fits(n_threads):
    out = []
    for data in (X, X_csr):
        km = IncrementalKMeans(8, max_iter=30, random_state=0,
                               n_threads=n_threads).fit(data)
        out += [km.labels_, km.cluster_centers_]
        out.append(km.predict(data))
    out.append(kmeans_plusplus(X, 8, random_state=0, n_threads=n_threads)[1])
    return out


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def wait(pid, seconds):
    # Exit code of the child, or kill it and fail if it hangs.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    sys.exit("forked child hung")
"""


def run(code):
    """Run PRELUDE + code in a new Python; fail on a non-zero exit or when it
    takes longer than TIMEOUT (then kill it and every process it forked)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"timed out after {TIMEOUT} s (a forked child hangs)")
    assert proc.returncode == 0, out + err
    return out


@pytest.mark.parametrize("n_threads", [2, None])
def test_fit_in_forked_child(n_threads):
    run(f"""
        n_threads = {n_threads}
        assert effective_n_threads(n_threads) == 2
        parent = fits(n_threads)
        A = np.random.RandomState(1).rand(300, 300)
        product = A @ A

        pid = os.fork()
        if pid == 0:
            try:
                assert same(fits(n_threads), parent)
                # Whatever was asked for, one thread: same results, no hang.
                assert effective_n_threads(2) == effective_n_threads(None) == 1
                # BLAS in the child: numpy's matmul and threadpoolctl limits.
                from threadpoolctl import threadpool_info, threadpool_limits
                assert np.allclose(A @ A, product)
                with threadpool_limits(1, user_api="blas"):
                    assert np.allclose(A @ A, product)
                assert threadpool_info()
                # A child of the child.
                grandchild = os.fork()
                if grandchild == 0:
                    os._exit(0 if same(fits(n_threads), parent) else 3)
                code = wait(grandchild, 25)
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 4
            sys.stderr.flush()
            os._exit(code)
        code = wait(pid, 40)
        assert code == 0, f"child exited with {{code}}"
        # The parent keeps its threads.
        assert effective_n_threads(None) == 2
    """)


def test_fork_before_any_threaded_call_keeps_the_threads():
    # No kernel of this process ran on several threads, so it holds no OpenMP
    # pool and a child may use all its threads.
    run("""
        pid = os.fork()
        if pid == 0:
            ok = effective_n_threads(None) == 2 and same(fits(None), fits(1))
            os._exit(0 if ok else 3)
        assert wait(pid, 40) == 0
    """)


def test_fork_pool():
    run("""
        import multiprocessing

        parent = fits(None)
        pool = multiprocessing.get_context("fork").Pool(2)
        try:
            results = pool.map_async(fits, [2, None]).get(timeout=40)
        except multiprocessing.TimeoutError:
            pool.terminate()
            sys.exit("fork pool hung")
        pool.close()
        pool.join()
        assert all(same(result, parent) for result in results)
    """)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_new_process_keeps_the_thread_budget(method):
    # A fit in the parent first; the children are new programs (a forkserver
    # child is forked from a server that imported iwkmeans but ran no kernel)
    # and keep the full budget.
    run(f"""
        import multiprocessing

        fits(None)
        context = multiprocessing.get_context("{method}")
        if "{method}" == "forkserver":
            context.set_forkserver_preload(["iwkmeans"])
        with context.Pool(1) as pool:
            child = pool.map_async(effective_n_threads, [None, 2]).get(timeout=40)
        assert child == [effective_n_threads(None), 2] == [2, 2], child
    """)
