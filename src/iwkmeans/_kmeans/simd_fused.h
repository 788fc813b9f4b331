/* The fused tile, for CPUs with AVX2 and FMA but not AVX-512 (AVX-512 CPUs
   have Lloyd's with their own vectors, iwk_nearest_fused512 in
   simd_avx512.h, and k-means++'s packed and small kernels): Lloyd's
   nearest-center search and k-means++'s candidate scores computed in the
   product tile, for one real type T and its index type I (simd.h includes
   this file once per type; see there for T, I, S and IWK_NAME).

   The GEMM path computes a chunk's dot products into a block of chunk x
   centers values, then reads the block back for the argmin: one store and
   one load per distance, and OpenBLAS packs the chunk of rows first. Here a
   register tile of 6 rows times one panel of 2 vectors of centers (or 12
   rows times one vector) accumulates its dot products over the features,
   turns them into ||c||^2 - 2 <y, c> and keeps, lane by lane, the closest
   center so far: no block of distances exists, and the rows are read where
   they are (each feature broadcast from its row), so nothing is packed but
   the centers, once per pass (iwk_fused_pack_*).

   The values are those of the GEMM path up to the order of the additions
   in the dot products (here feature by feature, one fused multiply-add
   each): norm - 2 dot is rounded once, as GEMM's -2 dot (exact) + norm is.
   Ties go to the lowest index, as everywhere.

   Where k-means++ has a packed copy of the rows (pack_rows, _rows.pxd),
   its scores come from iwk_score_packed_avx2_* below instead of the tile:
   rows in the lanes, which its few candidates cannot fill. */

#ifdef IWK_AVX2

/* A real vector of T and its intrinsics: IWK_YMM(add) is _mm256_add_ps
   (S = ps) or _mm256_add_pd (S = pd). */
#define IWK_YMM_(op, s) _mm256_##op##_##s
#define IWK_YMM_EXPAND(op, s) IWK_YMM_(op, s)
#define IWK_YMM(op) IWK_YMM_EXPAND(op, S)

/* The rows left after the whole tiles, fewer than IWK_FUSED_ACC: call(m)
   for m = left, a constant in each case, so that the tile's loops unroll. */
#define IWK_FUSED_REST(left, call) \
    switch (left) { \
    case 1: call(1); break; case 2: call(2); break; case 3: call(3); break; \
    case 4: call(4); break; case 5: call(5); break; case 6: call(6); break; \
    case 7: call(7); break; case 8: call(8); break; case 9: call(9); break; \
    case 10: call(10); break; case 11: call(11); break; \
    }
_Static_assert(IWK_FUSED_ACC == 12, "one case per row count below it");

/* The tile's products, the one loop of both kernels: acc[r][h] = the dot
   products of row r with the centers of vector h, for mr rows and nv
   vectors of centers, feature by feature, one fused multiply-add each. IN:
   x (mr rows, n_features apart), centers (feature-major: n_features rows
   of stride values, the nv vectors first). OUT: acc. */
IWK_AVX2_INLINE void IWK_NAME(iwk_fused_dots)(
    const T *restrict x, int n_features, const T *restrict centers,
    int stride, IWK_Y acc[IWK_FUSED_ACC][2], const int mr, const int nv)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)) };
#pragma GCC unroll 12
    for (int r = 0; r < mr; ++r)
#pragma GCC unroll 2
        for (int h = 0; h < nv; ++h)
            acc[r][h] = IWK_YMM(setzero)();
    for (int f = 0; f < n_features; ++f) {
        IWK_Y c[2];
#pragma GCC unroll 2
        for (int h = 0; h < nv; ++h)
            c[h] = IWK_YMM(loadu)(centers + f * stride + h * W);
#pragma GCC unroll 12
        for (int r = 0; r < mr; ++r) {
            const IWK_Y xf = IWK_YMM(set1)(x[(int64_t)r * n_features + f]);
#pragma GCC unroll 2
            for (int h = 0; h < nv; ++h)
                acc[r][h] = IWK_YMM(fmadd)(xf, c[h], acc[r][h]);
        }
    }
}

