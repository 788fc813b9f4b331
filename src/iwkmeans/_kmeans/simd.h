/* The few inner loops that decide the speed of a Lloyd iteration, in C.

   C gives `restrict` (otherwise the compiler must assume that inputs and
   outputs overlap) and access to the CPU's vector units. Baseline x86-64
   (SSE2) has no vector select, no FMA and only 128-bit registers, so on GCC
   and clang for x86-64 these functions are also compiled for AVX2 and
   AVX-512 and the loader picks the best clone for the CPU (the runtime
   dispatch NumPy and OpenBLAS use). Every thread runs the same clone, so
   results never depend on the thread count. */
#ifndef IWKMEANS_SIMD_H
#define IWKMEANS_SIMD_H

#include <math.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(__APPLE__)
#define IWK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define IWK_AVX512 1
#include <immintrin.h>
#endif
#endif
#ifndef IWK_CLONES
#define IWK_CLONES
#endif
/* Every module that reads samples includes this header; not all use every
   function. */
#if defined(__GNUC__) || defined(__clang__)
#define IWK_STATIC static __attribute__((unused))
#else
#define IWK_STATIC static
#endif

/* Running argmin over one center's column of a center-major distance block:
   branch-free (every load happens before the selects) and with an index as
   wide as the value, so that it vectorises. A select does no arithmetic, so
   every clone gives the same result. */
#define IWK_COLUMN_MIN(NAME, T, I)                                            \
    IWK_CLONES IWK_STATIC void NAME(const T *restrict column, T norm, I index,    \
                                int n_rows, T *restrict nearest,              \
                                I *restrict best)                             \
    {                                                                         \
        for (int i = 0; i < n_rows; ++i) {                                    \
            T value = column[i] + norm, current = nearest[i];                 \
            I seen = best[i];                                                 \
            best[i] = value < current ? index : seen;                         \
            nearest[i] = value < current ? value : current;                   \
        }                                                                     \
    }

IWK_COLUMN_MIN(iwk_column_min_float, float, int32_t)
IWK_COLUMN_MIN(iwk_column_min_double, double, int64_t)

/* The frame. Every kernel computes with y = x * scale - shift[f] (see
   _rows.pxd): the samples measured from a reference point near the data and
   rescaled by a power of two, so that data far from the origin keep their
   precision and no square overflows or underflows. In X's precision T:
   x * scale is exact (a power of two that the caller keeps, with shift,
   within T's normal range) and the difference is rounded once, exactly the
   value a centered copy of X would hold, computed on the fly instead of
   stored. */
#define IWK_FRAMED(T, x, f, scale, shift)                                     \
    ((T)(x) * (T)(scale) - (shift)[f])

/* out (n_rows, n_features) = the dense rows x in the frame. */
#define IWK_FRAME(T)                                                          \
    IWK_CLONES IWK_STATIC void iwk_frame_##T(                                 \
        const T *restrict x, int n_rows, int n_features, double scale,        \
        const T *restrict shift, T *restrict out)                             \
    {                                                                         \
        for (int i = 0; i < n_rows; ++i) {                                    \
            const T *row = x + (int64_t)i * n_features;                       \
            T *framed = out + (int64_t)i * n_features;                        \
            for (int f = 0; f < n_features; ++f)                              \
                framed[f] = IWK_FRAMED(T, row[f], f, scale, shift);           \
        }                                                                     \
    }

IWK_FRAME(float)
IWK_FRAME(double)

/* max |x - reference| / 2 over a block of dense rows, given half_reference
   = reference / 2: halving first keeps the difference finite for any finite
   values. top: scratch space of n_features values. */
#define IWK_HALF_EXTENT(T)                                                    \
    IWK_CLONES IWK_STATIC double iwk_half_extent_##T(                         \
        const T *restrict x, int n_rows, int n_features,                      \
        const double *restrict half_reference, double *restrict top)          \
    {                                                                         \
        /* Per-feature maxima (top, n_features values, zeroed here): an      \
           elementwise maximum vectorises, a scalar one would not. */         \
        for (int f = 0; f < n_features; ++f)                                  \
            top[f] = 0.0;                                                     \
        for (int i = 0; i < n_rows; ++i) {                                    \
            const T *row = x + (int64_t)i * n_features;                       \
            for (int f = 0; f < n_features; ++f) {                            \
                double d = fabs(0.5 * (double)row[f] - half_reference[f]);    \
                top[f] = d > top[f] ? d : top[f];                             \
            }                                                                 \
        }                                                                     \
        double most = 0.0;                                                    \
        for (int f = 0; f < n_features; ++f)                                  \
            most = top[f] > most ? top[f] : most;                             \
        return most;                                                          \
    }

IWK_HALF_EXTENT(float)
IWK_HALF_EXTENT(double)

/* acc[f] += w * y[f]: a sample's share of its center's sum, in float64,
   with y the row x in the frame (shift not NULL) or x itself (shift NULL:
   rows already framed). The loop lives in an always-inlined function,
   compiled into each clone that calls it: the per-row entry point below and
   the per-chunk iwk_accumulate_*. */
