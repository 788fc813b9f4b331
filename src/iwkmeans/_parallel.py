"""Thread budget of the compiled core and the BLAS limit around it.

The kernels run OpenMP threads over chunks of rows and call BLAS inside each
thread, so BLAS must stay single-threaded while they run, or the two thread
pools oversubscribe the cores.
"""
import functools
import os

from joblib import cpu_count
from threadpoolctl import ThreadpoolController

from _kmeans._common import omp_max_threads

_controller = None


def effective_n_threads(n_threads):
    """Number of OpenMP threads a kernel call should use.

    An explicit ``n_threads`` wins. Otherwise the OpenMP budget is used
    (it honours ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``);
    without ``OMP_NUM_THREADS`` it is capped at the number of physical cores,
    since hyper-threads only slow down these compute-bound kernels.
    """
    if n_threads is not None:
        return n_threads
    budget = omp_max_threads()
    if os.environ.get("OMP_NUM_THREADS"):
        return budget
    return max(1, min(budget, physical_cores()))


@functools.cache
def physical_cores():
    """Physical cores available to this process, counted once: the count
    reads /proc and cgroup files (about 30 us), and the labeling loop calls
    the kernels many times on small pools."""
    return cpu_count(only_physical_cores=True)


def single_threaded_blas():
    """Context manager that limits every loaded BLAS to one thread."""
    global _controller
    if _controller is None:
        # Inspecting the loaded libraries is slow; do it once per process.
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