/* One panel of centers (nv vectors of them, from index base) against a
   tile of mr rows, into the tile's running minimum. A lane l of the
   running minimum follows the centers p * width + l and p * width + W + l
   of every panel p, in increasing order, keeping the first of equal
   values, so it holds the lowest index among its closest. IN: x (mr rows,
   n_features apart), panel (n_features x nv vectors), norms (nv vectors).
   INOUT: low, label (mr vectors each). */
IWK_AVX2_INLINE void IWK_NAME(iwk_fused_panel)(
    const T *restrict x, int n_features, const T *restrict panel,
    const T *restrict norms, int base, IWK_Y *restrict low,
    __m256i *restrict label, const int mr, const int nv)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)) };
    IWK_Y acc[IWK_FUSED_ACC][2];
    IWK_NAME(iwk_fused_dots)(x, n_features, panel, nv * W, acc, mr, nv);
    /* Per row, the panel's halves first: lane l of the second holds a
       higher index than lane l of the first, so it wins only where
       strictly closer; then the running minimum, whose earlier panels hold
       lower indices, on the same rule. One vector of running minimum per
       row, and half the compares and blends of taking each half alone. */
    const IWK_Y minus_two = IWK_YMM(set1)((T)-2);
    const IWK_Y norm0 = IWK_YMM(loadu)(norms);
    const __m256i index0 = IWK_NAME(iwk_lane_index)(base);
    IWK_Y norm1 = norm0;
    __m256i index1 = index0;
    if (nv == 2) {
        norm1 = IWK_YMM(loadu)(norms + W);
        index1 = IWK_NAME(iwk_lane_index)(base + W);
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; ++r) {
        IWK_Y value = IWK_YMM(fmadd)(acc[r][0], minus_two, norm0);
        __m256i index = index0;
        if (nv == 2) {
            const IWK_Y other = IWK_YMM(fmadd)(acc[r][1], minus_two, norm1);
            const IWK_Y closer = IWK_YMM(cmp)(other, value, _CMP_LT_OQ);
            value = IWK_YMM(blendv)(value, other, closer);
            index = _mm256_blendv_epi8(index, index1,
                                       IWK_NAME(iwk_as_integers)(closer));
        }
        const IWK_Y closer = IWK_YMM(cmp)(value, low[r], _CMP_LT_OQ);
        low[r] = IWK_YMM(blendv)(low[r], value, closer);
        label[r] = _mm256_blendv_epi8(label[r], index,
                                      IWK_NAME(iwk_as_integers)(closer));
    }
}

/* One tile: mr rows against every center, giving each row's nearest: the
   wide panels, then the narrow one if there is one (see
   iwk_fused_padded), then the lanes of the running minimum reduced to one
   (iwk_lanes_nearest). IN: x (mr rows, n_features apart), panels, norms
   (see iwk_fused_pack). OUT: nearest, best (mr each). */
IWK_AVX2_INLINE void IWK_NAME(iwk_fused_tile)(
    const T *restrict x, int n_features, const T *restrict panels,
    const T *restrict norms, int n_wide, int narrow, T *restrict nearest,
    I *restrict best, const int mr)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)) };
    /* The running minimum, a vector per row. GCC keeps it in memory: the
       panel's accumulators and operands take 14 or 15 of the 16
       registers. */
    IWK_Y low[IWK_FUSED_ACC];
    __m256i label[IWK_FUSED_ACC];
    for (int r = 0; r < mr; ++r) {
        low[r] = IWK_YMM(set1)((T)INFINITY);
        label[r] = _mm256_setzero_si256();
    }
    for (int p = 0; p < n_wide; ++p)
        IWK_NAME(iwk_fused_panel)(x, n_features,
                                  panels + (int64_t)p * n_features * 2 * W,
                                  norms + p * 2 * W, p * 2 * W, low, label,
                                  mr, 2);
    if (narrow)
        IWK_NAME(iwk_fused_panel)(x, n_features,
                                  panels + (int64_t)n_wide * n_features * 2 * W,
                                  norms + n_wide * 2 * W, n_wide * 2 * W, low,
                                  label, mr, 1);
    for (int r = 0; r < mr; ++r)
        IWK_NAME(iwk_lanes_nearest)(low[r], label[r], nearest + r, best + r);
}

