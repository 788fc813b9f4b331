"""Greedy, weighted k-means++ seeding that starts from fixed centers.

Each new center is the best of ``n_trials`` candidates drawn with
probability proportional to w_i * D(x_i)^2, where D is the distance to the
nearest center chosen so far, fixed centers included. One pass over X per
pick: the pass that scores the candidates also keeps, per candidate, what
D^2 would become in the rows that some candidate changes, so adopting the
winner is a copy of those rows rather than a second pass over X.

The random numbers are drawn by the caller; this kernel is deterministic
and, like the Lloyd kernel, reduces per chunk in chunk order so that the
picks do not depend on the thread count.
"""
from cython cimport floating
from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from libc.stdint cimport int32_t
from libc.stdlib cimport free, malloc

import numpy as np

from ._common cimport (
    CHUNK_SIZE, call_ended, fused_width, iwk_claim, n_chunks_of, row_sq_norms,
    transposed_centers, useful_threads,
)
from ._dispatch cimport iwk_score_fused, iwk_score_packed, iwk_score_small
from ._rows cimport (
    Rows, chunk_dots, dense_row, fold_norms, frame_buffer, framed_rows, fused_lanes,
    fused_panel, needs_frame_buffer, pack_rows, packed_for, packed_lanes, packed_size,
    packed_sq_norms, row_sq_norm, rows_of, scaled_centers, values_of,
)


cdef enum:
    # Rows whose potential a draw adds at once before it scans single rows
    # (a multiple of 4, see run_potential).
    DRAW_RUN = 32


cdef int update_closest(const floating* values, Rows X, const floating* x_norms,
                        floating* closest, const floating* centers, int n_centers,
                        int n_threads) noexcept nogil:
    """closest[i] = min(closest[i], min_j d(y_i, c_j)), squared distances in
    the frame. Returns -1 if memory ran out, else 0.
    IN: values, x_norms (n_samples,), centers (n_centers, n_features).
    INOUT: closest (n_samples,).
    """
    cdef:
        Py_ssize_t next_chunk = 0
        bint failed[1]  # an array: a variable assigned in parallel is private
        floating* norms = <floating*> malloc(n_centers * sizeof(floating))
        floating* centers_t = NULL
    # (Rows read as stored take the scale through GEMM's alpha: chunk_dots.)
    if norms != NULL:
        centers_t = transposed_centers(centers, n_centers, X.n_features, n_centers, norms)
    failed[0] = centers_t == NULL
    if failed[0]:
        pass
    elif n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        failed[0] = update_closest_worker(values, X, x_norms, closest, centers_t, norms,
                                          n_centers, &next_chunk) < 0
    else:
        with parallel(num_threads=n_threads):
            if update_closest_worker(values, X, x_norms, closest, centers_t, norms,
                                     n_centers, &next_chunk) < 0:
                failed[0] = True
    free(norms)
    free(centers_t)
    return -1 if failed[0] else 0


cdef int update_closest_worker(const floating* values, Rows X, const floating* x_norms,
                               floating* closest, const floating* centers_t,
                               const floating* norms, int n_centers,
                               Py_ssize_t* next_chunk) noexcept nogil:
    """One thread's share of update_closest: the chunks it takes from
    next_chunk (iwk_claim). Returns -1 if its buffers could not be allocated
    (it then updates nothing), else 0. IN: centers_t (n_features,
    n_centers), norms (n_centers,)."""
    cdef:
        Py_ssize_t n_samples = X.n_samples
        Py_ssize_t chunk, start, i
        int rows, j
        floating d, nearest
        const floating* row
        floating* dots = <floating*> malloc(CHUNK_SIZE * n_centers * sizeof(floating))
        floating* frame = frame_buffer(values, X)
    if dots == NULL or (needs_frame_buffer(X) and frame == NULL):
        free(dots)
        free(frame)
        return -1
    chunk = iwk_claim(next_chunk)
    while chunk < n_chunks_of(n_samples):
        start = chunk * CHUNK_SIZE
        rows = <int> min(<Py_ssize_t> CHUNK_SIZE, n_samples - start)
        chunk_dots(values, X, start, rows, centers_t, n_centers, False, dots, frame)
        for i in range(start, start + rows):
            row = dots + (i - start) * n_centers
            nearest = closest[i]
            for j in range(n_centers):
                # The expansion can round a true 0 to a tiny negative.
                d = x_norms[i] + row[j] + norms[j]
                d = d if d > 0 else 0
                nearest = d if d < nearest else nearest
            closest[i] = nearest
        chunk = iwk_claim(next_chunk)
    free(dots)
    free(frame)
    return 0


