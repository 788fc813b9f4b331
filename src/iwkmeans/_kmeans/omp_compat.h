/* Lets the kernels ask for the OpenMP thread budget whether or not the
   compiler supports OpenMP: a serial build answers 1. */
#ifndef IWKMEANS_OMP_COMPAT_H
#define IWKMEANS_OMP_COMPAT_H
#ifdef _OPENMP
#include <omp.h>
static inline int iwk_omp_max_threads(void) { return omp_get_max_threads(); }
static inline int iwk_openmp_enabled(void) { return 1; }
#else
static inline int iwk_omp_max_threads(void) { return 1; }
static inline int iwk_openmp_enabled(void) { return 0; }
#endif
#endif
