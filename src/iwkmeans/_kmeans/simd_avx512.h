/* The AVX-512 kernels of simd.h, written with intrinsics, for one real type
   T and an index type I as wide as T: float and int32_t in vectors V =
   __m512 of 16 lanes with masks M = __mmask16, or double and int64_t in
   __m512d of 8 lanes with __mmask8. simd.h defines these (and S, IS, the
   suffixes that IWK_MM, IWK_MM_MASK and IWK_MMI paste onto the intrinsics'
   names) and includes this file once per type, after simd_kernels.h, so it
   has no include guard.

   Where AVX-512 cannot be compiled the kernels are stand-ins that do
   nothing: iwk_small_lanes is then 0 and the callers never reach them. The
   entry point iwk_row_min_* at the end chooses at run time.

   Pointer arguments are marked IN (read only), OUT (written, not read) or
   INOUT (read and written), with their lengths. */

#ifdef IWK_AVX512

/* iwk_row_min_* on AVX-512 (see iwk_row_min_scalar_*, simd_kernels.h).
   Lanes past n_centers hold +inf, which never wins.
   IN: dots (n_rows rows of n_centers, stride apart), norms (n_centers).
   OUT: nearest, best (n_rows each). */
__attribute__((target("avx512f"))) IWK_STATIC void IWK_NAME(iwk_row_min_avx512)(
    const T *restrict dots, int stride, const T *restrict norms, int n_rows,
    int n_centers, T *restrict nearest, I *restrict best)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    const V inf = IWK_MM(set1)((T)INFINITY);
    for (int i = 0; i < n_rows; ++i) {
        const T *row = dots + (int64_t)i * stride;
        V low = inf;
        for (int j = 0; j < n_centers; j += lanes) {
            int left = n_centers - j;
            M valid = IWK_FIRST_LANES(M, left, lanes);
            V value = IWK_MM(add)(IWK_MM(mask_loadu)(inf, valid, row + j),
                                  IWK_MM(mask_loadu)(inf, valid, norms + j));
            low = IWK_MM(min)(low, value);
        }
        T minimum = IWK_MM(reduce_min)(low);
        V target = IWK_MM(set1)(minimum);
        best[i] = 0; /* a NaN minimum matches no lane */
        for (int j = 0; j < n_centers; j += lanes) {
            int left = n_centers - j;
            M valid = IWK_FIRST_LANES(M, left, lanes);
            V value = IWK_MM(add)(IWK_MM(mask_loadu)(inf, valid, row + j),
                                  IWK_MM(mask_loadu)(inf, valid, norms + j));
            M hit = IWK_MM_MASK(mask_cmp)(valid, value, target, _CMP_EQ_OQ);
            if (hit) {
                best[i] = j + __builtin_ctz((unsigned)hit);
                break;
            }
        }
        nearest[i] = minimum;
    }
}

/* Dots of a chunk of dense rows with a few centers, at most one vector of
   them (16 float or 8 double): each row's dots stay in one register, and
   IWK_SMALL_ROWS rows are interleaved so that their chains of multiply-adds
   overlap. For so few centers this does the work of a GEMM in a fraction of
   its time, whose cost on such thin products is mostly overhead. centers_t
   is (n_features, lanes), zero past the last center. The two kernels below
   take IWK_SMALL_ROWS rows at a time, then the rows left over one at a
   time, and finish each row's dots in a register.

   The loops of the dots are written out in each kernel, here and in the
   packed tiles further down, rather than shared through an inline function:
   GCC 12 would compile the kernels with other registers, and its larger
   estimate of their size before inlining would change how it inlines the
   Cython code around them. Written out, they compile to the instructions
   they were timed with. */

/* Nearest of the few centers for a chunk of dense rows, dots and argmin
   fused. norms has +inf past the last center, so those lanes never win. Ties
   go to the lowest index, as everywhere. */

