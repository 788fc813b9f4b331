"""Kernels shared by Lloyd and k-means++: chunk geometry and distances."""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, fabs
from libc.stdint cimport int32_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

from ._dispatch cimport (
    gemm, iwk_column_sums, iwk_fused512_width, iwk_fused_width, iwk_half_extent,
)


def omp_max_threads():
    """The OpenMP runtime's thread budget (honours OMP_NUM_THREADS and
    threadpoolctl limits); 1 for a serial build."""
    return iwk_omp_max_threads()


def openmp_enabled():
    """Whether the core was compiled with OpenMP."""
    return bool(iwk_openmp_enabled())


cdef Py_ssize_t n_chunks_of(Py_ssize_t n_samples) noexcept nogil:
    return (n_samples + CHUNK_SIZE - 1) // CHUNK_SIZE


# The least work and chunks worth a thread: MIN_WORK_PER_THREAD and
# MIN_CHUNKS_PER_THREAD, which tests lower (see work_per_thread) so that small
# inputs run on every thread they are given.
cdef Py_ssize_t min_work_per_thread = MIN_WORK_PER_THREAD
cdef Py_ssize_t min_chunks_per_thread = MIN_CHUNKS_PER_THREAD


def work_per_thread(Py_ssize_t value=0):
    """The least work (multiply-adds per parallel pass) worth a thread of
    its own, MIN_WORK_PER_THREAD (see _common.pxd); a positive ``value``
    replaces it first (for tests: 1 gives small inputs a thread per chunk,
    so that their results are shown not to depend on the thread count).
    Not for use while kernels run."""
    global min_work_per_thread
    if value > 0:
        min_work_per_thread = value
    return min_work_per_thread


def chunks_per_thread(Py_ssize_t value=0):
    """The least chunks of rows per thread, MIN_CHUNKS_PER_THREAD (see
    _common.pxd); a positive ``value`` replaces it first (for tests, with
    work_per_thread: 1 gives every chunk a thread). Not for use while
    kernels run."""
    global min_chunks_per_thread
    if value > 0:
        min_chunks_per_thread = value
    return min_chunks_per_thread


# Whether Lloyd passes may take the fused kernel (iwk_nearest_fused) where
# the CPU runs it; tests turn it off (see fused_kernel) so that the GEMM
# paths, which other CPUs take, are checked on this one too.
cdef bint fused_allowed = True


def fused_kernel(enabled=None):
    """Whether Lloyd passes take the fused kernel where the CPU runs it (see
    fused_width); ``enabled`` (a bool) changes it first (for tests: off
    puts the GEMM paths under test on a CPU that has the fused kernel).
    Not for use while kernels run."""
    global fused_allowed
    if enabled is not None:
        fused_allowed = bool(enabled)
    return fused_allowed


def fused_panel(bint is_double):
    """lloyd_fused_width, for tests: 0 where Lloyd's fused tile does not
    run."""
    return lloyd_fused_width(is_double)


cdef int fused_width(bint is_double) noexcept nogil:
    """Centers per panel of AVX2's fused tile (iwk_fused_width: AVX2 and
    FMA without AVX-512), 0 where it does not run or is turned off: k-means++
    takes it there, and packs its copy of X by half of it."""
    return iwk_fused_width(is_double) if fused_allowed else 0


cdef int lloyd_fused_width(bint is_double) noexcept nogil:
    """Centers per panel of Lloyd's fused tile: AVX-512's
    (iwk_fused512_width: 32 float, 16 double) where the CPU has it, else
    AVX2's (fused_width); 0 where neither runs or it is turned off."""
    if not fused_allowed:
        return 0
    return iwk_fused512_width(is_double) or iwk_fused_width(is_double)


def threads_for(int n_threads, Py_ssize_t n_samples, Py_ssize_t work_per_row):
    """useful_threads, for tests of the policy."""
    return useful_threads(n_threads, n_samples, work_per_row)


cdef extern from "machine_load.h":
    int iwk_free_cpus() noexcept nogil


# Whether useful_threads also goes by what the machine is doing (see
# machine_load.h); tests turn it off (see load_aware) where they need every
# thread they ask for, whatever else runs.
cdef bint load_allowed = True


