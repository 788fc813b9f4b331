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
from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from ._common cimport (CHUNK_SIZE, n_chunks_of, row_sq_norms, sq_norms,
                      transposed_centers, useful_threads)
from ._rows cimport (Rows, add_row, chunk_dots, fold_norms, frame_buffer, frame_rows,
                    framed_rows, fused_lanes, needs_frame_buffer, packed_lanes,
                    packed_rows, row_sq_distance, rows_of, scaled_centers, values_of)


cdef extern from "simd.h":
    void iwk_column_min_float(const float* column, float norm, int32_t index,
                              int n_rows, float* nearest, int32_t* best) noexcept nogil
    void iwk_column_min_double(const double* column, double norm, int64_t index,
                               int n_rows, double* nearest, int64_t* best) noexcept nogil
    int64_t iwk_labels_float(const int32_t* best, const float* nearest, int n_rows,
                             int first, int n_scanned, int n_fixed,
                             const int* fixed_label,
                             const float* fixed_nearest, float* out_nearest,
                             int* labels, int* target) noexcept nogil
    int64_t iwk_labels_double(const int64_t* best, const double* nearest, int n_rows,
                              int first, int n_scanned, int n_fixed,
                              const int* fixed_label,
                              const double* fixed_nearest, double* out_nearest,
                              int* labels, int* target) noexcept nogil
    void iwk_accumulate_float(const float* X, int n_rows, int n_features,
                              double scale, const float* shift, const float* w,
                              const int* target, double* sums) noexcept nogil
    void iwk_accumulate_double(const double* X, int n_rows, int n_features,
                               double scale, const double* shift, const double* w,
                               const int* target, double* sums) noexcept nogil
    void iwk_nearest_small_float(const float* X, int n_rows, int n_features,
                                 const float* centers_t, const float* norms,
                                 float* nearest, int32_t* best) noexcept nogil
    void iwk_nearest_small_double(const double* X, int n_rows, int n_features,
                                  const double* centers_t, const double* norms,
                                  double* nearest, int64_t* best) noexcept nogil
    void iwk_nearest_packed_float(const float* packed, int n_rows, int n_features,
                                  const float* centers, const float* norms,
                                  int n_centers, float* nearest,
                                  int32_t* best) noexcept nogil
    void iwk_nearest_packed_double(const double* packed, int n_rows, int n_features,
                                   const double* centers, const double* norms,
                                   int n_centers, double* nearest,
                                   int64_t* best) noexcept nogil
    void iwk_row_min_float(const float* dots, int stride, const float* norms,
                           int n_rows, int n_centers, float* nearest,
                           int32_t* best) noexcept nogil
    void iwk_row_min_double(const double* dots, int stride, const double* norms,
                            int n_rows, int n_centers, double* nearest,
                            int64_t* best) noexcept nogil


cdef inline void nearest_in_block(const floating* dots, const floating* norms,
                                  int n_rows, int n_centers, floating* nearest,
                                  void* best) noexcept nogil:
    """Per row of a center-major block of -2 <x_i, c_j>, the index j of the
    smallest ||c_j||^2 - 2 <x_i, c_j> (ties: lowest j) and that value.
    dots, norms: in. nearest: out (n_rows,). best: out (n_rows,), int32 for
    float data and int64 for double (the width of the values, see simd.h).
    """
    cdef int i, j
    for i in range(n_rows):
        nearest[i] = INFINITY
    memset(best, 0, n_rows * sizeof(int64_t))
    for j in range(n_centers):
        if floating is float:
            iwk_column_min_float(dots + j * n_rows, norms[j], j, n_rows, nearest,
                                 <int32_t*> best)
        else:
            iwk_column_min_double(dots + j * n_rows, norms[j], j, n_rows, nearest,
                                  <int64_t*> best)


cdef inline void nearest_by_row(const floating* dots, const floating* norms,
                                int n_rows, int n_centers, floating* nearest,
                                void* best) noexcept nogil:
    """nearest_in_block for a sample-major block (dots[i * n_centers + j])."""
    if floating is float:
        iwk_row_min_float(dots, n_centers, norms, n_rows, n_centers, nearest,
                          <int32_t*> best)
    else:
        iwk_row_min_double(dots, n_centers, norms, n_rows, n_centers, nearest,
                           <int64_t*> best)


