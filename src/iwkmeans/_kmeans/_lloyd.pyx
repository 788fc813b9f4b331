"""Weighted Lloyd's K-Means in which the first ``n_fixed`` centers never move.

Centers are one (n_fixed + n_free, n_features) array, fixed rows first. The
assignment step takes the nearest of all centers; the update step moves each
free center to the weighted mean of its samples. Every reduction is ordered
by sample index or by chunk index, never by thread, so results are
bit-identical for any thread count:

- labels are per-sample, computed over fixed chunks of rows;
- scalar totals (inertia) are kept per chunk and summed in chunk order;
- center sums are added per block of consecutive rows during the
  assignment, while the rows are in cache, and the blocks are then added in
  block order; blocks are cut from the shape, never from the thread count.
  When k x d is too large for the blocks' memory budget, a second pass gives
  each thread *ownership* of a slice of the features, adding samples in
  index order: no lock and no per-thread copies of the sums.
"""
from cython cimport floating
from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport parallel, prange, threadid
from libc.stdint cimport int32_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from ._common cimport (
    CHUNK_SIZE, call_ended, iwk_claim, lloyd_fused_width, n_chunks_of, row_sq_norms,
    sq_norms, threads_for_work, transposed_centers, useful_threads,
)
from ._dispatch cimport (
    Argmin, free_argmin, iwk_accumulate, iwk_columns_min, iwk_fused_pack,
    iwk_fused_padded, iwk_labels, iwk_nearest_fused, iwk_nearest_packed,
    iwk_nearest_small, iwk_row_min, missing, new_argmin, start_argmin,
)
from ._rows cimport (
    Rows, add_row, chunk_dots, fold_norms, frame_buffer, frame_rows, frame_shift,
    framed_rows, fused_lanes, fused_panel, needs_frame_buffer, packed_for,
    packed_lanes, row_sq_distance, rows_of, scaled_centers, values_of,
)


cdef enum:
    # The center sums are accumulated per block of consecutive chunks while
    # the rows are still in cache, then the blocks are added in block order.
    # Blocks are cut from the shape alone (never the thread count): up to
    # N_BLOCKS of them, enough to keep every thread busy, if their sums fit in
    # SUMS_BUDGET bytes. Otherwise (large k x d) the sums take a second pass
    # (weighted_sums), which needs no extra memory.
    N_BLOCKS = 64
    SUMS_BUDGET = 16 * 1024 * 1024
    # Up to this many centers, distances are computed sample-major: GEMM
    # then needs no transposed operand (OpenBLAS's packing of a transposed
    # chunk of X dominates thin products) and a scan of each short row is
    # cheap. Beyond it, the center-major layout and its vectorised column
    # scan win (measured here: 1.5x faster at k=8, 8% slower at k=100).
    # Sparse rows are always sample-major (see chunk_dots).
    SAMPLE_MAJOR_MAX_CENTERS = 64


# One assignment pass (assign_and_sum) -------------------------------------
#
# What a pass is asked for is a Pass; how it goes about it, a Scan (the
# path) and Blocks (the split of the rows). The pass runs in named steps:
# plan_scan, plan_blocks and prepare_centers before the parallel loop; per
# chunk, scan_chunk (nearest scanned center), label_chunk (labels) and
# sum_chunk (statistics); finish_update after it.


cdef enum Scanned:
    # Which centers a pass scans (Pass.scanned). Fixed centers never move,
    # so a Lloyd fit finds each sample's nearest fixed center once
    # (FIXED_CENTERS), after which every pass scans only the free ones
    # (FREE_CENTERS) and gives the labels a scan of all would.
    #
    # Every center: the labels among all of them.
    ALL_CENTERS
    # Only the fixed centers: each sample's nearest one goes to fixed_label
    # and its ||c||^2 - 2 <y, c> to fixed_nearest (both OUT); neither the
    # labels nor the statistics are written.
    FIXED_CENTERS
    # Only the free centers, each sample's nearest fixed one being known
    # (fixed_label and fixed_nearest, IN, from a FIXED_CENTERS pass over the
    # same centers); on a tie the fixed center wins, its index being lower.
    FREE_CENTERS


cdef struct Pass:
    # What one assignment pass scans and writes. The arrays of X's type (the
    # centers, fixed_nearest) are separate arguments of assign_and_sum: a
    # struct cannot hold a fused type.
    int n_centers  # the centers, fixed ones first
    int n_fixed
    Scanned scanned
    # INOUT (n_samples,): the last labels in (the changes are counted), each
    # sample's nearest center out; not written by a FIXED_CENTERS pass.
    int* labels
    # (n_samples,) each sample's nearest fixed center: OUT for FIXED_CENTERS,
    # IN for FREE_CENTERS, not read for ALL_CENTERS.
    int* fixed_label
    # The update half of a Lloyd step, wanted or not: the statistics of the
    # free centers, gathered while the rows are in cache. For free center j,
    # sums[j] = sum of w_i y_i and weights[j] = sum of w_i over its samples,
    # in float64, y_i the sample in the frame (see _rows.pxd).
    bint update
    double* sums  # OUT (n_free, n_features) if update
    double* weights  # OUT (n_free,) if update


cdef inline Pass labels_pass(int n_centers, int n_fixed, int* labels) noexcept nogil:
    """A pass that scans every center and writes only the labels. labels
    (n_samples,) is stored, not read: the pass reads and writes it (see
    Pass.labels)."""
    return Pass(n_centers=n_centers, n_fixed=n_fixed, scanned=ALL_CENTERS,
                labels=labels, fixed_label=NULL, update=False, sums=NULL,
                weights=NULL)


cdef inline Pass with_update(Pass job, double* sums, double* weights) noexcept nogil:
    """The same pass, also gathering the free centers' statistics (see
    Pass.update) into sums (n_free, n_features) and weights (n_free,):
    stored, not read; the pass writes them."""
    job.update = True
    job.sums = sums
    job.weights = weights
    return job