/* Each row's nearest center: best[i] = the j of the smallest
   ||c_j||^2 - 2 <x_i, c_j> (ties: the lowest j), nearest[i] that value.
   IN: x (n_rows, n_features), panels and norms as iwk_fused_pack_* wrote
   them for n_centers centers in panels of width. OUT: nearest, best
   (n_rows each). */
__attribute__((target("avx2,fma"))) IWK_STATIC void IWK_NAME(iwk_nearest_fused)(
    const T *restrict x, int n_rows, int n_features, const T *restrict panels,
    const T *restrict norms, int n_centers, int width, T *restrict nearest,
    I *restrict best)
{
    const int padded = iwk_fused_padded(n_centers, width);
    const int n_wide = padded / width, narrow = padded % width != 0;
    int i = 0;
    /* Centers in two vectors: 6 rows a tile; in one (a narrow panel
       alone): 12. */
    if (n_wide > 0)
        for (; i + IWK_FUSED_ACC / 2 <= n_rows; i += IWK_FUSED_ACC / 2)
            IWK_NAME(iwk_fused_tile)(x + (int64_t)i * n_features, n_features,
                                     panels, norms, n_wide, narrow,
                                     nearest + i, best + i, IWK_FUSED_ACC / 2);
    else
        for (; i + IWK_FUSED_ACC <= n_rows; i += IWK_FUSED_ACC)
            IWK_NAME(iwk_fused_tile)(x + (int64_t)i * n_features, n_features,
                                     panels, norms, 0, narrow, nearest + i,
                                     best + i, IWK_FUSED_ACC);
    /* The last rows, with a tile of as many rows: one case per size, so
       that every tile's loops are unrolled at compile time. */
    const T *rest = x + (int64_t)i * n_features;
#define IWK_NEAREST_REST(m) IWK_NAME(iwk_fused_tile)(rest, n_features, \
        panels, norms, n_wide, narrow, nearest + i, best + i, m)
    IWK_FUSED_REST(n_rows - i, IWK_NEAREST_REST);
#undef IWK_NEAREST_REST
}

/* k-means++ candidates for a chunk of dense rows, up to two vectors of
   them: iwk_score_small_* (simd_avx512.h) with AVX2's vectors and the
   tile of iwk_fused_panel. For row i and candidate j, value = min(closest_i,
   d(x_i, c_j)), d = max(0, ||x_i||^2 - 2 <x_i, c_j> + ||c_j||^2), rounded
   as the GEMM path rounds it; partial[j] = the sum over the rows of w_i
   value, in row order and in double. Rows that some candidate brings
   closer are kept: their index in the chunk in improved[m], m = 0 .. the
   count returned, their values in values[row * n_centers + j]. Slots past
   the last candidate hold zeros and a norm of +inf (transposed_centers):
   their value is never closer, and never stored. */

/* One row's values from its dot products (nv vectors). IN: x_norms[row],
   closest[row], weights[row]. INOUT: sums (2 nv vectors for float, nv for
   double), n_improved. OUT: values[row * n_centers ..] and
   improved[*n_improved] if kept. */
IWK_AVX2_INLINE void IWK_NAME(iwk_score_fused_finish)(
    const IWK_Y *dots, int row, const IWK_Y *norms, const IWK_Y *used,
    int n_centers, const T *x_norms, const T *closest, const T *weights,
    __m256d *sums, int32_t *improved, T *values, int *n_improved,
    const int nv)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)) };
    const IWK_Y x_norm = IWK_YMM(set1)(x_norms[row]);
    const IWK_Y nearest = IWK_YMM(set1)(closest[row]);
    IWK_Y value[2];
    int closer = 0;
