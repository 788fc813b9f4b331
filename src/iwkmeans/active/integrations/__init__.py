"""The samplers of :mod:`iwkmeans.active` inside other active-learning libraries.

Each module adapts the samplers to one library's query-strategy interface and
imports that library, an optional extra of iwkmeans; this package imports
neither, so that one adapter works without the other's library:

- :mod:`iwkmeans.active.integrations.skactiveml`: a scikit-activeml pool query
  strategy (``pip install "iwkmeans[skactiveml]"``).
- :mod:`iwkmeans.active.integrations.smalltext`: a small-text query strategy
  (``pip install "iwkmeans[smalltext]"``).

The adapters translate the other library's call into the sampler's ``query``
(or ``fit`` and ``select_samples``) and hold no selection logic of their own.
"""
