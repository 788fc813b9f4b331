# Helpers shared by the Lloyd and seeding kernels.
from cython cimport floating

cdef enum:
    # Rows per chunk. It never depends on the thread count: chunk boundaries fix
    # the order of every floating-point reduction, which is what makes results
    # bit-identical for any number of threads. 256 rows keep one chunk of X and
    # its distance block in L2 for the shapes we target (as in scikit-learn).
    CHUNK_SIZE = 256
    # Least work (multiply-adds per parallel pass: a Lloyd iteration, a
    # k-means++ pick) worth a thread of its own. Measured here (2-core AMD
    # EPYC, two threads over one, medians): on a quiet machine a k-means++
    # seeding of 5000 x 64 x 100 (1.6e6 per pick) takes 32-38% less time
    # and the whole fit 30-38% less; a 500 x 64 x 50 fit (1.6e6 per Lloyd
    # iteration, 1.6e5 per pick) neither gains nor loses. 2**19 per thread
    # (two threads from 1.05e6) gives them that, and keeps passes of a few
    # microseconds (a pick at 500 x 64 x 50) on one thread, where waking a
    # second costs more than it saves. Beside a process spinning on one
    # core, two threads lose at these sizes (1.9-3.1x the time of one: every
    # barrier waits for a descheduled thread), so useful_threads also
    # leaves out the CPUs that other runnable tasks hold (machine_load.h).
    # Thread counts never change results.
    MIN_WORK_PER_THREAD = 1 << 19
    # Least chunks of rows per thread. Chunks go to whichever thread is
    # free, so a thread that starts late (woken from sleep after an idle
    # pause, or descheduled) holds back nothing while the others have chunks
    # to take; with one chunk each, the pass waits for it. At 500 x 64 x 50
    # (two chunks) a second thread gained nothing warm and made the fit
    # after 1 s idle 1.3-1.4x slower (medians of 6: 5.2 ms against 3.9 on
    # one thread in float32, 6.9 against 4.9 in float64).
    MIN_CHUNKS_PER_THREAD = 4
    # After an idle pause (idle_seconds, _common.pyx), the least work per
    # thread of a pass worth waking a second thread: below it a call runs on
    # one thread.
    # On a virtual machine a CPU left idle is given back to the host, and
    # waking the thread on it costs tens of microseconds per parallel region
    # until the host has it running again; a k-means++ seeding makes two
    # regions per pick. Measured on a 2-vCPU Intel Xeon VM (KVM), after 0.5 s
    # idle, medians of 3, one thread / two threads: k-means++ 5000 x 64 x 100
    # float32 (9.6e5 per thread per pick) 4.8 / 20.5 ms, 20000 x 64 x 100
    # (3.8e6) 41.3 / 24.5 ms; warm, two threads took 3.4 ms for the first.
    # 2**21 keeps the first on one thread and gives the second two. A call
    # that follows another one of several threads' work (within idle_seconds)
    # is not after a pause: a tight loop of calls keeps its threads.
    MIN_IDLE_WORK_PER_THREAD = 1 << 21


cdef extern from "omp_compat.h":
    int iwk_omp_max_threads() noexcept nogil
    int iwk_openmp_enabled() noexcept nogil
    # A pass that may run on one thread calls its worker directly, and else
    # in a parallel region whose threads each run the worker: a region
    # costs libgomp two system calls (its barriers' futex wake-ups) even on
    # one thread, about 1 us: 12-20% of the k-means++ kernel's time at 500 x
    # 64 x 50, two regions per pick. The workers take chunks with iwk_claim until
    # none is left (dynamic, as a descheduled thread needs), and write each
    # chunk's result to its own slot, so no order depends on the threads.
    Py_ssize_t iwk_claim(Py_ssize_t* counter) noexcept nogil
    double iwk_seconds() noexcept nogil

cdef Py_ssize_t n_chunks_of(Py_ssize_t n_samples) noexcept nogil

cdef int useful_threads(int n_threads, Py_ssize_t n_samples,
                        Py_ssize_t work_per_row) noexcept nogil

cdef void call_ended(int n_threads, Py_ssize_t n_samples,
                     Py_ssize_t work_per_row) noexcept nogil

cdef int threads_for_work(int n_threads, Py_ssize_t work) noexcept nogil

cdef int fused_width(bint is_double) noexcept nogil

cdef int lloyd_fused_width(bint is_double) noexcept nogil

cdef void minus_two_dots(const floating* X, int n_rows, int n_features,
                         const floating* centers, int n_centers, bint center_major,
                         floating* out, int out_stride,
                         double scale=*) noexcept nogil

cdef void transpose(const floating* a, int n_rows, int n_cols, int out_stride,
                    floating* out) noexcept nogil

cdef floating* transposed_centers(const floating* centers, int n_centers,
                                  int n_features, int width,
                                  floating* norms) noexcept nogil

cdef void row_sq_norms(const floating* X, Py_ssize_t n_rows, int n_features,
                       floating* out) noexcept nogil

cdef void sq_norms(const floating* a, int n_rows, int n_features,
                   double* out) noexcept nogil
