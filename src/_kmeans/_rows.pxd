# Access to the samples, whether stored dense or as CSR.
#
# Every kernel reads its samples through these few functions, so the Lloyd
# and seeding kernels exist once for both storages. They are defined here,
# inline, rather than in a .pyx: a cdef function cimported from another
# module is called through a pointer and cannot be inlined, and some of
# these run once per sample.
from cython cimport floating
from libc.stdint cimport int32_t
from libc.stdlib cimport calloc
from libc.string cimport memset

from ._common cimport minus_two_dots


cdef extern from "simd.h":
    int iwk_small_lanes(int is_double) noexcept nogil
    void iwk_add_scaled_float(double* acc, double w, const float* x,
                              int n) noexcept nogil
    void iwk_add_scaled_double(double* acc, double w, const double* x,
                               int n) noexcept nogil
    double iwk_sq_distance_float(const float* a, const float* b, int n) noexcept nogil
    double iwk_sq_distance_double(const double* a, const double* b, int n) noexcept nogil


cdef struct Rows:
    # The values live in a separate floating* argument: a struct cannot hold
    # a fused type. Dense: indptr is NULL and values is the row-major
    # (n_samples, n_features) array. CSR: values, indices and indptr as in
    # scipy.sparse.csr_array (column indices within a row in any order).
    Py_ssize_t n_samples
    int n_features
    const int32_t* indices
    const int32_t* indptr


cdef inline Rows rows_of(const floating[::1] values, const int32_t[::1] indices,
                         const int32_t[::1] indptr, Py_ssize_t n_samples,
                         int n_features):
    """The Rows of dense values (indices and indptr None) or of a CSR matrix."""
    cdef Rows X
    X.n_samples = n_samples
    X.n_features = n_features
    X.indices = NULL
    X.indptr = NULL
    if indptr is not None:
        X.indptr = &indptr[0]
        if indices.shape[0] > 0:
            X.indices = &indices[0]
    return X


cdef inline int fused_lanes(Rows X, int n_centers, bint is_double,
                            bint packed) noexcept nogil:
    """Lanes of the fused *_small_* kernels of simd.h where they serve these
    rows and this many centers (dense rows without a packed copy, which the
    *_packed_* kernels read instead, at most one vector of centers, a CPU
    with AVX-512), else 0."""
    cdef int lanes = iwk_small_lanes(is_double)
    return lanes if X.indptr == NULL and not packed and n_centers <= lanes else 0


cdef enum:
    # Dense samples are copied feature-major for the packed kernels of
    # simd.h when the copy takes at most this many bytes: it is memory the
    # caller did not ask for, and active-learning pools fit it easily.
    PACKED_BUDGET = 4 * 1024 * 1024


cdef inline int packed_lanes(Rows X, bint is_double) noexcept nogil:
    """Rows per block of the packed copy of X (see packed_rows), 0 if there
    is none: sparse rows, no AVX-512, or a copy over PACKED_BUDGET."""
    cdef:
        int lanes = iwk_small_lanes(is_double)
        Py_ssize_t n_padded
    if X.indptr != NULL or lanes == 0:
        return 0
    n_padded = (X.n_samples + lanes - 1) // lanes * lanes
    if n_padded * X.n_features * (8 if is_double else 4) > PACKED_BUDGET:
        return 0
    return lanes


cdef inline floating* packed_rows(const floating* values, Rows X,
                                  int lanes) noexcept nogil:
    """X (dense) copied feature-major in blocks of ``lanes`` rows, zero past
    the last row, as the iwk_*_packed_* kernels read it; for the caller to
    free."""
    cdef:
        Py_ssize_t n_blocks = (X.n_samples + lanes - 1) // lanes
        Py_ssize_t i, block
        int f, lane
        floating* packed = <floating*> calloc(n_blocks * lanes * X.n_features,
                                              sizeof(floating))
    for i in range(X.n_samples):
        block = i // lanes
        lane = <int> (i % lanes)
        for f in range(X.n_features):
            packed[(block * X.n_features + f) * lanes + lane] = values[
                i * X.n_features + f]
    return packed


