"""The one place that imports the compiled kernels (iwkmeans._kmeans).

The other modules of _core take them from here, so the door to the kernels
is one line that a test can hold: nothing else imports ``_kmeans``.
"""

from .._kmeans import _common, _lloyd, _seeding

__all__ = ["_common", "_lloyd", "_seeding"]