#pragma GCC unroll 2
    for (int h = 0; h < nv; ++h) {
        value[h] = IWK_YMM(add)(
            IWK_YMM(fmadd)(dots[h], IWK_YMM(set1)((T)-2), x_norm), norms[h]);
        value[h] = IWK_YMM(max)(value[h], IWK_YMM(setzero)());
        closer |= IWK_YMM(movemask)(
            IWK_YMM(cmp)(value[h], nearest, _CMP_LT_OQ));
        value[h] = IWK_YMM(min)(value[h], nearest);
        IWK_NAME(iwk_add_weighted_avx2)(sums + h * (W / 4), (double)weights[row],
                                        value[h]);
    }
    if (closer) {
#pragma GCC unroll 2
        for (int h = 0; h < nv; ++h)
            IWK_YMM(maskstore)(values + (int64_t)row * n_centers + h * W,
                               IWK_NAME(iwk_as_integers)(used[h]), value[h]);
        improved[(*n_improved)++] = row;
    }
}

/* mr rows from row against the candidates (nv vectors). IN: X (rows
   n_features apart), centers_t (n_features x width), norms, used (nv
   vectors each). INOUT, OUT: as iwk_score_fused_finish. */
IWK_AVX2_INLINE void IWK_NAME(iwk_score_fused_tile)(
    const T *restrict X, int row, int n_features,
    const T *restrict centers_t, int width, const IWK_Y *norms,
    const IWK_Y *used, int n_centers, const T *x_norms, const T *closest,
    const T *weights, __m256d *sums, int32_t *improved, T *values,
    int *n_improved, const int mr, const int nv)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)) };
    const T *x = X + (int64_t)row * n_features;
    IWK_Y acc[IWK_FUSED_ACC][2];
    IWK_NAME(iwk_fused_dots)(x, n_features, centers_t, width, acc, mr, nv);
    /* In row order: the sums add the rows in the order of the scalar path. */
#pragma GCC unroll 12
    for (int r = 0; r < mr; ++r)
        IWK_NAME(iwk_score_fused_finish)(acc[r], row + r, norms, used,
                                         n_centers, x_norms, closest, weights,
                                         sums, improved, values, n_improved,
                                         nv);
}

/* nv vectors of candidates over the chunk: tiles of 12 / nv rows, then
   one of the rows left. Returns the count of improved rows. */
IWK_AVX2_INLINE int IWK_NAME(iwk_score_fused_rows)(
    const T *restrict X, int n_rows, int n_features,
    const T *restrict centers_t, int width, const IWK_Y *norms,
    const IWK_Y *used, int n_centers, const T *x_norms, const T *closest,
    const T *weights, __m256d *sums, int32_t *improved, T *values,
    const int nv)
{
    const int tile = IWK_FUSED_ACC / nv;
    int n_improved = 0, i = 0;
    for (; i + tile <= n_rows; i += tile)
        IWK_NAME(iwk_score_fused_tile)(X, i, n_features, centers_t, width,
                                       norms, used, n_centers, x_norms,
                                       closest, weights, sums, improved,
                                       values, &n_improved, tile, nv);
#define IWK_SCORE_REST(m) IWK_NAME(iwk_score_fused_tile)(X, i, n_features, \
        centers_t, width, norms, used, n_centers, x_norms, closest, weights, \
        sums, improved, values, &n_improved, m, nv)
    IWK_FUSED_REST(n_rows - i, IWK_SCORE_REST);
#undef IWK_SCORE_REST
    return n_improved;
}

/* IN: X (n_rows, n_features), centers_t (n_features, width), norms
   (width), x_norms, closest, weights (n_rows each); n_centers at most
   width, the fused kernel's panel (iwk_fused_width).
   OUT: partial (n_centers), improved (up to n_rows), values (kept rows,
   n_rows * n_centers). */