/* One row's nearest from its dots. OUT: nearest[row], best[row]. */
IWK_AVX512_INLINE void IWK_NAME(iwk_nearest_small_finish)(
    V dots, int row, V norms, T *nearest, I *best)
{
    V value = IWK_MM(fmadd)(dots, IWK_MM(set1)((T)-2), norms);
    T minimum = IWK_MM(reduce_min)(value);
    M hit = IWK_MM_MASK(cmp)(value, IWK_MM(set1)(minimum), _CMP_EQ_OQ);
    nearest[row] = minimum;
    best[row] = hit ? __builtin_ctz((unsigned)hit) : 0; /* NaN: none */
}

/* IN: X (n_rows, n_features), centers_t (n_features, lanes), norms (lanes).
   OUT: nearest, best (n_rows each). */
__attribute__((target("avx512f"))) IWK_STATIC void IWK_NAME(iwk_nearest_small)(
    const T *restrict X, int n_rows, int n_features,
    const T *restrict centers_t, const T *restrict norms,
    T *restrict nearest, I *restrict best)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    const V norm = IWK_MM(loadu)(norms);
    int i = 0;
    for (; i + IWK_SMALL_ROWS <= n_rows; i += IWK_SMALL_ROWS) {
        const T *x = X + (int64_t)i * n_features;
        V acc[IWK_SMALL_ROWS];
        for (int r = 0; r < IWK_SMALL_ROWS; ++r)
            acc[r] = IWK_MM(setzero)();
        for (int f = 0; f < n_features; ++f) {
            V c = IWK_MM(loadu)(centers_t + f * lanes);
            for (int r = 0; r < IWK_SMALL_ROWS; ++r)
                acc[r] = IWK_MM(fmadd)(
                    IWK_MM(set1)(x[(int64_t)r * n_features + f]), c, acc[r]);
        }
        for (int r = 0; r < IWK_SMALL_ROWS; ++r)
            IWK_NAME(iwk_nearest_small_finish)(acc[r], i + r, norm, nearest,
                                               best);
    }
    for (; i < n_rows; ++i) {
        const T *x = X + (int64_t)i * n_features;
        V acc = IWK_MM(setzero)();
        for (int f = 0; f < n_features; ++f)
            acc = IWK_MM(fmadd)(IWK_MM(set1)(x[f]),
                                IWK_MM(loadu)(centers_t + f * lanes), acc);
        IWK_NAME(iwk_nearest_small_finish)(acc, i, norm, nearest, best);
    }
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

/* One row's values from its dots. IN: x_norms[row], closest[row],
   weights[row]. INOUT: sums (2 vectors), n_improved.
   OUT: values[row * n_centers ..] and improved[*n_improved] if kept. */
IWK_AVX512_INLINE void IWK_NAME(iwk_score_small_finish)(
    V dots, int row, V norms, M lanes_used, int n_centers, const T *x_norms,
    const T *closest, const T *weights, __m512d *sums, int32_t *improved,
    T *values, int *n_improved)
{
    V value = IWK_MM(add)(IWK_MM(fmadd)(dots, IWK_MM(set1)((T)-2),
                                        IWK_MM(set1)(x_norms[row])),
                          norms);
    const V nearest = IWK_MM(set1)(closest[row]);
    value = IWK_MM(max)(value, IWK_MM(setzero)());
    M closer = IWK_MM_MASK(mask_cmp)(lanes_used, value, nearest, _CMP_LT_OQ);
    value = IWK_MM(min)(value, nearest);
    IWK_NAME(iwk_add_weighted)(sums, (double)weights[row], value);
    if (closer) {
        IWK_MM(mask_storeu)(values + (int64_t)row * n_centers, lanes_used,
                            value);
        improved[(*n_improved)++] = row;
    }
}

/* IN: X (n_rows, n_features), centers_t (n_features, lanes), norms (lanes),
   x_norms, closest, weights (n_rows each).
   OUT: partial (n_centers), improved (up to n_rows), values (kept rows,
   n_rows * n_centers). */
