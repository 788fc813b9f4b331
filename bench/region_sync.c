/* What one parallel region per pass costs against one region for a whole
   loop of passes, warm and after an idle pause (issue 16).

   Each of PASSES passes is 4 chunks of the same synthetic arithmetic
   (about 4.5 us each on the Intel Xeon of bench/RESULTS.md), handed out
   dynamically to 2 threads in three ways:

   - serial: one thread, no region;
   - regions: an OpenMP parallel region per pass, as the kernels run a
     k-means++ pick;
   - team: one region around the loop; thread 0 publishes each pass (a
     generation number), both threads take its chunks, and thread 0 waits
     for them to be done before the next pass, spinning with or without
     `pause` (a spinning vCPU may be descheduled by the host on `pause`).

   Prints the microseconds per pass of each, six rounds, each variant after
   sleeping the given number of seconds.

   Build and run:
       gcc -O2 -fopenmp -mavx2 bench/region_sync.c -o /tmp/region_sync
       GOMP_SPINCOUNT=3000 /tmp/region_sync 0    # warm
       GOMP_SPINCOUNT=3000 /tmp/region_sync 1    # after 1 s idle
*/
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PASSES 200
#define CHUNKS 4
#define STEPS 3000 /* per chunk */

static volatile double sink;

static void chunk_work(void) {
    double a = 1.0;
    for (int i = 0; i < STEPS; i++) a = a * 1.0000001 + 1e-9;
    sink = a;
}

static double per_pass_us(double start) { return (omp_get_wtime() - start) * 1e6 / PASSES; }

static double serial(void) {
    double start = omp_get_wtime();
    for (int p = 0; p < PASSES; p++)
        for (int c = 0; c < CHUNKS; c++) chunk_work();
    return per_pass_us(start);
}

static double regions(void) {
    double start = omp_get_wtime();
    for (int p = 0; p < PASSES; p++) {
        int next = 0;
#pragma omp parallel num_threads(2)
        {
            while (__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) < CHUNKS) chunk_work();
        }
    }
    return per_pass_us(start);
}

static void take_chunks(int* next, int* done) {
    while (__atomic_fetch_add(next, 1, __ATOMIC_ACQ_REL) < CHUNKS) {
        chunk_work();
        __atomic_fetch_add(done, 1, __ATOMIC_ACQ_REL);
    }
}

static double team(int pause) {
    static long generation;
    static int next, done, stop;
    generation = 0;
    stop = 0;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) {
            for (int p = 0; p < PASSES; p++) {
                /* done before next: a chunk taken as soon as next is reset
                   is counted in this pass. */
                __atomic_store_n(&done, 0, __ATOMIC_RELEASE);
                __atomic_store_n(&next, 0, __ATOMIC_RELEASE);
                __atomic_store_n(&generation, p + 1, __ATOMIC_RELEASE);
                take_chunks(&next, &done);
                while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < CHUNKS)
                    if (pause) _mm_pause();
            }
            __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
        } else {
            long seen = 0;
            while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
                long g = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
                if (g == seen) {
                    if (pause) _mm_pause();
                    continue;
                }
                seen = g;
                take_chunks(&next, &done);
            }
        }
    }
    return per_pass_us(start);
}

int main(int argc, char** argv) {
    double idle = argc > 1 ? atof(argv[1]) : 0.0;
    for (int round = 0; round < 6; round++) {
        double s, r, tp, tn;
        usleep(idle * 1e6);
        s = serial();
        usleep(idle * 1e6);
        r = regions();
        usleep(idle * 1e6);
        tp = team(1);
        usleep(idle * 1e6);
        tn = team(0);
        printf("idle %.2f s, us per pass: serial %.1f  regions %.1f  team (pause) %.1f  "
               "team (no pause) %.1f\n", idle, s, r, tp, tn);
    }
    return 0;
}