cdef struct Improved:
    # Per chunk, the rows that some candidate brings closer than closest, in
    # spans of ``span`` rows (one row, or one block of the packed kernel):
    # count[chunk] spans, the first row of each, relative to the chunk, in
    # rows[chunk * CHUNK_SIZE + m], and what candidate j would make the
    # closest of row r + l of the span starting at chunk row r in
    # values[(chunk * CHUNK_SIZE + r) * n_candidates + j * span + l] (values
    # live in a separate floating* argument: a struct cannot hold a fused
    # type). Late picks improve a small share of the rows, so keeping only
    # these saves most of the memory traffic of storing every value.
    int* count
    int32_t* rows
    int span


cdef inline floating candidate_value(floating x_norm, floating dot, floating norm,
                                     floating closest) noexcept nogil:
    """min(closest, ||x||^2 - 2 <x, c> + ||c||^2), the expansion clipped at 0,
    where it can round a true 0 to a tiny negative."""
    cdef floating d = x_norm + dot + norm
    d = d if d > 0 else 0
    return d if d < closest else closest


cdef int score_rows(const floating* dots, int n_rows, int n_candidates,
                    const floating* norms, const floating* x_norms,
                    const floating* closest, const floating* sample_weight,
                    double* partial, int32_t* improved,
                    floating* values) noexcept nogil:
    """iwk_score_small (see simd.h) for rows whose -2 <x_i, c_j> are
    given, sample-major, in dots: the path for sparse rows and for more
    candidates than a vector holds. Returns the number of improved rows.
    IN: dots (n_rows, n_candidates), norms (n_candidates,), x_norms, closest,
    sample_weight (n_rows,). OUT: partial (n_candidates,), improved (the
    rows kept), values (n_rows, n_candidates; the rows kept)."""
    cdef:
        int i, j, m = 0
        bint closer
        double w
        floating d
        const floating* row
    for j in range(n_candidates):
        partial[j] = 0.0
    for i in range(n_rows):
        row = dots + i * n_candidates
        w = sample_weight[i]
        closer = False
        for j in range(n_candidates):
            d = candidate_value(x_norms[i], row[j], norms[j], closest[i])
            closer = closer or d < closest[i]
            partial[j] += w * d
        if closer:
            for j in range(n_candidates):
                values[i * n_candidates + j] = candidate_value(x_norms[i], row[j],
                                                               norms[j], closest[i])
            improved[m] = i
            m += 1
    return m