__attribute__((target("avx512f"))) IWK_STATIC int IWK_NAME(iwk_score_small)(
    const T *restrict X, int n_rows, int n_features,
    const T *restrict centers_t, const T *restrict norms, int n_centers,
    const T *restrict x_norms, const T *restrict closest,
    const T *restrict weights, double *restrict partial,
    int32_t *restrict improved, T *restrict values)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    const V norm = IWK_MM(loadu)(norms);
    const M lanes_used = (M)((1u << n_centers) - 1);
    __m512d sums[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    double total[16];
    int n_improved = 0;
    int i = 0;
    for (; i + IWK_SMALL_ROWS <= n_rows; i += IWK_SMALL_ROWS) {
        const T *x = X + (int64_t)i * n_features;
        V acc[IWK_SMALL_ROWS];
        for (int r = 0; r < IWK_SMALL_ROWS; ++r)
            acc[r] = IWK_MM(setzero)();
        for (int f = 0; f < n_features; ++f) {
            V c = IWK_MM(loadu)(centers_t + f * lanes);
            for (int r = 0; r < IWK_SMALL_ROWS; ++r)
                acc[r] = IWK_MM(fmadd)(
                    IWK_MM(set1)(x[(int64_t)r * n_features + f]), c, acc[r]);
        }
        for (int r = 0; r < IWK_SMALL_ROWS; ++r)
            IWK_NAME(iwk_score_small_finish)(
                acc[r], i + r, norm, lanes_used, n_centers, x_norms, closest,
                weights, sums, improved, values, &n_improved);
    }
    for (; i < n_rows; ++i) {
        const T *x = X + (int64_t)i * n_features;
        V acc = IWK_MM(setzero)();
        for (int f = 0; f < n_features; ++f)
            acc = IWK_MM(fmadd)(IWK_MM(set1)(x[f]),
                                IWK_MM(loadu)(centers_t + f * lanes), acc);
        IWK_NAME(iwk_score_small_finish)(
            acc, i, norm, lanes_used, n_centers, x_norms, closest, weights,
            sums, improved, values, &n_improved);
    }
    _mm512_storeu_pd(total, sums[0]);
    _mm512_storeu_pd(total + 8, sums[1]);
    for (int j = 0; j < n_centers; ++j)
        partial[j] = total[j];
    return n_improved;
}

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
   (n_cand, n_features), cand_norms their squared norms.

   The kernels call the tile functions through a switch over the shapes
   (nb, nc), case (nb - 1) * IWK_PACKED_GROUP + nc - 1, with nb and nc as
   constants (1 <= nb <= IWK_PACKED_TILE, 1 <= nc <= IWK_PACKED_GROUP), so
   that the compiler lays out one register tile per shape. The switch is in
   the kernel itself, each case computing the tile's offsets: behind one
   more inlined function, or with the offsets computed before the switch,
   GCC 12 allocates the tiles' registers differently (more moves).

   In a tile, acc[r][j] = <x, c_j> for the rows x of its r-th block and the
   centers c_j (row-major), r < nb, j < nc: each loaded feature of the rows
   serves nc centers, each broadcast feature of a center nb blocks. The rows
   are addressed from packed at each feature, not through a pointer to the
   tile's first row set before the loop, for the same reason as the switch.
   (The loops are written out in both tiles, see the small kernels.) */

/* One tile: nb row vectors from row, the nc candidates from j0 (given
   from there, with their norms), their sums and their blocks' flags.
   IN: packed, candidates (nc, n_features), cand_norms (nc), x_norms,
   closest, weights (n_rows each). INOUT: sums (2 * nc vectors), flags (nb).
   OUT: values (of the blocks kept). */
IWK_AVX512_INLINE void IWK_NAME(iwk_score_packed_tile)(
    const T *restrict packed, int row, int n_rows, int n_features,
    const T *restrict candidates, const T *restrict cand_norms, int n_cand,
    int j0, const T *restrict x_norms, const T *restrict closest,
    const T *restrict weights, __m512d *restrict sums,
    int32_t *restrict flags, int keep_all, T *restrict values,
    const int nb, const int nc)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    V acc[IWK_PACKED_TILE][IWK_PACKED_GROUP];
