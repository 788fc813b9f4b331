"""Peak extra memory of one call of a task, measured in a fresh process."""

import gc

from threadpoolctl import ThreadpoolController

# Peak memory is measured for these tasks, in a fresh process per
# implementation and case (see _peak_extra_mib), on cases of at most
# MEMORY_MAX_SAMPLES samples: each child rebuilds its data, and at 1M samples
# the seven children (about 5 s each) would add over half a minute to a run
# that must stay under 10 minutes.
MEMORY_TASKS = ("lloyd", "lloyd_fixed", "fit")
MEMORY_MAX_SAMPLES = 100_000
MEMORY_TIMEOUT_SECONDS = 300


# Peak memory.
#
# Why not tracemalloc: it sees only allocations made through Python's
# allocators (numpy arrays included), not the C malloc of the compiled
# kernels (ours, faiss's C++, oneDAL's), which are what differ most between
# implementations. Why not measure in this process: the allocator keeps freed
# memory for reuse, so whatever ran before would hide part of a call's
# footprint, and the resident high-water mark only ever rises.
#
# So each measurement runs in a fresh process that rebuilds the case's data
# from the same seed, runs one warm-up call on a small version of the case
# (library start-up: thread pools, lazy imports, BLAS buffers), builds the
# real data, returns freed heap memory to the system (malloc_trim), resets
# the kernel's resident-set high-water mark (writing 5 to
# /proc/self/clear_refs, Linux >= 4.0) and reads VmHWM - VmRSS around one
# call: every page the call made resident, whoever allocated it. Where the
# mark cannot be reset, the fallback is the rise of getrusage's ru_maxrss
# over the call, a lower bound (zero when data building peaked higher).
#
# The processes come from multiprocessing's "forkserver" where there is one:
# forked from a server process that has only imported numpy and
# scikit-learn (no data, no kernel run), which saves each child the 1.5 s of
# those imports; elsewhere from "spawn".


def _status_kib(field):
    """A "kB" field of /proc/self/status (VmRSS, VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _maxrss_kib():
    import resource
    import sys

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 1024 if sys.platform == "darwin" else maxrss  # bytes on macOS


class _PeakRSS:
    """Peak resident memory added over a span: ``with _PeakRSS() as peak: ...; peak.mib``."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")  # resets VmHWM to the current VmRSS
            self.method = "VmHWM"
            self._base = _status_kib("VmRSS")
        except OSError:
            self.method = "ru_maxrss"
            self._base = _maxrss_kib()
        return self

    def __exit__(self, *exc):
        peak = _status_kib("VmHWM") if self.method == "VmHWM" else _maxrss_kib()
        self.mib = max(0.0, peak - self._base) / 1024
        return False


def _malloc_trim():
    """Return the C heap's free memory to the system (glibc; elsewhere a no-op)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _peak_in_child(load, task, build, n_samples, warmup_samples, n_threads):
    """In a fresh process: (peak extra MiB of one call of ``task``, method)."""
    func = load()[task]
    controller = ThreadpoolController()
    with controller.limit(limits=n_threads):
        func(*build(warmup_samples), n_threads)
        args = build(n_samples)
        gc.collect()
        _malloc_trim()
        with _PeakRSS() as peak:
            result = func(*args, n_threads)
        del result
    return peak.mib, peak.method


def _child_main(connection, *args):
    try:
        connection.send(("ok", _peak_in_child(*args)))
    except BaseException as exc:  # reported to the parent, which decides
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


def _memory_start_method():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def _memory_context():
    import multiprocessing

    context = multiprocessing.get_context(_memory_start_method())
    if context.get_start_method() == "forkserver":
        # Imports only; no effect if the server already runs.
        context.set_forkserver_preload(["sklearn.datasets", __name__])
    return context


def _peak_extra_mib(
    load, task, build, n_samples, warmup_samples, n_threads, timeout=MEMORY_TIMEOUT_SECONDS
):
    """Peak resident memory one call of ``task`` adds once its data exist, in MiB.

    ``load`` is the implementation's task loader and ``build(n)`` the case's
    arguments (less n_threads) on ``n`` samples; both are pickled by
    reference into a fresh process (see the comment above). Returns (MiB,
    method), method "VmHWM" or "ru_maxrss"; raises RuntimeError if the child
    fails, dies or outlasts ``timeout`` seconds.
    """
    context = _memory_context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main,
        args=(sender, load, task, build, n_samples, warmup_samples, n_threads),
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise RuntimeError(f"no answer within {timeout} s")
        try:
            status, value = receiver.recv()
        except EOFError:  # died without a word (crash, out of memory)
            child.join()
            raise RuntimeError(f"the process died (exit code {child.exitcode})") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join()
    if status != "ok":
        raise RuntimeError(value)
    return value
