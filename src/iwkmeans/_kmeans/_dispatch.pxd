# The C kernels, one entry per kernel over X's precision.
#
# simd.h (and BLAS) give every kernel twice, iwk_<name>_float and
# iwk_<name>_double (sgemm and dgemm). They are declared here once, and each
# pair is wrapped in one inline function over `floating`, iwk_<name>
# (gemm), so that the Lloyd and seeding kernels are written once for both
# precisions: the `if floating is float` that picks the C function lives
# here, and only here. Cython resolves the branch when it specialises a
# function, so a wrapper costs nothing: the C compiler sees a direct call.
#
# The wrappers are inline, defined in this .pxd rather than in a .pyx: a
# cdef function cimported from another module is called through a pointer
# and cannot be inlined, and simd.h's functions are static, compiled into
# every module that includes the header.
#
# Pointer arguments are marked IN (read), OUT (written) or INOUT (both) in
# each docstring; simd.h documents what each kernel computes.
from cython cimport floating
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef extern from "simd.h":
    int iwk_small_lanes(int is_double) noexcept nogil
    int iwk_fused_width(int is_double) noexcept nogil
    int iwk_fused512_width(int is_double) noexcept nogil
    int iwk_fused_padded(int n_centers, int width) noexcept nogil
    void iwk_frame_float(const float* x, int n_rows, int n_features, double scale,
                         const float* shift, float* out) noexcept nogil
    void iwk_frame_double(const double* x, int n_rows, int n_features, double scale,
                          const double* shift, double* out) noexcept nogil
    void iwk_column_sums_float(const float* X, int n_rows, int n_features,
                               double scale, const float* shift, const double* mean,
                               double* sums) noexcept nogil
    void iwk_column_sums_double(const double* X, int n_rows, int n_features,
                                double scale, const double* shift, const double* mean,
                                double* sums) noexcept nogil
    double iwk_half_extent_float(const float* x, int n_rows, int n_features,
                                 const double* half_reference,
                                 float* bounds) noexcept nogil
    double iwk_half_extent_double(const double* x, int n_rows, int n_features,
                                  const double* half_reference,
                                  double* bounds) noexcept nogil
    void iwk_add_scaled_float(double* acc, double w, const float* x, int n,
                              double scale, const float* shift) noexcept nogil
    void iwk_add_scaled_double(double* acc, double w, const double* x, int n,
                               double scale, const double* shift) noexcept nogil
    double iwk_sq_distance_float(const float* x, double scale, const float* shift,
                                 const float* c, int n) noexcept nogil
    double iwk_sq_distance_double(const double* x, double scale, const double* shift,
                                  const double* c, int n) noexcept nogil
    void iwk_columns_min_float(const float* dots, const float* norms, int n_centers,
                               int n_rows, float* nearest, int32_t* best) noexcept nogil
    void iwk_columns_min_double(const double* dots, const double* norms,
                                int n_centers, int n_rows, double* nearest,
                                int64_t* best) noexcept nogil
    void iwk_row_min_float(const float* dots, int stride, const float* norms,
                           int n_rows, int n_centers, float* nearest,
                           int32_t* best) noexcept nogil
    void iwk_row_min_double(const double* dots, int stride, const double* norms,
                            int n_rows, int n_centers, double* nearest,
                            int64_t* best) noexcept nogil
    int64_t iwk_labels_float(const int32_t* best, const float* nearest, int n_rows,
                             int first, int n_scanned, int n_fixed,
                             const int* fixed_label,
                             const float* fixed_nearest, float* out_nearest,
                             int* labels, int* target) noexcept nogil
    int64_t iwk_labels_double(const int64_t* best, const double* nearest, int n_rows,
                              int first, int n_scanned, int n_fixed,
                              const int* fixed_label,
                              const double* fixed_nearest, double* out_nearest,
                              int* labels, int* target) noexcept nogil
    void iwk_accumulate_float(const float* X, int n_rows, int n_features,
                              double scale, const float* shift, const float* w,
                              const int* target, double* sums) noexcept nogil
    void iwk_accumulate_double(const double* X, int n_rows, int n_features,
                               double scale, const double* shift, const double* w,
                               const int* target, double* sums) noexcept nogil
    void iwk_nearest_small_float(const float* X, int n_rows, int n_features,
                                 const float* centers_t, const float* norms,
                                 float* nearest, int32_t* best) noexcept nogil
    void iwk_nearest_small_double(const double* X, int n_rows, int n_features,
                                  const double* centers_t, const double* norms,
                                  double* nearest, int64_t* best) noexcept nogil
    void iwk_nearest_packed_float(const float* packed, int n_rows, int n_features,
                                  const float* centers, const float* norms,
                                  int n_centers, float* nearest,
                                  int32_t* best) noexcept nogil
    void iwk_nearest_packed_double(const double* packed, int n_rows, int n_features,
                                   const double* centers, const double* norms,
                                   int n_centers, double* nearest,
                                   int64_t* best) noexcept nogil
    void iwk_fused_pack_float(const float* centers, int n_centers, int n_features,
                              float scale, int width, float* panels,
                              float* norms) noexcept nogil
    void iwk_fused_pack_double(const double* centers, int n_centers, int n_features,
                               double scale, int width, double* panels,
                               double* norms) noexcept nogil
    void iwk_nearest_fused512_float(const float* x, int n_rows, int n_features,
                                    const float* panels, const float* norms,
                                    int n_centers, int width, float* nearest,
                                    int32_t* best) noexcept nogil
    void iwk_nearest_fused512_double(const double* x, int n_rows, int n_features,
                                     const double* panels, const double* norms,
                                     int n_centers, int width, double* nearest,
                                     int64_t* best) noexcept nogil
    void iwk_nearest_fused_float(const float* x, int n_rows, int n_features,
                                 const float* panels, const float* norms,
                                 int n_centers, int width, float* nearest,
                                 int32_t* best) noexcept nogil
    void iwk_nearest_fused_double(const double* x, int n_rows, int n_features,
                                  const double* panels, const double* norms,
                                  int n_centers, int width, double* nearest,
                                  int64_t* best) noexcept nogil
    int iwk_score_fused_float(
        const float* X, int n_rows, int n_features, const float* centers_t, int width,
        const float* norms, int n_centers, const float* x_norms, const float* closest,
        const float* weights, double* partial, int32_t* improved,
        float* values) noexcept nogil
    int iwk_score_fused_double(
        const double* X, int n_rows, int n_features, const double* centers_t,
        int width, const double* norms, int n_centers, const double* x_norms,
        const double* closest, const double* weights, double* partial,
        int32_t* improved, double* values) noexcept nogil
    int iwk_score_small_float(
        const float* X, int n_rows, int n_features, const float* centers_t,
        const float* norms, int n_centers, const float* x_norms,
        const float* closest, const float* weights, double* partial,
        int32_t* improved, float* values) noexcept nogil
    int iwk_score_small_double(
        const double* X, int n_rows, int n_features, const double* centers_t,
        const double* norms, int n_centers, const double* x_norms,
        const double* closest, const double* weights, double* partial,
        int32_t* improved, double* values) noexcept nogil
    int iwk_score_packed_float(
        const float* packed, int n_rows, int n_features, const float* candidates,
        const float* cand_norms, int n_cand, const float* x_norms,
        const float* closest, const float* weights, double* partial,
        int32_t* improved, float* values) noexcept nogil
    int iwk_score_packed_double(
        const double* packed, int n_rows, int n_features, const double* candidates,
        const double* cand_norms, int n_cand, const double* x_norms,
        const double* closest, const double* weights, double* partial,
        int32_t* improved, double* values) noexcept nogil
    int iwk_score_packed_avx2_float(
        const float* packed, int n_rows, int n_features, const float* candidates,
        const float* cand_norms, int n_cand, const float* x_norms,
        const float* closest, const float* weights, double* partial,
        int32_t* improved, float* values) noexcept nogil
    int iwk_score_packed_avx2_double(
        const double* packed, int n_rows, int n_features, const double* candidates,
        const double* cand_norms, int n_cand, const double* x_norms,
        const double* closest, const double* weights, double* partial,
        int32_t* improved, double* values) noexcept nogil