#pragma GCC unroll 8
    for (int r = 0; r < nb; ++r) {
#pragma GCC unroll 8
        for (int j = 0; j < nc; ++j)
            acc[r][j] = IWK_MM(setzero)();
    }
    for (int f = 0; f < n_features; ++f) {
        V xf[IWK_PACKED_TILE];
#pragma GCC unroll 8
        for (int r = 0; r < nb; ++r)
            xf[r] = IWK_MM(loadu)(packed + (int64_t)row * n_features
                                  + ((int64_t)r * n_features + f) * lanes);
#pragma GCC unroll 8
        for (int j = 0; j < nc; ++j) {
            const V cf = IWK_MM(set1)(candidates[(int64_t)j * n_features + f]);
#pragma GCC unroll 8
            for (int r = 0; r < nb; ++r)
                acc[r][j] = IWK_MM(fmadd)(xf[r], cf, acc[r][j]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nb; ++r) {
        const int first = row + r * lanes, left = n_rows - first;
        const M valid = IWK_FIRST_LANES(M, left, lanes);
        const V xn = IWK_MM(maskz_loadu)(valid, x_norms + first);
        const V nearest = IWK_MM(maskz_loadu)(valid, closest + first);
        const V w = IWK_MM(maskz_loadu)(valid, weights + first);
        V value[IWK_PACKED_GROUP];
        M closer = 0;
#pragma GCC unroll 8
        for (int j = 0; j < nc; ++j) {
            V v = IWK_MM(add)(IWK_MM(fmadd)(acc[r][j], IWK_MM(set1)((T)-2), xn),
                              IWK_MM(set1)(cand_norms[j]));
            v = IWK_MM(max)(v, IWK_MM(setzero)());
            closer |= IWK_MM_MASK(mask_cmp)(valid, v, nearest, _CMP_LT_OQ);
            value[j] = IWK_MM(min)(v, nearest);
            IWK_NAME(iwk_add_lanes)(sums + 2 * j, w, value[j]);
        }
        flags[r] |= closer != 0;
        /* With several groups, whether the block is kept is known only
           after the last one. */
        if (closer || keep_all) {
#pragma GCC unroll 8
            for (int j = 0; j < nc; ++j)
                IWK_MM(storeu)(values + (int64_t)first * n_cand
                               + (int64_t)(j0 + j) * lanes, value[j]);
        }
    }
}

/* IN: packed (blocks of n_features vectors, n_rows rows), candidates
   (n_cand, n_features), cand_norms, x_norms, closest, weights (n_rows
   each). OUT: partial (n_cand), values (kept blocks, n_cand vectors each),
   improved (one per block, ceil(n_rows / lanes)): the blocks' flags, then
   the list of the kept ones. */
__attribute__((target("avx512f"))) IWK_STATIC int IWK_NAME(iwk_score_packed)(
    const T *restrict packed, int n_rows, int n_features,
    const T *restrict candidates, const T *restrict cand_norms, int n_cand,
    const T *restrict x_norms, const T *restrict closest,
    const T *restrict weights, double *restrict partial,
    int32_t *restrict improved, T *restrict values)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    const int n_blocks = (n_rows + lanes - 1) / lanes;
    const int keep_all = n_cand > IWK_PACKED_GROUP;
    int n_improved = 0;
    /* improved[b] first flags block b, then lists the kept blocks. */
    for (int b = 0; b < n_blocks; ++b)
        improved[b] = 0;
    for (int j0 = 0; j0 < n_cand; j0 += IWK_PACKED_GROUP) {
        const int nc = n_cand - j0 < IWK_PACKED_GROUP
            ? n_cand - j0 : IWK_PACKED_GROUP;
        __m512d sums[2 * IWK_PACKED_GROUP];
        for (int j = 0; j < 2 * IWK_PACKED_GROUP; ++j)
            sums[j] = _mm512_setzero_pd();
        for (int b = 0; b < n_blocks; b += IWK_PACKED_TILE) {
            const int nb = n_blocks - b < IWK_PACKED_TILE
                ? n_blocks - b : IWK_PACKED_TILE;
            /* The tile with nb and nc as constants, one case per shape (see
               the comment above the packed kernels). */
            switch ((nb - 1) * IWK_PACKED_GROUP + nc - 1) {
            case 0: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 1); break;
            case 1: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 2); break;
            case 2: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 3); break;
            case 3: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 4); break;
            case 4: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 5); break;
            case 5: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 6); break;
            case 6: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 7); break;
            case 7: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 1, 8); break;
            case 8: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 1); break;
            case 9: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 2); break;
            case 10: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 3); break;
            case 11: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 4); break;
            case 12: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 5); break;
            case 13: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 6); break;
            case 14: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 7); break;
            case 15: IWK_NAME(iwk_score_packed_tile)(packed, b * lanes, n_rows,
                n_features, candidates + (int64_t)j0 * n_features,
                cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums,
                improved + b, keep_all, values, 2, 8); break;
            }
        }
        for (int j = 0; j < nc; ++j)
            partial[j0 + j] = _mm512_reduce_add_pd(
                _mm512_add_pd(sums[2 * j], sums[2 * j + 1]));
    }
    for (int b = 0; b < n_blocks; ++b)
        if (improved[b])
            improved[n_improved++] = b * lanes;
    return n_improved;
}

