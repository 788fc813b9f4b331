"""Lloyd's algorithm over the chunks of a Dask array, driven from the client.

Each iteration maps the core's block step over the chunks (the workers do
all the reading and the distances), adds the per-chunk statistics in chunk
order on the driver and moves the free centers there. The update follows
the compiled loop (``_lloyd.pyx``) rule for rule, and like it computes in
the frame of the whole data (``chunks.frame``, see iwkmeans._core._frame), with the weights
divided by their maximum: centers, sums, weights, distances, shift, ``tol``
and inertia are all in frame units here, so nothing overflows, and the
caller brings the centers and the inertia back to the user's units once.
Center = sums / weights (float64 sums, cast to the data's dtype), an empty
free cluster takes the sample farthest from its center, and the loop stops
when the squared shift of the free centers is at most ``tol``.

"No label changed", the compiled loop's other stopping test, needs no
labels kept between iterations here: the sums are a deterministic function
of the labels, so an iteration whose labels equal the previous ones
reproduces the previous sums bit for bit and its shift is exactly 0, which
the ``tol`` test catches at the same iteration. Each iteration's tasks thus
depend on X and the centers only, and a lost worker costs the recomputation
of its chunks for one iteration, never a chain of earlier ones.
"""

import dask
import dask.array as da
import numpy as np

from . import _chunk_tasks
from ._data import shared


def add_in_order(parts):
    """Sum a list of equally-shaped arrays (or floats) left to right: the
    same order whatever ran where."""
    total = np.array(parts[0], dtype=np.float64, copy=True)
    for part in parts[1:]:
        total += part
    return total


def relocate_empty(sums, weights, candidates, n_fixed):
    """Move each free center that received no weight onto the next farthest
    candidate sample, taking that sample out of the sums of the free
    cluster it came from (``relocate_empty`` of the compiled core).

    ``candidates`` are the per-chunk results of
    :func:`_chunk_tasks.relocation_candidates`, in chunk order (samples in
    the frame). sums, weights: in-out (float64, in the frame). Returns the
    number of centers moved.
    """
    distance, rows, labels, sample_weight, samples = (
        np.concatenate(part) for part in zip(*candidates)
    )
    order = np.lexsort((rows, -distance))
    taken = 0
    # A relocation can empty a cluster of higher index, which then moves too.
    for j in range(weights.shape[0]):
        if weights[j] != 0:
            continue
        if taken == order.size:
            break  # no positive-weight sample left: the center stays put
        far = order[taken]
        taken += 1
        w = float(sample_weight[far])
        moved = w * samples[far].astype(np.float64)
        source = labels[far] - n_fixed
        if source >= 0:
            sums[source] -= moved
            weights[source] -= w
        sums[j] = moved
        weights[j] = w
    return taken


def update_free_centers(centers, n_fixed, sums, weights):
    """New centers (fixed rows unchanged; a free center with no weight keeps
    its place) and the total squared shift of the free centers."""
    new = centers.copy()
    hit = weights > 0
    new[n_fixed:][hit] = (sums[hit] / weights[hit, None]).astype(centers.dtype)
    shift = new[n_fixed:].astype(np.float64) - centers[n_fixed:].astype(np.float64)
    return new, float(np.sum(shift * shift))


def lloyd_iteration(chunks, centers, n_fixed, n_threads):
    """One assignment and update over all chunks, in ``chunks.frame``.

    ``centers`` are in the frame. Returns (new centers, squared shift of the
    free centers, inertia of the assignment, number of relocated empty
    clusters), all in frame units (the inertia with the normalised weights).
    """
    n_free = centers.shape[0] - n_fixed
    centers_node = shared(centers)
    frame_node = chunks.frame_node
    stats = chunks.compute(_chunk_tasks.lloyd_stats, frame_node, centers_node, n_fixed, n_threads)
    sums, weights, inertia = (add_in_order(part) for part in zip(*stats))
    n_relocated = 0
    if np.any(weights == 0):
        # Rare: a second pass for the samples farthest from their centers.
        candidates = chunks.compute(
            _chunk_tasks.relocation_candidates, frame_node, centers_node, n_free, n_threads
        )
        n_relocated = relocate_empty(sums, weights, candidates, n_fixed)
    new, shift = update_free_centers(centers, n_fixed, sums, weights)
    return new, shift, float(inertia), n_relocated


def lloyd(chunks, centers, n_fixed, max_iter, tol, n_threads, verbose):
    """Lloyd iterations from ``centers`` (in the frame) until the squared
    shift of the free centers is at most ``tol`` (already scaled, in the
    frame's units) or ``max_iter``. Returns (final centers, in the frame;
    number of iterations)."""
    frame = chunks.frame
    for iteration in range(max_iter):
        centers, shift, inertia, n_relocated = lloyd_iteration(chunks, centers, n_fixed, n_threads)
        if verbose:
            print(
                f"Iteration {iteration}, inertia "
                f"{float(frame.squared(inertia, chunks.weight_scale))}."
            )
            if n_relocated:
                print(f"Iteration {iteration}: relocated {n_relocated} empty cluster(s).")
        if shift <= tol:
            if verbose:
                print(
                    f"Converged at iteration {iteration}: center shift "
                    f"{float(frame.squared(shift))} within tolerance "
                    f"{float(frame.squared(tol))}."
                )
            break
    return centers, iteration + 1


def final_labels(chunks, centers, n_threads):
    """Labels of every sample for ``centers`` (in the frame): a Dask array,
    persisted on the workers; and the total inertia, summed in chunk order,
    in frame units (with the normalised weights)."""
    tasks = chunks.map(
        _chunk_tasks.labels_and_inertia, chunks.frame_node, shared(centers), n_threads
    )
    tasks = dask.persist(*tasks)
    labels = da.concatenate(
        [
            da.from_delayed(task[0], shape=(size,), dtype=np.int32)
            for task, (_, _, _, size) in zip(tasks, chunks.blocks)
        ]
    )
    inertias = dask.compute(*[task[1] for task in tasks])
    return labels, float(add_in_order(inertias))