cdef inline Pass fixed_centers_pass(Pass job) noexcept nogil:
    """The FIXED_CENTERS pass that comes before the FREE_CENTERS pass job:
    it writes job.fixed_label (and the caller's fixed_nearest), no labels
    and no statistics."""
    job.scanned = FIXED_CENTERS
    job.update = False
    return job


cdef inline Pass without_update(Pass job) noexcept nogil:
    """The same pass, writing the labels only."""
    job.update = False
    return job


cdef enum:
    # Running sums of update_free_centers' shift (one vector of float64 on
    # AVX-512; the pairwise sum at its end is written for eight).
    SHIFT_LANES = 8


cdef enum Path:
    # How a pass finds each sample's nearest scanned center (scan_chunk).
    #
    # Dense inputs small enough for a packed copy (pack_rows):
    # iwk_nearest_packed (AVX-512).
    PACKED
    # Dense rows and at most one vector of centers: iwk_nearest_small, dots
    # and argmin fused (AVX-512).
    SMALL
    # Dense rows (see fused_panel), any number of centers: iwk_nearest_fused,
    # dots and argmin fused in a register tile (AVX-512's, or AVX2's with
    # FMA: lloyd_fused_width).
    FUSED
    # GEMM into one row of dots per sample, then iwk_row_min: sparse rows,
    # and up to SAMPLE_MAJOR_MAX_CENTERS centers.
    SAMPLE_MAJOR
    # GEMM into one column of dots per center, then iwk_columns_min.
    CENTER_MAJOR


cdef struct Scan:
    # How a pass reads the centers it scans (plan_scan).
    Path path
    int first  # the centers scanned: first .. first + n_scanned - 1
    int n_scanned
    # Values of the scanned centers' norms, and columns of their transposed
    # copy (SMALL, SAMPLE_MAJOR): a whole vector of lanes for SMALL, whole
    # panels for FUSED (the padding never wins), else n_scanned.
    int width
    int panel  # centers per panel of FUSED (lloyd_fused_width)
    # SMALL or FUSED over rows read as stored (Rows.fold): the fused kernels
    # take the centers times the scale. (GEMM takes the scale through its alpha, see
    # chunk_dots; a packed copy is framed already.)
    bint fold
    # Dense rows are framed a whole chunk at a time into a thread's buffer,
    # from which the sums can then read them.
    bint whole_chunks


cdef Scan plan_scan(Rows X, const floating* packed, Pass job) noexcept nogil:
    """The path of a pass and the centers it scans. IN: packed (X packed for
    iwk_nearest_packed, see pack_rows, or NULL: only whether it is given
    is read)."""
    cdef:
        Scan scan
        # Without a packed copy, dense rows and centers that fit in one
        # vector take the fused kernel on AVX-512 CPUs, any number of them
        # the fused tile (AVX-512's or AVX2's), the rest GEMM and a scan.
        int lanes
    scan.first = job.n_fixed if job.scanned == FREE_CENTERS else 0
    scan.n_scanned = (job.n_fixed if job.scanned == FIXED_CENTERS
                      else job.n_centers - scan.first)
    lanes = fused_lanes(X, scan.n_scanned, floating is double, packed != NULL)
    scan.whole_chunks = frame_rows(X, sizeof(floating)) == CHUNK_SIZE
    scan.panel = fused_panel(X, lloyd_fused_width(floating is double),
                             floating is double, packed != NULL)
    if packed != NULL:
        scan.path = PACKED
    elif lanes > 0:
        scan.path = SMALL
    elif scan.panel > 0:
        scan.path = FUSED
    elif X.indptr != NULL or scan.n_scanned <= SAMPLE_MAJOR_MAX_CENTERS:
        scan.path = SAMPLE_MAJOR
    else:
        scan.path = CENTER_MAJOR
    if scan.path == SMALL:
        scan.width = lanes
    elif scan.path == FUSED:
        scan.width = iwk_fused_padded(scan.n_scanned, scan.panel)
    else:
        scan.width = scan.n_scanned
    scan.fold = X.fold and (scan.path == SMALL or scan.path == FUSED)
    return scan


cdef struct Blocks:
    # The chunks of a pass in blocks of consecutive chunks: a thread's unit
    # of work and, with the update, of the sums added while the rows are in
    # cache (plan_blocks). Blocks are cut from the shape alone, never from
    # the thread count (see N_BLOCKS).
    Py_ssize_t n_chunks
    Py_ssize_t per_block  # chunks per block
    Py_ssize_t n_blocks
    Py_ssize_t size  # float64 values of one block's sums: n_free * (n_features + 1)
    # (n_blocks, size): each block's sums, for free center j n_features sums
    # then the weight. NULL without the update, or when the sums do not fit
    # in SUMS_BUDGET: the update then takes a second pass (weighted_sums).
    double* partial


cdef Py_ssize_t chunks_per_block(Py_ssize_t n_chunks,
                                 Py_ssize_t block_size) noexcept nogil:
    """Chunks in each block of fused sums, or 0 if the sums do not fit."""
    cdef Py_ssize_t n_blocks = min(<Py_ssize_t> N_BLOCKS, n_chunks)
    if n_blocks * block_size * <Py_ssize_t> sizeof(double) > SUMS_BUDGET:
        return 0
    return (n_chunks + n_blocks - 1) // n_blocks


cdef int plan_blocks(Pass job, Py_ssize_t n_samples, int n_features,
                     Blocks* blocks) noexcept nogil:
    """The blocks of a pass: one chunk each without the update (or when the
    sums do not fit), else up to N_BLOCKS, with their sums allocated.
    Returns -1 if memory ran out, else 0. OUT: blocks (its partial for the
    caller to free)."""
    cdef Py_ssize_t fused  # chunks per block of fused sums, 0 if none
    blocks.n_chunks = n_chunks_of(n_samples)
    blocks.size = <Py_ssize_t> (job.n_centers - job.n_fixed) * (n_features + 1)
    fused = chunks_per_block(blocks.n_chunks, blocks.size) if job.update else 0
    blocks.per_block = fused if fused > 0 else 1
    blocks.n_blocks = (blocks.n_chunks + blocks.per_block - 1) // blocks.per_block
    blocks.partial = NULL
    if fused > 0:
        blocks.partial = <double*> malloc(blocks.n_blocks * blocks.size
                                          * sizeof(double))
        if blocks.partial == NULL:
            return -1
    return 0