__attribute__((target("avx2,fma"))) IWK_STATIC int IWK_NAME(iwk_score_fused)(
    const T *restrict X, int n_rows, int n_features,
    const T *restrict centers_t, int width, const T *restrict norms,
    int n_centers, const T *restrict x_norms, const T *restrict closest,
    const T *restrict weights, double *restrict partial,
    int32_t *restrict improved, T *restrict values)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)) };
    IWK_Y norm[2], used[2];
    __m256d sums[4];
    double total[16];
    int n_improved;
    for (int h = 0; h < 2; ++h) {
        norm[h] = IWK_YMM(loadu)(norms + (h * W < width ? h * W : 0));
        /* The slots of candidates: a norm below +inf. */
        used[h] = IWK_YMM(cmp)(norm[h], IWK_YMM(set1)((T)INFINITY), _CMP_LT_OQ);
    }
    for (int v = 0; v < 4; ++v)
        sums[v] = _mm256_setzero_pd();
    if (n_centers <= W)
        n_improved = IWK_NAME(iwk_score_fused_rows)(
            X, n_rows, n_features, centers_t, width, norm, used, n_centers,
            x_norms, closest, weights, sums, improved, values, 1);
    else
        n_improved = IWK_NAME(iwk_score_fused_rows)(
            X, n_rows, n_features, centers_t, width, norm, used, n_centers,
            x_norms, closest, weights, sums, improved, values, 2);
    for (int v = 0; v < 4; ++v)
        _mm256_storeu_pd(total + 4 * v, sums[v]);
    for (int j = 0; j < n_centers; ++j)
        partial[j] = total[j];
    return n_improved;
}

/* k-means++'s candidates over rows packed feature-major in blocks of one
   vector of rows (8 float, 4 double; pack_rows in _rows.pxd): the
   iwk_score_packed_* kernel of simd_avx512.h with AVX2's vectors, same
   inputs, outputs and block layout. The tile above puts the candidates in
   the lanes: with k-means++'s usual 5-7 candidates float leaves a quarter
   or more of its 8 lanes idle, and each multiply-add waits for one
   broadcast row value, which this CPU issues at about one a cycle against
   two multiply-adds. Here the rows fill the lanes and each broadcast
   candidate value serves IWK_PACKED_TILE vectors of rows: every lane
   works, and one broadcast feeds two multiply-adds.

   Results as the AVX-512 kernel's: partial[j] adds per lane, then the
   lanes, and a block of rows is kept whole. */

/* One tile: nb row vectors from row, the nc candidates from j0. IN, INOUT,
   OUT: as iwk_score_packed_tile_* (simd_avx512.h), sums (2 vectors per
   candidate for float, 1 for double). */
IWK_AVX2_INLINE void IWK_NAME(iwk_score_packed_avx2_tile)(
    const T *restrict packed, int row, int n_rows, int n_features,
    const T *restrict candidates, const T *restrict cand_norms, int n_cand,
    int j0, const T *restrict x_norms, const T *restrict closest,
    const T *restrict weights, __m256d *restrict sums,
    int32_t *restrict flags, int keep_all, T *restrict values,
    const int nb, const int nc)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)), H = W / 4 };
    IWK_Y acc[IWK_PACKED_TILE][IWK_PACKED_AVX2_GROUP];
