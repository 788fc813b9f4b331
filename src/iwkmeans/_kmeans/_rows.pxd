# Access to the samples, whether stored dense or as CSR, in the frame.
#
# Every kernel reads its samples through these few functions, so the Lloyd
# and seeding kernels exist once for both storages. They are defined here,
# inline, rather than in a .pyx: a cdef function cimported from another
# module is called through a pointer and cannot be inlined, and some of
# these run once per sample.
#
# The frame: the kernels never compute with a sample x itself but with
# y = x * scale - shift, shift = reference * scale, where the caller picks
# the reference point near the data (dense samples; CSR ones keep the origin,
# their zeros being data) and the power of two scale that brings every |y|
# to at most 1. The expansion ||y||^2 - 2 <y, c> + ||c||^2 then loses no
# precision to data far from the origin (Unix timestamps, raw coordinates in
# float32), no square overflows or underflows whatever the finite values,
# and a power of two changes no decision. Centers are given and returned in
# the frame. y is computed on the fly (per chunk, per row, or when a packed
# copy is made), never stored for the whole of X.
from cython cimport floating
from libc.stdint cimport int32_t
from libc.stdlib cimport malloc
from libc.string cimport memset

from ._common cimport CHUNK_SIZE, fused_width, minus_two_dots, row_sq_norms
from ._dispatch cimport iwk_add_scaled, iwk_frame, iwk_small_lanes, iwk_sq_distance


# The frame's shift, n_features values of X's type (see Rows.shift). A
# struct cannot hold a fused type, so Rows holds the pointer under both of
# its possible types; rows_of sets the member of the values' type, and
# frame_shift, the one reader, takes that same member.
cdef union Shift:
    const float* of_float
    const double* of_double


cdef struct Rows:
    # The values live in a separate floating* argument: a struct cannot hold
    # a fused type. Dense: indptr is NULL and values is the row-major
    # (n_samples, n_features) array. CSR: values, indices and indptr as in
    # scipy.sparse.csr_array (column indices within a row in any order).
    Py_ssize_t n_samples
    int n_features
    const int32_t* indices
    const int32_t* indptr
    # The frame (see above): y = x * scale - shift[f], computed in X's
    # precision, shift holding n_features values of X's type (read with
    # frame_shift); NULL for CSR rows (y = x * scale).
    double scale
    Shift shift
    # Dense rows of a frame that is a pure scale (shift all zero: the caller
    # measures data around the origin from the origin itself, see
    # iwkmeans._core._frame) are read as stored by the dot products: the
    # scale goes into the centers instead (see scaled_centers), which costs
    # nothing per row and, a power of two, changes no rounding.
    bint fold


cdef inline const floating* frame_shift(Rows X, const floating* like) noexcept nogil:
    """X's shift, n_features values of the type of ``like`` (a pointer to X's
    values, or to one value: it is never read, it only names the type); NULL
    for CSR rows."""
    if floating is float:
        return X.shift.of_float
    else:
        return X.shift.of_double


cdef enum:
    # Rows are read as stored (Rows.fold) only for scales within 2**-E ..
    # 2**E: the centers times the scale then stay far from overflow (centers
    # in the frame are at most 2**53 or 2**501, see iwkmeans._core._frame)
    # and from the denormal range.
    FOLD_SCALE_EXP_FLOAT = 40
    FOLD_SCALE_EXP_DOUBLE = 400


cdef inline Rows rows_of(const floating[::1] values, const int32_t[::1] indices,
                         const int32_t[::1] indptr, const floating[::1] shift,
                         double scale, Py_ssize_t n_samples, int n_features):
    """The Rows of dense values (indices and indptr None, shift of
    n_features values) or of a CSR matrix (shift None), in the frame.
    IN: values, indices, indptr, shift (the Rows point into them)."""
    cdef Rows X
    X.n_samples = n_samples
    X.n_features = n_features
    X.indices = NULL
    X.indptr = NULL
    X.scale = scale
    X.shift.of_double = NULL  # either member: they share one pointer
    X.fold = False
    if indptr is not None:
        X.indptr = &indptr[0]
        if indices.shape[0] > 0:
            X.indices = &indices[0]
    elif n_features > 0:
        if floating is float:
            X.shift.of_float = &shift[0]
        else:
            X.shift.of_double = &shift[0]
        X.fold = foldable(shift, scale, floating is double)
    return X