cdef int prepare_centers(Rows X, Scan scan, const floating* scanned, floating* norms,
                         floating** transposed) noexcept nogil:
    """The scanned centers as scan.path reads them: their squared norms and,
    for SMALL and SAMPLE_MAJOR, a transposed copy (transposed_centers, padded
    to scan.width), for FUSED their panels (iwk_fused_pack); for scan.fold,
    of the centers times the scale (scaled_centers), the norms staying those
    of the centers in the frame (fold_norms). PACKED and CENTER_MAJOR read
    the centers as given.
    Returns -1 if memory ran out, else 0.
    IN: scanned (n_scanned, n_features). OUT: norms (scan.width,),
    *transposed ((n_features, scan.width), for the caller to free; NULL
    where no copy is made).
    """
    cdef:
        int n_features = X.n_features
        floating* folded = NULL
        const floating* dotted = scanned
    transposed[0] = NULL
    if scan.path == PACKED or scan.path == CENTER_MAJOR:
        row_sq_norms(scanned, scan.n_scanned, n_features, norms)
        return 0
    if scan.path == FUSED:
        transposed[0] = <floating*> malloc(max(1, scan.width * n_features)
                                           * sizeof(floating))
        if transposed[0] == NULL:
            return -1
        row_sq_norms(scanned, scan.n_scanned, n_features, norms)
        iwk_fused_pack(scanned, scan.n_scanned, n_features,
                       <floating> (X.scale if scan.fold else 1.0), scan.panel,
                       transposed[0], norms)
        return 0
    if scan.fold:
        folded = scaled_centers(X, scanned, scan.n_scanned, n_features)
        if folded == NULL:
            return -1
        dotted = folded
    transposed[0] = transposed_centers(dotted, scan.n_scanned, n_features, scan.width,
                                       norms)
    if scan.fold:
        fold_norms(X, scanned, scan.n_scanned, n_features, norms)
    free(folded)
    return -1 if transposed[0] == NULL else 0


cdef inline void nearest_in_block(const floating* dots, const floating* norms,
                                  int n_rows, int n_centers, floating* nearest,
                                  Argmin best) noexcept nogil:
    """Per row of a center-major block of -2 <x_i, c_j>, the index j of the
    smallest ||c_j||^2 - 2 <x_i, c_j> (ties: lowest j) and that value.
    IN: dots (n_centers, n_rows), norms (n_centers,). OUT: nearest (n_rows,),
    best (n_rows,).
    """
    start_argmin(nearest, best, n_rows)
    iwk_columns_min(dots, norms, n_centers, n_rows, nearest, best)


cdef inline const floating* scan_chunk(const floating* values, Rows X,
                                       const floating* packed, Scan scan,
                                       const floating* centers, const floating* norms,
                                       Py_ssize_t start, int rows, floating* dots,
                                       floating* frame, floating* nearest,
                                       Argmin best) noexcept nogil:
    """Each row's nearest scanned center, by scan.path: best[i] = the j
    (counted from scan.first) of the smallest ||c_j||^2 - 2 <y_i, c_j>
    (ties: lowest j), nearest[i] that value, for rows start .. start + rows.
    Returns the rows framed in ``frame`` when the chunk was framed whole
    there, for the sums to read, else NULL.
    IN: values, packed (PACKED), centers and norms (the scanned centers as
    prepare_centers gives them). OUT: nearest (rows,), best (rows,).
    INOUT (a thread's scratch): dots (CHUNK_SIZE * n_scanned; GEMM paths),
    frame (frame_buffer).
    """
    cdef const floating* framed = NULL
    if scan.path == PACKED:
        iwk_nearest_packed(packed + start * X.n_features, rows, X.n_features, centers,
                           norms, scan.n_scanned, nearest, best)
    elif scan.path == SMALL or scan.path == FUSED:
        # Framed (or, X.fold, as stored: then not for the sums).
        framed = framed_rows(values, X, start, rows, frame)
        if scan.path == SMALL:
            iwk_nearest_small(framed, rows, X.n_features, centers, norms, nearest, best)
        else:
            iwk_nearest_fused(framed, rows, X.n_features, centers, norms,
                              scan.n_scanned, scan.panel, nearest, best)
        if X.fold:
            framed = NULL
    elif scan.path == SAMPLE_MAJOR:
        chunk_dots(values, X, start, rows, centers, scan.n_scanned, False, dots, frame)
        iwk_row_min(dots, scan.n_scanned, norms, rows, scan.n_scanned, nearest, best)
        if scan.whole_chunks:
            framed = frame
    else:
        chunk_dots(values, X, start, rows, centers, scan.n_scanned, True, dots, frame)
        nearest_in_block(dots, norms, rows, scan.n_scanned, nearest, best)
        if scan.whole_chunks:
            framed = frame
    return framed


cdef inline Py_ssize_t label_chunk(Pass job, Scan scan, Py_ssize_t start, int rows,
                                   Argmin best, const floating* nearest,
                                   floating* fixed_nearest, int* target) noexcept nogil:
    """The labels of rows start .. start + rows from their nearest scanned
    center, as job.scanned says (see Scanned), and each row's target: the
    free center taking its statistics, or -1 (see iwk_labels). Returns how
    many labels changed.
    IN: best, nearest (rows,); job.fixed_label, fixed_nearest for
    FREE_CENTERS. OUT: target (rows,); job.fixed_label, fixed_nearest for
    FIXED_CENTERS. INOUT: job.labels, unless FIXED_CENTERS.
    """
    if job.scanned == FIXED_CENTERS:
        return iwk_labels(best, nearest, rows, scan.first, scan.n_scanned, job.n_fixed,
                          NULL, NULL, fixed_nearest + start, job.fixed_label + start,
                          target)
    if job.scanned == FREE_CENTERS:
        return iwk_labels(best, nearest, rows, scan.first, scan.n_scanned, job.n_fixed,
                          job.fixed_label + start, fixed_nearest + start, NULL,
                          job.labels + start, target)
    return iwk_labels(best, nearest, rows, scan.first, scan.n_scanned, job.n_fixed,
                      NULL, NULL, NULL, job.labels + start, target)


