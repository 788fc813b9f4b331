"""k-means|| seeding (Bahmani et al. 2012) over the chunks of a Dask array.

Start from the fixed centers (or, without any, from one sample drawn in
proportion to its weight). Each round draws every sample independently
with probability ``min(1, l * w * d^2 / potential)``, where ``d`` is its
distance to the nearest center so far, ``potential`` the total of
``w * d^2`` and ``l = oversampling_factor * n_clusters``; the drawn samples
become candidate centers. Each candidate is then weighted by the total
weight of the samples nearest to it, and the core's weighted k-means++,
started from the fixed centers, reduces the candidates to ``n_clusters``.

Each round reads X once: a worker updates its chunk's nearest-center
distances (kept on the workers between rounds) and returns every sample
that its own chunk's potential would let through, a superset of the
draws that the driver narrows with the total potential. Random numbers
come from per-chunk generators seeded from ``random_state``, so the picks
depend on the seed and the chunking, never on which worker ran what.

Everything is computed in the frame of the whole data (``chunks.frame``,
see iwkmeans._core._frame) with the weights divided by their maximum: distances and
potentials are in frame units, where ``w * d^2`` is at most 4 per feature,
so the potential is always finite (in the user's units it overflows for
values near 1e154, or weights near 1e308, and no sample would ever be
drawn). The candidates stay the user's own rows.
"""

import math

import dask
import numpy as np

from .._core import effective_n_threads, greedy_kmeans_plusplus
from .._validation import check_n_local_trials
from . import _chunk_tasks
from ._data import shared
from ._lloyd import add_in_order


def weighted_draw(chunks, random_state):
    """Row (in the whole data) of one sample drawn in proportion to its
    weight, and the sample."""
    totals = np.cumsum(chunks.compute(_chunk_tasks.total_weight))
    target = random_state.uniform() * totals[-1]
    chunk = min(int(np.searchsorted(totals, target, side="right")), len(totals) - 1)
    if chunk > 0:
        target -= totals[chunk - 1]
    X_block, w_block, start, _ = chunks.blocks[chunk]
    (cumulative,) = dask.compute(
        dask.delayed(_chunk_tasks.cumulative_weight)(X_block, w_block, start)
    )
    local = int(np.searchsorted(cumulative, target, side="right"))
    # Rounding can step past the end: take the last sample of positive weight.
    last = int(np.flatnonzero(np.diff(cumulative, prepend=0.0) > 0)[-1])
    local = min(local, last)
    (sample,) = dask.compute(X_block[local])
    return start + local, np.asarray(sample)[None, :]


def _in_chunk(rows, start, size):
    """Local indices (and positions in ``rows``) of the rows that fall in a chunk."""
    position = np.flatnonzero((rows >= start) & (rows < start + size))
    return rows[position] - start, position


def kmeans_parallel(
    chunks, fixed_centers, n_clusters, oversampling_factor, n_rounds, random_state, n_threads
):
    """Rows (in the whole data) and samples (the user's rows) of the
    ``n_clusters`` free initial centers chosen by k-means||; inputs already
    validated, ``chunks`` framed (see _dask_data.framed_chunks), fixed
    centers in user coordinates."""
    oversampling = oversampling_factor * n_clusters
    n_fixed = fixed_centers.shape[0]
    if n_fixed:
        new_rows, new = np.empty(0, dtype=np.intp), fixed_centers
    else:
        row, new = weighted_draw(chunks, random_state)
        new_rows = np.array([row])
    rows = [new_rows]  # candidate rows, in the order the centers are numbered
    samples = [new] if not n_fixed else []
    n_known = 0  # centers (fixed and candidates) the states know
    states = [None] * len(chunks.blocks)
    rounds = 0
    exhausted = False  # every sample of positive weight is a center
    while True:
        n_candidates = sum(r.size for r in rows)
        if n_candidates < n_clusters and exhausted:
            new_rows, new = _fill(chunks, np.concatenate(rows), n_clusters - n_candidates)
            rows.append(new_rows)
            samples.append(new)
        state_tasks = _add_centers(chunks, states, new_rows, new, n_known, n_threads)
        n_known += new.shape[0]
        n_candidates = n_known - n_fixed
        if exhausted or (rounds >= n_rounds and n_candidates >= n_clusters):
            break
        seeds = random_state.randint(np.iinfo(np.int32).max, size=len(chunks.blocks))
        draw_tasks = [
            dask.delayed(_chunk_tasks.oversample, pure=True)(x, w, start, state, seed, oversampling)
            for (x, w, start, _), state, seed in zip(chunks.blocks, state_tasks, seeds)
        ]
        # One graph for both, so each chunk of X is read once per round.
        persisted = dask.persist(*state_tasks, *draw_tasks)
        states = persisted[: len(state_tasks)]
        potentials, draws = zip(*dask.compute(*persisted[len(state_tasks) :]))
        potential = float(add_in_order(potentials))
        if not math.isfinite(potential):
            # Cannot happen in the frame; never loop without drawing anything.
            raise FloatingPointError(
                f"k-means||: the total potential is {potential}; no sample can be drawn."
            )
        u, weighted, drawn_rows, drawn = (np.concatenate(part) for part in zip(*draws))
        keep = u * potential < oversampling * weighted
        new_rows, new = drawn_rows[keep], drawn[keep]
        rows.append(new_rows)
        samples.append(new)
        rounds += 1
        exhausted = potential == 0

    weights = add_in_order(
        dask.compute(
            *[
                dask.delayed(_chunk_tasks.weight_per_center, pure=True)(x, w, start, state, n_known)
                for (x, w, start, _), state in zip(chunks.blocks, state_tasks)
            ]
        )
    )
    candidates = np.ascontiguousarray(np.concatenate(samples), dtype=chunks.dtype)
    # The candidates are rows of X: the whole data's frame holds them.
    picks = greedy_kmeans_plusplus(
        candidates,
        weights[n_fixed:].astype(chunks.dtype),
        fixed_centers,
        n_clusters,
        random_state,
        check_n_local_trials(None, n_clusters),
        effective_n_threads(n_threads),
        frame=chunks.frame,
    )
    return np.concatenate(rows)[picks], candidates[picks]


def _add_centers(chunks, states, new_rows, new, n_known, n_threads):
    """Per-chunk tasks that update each sample's nearest center with the
    centers ``new`` (user coordinates, numbered from ``n_known``; the samples
    at ``new_rows``), in the frame."""
    if new.shape[0] == 0:
        return list(states)
    new_node = shared(chunks.frame.to(new))
    frame_node = chunks.frame_node
    tasks = []
    for (x, _, start, size), state in zip(chunks.blocks, states):
        picked, position = _in_chunk(new_rows, start, size)
        tasks.append(
            dask.delayed(_chunk_tasks.nearest_seed, pure=True)(
                x, frame_node, state, new_node, n_known, picked, n_known + position, n_threads
            )
        )
    return tasks


def _fill(chunks, candidate_rows, count):
    """When every sample of positive weight is already a center but there
    are fewer candidates than clusters (duplicated samples): the ``count``
    lowest rows of positive weight that are not candidates yet."""
    tasks = []
    for x, w, start, size in chunks.blocks:
        picked, _ = _in_chunk(candidate_rows, start, size)
        tasks.append(
            dask.delayed(_chunk_tasks.first_unpicked, pure=True)(x, w, start, picked, count)
        )
    rows, samples = (np.concatenate(part) for part in zip(*dask.compute(*tasks)))
    return rows[:count], samples[:count]