cdef int score_candidates(const floating* values, Rows X, const floating* packed,
                          const floating* x_norms, const floating* sample_weight,
                          const floating* closest, const floating* candidates,
                          int n_candidates, double* partial, Improved improved,
                          floating* improved_values, int n_threads) noexcept nogil:
    """What adopting each candidate would do: partial[chunk, j] = the sum over
    the chunk of w_i min(closest[i], d(x_i, c_j)), the chunk's potential if
    c_j is adopted; and the rows it would change, in improved.
    Everything in the frame. Returns -1 if memory ran out, else 0.
    IN: values, packed (X packed for iwk_score_packed, see pack_rows, or
    NULL), x_norms, sample_weight, closest (n_samples,), candidates
    (n_candidates, n_features). OUT: partial (n_chunks, n_candidates),
    improved (its count and rows), improved_values.
    """
    cdef:
        int n_features = X.n_features
        Py_ssize_t next_chunk = 0
        bint failed[1]  # an array: see update_closest
        floating* folded = NULL
        const floating* dotted = candidates
        # Without a packed copy, dense rows and candidates that fit in one
        # vector take the fused kernel on AVX-512 CPUs (small), or in one
        # panel the fused tile on AVX2 ones (tile), the rest GEMM.
        int lanes = fused_lanes(X, n_candidates, floating is double, packed != NULL)
        int panel = fused_panel(X, fused_width(floating is double), floating is double,
                                packed != NULL)
        bint small = lanes > 0
        bint tile = not small and 0 < n_candidates <= panel
        int width = lanes if small else (panel if tile else n_candidates)
        floating* norms = <floating*> malloc(width * sizeof(floating))
        floating* centers_t = NULL
    failed[0] = norms == NULL
    if packed != NULL:
        if norms != NULL:
            row_sq_norms(candidates, n_candidates, n_features, norms)
    elif norms != NULL:
        # Rows read as stored: the fused kernels take the candidates times
        # the scale; GEMM takes the scale through its alpha (chunk_dots).
        if X.fold and (small or tile):
            folded = scaled_centers(X, candidates, n_candidates, n_features)
            dotted = folded
        if dotted != NULL:
            centers_t = transposed_centers(dotted, n_candidates, n_features, width,
                                           norms)
            if folded != NULL:
                fold_norms(X, candidates, n_candidates, n_features, norms)
        failed[0] = centers_t == NULL
    if failed[0]:
        pass
    elif n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        failed[0] = score_worker(values, X, packed, x_norms, sample_weight, closest,
                                 candidates, centers_t, norms, n_candidates, width,
                                 small, tile, partial, improved, improved_values,
                                 &next_chunk) < 0
    else:
        with parallel(num_threads=n_threads):
            if score_worker(values, X, packed, x_norms, sample_weight, closest,
                            candidates, centers_t, norms, n_candidates, width,
                            small, tile, partial, improved, improved_values,
                            &next_chunk) < 0:
                failed[0] = True
    free(norms)
    free(centers_t)
    free(folded)
    return -1 if failed[0] else 0


cdef int score_worker(const floating* values, Rows X, const floating* packed,
                      const floating* x_norms, const floating* sample_weight,
                      const floating* closest, const floating* candidates,
                      const floating* centers_t, const floating* norms,
                      int n_candidates, int width, bint small, bint tile,
                      double* partial, Improved improved, floating* improved_values,
                      Py_ssize_t* next_chunk) noexcept nogil:
    """One thread's share of score_candidates: the chunks it takes from
    next_chunk (iwk_claim) until none is left, read from packed, through the
    fused kernels (candidates transposed in centers_t, ``width`` wide, when
    small or tile) or GEMM. Returns -1 if its buffers could not be
    allocated (it then scores nothing), else 0. IN: as score_candidates,
    and centers_t, norms (width,). OUT: the taken chunks' partial,
    improved and improved_values."""
    cdef:
        Py_ssize_t n_samples = X.n_samples
        Py_ssize_t n_chunks = n_chunks_of(n_samples)
        int n_features = X.n_features
        bint gemm = packed == NULL and not small and not tile
        Py_ssize_t chunk, start
        int rows
        const floating* framed
        floating* kept
        int32_t* kept_rows
        double* acc
        floating* dots = NULL
        floating* frame = NULL
    if gemm:
        dots = <floating*> malloc(CHUNK_SIZE * n_candidates * sizeof(floating))
    if packed == NULL:
        frame = frame_buffer(values, X)
    if (gemm and dots == NULL) or (packed == NULL and needs_frame_buffer(X)
                                   and frame == NULL):
        free(dots)
        free(frame)
        return -1
    chunk = iwk_claim(next_chunk)
    while chunk < n_chunks:
        start = chunk * CHUNK_SIZE
        rows = <int> min(<Py_ssize_t> CHUNK_SIZE, n_samples - start)
        acc = partial + chunk * n_candidates
        kept = improved_values + start * n_candidates
        kept_rows = improved.rows + start
        if packed != NULL:
            improved.count[chunk] = iwk_score_packed(
                packed + start * n_features, rows, n_features, candidates,
                norms, n_candidates, x_norms + start, closest + start,
                sample_weight + start, acc, kept_rows, kept)
        elif small or tile:
            # fused_lanes and fused_panel are only positive when a chunk
            # is framed whole (or read as stored, X.fold).
            framed = framed_rows(values, X, start, rows, frame)
            if small:
                improved.count[chunk] = iwk_score_small(
                    framed, rows, n_features, centers_t,
                    norms, n_candidates, x_norms + start, closest + start,
                    sample_weight + start, acc, kept_rows, kept)
            else:
                improved.count[chunk] = iwk_score_fused(
                    framed, rows, n_features, centers_t, width,
                    norms, n_candidates, x_norms + start, closest + start,
                    sample_weight + start, acc, kept_rows, kept)
        else:
            chunk_dots(values, X, start, rows, centers_t, n_candidates, False,
                       dots, frame)
            improved.count[chunk] = score_rows(dots, rows, n_candidates, norms,
                                               x_norms + start, closest + start,
                                               sample_weight + start, acc,
                                               kept_rows, kept)
        chunk = iwk_claim(next_chunk)
    free(dots)
    free(frame)
    return 0