/* The nearest center of each row of a chunk of packed rows (layout as
   above), for a Lloyd step: nearest[i] = min_j ||c_j||^2 - 2 <x_i, c_j>
   and best[i] its j (ties: the lowest). centers (n_centers, n_features),
   norms their squared norms. The centers are taken in groups of
   IWK_PACKED_GROUP, in order, by every tile of rows; a group replaces a
   row's nearest only where strictly closer, which keeps the lowest index
   on ties. One pass over the centers per tile, and no block of dots
   written out and scanned as the GEMM path does. */

/* One tile: nb row vectors from row against the nc centers from j0
   (given from there, with their norms). IN: packed, centers
   (nc, n_features), norms (nc). INOUT: nearest, best (nb vectors each). */
IWK_AVX512_INLINE void IWK_NAME(iwk_nearest_packed_tile)(
    const T *restrict packed, int row, int n_features,
    const T *restrict centers, const T *restrict norms, int j0,
    V *restrict nearest, __m512i *restrict best, const int nb, const int nc)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    V acc[IWK_PACKED_TILE][IWK_PACKED_GROUP];
#pragma GCC unroll 8
    for (int r = 0; r < nb; ++r) {
#pragma GCC unroll 8
        for (int j = 0; j < nc; ++j)
            acc[r][j] = IWK_MM(setzero)();
    }
    for (int f = 0; f < n_features; ++f) {
        V xf[IWK_PACKED_TILE];
#pragma GCC unroll 8
        for (int r = 0; r < nb; ++r)
            xf[r] = IWK_MM(loadu)(packed + (int64_t)row * n_features
                                  + ((int64_t)r * n_features + f) * lanes);
#pragma GCC unroll 8
        for (int j = 0; j < nc; ++j) {
            const V cf = IWK_MM(set1)(centers[(int64_t)j * n_features + f]);
#pragma GCC unroll 8
            for (int r = 0; r < nb; ++r)
                acc[r][j] = IWK_MM(fmadd)(xf[r], cf, acc[r][j]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < nc; ++j) {
        const V norm = IWK_MM(set1)(norms[j]);
        const __m512i index = IWK_MMI(set1)((I)(j0 + j));
#pragma GCC unroll 8
        for (int r = 0; r < nb; ++r) {
            const V v = IWK_MM(fmadd)(acc[r][j], IWK_MM(set1)((T)-2), norm);
            const M closer = IWK_MM_MASK(cmp)(v, nearest[r], _CMP_LT_OQ);
            nearest[r] = IWK_MM(mask_mov)(nearest[r], closer, v);
            best[r] = IWK_MMI(mask_mov)(best[r], closer, index);
        }
    }
}

/* IN: packed (blocks of n_features vectors, n_rows rows), centers
   (n_centers, n_features), norms (n_centers).
   OUT: nearest, best (n_rows each). */
__attribute__((target("avx512f"))) IWK_STATIC void IWK_NAME(iwk_nearest_packed)(
    const T *restrict packed, int n_rows, int n_features,
    const T *restrict centers, const T *restrict norms, int n_centers,
    T *restrict nearest, I *restrict best)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    const int n_blocks = (n_rows + lanes - 1) / lanes;
    for (int b = 0; b < n_blocks; b += IWK_PACKED_TILE) {
        const int nb = n_blocks - b < IWK_PACKED_TILE
            ? n_blocks - b : IWK_PACKED_TILE;
        V value[IWK_PACKED_TILE];
        __m512i index[IWK_PACKED_TILE];
        for (int r = 0; r < IWK_PACKED_TILE; ++r) {
            value[r] = IWK_MM(set1)((T)INFINITY);
            index[r] = _mm512_setzero_si512();
        }
        for (int j0 = 0; j0 < n_centers; j0 += IWK_PACKED_GROUP) {
            const int nc = n_centers - j0 < IWK_PACKED_GROUP
                ? n_centers - j0 : IWK_PACKED_GROUP;
            /* As in iwk_score_packed_*. */
            switch ((nb - 1) * IWK_PACKED_GROUP + nc - 1) {
            case 0: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 1); break;
            case 1: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 2); break;
            case 2: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 3); break;
            case 3: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 4); break;
            case 4: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 5); break;
            case 5: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 6); break;
            case 6: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 7); break;
            case 7: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 1, 8); break;
            case 8: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 1); break;
            case 9: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 2); break;
            case 10: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 3); break;
            case 11: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 4); break;
            case 12: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 5); break;
            case 13: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 6); break;
            case 14: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 7); break;
            case 15: IWK_NAME(iwk_nearest_packed_tile)(packed, b * lanes,
                n_features, centers + (int64_t)j0 * n_features, norms + j0,
                j0, value, index, 2, 8); break;
            }
        }
        for (int r = 0; r < nb; ++r) {
            const int first = (b + r) * lanes, left = n_rows - first;
            const M valid = IWK_FIRST_LANES(M, left, lanes);
            IWK_MM(mask_storeu)(nearest + first, valid, value[r]);
            IWK_MMI(mask_storeu)(best + first, valid, index[r]);
        }
    }
}

