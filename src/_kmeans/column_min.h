/* Running argmin over one center's column of a center-major distance block.

   Written in C for `restrict` (otherwise the compiler must assume the column
   and the outputs overlap) and so that the loop is branch-free: every load
   happens before the selects, and the index has the width of the value.
   Baseline x86-64 (SSE2) has no vector select of that shape, so on GCC and
   clang for x86-64 the function is also compiled for AVX2 and AVX-512 and
   the loader picks the best clone for the CPU (the same runtime dispatch
   NumPy and OpenBLAS use). Results are identical on every clone: a select
   does no arithmetic. */
#ifndef IWKMEANS_COLUMN_MIN_H
#define IWKMEANS_COLUMN_MIN_H

#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(__APPLE__)
#define IWK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef IWK_CLONES
#define IWK_CLONES
#endif

#define IWK_COLUMN_MIN(NAME, T, I)                                            \
    IWK_CLONES static void NAME(const T *restrict column, T norm, I index,           \
                         int n_rows, T *restrict nearest, I *restrict best)   \
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

#endif