cdef void adopt(floating* closest, Improved improved, const floating* improved_values,
                int n_candidates, int winner, Py_ssize_t n_samples,
                int n_threads) noexcept nogil:
    """closest becomes what score_candidates found for candidate ``winner``.
    IN: improved, improved_values. INOUT: closest (n_samples,)."""
    cdef Py_ssize_t next_chunk = 0
    if n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        adopt_worker(closest, improved, improved_values, n_candidates, winner,
                     n_samples, &next_chunk)
    else:
        with parallel(num_threads=n_threads):
            adopt_worker(closest, improved, improved_values, n_candidates, winner,
                         n_samples, &next_chunk)


cdef void adopt_worker(floating* closest, Improved improved,
                       const floating* improved_values, int n_candidates, int winner,
                       Py_ssize_t n_samples, Py_ssize_t* next_chunk) noexcept nogil:
    """One thread's share of adopt: the chunks it takes from next_chunk."""
    cdef:
        Py_ssize_t chunk = iwk_claim(next_chunk)
        Py_ssize_t start, first
        int m, lane
    while chunk < n_chunks_of(n_samples):
        start = chunk * CHUNK_SIZE
        for m in range(improved.count[chunk]):
            first = start + improved.rows[start + m]
            for lane in range(min(<Py_ssize_t> improved.span, n_samples - first)):
                closest[first + lane] = improved_values[
                    first * n_candidates + winner * improved.span + lane]
        chunk = iwk_claim(next_chunk)


cdef inline double run_potential(const floating* w, const floating* closest,
                                 Py_ssize_t start) noexcept nogil:
    """Sum of w_i closest_i over the DRAW_RUN rows from start, in four
    running sums: one chain of additions would wait on each one's latency.
    IN: w, closest."""
    cdef:
        Py_ssize_t i
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    for i in range(start, start + DRAW_RUN, 4):
        a0 += <double> w[i] * closest[i]
        a1 += <double> w[i + 1] * closest[i + 1]
        a2 += <double> w[i + 2] * closest[i + 2]
        a3 += <double> w[i + 3] * closest[i + 3]
    return (a0 + a1) + (a2 + a3)


cdef double chunk_potential(const floating[::1] sample_weight,
                            const floating* closest, Py_ssize_t chunk) noexcept nogil:
    """Sum over one chunk of w_i closest_i, by runs as draw adds them.
    IN: sample_weight, closest."""
    cdef:
        Py_ssize_t i = chunk * CHUNK_SIZE
        Py_ssize_t stop = min((chunk + 1) * CHUNK_SIZE, sample_weight.shape[0])
        double acc = 0.0
    while i + DRAW_RUN <= stop:
        acc += run_potential(&sample_weight[0], closest, i)
        i += DRAW_RUN
    while i < stop:
        acc += <double> sample_weight[i] * closest[i]
        i += 1
    return acc