cdef inline bint foldable(const floating[::1] shift, double scale,
                          bint is_double) noexcept nogil:
    """Whether dense rows of this frame can be read as stored (see Rows.fold):
    no shift, and a scale far enough from the ends of the range that the
    scaled centers neither overflow nor lose bits to underflow
    (FOLD_SCALE_EXP). IN: shift."""
    cdef:
        int f
        double limit = 2.0 ** (FOLD_SCALE_EXP_DOUBLE if is_double
                               else FOLD_SCALE_EXP_FLOAT)
    if not (1.0 / limit <= scale <= limit):
        return False
    for f in range(shift.shape[0]):
        if shift[f] != 0:
            return False
    return True


cdef inline floating* scaled_centers(Rows X, const floating* centers, int n_centers,
                                     int n_features) noexcept nogil:
    """For rows read as stored (X.fold), a new array (for the caller to free;
    NULL if memory runs out) of the centers times the scale: <x, scale c> =
    <x * scale, c>, exactly, a power of two. IN: centers (n_centers,
    n_features)."""
    cdef:
        Py_ssize_t p, size = <Py_ssize_t> n_centers * n_features
        floating scale = <floating> X.scale
        floating* out = <floating*> malloc(max(1, size) * sizeof(floating))
    if out != NULL:
        for p in range(size):
            out[p] = centers[p] * scale
    return out


cdef inline void fold_norms(Rows X, const floating* centers, int n_centers,
                            int n_features, floating* norms) noexcept nogil:
    """norms[j] = ||c_j||^2 of the centers in the frame, not of their
    scaled copies (see scaled_centers) that the dot products with rows read
    as stored take: ||c||^2 - 2 <y, c> = norms - 2 <x, scale c> for
    y = x * scale. IN: centers (n_centers, n_features, in the frame). OUT:
    norms (n_centers,)."""
    row_sq_norms(centers, n_centers, n_features, norms)


cdef enum:
    # Dense rows are framed (see above) into a buffer of each thread before
    # a GEMM or a fused kernel reads them: a whole chunk when it takes at
    # most this many bytes, else fewer rows at a time (wide data).
    FRAME_BUDGET = 256 * 1024