/* Lloyd's fused tile with AVX-512's vectors (simd_fused.h has it for AVX2,
   with the design and the rounding): a register tile of IWK_TILE_ROWS rows
   times a panel of two vectors of centers (32 float, 16 double) accumulates
   the dot products feature by feature, turns them into ||c||^2 - 2 <y, c>
   and keeps, lane by lane, the closest center so far; a last panel of one
   vector takes the centers left (iwk_fused_padded). No block of distances
   exists and the rows are read where they are. One thread, Xeon with
   AVX-512: a C prototype of this loop took 6.2 ms per pass at 100000 x 64
   x 96 in float32 (198 GF/s), where OpenBLAS's GEMM alone took 9.1 ms at
   100 centers; a whole Lloyd iteration at 100000 x 64 x 100 takes 9.5 ms
   with it, 12.3 ms with GEMM and its scan (bench/fused_tile.py). Ties
   go to the lowest index: within a panel the second vector (higher
   indices) wins only where strictly closer, across panels a later one
   only where strictly closer, and the lanes are reduced to the lowest
   index among the equal minima. */
#define IWK_TILE_ROWS 6

/* The panels' running minimum for mr rows. IN: x (mr rows, n_features
   apart), panels, norms. INOUT: low, label (mr vectors each). */
IWK_AVX512_INLINE void IWK_NAME(iwk_fused512_tile)(
    const T *restrict x, int n_features, const T *restrict panels,
    const T *restrict norms, int n_wide, int narrow, V *restrict low,
    __m512i *restrict label, const int mr)
{
    const int lanes = (int)(sizeof(V) / sizeof(T));
    const V minus_two = IWK_MM(set1)((T)-2);
    for (int p = 0; p < n_wide + narrow; ++p) {
        const int nv = p < n_wide ? 2 : 1;
        const T *panel = panels + (int64_t)p * n_features * 2 * lanes;
        const int base = p * 2 * lanes;
        V acc[IWK_TILE_ROWS][2];
        for (int r = 0; r < mr; ++r)
            acc[r][0] = acc[r][1] = IWK_MM(setzero)();
        if (nv == 2) {
            for (int f = 0; f < n_features; ++f) {
                const V c0 = IWK_MM(loadu)(panel + f * 2 * lanes);
                const V c1 = IWK_MM(loadu)(panel + f * 2 * lanes + lanes);
                for (int r = 0; r < mr; ++r) {
                    const V xf = IWK_MM(set1)(x[(int64_t)r * n_features + f]);
                    acc[r][0] = IWK_MM(fmadd)(xf, c0, acc[r][0]);
                    acc[r][1] = IWK_MM(fmadd)(xf, c1, acc[r][1]);
                }
            }
        } else {
            for (int f = 0; f < n_features; ++f) {
                const V c0 = IWK_MM(loadu)(panel + f * lanes);
                for (int r = 0; r < mr; ++r)
                    acc[r][0] = IWK_MM(fmadd)(
                        IWK_MM(set1)(x[(int64_t)r * n_features + f]), c0,
                        acc[r][0]);
            }
        }
        const V norm0 = IWK_MM(loadu)(norms + base);
        const V norm1 = nv == 2 ? IWK_MM(loadu)(norms + base + lanes) : norm0;
        const __m512i index0 = IWK_MMI(add)(IWK_NAME(iwk_lane_indices)(),
                                            IWK_MMI(set1)(base));
        const __m512i index1 = IWK_MMI(add)(index0, IWK_MMI(set1)(lanes));
        for (int r = 0; r < mr; ++r) {
            V value = IWK_MM(fmadd)(acc[r][0], minus_two, norm0);
            __m512i index = index0;
            if (nv == 2) {
                const V other = IWK_MM(fmadd)(acc[r][1], minus_two, norm1);
                const M closer = IWK_MM_MASK(cmp)(other, value, _CMP_LT_OQ);
                value = IWK_MM(mask_blend)(closer, value, other);
                index = IWK_MMI(mask_blend)(closer, index, index1);
            }
            const M closer = IWK_MM_MASK(cmp)(value, low[r], _CMP_LT_OQ);
            low[r] = IWK_MM(mask_blend)(closer, low[r], value);
            label[r] = IWK_MMI(mask_blend)(closer, label[r], index);
        }
    }
}