#define IWK_AXPY(T)                                                           \
    static inline __attribute__((always_inline)) void iwk_axpy_##T(           \
        double *restrict acc, double w, const T *restrict x, int n,           \
        double scale, const T *restrict shift)                                \
    {                                                                         \
        if (shift == NULL) {                                                  \
            for (int f = 0; f < n; ++f)                                       \
                acc[f] += w * (double)x[f];                                   \
            return;                                                           \
        }                                                                     \
        for (int f = 0; f < n; ++f)                                           \
            acc[f] += w * (double)IWK_FRAMED(T, x[f], f, scale, shift);       \
    }

IWK_AXPY(float)
IWK_AXPY(double)

#define IWK_ADD_SCALED(NAME, T)                                               \
    IWK_CLONES IWK_STATIC void NAME(double *restrict acc, double w,           \
                                    const T *restrict x, int n, double scale, \
                                    const T *restrict shift)                  \
    {                                                                         \
        iwk_axpy_##T(acc, w, x, n, scale, shift);                             \
    }

IWK_ADD_SCALED(iwk_add_scaled_float, float)
IWK_ADD_SCALED(iwk_add_scaled_double, double)

/* Exact ||y - c||^2 in double, y the row x in the frame and c a center
   (already in the frame), for the totals that are reported (inertia,
   per-sample distances). Eight running sums, one vector of them, rather
   than one: a single chain of additions waits on each addition's latency. */
#define IWK_SQ_DISTANCE(T)                                                    \
    IWK_CLONES IWK_STATIC double iwk_sq_distance_##T(                         \
        const T *restrict x, double scale, const T *restrict shift,           \
        const T *restrict c, int n)                                           \
    {                                                                         \
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                             \
        int f = 0;                                                            \
        for (; f + 8 <= n; f += 8)                                            \
            for (int l = 0; l < 8; ++l) {                                     \
                double diff = (double)IWK_FRAMED(T, x[f + l], f + l, scale,   \
                                                 shift) - (double)c[f + l];   \
                acc[l] += diff * diff;                                        \
            }                                                                 \
        for (int l = 0; f < n; ++f, ++l) {                                    \
            double diff = (double)IWK_FRAMED(T, x[f], f, scale, shift)        \
                          - (double)c[f];                                     \
            acc[l] += diff * diff;                                            \
        }                                                                     \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3]))                        \
               + ((acc[4] + acc[5]) + (acc[6] + acc[7]));                     \
    }

IWK_SQ_DISTANCE(float)
IWK_SQ_DISTANCE(double)

/* Labels of a chunk from the nearest scanned center (best, offset by first;
   an index outside the n_scanned centers, which only a NaN distance can give,
   reads as the first, so that no label ever leaves the range of centers)
   and, when the fixed centers were scanned once before (fixed_label not
   NULL), the nearest fixed one, which wins ties: it has the lower index.
   Also writes out_nearest (if not NULL) and target (the free center taking
   the row's statistics, or -1). Returns how many labels changed. All
   pointers start at the chunk's first row. */
#define IWK_LABELS(NAME, T, I)                                                \
    IWK_STATIC int64_t NAME(const I *restrict best, const T *restrict nearest, \
                            int n_rows, int first, int n_scanned, int n_fixed, \
                            const int *restrict fixed_label,                  \
                            const T *restrict fixed_nearest,                  \
                            T *restrict out_nearest, int *restrict labels,    \
                            int *restrict target)                             \
    {                                                                         \
        int64_t changed = 0;                                                  \
        for (int i = 0; i < n_rows; ++i) {                                    \
            int label = first + ((uint64_t)best[i] < (uint64_t)n_scanned      \
                                 ? (int)best[i] : 0);                         \
            if (fixed_label != NULL && fixed_nearest[i] <= nearest[i])        \
                label = fixed_label[i];                                       \
            if (out_nearest != NULL)                                          \
                out_nearest[i] = nearest[i];                                  \
            changed += labels[i] != label;                                    \
            labels[i] = label;                                                \
            target[i] = label >= n_fixed ? label - n_fixed : -1;              \
        }                                                                     \
        return changed;                                                       \
    }

IWK_LABELS(iwk_labels_float, float, int32_t)
IWK_LABELS(iwk_labels_double, double, int64_t)

/* sums[target[i]] += w[i] * [y_i, 1] over a chunk of dense rows x_i, y_i
   in the frame (as in iwk_axpy_*), (rows with
   target -1 belong to no free center): a chunk's statistics, each center's
   row of sums being (n_features + 1) float64, the last the weight. Rows are
   added in order, as one call per chunk rather than one per row. */
#define IWK_ACCUMULATE(T)                                                     \
    IWK_CLONES IWK_STATIC void iwk_accumulate_##T(                            \
        const T *restrict X, int n_rows, int n_features, double scale,        \
        const T *restrict shift, const T *restrict w,                         \
        const int *restrict target, double *restrict sums)                    \
    {                                                                         \
        for (int i = 0; i < n_rows; ++i) {                                    \
            if (target[i] < 0)                                                \
                continue;                                                     \
            double *acc = sums + (int64_t)target[i] * (n_features + 1);       \
            iwk_axpy_##T(acc, (double)w[i], X + (int64_t)i * n_features,      \
                         n_features, scale, shift);                           \
            acc[n_features] += (double)w[i];                                  \
        }                                                                     \
    }