cdef inline int frame_rows(Rows X, Py_ssize_t itemsize) noexcept nogil:
    """Rows framed at once (see FRAME_BUDGET): from 1 to CHUNK_SIZE; 0 for
    CSR rows, which are framed where they are read, and for rows read as
    stored (X.fold)."""
    if X.indptr != NULL or X.fold:
        return 0
    return <int> max(1, min(<Py_ssize_t> CHUNK_SIZE,
                            FRAME_BUDGET // max(1, X.n_features * itemsize)))


cdef inline floating* frame_buffer(const floating* values, Rows X) noexcept nogil:
    """A thread's buffer for frame_rows(X) framed rows, of the type of
    ``values`` (which is not read: it only names the type), for the caller
    to free; NULL when none is needed (CSR rows, X.fold: see
    needs_frame_buffer) or memory runs out."""
    cdef int rows = frame_rows(X, sizeof(floating))
    if rows == 0:
        return NULL
    return <floating*> malloc(rows * X.n_features * sizeof(floating))


cdef inline bint needs_frame_buffer(Rows X) noexcept nogil:
    """Whether chunk_dots and the fused kernels frame dense rows into a
    buffer (frame_buffer) before reading them."""
    return X.indptr == NULL and not X.fold


cdef inline const floating* framed_rows(const floating* values, Rows X,
                                        Py_ssize_t start, int n_rows,
                                        floating* out) noexcept nogil:
    """Dense rows start .. start + n_rows in the frame; returns out, or, for
    rows read as stored (X.fold), the rows themselves (out is not used).
    IN: values. OUT: out (n_rows, n_features)."""
    if X.fold:
        return values + start * X.n_features
    iwk_frame(values + start * X.n_features, n_rows, X.n_features, X.scale,
              frame_shift(X, values), out)
    return out


cdef inline floating framed_value(floating x, Rows X, int f) noexcept nogil:
    """Feature f of a sample, of value x, in the frame (y = x * scale -
    shift[f] in x's precision, as iwk_frame computes it)."""
    cdef const floating* shift = frame_shift(X, &x)
    if shift == NULL:
        return x * <floating> X.scale
    return x * <floating> X.scale - shift[f]


cdef inline bint fused_reads(Rows X, bint is_double, bint packed) noexcept nogil:
    """Whether the fused kernels (simd.h's *_small_* and simd_fused.h's
    tile) can read these rows: dense rows without a packed copy (which the
    *_packed_* kernels read instead), framed a whole chunk at a time (see
    frame_rows) or read as stored."""
    if X.indptr != NULL or packed:
        return False
    return X.fold or frame_rows(X, 8 if is_double else 4) >= CHUNK_SIZE


cdef inline int fused_lanes(Rows X, int n_centers, bint is_double,
                            bint packed) noexcept nogil:
    """Lanes of the fused *_small_* kernels of simd.h where they serve these
    rows (fused_reads) and this many centers (at most one vector, a CPU
    with AVX-512), else 0."""
    cdef int lanes = iwk_small_lanes(is_double)
    if n_centers > lanes or not fused_reads(X, is_double, packed):
        return 0
    return lanes


cdef enum:
    # The fused tile (simd_fused.h) serves rows of up to this many features;
    # beyond, a tile's rows and a panel of centers no longer stay in cache.
    # Measured faster than GEMM and its argmin up to 2048 (AMD EPYC).
    FUSED_MAX_FEATURES = 2048


cdef inline int fused_panel(Rows X, int width, bint is_double,
                            bint packed) noexcept nogil:
    """Centers per panel of a fused tile, ``width`` (fused_width: AVX2's
    tile of simd_fused.h, which k-means++ takes on CPUs with AVX2 and FMA
    but not AVX-512; lloyd_fused_width: Lloyd's, AVX-512's tile where the
    CPU has it, else AVX2's), where it serves these rows (fused_reads, at
    most FUSED_MAX_FEATURES features); else 0."""
    if X.n_features > FUSED_MAX_FEATURES or not fused_reads(X, is_double, packed):
        return 0
    return width


cdef enum:
    # Dense samples are copied feature-major for the packed kernels of
    # simd.h when the copy takes at most this many bytes: it is memory the
    # caller did not ask for, and active-learning pools fit it easily.
    PACKED_BUDGET = 4 * 1024 * 1024
    # The most rows in a block of the copy (packed_lanes): one AVX-512
    # vector of float32.
    PACKED_MAX_LANES = 16


cdef inline int packed_lanes(Rows X, bint is_double, bint seeding) noexcept nogil:
    """Rows per block of the packed copy of X (see pack_rows), 0 if there
    is none: sparse rows, no packed kernel for the CPU, or a copy over
    PACKED_BUDGET. AVX-512 CPUs have packed kernels for Lloyd and k-means++
    (one vector of rows: 16 float, 8 double); AVX2 ones with FMA
    (fused_width) for k-means++ only (8, 4), Lloyd's fused tile reading the
    rows where they are."""
    cdef:
        int lanes = iwk_small_lanes(is_double)
        Py_ssize_t n_padded
    if lanes == 0 and seeding:
        lanes = fused_width(is_double) // 2
    if X.indptr != NULL or lanes == 0:
        return 0
    n_padded = (X.n_samples + lanes - 1) // lanes * lanes
    if n_padded * X.n_features * (8 if is_double else 4) > PACKED_BUDGET:
        return 0
    return lanes


cdef inline Py_ssize_t packed_size(Rows X, int lanes) noexcept nogil:
    """Values in the packed copy of X with blocks of ``lanes`` rows."""
    return (X.n_samples + lanes - 1) // lanes * lanes * X.n_features


cdef inline void pack_rows(const floating* values, Rows X, int lanes,
                           floating* packed) noexcept nogil:
    """X (dense) copied feature-major in blocks of ``lanes`` rows, in the
    frame, zero past the last row, as the iwk_*_packed_* kernels read it.
    IN: values. OUT: packed (packed_size(X, lanes))."""
    # Block by block, each feature's lanes written in a row (and only the
    # last block's padding zeroed): 7 us instead of 12 for 500 x 64 float32
    # row by row into a zeroed copy (AVX-512 Xeon, a C copy of both loops).
    cdef:
        Py_ssize_t n_blocks = (X.n_samples + lanes - 1) // lanes
        Py_ssize_t block
        int f, lane, rows
        const floating* rows_in
        floating* out
    for block in range(n_blocks):
        rows = <int> min(<Py_ssize_t> lanes, X.n_samples - block * lanes)
        rows_in = values + block * lanes * X.n_features
        out = packed + block * lanes * X.n_features
        for f in range(X.n_features):
            for lane in range(rows):
                out[f * lanes + lane] = framed_value(rows_in[lane * X.n_features + f], X, f)
            for lane in range(rows, lanes):
                out[f * lanes + lane] = 0


cdef inline void packed_sq_norms(const floating* packed, Rows X, int lanes,
                                 floating* out) noexcept nogil:
    """out[i] = ||y_i||^2 from X's packed copy: row_sq_norm's sum, in its
    order (feature by feature, in X's precision), for a vector of rows at
    once: row by row, each addition waits for the one before (500 x 64
    float32 on the Xeon: a k-means++ call 6.5 us faster), where the lanes
    of a block are independent sums. IN: packed (packed_size(X, lanes)).
    OUT: out (n_samples,)."""
    cdef:
        Py_ssize_t block, n_blocks = (X.n_samples + lanes - 1) // lanes
        int f, lane, rows
        const floating* b
        floating y
        floating acc[PACKED_MAX_LANES]
    for block in range(n_blocks):
        b = packed + block * lanes * X.n_features
        for lane in range(lanes):
            acc[lane] = 0
        for f in range(X.n_features):
            for lane in range(lanes):
                y = b[f * lanes + lane]
                acc[lane] += y * y
        rows = <int> min(<Py_ssize_t> lanes, X.n_samples - block * lanes)
        for lane in range(rows):
            out[block * lanes + lane] = acc[lane]


cdef inline const floating* packed_for(const floating* values, Rows X, int lanes,
                                       const floating[::1] shared, int shared_lanes,
                                       floating** own) except? NULL:
    """X's packed copy with blocks of ``lanes`` rows, NULL if lanes is 0:
    ``shared`` when its blocks have as many rows (a copy of these rows in
    this frame that the caller made once for several kernel calls, see
    _seeding.packed_copy), else a new one in own[0], for the caller to free.
    Raises ValueError if shared has these blocks but not X's size, and
    MemoryError. IN: values, shared (or None)."""
    own[0] = NULL
    if lanes == 0:
        return NULL
    if shared is not None and shared_lanes == lanes:
        if shared.shape[0] != packed_size(X, lanes):
            raise ValueError(
                f"the shared packed copy holds {shared.shape[0]} values; X's "
                f"copy in blocks of {lanes} rows holds {packed_size(X, lanes)}.")
        return &shared[0]
    own[0] = <floating*> malloc(packed_size(X, lanes) * sizeof(floating))
    if own[0] == NULL:
        raise MemoryError()
    pack_rows(values, X, lanes, own[0])
    return own[0]


cdef inline const floating* values_of(const floating[::1] values):
    """Pointer to the values, NULL when there are none (a CSR of zeros)."""
    return &values[0] if values.shape[0] > 0 else NULL


cdef inline void chunk_dots(const floating* values, Rows X, Py_ssize_t start,
                            int n_rows, const floating* centers, int n_centers,
                            bint center_major, floating* out,
                            floating* frame) noexcept nogil:
    """minus_two_dots (see _common) for rows start .. start + n_rows of X in
    the frame, the centers being in the frame too (rows read as stored,
    X.fold, take the scale through GEMM's alpha).

    Dense rows go through GEMM: as stored (X.fold), or framed into ``frame``
    (a thread's buffer of frame_rows(X) rows), as many at a time as it
    holds. Sparse rows only come sample-major (centers transposed,
    (n_features, n_centers)): each stored value adds a contiguous,
    vectorisable row of the transposed centers, where the center-major order
    would gather one scattered value per center.

    IN: values, centers ((n_centers, n_features) center-major, else
    (n_features, n_centers)). OUT: out (n_rows * n_centers, laid out as
    minus_two_dots says). INOUT: frame (scratch).
    """
    cdef:
        int i, j, done, rows
        int step = frame_rows(X, sizeof(floating))
        Py_ssize_t p
        floating v
        floating* o
        const floating* c
    if X.fold:
        minus_two_dots(values + start * X.n_features, n_rows, X.n_features, centers,
                       n_centers, center_major, out,
                       n_rows if center_major else n_centers, X.scale)
        return
    if X.indptr == NULL:
        done = 0
        while done < n_rows:
            rows = min(step, n_rows - done)
            framed_rows(values, X, start + done, rows, frame)
            if center_major:
                minus_two_dots(frame, rows, X.n_features, centers, n_centers, True,
                               out + done, n_rows)
            else:
                minus_two_dots(frame, rows, X.n_features, centers, n_centers, False,
                               out + done * n_centers, n_centers)
            done += rows
        return
    for i in range(n_rows):
        o = out + i * n_centers
        memset(o, 0, n_centers * sizeof(floating))
        for p in range(X.indptr[start + i], X.indptr[start + i + 1]):
            v = -2 * framed_value(values[p], X, 0)
            c = centers + X.indices[p] * n_centers
            for j in range(n_centers):
                o[j] += v * c[j]


cdef inline floating row_sq_norm(const floating* values, Rows X,
                                 Py_ssize_t i) noexcept nogil:
    """||y_i||^2, y_i the sample in the frame, in X's precision. IN:
    values."""
    cdef:
        Py_ssize_t p
        int f
        floating y, acc = 0
        floating scale = <floating> X.scale
        const floating* shift = frame_shift(X, values)
        const floating* row = values + i * X.n_features
    if X.indptr == NULL:
        for f in range(X.n_features):
            y = row[f] * scale - shift[f]
            acc += y * y
        return acc
    for p in range(X.indptr[i], X.indptr[i + 1]):
        y = framed_value(values[p], X, 0)
        acc += y * y
    return acc


cdef inline double row_sq_distance(const floating* values, Rows X, Py_ssize_t i,
                                   const floating* center,
                                   double center_sq_norm) noexcept nogil:
    """||y_i - center||^2 in float64, y_i the sample in the frame and the
    center in the frame; center_sq_norm = ||center||^2 is read for sparse
    rows only, which then cost their stored values, not n_features.
    IN: values, center (n_features,)."""
    cdef:
        Py_ssize_t p
        double c, diff, acc
    if X.indptr == NULL:
        return iwk_sq_distance(values + i * X.n_features, X.scale,
                               frame_shift(X, values), center, X.n_features)
    acc = center_sq_norm
    for p in range(X.indptr[i], X.indptr[i + 1]):
        c = center[X.indices[p]]
        diff = <double> framed_value(values[p], X, 0) - c
        acc += diff * diff - c * c
    return acc if acc > 0 else 0.0


cdef inline void add_row(double* acc, double w, const floating* values, Rows X,
                         Py_ssize_t i, int f_begin, int f_end) noexcept nogil:
    """acc[f - f_begin] += w * y_i[f] for the features f_begin <= f < f_end,
    y_i the sample in the frame. IN: values. INOUT: acc (f_end -
    f_begin,)."""
    cdef:
        Py_ssize_t p
        int f
    if X.indptr == NULL:
        iwk_add_scaled(acc, w, values + i * X.n_features + f_begin, f_end - f_begin,
                       X.scale, frame_shift(X, values) + f_begin)
        return
    for p in range(X.indptr[i], X.indptr[i + 1]):
        f = X.indices[p]
        if f_begin <= f < f_end:
            acc[f - f_begin] += w * framed_value(values[p], X, 0)


cdef inline void dense_row(const floating* values, Rows X, Py_ssize_t i,
                           floating* out) noexcept nogil:
    """y_i, the sample in the frame. IN: values. OUT: out (n_features,)."""
    cdef:
        Py_ssize_t p
        int f
    if X.indptr == NULL:
        for f in range(X.n_features):
            out[f] = framed_value(values[i * X.n_features + f], X, f)
        return
    memset(out, 0, X.n_features * sizeof(floating))
    for p in range(X.indptr[i], X.indptr[i + 1]):
        out[X.indices[p]] = framed_value(values[p], X, 0)