cdef inline void sum_chunk(const floating* values, Rows X, const floating* framed,
                           const floating* w, Py_ssize_t start, int rows,
                           const int* target, double* sums) noexcept nogil:
    """Rows start .. start + rows added to their free centers' statistics:
    sums[target[i]] += w_i [y_i, 1] where target[i] >= 0, y_i the row in
    the frame, in row order.
    Dense rows are read from ``framed`` when the chunk is whole there; rows
    read as stored (X.fold) as stored (the sums are framed once, after: see
    unfold_sums); else each value is framed as it is added: the same values.
    IN: values, framed (rows, n_features; or NULL), w (rows,), target
    (rows,). INOUT: sums (n_free, n_features + 1).
    """
    cdef:
        int i
        double* acc
    if X.indptr == NULL:
        if framed != NULL:
            iwk_accumulate(framed, rows, X.n_features, 1.0, NULL, w, target, sums)
        elif X.fold:
            iwk_accumulate(values + start * X.n_features, rows, X.n_features, 1.0, NULL,
                           w, target, sums)
        else:
            iwk_accumulate(values + start * X.n_features, rows, X.n_features, X.scale,
                           frame_shift(X, values), w, target, sums)
        return
    for i in range(rows):
        if target[i] >= 0:
            acc = sums + target[i] * (X.n_features + 1)
            add_row(acc, w[i], values, X, start + i, 0, X.n_features)
            acc[X.n_features] += w[i]


cdef int finish_update(const floating* values, Rows X,
                       const floating[::1] sample_weight, Pass job, Blocks blocks,
                       int n_threads) noexcept nogil:
    """The statistics of an updating pass from its blocks' sums, added in
    block order (add_blocks; framed for rows read as stored: unfold_sums),
    or, when they did not fit, from a second pass over the rows
    (weighted_sums). Returns -1 if memory ran out, else 0.
    IN: values, sample_weight, job.labels, blocks.partial. OUT: job.sums,
    job.weights.
    """
    cdef int n_free = job.n_centers - job.n_fixed
    if blocks.partial != NULL:
        add_blocks(blocks.partial, blocks.n_blocks, n_free, X.n_features, job.sums,
                   job.weights, n_threads)
        if X.fold:
            unfold_sums(X.scale, job.sums, n_free, X.n_features)
        return 0
    return weighted_sums(values, X, sample_weight, job.labels, job.n_fixed, n_free,
                         job.sums, job.weights, n_threads)


cdef Py_ssize_t assign_and_sum(const floating* values, Rows X, const floating* packed,
                               const floating[::1] sample_weight,
                               const floating* centers, Pass job,
                               floating* fixed_nearest, int n_threads) noexcept nogil:
    """One assignment pass: each sample's nearest center among those
    job.scanned says (ties: lowest index) and, with job.update, the free
    centers' statistics (see Pass), y_i the sample in the frame (see
    _rows.pxd), where the centers are too.

    Per chunk of rows, each thread scans the chunk (scan_chunk), writes its
    labels (label_chunk) and adds its rows to the sums of its block
    (sum_chunk); the blocks are then added in block order (finish_update).

    Returns how many labels changed, or -1 if memory ran out (the outputs
    are then undefined).
    IN: values, packed (X packed for iwk_nearest_packed, see pack_rows, or
    NULL), sample_weight (n_samples,; read for the update only), centers
    (n_centers, n_features). OUT and INOUT: job's arrays (see Pass) and
    fixed_nearest (n_samples,): OUT for FIXED_CENTERS, IN for FREE_CENTERS,
    not read (may be NULL) for ALL_CENTERS.
    """
    cdef:
        int n_features = X.n_features
        Scan scan = plan_scan(X, packed, job)
        Blocks blocks
        const floating* scanned = centers + scan.first * n_features
        floating* norms = <floating*> malloc(scan.width * sizeof(floating))
        floating* transposed = NULL
        Py_ssize_t next_block = 0, changed = 0, mine
        Py_ssize_t* changed_by = NULL  # per thread of the region
        int t
        # Set by any thread whose buffers cannot be allocated (an array:
        # a variable assigned in a parallel block would be thread-private).
        bint failed[1]

    failed[0] = plan_blocks(job, X.n_samples, n_features, &blocks) < 0
    if norms == NULL or prepare_centers(X, scan, scanned, norms, &transposed) < 0:
        failed[0] = True
    if transposed != NULL:
        scanned = transposed  # the centers as the chunk kernels read them
    if failed[0]:
        pass
    elif n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        changed = assign_worker(values, X, packed, sample_weight, scan, scanned, norms,
                                job, blocks, fixed_nearest, &next_block)
        failed[0] = changed < 0
    else:
        changed_by = <Py_ssize_t*> calloc(n_threads, sizeof(Py_ssize_t))
        failed[0] = changed_by == NULL
        if changed_by != NULL:
            with parallel(num_threads=n_threads):
                mine = assign_worker(values, X, packed, sample_weight, scan, scanned,
                                     norms, job, blocks, fixed_nearest, &next_block)
                if mine < 0:
                    failed[0] = True
                else:
                    changed_by[threadid()] = mine
            for t in range(n_threads):
                changed += changed_by[t]
        free(changed_by)
    free(norms)
    free(transposed)

    if not failed[0] and job.update:
        failed[0] = finish_update(values, X, sample_weight, job, blocks, n_threads) < 0
    free(blocks.partial)
    return -1 if failed[0] else changed


