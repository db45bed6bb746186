"""Step every SGD walker at once.

The update is dW = -T * mean_{j in batch} g_j(W). The landscape arrives flattened
(see `models.landscapes.Landscape.kernel_arrays`): per-datapoint Gaussian wells
a * exp(-b |W - c|^2) and polynomial terms p(W_axis - centre).

Random streams: walkers come in blocks of BLOCK (walker i in block i // BLOCK), and each block draws from
its own stream (`block_streams`), so that blocks move on any number of threads and give the same numbers.
Order of draws within a block's stream (the pure-Python reference `agents.SGDWalker.step` and the model's
numpy path follow it): step-major, then the block's walkers in row order; a walker that is frozen (escaped,
with stop_at_escape) draws nothing; an SGD walker draws `batch_size` uniforms, the b-th picking
idx[b + floor(u * (n_data - b))] by a partial Fisher-Yates shuffle of 0..n_data-1
(for batch_size 1: j = floor(u * n_data)). GD and fixed-datapoint walkers draw nothing.
"""
from cython.parallel cimport prange, threadid
from libc.math cimport exp, isfinite
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from numpy.random cimport bitgen_t

from _fastcore._bitgen cimport borrow_bitgen

import numpy as np

from _fastcore.arrays import check_array

cdef enum:
    GD = 0
    SGD = 1
    DATAPOINT = 2

cdef enum:
    NO_ESCAPE = 0
    ABOVE = 1
    BELOW = 2
    OUTSIDE_BALL = 3

cdef enum:
    WALKERS_PER_STREAM = 1024  # fixed, whatever the thread count: the streams, and so the numbers, depend on it
    # Fewer walkers than this per thread and a step's parallel region costs more than it saves on a busy host
    # (25,000 walkers for 10,000 steps took 91 s on 2 threads, 14 s on one, with other jobs on both cores).
    WALKERS_PER_THREAD = 65536
    # 256 bytes: CPUs fetch cache lines in 128-byte pairs, so two threads' gradients 8 numbers (72 bytes) apart
    # fought over one pair: 2 threads ran 10^6 walkers slower than one (0.74 against 0.60 s), 0.32 s with this gap.
    SCRATCH_GAP = 32

BLOCK, MIN_WALKERS_PER_THREAD = WALKERS_PER_STREAM, WALKERS_PER_THREAD
METHOD_GD, METHOD_SGD, METHOD_DATAPOINT = GD, SGD, DATAPOINT
ESCAPE_NONE, ESCAPE_ABOVE, ESCAPE_BELOW, ESCAPE_OUTSIDE_BALL = NO_ESCAPE, ABOVE, BELOW, OUTSIDE_BALL


cdef struct Terms:
    # The flattened landscape (see `models.landscapes.Landscape.kernel_arrays`), as raw pointers.
    const int64_t* well_offsets
    const double* well_a
    const double* well_b
    const double* well_c        # (n_wells, d), row-major
    const int64_t* poly_offsets
    const int64_t* poly_axis
    const double* poly_center   # (n_polys, d)
    const double* poly_coef     # (n_polys, width)
    Py_ssize_t width


cdef inline void add_datapoint_gradient(const double* w, Py_ssize_t d, Py_ssize_t j, double* out,
                                        const Terms* t) noexcept nogil:
    """out[0:d] += grad l_j(w), term by term (wells first, then polynomials)."""
    cdef Py_ssize_t q, k, m, k0, k1
    cdef double r2, diff, e, b, x, dp
    cdef const double* c
    cdef const double* coef
    for q in range(t.well_offsets[j], t.well_offsets[j + 1]):
        b = t.well_b[q]
        c = t.well_c + q * d
        r2 = 0.0
        for k in range(d):
            diff = w[k] - c[k]
            r2 = r2 + diff * diff
        e = t.well_a[q] * exp(-b * r2)
        for k in range(d):
            out[k] = out[k] + e * (-2.0 * b * (w[k] - c[k]))
    for q in range(t.poly_offsets[j], t.poly_offsets[j + 1]):
        if t.poly_axis[q] < 0:
            k0 = 0
            k1 = d
        else:
            k0 = t.poly_axis[q]
            k1 = k0 + 1
        coef = t.poly_coef + q * t.width
        for k in range(k0, k1):
            x = w[k] - t.poly_center[q * d + k]
            dp = 0.0
            for m in range(t.width - 1, 0, -1):
                dp = dp * x + m * coef[m]
            out[k] = out[k] + dp


cdef inline bint is_escaped(
    const double* w, Py_ssize_t d, int escape_kind, Py_ssize_t escape_axis, double threshold,
    const double* centre,
) noexcept nogil:
    cdef Py_ssize_t k
    cdef double r2 = 0.0, diff
    if escape_kind == ABOVE:
        return w[escape_axis] > threshold
    if escape_kind == BELOW:
        return w[escape_axis] < threshold
    if escape_kind == OUTSIDE_BALL:
        for k in range(d):
            diff = w[k] - centre[k]
            r2 = r2 + diff * diff
        return r2 > threshold * threshold
    return False