#pragma GCC unroll 2
    for (int r = 0; r < nb; ++r) {
#pragma GCC unroll 6
        for (int j = 0; j < nc; ++j)
            acc[r][j] = IWK_YMM(setzero)();
    }
    for (int f = 0; f < n_features; ++f) {
        IWK_Y xf[IWK_PACKED_TILE];
#pragma GCC unroll 2
        for (int r = 0; r < nb; ++r)
            xf[r] = IWK_YMM(loadu)(packed + (int64_t)row * n_features
                                   + ((int64_t)r * n_features + f) * W);
#pragma GCC unroll 6
        for (int j = 0; j < nc; ++j) {
            const IWK_Y cf = IWK_YMM(set1)(candidates[(int64_t)j * n_features + f]);
#pragma GCC unroll 2
            for (int r = 0; r < nb; ++r)
                acc[r][j] = IWK_YMM(fmadd)(xf[r], cf, acc[r][j]);
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < nb; ++r) {
        const int first = row + r * W;
        const __m256i valid = IWK_NAME(iwk_first_lanes_avx2)(n_rows - first);
        const IWK_Y xn = IWK_YMM(maskload)(x_norms + first, valid);
        const IWK_Y nearest = IWK_YMM(maskload)(closest + first, valid);
        const IWK_Y w = IWK_YMM(maskload)(weights + first, valid);
        /* Lanes past the last row load 0 everywhere, so their value is 0
           and never closer than their 0. */
        IWK_Y value[IWK_PACKED_AVX2_GROUP];
        int closer = 0;
#pragma GCC unroll 6
        for (int j = 0; j < nc; ++j) {
            IWK_Y v = IWK_YMM(add)(
                IWK_YMM(fmadd)(acc[r][j], IWK_YMM(set1)((T)-2), xn),
                IWK_YMM(set1)(cand_norms[j]));
            v = IWK_YMM(max)(v, IWK_YMM(setzero)());
            closer |= IWK_YMM(movemask)(IWK_YMM(cmp)(v, nearest, _CMP_LT_OQ));
            value[j] = IWK_YMM(min)(v, nearest);
            IWK_NAME(iwk_add_lanes_avx2)(sums + H * j, w, value[j]);
        }
        flags[r] |= closer != 0;
        /* With several groups, whether the block is kept is known only
           after the last one. */
        if (closer || keep_all) {
#pragma GCC unroll 6
            for (int j = 0; j < nc; ++j)
                IWK_YMM(storeu)(values + (int64_t)first * n_cand
                                + (int64_t)(j0 + j) * W, value[j]);
        }
    }
}

/* The tile with nb and nc as constants, one case per shape (see the
   comment above the packed kernels in simd_avx512.h). */
#define IWK_PACKED_AVX2_CASE(nb, nc) \
    case ((nb) - 1) * IWK_PACKED_AVX2_GROUP + (nc) - 1: \
        IWK_NAME(iwk_score_packed_avx2_tile)(packed, b * W, n_rows, \
            n_features, candidates + (int64_t)j0 * n_features, \
            cand_norms + j0, n_cand, j0, x_norms, closest, weights, sums, \
            improved + b, keep_all, values, nb, nc); \
        break;
_Static_assert(IWK_PACKED_TILE == 2 && IWK_PACKED_AVX2_GROUP == 6,
               "one case per tile shape in iwk_score_packed_avx2_*");

/* IN, OUT: as iwk_score_packed_* (simd_avx512.h), blocks of W rows. */
__attribute__((target("avx2,fma"))) IWK_STATIC int IWK_NAME(iwk_score_packed_avx2)(
    const T *restrict packed, int n_rows, int n_features,
    const T *restrict candidates, const T *restrict cand_norms, int n_cand,
    const T *restrict x_norms, const T *restrict closest,
    const T *restrict weights, double *restrict partial,
    int32_t *restrict improved, T *restrict values)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)), H = W / 4 };
    const int n_blocks = (n_rows + W - 1) / W;
    const int keep_all = n_cand > IWK_PACKED_AVX2_GROUP;
    int n_improved = 0;
    /* improved[b] first flags block b, then lists the kept blocks. */
    for (int b = 0; b < n_blocks; ++b)
        improved[b] = 0;
    for (int j0 = 0; j0 < n_cand; j0 += IWK_PACKED_AVX2_GROUP) {
        const int nc = n_cand - j0 < IWK_PACKED_AVX2_GROUP
            ? n_cand - j0 : IWK_PACKED_AVX2_GROUP;
        __m256d sums[H * IWK_PACKED_AVX2_GROUP];
        for (int j = 0; j < H * IWK_PACKED_AVX2_GROUP; ++j)
            sums[j] = _mm256_setzero_pd();
        for (int b = 0; b < n_blocks; b += IWK_PACKED_TILE) {
            const int nb = n_blocks - b < IWK_PACKED_TILE
                ? n_blocks - b : IWK_PACKED_TILE;
            switch ((nb - 1) * IWK_PACKED_AVX2_GROUP + nc - 1) {
            IWK_PACKED_AVX2_CASE(1, 1) IWK_PACKED_AVX2_CASE(1, 2)
            IWK_PACKED_AVX2_CASE(1, 3) IWK_PACKED_AVX2_CASE(1, 4)
            IWK_PACKED_AVX2_CASE(1, 5) IWK_PACKED_AVX2_CASE(1, 6)
            IWK_PACKED_AVX2_CASE(2, 1) IWK_PACKED_AVX2_CASE(2, 2)
            IWK_PACKED_AVX2_CASE(2, 3) IWK_PACKED_AVX2_CASE(2, 4)
            IWK_PACKED_AVX2_CASE(2, 5) IWK_PACKED_AVX2_CASE(2, 6)
            }
        }
        for (int j = 0; j < nc; ++j)
            partial[j0 + j] = H == 2
                ? iwk_sum_lanes_avx2(_mm256_add_pd(sums[H * j], sums[H * j + H - 1]))
                : iwk_sum_lanes_avx2(sums[H * j]);
    }
    for (int b = 0; b < n_blocks; ++b)
        if (improved[b])
            improved[n_improved++] = b * W;
    return n_improved;
}
#undef IWK_PACKED_AVX2_CASE