cdef double prefix_sums(const double* chunk_total, Py_ssize_t n_chunks,
                        double* prefix) noexcept nogil:
    """prefix[c] = sum of the chunk totals before c; returns the total.
    IN: chunk_total (n_chunks,). OUT: prefix (n_chunks + 1,)."""
    cdef Py_ssize_t chunk
    prefix[0] = 0.0
    for chunk in range(n_chunks):
        prefix[chunk + 1] = prefix[chunk] + chunk_total[chunk]
    return prefix[n_chunks]


cdef double cumulative_potential(const floating[::1] sample_weight,
                                 const floating* closest, double* chunk_total,
                                 double* prefix, int n_threads) noexcept nogil:
    """chunk_total[c] = sum over chunk c of w_i closest_i, and their prefix
    sums. Returns the total. IN: sample_weight, closest (n_samples,).
    OUT: chunk_total (n_chunks,), prefix (n_chunks + 1,)."""
    cdef:
        Py_ssize_t n_chunks = n_chunks_of(sample_weight.shape[0])
        Py_ssize_t chunk
    if n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        for chunk in range(n_chunks):
            chunk_total[chunk] = chunk_potential(sample_weight, closest, chunk)
    else:
        for chunk in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
            chunk_total[chunk] = chunk_potential(sample_weight, closest, chunk)
    return prefix_sums(chunk_total, n_chunks, prefix)


cdef Py_ssize_t draw(const floating[::1] sample_weight, const floating* closest,
                     const double* chunk_total, const double* prefix,
                     double target) noexcept nogil:
    """The first sample at which the running total of w_i closest_i exceeds
    target, 0 <= target < total. Samples whose term is 0 are never returned.

    The running total advances by chunk (prefix), then by runs of DRAW_RUN
    rows, then by row. IN: sample_weight, closest, chunk_total, prefix.
    """
    cdef:
        Py_ssize_t n_samples = sample_weight.shape[0]
        Py_ssize_t lo = 0, hi = n_chunks_of(n_samples) - 1, mid, i, stop
        const floating* w = &sample_weight[0]
        double term, run, acc
    while lo < hi:
        mid = (lo + hi) // 2
        if prefix[mid + 1] > target:
            hi = mid
        else:
            lo = mid + 1
    # Rounding can put target at the very end; fall back to a chunk with mass.
    while lo > 0 and chunk_total[lo] == 0:
        lo -= 1
    acc = prefix[lo]
    i = lo * CHUNK_SIZE
    stop = min((lo + 1) * CHUNK_SIZE, n_samples)
    while i + DRAW_RUN <= stop:
        run = run_potential(w, closest, i)
        if acc + run > target:
            break
        acc += run
        i += DRAW_RUN
    while i < stop:
        term = <double> w[i] * closest[i]
        if term > 0:
            acc += term
            if acc > target:
                return i
        i += 1
    # Rounding again: the chunk's last sample with mass.
    i = stop - 1
    while i >= lo * CHUNK_SIZE:
        if <double> w[i] * closest[i] > 0:
            return i
        i -= 1
    return -1


cdef Py_ssize_t first_unpicked(const floating[::1] sample_weight,
                               const Py_ssize_t[::1] picks,
                               int n_picked) noexcept nogil:
    """Lowest-index sample of positive weight not yet picked: used only when
    every remaining sample coincides with a center (zero potential).
    IN: sample_weight, picks (the first n_picked)."""
    cdef:
        Py_ssize_t i
        int c
        bint taken
    for i in range(sample_weight.shape[0]):
        if sample_weight[i] > 0:
            taken = False
            for c in range(n_picked):
                if picks[c] == i:
                    taken = True
                    break
            if not taken:
                return i
    return -1