# The index of each row's nearest center, as the argmin kernels write it.
# Its width is the width of the values (int32 for float data, int64 for
# double): an AVX-512 argmin keeps the indices in the lanes of the values
# (16 of each, or 8), and that is what makes it fast. The width depends on
# X's type, which a plain variable cannot: callers hold this union, and only
# the functions below choose the member, of_float where the values (nearest)
# are float and of_double where they are double. The buffer is allocated
# with room for the wider indices (new_argmin), so either member may read it.
cdef union Argmin:
    int32_t* of_float
    int64_t* of_double


cdef inline Argmin new_argmin(Py_ssize_t n) noexcept nogil:
    """Room for n indices of either width, for the caller to release with
    free_argmin; missing(result) if memory ran out."""
    cdef Argmin best
    best.of_double = <int64_t*> malloc(n * sizeof(int64_t))
    return best


cdef inline bint missing(Argmin best) noexcept nogil:
    """Whether best has no buffer: new_argmin ran out of memory."""
    return best.of_double == NULL


cdef inline void free_argmin(Argmin best) noexcept nogil:
    """Release a buffer of new_argmin (nothing for a missing one)."""
    free(best.of_double)


cdef inline void start_argmin(floating* nearest, Argmin best,
                              int n_rows) noexcept nogil:
    """Start a running argmin (iwk_columns_min) over rows: nearest[i] = +inf
    and best[i] = 0. OUT: nearest (n_rows,), best (n_rows,)."""
    cdef int i
    for i in range(n_rows):
        nearest[i] = INFINITY
    if floating is float:
        memset(best.of_float, 0, n_rows * sizeof(int32_t))
    else:
        memset(best.of_double, 0, n_rows * sizeof(int64_t))


