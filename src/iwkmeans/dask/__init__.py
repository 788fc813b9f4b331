"""iwkmeans beyond one machine: the same estimator and selection on Dask.

Install with ``pip install "iwkmeans[dask]"``. Public names:

- :class:`IncrementalKMeans` -- weighted K-Means with fixed centers on a
  row-chunked ``dask.array``: each Lloyd iteration runs the compiled block
  step on every chunk (on the workers) and adds the per-chunk statistics
  in chunk order on the client, so the result does not depend on which
  worker ran what.
- :func:`kmeans_parallel` -- k-means|| seeding (Bahmani et al. 2012) that
  starts from the fixed centers.
- :func:`select_wkmeans` -- WKMeans / IWKMeans selection from a Dask pool:
  the preselection is a top-k over the chunks, the small weighted
  clustering runs locally.

Computations go to Dask's current scheduler: the active
``dask.distributed.Client`` (the last one created, or the one set with
``client.as_current()``), else Dask's default local scheduler.

Like the single-machine estimator, every call computes in a frame (see
iwkmeans._core): one frame for the whole data, found in the pass that checks the
values (the reference point of the first chunk, the scale for the largest
distance of any value to it, the weights' maximum), handed to every chunk's
task and used by the driver, so that data far from the origin loses no
precision and huge or tiny values or weights neither overflow nor
underflow. Centers and inertia come back to the user's units at the end.
"""

from ._estimator import IncrementalKMeans, kmeans_parallel, select_wkmeans

__all__ = ["IncrementalKMeans", "kmeans_parallel", "select_wkmeans"]
