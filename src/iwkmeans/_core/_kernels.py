"""The one place that imports the compiled kernels (iwkmeans._kmeans).

The other modules of _core take them from here, so the door to the kernels
is one line that a test can hold: nothing else imports ``_kmeans``.

It also sets how long the kernels' idle OpenMP threads spin before they
sleep. GNU OpenMP (libgomp) reads that once, from the environment, when it
loads: by default a thread that finished its share of a parallel region
spins 300000 times waiting for the next one. On a machine where another
process holds a core, that spinning thread competes for the CPU with the
thread that still has work, and the next barrier waits for whichever the
system descheduled. Measured on the 2-core AMD EPYC as the benchmark's
busy column measures (a process spinning on one core, started 0.2 s
before; one untimed call, then the median of 5 back to back), the
5000 x 64 x 100 k-means++ fit on two threads, 6 such medians per setting
(range, and their median; one thread: 18.5-29 ms float32, 28-46 ms
float64):

| GOMP_SPINCOUNT | float32 | float64 |
|---|---|---|
| 300000 (default) | 20.6-24.7 ms (23.4) | 32-108 ms (35.4) |
| 30000 | 25.9-44.1 ms (41.3) | 48.5-56.3 ms (55.3) |
| 10000 | 20.2-30.8 ms (29.4) | 40.2-46.5 ms (44.5) |
| 3000 | 21.1-30.6 ms (22.9) | 29.8-39.1 ms (36.6) |

3000 never left the fit far from one thread's time; the default mostly
did too, but one call in six took 3x (as in earlier full runs, where this
row reached 1.7-3x). On a quiet machine the spin count made no difference
beyond the noise to a Lloyd iteration on 100000 x 64 x 100 on two threads
(3000: 13.0 and 13.2 ms float32, 27.7 and 35.2 ms float64; 30000: 13.7 and
16.4, 27.5 and 26.3; 10000: 12.6 and 13.3, 26.5 and 28.7), where a pass
follows the last within microseconds.

The setting is made only when the user has set neither OMP_WAIT_POLICY nor
GOMP_SPINCOUNT (theirs is then left to do its work), only for the import
(the variable is removed again, so child processes and OpenMP runtimes
loaded later do not see it), and it takes effect only if this import is
what loads libgomp: one that another package loaded earlier keeps its
settings. ``wait_setting`` records what was set, if anything.
"""

import os

# Spins of an idle OpenMP thread before it sleeps (see the module docstring).
SPIN_COUNT = 3000

# The variables that set libgomp's waiting: a user who set one keeps it.
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")

wait_setting = None
if not any(os.environ.get(name) for name in WAIT_VARIABLES):
    wait_setting = ("GOMP_SPINCOUNT", str(SPIN_COUNT))
    os.environ[wait_setting[0]] = wait_setting[1]
try:
    from .._kmeans import _common, _lloyd, _seeding
finally:
    if wait_setting is not None:
        os.environ.pop(wait_setting[0], None)

__all__ = ["_common", "_lloyd", "_seeding", "wait_setting"]