cdef Py_ssize_t assign_worker(const floating* values, Rows X, const floating* packed,
                              const floating[::1] sample_weight, Scan scan,
                              const floating* scanned, const floating* norms, Pass job,
                              Blocks blocks, floating* fixed_nearest,
                              Py_ssize_t* next_block) noexcept nogil:
    """One thread's share of assign_and_sum: the blocks it takes from
    next_block (iwk_claim) until none is left, with its own scratch
    buffers. Returns how many labels it changed, or -1 if its buffers could
    not be allocated (it then does nothing). IN: as assign_and_sum, and
    scanned, norms (the scanned centers as prepare_centers gives them).
    OUT: the taken blocks' labels, targets and sums (see Pass, Blocks)."""
    cdef:
        Py_ssize_t block, chunk, start, changed = 0
        int rows
        double* own
        const floating* framed
        bint gemm = scan.path == SAMPLE_MAJOR or scan.path == CENTER_MAJOR
        floating* dots = NULL
        floating* frame = NULL
        floating* nearest = <floating*> malloc(CHUNK_SIZE * sizeof(floating))
        Argmin best = new_argmin(CHUNK_SIZE)
        int* target = <int*> malloc(CHUNK_SIZE * sizeof(int))
        bint ready
    if gemm:
        dots = <floating*> malloc(CHUNK_SIZE * scan.n_scanned * sizeof(floating))
    if scan.path != PACKED:
        frame = frame_buffer(values, X)
    ready = not (nearest == NULL or missing(best) or target == NULL
                 or (gemm and dots == NULL)
                 or (scan.path != PACKED and needs_frame_buffer(X) and frame == NULL))
    block = iwk_claim(next_block) if ready else blocks.n_blocks
    while block < blocks.n_blocks:
        own = NULL
        if blocks.partial != NULL:
            own = blocks.partial + block * blocks.size
            memset(own, 0, blocks.size * sizeof(double))
        for chunk in range(block * blocks.per_block,
                           min((block + 1) * blocks.per_block, blocks.n_chunks)):
            start = chunk * CHUNK_SIZE
            rows = <int> min(<Py_ssize_t> CHUNK_SIZE, X.n_samples - start)
            framed = scan_chunk(values, X, packed, scan, scanned, norms, start,
                                rows, dots, frame, nearest, best)
            changed += label_chunk(job, scan, start, rows, best, nearest,
                                   fixed_nearest, target)
            if own != NULL:
                sum_chunk(values, X, framed, &sample_weight[start], start, rows,
                          target, own)
        block = iwk_claim(next_block)
    free(dots)
    free(frame)
    free(nearest)
    free_argmin(best)
    free(target)
    return changed if ready else -1


cdef void unfold_sums(double scale, double* sums, int n_free,
                      int n_features) noexcept nogil:
    """Sums of w x over dense rows read as stored (Rows.fold) as sums of w y
    in the frame, y = x * scale: a power of two, exact. INOUT: sums (n_free,
    n_features)."""
    cdef Py_ssize_t p
    for p in range(<Py_ssize_t> n_free * n_features):
        sums[p] *= scale


cdef void add_blocks(const double* partial, Py_ssize_t n_blocks, int n_free,
                     int n_features, double* sums, double* weights,
                     int n_threads) noexcept nogil:
    """Add the per-block statistics in block order: each output element is
    owned by one thread, so the order never depends on the thread count.
    IN: partial (n_blocks, n_free, n_features + 1). OUT: sums (n_free,
    n_features), weights (n_free,).
    """
    cdef Py_ssize_t next_center = 0
    # These few adds (n_blocks <= N_BLOCKS) are rarely worth a second thread.
    n_threads = threads_for_work(n_threads, n_blocks * n_free * (n_features + 1))
    if n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        add_blocks_worker(partial, n_blocks, n_free, n_features, sums, weights,
                          &next_center)
    else:
        with parallel(num_threads=n_threads):
            add_blocks_worker(partial, n_blocks, n_free, n_features, sums, weights,
                              &next_center)


cdef void add_blocks_worker(const double* partial, Py_ssize_t n_blocks, int n_free,
                            int n_features, double* sums, double* weights,
                            Py_ssize_t* next_center) noexcept nogil:
    """One thread's share of add_blocks: the free centers it takes from
    next_center (iwk_claim), each added over every block."""
    cdef:
        Py_ssize_t block_size = n_free * (n_features + 1)
        Py_ssize_t block, j = iwk_claim(next_center)
        const double* own
        double* out
        int f
    while j < n_free:
        out = sums + j * n_features
        own = partial + j * (n_features + 1)
        for f in range(n_features):
            out[f] = own[f]
        weights[j] = own[n_features]
        for block in range(1, n_blocks):
            own = partial + block * block_size + j * (n_features + 1)
            for f in range(n_features):
                out[f] += own[f]
            weights[j] += own[n_features]
        j = iwk_claim(next_center)


cdef int weighted_sums(const floating* values, Rows X,
                       const floating[::1] sample_weight, const int* labels,
                       int n_fixed,
                       int n_free, double* sums, double* weights,
                       int n_threads) noexcept nogil:
    """Per free center j: sums[j] = sum of w_i y_i and weights[j] = sum of w_i
    over the samples labelled n_fixed + j, y_i the sample in the frame.
    Accumulated in float64. Returns -1 if memory ran out, else 0.

    Each thread owns a contiguous slice of the features and walks the samples
    in index order, so each total is added in one fixed order. A thread adds
    into a buffer of its own and copies it out at the end: writing straight
    into the shared array would bounce cache lines between the threads.
    A sparse row is read by every thread, each adding the values that fall
    in its slice.
    IN: values, sample_weight, labels (n_samples,). OUT: sums (n_free,
    n_features), weights (n_free,).
    """
    cdef:
        Py_ssize_t n_samples = X.n_samples
        int n_features = X.n_features
        int n_parts = min(n_threads, n_features)
        int part, f_begin, width, j
        Py_ssize_t i
        double w
        double* own
        bint failed[1]  # an array: see assign_and_sum

    failed[0] = False
    memset(weights, 0, n_free * sizeof(double))
    for part in prange(n_parts, schedule="dynamic", num_threads=n_threads):
        f_begin = part * n_features // n_parts
        width = (part + 1) * n_features // n_parts - f_begin
        own = <double*> calloc(max(1, n_free * width), sizeof(double))
        if own == NULL:
            failed[0] = True
            continue
        for i in range(n_samples):
            j = labels[i] - n_fixed
            if j < 0:
                continue
            w = sample_weight[i]
            add_row(own + j * width, w, values, X, i, f_begin, f_begin + width)
            if part == 0:
                weights[j] += w
        for j in range(n_free):
            memcpy(sums + j * n_features + f_begin, own + j * width,
                   width * sizeof(double))
        free(own)
    return -1 if failed[0] else 0