IWK_ACCUMULATE(float)
IWK_ACCUMULATE(double)

/* Per row of a sample-major block (row i at dots + i * stride), the index j
   of the smallest dots[j] + norms[j] (ties: lowest j) and that value.

   A compiler cannot vectorise an argmin along a row by itself. With AVX-512
   each row takes a vector minimum over blocks of lanes, then the first lane
   that equals it: the same value (a minimum does no arithmetic) and the same
   index (the lowest) as the scalar loop, which serves every other CPU. */
#define IWK_ROW_MIN_SCALAR(NAME, T, I)                                        \
    IWK_STATIC void NAME(const T *restrict dots, int stride,                      \
                     const T *restrict norms, int n_rows, int n_centers,      \
                     T *restrict nearest, I *restrict best)                   \
    {                                                                         \
        for (int i = 0; i < n_rows; ++i) {                                    \
            const T *row = dots + (int64_t)i * stride;                        \
            T low = row[0] + norms[0];                                        \
            I label = 0;                                                      \
            for (int j = 1; j < n_centers; ++j) {                             \
                T value = row[j] + norms[j];                                  \
                label = value < low ? j : label;                              \
                low = value < low ? value : low;                              \
            }                                                                 \
            nearest[i] = low;                                                 \
            best[i] = label;                                                  \
        }                                                                     \
    }

IWK_ROW_MIN_SCALAR(iwk_row_min_scalar_float, float, int32_t)
IWK_ROW_MIN_SCALAR(iwk_row_min_scalar_double, double, int64_t)

/* Mask of the first min(left, W) lanes of a W-lane vector: the lanes that
   hold data at the end of a row or a block of rows. */
#define IWK_FIRST_LANES(M, left, W)                                           \
    ((M)((left) >= (W) ? (M)~(M)0 : (M)((1u << (left)) - 1)))

#ifdef IWK_AVX512
/* V: vector type, W: lanes, M: mask type, S: intrinsic suffix. Lanes past
   n_centers hold +inf, which never wins. */
#define IWK_ROW_MIN_AVX512(NAME, T, I, V, W, M, S)                            \
    __attribute__((target("avx512f"))) IWK_STATIC void NAME(                      \
        const T *restrict dots, int stride, const T *restrict norms,          \
        int n_rows, int n_centers, T *restrict nearest, I *restrict best)     \
    {                                                                         \
        const V inf = _mm512_set1_##S((T)INFINITY);                           \
        for (int i = 0; i < n_rows; ++i) {                                    \
            const T *row = dots + (int64_t)i * stride;                        \
            V low = inf;                                                      \
            for (int j = 0; j < n_centers; j += W) {                          \
                int left = n_centers - j;                                     \
                M lanes = IWK_FIRST_LANES(M, left, W);                         \
                V value = _mm512_add_##S(                                     \
                    _mm512_mask_loadu_##S(inf, lanes, row + j),               \
                    _mm512_mask_loadu_##S(inf, lanes, norms + j));            \
                low = _mm512_min_##S(low, value);                             \
            }                                                                 \
            T minimum = _mm512_reduce_min_##S(low);                           \
            V target = _mm512_set1_##S(minimum);                              \
            best[i] = 0; /* a NaN minimum matches no lane */                 \
            for (int j = 0; j < n_centers; j += W) {                          \
                int left = n_centers - j;                                     \
                M lanes = IWK_FIRST_LANES(M, left, W);                         \
                V value = _mm512_add_##S(                                     \
                    _mm512_mask_loadu_##S(inf, lanes, row + j),               \
                    _mm512_mask_loadu_##S(inf, lanes, norms + j));            \
                M hit = _mm512_mask_cmp_##S##_mask(lanes, value, target,      \
                                                  _CMP_EQ_OQ);                \
                if (hit) {                                                    \
                    best[i] = j + __builtin_ctz((unsigned)hit);               \
                    break;                                                    \
                }                                                             \
            }                                                                 \
            nearest[i] = minimum;                                             \
        }                                                                     \
    }

IWK_ROW_MIN_AVX512(iwk_row_min_avx512_float, float, int32_t, __m512, 16,
                   __mmask16, ps)
IWK_ROW_MIN_AVX512(iwk_row_min_avx512_double, double, int64_t, __m512d, 8,
                   __mmask8, pd)
#endif

/* Dots of a chunk of dense rows with a few centers, at most one vector of
   them (16 float or 8 double): each row's dots stay in one register, and 8
   rows are interleaved so that their chains of multiply-adds overlap. For so
   few centers this does the work of a GEMM in a fraction of its time, whose
   cost on such thin products is mostly overhead. centers_t is
   (n_features, lanes), zero past the last center. The body of a function
   with arguments X, n_rows, n_features and centers_t; FINISH(dots, row, ...)
   consumes each row's dots in a register. */
