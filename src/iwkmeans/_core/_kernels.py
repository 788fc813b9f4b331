"""The one place that imports the compiled kernels (iwkmeans._kmeans).

The other modules of _core take them from here, so the door to the kernels
is one line that a test can hold: nothing else imports ``_kmeans``.

It also sets how long the kernels' idle OpenMP threads spin before they
sleep. GNU OpenMP (libgomp) reads that once, from the environment, when it
loads: by default a thread that finished its share of a parallel region
spins 300000 times waiting for the next one. On a machine where another
process holds a core, that spinning thread competes for the CPU with the
thread that still has work, the system deschedules one of them, and the
next barrier waits for it. Too short a spin costs the other way: a thread
that sleeps between two passes of one kernel call (a k-means++ pick and
the next) must be woken, which on this VM takes long enough to show.
Measured on the 2-core AMD EPYC (medians of 15 fits, runs of each setting
interleaved), fits on two threads, beside a process spinning on one core
(busy) or not (quiet):

| GOMP_SPINCOUNT | 5000 x 64 x 100 busy | 20000 x 64 x 100 quiet |
|---|---|---|
| 300000 (default) | 36-40 ms | 116-152 ms |
| 100000 | 30-31 ms | 95-106 ms |
| 30000 | 21-22 ms | 102-107 ms |
| 3000 | 20-27 ms | 122-143 ms |

(one thread, busy: about 21 ms). k-means++ on 100000 x 64 x 100 float32
on two threads took 516-572 ms with the default and 548-587 ms with 30000,
within this machine's run-to-run spread.

The setting is made only when the user has set neither OMP_WAIT_POLICY nor
GOMP_SPINCOUNT (theirs is then left to do its work), only for the import
(the variable is removed again, so child processes and OpenMP runtimes
loaded later do not see it), and it takes effect only if this import is
what loads libgomp: one that another package loaded earlier keeps its
settings. ``wait_setting`` records what was set, if anything.
"""

import os

# Spins of an idle OpenMP thread before it sleeps (see the module docstring).
SPIN_COUNT = 30000

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
