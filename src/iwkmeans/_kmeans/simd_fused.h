/* Lloyd's nearest-center search fused into the product tile, for CPUs with
   AVX2 and FMA but not AVX-512, for one real type T and its index type I
   (simd.h includes this file once per type; see there for T, I, S and
   IWK_NAME).

   The GEMM path computes a chunk's dot products into a block of chunk x
   centers values, then reads the block back for the argmin: one store and
   one load per distance, and OpenBLAS packs the chunk of rows first. Here a
   register tile of IWK_FUSED_ROWS rows times one panel of 2 vectors of
   centers accumulates its dot products over the features, turns them into
   ||c||^2 - 2 <y, c> and keeps, lane by lane, the closest center so far:
   no block of distances exists, and the rows are read where they are (each
   feature broadcast from its row), so nothing is packed but the centers,
   once per pass (iwk_fused_pack_*).

   The values are those of the GEMM path up to the order of the additions
   in the dot products (here feature by feature, one fused multiply-add
   each): norm - 2 dot is rounded once, as GEMM's -2 dot (exact) + norm is.
   Ties go to the lowest index, as everywhere. */

#ifdef IWK_AVX2

/* A real vector of T and its intrinsics: IWK_YMM(add) is _mm256_add_ps
   (S = ps) or _mm256_add_pd (S = pd). */
#define IWK_YMM_(op, s) _mm256_##op##_##s
#define IWK_YMM_EXPAND(op, s) IWK_YMM_(op, s)
#define IWK_YMM(op) IWK_YMM_EXPAND(op, S)

/* One panel of centers (nv vectors of them, from index base) against a
   tile of mr rows, into the tile's running minimum. A lane of the running
   minimum follows one slot of the panels (centers p * width + lane),
   keeping the first of equal values, so it holds the lowest index among
   its closest. IN: x (mr rows, n_features apart), panel (n_features x nv
   vectors), norms (nv vectors). INOUT: low, label (mr x 2 vectors). */
IWK_AVX2_INLINE void IWK_NAME(iwk_fused_panel)(
    const T *restrict x, int n_features, const T *restrict panel,
    const T *restrict norms, int base, IWK_Y *restrict low,
    __m256i *restrict label, const int mr, const int nv)
{
    enum { W = (int)(sizeof(IWK_Y) / sizeof(T)) };
    const int stride = nv * W;
    IWK_Y acc[IWK_FUSED_ROWS][2];
#pragma GCC unroll 8
    for (int r = 0; r < mr; ++r)
#pragma GCC unroll 2
        for (int h = 0; h < nv; ++h)
            acc[r][h] = IWK_YMM(setzero)();
    for (int f = 0; f < n_features; ++f) {
        IWK_Y c[2];
#pragma GCC unroll 2
        for (int h = 0; h < nv; ++h)
            c[h] = IWK_YMM(loadu)(panel + f * stride + h * W);
#pragma GCC unroll 8
        for (int r = 0; r < mr; ++r) {
            const IWK_Y xf = IWK_YMM(set1)(x[(int64_t)r * n_features + f]);
#pragma GCC unroll 2
            for (int h = 0; h < nv; ++h)
                acc[r][h] = IWK_YMM(fmadd)(xf, c[h], acc[r][h]);
        }
    }
    const IWK_Y minus_two = IWK_YMM(set1)((T)-2);
#pragma GCC unroll 2
    for (int h = 0; h < nv; ++h) {
        const IWK_Y norm = IWK_YMM(loadu)(norms + h * W);
        const __m256i index = IWK_NAME(iwk_lane_index)(base + h * W);
#pragma GCC unroll 8
        for (int r = 0; r < mr; ++r) {
            const IWK_Y value = IWK_YMM(fmadd)(acc[r][h], minus_two, norm);
            const IWK_Y closer = IWK_YMM(cmp)(value, low[2 * r + h], _CMP_LT_OQ);
            low[2 * r + h] = IWK_YMM(blendv)(low[2 * r + h], value, closer);
            label[2 * r + h] = _mm256_blendv_epi8(
                label[2 * r + h], index, IWK_NAME(iwk_as_integers)(closer));
        }
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
    /* Two vectors of the running minimum per row. GCC keeps the 24 of a
       full tile in memory: the panel's accumulators and operands take 15
       of the 16 registers. */
    IWK_Y low[2 * IWK_FUSED_ROWS];
    __m256i label[2 * IWK_FUSED_ROWS];
    for (int r = 0; r < 2 * mr; ++r) {
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
    for (int r = 0; r < mr; ++r) {
        IWK_Y row_low = low[2 * r];
        __m256i row_label = label[2 * r];
        if (n_wide > 0)
            IWK_NAME(iwk_pick)(&row_low, &row_label, low[2 * r + 1],
                               label[2 * r + 1]);
        IWK_NAME(iwk_lanes_nearest)(row_low, row_label, nearest + r, best + r);
    }
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
    for (; i + IWK_FUSED_ROWS <= n_rows; i += IWK_FUSED_ROWS)
        IWK_NAME(iwk_fused_tile)(x + (int64_t)i * n_features, n_features,
                                 panels, norms, n_wide, narrow, nearest + i,
                                 best + i, IWK_FUSED_ROWS);
    /* The last rows, with a tile of as many rows: one case per size, so
       that every tile's loops are unrolled at compile time. */
    const T *rest = x + (int64_t)i * n_features;
    switch (n_rows - i) {
    case 1: IWK_NAME(iwk_fused_tile)(rest, n_features, panels, norms, n_wide,
        narrow, nearest + i, best + i, 1); break;
    case 2: IWK_NAME(iwk_fused_tile)(rest, n_features, panels, norms, n_wide,
        narrow, nearest + i, best + i, 2); break;
    case 3: IWK_NAME(iwk_fused_tile)(rest, n_features, panels, norms, n_wide,
        narrow, nearest + i, best + i, 3); break;
    case 4: IWK_NAME(iwk_fused_tile)(rest, n_features, panels, norms, n_wide,
        narrow, nearest + i, best + i, 4); break;
    case 5: IWK_NAME(iwk_fused_tile)(rest, n_features, panels, norms, n_wide,
        narrow, nearest + i, best + i, 5); break;
    }
}

#undef IWK_YMM_
#undef IWK_YMM_EXPAND
#undef IWK_YMM

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
