/* The portable loops of simd.h, for one real type T (float or double) and
   an index type I as wide as T (int32_t or int64_t). simd.h defines T and I
   and includes this file once per type, so it has no include guard; names
   are made with IWK_NAME (iwk_frame_float, iwk_frame_double). Plain C that
   compilers vectorise by themselves; IWK_CLONES compiles each for AVX2 and
   AVX-512 too (see simd.h).

   Pointer arguments are marked IN (read only), OUT (written, not read) or
   INOUT (read and written), with their lengths. */

/* Running argmin of each row over the columns of a center-major distance
   block (one column of n_rows per center): branch-free (every load happens
   before the selects) and with an index as wide as the value, so that it
   vectorises. Eight columns at a time, reduced pairwise: the running
   minimum is read and written once per eight centers instead of once per
   center, which took most of the scan's time. At 100000 x 64 x 100 in
   float32 (AVX-512, one thread, perf) the scan went from 18% of a Lloyd
   iteration to 3.7% (8.5% four at a time), the iteration from 14.1 to
   12.0 ms. At every step a later center wins only if strictly smaller, so
   ties go to the lowest index, as in a scan one center at a time; selects
   do no arithmetic, so every clone gives the same result. Values are
   never NaN (see Frame.to).
   IN: dots (n_centers columns of n_rows), norms (n_centers).
   INOUT: nearest, best (n_rows each). */
IWK_CLONES IWK_STATIC void IWK_NAME(iwk_columns_min)(
    const T *restrict dots, const T *restrict norms, int n_centers,
    int n_rows, T *restrict nearest, I *restrict best)
{
    const int64_t n = n_rows;
    int j = 0;
    for (; j + 8 <= n_centers; j += 8) {
        const T *c = dots + (int64_t)j * n;
        const T *nj = norms + j;
        const I at = (I)j;
        for (int i = 0; i < n_rows; ++i) {
            T v0 = c[i] + nj[0], v1 = c[n + i] + nj[1];
            T v2 = c[2 * n + i] + nj[2], v3 = c[3 * n + i] + nj[3];
            T v4 = c[4 * n + i] + nj[4], v5 = c[5 * n + i] + nj[5];
            T v6 = c[6 * n + i] + nj[6], v7 = c[7 * n + i] + nj[7];
            T l01 = v1 < v0 ? v1 : v0, l23 = v3 < v2 ? v3 : v2;
            T l45 = v5 < v4 ? v5 : v4, l67 = v7 < v6 ? v7 : v6;
            I a01 = v1 < v0 ? at + 1 : at, a23 = v3 < v2 ? at + 3 : at + 2;
            I a45 = v5 < v4 ? at + 5 : at + 4, a67 = v7 < v6 ? at + 7 : at + 6;
            T l03 = l23 < l01 ? l23 : l01, l47 = l67 < l45 ? l67 : l45;
            I a03 = l23 < l01 ? a23 : a01, a47 = l67 < l45 ? a67 : a45;
            T low = l47 < l03 ? l47 : l03;
            I at_low = l47 < l03 ? a47 : a03;
            T current = nearest[i];
            I seen = best[i];
            best[i] = low < current ? at_low : seen;
            nearest[i] = low < current ? low : current;
        }
    }
    for (; j < n_centers; ++j) {
        const T *column = dots + (int64_t)j * n;
        const T norm = norms[j];
        const I index = (I)j;
        for (int i = 0; i < n_rows; ++i) {
            T value = column[i] + norm, current = nearest[i];
            I seen = best[i];
            best[i] = value < current ? index : seen;
            nearest[i] = value < current ? value : current;
        }
    }
}

/* The frame. Every kernel computes with y = x * scale - shift[f] (see
   _rows.pxd): the samples measured from a reference point near the data and
   rescaled by a power of two, so that data far from the origin keep their
   precision and no square overflows or underflows. In X's precision T:
   x * scale is exact (a power of two that the caller keeps, with shift,
   within T's normal range) and the difference is rounded once, exactly the
   value a centered copy of X would hold, computed on the fly instead of
   stored. IWK_FRAMED (simd.h) is that expression. */

/* out (n_rows, n_features) = the dense rows x in the frame.
   IN: x (n_rows, n_features), shift (n_features).
   OUT: out (n_rows, n_features). */
IWK_CLONES IWK_STATIC void IWK_NAME(iwk_frame)(
    const T *restrict x, int n_rows, int n_features, double scale,
    const T *restrict shift, T *restrict out)
{
    for (int i = 0; i < n_rows; ++i) {
        const T *row = x + (int64_t)i * n_features;
        T *framed = out + (int64_t)i * n_features;
        for (int f = 0; f < n_features; ++f)
            framed[f] = IWK_FRAMED(T, row[f], f, scale, shift);
    }
}

