"""Thread budget of the compiled core and the BLAS limit around it.

The kernels run OpenMP threads over chunks of rows and call BLAS inside each
thread, so BLAS must stay single-threaded while they run, or the two thread
pools oversubscribe the cores.

Every kernel call takes its thread count from :func:`effective_n_threads`,
which also keeps a child forked after a multi-threaded kernel call working:
GNU OpenMP (libgomp) keeps the threads of a parallel region for the next one,
and a child of ``fork()`` inherits that pool without its threads, so its
first parallel region of more than one thread waits for them forever. So
once a kernel call here was given more than one thread, the kernels of every
process forked from this one (and from those) run on one thread, whatever
``n_threads`` asks: results are bit-identical for any thread count, only the
speed changes, and a region of one thread does not touch the pool. A process
forked before any such call, a 'spawn' child and a 'forkserver' child (forked
from a server that ran no kernel) keep the full budget. Only the pools of
these kernels are known: a pool that another library sharing this libgomp
started in the parent is not (a child then needs ``n_threads=1``).
"""

import functools
import os
import threading

from joblib import cpu_count
from threadpoolctl import ThreadpoolController

from ._kernels import _common

# Set once this process may hold an OpenMP thread pool: a kernel call was
# given more than one thread, here or in a parent this process was forked from.
_threads_used = False
# Set in a child forked while _threads_used: its kernels run on one thread.
_forked_after_threads = False


def effective_n_threads(n_threads):
    """Number of OpenMP threads a kernel call should use.

    An explicit ``n_threads`` wins. Otherwise the OpenMP budget is used
    (it honours ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``);
    without ``OMP_NUM_THREADS`` it is capped at the number of physical cores,
    since hyper-threads only slow down these compute-bound kernels.

    In a process forked after a kernel call of more than one thread, it is
    1 whatever ``n_threads`` is: the OpenMP thread pool does not survive
    ``fork()`` (see the module docstring).
    """
    global _threads_used
    if _forked_after_threads:
        return 1
    if n_threads is None:
        n_threads = _common.omp_max_threads()
        if not os.environ.get("OMP_NUM_THREADS"):
            n_threads = max(1, min(n_threads, physical_cores()))
    if n_threads > 1:
        _threads_used = True
    return n_threads


def _after_fork_in_child():
    global _forked_after_threads
    if _threads_used:
        _forked_after_threads = True


os.register_at_fork(after_in_child=_after_fork_in_child)


@functools.cache
def physical_cores():
    """Physical cores available to this process, counted once: the count
    reads /proc and cgroup files (about 30 us), and the labeling loop calls
    the kernels many times on small pools."""
    return cpu_count(only_physical_cores=True)


@functools.cache
def _blas_controllers():
    """Controllers of the BLAS libraries loaded at the first call, found once
    per process (inspecting the loaded libraries takes about 1 ms). They
    include the BLAS that the kernels call, which loads with them; a BLAS
    that a later import brings is left alone, as scikit-learn's cached
    controller leaves it."""
    return ThreadpoolController().select(user_api="blas").lib_controllers


class single_threaded_blas:
    """Context manager that limits the BLAS libraries to one thread.

    Lighter than ``threadpool_limits`` (which records every library's full
    description on entry, about 15 us): it reads and sets the thread counts
    only, and a nested entry, finding them at 1 already, changes nothing.

    Safe from any Python thread, and from several at once. Some BLAS keep a
    thread count per thread (OpenBLAS or BLIS on OpenMP): each entry limits
    its own thread. The others (OpenBLAS on its own pthreads, MKL) keep one
    count for the whole process: the first thread to enter limits it and the
    last to leave restores it, so that no thread's exit lifts the limit
    under another's running kernels. And threadpoolctl lets only one thread
    at a time set OpenBLAS's count (the first to set it, until it lets go),
    silently ignoring the others: a fit run from a worker thread after one
    in the main thread kept BLAS on every core inside each OpenMP thread, 20
    to 40 times slower (bench/latency.py, worker-thread rows). So each change
    here takes that control and lets it go (see _set_process_wide).
    """

    def __enter__(self):
        per_thread, process_wide = _blas_controllers_by_scope()
        self._restore = []
        for controller in per_thread:
            num_threads = controller.num_threads
            if num_threads != 1:
                self._restore.append((controller, num_threads))
                controller.set_num_threads(1)
        with _PROCESS_WIDE.lock:
            if _PROCESS_WIDE.depth == 0:
                for controller in process_wide:
                    num_threads = controller.num_threads
                    if num_threads != 1:
                        _PROCESS_WIDE.restore.append((controller, num_threads))
                        _set_process_wide(controller, 1)
            _PROCESS_WIDE.depth += 1
        return self

    def __exit__(self, *exc_info):
        for controller, num_threads in self._restore:
            controller.set_num_threads(num_threads)
        with _PROCESS_WIDE.lock:
            _PROCESS_WIDE.depth -= 1
            if _PROCESS_WIDE.depth == 0:
                for controller, num_threads in _PROCESS_WIDE.restore:
                    _set_process_wide(controller, num_threads)
                _PROCESS_WIDE.restore = []


class _PROCESS_WIDE:
    """The process-wide BLAS limits that single_threaded_blas holds: how
    many entries (of any thread) are inside, and the counts to restore."""

    lock = threading.Lock()
    depth = 0
    restore = []


@functools.cache
def _blas_controllers_by_scope():
    """(per_thread, process_wide): the BLAS controllers whose thread count
    belongs to the calling thread (built on OpenMP, whose limit threadpoolctl
    sets for the calling thread only) and the others."""
    per_thread = [c for c in _blas_controllers() if getattr(c, "threading_layer", None) == "openmp"]
    process_wide = [c for c in _blas_controllers() if c not in per_thread]
    return per_thread, process_wide


def _set_process_wide(controller, num_threads):
    """Set a process-wide BLAS thread count from whichever thread this is.
    threadpoolctl (3.8) ignores the call unless this thread controls
    OpenBLAS; control is taken for the call and given back after, so that
    the next thread (ours, or the user's own threadpool_limits) can take it."""
    release = getattr(type(controller), "clear_controlling_thread", None)
    if release is not None:
        release(force=True)
    controller.set_num_threads(num_threads)
    if release is not None:
        release()
