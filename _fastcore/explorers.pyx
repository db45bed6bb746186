# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Move every explorer of every optimization algorithm at once (seed 001 §2.2; SPEC §4).

Explorer i belongs to algorithm owner[i]. One step, for each explorer in array order:
  1. L and ∇L at its position x (function-space landscapes, `models.landscapes.FunctionLandscape`;
     for an expression the values and gradients arrive precomputed by the expression VM);
  2. its niche: inside when the algorithm's niche radius is infinite (G = 1) or |x - birthplace|^2 <= radius^2;
     outside, its move is blind (S = 90°);
  3. the move x += V (cos S · d + sin S · u), d = -∇L / |∇L| the unit descent direction, u a unit vector
     drawn uniformly on the sphere orthogonal to d (Gaussian z, minus its component z · d = -(z · ∇L) / |∇L|
     along d, normalised);
     where ∇L = 0 there is no descent direction and the move is V z / |z|, uniform on the whole sphere;
  4. one spawn draw: kind 1 if v < p1[a], kind 2 if v < p1[a] + p2[a], else 0 (the model reads kind 1 as a
     general (binary) or scalar offspring, kind 2 as a specific one).

Order of random draws (the references `agents.OptimizationAlgorithm.step` and `models.metaopt.step_numpy`
follow it): explorer 0..n-1; each draws 2 * ceil(d / 2) + 1 uniforms (the Generator's `random()` doubles),
always, whatever its S or niche: pairs (u1, u2) give two normals by Box-Muller,
z = sqrt(-2 ln(1 - u1)) cos(2π u2), sqrt(-2 ln(1 - u1)) sin(2π u2), of which the first d are used; the last
uniform is the spawn draw v.

Speed. Explorers move in blocks of about BLOCK_COORDINATES coordinates, held coordinate-major with one explorer
per vector lane (`lanes.h`): the block's uniforms are drawn, transposed into lanes and made normals (Box-Muller),
its positions transposed in, and then every step (Rastrigin's terms of L and ∇L, the sums |∇L|², z · ∇L, the
niche distance² and |u|², the projection and the move) is a flat loop over lanes, four explorers per
instruction. Each explorer's sums still run term by term in coordinate order, so every number is what one
explorer at a time gives. ln, sin(2π·) and cos(2π·) are `vecmath.h`'s (within 2 ulp), the functions the
Python references call, so kernel and references agree to the bit.

Threads and draws. With numpy's default bit generator (PCG64) the kernel draws its stream inline
(`pcg64.h`, the same numbers as Generator.random()). On `threads` OpenMP threads it splits the explorers into
PARTS_PER_THREAD contiguous ranges per thread, handed to the threads as they come free (a core the host slows
down takes fewer), each range drawing from the stream jumped ahead to its first uniform: every explorer gets
the numbers of the serial order, the results are the same for any thread count, and the Generator ends past
every uniform drawn (a buffered 32-bit draw is kept). Another bit generator is drawn through its
`next_double`, on one thread.
"""
from cython.parallel cimport prange, threadid
from libc.float cimport DBL_MAX
from libc.math cimport M_E, M_PI, exp, fabs, sqrt
from libc.stdint cimport int64_t, int8_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from numpy.random cimport bitgen_t

from _fastcore._bitgen cimport borrow_bitgen
from _fastcore.vecmath cimport os_rastrigin_terms_n, os_sincos_2pi_n

cdef extern from "pcg64.h" nogil:
    ctypedef struct os_pcg64:
        uint64_t state_high, state_low, inc_high, inc_low
    void os_pcg64_fill(os_pcg64* g, double* u, Py_ssize_t count)
    void os_pcg64_advance(os_pcg64* g, uint64_t delta)

cdef extern from "stdlib.h" nogil:
    void* aligned_alloc(size_t alignment, size_t size)

import numpy as np

cdef enum:
    SPHERE = 0
    RASTRIGIN = 1
    ACKLEY = 2
    ROSENBROCK = 3
    WELLS = 4
    GIVEN = 5  # values and gradients computed outside (the expression VM)

cdef double TWO_PI = 2.0 * M_PI
cdef double RASTRIGIN_A = 10.0
cdef double ACKLEY_A = 20.0
cdef double ACKLEY_B = 0.2

KIND_NONE, KIND_FIRST, KIND_SECOND = 0, 1, 2

_threads_started = False


def threads_started():
    """Whether this process moved explorers on more than one OpenMP thread (then `optiscape.scans` does not fork)."""
    return _threads_started


cdef struct Land:
    int code
    Py_ssize_t d
    Py_ssize_t n_wells
    const double* a
    const double* b
    const double* c   # (n_wells, d), row-major
    double bowl


cdef inline bint trigonometric(int code) noexcept nogil:
    """Landscapes built on sin(2πx_k), cos(2πx_k): computed for a whole block of explorers at once."""
    return code == RASTRIGIN or code == ACKLEY


cdef double value_and_gradient(const double* x, const Land* L, double* g, const double* sines,
                               const double* cosines) noexcept nogil:
    """L(x), writing ∇L(x) to g[0:d]; the order of every sum is that of FunctionLandscape.point_value_and_gradient.
    sines, cosines: sin(2πx_k), cos(2πx_k) (`vecmath.h`) if trigonometric(L.code), else unused."""
    cdef Py_ssize_t k, q, d = L.d
    cdef double v = 0.0, s1, s2, r, e1, e2, c1, c2, t, s, r2, diff, e, bq
    cdef const double* cq
    if L.code == SPHERE:
        for k in range(d):
            v = v + x[k] * x[k]
            g[k] = 2.0 * x[k]
    elif L.code == RASTRIGIN:
        v = RASTRIGIN_A * d
        for k in range(d):
            v = v + (x[k] * x[k] - RASTRIGIN_A * cosines[k])
        for k in range(d):
            g[k] = 2.0 * x[k] + (RASTRIGIN_A * TWO_PI) * sines[k]
    elif L.code == ACKLEY:
        s1 = 0.0
        s2 = 0.0
        for k in range(d):
            s1 = s1 + x[k] * x[k]
            s2 = s2 + cosines[k]
        r = sqrt(s1 / d)
        e1 = exp(-ACKLEY_B * r)
        e2 = exp(s2 / d)
        c1 = (ACKLEY_A * ACKLEY_B) * e1 / (d * r) if r > 0 else 0.0
        c2 = e2 * TWO_PI / d
        for k in range(d):
            g[k] = c1 * x[k] + c2 * sines[k]
        v = -ACKLEY_A * e1 - e2 + ACKLEY_A + M_E
    elif L.code == ROSENBROCK:
        for k in range(d):
            g[k] = 0.0
        for k in range(d - 1):
            t = x[k + 1] - x[k] * x[k]
            s = 1.0 - x[k]
            v = v + (100.0 * t * t + s * s)
            g[k] = g[k] + (-400.0 * x[k] * t - 2.0 * s)
            g[k + 1] = g[k + 1] + 200.0 * t
    else:  # WELLS
        for k in range(d):
            g[k] = 0.0
        for q in range(L.n_wells):
            cq = L.c + q * d
            bq = L.b[q]
            r2 = 0.0
            for k in range(d):
                diff = x[k] - cq[k]
                r2 = r2 + diff * diff
            e = L.a[q] * exp(-bq * r2)
            v = v + e
            for k in range(d):
                g[k] = g[k] + e * (-2.0 * bq * (x[k] - cq[k]))
        for k in range(d):
            v = v + L.bowl * x[k] * x[k]
            g[k] = g[k] + 2.0 * L.bowl * x[k]
    return v


cdef object F64 = np.dtype(np.float64), I64 = np.dtype(np.int64), U8 = np.dtype(np.uint8), I8 = np.dtype(np.int8)


cdef int _check(str name, object array, object dtype, int ndim, Py_ssize_t length=-1) except -1:
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D numpy array of {dtype}, got {type(array).__name__}"
                         + (f" of {array.dtype} with {array.ndim} dims" if isinstance(array, np.ndarray) else ""))
    if not array.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array")
    if length >= 0 and array.shape[0] != length:
        raise ValueError(f"{name}: expected {length} rows, got {array.shape[0]}")
    return 0


cdef object _NO_WELLS = np.zeros(1)  # what the well pointers point at when a landscape has no wells
cdef object _NO_GRADIENTS = np.zeros((1, 1))  # and the given gradients, when they are not given


cdef Land _land(landscape, Py_ssize_t d, list keep) except *:
    if landscape.dim != d:
        raise ValueError(f"positions: expected {landscape.dim} columns (the landscape's dimension), got {d}")
    cdef int code = landscape.code
    if not 0 <= code <= 5:
        raise ValueError(f"landscape code: expected 0..5, got {code}")
    wells = landscape.well_a.shape[0] > 0
    cdef const double[::1] a = np.ascontiguousarray(landscape.well_a, dtype=np.float64) if wells else _NO_WELLS
    cdef const double[::1] b = np.ascontiguousarray(landscape.well_b, dtype=np.float64) if wells else _NO_WELLS
    cdef const double[::1] c = np.ascontiguousarray(landscape.well_c, dtype=np.float64).ravel() if wells else _NO_WELLS
    keep.extend([a, b, c])  # the raw pointers below point into these
    cdef Land L
    L.code = code
    L.d = d
    L.n_wells = landscape.well_a.shape[0]
    L.a = &a[0]
    L.b = &b[0]
    L.c = &c[0]
    L.bowl = landscape.bowl
    return L


def evaluate(position, landscape, values, gradients):
    """L and ∇L at every row of `position` (n, d) into `values` (n,) and `gradients` (n, d) (not expressions)."""
    _check("position", position, F64, 2)
    cdef Py_ssize_t n = position.shape[0], d = position.shape[1], i
    _check("values", values, F64, 1, n)
    _check("gradients", gradients, F64, 2, n)
    keep = []
    cdef Land L = _land(landscape, d, keep)
    if L.code == GIVEN:
        raise ValueError("an expression landscape is evaluated by the expression VM, not by this kernel")
    cdef const double[:, ::1] X = position
    cdef double[::1] V = values
    cdef double[:, ::1] G = gradients
    cdef double[::1] sines = np.zeros(d)
    cdef double[::1] cosines = np.zeros(d)
    with nogil:
        for i in range(n):
            if trigonometric(L.code):
                os_sincos_2pi_n(&X[i, 0], &sines[0], &cosines[0], d)
            V[i] = value_and_gradient(&X[i, 0], &L, &G[i, 0], &sines[0], &cosines[0])


cdef struct Step:  # one call's arrays (raw pointers into the checked memoryviews of step_explorers)
    Py_ssize_t d
    Py_ssize_t pairs
    bint given
    const double* GV
    const double* GG
    double* X
    const int64_t* own
    const double* cs
    const double* sn
    const double* V
    const double* B
    const double* R2
    const double* P1
    const double* P2
    double* out_value
    uint8_t* out_inside
    int8_t* out_spawn


cdef extern from "lanes.h" nogil:
    enum: OS_LANE_TILE
    void os_lanes_from_rows(const double* X, Py_ssize_t stride, Py_ssize_t cols, Py_ssize_t count, Py_ssize_t lanes,
                            double* A)
    void os_lanes_from_rows_minus(const double* X, const double* B, const int64_t* owner, Py_ssize_t d,
                                  Py_ssize_t count, Py_ssize_t lanes, double* A, double* D)
    void os_lanes_to_rows(const double* A, Py_ssize_t d, Py_ssize_t count, Py_ssize_t lanes, double* X)
    void os_lanes_sums(const double* T, const double* G, const double* Z, const double* D, Py_ssize_t d,
                       Py_ssize_t lanes, Py_ssize_t width, double* value, double* gn, double* zg, double* r2)
    void os_lanes_orthogonal(double* G, double* Z, const double* gn, const double* zg, Py_ssize_t d,
                             Py_ssize_t lanes, Py_ssize_t width, double* un)
    void os_lanes_move(double* X, const double* G, const double* Z, const double* gn, const double* un,
                       const double* c, const double* s, const double* step, Py_ssize_t d, Py_ssize_t lanes,
                       Py_ssize_t width, int64_t* finite)
    void os_lanes_box_muller(const double* R, Py_ssize_t pairs, Py_ssize_t lanes, Py_ssize_t width, double* Z)
    void os_lanes_niche_spawn(const int64_t* owner, const double* R2, const double* cs, const double* sn,
                              const double* V, const double* p1, const double* p2, const double* r2,
                              const double* draw, Py_ssize_t count, double* c, double* s, double* step,
                              uint8_t* inside, int8_t* kind)


cdef enum:
    BLOCK_COORDINATES = 1024  # a block of explorers (a multiple of OS_LANE_TILE) has about this many coordinates
    PARTS_PER_THREAD = 8  # on more than one thread: ranges of explorers per thread, handed out as threads come free


cdef struct Block:  # one thread's scratch for a block of up to `lanes` explorers (pointers into its work row)
    Py_ssize_t lanes  # a multiple of OS_LANE_TILE; "in lanes": coordinate k of explorer j at [k * lanes + j]
    double* raw      # lanes * (2 pairs + 1): the draws in order (per explorer 2 pairs, then its spawn draw)
    double* R        # the same in lanes: row 2q, 2q + 1 the uniforms of pair q, row 2 pairs the spawn draws
    double* Z        # 2 pairs, in lanes: normals, then their part orthogonal to the descent direction
    double* X        # d, in lanes: positions
    double* D        # d, in lanes: x - birthplace
    double* G        # d, in lanes: gradients, then descent directions
    double* T        # d, in lanes: the terms of L's sum (Rastrigin); ∇L in rows (other landscapes)
    double* SN       # lanes * d, in rows: sin(2πx), cos(2πx) (Ackley)
    double* CS
    double* value    # lanes each: L, |∇L|, z . ∇L, niche distance², |u| (or |z|), and the move's cos, sin, V
    double* gn
    double* zg
    double* r2
    double* un
    double* c
    double* s
    double* step
    int64_t* finite  # lanes: 0 where an explorer's new position is not finite


cdef Py_ssize_t block_layout(Block* W, double* base, Py_ssize_t lanes, Py_ssize_t d, Py_ssize_t pairs) noexcept nogil:
    """Point W's arrays into base (NULL: only measure); returns the doubles used, whole cache lines plus one."""
    cdef Py_ssize_t at = 0, per_explorer = 2 * pairs + 1
    cdef double** arrays[19]
    cdef Py_ssize_t sizes[19]
    cdef int q
    W.lanes = lanes
    arrays[:] = [&W.raw, &W.R, &W.Z, &W.X, &W.D, &W.G, &W.T, &W.SN, &W.CS,
                 &W.value, &W.gn, &W.zg, &W.r2, &W.un, &W.c, &W.s, &W.step, <double**> &W.finite, NULL]
    sizes[:] = [lanes * per_explorer, lanes * per_explorer, 2 * pairs * lanes, d * lanes, d * lanes, d * lanes,
                d * lanes, d * lanes, d * lanes, lanes, lanes, lanes, lanes, lanes, lanes, lanes, lanes, lanes, 0]
    for q in range(18):
        arrays[q][0] = base + at
        at += (sizes[q] + 7) // 8 * 8  # every array on its own cache lines (lanes are 4-double vectors)
    return at + 8


cdef inline Py_ssize_t width_of(Py_ssize_t count) noexcept nogil:
    """The lanes a block of `count` explorers is worked on in: count, up to a multiple of OS_LANE_TILE."""
    return (count + OS_LANE_TILE - 1) // OS_LANE_TILE * OS_LANE_TILE


cdef inline void clear_lanes(double* A, Py_ssize_t rows, Py_ssize_t lanes, Py_ssize_t count) noexcept nogil:
    """A[k * lanes + j] = 0.0 for k < rows and count <= j < width_of(count)."""
    cdef Py_ssize_t k, width = width_of(count)
    for k in range(rows):
        memset(A + k * lanes + count, 0, (width - count) * sizeof(double))


cdef void move_block(Py_ssize_t first, Py_ssize_t count, const Step* S, const Land* L, const Block* W,
                     Py_ssize_t* bad) noexcept nogil:
    """Explorers first .. first + count - 1 step (module docstring), their draws already in W.R (in
    lanes); bad[0] becomes the first of them whose new position is not finite, if it is smaller.
    The same arithmetic, sum by sum in the same order, as one explorer at a time (the references): only the
    block is held coordinate-major, explorers in vector lanes (`lanes.h`), so that each instruction advances
    several explorers' sums."""
    cdef Py_ssize_t j, k, d = S.d, pairs = S.pairs, lanes = W.lanes
    cdef Py_ssize_t width = width_of(count)
    cdef double* X = S.X + first * d
    cdef double* Z = W.Z
    if count < width:  # the lanes past the last explorer that are worked on: zeros, not stale bits
        clear_lanes(W.R, 2 * pairs + 1, lanes, count)
        clear_lanes(W.X, d, lanes, count)
        clear_lanes(W.D, d, lanes, count)
        clear_lanes(W.G, d, lanes, count)
    os_lanes_box_muller(W.R, pairs, lanes, width, Z)  # coordinates 2q and 2q + 1 from pair q
    os_lanes_from_rows_minus(X, S.B, S.own + first, d, count, lanes, W.X, W.D)  # D read where the niche is finite
    # L and ∇L; for Rastrigin, L's terms in T, summed below with the other sums
    if S.given:
        for j in range(count):
            W.value[j] = S.GV[first + j]
        os_lanes_from_rows(S.GG + first * d, d, d, count, lanes, W.G)
    elif L.code == RASTRIGIN:
        if width == lanes:
            os_rastrigin_terms_n(W.X, W.T, W.G, d * lanes)
        else:
            for k in range(d):
                os_rastrigin_terms_n(W.X + k * lanes, W.T + k * lanes, W.G + k * lanes, width)
        for j in range(width):
            W.value[j] = RASTRIGIN_A * d
    else:
        if trigonometric(L.code):
            os_sincos_2pi_n(X, W.SN, W.CS, count * d)
        for j in range(count):
            W.value[j] = value_and_gradient(X + j * d, L, W.T + j * d, W.SN + j * d, W.CS + j * d)
        os_lanes_from_rows(W.T, d, d, count, lanes, W.G)
    # |∇L|², z . ∇L and the niche distance² (and, for Rastrigin, L)
    os_lanes_sums(W.T if L.code == RASTRIGIN and not S.given else NULL, W.G, Z, W.D, d, lanes, width,
                  W.value, W.gn, W.zg, W.r2)
    for j in range(width):
        W.gn[j] = sqrt(W.gn[j])
    # the descent direction d = -∇L / |∇L| (in G) and the orthogonal part u = z - (z . d) d of the normals,
    # z . d = -(z . ∇L) / |∇L|; then |u| (|z| where ∇L = 0)
    os_lanes_orthogonal(W.G, Z, W.gn, W.zg, d, lanes, width, W.un)
    os_lanes_niche_spawn(S.own + first, S.R2, S.cs, S.sn, S.V, S.P1, S.P2, W.r2, W.R + 2 * pairs * lanes, count,
                         W.c, W.s, W.step, S.out_inside + first, S.out_spawn + first)
    # x += V (c d + s u / |u|), or V z / |z| where ∇L = 0; a zero |u| or |z| contributes 0.0
    os_lanes_move(W.X, W.G, Z, W.gn, W.un, W.c, W.s, W.step, d, lanes, width, W.finite)
    os_lanes_to_rows(W.X, d, count, lanes, X)
    for j in range(count):
        if not W.finite[j]:
            bad[0] = min(bad[0], first + j)
            break
    memcpy(S.out_value + first, W.value, count * sizeof(double))


cdef void _pcg64_at(dict state, Py_ssize_t steps, os_pcg64* g) except *:
    """g = numpy's PCG64 `state` (`bit_generator.state`), `steps` draws further along the stream."""
    cdef object s = state["state"]["state"], inc = state["state"]["inc"]
    mask = (1 << 64) - 1
    g.state_high, g.state_low, g.inc_high, g.inc_low = s >> 64, s & mask, inc >> 64, inc & mask
    os_pcg64_advance(g, steps)


cdef inline void fill(bitgen_t* rng, double* u, Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t q
    for q in range(count):
        u[q] = rng.next_double(rng.state)


def step_explorers(position, owner, cos_angle, sin_angle, speed, birthplace, niche_radius2, p_first, p_second,
                   landscape, generator, values, inside, spawn, given_values=None, given_gradients=None,
                   int threads=1):
    """One step of every explorer (see the module docstring), in place.

    position (n, d) float64, moved in place; owner (n,) int64 rows of the per-algorithm arrays: cos_angle,
    sin_angle (cos S and sin S), speed V, niche_radius2 (radius², negative = everywhere), p_first, p_second
    (spawn probabilities per visited point), all (n_algorithms,) float64, and birthplace (n_algorithms, d).
    Outputs (n,): values (L where the explorer stood, float64), inside (its niche, uint8), spawn (kind, int8).
    given_values/given_gradients: L and ∇L at `position` for an expression landscape (code 5).
    threads: OpenMP threads (>= 1); the result is the same for any number.
    Returns the index of the first explorer whose new position is not finite, or -1.
    """
    global _threads_started
    _check("position", position, F64, 2)
    cdef Py_ssize_t n = position.shape[0], d = position.shape[1]
    _check("owner", owner, I64, 1, n)
    _check("birthplace", birthplace, F64, 2)
    cdef Py_ssize_t n_alg = birthplace.shape[0]
    for name, array in (("cos_angle", cos_angle), ("sin_angle", sin_angle), ("speed", speed),
                        ("niche_radius2", niche_radius2), ("p_first", p_first), ("p_second", p_second)):
        _check(name, array, F64, 1, n_alg)
    if birthplace.shape[1] != d:
        raise ValueError(f"birthplace: expected {d} columns, got {birthplace.shape[1]}")
    _check("values", values, F64, 1, n)
    _check("inside", inside, U8, 1, n)
    _check("spawn", spawn, I8, 1, n)
    if threads < 1:
        raise ValueError(f"threads: expected a whole number >= 1, got {threads}")
    keep = []
    cdef Land L = _land(landscape, d, keep)
    cdef bint given = L.code == GIVEN
    if given:
        if given_values is None or given_gradients is None:
            raise ValueError("an expression landscape needs given_values and given_gradients")
        _check("given_values", given_values, F64, 1, n)
        _check("given_gradients", given_gradients, F64, 2, n)
    else:
        given_values, given_gradients = _NO_WELLS, _NO_GRADIENTS
    if n == 0:
        return -1
    cdef const double[::1] GV = given_values
    cdef const double[:, ::1] GG = given_gradients
    cdef double[:, ::1] X = position
    cdef const int64_t[::1] own = owner
    cdef const double[::1] cs = cos_angle
    cdef const double[::1] sn = sin_angle
    cdef const double[::1] V = speed
    cdef const double[:, ::1] B = birthplace
    cdef const double[::1] R2 = niche_radius2
    cdef const double[::1] P1 = p_first
    cdef const double[::1] P2 = p_second
    cdef double[::1] out_value = values
    cdef uint8_t[::1] out_inside = inside
    cdef int8_t[::1] out_spawn = spawn
    cdef Py_ssize_t i, lowest = 0, highest = 0
    with nogil:
        for i in range(n):
            lowest = min(lowest, own[i])
            highest = max(highest, own[i])
    if lowest < 0 or highest >= n_alg:
        raise ValueError(f"owner: expected rows 0..{n_alg - 1}, got {owner.min()}..{owner.max()}")
    cdef Step S
    S.d = d
    S.pairs = (d + 1) // 2
    S.given = given
    S.GV, S.GG, S.X, S.own, S.cs, S.sn = &GV[0], &GG[0, 0], &X[0, 0], &own[0], &cs[0], &sn[0]
    S.V, S.B, S.R2, S.P1, S.P2 = &V[0], &B[0, 0], &R2[0], &P1[0], &P2[0]
    S.out_value, S.out_inside, S.out_spawn = &out_value[0], &out_inside[0], &out_spawn[0]

    cdef Py_ssize_t pairs = S.pairs, block = max(1, BLOCK_COORDINATES // d // OS_LANE_TILE) * OS_LANE_TILE
    bit_generator = generator.bit_generator
    cdef bint inline_stream = type(bit_generator) is np.random.PCG64
    if not inline_stream:
        threads = 1  # a stream that this kernel cannot jump along: one thread draws and moves
    threads = min(threads, n)
    # the explorers in `parts` contiguous ranges, handed to the threads as they come free (a core that the host
    # slows down takes fewer), each range drawing from the stream jumped ahead to its first explorer
    cdef Py_ssize_t parts = 1 if threads == 1 else min(n, PARTS_PER_THREAD * threads), part, lo, hi, first, count, j, k
    # each thread's scratch (Block) on its own cache lines: no line is written by two threads
    cdef Block layout
    cdef Py_ssize_t size = block_layout(&layout, NULL, block, d, pairs), per_explorer = 2 * pairs + 1
    cdef double* work = <double*> aligned_alloc(64, threads * size * sizeof(double))
    cdef Block* blocks = <Block*> malloc(threads * sizeof(Block))
    cdef os_pcg64* streams = <os_pcg64*> malloc(parts * sizeof(os_pcg64))  # per part: its stream
    cdef Py_ssize_t* bad = <Py_ssize_t*> malloc(parts * sizeof(Py_ssize_t))  # per part: its first non-finite row
    cdef os_pcg64 start
    cdef bitgen_t* rng
    cdef Block* W
    try:
        if work == NULL or streams == NULL or blocks == NULL or bad == NULL:
            raise MemoryError(f"explorers: no memory for {threads} threads' {size} doubles of scratch")
        for j in range(threads):
            block_layout(&blocks[j], work + j * size, block, d, pairs)
        if threads > 1:
            _threads_started = True
        rng = borrow_bitgen(generator)
        with bit_generator.lock:
            if inline_stream:
                state = bit_generator.state
                _pcg64_at(state, 0, &start)
            with nogil:
                for part in prange(parts, num_threads=threads, schedule="dynamic", chunksize=1):
                    lo = n * part // parts
                    hi = n * (part + 1) // parts
                    W = &blocks[threadid()]
                    bad[part] = n
                    if inline_stream:  # part p starts at its first explorer's first uniform
                        streams[part] = start
                        os_pcg64_advance(&streams[part], lo * per_explorer)
                    first = lo
                    while first < hi:
                        count = min(block, hi - first)
                        # the block's draws in order (per explorer 2 * pairs, then its spawn draw), then in lanes
                        if inline_stream:
                            os_pcg64_fill(&streams[part], W.raw, count * per_explorer)
                        else:
                            fill(rng, W.raw, count * per_explorer)
                        os_lanes_from_rows(W.raw, per_explorer, per_explorer, count, block, W.R)
                        move_block(first, count, &S, &L, W, &bad[part])
                        first = first + count
            if inline_stream:  # the Generator moves past every uniform drawn (its buffered 32 bits untouched)
                state["state"]["state"] = (int(streams[parts - 1].state_high) << 64) | int(streams[parts - 1].state_low)
                bit_generator.state = state
        for part in range(parts):  # parts are in row order: the first part with a non-finite row has the first
            if bad[part] < n:
                return bad[part]
        return -1
    finally:
        free(work)
        free(streams)
        free(blocks)
        free(bad)