cdef inline void gemm(char trans_a, char trans_b, int m, int n, int k, floating alpha,
                      const floating* a, int ld_a, const floating* b, int ld_b,
                      floating beta, floating* c, int ld_c) noexcept nogil:
    """BLAS's c = alpha op(a) op(b) + beta c, column-major, sgemm or dgemm.
    IN: a, b. OUT: c (beta is 0 for every caller). BLAS's Fortran interface
    takes every argument by pointer, and non-const ones: a and b are only
    read."""
    if floating is float:
        sgemm(&trans_a, &trans_b, &m, &n, &k, &alpha, <float*> a, &ld_a,
              <float*> b, &ld_b, &beta, c, &ld_c)
    else:
        dgemm(&trans_a, &trans_b, &m, &n, &k, &alpha, <double*> a, &ld_a,
              <double*> b, &ld_b, &beta, c, &ld_c)


cdef inline void iwk_frame(const floating* x, int n_rows, int n_features, double scale,
                           const floating* shift, floating* out) noexcept nogil:
    """Dense rows in the frame. IN: x (n_rows, n_features), shift
    (n_features,). OUT: out (n_rows, n_features)."""
    if floating is float:
        iwk_frame_float(x, n_rows, n_features, scale, shift, out)
    else:
        iwk_frame_double(x, n_rows, n_features, scale, shift, out)


cdef inline void iwk_column_sums(const floating* X, int n_rows, int n_features,
                                 double scale, const floating* shift,
                                 const double* mean, double* sums) noexcept nogil:
    """Per feature, in float64 and row order, the sum of the rows in the
    frame (mean NULL) or of their squared deviations from mean. IN: X
    (n_rows, n_features), shift (n_features, or NULL: rows as stored), mean
    (n_features, or NULL). INOUT: sums (n_features)."""
    if floating is float:
        iwk_column_sums_float(X, n_rows, n_features, scale, shift, mean, sums)
    else:
        iwk_column_sums_double(X, n_rows, n_features, scale, shift, mean, sums)


cdef inline double iwk_half_extent(const floating* x, int n_rows, int n_features,
                                   const double* half_reference,
                                   floating* bounds) noexcept nogil:
    """max |x - reference| / 2 over a block of dense rows. IN: x (n_rows,
    n_features), half_reference (n_features,). OUT: bounds (2 * n_features,
    scratch)."""
    if floating is float:
        return iwk_half_extent_float(x, n_rows, n_features, half_reference, bounds)
    else:
        return iwk_half_extent_double(x, n_rows, n_features, half_reference, bounds)


cdef inline void iwk_add_scaled(double* acc, double w, const floating* x, int n,
                                double scale, const floating* shift) noexcept nogil:
    """acc += w * (x in the frame). IN: x (n,), shift (n,). INOUT: acc
    (n,)."""
    if floating is float:
        iwk_add_scaled_float(acc, w, x, n, scale, shift)
    else:
        iwk_add_scaled_double(acc, w, x, n, scale, shift)


cdef inline double iwk_sq_distance(const floating* x, double scale,
                                   const floating* shift, const floating* c,
                                   int n) noexcept nogil:
    """||x in the frame - c||^2 in float64. IN: x (n,), shift (n,), c
    (n,)."""
    if floating is float:
        return iwk_sq_distance_float(x, scale, shift, c, n)
    else:
        return iwk_sq_distance_double(x, scale, shift, c, n)


cdef inline void iwk_columns_min(const floating* dots, const floating* norms,
                                 int n_centers, int n_rows, floating* nearest,
                                 Argmin best) noexcept nogil:
    """The centers' columns of a center-major block into a running argmin.
    IN: dots (n_centers, n_rows), norms (n_centers,). INOUT: nearest
    (n_rows,), best (n_rows,)."""
    if floating is float:
        iwk_columns_min_float(dots, norms, n_centers, n_rows, nearest, best.of_float)
    else:
        iwk_columns_min_double(dots, norms, n_centers, n_rows, nearest, best.of_double)