_threads_started = False


def threads_started():
    """Whether this process stepped walkers on more than one OpenMP thread (then `optiscape.scans` does not fork)."""
    return _threads_started


cdef struct Walk:  # one call's settings and arrays (raw pointers into step_walkers' checked arrays)
    Py_ssize_t d
    Py_ssize_t n
    Py_ssize_t n_data
    int method
    Py_ssize_t batch_size
    Py_ssize_t datapoint
    int escape_kind
    Py_ssize_t escape_axis
    double escape_threshold
    bint stop_at_escape
    const double* centre
    const Terms* terms
    double* W
    const double* T
    int64_t* esc


cdef Py_ssize_t step_block(const Walk* walk, Py_ssize_t lo, Py_ssize_t hi, int64_t step, bitgen_t* rng,
                           double* grad, int64_t* idx) noexcept nogil:
    """One step of walkers lo .. hi - 1, drawing from rng (grad: d, idx: n_data scratch); returns the first of
    them whose position became non-finite, or walk.n."""
    cdef Py_ssize_t i, k, b, r, j, n_terms, bad = walk.n, d = walk.d, nd = walk.n_data
    cdef int64_t tmp
    cdef double scale
    cdef double* w
    for i in range(lo, hi):
        if walk.stop_at_escape and walk.esc[i] >= 0:
            continue
        w = walk.W + i * d
        for k in range(d):
            grad[k] = 0.0
        # How many gradients this step averages; one call site below keeps the gradient inlined.
        if walk.method == GD:
            n_terms = nd
        elif walk.method == DATAPOINT:
            n_terms = 1
        else:
            n_terms = walk.batch_size
            if n_terms > 1:
                for j in range(nd):
                    idx[j] = j
        for b in range(n_terms):
            if walk.method == GD:
                j = b
            elif walk.method == DATAPOINT:
                j = walk.datapoint
            elif n_terms == 1:
                j = <Py_ssize_t> (rng.next_double(rng.state) * nd)
                if j >= nd:
                    j = nd - 1
            else:
                r = b + <Py_ssize_t> (rng.next_double(rng.state) * (nd - b))
                if r >= nd:
                    r = nd - 1
                tmp = idx[b]
                idx[b] = idx[r]
                idx[r] = tmp
                j = idx[b]
            add_datapoint_gradient(w, d, j, grad, walk.terms)
        scale = <double> n_terms
        for k in range(d):
            w[k] = w[k] - walk.T[i] * (grad[k] / scale)
            if bad == walk.n and not isfinite(w[k]):
                bad = i
        if walk.esc[i] < 0 and is_escaped(w, d, walk.escape_kind, walk.escape_axis, walk.escape_threshold,
                                          walk.centre):
            walk.esc[i] = step
    return bad


def block_streams(generator, Py_ssize_t n_walkers):
    """The random streams of n_walkers walkers, one Generator per block of BLOCK walkers: PCG64s seeded from
    the children of a SeedSequence built on one draw from `generator`."""
    blocks = (n_walkers + WALKERS_PER_STREAM - 1) // WALKERS_PER_STREAM
    root = np.random.SeedSequence(int(generator.integers(2**63)))
    return [np.random.Generator(np.random.PCG64(child)) for child in root.spawn(blocks)]