/* Per feature f of a block of dense rows, in float64 and in row order:
   sums[f] += y[f] (mean NULL) or sums[f] += (y[f] - mean[f])^2, with y the
   row in the frame (y = x * scale - shift, in T, as IWK_FRAMED; shift NULL:
   x itself): mean_variance's two passes. Each feature's sum takes the same
   additions in the same order as a loop over the rows would; the sums of
   IWK_SUMS_BLOCK features stay in registers over all the rows, where a
   loop adding each row into the sums in memory loaded and stored them for
   every value (500 x 64 float32: 16 us for both passes).
   IN: X (n_rows, n_features), shift (n_features, or NULL), mean
   (n_features, or NULL). INOUT: sums (n_features). */
#ifndef IWK_SUMS_BLOCK
#define IWK_SUMS_BLOCK 32
#endif
IWK_INLINE void IWK_NAME(iwk_column_sums_block)(
    const T *restrict X, int n_rows, int n_features, int f0, int width,
    double scale, const T *restrict shift, const double *restrict mean,
    double *restrict sums)
{
    double acc[IWK_SUMS_BLOCK];
    for (int f = 0; f < width; ++f)
        acc[f] = sums[f0 + f];
    for (int i = 0; i < n_rows; ++i) {
        const T *restrict row = X + (int64_t)i * n_features + f0;
        if (mean == NULL) {
            for (int f = 0; f < width; ++f)
                acc[f] += shift == NULL ? (double)row[f]
                                        : (double)IWK_FRAMED(T, row[f], f0 + f, scale, shift);
        } else {
            for (int f = 0; f < width; ++f) {
                const double y = shift == NULL
                    ? (double)row[f] : (double)IWK_FRAMED(T, row[f], f0 + f, scale, shift);
                const double diff = y - mean[f0 + f];
                acc[f] += diff * diff;
            }
        }
    }
    for (int f = 0; f < width; ++f)
        sums[f0 + f] = acc[f];
}

IWK_CLONES IWK_STATIC void IWK_NAME(iwk_column_sums)(
    const T *restrict X, int n_rows, int n_features, double scale,
    const T *restrict shift, const double *restrict mean,
    double *restrict sums)
{
    int f0 = 0;
    /* Whole blocks with a constant width: the compiler keeps their sums
       in vector registers. */
    for (; f0 + IWK_SUMS_BLOCK <= n_features; f0 += IWK_SUMS_BLOCK)
        IWK_NAME(iwk_column_sums_block)(X, n_rows, n_features, f0, IWK_SUMS_BLOCK,
                                        scale, shift, mean, sums);
    if (f0 < n_features)
        IWK_NAME(iwk_column_sums_block)(X, n_rows, n_features, f0, n_features - f0,
                                        scale, shift, mean, sums);
}

/* max |x - reference| / 2 over a block of dense rows, given half_reference
   = reference / 2: halving first keeps the difference finite for any finite
   values. The largest distance of each feature is reached at its smallest
   or largest value (rounding is monotone), so the block is read for those
   alone, in T, where a minimum and a maximum are exact and vectorise, and
   the halved differences are taken once per feature.
   IN: x (n_rows, n_features), half_reference (n_features).
   OUT: bounds (2 * n_features: the minima, then the maxima), scratch. */
IWK_CLONES IWK_STATIC double IWK_NAME(iwk_half_extent)(
    const T *restrict x, int n_rows, int n_features,
    const double *restrict half_reference, T *restrict bounds)
{
    T *restrict low = bounds, *restrict high = bounds + n_features;
    if (n_rows <= 0)
        return 0.0;
    for (int f = 0; f < n_features; ++f)
        low[f] = high[f] = x[f];
    for (int i = 1; i < n_rows; ++i) {
        const T *row = x + (int64_t)i * n_features;
        for (int f = 0; f < n_features; ++f) {
            low[f] = row[f] < low[f] ? row[f] : low[f];
            high[f] = row[f] > high[f] ? row[f] : high[f];
        }
    }
    double most = 0.0;
    for (int f = 0; f < n_features; ++f) {
        double below = fabs(0.5 * (double)low[f] - half_reference[f]);
        double above = fabs(0.5 * (double)high[f] - half_reference[f]);
        most = below > most ? below : most;
        most = above > most ? above : most;
    }
    return most;
}

/* acc[f] += w * y[f]: a sample's share of its center's sum, in float64,
   with y the row x in the frame (shift not NULL) or x itself (shift NULL:
   rows already framed). The loop lives in an always-inlined function,
   compiled into each clone that calls it: the per-row entry point below and
   the per-chunk iwk_accumulate_*.
   INOUT: acc (n). IN: x (n), shift (n, or NULL). */
IWK_INLINE void IWK_NAME(iwk_axpy)(double *restrict acc, double w,
                                   const T *restrict x, int n, double scale,
                                   const T *restrict shift)
{
    if (shift == NULL) {
        for (int f = 0; f < n; ++f)
            acc[f] += w * (double)x[f];
        return;
    }
    for (int f = 0; f < n; ++f)
        acc[f] += w * (double)IWK_FRAMED(T, x[f], f, scale, shift);
}

/* iwk_axpy_* for one row. INOUT: acc (n). IN: x (n), shift (n, or NULL). */
IWK_CLONES IWK_STATIC void IWK_NAME(iwk_add_scaled)(
    double *restrict acc, double w, const T *restrict x, int n,
    double scale, const T *restrict shift)
{
    IWK_NAME(iwk_axpy)(acc, w, x, n, scale, shift);
}