cdef inline void accumulate(const floating* rows, int n_rows, int n_features,
                            double scale, const floating* shift, const floating* w,
                            const int* target, double* sums) noexcept nogil:
    """iwk_accumulate_* (see simd.h) for X's precision: the statistics of a
    chunk of dense rows, framed as they are added unless shift is NULL."""
    if floating is float:
        iwk_accumulate_float(rows, n_rows, n_features, scale, shift, w, target, sums)
    else:
        iwk_accumulate_double(rows, n_rows, n_features, scale, shift, w, target, sums)


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


cdef Py_ssize_t chunks_per_block(Py_ssize_t n_chunks, Py_ssize_t block_size) noexcept nogil:
    """Chunks in each block of fused sums, or 0 if the sums do not fit."""
    cdef Py_ssize_t n_blocks = min(<Py_ssize_t> N_BLOCKS, n_chunks)
    if n_blocks * block_size * <Py_ssize_t> sizeof(double) > SUMS_BUDGET:
        return 0
    return (n_chunks + n_blocks - 1) // n_blocks


cdef Py_ssize_t assign_and_sum(const floating* values, Rows X, const floating* packed,
                               const floating[::1] sample_weight,
                               const floating* centers, int n_centers, int n_fixed,
                               int* labels, double* sums, double* weights,
                               const floating* fixed_nearest, const int* fixed_label,
                               floating* out_nearest, int n_threads) noexcept nogil:
    """Set labels[i] to the index of the nearest center (ties: lowest index)
    and, unless sums is NULL, the statistics of the free centers: for free
    center j, sums[j] = sum of w_i y_i and weights[j] = sum of w_i over its
    samples, in float64, y_i the sample in the frame (see _rows.pxd), where
    the centers are too.

    Fixed centers never move, so a Lloyd loop finds each sample's nearest
    fixed center once (see nearest_fixed) and passes it as fixed_label, with
    its ||c||^2 - 2 <y, c> as fixed_nearest; only the free centers are then
    scanned. With both NULL, all centers are scanned.

    values, X, sample_weight, centers (n_centers, n_features): in.
    packed: X packed for iwk_nearest_packed_* (see packed_rows), or NULL.
    labels: in-out. sums (n_centers - n_fixed, n_features), weights: out, or both NULL.
    fixed_nearest, fixed_label (n_samples,): in, or both NULL.
    out_nearest (n_samples,): out, the ||c||^2 - 2 <y, c> of the chosen
    center among those scanned, or NULL. Returns how many labels changed, or
    -1 if memory ran out (the outputs are then undefined).
    """
    cdef:
        Py_ssize_t n_samples = X.n_samples
        int n_features = X.n_features
        int n_free = n_centers - n_fixed
        # Centers scanned per chunk: all, or the free ones after the fixed.
        int first = n_fixed if fixed_label != NULL else 0
        int n_scanned = n_centers - first
        const floating* scanned = centers + first * n_features
        Py_ssize_t n_chunks = n_chunks_of(n_samples)
        Py_ssize_t block_size = n_free * (n_features + 1)
        Py_ssize_t per_block = 1, n_blocks, block, chunk, start, i, changed = 0
        int rows
        # Set by any thread whose buffers cannot be allocated (an array:
        # a variable assigned in a parallel block would be thread-private).
        bint failed[1]
        double w
        double* partial = NULL
        double* own
        double* acc
        floating* dots
        floating* frame
        const floating* framed
        floating* nearest
        void* best
        int* target
        # Without a packed copy, dense rows and centers that fit in one
        # vector take the fused kernel, the rest GEMM and a scan.
        int lanes = fused_lanes(X, n_scanned, floating is double, packed != NULL)
        bint small = lanes > 0
        # A chunk framed whole can be added to the sums from the buffer.
        bint whole_chunks = frame_rows(X, sizeof(floating)) == CHUNK_SIZE
        floating* norms = <floating*> malloc(max(n_scanned, lanes) * sizeof(floating))
        floating* scanned_t = NULL
        bint sample_major = packed == NULL and not small and (
            X.indptr != NULL or n_scanned <= SAMPLE_MAJOR_MAX_CENTERS)
        # Rows read as stored (see _rows.pxd, Rows.fold) take the scale
        # through GEMM's alpha (chunk_dots); only the fused kernel needs a
        # copy of the centers times the scale. A packed copy is framed already.
        bint fold = X.fold and packed == NULL and small
        floating* folded = NULL
        const floating* dotted = scanned

    failed[0] = False
    if sums != NULL:
        per_block = chunks_per_block(n_chunks, block_size)
        if per_block > 0:
            n_blocks = (n_chunks + per_block - 1) // per_block
            partial = <double*> malloc(n_blocks * block_size * sizeof(double))
            failed[0] = partial == NULL
        else:
            per_block = 1
    n_blocks = (n_chunks + per_block - 1) // per_block

    if fold:
        folded = scaled_centers(X, scanned, n_scanned, n_features)
        failed[0] = failed[0] or folded == NULL
        if folded != NULL:
            dotted = folded
    if small or sample_major:
        scanned_t = transposed_centers(dotted, n_scanned, n_features,
                                       lanes if small else n_scanned, norms)
        failed[0] = failed[0] or scanned_t == NULL
        if fold and norms != NULL:
            fold_norms(X, scanned, n_scanned, n_features, norms)
    elif norms != NULL:
        row_sq_norms(scanned, n_scanned, n_features, norms)
    failed[0] = failed[0] or norms == NULL
    if failed[0]:
        n_blocks = 0  # no work; the allocations are freed below
    dots = NULL  # each thread allocates its own buffers below
    frame = NULL
    nearest = NULL
    best = NULL
    target = NULL
    with parallel(num_threads=n_threads):
        if packed == NULL and not small:
            dots = <floating*> malloc(CHUNK_SIZE * n_scanned * sizeof(floating))
        if packed == NULL:
            frame = <floating*> frame_buffer(X, sizeof(floating))
        nearest = <floating*> malloc(CHUNK_SIZE * sizeof(floating))
        best = malloc(CHUNK_SIZE * sizeof(int64_t))
        target = <int*> malloc(CHUNK_SIZE * sizeof(int))
        if (nearest == NULL or best == NULL or target == NULL
                or (packed == NULL and not small and dots == NULL)
                or (packed == NULL and needs_frame_buffer(X) and frame == NULL)):
            failed[0] = True
        for block in prange(n_blocks, schedule="static"):
            if failed[0]:
                continue  # memory ran out in some thread: the result is dropped
            own = NULL
            if partial != NULL:
                own = partial + block * block_size
                memset(own, 0, block_size * sizeof(double))
            for chunk in range(block * per_block, min((block + 1) * per_block, n_chunks)):
                start = chunk * CHUNK_SIZE
                rows = <int> min(<Py_ssize_t> CHUNK_SIZE, n_samples - start)
                framed = NULL
                if packed != NULL:
                    if floating is float:
                        iwk_nearest_packed_float(packed + start * n_features, rows,
                                                 n_features, scanned, norms, n_scanned,
                                                 nearest, <int32_t*> best)
                    else:
                        iwk_nearest_packed_double(packed + start * n_features, rows,
                                                  n_features, scanned, norms, n_scanned,
                                                  nearest, <int64_t*> best)
                elif small:
                    # Framed (or, X.fold, as stored: then not for the sums).
                    framed = framed_rows(values, X, start, rows, frame)
                    if floating is float:
                        iwk_nearest_small_float(framed, rows, n_features, scanned_t,
                                                norms, nearest, <int32_t*> best)
                    else:
                        iwk_nearest_small_double(framed, rows, n_features, scanned_t,
                                                 norms, nearest, <int64_t*> best)
                    if X.fold:
                        framed = NULL
                elif sample_major:
                    chunk_dots(values, X, start, rows, scanned_t, n_scanned, False,
                               dots, frame)
                    nearest_by_row(dots, norms, rows, n_scanned, nearest, best)
                    if whole_chunks:
                        framed = frame
                else:
                    chunk_dots(values, X, start, rows, scanned, n_scanned, True, dots,
                               frame)
                    nearest_in_block(dots, norms, rows, n_scanned, nearest, best)
                    if whole_chunks:
                        framed = frame
                if floating is float:
                    changed += iwk_labels_float(
                        <int32_t*> best, nearest, rows, first, n_scanned, n_fixed,
                        fixed_label + start if fixed_label != NULL else NULL,
                        fixed_nearest + start if fixed_nearest != NULL else NULL,
                        out_nearest + start if out_nearest != NULL else NULL,
                        labels + start, target)
                else:
                    changed += iwk_labels_double(
                        <int64_t*> best, nearest, rows, first, n_scanned, n_fixed,
                        fixed_label + start if fixed_label != NULL else NULL,
                        fixed_nearest + start if fixed_nearest != NULL else NULL,
                        out_nearest + start if out_nearest != NULL else NULL,
                        labels + start, target)
                if own == NULL:
                    continue
                if X.indptr == NULL:
                    # From the framed chunk if it is whole in the buffer; for
                    # rows read as stored, the rows themselves (the sums are
                    # framed once, after: see unfold_sums); else framing each
                    # value as it is added: the same values.
                    if framed != NULL:
                        accumulate(framed, rows, n_features, 1.0, NULL,
                                   &sample_weight[start], target, own)
                    elif X.fold:
                        accumulate(values + start * n_features, rows, n_features,
                                   1.0, NULL, &sample_weight[start], target, own)
                    else:
                        accumulate(values + start * n_features, rows, n_features,
                                   X.scale, <const floating*> X.shift,
                                   &sample_weight[start], target, own)
                    continue
                for i in range(rows):
                    if target[i] >= 0:
                        w = sample_weight[start + i]
                        acc = own + target[i] * (n_features + 1)
                        add_row(acc, w, values, X, start + i, 0, n_features)
                        acc[n_features] += w
        free(dots)
        free(frame)
        free(nearest)
        free(best)
        free(target)
    free(norms)
    free(scanned_t)
    free(folded)

    if failed[0]:
        free(partial)
        return -1
    if partial != NULL:
        add_blocks(partial, n_blocks, n_free, n_features, sums, weights, n_threads)
        free(partial)
        if X.fold:
            unfold_sums(X.scale, sums, n_free, n_features)
    elif sums != NULL:
        if weighted_sums(values, X, sample_weight, labels, n_fixed, n_free, sums,
                         weights, n_threads) < 0:
            return -1
    return changed


