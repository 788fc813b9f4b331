"""Kernels shared by Lloyd and k-means++: chunk geometry and distances."""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc
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


cdef int useful_threads(int n_threads, Py_ssize_t n_samples) noexcept nogil:
    """No more threads than chunks: an idle thread still costs a wake-up and a
    barrier, which dominates on small inputs and on a loaded machine."""
    return <int> min(<Py_ssize_t> n_threads, n_chunks_of(n_samples))


cdef void minus_two_dots(const floating* X, int n_rows, int n_features,
                         const floating* centers, int n_centers,
                         floating* out) noexcept nogil:
    """out[j * n_rows + i] = -2 <x_i, c_j>: one contiguous run of rows per center.

    Adding ||c_j||^2 gives ||x_i - c_j||^2 - ||x_i||^2, which has the same
    argmin over j. The center-major layout lets the consumers walk each
    center's column with unit stride and branch-free selects, which the
    compiler vectorises; a row-major block would need a per-row argmin.

    X: in (n_rows, n_features), centers: in (n_centers, n_features), out: out.
    """
    cdef:
        char trans_a = b"T"
        char trans_b = b"N"
        floating alpha = -2.0
        floating beta = 0.0
    # Column-major out (n_rows x n_centers) = X C^T, where row-major X and
    # centers read as column-major (n_features x rows) matrices.
    if floating is float:
        sgemm(&trans_a, &trans_b, &n_rows, &n_centers, &n_features, &alpha,
              <float*> X, &n_features, <float*> centers, &n_features, &beta,
              out, &n_rows)
    else:
        dgemm(&trans_a, &trans_b, &n_rows, &n_centers, &n_features, &alpha,
              <double*> X, &n_features, <double*> centers, &n_features, &beta,
              out, &n_rows)


cdef void minus_two_dots_by_row(const floating* X, int n_rows, int n_features,
                                const floating* centers_t, int n_centers,
                                floating* out) noexcept nogil:
    """out[i * n_centers + j] = -2 <x_i, c_j>: one row of products per sample.

    Takes the centers transposed, (n_features, n_centers) C-ordered, so that
    GEMM needs no transposed operand: OpenBLAS packs a transposed chunk of X
    slowly, which dominates when there are few centers (twice as fast on a
    256 x 6 x 64 product here). For consumers that go sample by sample.
    X: in (n_rows, n_features), centers_t: in, out: out (n_rows, n_centers).
    """
    cdef:
        char trans = b"N"
        floating alpha = -2.0
        floating beta = 0.0
    # Column-major out^T (centers x rows) = C X^T: the transposed centers read
    # as a column-major (centers x features) matrix, X as (features x rows).
    if floating is float:
        sgemm(&trans, &trans, &n_centers, &n_rows, &n_features, &alpha,
              <float*> centers_t, &n_centers, <float*> X, &n_features, &beta,
              out, &n_centers)
    else:
        dgemm(&trans, &trans, &n_centers, &n_rows, &n_features, &alpha,
              <double*> centers_t, &n_centers, <double*> X, &n_features, &beta,
              out, &n_centers)


cdef void transpose(const floating* a, int n_rows, int n_cols,
                    floating* out) noexcept nogil:
    """out (n_cols, n_rows) = a (n_rows, n_cols) transposed, both C-ordered."""
    cdef int i, j
    for i in range(n_rows):
        for j in range(n_cols):
            out[j * n_rows + i] = a[i * n_cols + j]


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


cdef double sq_distance(const floating* a, const floating* b,
                        int n_features) noexcept nogil:
    """Exact ||a - b||^2, accumulated in float64 (used where a total is reported)."""
    cdef:
        int f
        double diff, acc = 0.0
    for f in range(n_features):
        diff = <double> a[f] - <double> b[f]
        acc += diff * diff
    return acc


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
    n_threads = useful_threads(n_threads, n_samples)
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