def load_aware(enabled=None):
    """Whether the thread policy leaves out the CPUs that other runnable
    tasks hold (machine_load.h); ``enabled`` (a bool) changes it first (for
    tests: off gives every call the threads its work is worth). Not for use
    while kernels run."""
    global load_allowed
    if enabled is not None:
        load_allowed = bool(enabled)
    return load_allowed


def free_cpus():
    """CPUs that other runnable tasks leave free now (machine_load.h), or
    None where the system does not say (not Linux)."""
    cdef int available = iwk_free_cpus()
    return None if available < 0 else available


# A kernel call of several threads' work, none of which started or ended for
# this long (seconds), follows an idle pause (see MIN_IDLE_WORK_PER_THREAD).
# Measured as there: after 10 ms idle a 5000 x 64 x 100 k-means++ seeding
# ran on two threads in its warm time (3.5 ms), after 30 ms in 14.5 ms.
cdef double idle_seconds = 0.02
# When such a call last started or ended (iwk_seconds), -inf before the first.
cdef double last_team_call = -INFINITY
# Whether useful_threads applies the idle rule; tests turn it off (see
# after_idle_rule), as the load rule.
cdef bint idle_rule_allowed = True


def after_idle_rule(enabled=None):
    """Whether useful_threads keeps a call after an idle pause on one
    thread when its passes are small (MIN_IDLE_WORK_PER_THREAD);
    ``enabled`` (a bool) changes it first (for tests: off gives every call
    the threads its work is worth). Not for use while kernels run."""
    global idle_rule_allowed
    if enabled is not None:
        idle_rule_allowed = bool(enabled)
    return idle_rule_allowed


def idle_pause(seconds=None):
    """The pause (seconds, idle_seconds) after which a call is cold for the
    idle rule; ``seconds`` replaces it first (for tests: 0 makes every call
    cold, a large value none). Not for use while kernels run."""
    global idle_seconds
    if seconds is not None:
        idle_seconds = float(seconds)
    return idle_seconds


def seconds_since_team_call():
    """Seconds since a kernel call of several threads' work last started or
    ended (inf if none has), for tests of the idle rule."""
    return iwk_seconds() - last_team_call


