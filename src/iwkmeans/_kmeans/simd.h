/* The few inner loops that decide the speed of a Lloyd iteration, in C.

   C gives `restrict` (otherwise the compiler must assume that inputs and
   outputs overlap) and access to the CPU's vector units. Baseline x86-64
   (SSE2) has no vector select, no FMA and only 128-bit registers, so on GCC
   and clang for x86-64 these functions are also compiled for AVX2 and
   AVX-512 and the loader picks the best clone for the CPU (the runtime
   dispatch NumPy and OpenBLAS use). Every thread runs the same clone, so
   results never depend on the thread count.

   Each loop is written once, for a real type T and an index type I as wide
   as T, and instantiated below for (float, int32_t) and (double, int64_t)
   by including its file once per type:

     simd_kernels.h  the portable loops (compiled per CPU by target_clones);
     simd_avx512.h   the AVX-512 kernels written with intrinsics (Lloyd's
                     fused tile with AVX-512's vectors among them), their
                     stand-ins where AVX-512 cannot be compiled, and
                     iwk_row_min_*, which picks the AVX-512 or the portable
                     argmin at run time;
     simd_fused.h    Lloyd's nearest-center search fused into the product
                     tile, and k-means++'s scores over a packed copy of the
                     rows, for AVX2 with FMA (the CPUs without AVX-512).

   IWK_NAME(iwk_frame) is the instance's name: iwk_frame_float, then
   iwk_frame_double, the names the .pyx files declare. The function bodies
   are ordinary source lines, so that a debugger steps through them (break
   on iwk_frame_float, say). */
#ifndef IWKMEANS_SIMD_H
#define IWKMEANS_SIMD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(__APPLE__)
#define IWK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define IWK_AVX512 1
#define IWK_AVX2 1
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
/* Compiled into each caller, and so into each clone of a caller. */
#define IWK_INLINE static inline __attribute__((always_inline))
#else
#define IWK_STATIC static
#define IWK_INLINE static inline
#endif

/* Feature f of a sample, x, in the frame: x * scale - shift[f], in T (see
   simd_kernels.h). An expression, not an inline function: as a call, GCC 12
   schedules the loops that use it differently. */
#define IWK_FRAMED(T, x, f, scale, shift) ((T)(x) * (T)(scale) - (shift)[f])

/* IWK_NAME(base): base_float or base_double, after the T being compiled.
   Two levels, so that T is replaced by its type before the pasting. */
#define IWK_PASTE_(a, b) a##_##b
#define IWK_PASTE(a, b) IWK_PASTE_(a, b)
#define IWK_NAME(base) IWK_PASTE(base, T)

#ifdef IWK_AVX512
#define IWK_AVX512_INLINE \
    __attribute__((target("avx512f"), always_inline)) static inline

/* The intrinsic for T's vectors: IWK_MM(add) is _mm512_add_ps (S = ps) or
   _mm512_add_pd (S = pd), IWK_MM_MASK(cmp) _mm512_cmp_ps_mask, and
   IWK_MMI(set1) _mm512_set1_epi32 (IS = epi32) or _mm512_set1_epi64 for the
   vectors of indices. */
#define IWK_MM_(op, s) _mm512_##op##_##s
#define IWK_MM_MASK_(op, s) _mm512_##op##_##s##_mask
#define IWK_MM_EXPAND(op, s) IWK_MM_(op, s)
#define IWK_MM_MASK_EXPAND(op, s) IWK_MM_MASK_(op, s)
#define IWK_MM(op) IWK_MM_EXPAND(op, S)
#define IWK_MM_MASK(op) IWK_MM_MASK_EXPAND(op, S)
#define IWK_MMI(op) IWK_MM_EXPAND(op, IS)

/* Mask of the first min(left, W) lanes of a W-lane vector: the lanes that
   hold data at the end of a row or a block of rows. An expression, for the
   same reason as IWK_FRAMED. */
#define IWK_FIRST_LANES(M, left, W) \
    ((M)((left) >= (W) ? (M)~(M)0 : (M)((1u << (left)) - 1)))

/* Rows interleaved by the *_small_* kernels (see simd_avx512.h). */
#define IWK_SMALL_ROWS 8
/* The register tile of the packed kernels (see simd_avx512.h):
   IWK_PACKED_TILE vectors of rows times up to IWK_PACKED_GROUP centers. */