cdef void unfold_sums(double scale, double* sums, int n_free,
                      int n_features) noexcept nogil:
    """Sums of w x over dense rows read as stored (Rows.fold) as sums of w y
    in the frame, y = x * scale: a power of two, exact. sums: in-out."""
    cdef Py_ssize_t p
    for p in range(<Py_ssize_t> n_free * n_features):
        sums[p] *= scale


cdef void add_blocks(const double* partial, Py_ssize_t n_blocks, int n_free,
                     int n_features, double* sums, double* weights,
                     int n_threads) noexcept nogil:
    """Add the per-block statistics in block order: each output element is
    owned by one thread, so the order never depends on the thread count.
    partial (n_blocks, n_free, n_features + 1): in. sums, weights: out.
    """
    cdef:
        Py_ssize_t block_size = n_free * (n_features + 1)
        Py_ssize_t block
        const double* own
        double* out
        int j, f
    for j in prange(n_free, schedule="static", num_threads=n_threads):
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


cdef int weighted_sums(const floating* values, Rows X,
                       const floating[::1] sample_weight, const int* labels, int n_fixed,
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
    values, X, sample_weight, labels: in. sums (n_free, n_features),
    weights: out.
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
    for part in prange(n_parts, schedule="static", num_threads=n_threads):
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
    zero weight are never used. Returns the number of empty clusters.
    values, X, sample_weight, labels, centers (current, before the
    update): in. sums, weights: in-out.
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
    for i in prange(n_samples, schedule="static", num_threads=n_threads):
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
    sums, weights, old: in. new: out (its fixed rows are not touched).
    """
    cdef:
        int j, f
        Py_ssize_t offset
        double diff, shift = 0.0
    for j in range(n_free):
        offset = (n_fixed + j) * n_features
        for f in range(n_features):
            if weights[j] > 0:
                new[offset + f] = <floating> (sums[j * n_features + f] / weights[j])
            else:
                new[offset + f] = old[offset + f]
            diff = <double> new[offset + f] - <double> old[offset + f]
            shift += diff * diff
    return shift


cdef double weighted_inertia(const floating* values, Rows X,
                             const floating[::1] sample_weight,
                             const floating* centers, int n_centers,
                             const int[::1] labels, int n_threads) noexcept nogil:
    """sum_i w_i ||y_i - c_{labels_i}||^2 in the frame, computed exactly (not
    through the GEMM expansion) and summed per chunk, then over chunks in
    order; -1 if memory ran out."""
    cdef:
        Py_ssize_t n_samples = X.n_samples
        int n_features = X.n_features
        Py_ssize_t n_chunks = n_chunks_of(n_samples)
        Py_ssize_t chunk, i, end
        double acc, total = 0.0
        double* partial = <double*> malloc(n_chunks * sizeof(double))
        double* norms = <double*> malloc(n_centers * sizeof(double))
    if partial == NULL or norms == NULL:
        free(partial)
        free(norms)
        return -1.0
    sq_norms(centers, n_centers, n_features, norms)
    for chunk in prange(n_chunks, schedule="static", num_threads=n_threads):
        acc = 0.0
        end = min((chunk + 1) * CHUNK_SIZE, n_samples)
        for i in range(chunk * CHUNK_SIZE, end):
            acc = acc + sample_weight[i] * row_sq_distance(
                values, X, i, centers + labels[i] * n_features, norms[labels[i]])
        partial[chunk] = acc
    for chunk in range(n_chunks):
        total += partial[chunk]
    free(partial)
    free(norms)
    return total


def lloyd(const floating[::1] values, const int32_t[::1] indices,
          const int32_t[::1] indptr, const floating[::1] shift, double scale,
          int n_features, const floating[::1] sample_weight, floating[:, ::1] centers,
          int n_fixed, int max_iter, double tol, int[::1] labels, int n_threads,
          bint verbose, double weight_scale=1.0):
    """Run weighted Lloyd iterations to convergence, all without the GIL.

    Stops when no label changes (strict convergence) or when the squared
    shift of the free centers is <= tol (already scaled by the caller, in
    the frame); in the latter case the labels are recomputed for the final
    centers. Between iterations it lets Python handle signals: Ctrl-C raises
    KeyboardInterrupt within one iteration, with every buffer freed.

    The samples (in) are either dense, values the row-major (n_samples,
    n_features) array and indices, indptr None, or CSR; shift and scale are
    the frame (see _rows.pxd). Every entry point of the module takes them
    this way. sample_weight: in (n_samples,). centers: in-out, in the frame
    (n_fixed + n_free, n_features); rows below n_fixed are read, never
    written. labels: out. Returns (n_iter, inertia), the inertia in the
    frame. Raises MemoryError if memory runs out. verbose prints the inertia
    in the user's units, for weights that were divided by weight_scale.
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
        floating* packed = NULL
        # Small dense inputs are read, every iteration, from a packed copy.
        int lanes = packed_lanes(X, floating is double)

    labels[:] = -1
    n_threads = useful_threads(n_threads, X.n_samples, n_centers * n_features)
    try:
        sums = <double*> malloc(max(1, n_free * n_features) * sizeof(double))
        weights = <double*> malloc(max(1, n_free) * sizeof(double))
        if sums == NULL or weights == NULL:
            raise MemoryError()
        if lanes > 0:
            packed = packed_rows(v, X, lanes)
            if packed == NULL:
                raise MemoryError()
        if n_fixed > 0:
            fixed_nearest = <floating*> malloc(X.n_samples * sizeof(floating))
            fixed_label = <int*> malloc(X.n_samples * sizeof(int))
            if fixed_nearest == NULL or fixed_label == NULL:
                raise MemoryError()
        with nogil:
            if n_fixed > 0:
                # Fixed centers never move: find each sample's nearest one
                # once, so that every iteration scans only the free centers.
                if assign_and_sum(v, X, packed, sample_weight, current, n_fixed,
                                  n_fixed, fixed_label, NULL, NULL, NULL, NULL,
                                  fixed_nearest, n_threads) < 0:
                    with gil:
                        raise MemoryError()
            for iteration in range(max_iter):
                changed = assign_and_sum(v, X, packed, sample_weight, current,
                                         n_centers, n_fixed, &labels[0], sums,
                                         weights, fixed_nearest, fixed_label, NULL,
                                         n_threads)
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
                if assign_and_sum(v, X, packed, sample_weight, current, n_centers,
                                  n_fixed, &labels[0], NULL, NULL, fixed_nearest,
                                  fixed_label, NULL, n_threads) < 0:
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
        free(packed)
    return iteration + 1, inertia


def assign(const floating[::1] values, const int32_t[::1] indices,
           const int32_t[::1] indptr, const floating[::1] shift, double scale,
           const floating[:, ::1] centers, int[::1] labels, int n_threads):
    """labels (out) = index of the nearest of all centers (in the frame), for
    predict."""
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, labels.shape[0],
                         centers.shape[1])
        const floating* v = values_of(values)
        const floating[::1] unread = None  # no statistics, so no weights
        Py_ssize_t changed
    n_threads = useful_threads(n_threads, X.n_samples, centers.shape[0] * X.n_features)
    with nogil:
        changed = assign_and_sum(v, X, NULL, unread, &centers[0, 0], centers.shape[0],
                                 0, &labels[0], NULL, NULL, NULL, NULL, NULL, n_threads)
    if changed < 0:
        raise MemoryError()


