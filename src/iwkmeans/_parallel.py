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
    """

    def __enter__(self):
        self._restore = []
        for controller in _blas_controllers():
            if controller.num_threads != 1:
                self._restore.append((controller, controller.num_threads))
                controller.set_num_threads(1)
        return self

    def __exit__(self, *exc_info):
        for controller, num_threads in self._restore:
            controller.set_num_threads(num_threads)