#ifdef IWK_AVX512
#define IWK_SMALL_ROWS 8
#define IWK_SMALL_DOTS(T, V, S, FINISH, ...)                                  \
    const int lanes = (int)(sizeof(V) / sizeof(T));                           \
    int i = 0;                                                                \
    for (; i + IWK_SMALL_ROWS <= n_rows; i += IWK_SMALL_ROWS) {               \
        const T *x = X + (int64_t)i * n_features;                             \
        V acc[IWK_SMALL_ROWS];                                                \
        for (int r = 0; r < IWK_SMALL_ROWS; ++r)                              \
            acc[r] = _mm512_setzero_##S();                                    \
        for (int f = 0; f < n_features; ++f) {                                \
            V c = _mm512_loadu_##S(centers_t + f * lanes);                    \
            for (int r = 0; r < IWK_SMALL_ROWS; ++r)                          \
                acc[r] = _mm512_fmadd_##S(                                    \
                    _mm512_set1_##S(x[(int64_t)r * n_features + f]), c,       \
                    acc[r]);                                                  \
        }                                                                     \
        for (int r = 0; r < IWK_SMALL_ROWS; ++r)                              \
            FINISH(acc[r], i + r, __VA_ARGS__);                               \
    }                                                                         \
    for (; i < n_rows; ++i) {                                                 \
        const T *x = X + (int64_t)i * n_features;                             \
        V acc = _mm512_setzero_##S();                                         \
        for (int f = 0; f < n_features; ++f)                                  \
            acc = _mm512_fmadd_##S(_mm512_set1_##S(x[f]),                     \
                                   _mm512_loadu_##S(centers_t + f * lanes),   \
                                   acc);                                      \
        FINISH(acc, i, __VA_ARGS__);                                          \
    }

#define IWK_AVX512_INLINE \
    __attribute__((target("avx512f"), always_inline)) static inline

/* Nearest of the few centers for a chunk of dense rows, dots and argmin
   fused. norms has +inf past the last center, so those lanes never win. Ties
   go to the lowest index, as everywhere. */
#define IWK_NEAREST_SMALL(NAME, T, I, V, M, S)                                \
    IWK_AVX512_INLINE void NAME##_finish(V dots, int row, V norms,            \
                                         T *nearest, I *best)                 \
    {                                                                         \
        V value = _mm512_fmadd_##S(dots, _mm512_set1_##S((T)-2), norms);      \
        T minimum = _mm512_reduce_min_##S(value);                             \
        M hit = _mm512_cmp_##S##_mask(value, _mm512_set1_##S(minimum),        \
                                      _CMP_EQ_OQ);                            \
        nearest[row] = minimum;                                               \
        best[row] = hit ? __builtin_ctz((unsigned)hit) : 0; /* NaN: none */   \
    }                                                                         \
    __attribute__((target("avx512f"))) IWK_STATIC void NAME(                  \
        const T *restrict X, int n_rows, int n_features,                      \
        const T *restrict centers_t, const T *restrict norms,                 \
        T *restrict nearest, I *restrict best)                                \
    {                                                                         \
        const V norm = _mm512_loadu_##S(norms);                               \
        IWK_SMALL_DOTS(T, V, S, NAME##_finish, norm, nearest, best)           \
    }

IWK_NEAREST_SMALL(iwk_nearest_small_float, float, int32_t, __m512, __mmask16, ps)
IWK_NEAREST_SMALL(iwk_nearest_small_double, double, int64_t, __m512d, __mmask8, pd)

/* sums += w * value, in double, as the scalar loops add potentials. */
IWK_AVX512_INLINE void iwk_add_weighted_double(__m512d *sums, double w, __m512d value)
{
    sums[0] = _mm512_add_pd(sums[0], _mm512_mul_pd(_mm512_set1_pd(w), value));
}
IWK_AVX512_INLINE void iwk_add_weighted_float(__m512d *sums, double w, __m512 value)
{
    __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(value));
    __m512d high = _mm512_cvtps_pd(_mm256_castpd_ps(
        _mm512_extractf64x4_pd(_mm512_castps_pd(value), 1)));
    sums[0] = _mm512_add_pd(sums[0], _mm512_mul_pd(_mm512_set1_pd(w), low));
    sums[1] = _mm512_add_pd(sums[1], _mm512_mul_pd(_mm512_set1_pd(w), high));
}

/* k-means++ candidates for a chunk of dense rows (at most one vector of
   them): for row i and candidate j, value = min(closest_i, d(x_i, c_j)),
   what the row's closest squared distance becomes if c_j is adopted, with
   d = max(0, ||x_i||^2 - 2 <x_i, c_j> + ||c_j||^2). partial[j] = the sum
   over the rows of w_i value, in row order and in double, as the scalar
   path adds it. Only rows that some candidate brings closer are kept: their
   index in the chunk goes to improved[m], m = 0 .. the count returned, and
   their values to values[row * n_centers + j]. The rest keep closest_i
   whichever candidate wins. Past the last candidate, centers_t
   and norms hold any padding (zero and +inf from transposed_centers): those
   lanes are never stored, compared or reported. */
