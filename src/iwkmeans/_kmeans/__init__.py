"""Compiled kernels of iwkmeans.

Nothing here validates its inputs: callers (the ``iwkmeans`` package) pass
C-contiguous arrays of one floating dtype, finite values, non-negative weights
and shapes that agree. Use the public API in ``iwkmeans`` instead.
"""
