"""Side-by-side timing of iwkmeans against other K-Means implementations.

Every comparison runs in one process on identical data with, where the
algorithm allows it, identical initial centers. The implementations are
called alternately (A B A B ...) after one untimed warm-up call of each, so
slow drifts of the machine (frequency scaling, a noisy neighbour) hit all of
them alike; the median of the timings is reported.

The cases are

* Lloyd iterations from the same initial centers with ``tol=0``, reported
  per iteration (fit time / ``n_iter_``), with iwkmeans' time per marginal
  iteration (the difference of a fit of ``max_iter`` iterations and a fit of
  one, over the difference of their iteration counts), the GF/s it reaches
  and, as the hardware reference, the GF/s of numpy's matmul on one chunk of
  rows (and the share of it that iwkmeans reaches);
* Lloyd with fixed centers (iwkmeans, and faiss with frozen centroids);
* full fits at active-learning sizes, each implementation with its own
  k-means++ seeding and default stopping rule;
* k-means++ seeding alone;
* where users feel it (:func:`run_latency`, a table of its own): the full
  fits at active-learning sizes, k-means++ alone and ``select_wkmeans``,
  each call timed warm, cold (after 1 s idle) and busy (beside a process
  spinning on one core), for iwkmeans on the run's threads and on one
  thread, and scikit-learn.

For the Lloyd (free and fixed centers) and full-fit cases the peak extra
memory of one call of each implementation is measured as well, in a fresh process per implementation
and case (see :func:`_peak_extra_mib`).

The peers are scikit-learn, faiss (float32 only) and scikit-learn-intelex.
A peer is one entry in :data:`PEERS`: a name and a function returning the
tasks it can run; a peer that cannot be imported is skipped with a note in
the report.

Use :func:`run` to measure and :func:`format_report` to render the rows as a
Markdown report, or the command line ``python -m iwkmeans bench``.

The package's modules:

* :mod:`.cases`: the cases' sizes and the builders of their data and
  initial centers;
* :mod:`.peers`: the implementations and their tasks (:data:`PEERS`);
* :mod:`.timing`: interleaved timing, the matmul GF/s reference, other
  processes' load;
* :mod:`.memory`: peak memory of one call in a fresh process;
* :mod:`.latency`: the warm, cold and busy conditions (the busy helper
  process) and :func:`run_latency`;
* :mod:`.runner`: ``_Runner``, :func:`run` and :func:`run_selection`;
* :mod:`.report`: :func:`format_report`, :func:`format_latency` and
  :func:`format_selection`.

Each module looks a name up where it imported it from: to replace one (a
test's ``monkeypatch``), replace it in the module that uses it, and
:data:`PEERS` in :mod:`.peers`; rebinding a name re-exported here reaches
none of the modules.
"""

from .latency import run_latency
from .peers import PEERS, Peer
from .report import format_latency, format_report, format_selection
from .runner import run, run_selection

__all__ = [
    "PEERS",
    "Peer",
    "format_latency",
    "format_report",
    "format_selection",
    "run",
    "run_latency",
    "run_selection",
]
