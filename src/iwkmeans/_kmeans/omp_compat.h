/* Lets the kernels ask for the OpenMP thread budget whether or not the
   compiler supports OpenMP: a serial build answers 1. The time, for the
   thread policy's idle rule (_common.pyx: useful_threads), which only a
   build with threads needs. And iwk_claim, the counter by which a kernel's
   workers share out its chunks of work. */
#ifndef IWKMEANS_OMP_COMPAT_H
#define IWKMEANS_OMP_COMPAT_H
#ifdef _OPENMP
#include <omp.h>
static inline int iwk_omp_max_threads(void) { return omp_get_max_threads(); }
static inline int iwk_openmp_enabled(void) { return 1; }
static inline double iwk_seconds(void) { return omp_get_wtime(); }
#else
static inline int iwk_omp_max_threads(void) { return 1; }
static inline int iwk_openmp_enabled(void) { return 0; }
static inline double iwk_seconds(void) { return 0.0; }
#endif

/* The counter's value before adding 1 to it, atomically: each worker of a
   pass takes the next chunk (or block) that no other has taken, so the
   chunks go to whichever thread is free, as with schedule(dynamic, 1).
   Relaxed order: the chunks' results are read after the region's barrier,
   which orders everything. (MSVC's OpenMP 2.0 has no atomic capture.) */
#if defined(_MSC_VER)
#include <intrin.h>
static inline Py_ssize_t iwk_claim(Py_ssize_t *counter) {
#if defined(_WIN64)
  return (Py_ssize_t) _InterlockedExchangeAdd64((volatile __int64 *) counter, 1);
#else
  return (Py_ssize_t) _InterlockedExchangeAdd((volatile long *) counter, 1);
#endif
}
#else
static inline Py_ssize_t iwk_claim(Py_ssize_t *counter) {
  return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}
#endif
#endif