cdef int relocate_empty(const floating* values, Rows X,
                        const floating[::1] sample_weight, const int[::1] labels,
                        const floating* centers, int n_fixed, int n_free, double* sums,
                        double* weights, int n_threads) noexcept nogil:
    """Move each free center that received no weight onto the sample farthest
    (weighted squared distance) from its own center, taking that sample out of
    the sums of the free cluster it came from. Fixed centers are never moved.

    The farthest samples are taken in decreasing distance (ties: lowest
    index) and given to the empty clusters in increasing order. Samples of
    zero weight are never used. Returns the number of empty clusters, or -1
    if memory ran out.
    IN: values, sample_weight, labels (n_samples,), centers (the current
    ones, before the update). INOUT: sums (n_free, n_features), weights
    (n_free,).
    """
    cdef:
        Py_ssize_t n_samples = X.n_samples
        int n_features = X.n_features
        int n_empty = 0, j, source
        Py_ssize_t i, far
        double w, best
        double* distance
        double* norms

    for j in range(n_free):
        if weights[j] == 0:
            n_empty += 1
    if n_empty == 0:
        return 0

    distance = <double*> malloc(n_samples * sizeof(double))
    norms = <double*> malloc((n_fixed + n_free) * sizeof(double))
    if distance == NULL or norms == NULL:
        free(distance)
        free(norms)
        return -1
    sq_norms(centers, n_fixed + n_free, n_features, norms)
    for i in prange(n_samples, schedule="dynamic", chunksize=CHUNK_SIZE,
                   num_threads=n_threads):
        if sample_weight[i] > 0:
            distance[i] = sample_weight[i] * row_sq_distance(
                values, X, i, centers + labels[i] * n_features, norms[labels[i]])
        else:
            distance[i] = -1.0  # never chosen
    free(norms)

    for j in range(n_free):
        if weights[j] != 0:
            continue
        far = -1
        best = -1.0
        for i in range(n_samples):
            if distance[i] > best:
                best = distance[i]
                far = i
        if far < 0:
            break  # no positive-weight sample left: the center stays put
        distance[far] = -1.0
        w = sample_weight[far]
        source = labels[far] - n_fixed
        if source >= 0:
            add_row(sums + source * n_features, -w, values, X, far, 0, n_features)
        memset(sums + j * n_features, 0, n_features * sizeof(double))
        add_row(sums + j * n_features, w, values, X, far, 0, n_features)
        if source >= 0:
            weights[source] -= w
        weights[j] = w
    free(distance)
    return n_empty


cdef double update_free_centers(const double* sums, const double* weights,
                                const floating* old, floating* new,
                                int n_fixed, int n_free,
                                int n_features) noexcept nogil:
    """new[free j] = sums[j] / weights[j] (a free center with no weight keeps
    its place). Returns the total squared shift of the free centers.
    IN: sums (n_free, n_features), weights (n_free,), old (n_fixed + n_free,
    n_features). OUT: new (its free rows; the fixed rows are not touched).
    """
    # The shift is summed in SHIFT_LANES running sums, feature f into sum
    # f % SHIFT_LANES, added pairwise at the end: one running sum made
    # every addition wait for the one before, and with the weight's test
    # inside the loop the divisions were not vectorised either (500 x 64 x
    # 50 float32: 4-5 us per iteration, of about 30). The order is fixed, so
    # the total does not depend on the thread count.
    cdef:
        int j, f, f0, lane
        Py_ssize_t offset
        double w, diff
        double part[SHIFT_LANES]
    for lane in range(SHIFT_LANES):
        part[lane] = 0.0
    for j in range(n_free):
        offset = (n_fixed + j) * n_features
        w = weights[j]
        if w > 0:
            for f in range(n_features):
                new[offset + f] = <floating> (sums[j * n_features + f] / w)
        else:
            for f in range(n_features):
                new[offset + f] = old[offset + f]
        f0 = 0
        while f0 + SHIFT_LANES <= n_features:
            for lane in range(SHIFT_LANES):
                diff = <double> new[offset + f0 + lane] - <double> old[offset + f0 + lane]
                part[lane] += diff * diff
            f0 += SHIFT_LANES
        for f in range(f0, n_features):
            diff = <double> new[offset + f] - <double> old[offset + f]
            part[f - f0] += diff * diff
    return (((part[0] + part[1]) + (part[2] + part[3]))
            + ((part[4] + part[5]) + (part[6] + part[7])))


cdef double weighted_inertia(const floating* values, Rows X,
                             const floating[::1] sample_weight,
                             const floating* centers, int n_centers,
                             const int[::1] labels, int n_threads) noexcept nogil:
    """sum_i w_i ||y_i - c_{labels_i}||^2 in the frame, computed exactly (not
    through the GEMM expansion) and summed per chunk, then over chunks in
    order; -1 if memory ran out. IN: values, sample_weight, centers
    (n_centers, n_features), labels (n_samples,)."""
    cdef:
        Py_ssize_t n_chunks = n_chunks_of(X.n_samples)
        Py_ssize_t chunk, next_chunk = 0
        double total = 0.0
        double* partial = <double*> malloc(n_chunks * sizeof(double))
        double* norms = <double*> malloc(n_centers * sizeof(double))
    if partial == NULL or norms == NULL:
        free(partial)
        free(norms)
        return -1.0
    sq_norms(centers, n_centers, X.n_features, norms)
    if n_threads == 1:  # no parallel region: see iwk_claim (_common.pxd)
        inertia_worker(values, X, sample_weight, centers, norms, labels, partial,
                       &next_chunk)
    else:
        with parallel(num_threads=n_threads):
            inertia_worker(values, X, sample_weight, centers, norms, labels, partial,
                           &next_chunk)
    for chunk in range(n_chunks):
        total += partial[chunk]
    free(partial)
    free(norms)
    return total