cdef inline const floating* values_of(const floating[::1] values):
    """Pointer to the values, NULL when there are none (a CSR of zeros)."""
    return &values[0] if values.shape[0] > 0 else NULL


cdef inline void chunk_dots(const floating* values, Rows X, Py_ssize_t start,
                            int n_rows, const floating* centers, int n_centers,
                            bint center_major, floating* out) noexcept nogil:
    """minus_two_dots (see _common) for rows start .. start + n_rows of X.

    Dense rows go through GEMM. Sparse rows only come sample-major (centers
    transposed, (n_features, n_centers)): each stored value adds a
    contiguous, vectorisable row of the transposed centers, where the
    center-major order would gather one scattered value per center.
    """
    cdef:
        int i, j
        Py_ssize_t p
        floating v
        floating* o
        const floating* c
    if X.indptr == NULL:
        minus_two_dots(values + start * X.n_features, n_rows, X.n_features, centers,
                       n_centers, center_major, out)
        return
    for i in range(n_rows):
        o = out + i * n_centers
        memset(o, 0, n_centers * sizeof(floating))
        for p in range(X.indptr[start + i], X.indptr[start + i + 1]):
            v = -2 * values[p]
            c = centers + X.indices[p] * n_centers
            for j in range(n_centers):
                o[j] += v * c[j]


cdef inline floating row_sq_norm(const floating* values, Rows X,
                                 Py_ssize_t i) noexcept nogil:
    """||x_i||^2, in X's precision."""
    cdef:
        Py_ssize_t p, begin, end
        floating acc = 0
    if X.indptr == NULL:
        begin = i * X.n_features
        end = begin + X.n_features
    else:
        begin = X.indptr[i]
        end = X.indptr[i + 1]
    for p in range(begin, end):
        acc += values[p] * values[p]
    return acc


cdef inline double row_sq_distance(const floating* values, Rows X, Py_ssize_t i,
                                   const floating* center,
                                   double center_sq_norm) noexcept nogil:
    """||x_i - center||^2 in float64; center_sq_norm = ||center||^2 is read
    for sparse rows only, which then cost their stored values, not n_features."""
    cdef:
        Py_ssize_t p
        double c, diff, acc
    if X.indptr == NULL:
        if floating is float:
            return iwk_sq_distance_float(values + i * X.n_features, center,
                                         X.n_features)
        return iwk_sq_distance_double(values + i * X.n_features, center,
                                      X.n_features)
    acc = center_sq_norm
    for p in range(X.indptr[i], X.indptr[i + 1]):
        c = center[X.indices[p]]
        diff = <double> values[p] - c
        acc += diff * diff - c * c
    return acc if acc > 0 else 0.0


cdef inline void add_row(double* acc, double w, const floating* values, Rows X,
                         Py_ssize_t i, int f_begin, int f_end) noexcept nogil:
    """acc[f - f_begin] += w * x_i[f] for the features f_begin <= f < f_end."""
    cdef:
        Py_ssize_t p
        int f
    if X.indptr == NULL:
        if floating is float:
            iwk_add_scaled_float(acc, w, values + i * X.n_features + f_begin,
                                 f_end - f_begin)
        else:
            iwk_add_scaled_double(acc, w, values + i * X.n_features + f_begin,
                                  f_end - f_begin)
        return
    for p in range(X.indptr[i], X.indptr[i + 1]):
        f = X.indices[p]
        if f_begin <= f < f_end:
            acc[f - f_begin] += w * values[p]


cdef inline void dense_row(const floating* values, Rows X, Py_ssize_t i,
                           floating* out) noexcept nogil:
    """out (n_features,) = x_i."""
    cdef:
        Py_ssize_t p
        int f
    if X.indptr == NULL:
        for f in range(X.n_features):
            out[f] = values[i * X.n_features + f]
        return
    memset(out, 0, X.n_features * sizeof(floating))
    for p in range(X.indptr[i], X.indptr[i + 1]):
        out[X.indices[p]] = values[p]