/* Exact ||y - c||^2 in double, y the row x in the frame and c a center
   (already in the frame), for the totals that are reported (inertia,
   per-sample distances). Eight running sums, one vector of them, rather
   than one: a single chain of additions waits on each addition's latency.
   IN: x, shift, c (n each). */
IWK_CLONES IWK_STATIC double IWK_NAME(iwk_sq_distance)(
    const T *restrict x, double scale, const T *restrict shift,
    const T *restrict c, int n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int f = 0;
    for (; f + 8 <= n; f += 8)
        for (int l = 0; l < 8; ++l) {
            double diff = (double)IWK_FRAMED(T, x[f + l], f + l, scale, shift)
                          - (double)c[f + l];
            acc[l] += diff * diff;
        }
    for (int l = 0; f < n; ++f, ++l) {
        double diff = (double)IWK_FRAMED(T, x[f], f, scale, shift)
                      - (double)c[f];
        acc[l] += diff * diff;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3]))
           + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Labels of a chunk from the nearest scanned center (best, offset by first;
   an index outside the n_scanned centers, which only a NaN distance can give,
   reads as the first, so that no label ever leaves the range of centers)
   and, when the fixed centers were scanned once before (fixed_label not
   NULL), the nearest fixed one, which wins ties: it has the lower index.
   Also writes out_nearest (if not NULL) and target (the free center taking
   the row's statistics, or -1). Returns how many labels changed. All
   pointers start at the chunk's first row.
   IN: best, nearest (n_rows each), fixed_label, fixed_nearest (n_rows
   each; both unread if fixed_label is NULL). OUT: out_nearest (n_rows, or
   NULL), target (n_rows). INOUT: labels (n_rows). */
IWK_STATIC int64_t IWK_NAME(iwk_labels)(
    const I *restrict best, const T *restrict nearest, int n_rows, int first,
    int n_scanned, int n_fixed, const int *restrict fixed_label,
    const T *restrict fixed_nearest, T *restrict out_nearest,
    int *restrict labels, int *restrict target)
{
    int64_t changed = 0;
    for (int i = 0; i < n_rows; ++i) {
        int label = first + ((uint64_t)best[i] < (uint64_t)n_scanned
                             ? (int)best[i] : 0);
        if (fixed_label != NULL && fixed_nearest[i] <= nearest[i])
            label = fixed_label[i];
        if (out_nearest != NULL)
            out_nearest[i] = nearest[i];
        changed += labels[i] != label;
        labels[i] = label;
        target[i] = label >= n_fixed ? label - n_fixed : -1;
    }
    return changed;
}

/* sums[target[i]] += w[i] * [y_i, 1] over a chunk of dense rows x_i, y_i
   in the frame as in iwk_axpy_* (rows with target -1 belong to no free
   center): a chunk's statistics, each center's row of sums being
   (n_features + 1) float64, the last the weight. Rows are added in order,
   as one call per chunk rather than one per row.
   IN: X (n_rows, n_features), shift (n_features, or NULL: X already
   framed), w (n_rows), target (n_rows).
   INOUT: sums (free centers, n_features + 1). */
IWK_CLONES IWK_STATIC void IWK_NAME(iwk_accumulate)(
    const T *restrict X, int n_rows, int n_features, double scale,
    const T *restrict shift, const T *restrict w,
    const int *restrict target, double *restrict sums)
{
    for (int i = 0; i < n_rows; ++i) {
        if (target[i] < 0)
            continue;
        double *acc = sums + (int64_t)target[i] * (n_features + 1);
        IWK_NAME(iwk_axpy)(acc, (double)w[i], X + (int64_t)i * n_features,
                           n_features, scale, shift);
        acc[n_features] += (double)w[i];
    }
}

/* Per row of a sample-major block (row i at dots + i * stride), the index j
   of the smallest dots[j] + norms[j] (ties: lowest j) and that value.

   A compiler cannot vectorise an argmin along a row by itself. With AVX-512
   each row takes a vector minimum over blocks of lanes, then the first lane
   that equals it (iwk_row_min_avx512_*): the same value (a minimum does no
   arithmetic) and the same index (the lowest) as this scalar loop, which
   serves every other CPU. iwk_row_min_* chooses (simd_avx512.h).
   IN: dots (n_rows rows of n_centers, stride apart), norms (n_centers).
   OUT: nearest, best (n_rows each). */
IWK_STATIC void IWK_NAME(iwk_row_min_scalar)(
    const T *restrict dots, int stride, const T *restrict norms, int n_rows,
    int n_centers, T *restrict nearest, I *restrict best)
{
    for (int i = 0; i < n_rows; ++i) {
        const T *row = dots + (int64_t)i * stride;
        T low = row[0] + norms[0];
        I label = 0;
        for (int j = 1; j < n_centers; ++j) {
            T value = row[j] + norms[j];
            label = value < low ? j : label;
            low = value < low ? value : low;
        }
        nearest[i] = low;
        best[i] = label;
    }
}