cdef void inertia_worker(const floating* values, Rows X,
                         const floating[::1] sample_weight, const floating* centers,
                         const double* norms, const int[::1] labels, double* partial,
                         Py_ssize_t* next_chunk) noexcept nogil:
    """One thread's share of weighted_inertia: partial[chunk] for the chunks
    it takes from next_chunk (iwk_claim)."""
    cdef:
        Py_ssize_t chunk = iwk_claim(next_chunk)
        Py_ssize_t i, end
        double acc
    while chunk < n_chunks_of(X.n_samples):
        acc = 0.0
        end = min((chunk + 1) * CHUNK_SIZE, X.n_samples)
        for i in range(chunk * CHUNK_SIZE, end):
            acc = acc + sample_weight[i] * row_sq_distance(
                values, X, i, centers + labels[i] * X.n_features, norms[labels[i]])
        partial[chunk] = acc
        chunk = iwk_claim(next_chunk)


def lloyd(const floating[::1] values, const int32_t[::1] indices,
          const int32_t[::1] indptr, const floating[::1] shift, double scale,
          int n_features, const floating[::1] sample_weight, floating[:, ::1] centers,
          int n_fixed, int max_iter, double tol, int[::1] labels, int n_threads,
          bint verbose, double weight_scale=1.0,
          const floating[::1] shared_packed=None, int shared_lanes=0):
    """Run weighted Lloyd iterations to convergence, all without the GIL.

    Stops when no label changes (strict convergence) or when the squared
    shift of the free centers is <= tol (already scaled by the caller, in
    the frame); in the latter case the labels are recomputed for the final
    centers. Between iterations it lets Python handle signals: Ctrl-C raises
    KeyboardInterrupt within one iteration, with every buffer freed.

    The samples are either dense, values the row-major (n_samples,
    n_features) array and indices, indptr None, or CSR; shift and scale are
    the frame (see _rows.pxd). Every entry point of the module takes them
    this way. Returns (n_iter, inertia), the inertia in the frame. Raises
    MemoryError if memory runs out. verbose prints the inertia in the user's
    units, for weights that were divided by weight_scale. shared_packed and
    shared_lanes: a packed copy of the samples from _seeding.packed_copy, to
    use instead of making one (None: none given).
    IN: values, indices, indptr, shift, sample_weight (n_samples,).
    INOUT: centers (n_fixed + n_free, n_features, in the frame; rows below
    n_fixed are read, never written). OUT: labels (n_samples,).
    """
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, sample_weight.shape[0],
                         n_features)
        const floating* v = values_of(values)
        int n_centers = centers.shape[0]
        int n_free = n_centers - n_fixed
        int iteration = 0, n_relocated
        bint strict = False
        Py_ssize_t changed
        double center_shift = 0.0, inertia = 0.0
        floating[:, ::1] spare = centers.copy()
        floating* current = &centers[0, 0]
        floating* following = &spare[0, 0]
        floating* swap
        double* sums = NULL
        double* weights = NULL
        floating* fixed_nearest = NULL
        int* fixed_label = NULL
        const floating* packed = NULL
        floating* own_packed = NULL
        # Small dense inputs are read, every iteration, from a packed copy.
        int lanes = packed_lanes(X, floating is double, False)
        # An iteration's pass: the labels, and the free centers' statistics.
        Pass step

    labels[:] = -1
    # The work of an iteration: the fixed centers are scanned once, before
    # the loop, and every iteration scans the free ones.
    cdef int asked = n_threads
    n_threads = useful_threads(asked, X.n_samples, n_free * n_features)
    try:
        sums = <double*> malloc(max(1, n_free * n_features) * sizeof(double))
        weights = <double*> malloc(max(1, n_free) * sizeof(double))
        if sums == NULL or weights == NULL:
            raise MemoryError()
        packed = packed_for(v, X, lanes, shared_packed, shared_lanes, &own_packed)
        if n_fixed > 0:
            fixed_nearest = <floating*> malloc(X.n_samples * sizeof(floating))
            fixed_label = <int*> malloc(X.n_samples * sizeof(int))
            if fixed_nearest == NULL or fixed_label == NULL:
                raise MemoryError()
        step = with_update(labels_pass(n_centers, n_fixed, &labels[0]), sums, weights)
        if n_fixed > 0:
            # Fixed centers never move: each sample's nearest one is found
            # once, and every iteration scans only the free centers.
            step.scanned = FREE_CENTERS
            step.fixed_label = fixed_label
        with nogil:
            if n_fixed > 0:
                if assign_and_sum(v, X, packed, sample_weight, current,
                                  fixed_centers_pass(step), fixed_nearest,
                                  n_threads) < 0:
                    with gil:
                        raise MemoryError()
            for iteration in range(max_iter):
                changed = assign_and_sum(v, X, packed, sample_weight, current, step,
                                         fixed_nearest, n_threads)
                if changed < 0:
                    with gil:
                        raise MemoryError()
                if verbose:
                    inertia = weighted_inertia(v, X, sample_weight, current,
                                               n_centers, labels, n_threads)
                    with gil:
                        print(f"Iteration {iteration}, inertia "
                              f"{inertia / scale / scale * weight_scale}.")
                n_relocated = relocate_empty(v, X, sample_weight, labels, current,
                                             n_fixed, n_free, sums, weights, n_threads)
                if n_relocated < 0:
                    with gil:
                        raise MemoryError()
                if verbose and n_relocated > 0:
                    with gil:
                        print(f"Iteration {iteration}: relocated {n_relocated} empty "
                              f"cluster(s).")
                center_shift = update_free_centers(sums, weights, current, following,
                                                   n_fixed, n_free, n_features)
                swap = current
                current = following
                following = swap
                if changed == 0:
                    strict = True
                    if verbose:
                        with gil:
                            print(f"Converged at iteration {iteration}: strict "
                                  f"convergence.")
                    break
                if center_shift <= tol:
                    if verbose:
                        with gil:
                            print(f"Converged at iteration {iteration}: center shift "
                                  f"{center_shift / scale / scale} within tolerance "
                                  f"{tol / scale / scale}.")
                    break
                with gil:
                    PyErr_CheckSignals()
            if not strict:
                # The labels of the final centers.
                if assign_and_sum(v, X, packed, sample_weight, current,
                                  without_update(step), fixed_nearest, n_threads) < 0:
                    with gil:
                        raise MemoryError()
            inertia = weighted_inertia(v, X, sample_weight, current, n_centers, labels,
                                       n_threads)
            if inertia < 0:
                with gil:
                    raise MemoryError()
            if current != &centers[0, 0]:
                memcpy(&centers[0, 0], current,
                       n_centers * n_features * sizeof(floating))
    finally:
        free(sums)
        free(weights)
        free(fixed_nearest)
        free(fixed_label)
        free(own_packed)
        call_ended(asked, X.n_samples, n_free * n_features)
    return iteration + 1, inertia