cdef inline void iwk_row_min(const floating* dots, int stride, const floating* norms,
                             int n_rows, int n_centers, floating* nearest,
                             Argmin best) noexcept nogil:
    """Argmin of each row of a sample-major block. IN: dots (n_rows rows of
    stride values), norms (n_centers,). OUT: nearest (n_rows,), best
    (n_rows,)."""
    if floating is float:
        iwk_row_min_float(dots, stride, norms, n_rows, n_centers, nearest,
                          best.of_float)
    else:
        iwk_row_min_double(dots, stride, norms, n_rows, n_centers, nearest,
                           best.of_double)


cdef inline int64_t iwk_labels(Argmin best, const floating* nearest, int n_rows,
                               int first, int n_scanned, int n_fixed,
                               const int* fixed_label, const floating* fixed_nearest,
                               floating* out_nearest, int* labels,
                               int* target) noexcept nogil:
    """A chunk's labels from its argmin; returns how many changed. IN: best,
    nearest (n_rows,), fixed_label, fixed_nearest (n_rows, or NULL). OUT:
    out_nearest (n_rows, or NULL), target (n_rows,). INOUT: labels
    (n_rows,)."""
    if floating is float:
        return iwk_labels_float(best.of_float, nearest, n_rows, first, n_scanned,
                                n_fixed, fixed_label, fixed_nearest, out_nearest,
                                labels, target)
    else:
        return iwk_labels_double(best.of_double, nearest, n_rows, first, n_scanned,
                                 n_fixed, fixed_label, fixed_nearest, out_nearest,
                                 labels, target)


cdef inline void iwk_accumulate(const floating* x, int n_rows, int n_features,
                                double scale, const floating* shift,
                                const floating* w, const int* target,
                                double* sums) noexcept nogil:
    """A chunk's weighted rows added to their centers' sums. IN: x (n_rows,
    n_features), shift (n_features, or NULL: rows already framed), w
    (n_rows,), target (n_rows,). INOUT: sums (n_centers, n_features + 1)."""
    if floating is float:
        iwk_accumulate_float(x, n_rows, n_features, scale, shift, w, target, sums)
    else:
        iwk_accumulate_double(x, n_rows, n_features, scale, shift, w, target, sums)


cdef inline void iwk_nearest_small(const floating* x, int n_rows, int n_features,
                                   const floating* centers_t, const floating* norms,
                                   floating* nearest, Argmin best) noexcept nogil:
    """Nearest of at most one vector of centers, fused (AVX-512). IN: x
    (n_rows, n_features), centers_t (n_features, lanes), norms (lanes,).
    OUT: nearest (n_rows,), best (n_rows,)."""
    if floating is float:
        iwk_nearest_small_float(x, n_rows, n_features, centers_t, norms, nearest,
                                best.of_float)
    else:
        iwk_nearest_small_double(x, n_rows, n_features, centers_t, norms, nearest,
                                 best.of_double)


cdef inline void iwk_nearest_packed(const floating* packed, int n_rows, int n_features,
                                    const floating* centers, const floating* norms,
                                    int n_centers, floating* nearest,
                                    Argmin best) noexcept nogil:
    """Nearest center of packed rows (AVX-512). IN: packed (the chunk's
    blocks of rows), centers (n_centers, n_features), norms (n_centers,).
    OUT: nearest (n_rows,), best (n_rows,)."""
    if floating is float:
        iwk_nearest_packed_float(packed, n_rows, n_features, centers, norms,
                                 n_centers, nearest, best.of_float)
    else:
        iwk_nearest_packed_double(packed, n_rows, n_features, centers, norms,
                                  n_centers, nearest, best.of_double)


cdef inline void iwk_fused_pack(const floating* centers, int n_centers, int n_features,
                                floating scale, int width, floating* panels,
                                floating* norms) noexcept nogil:
    """The centers, times scale, in the panels of iwk_nearest_fused, and
    their norms padded; padded = iwk_fused_padded(n_centers, width). IN:
    centers (n_centers, n_features). OUT: panels (padded * n_features).
    INOUT: norms (padded, the first n_centers given)."""
    if floating is float:
        iwk_fused_pack_float(centers, n_centers, n_features, scale, width, panels,
                             norms)
    else:
        iwk_fused_pack_double(centers, n_centers, n_features, scale, width, panels,
                              norms)


