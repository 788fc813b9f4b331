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

/* acc[f] += w * x[f]: a sample's share of its center's sum, in float64.
   The loop lives in an always-inlined function, compiled into each clone
   that calls it: the per-row entry point below and the per-chunk
   iwk_accumulate_*. */
#define IWK_AXPY(T)                                                           \
    static inline __attribute__((always_inline)) void iwk_axpy_##T(           \
        double *restrict acc, double w, const T *restrict x, int n)           \
    {                                                                         \
        for (int f = 0; f < n; ++f)                                           \
            acc[f] += w * (double)x[f];                                       \
    }

IWK_AXPY(float)
IWK_AXPY(double)

#define IWK_ADD_SCALED(NAME, T)                                               \
    IWK_CLONES IWK_STATIC void NAME(double *restrict acc, double w,           \
                                    const T *restrict x, int n)               \
    {                                                                         \
        iwk_axpy_##T(acc, w, x, n);                                           \
    }

IWK_ADD_SCALED(iwk_add_scaled_float, float)
IWK_ADD_SCALED(iwk_add_scaled_double, double)

/* Labels of a chunk from the nearest scanned center (best, offset by first)
   and, when the fixed centers were scanned once before (fixed_label not
   NULL), the nearest fixed one, which wins ties: it has the lower index.
   Also writes out_nearest (if not NULL) and target (the free center taking
   the row's statistics, or -1). Returns how many labels changed. All
   pointers start at the chunk's first row. */
#define IWK_LABELS(NAME, T, I)                                                \
    IWK_STATIC int64_t NAME(const I *restrict best, const T *restrict nearest, \
                            int n_rows, int first, int n_fixed,               \
                            const int *restrict fixed_label,                  \
                            const T *restrict fixed_nearest,                  \
                            T *restrict out_nearest, int *restrict labels,    \
                            int *restrict target)                             \
    {                                                                         \
        int64_t changed = 0;                                                  \
        for (int i = 0; i < n_rows; ++i) {                                    \
            int label = first + (int)best[i];                                 \
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

/* sums[target[i]] += w[i] * [x_i, 1] over a chunk of dense rows (rows with
   target -1 belong to no free center): a chunk's statistics, each center's
   row of sums being (n_features + 1) float64, the last the weight. Rows are
   added in order, as one call per chunk rather than one per row. */
#define IWK_ACCUMULATE(T)                                                     \
    IWK_CLONES IWK_STATIC void iwk_accumulate_##T(                            \
        const T *restrict X, int n_rows, int n_features, const T *restrict w, \
        const int *restrict target, double *restrict sums)                    \
    {                                                                         \
        for (int i = 0; i < n_rows; ++i) {                                    \
            if (target[i] < 0)                                                \
                continue;                                                     \
            double *acc = sums + (int64_t)target[i] * (n_features + 1);       \
            iwk_axpy_##T(acc, (double)w[i], X + (int64_t)i * n_features,      \
                         n_features);                                         \
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
                M lanes = (M)(left >= W ? (M)~(M)0 : (M)((1u << left) - 1));  \
                V value = _mm512_add_##S(                                     \
                    _mm512_mask_loadu_##S(inf, lanes, row + j),               \
                    _mm512_mask_loadu_##S(inf, lanes, norms + j));            \
                low = _mm512_min_##S(low, value);                             \
            }                                                                 \
            T minimum = _mm512_reduce_min_##S(low);                           \
            V target = _mm512_set1_##S(minimum);                              \
            for (int j = 0; j < n_centers; j += W) {                          \
                int left = n_centers - j;                                     \
                M lanes = (M)(left >= W ? (M)~(M)0 : (M)((1u << left) - 1));  \
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

/* Nearest of a few centers (at most one vector of them: 16 float or 8
   double) for a chunk of dense rows, dots and argmin fused: each row's
   distances stay in one register, and 8 rows are interleaved so that their
   chains of multiply-adds overlap. For so few centers this does the work of
   a GEMM plus a scan in the time of the GEMM alone, whose cost on such thin
   products is mostly overhead. centers_t is (n_features, lanes), zero past
   the last center; norms has +inf past it, so those lanes never win. Ties
   go to the lowest index, as everywhere. */
#ifdef IWK_AVX512
#define IWK_SMALL_ROWS 8
#define IWK_NEAREST_SMALL(NAME, T, I, V, M, S)                                \
    __attribute__((target("avx512f"))) IWK_STATIC void NAME##_finish(         \
        V dots, V norms, T *nearest, I *best)                                 \
    {                                                                         \
        V value = _mm512_fmadd_##S(dots, _mm512_set1_##S((T)-2), norms);      \
        T minimum = _mm512_reduce_min_##S(value);                             \
        M hit = _mm512_cmp_##S##_mask(value, _mm512_set1_##S(minimum),        \
                                      _CMP_EQ_OQ);                            \
        *nearest = minimum;                                                   \
        *best = __builtin_ctz((unsigned)hit);                                 \
    }                                                                         \
    __attribute__((target("avx512f"))) IWK_STATIC void NAME(                  \
        const T *restrict X, int n_rows, int n_features,                      \
        const T *restrict centers_t, const T *restrict norms,                 \
        T *restrict nearest, I *restrict best)                                \
    {                                                                         \
        const V norm = _mm512_loadu_##S(norms);                               \
        const int lanes = (int)(sizeof(V) / sizeof(T));                       \
        int i = 0;                                                            \
        for (; i + IWK_SMALL_ROWS <= n_rows; i += IWK_SMALL_ROWS) {           \
            const T *x = X + (int64_t)i * n_features;                         \
            V acc[IWK_SMALL_ROWS];                                            \
            for (int r = 0; r < IWK_SMALL_ROWS; ++r)                          \
                acc[r] = _mm512_setzero_##S();                                \
            for (int f = 0; f < n_features; ++f) {                            \
                V c = _mm512_loadu_##S(centers_t + f * lanes);                \
                for (int r = 0; r < IWK_SMALL_ROWS; ++r)                      \
                    acc[r] = _mm512_fmadd_##S(                                \
                        _mm512_set1_##S(x[(int64_t)r * n_features + f]), c,   \
                        acc[r]);                                              \
            }                                                                 \
            for (int r = 0; r < IWK_SMALL_ROWS; ++r)                          \
                NAME##_finish(acc[r], norm, nearest + i + r, best + i + r);   \
        }                                                                     \
        for (; i < n_rows; ++i) {                                             \
            const T *x = X + (int64_t)i * n_features;                         \
            V acc = _mm512_setzero_##S();                                     \
            for (int f = 0; f < n_features; ++f)                              \
                acc = _mm512_fmadd_##S(_mm512_set1_##S(x[f]),                 \
                                       _mm512_loadu_##S(centers_t + f * lanes), \
                                       acc);                                  \
            NAME##_finish(acc, norm, nearest + i, best + i);                  \
        }                                                                     \
    }

IWK_NEAREST_SMALL(iwk_nearest_small_float, float, int32_t, __m512, __mmask16, ps)
IWK_NEAREST_SMALL(iwk_nearest_small_double, double, int64_t, __m512d, __mmask8, pd)
#endif

/* Whether iwk_nearest_small_* can run here: the CPU has AVX-512 and the
   centers fit in one vector of lanes (16 float, 8 double). */
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