#define IWK_PACKED_TILE 2
#define IWK_PACKED_GROUP 8
/* The switches over the tile shapes in iwk_*_packed_* have a case for each. */
_Static_assert(IWK_PACKED_TILE == 2 && IWK_PACKED_GROUP == 8,
               "one case per tile shape in iwk_*_packed_*");

/* The pieces of the AVX-512 kernels that differ between the types by more
   than names: float lanes are widened to double in two halves. */

/* Each lane's own index, 0 .. 15 (float) or 0 .. 7 (double), in the
   vector of indices of T's width (simd_avx512.h: iwk_fused512_tile). */
IWK_AVX512_INLINE __m512i iwk_lane_indices_float(void)
{
    return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

IWK_AVX512_INLINE __m512i iwk_lane_indices_double(void)
{
    return _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
}

/* sums[0] += w * value, in double, as the scalar loops add potentials.
   INOUT: sums (1 vector). */
IWK_AVX512_INLINE void iwk_add_weighted_double(__m512d *sums, double w,
                                               __m512d value)
{
    sums[0] = _mm512_add_pd(sums[0], _mm512_mul_pd(_mm512_set1_pd(w), value));
}

/* sums[0..1] += w * value, value's low then high 8 lanes widened to double.
   INOUT: sums (2 vectors). */
IWK_AVX512_INLINE void iwk_add_weighted_float(__m512d *sums, double w,
                                              __m512 value)
{
    __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(value));
    __m512d high = _mm512_cvtps_pd(_mm256_castpd_ps(
        _mm512_extractf64x4_pd(_mm512_castps_pd(value), 1)));
    sums[0] = _mm512_add_pd(sums[0], _mm512_mul_pd(_mm512_set1_pd(w), low));
    sums[1] = _mm512_add_pd(sums[1], _mm512_mul_pd(_mm512_set1_pd(w), high));
}

/* sums[0] += w * value per lane, in double. INOUT: sums (1 vector). */
IWK_AVX512_INLINE void iwk_add_lanes_double(__m512d *sums, __m512d w,
                                            __m512d value)
{
    sums[0] = _mm512_fmadd_pd(w, value, sums[0]);
}

/* The high 8 lanes of v, widened to double. */
IWK_AVX512_INLINE __m512d iwk_high_half(__m512 v)
{
    return _mm512_cvtps_pd(_mm256_castpd_ps(
        _mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* sums[0..1] += w * value per lane, low then high 8 lanes, in double.
   INOUT: sums (2 vectors). */
IWK_AVX512_INLINE void iwk_add_lanes_float(__m512d *sums, __m512 w,
                                           __m512 value)
{
    sums[0] = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(w)),
                              _mm512_cvtps_pd(_mm512_castps512_ps256(value)),
                              sums[0]);
    sums[1] = _mm512_fmadd_pd(iwk_high_half(w), iwk_high_half(value), sums[1]);
}
#endif

#ifdef IWK_AVX2
#define IWK_AVX2_INLINE \
    __attribute__((target("avx2,fma"), always_inline)) static inline

/* Accumulators of the register tile of the fused kernels (simd_fused.h):
   6 rows times two vectors of centers, or 12 rows times one. With the
   vectors of centers and the broadcast row value they take 14 or 15 of
   the 16 registers, and 12 independent chains of fused multiply-adds keep
   both FMA units busy despite their latency (6 would leave them half
   idle). */
#define IWK_FUSED_ACC 12

/* The register tile of k-means++'s packed kernel for AVX2
   (iwk_score_packed_avx2_*, simd_fused.h): IWK_PACKED_TILE vectors of rows
   times up to IWK_PACKED_AVX2_GROUP candidates, 12 accumulators as above;
   with the two row vectors and the broadcast candidate value, 15 of the 16
   registers. Six candidates are k-means++'s 2 + log(k) for k of 55 to
   148. */
#define IWK_PACKED_AVX2_GROUP 6

/* The pieces of the fused kernel that differ between the types by more
   than names. */

/* The indices base .. base + 7 (float's lanes), as int32 lanes. */
IWK_AVX2_INLINE __m256i iwk_lane_index_float(int base)
{
    return _mm256_add_epi32(_mm256_set1_epi32(base),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The indices base .. base + 3 (double's lanes), as int64 lanes. */
IWK_AVX2_INLINE __m256i iwk_lane_index_double(int base)
{
    return _mm256_add_epi64(_mm256_set1_epi64x(base),
                            _mm256_setr_epi64x(0, 1, 2, 3));
}

/* A comparison's mask, lane for lane, as integer lanes of the same width
   (every byte of a true lane set). */
IWK_AVX2_INLINE __m256i iwk_as_integers_float(__m256 mask)
{
    return _mm256_castps_si256(mask);
}

IWK_AVX2_INLINE __m256i iwk_as_integers_double(__m256d mask)
{
    return _mm256_castpd_si256(mask);
}

/* sums += w * value in double, as the scalar loops add potentials: float's
   8 lanes widened into two vectors of sums, double's 4 into one.
   INOUT: sums (2 vectors for float, 1 for double). */
IWK_AVX2_INLINE void iwk_add_weighted_avx2_float(__m256d *sums, double w,
                                                 __m256 value)
{
    const __m256d weight = _mm256_set1_pd(w);
    sums[0] = _mm256_add_pd(
        sums[0], _mm256_mul_pd(weight, _mm256_cvtps_pd(_mm256_castps256_ps128(value))));
    sums[1] = _mm256_add_pd(
        sums[1], _mm256_mul_pd(weight, _mm256_cvtps_pd(_mm256_extractf128_ps(value, 1))));
}

IWK_AVX2_INLINE void iwk_add_weighted_avx2_double(__m256d *sums, double w,
                                                  __m256d value)
{
    sums[0] = _mm256_add_pd(sums[0], _mm256_mul_pd(_mm256_set1_pd(w), value));
}

/* sums += w * value per lane, in double: float's low then high 4 lanes
   into two vectors of sums, double's 4 into one. INOUT: sums (2 vectors for
   float, 1 for double). */
IWK_AVX2_INLINE void iwk_add_lanes_avx2_float(__m256d *sums, __m256 w,
                                              __m256 value)
{
    sums[0] = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(w)),
                              _mm256_cvtps_pd(_mm256_castps256_ps128(value)),
                              sums[0]);
    sums[1] = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(w, 1)),
                              _mm256_cvtps_pd(_mm256_extractf128_ps(value, 1)),
                              sums[1]);
}