#define IWK_SCORE_SMALL(NAME, T, V, M, S)                                     \
    IWK_AVX512_INLINE void NAME##_finish(                                     \
        V dots, int row, V norms, M lanes_used, int n_centers,                \
        const T *x_norms, const T *closest, const T *weights, __m512d *sums,  \
        int32_t *improved, T *values, int *n_improved)                        \
    {                                                                         \
        V value = _mm512_add_##S(                                             \
            _mm512_fmadd_##S(dots, _mm512_set1_##S((T)-2),                    \
                             _mm512_set1_##S(x_norms[row])), norms);          \
        const V nearest = _mm512_set1_##S(closest[row]);                      \
        value = _mm512_max_##S(value, _mm512_setzero_##S());                  \
        M closer = _mm512_mask_cmp_##S##_mask(lanes_used, value, nearest,     \
                                              _CMP_LT_OQ);                    \
        value = _mm512_min_##S(value, nearest);                               \
        iwk_add_weighted_##T(sums, (double)weights[row], value);              \
        if (closer) {                                                         \
            _mm512_mask_storeu_##S(values + (int64_t)row * n_centers,         \
                                   lanes_used, value);                        \
            improved[(*n_improved)++] = row;                                  \
        }                                                                     \
    }                                                                         \
    __attribute__((target("avx512f"))) IWK_STATIC int NAME(                   \
        const T *restrict X, int n_rows, int n_features,                      \
        const T *restrict centers_t, const T *restrict norms, int n_centers,  \
        const T *restrict x_norms, const T *restrict closest,                 \
        const T *restrict weights, double *restrict partial,                  \
        int32_t *restrict improved, T *restrict values)                       \
    {                                                                         \
        const V norm = _mm512_loadu_##S(norms);                               \
        const M lanes_used = (M)((1u << n_centers) - 1);                      \
        __m512d sums[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};         \
        double total[16];                                                     \
        int n_improved = 0;                                                   \
        IWK_SMALL_DOTS(T, V, S, NAME##_finish, norm, lanes_used, n_centers,   \
                       x_norms, closest, weights, sums, improved, values,     \
                       &n_improved)                                           \
        _mm512_storeu_pd(total, sums[0]);                                     \
        _mm512_storeu_pd(total + 8, sums[1]);                                 \
        for (int j = 0; j < n_centers; ++j)                                   \
            partial[j] = total[j];                                            \
        return n_improved;                                                    \
    }

IWK_SCORE_SMALL(iwk_score_small_float, float, __m512, __mmask16, ps)
IWK_SCORE_SMALL(iwk_score_small_double, double, __m512d, __mmask8, pd)

/* The same scoring with the rows in the lanes and the candidates in
   registers, for dense rows packed feature-major in blocks of one vector of
   rows (lanes rows: packed[(b * n_features + f) * lanes + l] holds feature f
   of row b * lanes + l, zero past the last row). A multiply-add then serves
   lanes (row, candidate) pairs whatever the number of candidates, where the
   kernel above leaves the lanes past the last candidate idle: with the
   usual 5-7 candidates, 1.5x fewer multiply-adds in double and 3x fewer in
   float. A register tile holds IWK_PACKED_TILE row vectors times up to
   IWK_PACKED_GROUP candidates; each loaded feature serves the whole tile.

   Results as above, except that partial[j] adds per lane, then the lanes,
   and that a block of rows is kept whole: improved[m] is the block's first
   row in the chunk and values[row * n_cand + j * lanes + l] what row + l
   would become (rows past n_rows: padding, never read). candidates is
   (n_cand, n_features), cand_norms their squared norms. */
#define IWK_PACKED_TILE 2
#define IWK_PACKED_GROUP 8

/* sums += w * value per lane, in double. */
IWK_AVX512_INLINE void iwk_add_lanes_double(__m512d *sums, __m512d w, __m512d value)
{
    sums[0] = _mm512_fmadd_pd(w, value, sums[0]);
}
IWK_AVX512_INLINE __m512d iwk_high_half(__m512 v)
{
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
IWK_AVX512_INLINE void iwk_add_lanes_float(__m512d *sums, __m512 w, __m512 value)
{
    sums[0] = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(w)),
                              _mm512_cvtps_pd(_mm512_castps512_ps256(value)), sums[0]);
    sums[1] = _mm512_fmadd_pd(iwk_high_half(w), iwk_high_half(value), sums[1]);
}

/* Calls F(..., nb, nc) with nb and nc as constants (1 <= nb <= IWK_PACKED_TILE,
   1 <= nc <= IWK_PACKED_GROUP), so that the compiler lays out one register
   tile per shape. */
#define IWK_PACKED_CASE(F, NB, NC, ...)                                       \
    case (NB - 1) * IWK_PACKED_GROUP + NC - 1: F(__VA_ARGS__, NB, NC); break;