cdef int size_threads(int n_threads, Py_ssize_t n_samples,
                      Py_ssize_t work_per_row) noexcept nogil:
    """The threads the work's size is worth: at most n_threads, one per
    MIN_CHUNKS_PER_THREAD chunks, each with at least min_work_per_thread
    multiply-adds (work_per_row per sample)."""
    return min(threads_for_work(n_threads, n_samples * work_per_row),
               <int> max(1, min(<Py_ssize_t> n_threads,
                                n_chunks_of(n_samples) // min_chunks_per_thread)))


cdef int useful_threads(int n_threads, Py_ssize_t n_samples,
                        Py_ssize_t work_per_row) noexcept nogil:
    """Threads a kernel call uses for its passes: what their size is worth
    (size_threads; a kernel's parallel pass, such as one Lloyd iteration,
    reads every sample once, work_per_row multiply-adds each), but one after
    an idle pause if each thread would get less than
    MIN_IDLE_WORK_PER_THREAD, and no more
    than the CPUs that other runnable tasks leave free (machine_load.h).
    The time and the load are asked once per call, and only when the work
    is worth more than one thread. The caller calls call_ended with the
    same arguments when it is done."""
    global last_team_call
    cdef:
        int threads = size_threads(n_threads, n_samples, work_per_row)
        int available
        double now
    if threads > 1:
        now = iwk_seconds()
        if (idle_rule_allowed and now - last_team_call >= idle_seconds
                and n_samples * work_per_row // threads < MIN_IDLE_WORK_PER_THREAD):
            threads = 1
        last_team_call = now
    if threads > 1 and load_allowed:
        available = iwk_free_cpus()
        if available >= 0:
            threads = max(1, min(threads, available))
    return threads


cdef void call_ended(int n_threads, Py_ssize_t n_samples,
                     Py_ssize_t work_per_row) noexcept nogil:
    """The end of a kernel call that asked useful_threads (same arguments):
    for the idle rule, a call of several threads' work ends now. Both are
    called with the GIL held, which orders the updates of last_team_call
    from kernel calls in several Python threads."""
    global last_team_call
    if size_threads(n_threads, n_samples, work_per_row) > 1:
        last_team_call = iwk_seconds()


cdef int threads_for_work(int n_threads, Py_ssize_t work) noexcept nogil:
    """Threads worth using for ``work`` multiply-adds (or adds) split in
    any number of parts: at most n_threads (already what useful_threads
    granted the call), each with min_work_per_thread."""
    return <int> max(1, min(<Py_ssize_t> n_threads, work // min_work_per_thread))


cdef void minus_two_dots(const floating* X, int n_rows, int n_features,
                         const floating* centers, int n_centers, bint center_major,
                         floating* out, int out_stride,
                         double scale=1.0) noexcept nogil:
    """-2 <x_i * scale, c_j> for a chunk of rows, by GEMM, in one of two
    layouts. scale is a power of two (1, or the frame's for rows read as
    stored): GEMM's alpha = -2 * scale applies it exactly, with no scaled
    copy of the rows or the centers.

    Adding ||c_j||^2 gives ||x_i - c_j||^2 - ||x_i||^2, which has the same
    argmin over j; callers that need true distances add ||x_i||^2 back.

    center_major: centers given as (n_centers, n_features), C-ordered;
        out[j * n_rows + i], one contiguous run of rows per center, which a
        vectorised scan over each center's column consumes.
    sample-major (center_major False): centers given transposed, as
        (n_features, n_centers); out[i * n_centers + j]. GEMM then has no
        transposed operand: OpenBLAS packs a transposed chunk of X slowly,
        which dominates when there are few centers (and its small-matrix
        path, which skips packing, applies only to untransposed operands).
    IN: X (n_rows, n_features), centers. OUT: out (n_rows * n_centers),
    each center's run of rows (center-major) or each row (sample-major)
    out_stride values after the previous one: n_rows or n_centers for a
    dense block, more for a block that is part of a larger one.
    """
    cdef:
        char trans_a = b"T" if center_major else b"N"
        char trans_b = b"N"
        floating alpha = <floating> (-2.0 * scale)
        floating beta = 0.0
        # Everything is read as column-major. Center-major: out (rows x
        # centers) = X C^T, with row-major X a (features x rows) matrix.
        # Sample-major: out (centers x rows) = C X^T.
        int m = n_rows if center_major else n_centers
        int n = n_centers if center_major else n_rows
        int ld_a = n_features if center_major else n_centers
        const floating* a = X if center_major else centers
        const floating* b = centers if center_major else X
    gemm(trans_a, trans_b, m, n, n_features, alpha, a, ld_a, b, n_features, beta, out,
         out_stride)


cdef void transpose(const floating* a, int n_rows, int n_cols, int out_stride,
                    floating* out) noexcept nogil:
    """a transposed, both C-ordered; columns of out past n_rows are not
    written. IN: a (n_rows, n_cols). OUT: out (n_cols, out_stride >=
    n_rows)."""
    cdef int i, j
    for i in range(n_rows):
        for j in range(n_cols):
            out[j * out_stride + i] = a[i * n_cols + j]


cdef floating* transposed_centers(const floating* centers, int n_centers,
                                  int n_features, int width,
                                  floating* norms) noexcept nogil:
    """The centers transposed into a new (n_features, width) array, zero
    past the last center, for the caller to free; and their squared norms,
    +inf past the last center, so that a padded lane is never the nearest.
    NULL if memory runs out. IN: centers (n_centers, n_features). OUT:
    norms (width,)."""
    cdef:
        int j
        floating* centers_t = <floating*> calloc(width * n_features, sizeof(floating))
    if centers_t == NULL:
        return NULL
    row_sq_norms(centers, n_centers, n_features, norms)
    for j in range(n_centers, width):
        norms[j] = INFINITY
    transpose(centers, n_centers, n_features, width, centers_t)
    return centers_t


cdef void row_sq_norms(const floating* X, Py_ssize_t n_rows, int n_features,
                       floating* out) noexcept nogil:
    """out[i] = ||x_i||^2 for the n_rows rows of X. IN: X (n_rows,
    n_features). OUT: out (n_rows,)."""
    cdef:
        Py_ssize_t i
        int f
        floating acc
    for i in range(n_rows):
        acc = 0
        for f in range(n_features):
            acc += X[i * n_features + f] * X[i * n_features + f]
        out[i] = acc


cdef void sq_norms(const floating* a, int n_rows, int n_features,
                   double* out) noexcept nogil:
    """out[i] = ||a_i||^2 in float64 for the n_rows rows of a. IN: a
    (n_rows, n_features). OUT: out (n_rows,)."""
    cdef:
        int i, f
        double acc
    for i in range(n_rows):
        acc = 0.0
        for f in range(n_features):
            acc += <double> a[i * n_features + f] * a[i * n_features + f]
        out[i] = acc


def half_extent(const floating[::1] values, const int32_t[::1] indptr,
                int n_features, const double[::1] reference, int n_threads):
    """max |x - reference| / 2 over every value of the samples, in float64
    (halved so that it cannot overflow), from which the caller picks the
    frame's scale (see _rows.pxd).

    Dense samples: values is the row-major (n_samples, n_features) array and
    reference has n_features values; CSR samples (indptr given): the
    reference is the origin and only stored values are read. The maximum is
    exact whatever the order, so any split over threads gives the same value.
    IN: values, indptr, reference.
    """
    cdef:
        Py_ssize_t n_values = values.shape[0]
        Py_ssize_t n_samples = n_values // max(n_features, 1)
        Py_ssize_t n_chunks, chunk, i
        double top = 0.0
        double* half_reference
        double* partial
    if indptr is not None:
        with nogil:
            for i in range(n_values):
                top = max(top, fabs(0.5 * values[i]))
        return top
    n_chunks = n_chunks_of(n_samples)
    if n_chunks == 0 or n_features == 0:
        return 0.0
    half_reference = <double*> malloc(n_features * sizeof(double))
    partial = <double*> malloc(n_chunks * sizeof(double))
    if half_reference == NULL or partial == NULL:
        free(half_reference)
        free(partial)
        raise MemoryError()
    for i in range(n_features):
        half_reference[i] = 0.5 * reference[i]
    cdef int asked = n_threads
    n_threads = useful_threads(asked, n_samples, n_features)
    # An array rather than a variable: a variable assigned in a parallel
    # block is thread-private.
    cdef bint failed[1]
    cdef Py_ssize_t next_chunk = 0
    cdef const floating* rows = &values[0]
    with nogil:
        if n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
            failed[0] = half_extent_worker(rows, n_samples, n_features, half_reference,
                                           partial, &next_chunk) < 0
        else:
            failed[0] = False
            with parallel(num_threads=n_threads):
                if half_extent_worker(rows, n_samples, n_features, half_reference,
                                      partial, &next_chunk) < 0:
                    failed[0] = True
    call_ended(asked, n_samples, n_features)
    if failed[0]:
        free(half_reference)
        free(partial)
        raise MemoryError()
    for chunk in range(n_chunks):
        top = max(top, partial[chunk])
    free(half_reference)
    free(partial)
    return top


cdef int half_extent_worker(const floating* values, Py_ssize_t n_samples,
                            int n_features, const double* half_reference,
                            double* partial, Py_ssize_t* next_chunk) noexcept nogil:
    """One thread's share of half_extent over dense rows: partial[chunk] for
    the chunks it takes from next_chunk (iwk_claim). Returns -1 if its
    scratch could not be allocated (it then takes no chunk), else 0.
    IN: values (n_samples, n_features), half_reference (n_features,)."""
    cdef:
        Py_ssize_t chunk, start
        floating* scratch = <floating*> malloc(2 * n_features * sizeof(floating))
    if scratch == NULL:
        return -1
    chunk = iwk_claim(next_chunk)
    while chunk < n_chunks_of(n_samples):
        start = chunk * CHUNK_SIZE
        partial[chunk] = iwk_half_extent(
            values + start * n_features,
            <int> min(<Py_ssize_t> CHUNK_SIZE, n_samples - start), n_features,
            half_reference, scratch)
        chunk = iwk_claim(next_chunk)
    free(scratch)
    return 0


def mean_variance(const floating[:, ::1] X, const floating[::1] shift, double scale,
                  int n_threads):
    """Mean over the features of the variance of each feature of X in the
    frame (x * scale - shift, see _rows.pxd), in float64; of X itself if
    shift is None (for data around the origin, which lose nothing there:
    the caller scales the result by scale**2).

    Two passes (means, then squared deviations) with per-chunk partial sums
    added in chunk order: stable, deterministic, and with no temporary the
    size of X (numpy's var allocates one). In the frame the values are at
    most 1 in magnitude, so no square overflows. IN: X, shift.
    """
    cdef:
        Py_ssize_t n_samples = X.shape[0]
        int n_features = X.shape[1]
        Py_ssize_t n_chunks = n_chunks_of(n_samples)
        int f
        double total = 0.0
        const floating* rows = &X[0, 0] if n_samples > 0 else NULL
        const floating* framing = &shift[0] if shift is not None else NULL
        double* partial = <double*> malloc(n_chunks * n_features * sizeof(double))
        double* mean = <double*> malloc(n_features * sizeof(double))
    if partial == NULL or mean == NULL:
        free(partial)
        free(mean)
        raise MemoryError()
    cdef int asked = n_threads
    n_threads = useful_threads(asked, n_samples, n_features)
    with nogil:
        column_pass(rows, n_samples, n_features, scale, framing, NULL, partial,
                    n_threads)
        ordered_column_sums(partial, n_chunks, n_features, mean)
        for f in range(n_features):
            mean[f] /= n_samples
        column_pass(rows, n_samples, n_features, scale, framing, mean, partial,
                    n_threads)
        ordered_column_sums(partial, n_chunks, n_features, mean)
        for f in range(n_features):
            total += mean[f]
    call_ended(asked, n_samples, n_features)
    free(partial)
    free(mean)
    return total / n_samples / n_features


cdef void column_pass(const floating* X, Py_ssize_t n_samples, int n_features,
                      double scale, const floating* shift, const double* mean,
                      double* partial, int n_threads) noexcept nogil:
    """partial[chunk] = iwk_column_sums of the chunk's rows, from zero: per
    feature, the sum of the rows in the frame (mean NULL) or of their
    squared deviations from mean. IN: X (n_samples, n_features), shift (or
    NULL), mean (or NULL). OUT: partial (n_chunks, n_features)."""
    cdef Py_ssize_t chunk, n_chunks = n_chunks_of(n_samples)
    if n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        for chunk in range(n_chunks):
            chunk_column_sums(X, n_samples, n_features, scale, shift, mean, partial,
                              chunk)
    else:
        for chunk in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
            chunk_column_sums(X, n_samples, n_features, scale, shift, mean, partial,
                              chunk)


cdef inline void chunk_column_sums(const floating* X, Py_ssize_t n_samples,
                                   int n_features, double scale,
                                   const floating* shift, const double* mean,
                                   double* partial, Py_ssize_t chunk) noexcept nogil:
    """column_pass for one chunk. OUT: partial[chunk]."""
    cdef:
        Py_ssize_t start = chunk * CHUNK_SIZE
        double* acc = partial + chunk * n_features
    memset(acc, 0, n_features * sizeof(double))
    iwk_column_sums(X + start * n_features,
                    <int> min(<Py_ssize_t> CHUNK_SIZE, n_samples - start), n_features,
                    scale, shift, mean, acc)


cdef void ordered_column_sums(const double* partial, Py_ssize_t n_rows, int n_cols,
                              double* out) noexcept nogil:
    """out[f] = sum of partial[r, f] over the rows r, in row order.
    IN: partial (n_rows, n_cols). OUT: out (n_cols,)."""
    cdef:
        Py_ssize_t r
        int f
    memset(out, 0, n_cols * sizeof(double))
    for r in range(n_rows):
        for f in range(n_cols):
            out[f] += partial[r * n_cols + f]