IWK_AVX2_INLINE void iwk_add_lanes_avx2_double(__m256d *sums, __m256d w,
                                               __m256d value)
{
    sums[0] = _mm256_fmadd_pd(w, value, sums[0]);
}

/* The first min(left, 8) lanes of float's vectors, as a mask of int32
   lanes (maskload's). */
IWK_AVX2_INLINE __m256i iwk_first_lanes_avx2_float(int left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), iwk_lane_index_float(0));
}

/* The first min(left, 4) lanes of double's vectors, as int64 lanes. */
IWK_AVX2_INLINE __m256i iwk_first_lanes_avx2_double(int left)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(left), iwk_lane_index_double(0));
}

/* The sum of the lanes of v (4 doubles): (v0 + v2) + (v1 + v3). */
IWK_AVX2_INLINE double iwk_sum_lanes_avx2(__m256d v)
{
    const __m128d half = _mm_add_pd(_mm256_castpd256_pd128(v),
                                    _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half)));
}

/* The nearest of the candidates in the lanes of (low, label) and
   (other_low, other_label): the smallest value, the lowest index among
   equal values. A step of the reductions below: per lane, the pair from
   other where it is closer. INOUT: low, label. */
IWK_AVX2_INLINE void iwk_pick_float(__m256 *low, __m256i *label,
                                    __m256 other_low, __m256i other_label)
{
    const __m256i closer = _mm256_or_si256(
        _mm256_castps_si256(_mm256_cmp_ps(other_low, *low, _CMP_LT_OQ)),
        _mm256_and_si256(
            _mm256_castps_si256(_mm256_cmp_ps(other_low, *low, _CMP_EQ_OQ)),
            _mm256_cmpgt_epi32(*label, other_label)));
    *low = _mm256_blendv_ps(*low, other_low, _mm256_castsi256_ps(closer));
    *label = _mm256_blendv_epi8(*label, other_label, closer);
}

IWK_AVX2_INLINE void iwk_pick_double(__m256d *low, __m256i *label,
                                     __m256d other_low, __m256i other_label)
{
    const __m256i closer = _mm256_or_si256(
        _mm256_castpd_si256(_mm256_cmp_pd(other_low, *low, _CMP_LT_OQ)),
        _mm256_and_si256(
            _mm256_castpd_si256(_mm256_cmp_pd(other_low, *low, _CMP_EQ_OQ)),
            _mm256_cmpgt_epi64(*label, other_label)));
    *low = _mm256_blendv_pd(*low, other_low, _mm256_castsi256_pd(closer));
    *label = _mm256_blendv_epi8(*label, other_label, closer);
}