#define IWK_PACKED_DISPATCH(F, nb, nc, ...)                                   \
    switch ((nb - 1) * IWK_PACKED_GROUP + nc - 1) {                           \
    IWK_PACKED_CASE(F, 1, 1, __VA_ARGS__) IWK_PACKED_CASE(F, 1, 2, __VA_ARGS__) \
    IWK_PACKED_CASE(F, 1, 3, __VA_ARGS__) IWK_PACKED_CASE(F, 1, 4, __VA_ARGS__) \
    IWK_PACKED_CASE(F, 1, 5, __VA_ARGS__) IWK_PACKED_CASE(F, 1, 6, __VA_ARGS__) \
    IWK_PACKED_CASE(F, 1, 7, __VA_ARGS__) IWK_PACKED_CASE(F, 1, 8, __VA_ARGS__) \
    IWK_PACKED_CASE(F, 2, 1, __VA_ARGS__) IWK_PACKED_CASE(F, 2, 2, __VA_ARGS__) \
    IWK_PACKED_CASE(F, 2, 3, __VA_ARGS__) IWK_PACKED_CASE(F, 2, 4, __VA_ARGS__) \
    IWK_PACKED_CASE(F, 2, 5, __VA_ARGS__) IWK_PACKED_CASE(F, 2, 6, __VA_ARGS__) \
    IWK_PACKED_CASE(F, 2, 7, __VA_ARGS__) IWK_PACKED_CASE(F, 2, 8, __VA_ARGS__) \
    }

/* acc[r][j] = <x, c_j> for the rows of the r-th packed block from x and
   the centers c_j (row-major), r < nb, j < nc: each loaded feature of the
   rows serves nc centers, each broadcast feature of a center nb blocks. */
#define IWK_PACKED_DOTS(T, V, S, x, n_features, centers, nb, nc, acc)         \
    _Pragma("GCC unroll 8") for (int r = 0; r < nb; ++r)                      \
        _Pragma("GCC unroll 8") for (int j = 0; j < nc; ++j)                  \
            acc[r][j] = _mm512_setzero_##S();                                 \
    for (int f = 0; f < n_features; ++f) {                                    \
        V xf[IWK_PACKED_TILE];                                                \
        _Pragma("GCC unroll 8") for (int r = 0; r < nb; ++r)                  \
            xf[r] = _mm512_loadu_##S(x + ((int64_t)r * n_features + f) * lanes); \
        _Pragma("GCC unroll 8") for (int j = 0; j < nc; ++j) {                \
            const V cf = _mm512_set1_##S(centers[(int64_t)j * n_features + f]); \
            _Pragma("GCC unroll 8") for (int r = 0; r < nb; ++r)              \
                acc[r][j] = _mm512_fmadd_##S(xf[r], cf, acc[r][j]);           \
        }                                                                     \
    }

#define IWK_SCORE_PACKED(NAME, T, V, M, S)                                    \
    /* One tile: nb row vectors from row, the nc candidates from j0 (given \
       from there, with their norms), their sums and their blocks' flags. */  \
    IWK_AVX512_INLINE void NAME##_tile(                                       \
        const T *restrict packed, int row, int n_rows, int n_features,        \
        const T *restrict candidates, const T *restrict cand_norms,           \
        int n_cand, int j0, const T *restrict x_norms,                        \
        const T *restrict closest, const T *restrict weights,                 \
        __m512d *restrict sums, int32_t *restrict flags, int keep_all,        \
        T *restrict values, const int nb, const int nc)                       \
    {                                                                         \
        const int lanes = (int)(sizeof(V) / sizeof(T));                       \
        V acc[IWK_PACKED_TILE][IWK_PACKED_GROUP];                             \
        IWK_PACKED_DOTS(T, V, S, packed + (int64_t)row * n_features,         \
                        n_features, candidates, nb, nc, acc)                  \
        _Pragma("GCC unroll 8") for (int r = 0; r < nb; ++r) {                \
            const int first = row + r * lanes, left = n_rows - first;        \
            const M valid = IWK_FIRST_LANES(M, left, lanes);                 \
            const V xn = _mm512_maskz_loadu_##S(valid, x_norms + first);      \
            const V nearest = _mm512_maskz_loadu_##S(valid, closest + first); \
            const V w = _mm512_maskz_loadu_##S(valid, weights + first);       \
            V value[IWK_PACKED_GROUP];                                        \
            M closer = 0;                                                     \
            _Pragma("GCC unroll 8") for (int j = 0; j < nc; ++j) {            \
                V v = _mm512_add_##S(                                         \
                    _mm512_fmadd_##S(acc[r][j], _mm512_set1_##S((T)-2), xn),  \
                    _mm512_set1_##S(cand_norms[j]));                          \
                v = _mm512_max_##S(v, _mm512_setzero_##S());                  \
                closer |= _mm512_mask_cmp_##S##_mask(valid, v, nearest,       \
                                                     _CMP_LT_OQ);             \
                value[j] = _mm512_min_##S(v, nearest);                        \
                iwk_add_lanes_##T(sums + 2 * j, w, value[j]);                 \
            }                                                                 \
            flags[r] |= closer != 0;                                          \
            /* With several groups, whether the block is kept is known only   \
               after the last one. */                                         \
            if (closer || keep_all)                                           \
                _Pragma("GCC unroll 8") for (int j = 0; j < nc; ++j)          \
                    _mm512_storeu_##S(values + (int64_t)first * n_cand        \
                                      + (int64_t)(j0 + j) * lanes, value[j]); \
        }                                                                     \
    }                                                                         \
    __attribute__((target("avx512f"))) IWK_STATIC int NAME(                   \
        const T *restrict packed, int n_rows, int n_features,                 \
        const T *restrict candidates, const T *restrict cand_norms,           \
        int n_cand, const T *restrict x_norms, const T *restrict closest,     \
        const T *restrict weights, double *restrict partial,                  \
        int32_t *restrict improved, T *restrict values)                       \
    {                                                                         \
        const int lanes = (int)(sizeof(V) / sizeof(T));                       \
        const int n_blocks = (n_rows + lanes - 1) / lanes;                    \
        const int keep_all = n_cand > IWK_PACKED_GROUP;                       \
        int n_improved = 0;                                                   \
        /* improved[b] first flags block b, then lists the kept blocks. */   \
        for (int b = 0; b < n_blocks; ++b)                                    \
            improved[b] = 0;                                                  \
        for (int j0 = 0; j0 < n_cand; j0 += IWK_PACKED_GROUP) {               \
            const int nc = n_cand - j0 < IWK_PACKED_GROUP                     \
                ? n_cand - j0 : IWK_PACKED_GROUP;                             \
            __m512d sums[2 * IWK_PACKED_GROUP];                               \
            for (int j = 0; j < 2 * IWK_PACKED_GROUP; ++j)                    \
                sums[j] = _mm512_setzero_pd();                                \
            for (int b = 0; b < n_blocks; b += IWK_PACKED_TILE) {             \
                const int nb = n_blocks - b < IWK_PACKED_TILE                 \
                    ? n_blocks - b : IWK_PACKED_TILE;                         \
                IWK_PACKED_DISPATCH(NAME##_tile, nb, nc, packed, b * lanes,   \
                    n_rows, n_features, candidates + (int64_t)j0 * n_features, \
                    cand_norms + j0, n_cand, j0, x_norms, closest, weights,   \
                    sums, improved + b, keep_all, values)                     \
            }                                                                 \
            for (int j = 0; j < nc; ++j)                                      \
                partial[j0 + j] = _mm512_reduce_add_pd(                       \
                    _mm512_add_pd(sums[2 * j], sums[2 * j + 1]));             \
        }                                                                     \
        for (int b = 0; b < n_blocks; ++b)                                    \
            if (improved[b])                                                  \
                improved[n_improved++] = b * lanes;                           \
        return n_improved;                                                    \
    }