cdef inline void iwk_nearest_fused(const floating* x, int n_rows, int n_features,
                                   const floating* panels, const floating* norms,
                                   int n_centers, int width, floating* nearest,
                                   Argmin best) noexcept nogil:
    """Nearest center of dense rows, products and argmin fused: AVX-512's
    tile for panels of its width (iwk_fused512_width), else AVX2's (AVX2
    and FMA). IN: x (n_rows, n_features), panels and norms (see
    iwk_fused_pack, same width). OUT: nearest (n_rows,), best (n_rows,)."""
    if width == iwk_fused512_width(sizeof(floating) == sizeof(double)):
        if floating is float:
            iwk_nearest_fused512_float(x, n_rows, n_features, panels, norms,
                                       n_centers, width, nearest, best.of_float)
        else:
            iwk_nearest_fused512_double(x, n_rows, n_features, panels, norms,
                                        n_centers, width, nearest, best.of_double)
    elif floating is float:
        iwk_nearest_fused_float(x, n_rows, n_features, panels, norms, n_centers,
                                width, nearest, best.of_float)
    else:
        iwk_nearest_fused_double(x, n_rows, n_features, panels, norms, n_centers,
                                 width, nearest, best.of_double)


cdef inline int iwk_score_small(const floating* x, int n_rows, int n_features,
                                const floating* centers_t, const floating* norms,
                                int n_centers, const floating* x_norms,
                                const floating* closest, const floating* weights,
                                double* partial, int32_t* improved,
                                floating* values) noexcept nogil:
    """k-means++ candidates scored over a chunk of dense rows, fused
    (AVX-512); returns the number of improved rows. IN: x (n_rows,
    n_features), centers_t (n_features, lanes), norms (lanes,), x_norms,
    closest, weights (n_rows,). OUT: partial (n_centers,), improved,
    values."""
    if floating is float:
        return iwk_score_small_float(x, n_rows, n_features, centers_t, norms,
                                     n_centers, x_norms, closest, weights, partial,
                                     improved, values)
    else:
        return iwk_score_small_double(x, n_rows, n_features, centers_t, norms,
                                      n_centers, x_norms, closest, weights, partial,
                                      improved, values)


cdef inline int iwk_score_fused(const floating* x, int n_rows, int n_features,
                                const floating* centers_t, int width,
                                const floating* norms, int n_centers,
                                const floating* x_norms, const floating* closest,
                                const floating* weights, double* partial,
                                int32_t* improved, floating* values) noexcept nogil:
    """k-means++ candidates scored over a chunk of dense rows, fused (AVX2
    and FMA), at most ``width`` of them (the fused kernel's panel); returns
    the number of improved rows. IN: x (n_rows, n_features), centers_t
    (n_features, width), norms (width,), x_norms, closest, weights
    (n_rows,). OUT: partial (n_centers,), improved, values."""
    if floating is float:
        return iwk_score_fused_float(x, n_rows, n_features, centers_t, width, norms,
                                     n_centers, x_norms, closest, weights, partial,
                                     improved, values)
    else:
        return iwk_score_fused_double(x, n_rows, n_features, centers_t, width, norms,
                                      n_centers, x_norms, closest, weights, partial,
                                      improved, values)


cdef inline int iwk_score_packed(const floating* packed, int n_rows, int n_features,
                                 const floating* candidates,
                                 const floating* cand_norms, int n_cand,
                                 const floating* x_norms, const floating* closest,
                                 const floating* weights, double* partial,
                                 int32_t* improved, floating* values) noexcept nogil:
    """k-means++ candidates scored over packed rows, by the AVX-512 kernel
    where the CPU has it, else by AVX2's (packed_lanes chose the blocks'
    width for the same CPU); returns the number of improved blocks. IN:
    packed, candidates (n_cand, n_features), cand_norms (n_cand,), x_norms,
    closest, weights (n_rows,). OUT: partial (n_cand,), improved, values."""
    if iwk_small_lanes(sizeof(floating) == sizeof(double)) == 0:
        if floating is float:
            return iwk_score_packed_avx2_float(packed, n_rows, n_features, candidates,
                                               cand_norms, n_cand, x_norms, closest,
                                               weights, partial, improved, values)
        else:
            return iwk_score_packed_avx2_double(packed, n_rows, n_features,
                                                candidates, cand_norms, n_cand,
                                                x_norms, closest, weights, partial,
                                                improved, values)
    if floating is float:
        return iwk_score_packed_float(packed, n_rows, n_features, candidates,
                                      cand_norms, n_cand, x_norms, closest, weights,
                                      partial, improved, values)
    else:
        return iwk_score_packed_double(packed, n_rows, n_features, candidates,
                                       cand_norms, n_cand, x_norms, closest, weights,
                                       partial, improved, values)