/* mr rows' nearest centers from their running minima: the smallest value,
   and the lowest index among the lanes that hold it. OUT: nearest, best
   (mr each). */
IWK_AVX512_INLINE void IWK_NAME(iwk_fused512_rows)(
    const T *restrict x, int n_features, const T *restrict panels,
    const T *restrict norms, int n_wide, int narrow, T *restrict nearest,
    I *restrict best, const int mr)
{
    V low[IWK_TILE_ROWS];
    __m512i label[IWK_TILE_ROWS];
    for (int r = 0; r < mr; ++r) {
        low[r] = IWK_MM(set1)((T)INFINITY);
        label[r] = _mm512_setzero_si512();
    }
    IWK_NAME(iwk_fused512_tile)(x, n_features, panels, norms, n_wide, narrow,
                                low, label, mr);
    for (int r = 0; r < mr; ++r) {
        const T minimum = IWK_MM(reduce_min)(low[r]);
        const M hit = IWK_MM_MASK(cmp)(low[r], IWK_MM(set1)(minimum),
                                       _CMP_EQ_OQ);
        /* A NaN minimum matches no lane: index 0, as iwk_row_min. */
        best[r] = hit ? (I)IWK_MMI(mask_reduce_min)(hit, label[r]) : 0;
        nearest[r] = minimum;
    }
}

/* iwk_nearest_fused (simd_fused.h) with AVX-512's vectors: the same
   arguments, panels of iwk_fused512_width centers; tiles of 6 rows, then
   one of the rows left. */