IWK_SCORE_PACKED(iwk_score_packed_float, float, __m512, __mmask16, ps)
IWK_SCORE_PACKED(iwk_score_packed_double, double, __m512d, __mmask8, pd)

/* The nearest center of each row of a chunk of packed rows (layout as
   above), for a Lloyd step: nearest[i] = min_j ||c_j||^2 - 2 <x_i, c_j>
   and best[i] its j (ties: the lowest). centers (n_centers, n_features),
   norms their squared norms. The centers are taken in groups of
   IWK_PACKED_GROUP, in order, by every tile of rows; a group replaces a
   row's nearest only where strictly closer, which keeps the lowest index
   on ties. One pass over the centers per tile, and no block of dots
   written out and scanned as the GEMM path does. */
#define IWK_NEAREST_PACKED(NAME, T, I, V, M, S, IS)                           \
    IWK_AVX512_INLINE void NAME##_tile(                                       \
        const T *restrict packed, int row, int n_features,                    \
        const T *restrict centers, const T *restrict norms, int j0,           \
        V *restrict nearest, __m512i *restrict best, const int nb,            \
        const int nc)                                                         \
    {                                                                         \
        const int lanes = (int)(sizeof(V) / sizeof(T));                       \
        V acc[IWK_PACKED_TILE][IWK_PACKED_GROUP];                             \
        IWK_PACKED_DOTS(T, V, S, packed + (int64_t)row * n_features,         \
                        n_features, centers, nb, nc, acc)                     \
        _Pragma("GCC unroll 8") for (int j = 0; j < nc; ++j) {                \
            const V norm = _mm512_set1_##S(norms[j]);                         \
            const __m512i index = _mm512_set1_##IS((I)(j0 + j));              \
            _Pragma("GCC unroll 8") for (int r = 0; r < nb; ++r) {            \
                const V v = _mm512_fmadd_##S(acc[r][j], _mm512_set1_##S((T)-2), norm); \
                const M closer = _mm512_cmp_##S##_mask(v, nearest[r], _CMP_LT_OQ); \
                nearest[r] = _mm512_mask_mov_##S(nearest[r], closer, v);      \
                best[r] = _mm512_mask_mov_##IS(best[r], closer, index);       \
            }                                                                 \
        }                                                                     \
    }                                                                         \
    __attribute__((target("avx512f"))) IWK_STATIC void NAME(                  \
        const T *restrict packed, int n_rows, int n_features,                 \
        const T *restrict centers, const T *restrict norms, int n_centers,    \
        T *restrict nearest, I *restrict best)                                \
    {                                                                         \
        const int lanes = (int)(sizeof(V) / sizeof(T));                       \
        const int n_blocks = (n_rows + lanes - 1) / lanes;                    \
        for (int b = 0; b < n_blocks; b += IWK_PACKED_TILE) {                 \
            const int nb = n_blocks - b < IWK_PACKED_TILE                     \
                ? n_blocks - b : IWK_PACKED_TILE;                             \
            V value[IWK_PACKED_TILE];                                         \
            __m512i index[IWK_PACKED_TILE];                                   \
            for (int r = 0; r < IWK_PACKED_TILE; ++r) {                       \
                value[r] = _mm512_set1_##S((T)INFINITY);                      \
                index[r] = _mm512_setzero_si512();                            \
            }                                                                 \
            for (int j0 = 0; j0 < n_centers; j0 += IWK_PACKED_GROUP) {        \
                const int nc = n_centers - j0 < IWK_PACKED_GROUP              \
                    ? n_centers - j0 : IWK_PACKED_GROUP;                      \
                IWK_PACKED_DISPATCH(NAME##_tile, nb, nc, packed, b * lanes,   \
                    n_features, centers + (int64_t)j0 * n_features,           \
                    norms + j0, j0, value, index)                             \
            }                                                                 \
            for (int r = 0; r < nb; ++r) {                                    \
                const int first = (b + r) * lanes, left = n_rows - first;    \
                const M valid = IWK_FIRST_LANES(M, left, lanes);              \
                _mm512_mask_storeu_##S(nearest + first, valid, value[r]);     \
                _mm512_mask_storeu_##IS(best + first, valid, index[r]);       \
            }                                                                 \
        }                                                                     \
    }