def kmeans_plusplus(const floating[::1] values, const int32_t[::1] indices,
                    const int32_t[::1] indptr, const floating[::1] shift, double scale,
                    const floating[::1] sample_weight,
                    const floating[:, ::1] fixed_centers, double first_draw,
                    const double[:, ::1] trial_draws, Py_ssize_t[::1] picks,
                    int n_threads, const floating[::1] shared_packed=None,
                    int shared_lanes=0):
    """Pick picks.shape[0] samples as new centers.

    IN: the samples (values, indices, indptr: dense or CSR, with the frame
    shift and scale, as in _lloyd.lloyd), sample_weight, fixed_centers
    ((n_fixed, n_features), in the frame, may have no rows), trial_draws
    (in [0, 1), (n_picks, n_trials): the candidates of each pick). OUT:
    picks (indices into X). first_draw, in [0, 1), is used only without
    fixed centers, where the first pick is proportional to weight alone.
    shared_packed and shared_lanes: a packed copy of the samples from
    packed_copy, to use instead of making one (None: none given).
    Between picks it lets Python handle signals (Ctrl-C raises
    KeyboardInterrupt within one pick); raises MemoryError if memory runs
    out. Every buffer is freed either way.
    """
    cdef:
        int n_features = fixed_centers.shape[1]
        Rows X = rows_of(values, indices, indptr, shift, scale, sample_weight.shape[0],
                         n_features)
        const floating* v = values_of(values)
        Py_ssize_t n_samples = X.n_samples
        Py_ssize_t n_chunks = n_chunks_of(n_samples)
        int n_picks = picks.shape[0]
        int n_trials = trial_draws.shape[1]
        int n_fixed = fixed_centers.shape[0]
        int c, t, best, first = 0
        Py_ssize_t i, chunk, pick
        double total
        int lanes = packed_lanes(X, floating is double, True)
        const floating* packed = NULL
        floating* own_packed = NULL
        floating* x_norms = NULL
        floating* closest = NULL
        floating* improved_values = NULL
        Improved improved
        floating* candidates = NULL
        Py_ssize_t* candidate_index = NULL
        double* chunk_total = NULL
        double* prefix = NULL
        double* partial = NULL
        double* potential = NULL

    improved.count = NULL
    improved.rows = NULL
    improved.span = lanes if lanes > 0 else 1
    cdef int asked = n_threads
    n_threads = useful_threads(asked, n_samples, n_trials * n_features)
    try:
        x_norms = <floating*> malloc(n_samples * sizeof(floating))
        closest = <floating*> malloc(n_samples * sizeof(floating))
        # The last packed block may run past the last sample.
        improved_values = <floating*> malloc(
            n_trials * (n_samples + lanes) * sizeof(floating))
        candidates = <floating*> malloc(max(1, n_trials * n_features)
                                        * sizeof(floating))
        candidate_index = <Py_ssize_t*> malloc(n_trials * sizeof(Py_ssize_t))
        chunk_total = <double*> malloc(n_chunks * sizeof(double))
        prefix = <double*> malloc((n_chunks + 1) * sizeof(double))
        partial = <double*> malloc(n_chunks * n_trials * sizeof(double))
        potential = <double*> malloc(n_trials * sizeof(double))
        improved.count = <int*> malloc(n_chunks * sizeof(int))
        improved.rows = <int32_t*> malloc(n_samples * sizeof(int32_t))
        if (x_norms == NULL or closest == NULL or improved_values == NULL
                or candidates == NULL or candidate_index == NULL
                or chunk_total == NULL or prefix == NULL or partial == NULL
                or potential == NULL or improved.count == NULL
                or improved.rows == NULL):
            raise MemoryError()
        packed = packed_for(v, X, lanes, shared_packed, shared_lanes, &own_packed)
        with nogil:
            if packed != NULL:
                packed_sq_norms(packed, X, lanes, x_norms)
            else:
                for i in prange(n_samples, schedule="dynamic", chunksize=CHUNK_SIZE,
                                num_threads=n_threads):
                    x_norms[i] = row_sq_norm(v, X, i)
            if n_fixed > 0:
                for i in range(n_samples):
                    closest[i] = INFINITY
                if update_closest(v, X, x_norms, closest, &fixed_centers[0, 0],
                                  n_fixed, n_threads) < 0:
                    with gil:
                        raise MemoryError()
            else:
                # Every sample equally far: the draw is proportional to weight.
                for i in range(n_samples):
                    closest[i] = 1
                total = cumulative_potential(sample_weight, closest, chunk_total,
                                             prefix, n_threads)
                pick = draw(sample_weight, closest, chunk_total, prefix,
                            first_draw * total)
                picks[0] = pick
                for i in range(n_samples):
                    closest[i] = INFINITY
                dense_row(v, X, pick, candidates)
                if update_closest(v, X, x_norms, closest, candidates, 1,
                                  n_threads) < 0:
                    with gil:
                        raise MemoryError()
                closest[pick] = 0
                first = 1

            total = cumulative_potential(sample_weight, closest, chunk_total, prefix,
                                         n_threads)
            for c in range(first, n_picks):
                with gil:
                    PyErr_CheckSignals()
                for t in range(n_trials):
                    if total > 0:
                        candidate_index[t] = draw(sample_weight, closest, chunk_total,
                                                  prefix, trial_draws[c, t] * total)
                    else:
                        candidate_index[t] = first_unpicked(sample_weight, picks, c)
                    dense_row(v, X, candidate_index[t], candidates + t * n_features)
                if score_candidates(v, X, packed, x_norms, &sample_weight[0], closest,
                                    candidates, n_trials, partial, improved,
                                    improved_values, n_threads) < 0:
                    with gil:
                        raise MemoryError()
                best = 0
                for t in range(n_trials):
                    potential[t] = 0.0
                    for chunk in range(n_chunks):
                        potential[t] += partial[chunk * n_trials + t]
                    if potential[t] < potential[best]:
                        best = t
                pick = candidate_index[best]
                picks[c] = pick
                adopt(closest, improved, improved_values, n_trials, best, n_samples,
                      n_threads)
                closest[pick] = 0
                # The winner's potentials per chunk are already known; only the
                # chunk of the pick itself changed (its own distance is now 0).
                # This saves a parallel pass, and its barrier, per pick.
                for chunk in range(n_chunks):
                    chunk_total[chunk] = partial[chunk * n_trials + best]
                chunk_total[pick // CHUNK_SIZE] = chunk_potential(
                    sample_weight, closest, pick // CHUNK_SIZE)
                total = prefix_sums(chunk_total, n_chunks, prefix)
    finally:
        call_ended(asked, n_samples, n_trials * n_features)
        free(own_packed)
        free(x_norms)
        free(closest)
        free(improved_values)
        free(improved.count)
        free(improved.rows)
        free(candidates)
        free(candidate_index)
        free(chunk_total)
        free(prefix)
        free(partial)
        free(potential)


def packed_copy(const floating[::1] values, const int32_t[::1] indices,
                const int32_t[::1] indptr, const floating[::1] shift, double scale,
                Py_ssize_t n_samples, int n_features, bint seeding):
    """(copy, lanes): the samples (as kmeans_plusplus takes them) packed in
    the frame with the blocks of k-means++'s packed kernel (``seeding``) or
    Lloyd's, for several kernel calls to share (their shared_packed and
    shared_lanes) instead of each making its own; (None, 0) when that kernel
    has none for these samples. A call whose packed kernel reads blocks of
    another size makes its own (or none): k-means++'s and Lloyd's blocks are
    the same on AVX-512 CPUs, and Lloyd has none on AVX2 ones.
    """
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, n_samples, n_features)
        int lanes = packed_lanes(X, floating is double, seeding)
        const floating* v
        floating[::1] out
    if lanes == 0:
        return None, 0
    copy = np.empty(packed_size(X, lanes), dtype=np.float64 if floating is double
                    else np.float32)
    out = copy
    v = values_of(values)
    with nogil:
        pack_rows(v, X, lanes, &out[0])
    return copy, lanes