#undef IWK_YMM_
#undef IWK_YMM_EXPAND
#undef IWK_YMM
#undef IWK_FUSED_REST

#else /* no AVX2 */

/* Never called: the callers use it only where iwk_fused_width is not 0,
   and it is 0 here. Defined so that the callers compile. */
IWK_STATIC void IWK_NAME(iwk_nearest_fused)(
    const T *x, int n_rows, int n_features, const T *panels, const T *norms,
    int n_centers, int width, T *nearest, I *best)
{
    (void)x; (void)n_rows; (void)n_features; (void)panels; (void)norms;
    (void)n_centers; (void)width; (void)nearest; (void)best;
}

IWK_STATIC int IWK_NAME(iwk_score_fused)(
    const T *X, int n_rows, int n_features, const T *centers_t, int width,
    const T *norms, int n_centers, const T *x_norms, const T *closest,
    const T *weights, double *partial, int32_t *improved, T *values)
{
    (void)X; (void)n_rows; (void)n_features; (void)centers_t; (void)width;
    (void)norms; (void)n_centers; (void)x_norms; (void)closest;
    (void)weights; (void)partial; (void)improved; (void)values;
    return 0;
}

IWK_STATIC int IWK_NAME(iwk_score_packed_avx2)(
    const T *packed, int n_rows, int n_features, const T *candidates,
    const T *cand_norms, int n_cand, const T *x_norms, const T *closest,
    const T *weights, double *partial, int32_t *improved, T *values)
{
    (void)packed; (void)n_rows; (void)n_features; (void)candidates;
    (void)cand_norms; (void)n_cand; (void)x_norms; (void)closest;
    (void)weights; (void)partial; (void)improved; (void)values;
    return 0;
}

#endif

/* The centers in the panels iwk_nearest_fused_* reads: panels of width
   centers (two vectors), then, when the last centers fill at most one
   vector, a narrow panel of width / 2 (see iwk_fused_padded). A panel
   holds its centers feature-major (feature f of its center l at
   f * its width + l), each value times scale (a power of two: exact; 1 but
   for rows read as stored, see _rows.pxd). Slots past the last center
   hold zeros and a norm of +inf, so that they never win.
   IN: centers (n_centers, n_features). OUT: panels (padded * n_features).
   INOUT: norms (padded; the centers' squared norms given, the slots past
   them set). padded = iwk_fused_padded(n_centers, width). */
IWK_STATIC void IWK_NAME(iwk_fused_pack)(
    const T *restrict centers, int n_centers, int n_features, T scale,
    int width, T *restrict panels, T *restrict norms)
{
    const int padded = iwk_fused_padded(n_centers, width);
    for (int first = 0; first < padded; first += width) {
        const int span = padded - first < width ? padded - first : width;
        T *panel = panels + (int64_t)first * n_features;
        for (int l = 0; l < span; ++l) {
            const int j = first + l;
            for (int f = 0; f < n_features; ++f)
                panel[(int64_t)f * span + l] =
                    j < n_centers ? centers[(int64_t)j * n_features + f] * scale
                                  : (T)0;
            if (j >= n_centers)
                norms[j] = (T)INFINITY;
        }
    }
}