IWK_NEAREST_PACKED(iwk_nearest_packed_float, float, int32_t, __m512, __mmask16, ps, epi32)
IWK_NEAREST_PACKED(iwk_nearest_packed_double, double, int64_t, __m512d, __mmask8, pd, epi64)
#endif

/* Lanes of the *_small_* kernels, 0 where they cannot run (no AVX-512):
   they serve up to this many centers (16 float, 8 double). */
IWK_STATIC int iwk_small_lanes(int is_double)
{
#ifdef IWK_AVX512
    if (__builtin_cpu_supports("avx512f"))
        return is_double ? 8 : 16;
#endif
    (void)is_double;
    return 0;
}

#ifndef IWK_AVX512
/* Never called (iwk_small_lanes is 0); defined so that callers link. */
IWK_STATIC void iwk_nearest_small_float(const float *X, int n_rows, int n_features,
                                        const float *centers_t, const float *norms,
                                        float *nearest, int32_t *best)
{ (void)X; (void)n_rows; (void)n_features; (void)centers_t; (void)norms;
  (void)nearest; (void)best; }
IWK_STATIC void iwk_nearest_small_double(const double *X, int n_rows, int n_features,
                                         const double *centers_t, const double *norms,
                                         double *nearest, int64_t *best)
{ (void)X; (void)n_rows; (void)n_features; (void)centers_t; (void)norms;
  (void)nearest; (void)best; }
#define IWK_SCORE_STUB(NAME, T)                                               \
    IWK_STATIC int NAME(const T *X, int n_rows, int n_features,               \
                        const T *centers, const T *norms, int n_centers,      \
                        const T *x_norms, const T *closest, const T *weights, \
                        double *partial, int32_t *improved, T *values)        \
    { (void)X; (void)n_rows; (void)n_features; (void)centers; (void)norms;    \
      (void)n_centers; (void)x_norms; (void)closest; (void)weights;           \
      (void)partial; (void)improved; (void)values; return 0; }
IWK_SCORE_STUB(iwk_score_small_float, float)
IWK_SCORE_STUB(iwk_score_small_double, double)
IWK_SCORE_STUB(iwk_score_packed_float, float)
IWK_SCORE_STUB(iwk_score_packed_double, double)
#define IWK_NEAREST_STUB(NAME, T, I)                                          \
    IWK_STATIC void NAME(const T *packed, int n_rows, int n_features,         \
                         const T *centers, const T *norms, int n_centers,     \
                         T *nearest, I *best)                                 \
    { (void)packed; (void)n_rows; (void)n_features; (void)centers;            \
      (void)norms; (void)n_centers; (void)nearest; (void)best; }
IWK_NEAREST_STUB(iwk_nearest_packed_float, float, int32_t)
IWK_NEAREST_STUB(iwk_nearest_packed_double, double, int64_t)
#endif

#ifdef IWK_AVX512
#define IWK_ROW_MIN_VECTOR(T) \
    if (__builtin_cpu_supports("avx512f")) { \
        iwk_row_min_avx512_##T(dots, stride, norms, n_rows, n_centers, nearest, best); \
        return; \
    }
#else
#define IWK_ROW_MIN_VECTOR(T)
#endif

#define IWK_ROW_MIN(T, I)                                                     \
    IWK_STATIC void iwk_row_min_##T(const T *dots, int stride, const T *norms, \
                                    int n_rows, int n_centers, T *nearest,    \
                                    I *best)                                  \
    {                                                                         \
        IWK_ROW_MIN_VECTOR(T)                                                 \
        iwk_row_min_scalar_##T(dots, stride, norms, n_rows, n_centers,        \
                               nearest, best);                                \
    }

IWK_ROW_MIN(float, int32_t)
IWK_ROW_MIN(double, int64_t)

#endif