def total_inertia(const floating[::1] values, const int32_t[::1] indices,
                  const int32_t[::1] indptr, const floating[::1] shift, double scale,
                  const floating[::1] sample_weight, const floating[:, ::1] centers,
                  const int[::1] labels, int n_threads):
    """Weighted inertia of the samples for the given labels, in the frame,
    for score."""
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, sample_weight.shape[0],
                         centers.shape[1])
        const floating* v = values_of(values)
        double total
    n_threads = useful_threads(n_threads, X.n_samples, X.n_features)
    with nogil:
        total = weighted_inertia(v, X, sample_weight, &centers[0, 0],
                                 centers.shape[0], labels, n_threads)
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
    The block's samples (with the frame, see _rows.pxd), sample_weight,
    centers (in the frame): in. labels (block rows), sums (n_free,
    n_features, in the frame), weights (n_free,): out. Returns the block's
    inertia, in the frame.
    """
    cdef:
        Rows X = rows_of(values, indices, indptr, shift, scale, sample_weight.shape[0],
                         centers.shape[1])
        const floating* v = values_of(values)
        double total = 0.0
        Py_ssize_t changed
    n_threads = useful_threads(n_threads, X.n_samples, centers.shape[0] * X.n_features)
    with nogil:
        changed = assign_and_sum(v, X, NULL, sample_weight, &centers[0, 0],
                                 centers.shape[0], n_fixed, &labels[0], &sums[0, 0],
                                 &weights[0], NULL, NULL, NULL, n_threads)
        if changed >= 0:
            total = weighted_inertia(v, X, sample_weight, &centers[0, 0],
                                     centers.shape[0], labels, n_threads)
    if changed < 0 or total < 0:
        raise MemoryError()
    return total


def label_distances(const floating[::1] values, const int32_t[::1] indices,
                    const int32_t[::1] indptr, const floating[::1] shift, double scale,
                    const floating[:, ::1] centers, const int[::1] labels,
                    double[::1] out, int n_threads):
    """out[i] = ||y_i - centers[labels[i]]||^2 in float64, in the frame,
    exactly (not through the GEMM expansion). The samples (with the frame),
    centers (in the frame), labels: in. out: out.
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
    n_threads = useful_threads(n_threads, X.n_samples, X.n_features)
    with nogil:
        sq_norms(&centers[0, 0], n_centers, X.n_features, norms)
        for i in prange(X.n_samples, schedule="static", num_threads=n_threads):
            out[i] = row_sq_distance(v, X, i, &centers[labels[i], 0], norms[labels[i]])
    free(norms)
