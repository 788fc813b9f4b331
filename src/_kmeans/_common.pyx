"""Kernels shared by Lloyd and k-means++: chunk geometry and distances."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

cdef extern from "omp_compat.h":
    int iwk_omp_max_threads() noexcept nogil
    int iwk_openmp_enabled() noexcept nogil


def omp_max_threads():
    """The OpenMP runtime's thread budget (honours OMP_NUM_THREADS and
    threadpoolctl limits); 1 for a serial build."""
    return iwk_omp_max_threads()


def openmp_enabled():
    """Whether the core was compiled with OpenMP."""
    return bool(iwk_openmp_enabled())


cdef Py_ssize_t n_chunks_of(Py_ssize_t n_samples) noexcept nogil:
    return (n_samples + CHUNK_SIZE - 1) // CHUNK_SIZE


cdef int useful_threads(int n_threads, Py_ssize_t n_samples,
                        Py_ssize_t work_per_row) noexcept nogil:
    """Threads worth using: no more than there are chunks, and each with at
    least MIN_WORK_PER_THREAD multiply-adds (work_per_row per sample)."""
    cdef Py_ssize_t by_work = n_samples * work_per_row // MIN_WORK_PER_THREAD
    return <int> max(1, min(<Py_ssize_t> n_threads, min(n_chunks_of(n_samples), by_work)))


cdef void minus_two_dots(const floating* X, int n_rows, int n_features,
                         const floating* centers, int n_centers, bint center_major,
                         floating* out) noexcept nogil:
    """-2 <x_i, c_j> for a chunk of rows, by GEMM, in one of two layouts.

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
    X: in (n_rows, n_features), centers: in, out: out (n_rows * n_centers).
    """
    cdef:
        char trans_a = b"T" if center_major else b"N"
        char trans_b = b"N"
        floating alpha = -2.0
        floating beta = 0.0
        # Everything is read as column-major. Center-major: out (rows x
        # centers) = X C^T, with row-major X a (features x rows) matrix.
        # Sample-major: out (centers x rows) = C X^T.
        int m = n_rows if center_major else n_centers
        int n = n_centers if center_major else n_rows
        int ld_a = n_features if center_major else n_centers
        const floating* a = X if center_major else centers
        const floating* b = centers if center_major else X
    if floating is float:
        sgemm(&trans_a, &trans_b, &m, &n, &n_features, &alpha, <float*> a, &ld_a,
              <float*> b, &n_features, &beta, out, &m)
    else:
        dgemm(&trans_a, &trans_b, &m, &n, &n_features, &alpha, <double*> a, &ld_a,
              <double*> b, &n_features, &beta, out, &m)


cdef void transpose(const floating* a, int n_rows, int n_cols, int out_stride,
                    floating* out) noexcept nogil:
    """out (n_cols, out_stride >= n_rows) = a (n_rows, n_cols) transposed,
    both C-ordered; columns of out past n_rows are not written."""
    cdef int i, j
    for i in range(n_rows):
        for j in range(n_cols):
            out[j * out_stride + i] = a[i * n_cols + j]


cdef floating* transposed_centers(const floating* centers, int n_centers,
                                 int n_features, int width,
                                 floating* norms) noexcept nogil:
    """The centers (n_centers, n_features) transposed into a new
    (n_features, width) array, zero past the last center, for the caller to
    free; and their squared norms in norms (width values), +inf past the
    last center, so that a padded lane is never the nearest."""
    cdef:
        int j
        floating* centers_t = <floating*> calloc(width * n_features, sizeof(floating))
    row_sq_norms(centers, n_centers, n_features, norms)
    for j in range(n_centers, width):
        norms[j] = INFINITY
    transpose(centers, n_centers, n_features, width, centers_t)
    return centers_t


cdef void row_sq_norms(const floating* X, Py_ssize_t n_rows, int n_features,
                       floating* out) noexcept nogil:
    """out[i] = ||x_i||^2 for the n_rows rows of X (in), out: out."""
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
    """out[i] = ||a_i||^2 in float64 for the n_rows rows of a (in)."""
    cdef:
        int i, f
        double acc
    for i in range(n_rows):
        acc = 0.0
        for f in range(n_features):
            acc += <double> a[i * n_features + f] * a[i * n_features + f]
        out[i] = acc


def mean_variance(const floating[:, ::1] X, int n_threads):
    """Mean over the features of the variance of each feature of X (float64).

    Two passes (means, then squared deviations) with per-chunk partial sums
    added in chunk order: stable, deterministic, and with no temporary the
    size of X (numpy's var allocates one).
    """
    cdef:
        Py_ssize_t n_samples = X.shape[0]
        int n_features = X.shape[1]
        Py_ssize_t n_chunks = n_chunks_of(n_samples)
        Py_ssize_t chunk, i
        int f
        double diff, total = 0.0
        double* acc
        double* partial = <double*> malloc(n_chunks * n_features * sizeof(double))
        double* mean = <double*> malloc(n_features * sizeof(double))
    n_threads = useful_threads(n_threads, n_samples, n_features)
    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=n_threads):
            acc = partial + chunk * n_features
            memset(acc, 0, n_features * sizeof(double))
            for i in range(chunk * CHUNK_SIZE, min((chunk + 1) * CHUNK_SIZE, n_samples)):
                for f in range(n_features):
                    acc[f] += X[i, f]
        ordered_column_sums(partial, n_chunks, n_features, mean)
        for f in range(n_features):
            mean[f] /= n_samples
        for chunk in prange(n_chunks, schedule="static", num_threads=n_threads):
            acc = partial + chunk * n_features
            memset(acc, 0, n_features * sizeof(double))
            for i in range(chunk * CHUNK_SIZE, min((chunk + 1) * CHUNK_SIZE, n_samples)):
                for f in range(n_features):
                    diff = X[i, f] - mean[f]
                    acc[f] += diff * diff
        ordered_column_sums(partial, n_chunks, n_features, mean)
        for f in range(n_features):
            total += mean[f]
    free(partial)
    free(mean)
    return total / n_samples / n_features


cdef void ordered_column_sums(const double* partial, Py_ssize_t n_rows, int n_cols,
                              double* out) noexcept nogil:
    """out[f] = sum of partial[r, f] over the rows r, in row order."""
    cdef:
        Py_ssize_t r
        int f
    memset(out, 0, n_cols * sizeof(double))
    for r in range(n_rows):
        for f in range(n_cols):
            out[f] += partial[r * n_cols + f]