/* The nearest of the candidates in the lanes of (low, label), as
   iwk_pick: each step halves the lanes left, picking between a lane and
   its mirror. OUT: value, index. */
IWK_AVX2_INLINE void iwk_lanes_nearest_float(__m256 low, __m256i label,
                                             float *value, int32_t *index)
{
    iwk_pick_float(&low, &label, _mm256_permute2f128_ps(low, low, 1),
                   _mm256_permute2x128_si256(label, label, 1));
    iwk_pick_float(&low, &label, _mm256_permute_ps(low, 0x4E),
                   _mm256_shuffle_epi32(label, 0x4E));
    iwk_pick_float(&low, &label, _mm256_permute_ps(low, 0xB1),
                   _mm256_shuffle_epi32(label, 0xB1));
    *value = _mm256_cvtss_f32(low);
    *index = _mm256_cvtsi256_si32(label);
}

IWK_AVX2_INLINE void iwk_lanes_nearest_double(__m256d low, __m256i label,
                                              double *value, int64_t *index)
{
    iwk_pick_double(&low, &label, _mm256_permute2f128_pd(low, low, 1),
                    _mm256_permute2x128_si256(label, label, 1));
    iwk_pick_double(&low, &label, _mm256_permute_pd(low, 0x5),
                    _mm256_shuffle_epi32(label, 0x4E));
    *value = _mm256_cvtsd_f64(low);
    *index = _mm_cvtsi128_si64(_mm256_castsi256_si128(label));
}
#endif

/* Slots of the panels of the fused kernel (simd_fused.h) for n_centers
   centers, panels of width (two vectors): whole panels, but a last panel
   of one vector (width / 2) where the centers past the whole panels fit
   in one, which spares half a panel of padding (100 centers: 104 slots,
   not 112). */
IWK_STATIC int iwk_fused_padded(int n_centers, int width)
{
    const int whole = n_centers / width * width, rest = n_centers - whole;
    if (rest == 0)
        return whole;
    return whole + (rest <= width / 2 ? width / 2 : width);
}

/* Centers per panel of the fused kernel (simd_fused.h): 16 float, 8 double,
   where it runs, else 0. It runs on CPUs with AVX2 and FMA but not
   AVX-512: those have the AVX-512 kernels, twice its vector width, Lloyd's
   tile among them (iwk_fused512_width). */
IWK_STATIC int iwk_fused_width(int is_double)
{
#ifdef IWK_AVX2
    if (!__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")
        && __builtin_cpu_supports("fma"))
        return is_double ? 8 : 16;
#endif
    (void)is_double;
    return 0;
}

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

/* Centers per panel of Lloyd's fused tile with AVX-512's vectors
   (simd_avx512.h: iwk_nearest_fused512): two vectors of the small
   kernels' lanes, 32 float, 16 double, where the CPU has AVX-512, else 0. */
IWK_STATIC int iwk_fused512_width(int is_double)
{
    return 2 * iwk_small_lanes(is_double);
}

/* The instances. The kernels' parameters have short names, which read best
   in their bodies: T the real type, I the index type, and for AVX-512 V the
   vector of T, M its mask, S and IS the suffixes of its intrinsics. A
   macro of the same name defined elsewhere (<complex.h> defines I) is
   saved here and restored after. */
#pragma push_macro("T")
#pragma push_macro("I")
#pragma push_macro("V")
#pragma push_macro("M")
#pragma push_macro("S")
#pragma push_macro("IS")
#undef T
#undef I
#undef V
#undef M
#undef S
#undef IS

#define T float
#define I int32_t
#define V __m512
#define M __mmask16
#define S ps
#define IS epi32
#define IWK_Y __m256
#include "simd_kernels.h"
#include "simd_avx512.h"
#include "simd_fused.h"
#undef IWK_Y
#undef T
#undef I
#undef V
#undef M
#undef S
#undef IS

#define T double
#define I int64_t
#define V __m512d
#define M __mmask8
#define S pd
#define IS epi64
#define IWK_Y __m256d
#include "simd_kernels.h"
#include "simd_avx512.h"
#include "simd_fused.h"
#undef IWK_Y
#undef T
#undef I
#undef V
#undef M
#undef S
#undef IS

#pragma pop_macro("T")
#pragma pop_macro("I")
#pragma pop_macro("V")
#pragma pop_macro("M")
#pragma pop_macro("S")
#pragma pop_macro("IS")

#endif