def assign(const floating[::1] values, const int32_t[::1] indices,
           const int32_t[::1] indptr, const floating[::1] shift, double scale,
           const floating[:, ::1] centers, int[::1] labels, int n_threads):
    """The index of the nearest of all centers (in the frame), for predict.
    IN: values, indices, indptr, shift, centers. OUT: labels (n_samples,).
    """
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, labels.shape[0],
                         centers.shape[1])
        const floating* v = values_of(values)
        const floating[::1] unread = None  # no statistics, so no weights
        Py_ssize_t changed
    cdef int asked = n_threads
    n_threads = useful_threads(asked, X.n_samples, centers.shape[0] * X.n_features)
    with nogil:
        changed = assign_and_sum(v, X, NULL, unread, &centers[0, 0],
                                 labels_pass(centers.shape[0], 0, &labels[0]), NULL,
                                 n_threads)
    call_ended(asked, X.n_samples, centers.shape[0] * X.n_features)
    if changed < 0:
        raise MemoryError()


def total_inertia(const floating[::1] values, const int32_t[::1] indices,
                  const int32_t[::1] indptr, const floating[::1] shift, double scale,
                  const floating[::1] sample_weight, const floating[:, ::1] centers,
                  const int[::1] labels, int n_threads):
    """Weighted inertia of the samples for the given labels, in the frame,
    for score. IN: values, indices, indptr, shift, sample_weight, centers,
    labels."""
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, sample_weight.shape[0],
                         centers.shape[1])
        const floating* v = values_of(values)
        double total
    cdef int asked = n_threads
    n_threads = useful_threads(asked, X.n_samples, X.n_features)
    with nogil:
        total = weighted_inertia(v, X, sample_weight, &centers[0, 0],
                                 centers.shape[0], labels, n_threads)
    call_ended(asked, X.n_samples, X.n_features)
    if total < 0:
        raise MemoryError()
    return total


def block_step(const floating[::1] values, const int32_t[::1] indices,
               const int32_t[::1] indptr, const floating[::1] shift, double scale,
               const floating[::1] sample_weight, const floating[:, ::1] centers,
               int n_fixed, int[::1] labels, double[:, ::1] sums, double[::1] weights,
               int n_threads):
    """One assignment step over a block of rows and its statistics.

    The building block of mini-batch and distributed updates: partial sums
    of several blocks, added in block order, give the full-data sums.
    Returns the block's inertia, in the frame.
    IN: the block's samples (values, indices, indptr, shift: see
    _rows.pxd), sample_weight, centers (in the frame). OUT: labels (the
    block's rows), sums (n_free, n_features, in the frame), weights
    (n_free,).
    """
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, sample_weight.shape[0],
                         centers.shape[1])
        const floating* v = values_of(values)
        double total = 0.0
        Py_ssize_t changed
    cdef int asked = n_threads
    n_threads = useful_threads(asked, X.n_samples, centers.shape[0] * X.n_features)
    with nogil:
        changed = assign_and_sum(v, X, NULL, sample_weight, &centers[0, 0],
                                 with_update(labels_pass(centers.shape[0], n_fixed,
                                                         &labels[0]),
                                             &sums[0, 0], &weights[0]),
                                 NULL, n_threads)
        if changed >= 0:
            total = weighted_inertia(v, X, sample_weight, &centers[0, 0],
                                     centers.shape[0], labels, n_threads)
    call_ended(asked, X.n_samples, centers.shape[0] * X.n_features)
    if changed < 0 or total < 0:
        raise MemoryError()
    return total


def label_distances(const floating[::1] values, const int32_t[::1] indices,
                    const int32_t[::1] indptr, const floating[::1] shift, double scale,
                    const floating[:, ::1] centers, const int[::1] labels,
                    double[::1] out, int n_threads):
    """out[i] = ||y_i - centers[labels[i]]||^2 in float64, in the frame,
    exactly (not through the GEMM expansion).
    IN: values, indices, indptr, shift, centers (in the frame), labels.
    OUT: out (n_samples,).
    """
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, labels.shape[0],
                         centers.shape[1])
        const floating* v = values_of(values)
        int n_centers = centers.shape[0]
        double* norms = <double*> malloc(max(1, n_centers) * sizeof(double))
        Py_ssize_t i
    if norms == NULL:
        raise MemoryError()
    cdef int asked = n_threads
    n_threads = useful_threads(asked, X.n_samples, X.n_features)
    with nogil:
        sq_norms(&centers[0, 0], n_centers, X.n_features, norms)
        for i in prange(X.n_samples, schedule="dynamic", chunksize=CHUNK_SIZE,
                       num_threads=n_threads):
            out[i] = row_sq_distance(v, X, i, &centers[labels[i], 0], norms[labels[i]])
    call_ended(asked, X.n_samples, X.n_features)
    free(norms)
