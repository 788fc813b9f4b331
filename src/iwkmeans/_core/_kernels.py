"""The one place that imports the compiled kernels (iwkmeans._kmeans).

The other modules of _core take them from here, so the door to the kernels
is one line that a test can hold: nothing else imports ``_kmeans``.

It also sets how long the kernels' idle OpenMP threads spin before they
sleep. GNU OpenMP (libgomp) reads that once, from the environment, when it
loads: by default a thread that finished its share of a parallel region
spins about 300000 times waiting for the next one. On a machine where
another process holds a core, that spinning thread competes for the CPU
with the thread that still has work, the system deschedules one of them,
and the next barrier waits for it: on the 2-core AMD EPYC, a 5000 x 64 x
100 fit on two threads beside a process spinning on one core took 36-40 ms
with the default, 21-23 ms with GOMP_SPINCOUNT of 0 or 3000 (one thread:
about 21 ms), and the same on a quiet machine (17-23 ms, within the noise;
medians of 15 fits, three runs each). A Lloyd fit or a k-means++ seeding
starts its next parallel pass microseconds after the last one, well within
SPIN_COUNT spins, so the threads only sleep between kernel calls.

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