def step_walkers(
    position, temperature, escape_step, landscape, streams,
    int method, Py_ssize_t batch_size=1, Py_ssize_t datapoint=0,
    Py_ssize_t n_steps=1, int64_t first_step=1,
    int escape_kind=NO_ESCAPE, Py_ssize_t escape_axis=0, double escape_threshold=0.0,
    escape_centre=None, bint stop_at_escape=False, int threads=1,
):
    """Advance `position` (n, d) in place by `n_steps` SGD steps.

    temperature: (n,) step size T per walker. escape_step: (n,) int64, -1 until the walker
    first enters the escape region, then the step number (first_step for the first step of
    this call). landscape: `Landscape.kernel_arrays()`. streams: `block_streams(..., n)`, walker i
    draws from streams[i // BLOCK]. threads: OpenMP threads (>= 1), at most one per MIN_WALKERS_PER_THREAD
    walkers; the result is the same for any number.
    Returns the index of the first walker whose position became non-finite, or -1.
    """
    global _threads_started
    check_array("position", position, np.float64, 2)
    check_array("temperature", temperature, np.float64, 1)
    check_array("escape_step", escape_step, np.int64, 1)
    cdef Py_ssize_t n_walkers = position.shape[0], dim = position.shape[1]
    if temperature.shape[0] != n_walkers or escape_step.shape[0] != n_walkers:
        raise ValueError(f"temperature and escape_step: expected length {n_walkers} (one per walker), "
                         f"got {temperature.shape[0]} and {escape_step.shape[0]}")
    if landscape.dim != dim:
        raise ValueError(f"position: expected {landscape.dim} columns (the landscape's dimension), got {dim}")
    n_data = landscape.n_data
    if method not in (METHOD_GD, METHOD_SGD, METHOD_DATAPOINT):
        raise ValueError(f"method: expected 0 (GD), 1 (SGD) or 2 (fixed datapoint), got {method}")
    if not 1 <= batch_size <= n_data:
        raise ValueError(f"batch_size: expected 1..{n_data}, got {batch_size}")
    if not 0 <= datapoint < n_data:
        raise ValueError(f"datapoint: expected 0..{n_data - 1}, got {datapoint}")
    if n_steps < 0:
        raise ValueError(f"n_steps: expected >= 0, got {n_steps}")
    if threads < 1:
        raise ValueError(f"threads: expected a whole number >= 1, got {threads}")
    cdef Py_ssize_t blocks = (n_walkers + WALKERS_PER_STREAM - 1) // WALKERS_PER_STREAM
    if len(streams) != blocks:
        raise ValueError(f"streams: expected {blocks} (one per block of {BLOCK} walkers), got {len(streams)}")
    centre = np.zeros(dim) if escape_centre is None else np.ascontiguousarray(escape_centre, dtype=np.float64)
    if centre.shape != (dim,):
        raise ValueError(f"escape_centre: expected shape ({dim},), got {centre.shape}")

    cdef double[:, ::1] W = position
    cdef const double[::1] T = temperature
    cdef int64_t[::1] esc = escape_step
    # Keep the arrays alive (and typed) while the raw pointers in `terms` point into them.
    cdef const int64_t[::1] well_offsets = landscape.well_offsets
    cdef const double[::1] well_a = np.append(landscape.well_a, 0.0)
    cdef const double[::1] well_b = np.append(landscape.well_b, 0.0)
    cdef const double[::1] well_c = np.append(landscape.well_c.ravel(), 0.0)
    cdef const int64_t[::1] poly_offsets = landscape.poly_offsets
    cdef const int64_t[::1] poly_axis = np.append(landscape.poly_axis, 0)
    cdef const double[::1] poly_center = np.append(landscape.poly_center.ravel(), 0.0)
    cdef const double[::1] poly_coef = np.append(landscape.poly_coef.ravel(), 0.0)
    if well_offsets.shape[0] != n_data + 1 or poly_offsets.shape[0] != n_data + 1:
        raise ValueError(f"landscape offsets: expected {n_data + 1} entries (n_data + 1)")
    cdef Terms terms
    terms.well_offsets, terms.well_a, terms.well_b, terms.well_c = &well_offsets[0], &well_a[0], &well_b[0], &well_c[0]
    terms.poly_offsets, terms.poly_axis, terms.poly_center = &poly_offsets[0], &poly_axis[0], &poly_center[0]
    terms.poly_coef, terms.width = &poly_coef[0], landscape.poly_coef.shape[1]
    cdef Walk walk
    walk.d, walk.n, walk.n_data, walk.method, walk.batch_size = dim, n_walkers, n_data, method, batch_size
    walk.datapoint, walk.stop_at_escape = datapoint, stop_at_escape
    walk.escape_kind, walk.escape_axis, walk.escape_threshold = escape_kind, escape_axis, escape_threshold
    cdef const double[::1] ctr = centre
    walk.centre, walk.terms = &ctr[0], &terms
    if n_walkers == 0:
        return -1
    walk.W, walk.T, walk.esc = &W[0, 0], &T[0], &esc[0]
    threads = max(1, min(threads, n_walkers // WALKERS_PER_THREAD))
    # per thread: its gradient and its shuffled datapoint indices, SCRATCH_GAP numbers apart from the next thread's;
    # per block: its stream and its first bad walker
    cdef double[:, ::1] grad = np.zeros((threads, dim + SCRATCH_GAP))
    cdef int64_t[:, ::1] idx = np.zeros((threads, n_data + SCRATCH_GAP), dtype=np.int64)
    cdef Py_ssize_t[::1] bad = np.full(blocks, n_walkers, dtype=np.intp)
    cdef bitgen_t** rngs = <bitgen_t**> malloc(blocks * sizeof(bitgen_t*))
    cdef Py_ssize_t s, b, t, first_bad = n_walkers
    if rngs == NULL:
        raise MemoryError(f"walkers: no memory for {blocks} streams")
    try:
        for b in range(blocks):
            rngs[b] = borrow_bitgen(streams[b])
        if threads > 1:
            _threads_started = True
        with nogil:
            for s in range(n_steps):
                # guided: threads start far apart, not on neighbouring blocks, whose streams' states numpy may have
                # allocated on one cache line (two threads drawing from it would pass it back and forth; 2 threads
                # ran slower than one that way)
                for b in prange(blocks, num_threads=threads, schedule="guided"):
                    t = threadid()
                    bad[b] = step_block(&walk, b * WALKERS_PER_STREAM, min(n_walkers, (b + 1) * WALKERS_PER_STREAM),
                                        first_step + s, rngs[b], &grad[t, 0], &idx[t, 0])
                for b in range(blocks):  # blocks are in row order: their smallest bad walker is the first
                    first_bad = min(first_bad, bad[b])
                if first_bad < n_walkers:
                    break
        return first_bad if first_bad < n_walkers else -1
    finally:
        free(rngs)