__attribute__((target("avx512f"))) IWK_STATIC void IWK_NAME(iwk_nearest_fused512)(
    const T *restrict x, int n_rows, int n_features, const T *restrict panels,
    const T *restrict norms, int n_centers, int width, T *restrict nearest,
    I *restrict best)
{
    const int padded = iwk_fused_padded(n_centers, width);
    const int n_wide = padded / width, narrow = padded % width != 0;
    int i = 0;
    for (; i + IWK_TILE_ROWS <= n_rows; i += IWK_TILE_ROWS)
        IWK_NAME(iwk_fused512_rows)(x + (int64_t)i * n_features, n_features,
                                    panels, norms, n_wide, narrow, nearest + i,
                                    best + i, IWK_TILE_ROWS);
    const T *rest = x + (int64_t)i * n_features;
    switch (n_rows - i) {
#define IWK_FUSED512_REST(m) case m: IWK_NAME(iwk_fused512_rows)(rest, \
        n_features, panels, norms, n_wide, narrow, nearest + i, best + i, m); \
        break;
    IWK_FUSED512_REST(1) IWK_FUSED512_REST(2) IWK_FUSED512_REST(3)
    IWK_FUSED512_REST(4) IWK_FUSED512_REST(5)
#undef IWK_FUSED512_REST
    }
}
_Static_assert(IWK_TILE_ROWS == 6, "one case per row count below it");
#undef IWK_TILE_ROWS

#else /* no AVX-512 */

/* Never called: the callers use it only where iwk_fused512_width is not 0,
   and it is 0 here. Defined so that the callers compile. */
IWK_STATIC void IWK_NAME(iwk_nearest_fused512)(
    const T *x, int n_rows, int n_features, const T *panels, const T *norms,
    int n_centers, int width, T *nearest, I *best)
{
    (void)x; (void)n_rows; (void)n_features; (void)panels; (void)norms;
    (void)n_centers; (void)width; (void)nearest; (void)best;
}

/* Never called: the callers use these kernels only where iwk_small_lanes
   is not 0, and it is 0 here. Defined so that the callers compile. */
IWK_STATIC void IWK_NAME(iwk_nearest_small)(
    const T *X, int n_rows, int n_features, const T *centers_t,
    const T *norms, T *nearest, I *best)
{
    (void)X; (void)n_rows; (void)n_features; (void)centers_t; (void)norms;
    (void)nearest; (void)best;
}

IWK_STATIC int IWK_NAME(iwk_score_small)(
    const T *X, int n_rows, int n_features, const T *centers, const T *norms,
    int n_centers, const T *x_norms, const T *closest, const T *weights,
    double *partial, int32_t *improved, T *values)
{
    (void)X; (void)n_rows; (void)n_features; (void)centers; (void)norms;
    (void)n_centers; (void)x_norms; (void)closest; (void)weights;
    (void)partial; (void)improved; (void)values;
    return 0;
}

IWK_STATIC int IWK_NAME(iwk_score_packed)(
    const T *X, int n_rows, int n_features, const T *centers, const T *norms,
    int n_centers, const T *x_norms, const T *closest, const T *weights,
    double *partial, int32_t *improved, T *values)
{
    (void)X; (void)n_rows; (void)n_features; (void)centers; (void)norms;
    (void)n_centers; (void)x_norms; (void)closest; (void)weights;
    (void)partial; (void)improved; (void)values;
    return 0;
}

IWK_STATIC void IWK_NAME(iwk_nearest_packed)(
    const T *packed, int n_rows, int n_features, const T *centers,
    const T *norms, int n_centers, T *nearest, I *best)
{
    (void)packed; (void)n_rows; (void)n_features; (void)centers;
    (void)norms; (void)n_centers; (void)nearest; (void)best;
}

#endif

/* Per row of a sample-major block, the nearest center: the AVX-512 kernel
   where the CPU has it, else the scalar loop (same results, see
   iwk_row_min_scalar_*). IN: dots, norms. OUT: nearest, best (n_rows
   each). */
IWK_STATIC void IWK_NAME(iwk_row_min)(const T *dots, int stride,
                                      const T *norms, int n_rows,
                                      int n_centers, T *nearest, I *best)
{
#ifdef IWK_AVX512
    if (__builtin_cpu_supports("avx512f")) {
        IWK_NAME(iwk_row_min_avx512)(dots, stride, norms, n_rows, n_centers,
                                     nearest, best);
        return;
    }
#endif
    IWK_NAME(iwk_row_min_scalar)(dots, stride, norms, n_rows, n_centers,
                                 nearest, best);
}
