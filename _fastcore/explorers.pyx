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

Speed. Explorers move in blocks of about BLOCK_COORDINATES coordinates: the block's uniforms are drawn, its
normals made (Box-Muller) and, on Rastrigin, its terms of L and ∇L (sin(2πx), cos(2πx)) computed as flat
vectorised loops; then its sums run two explorers at a time, four sums each (eight in flight, each sum still
term by term in coordinate order, so every number is what one explorer at a time gives), and each explorer
moves in one loop of selects. ln, sin(2π·) and cos(2π·) are `vecmath.h`'s (within 2 ulp), the functions the
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
from libc.string cimport memcpy
from numpy.random cimport bitgen_t

from _fastcore._bitgen cimport borrow_bitgen
from _fastcore.vecmath cimport os_box_muller_n, os_rastrigin_terms_n, os_sincos_2pi_n

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


cdef enum:
    BLOCK_COORDINATES = 1024  # a block of explorers has about this many coordinates: its scratch stays in L2
    PARTS_PER_THREAD = 8  # on more than one thread: ranges of explorers per thread, handed out as threads come free


cdef struct Block:  # one part's scratch for a block of up to `rows` explorers (pointers into its work row)
    Py_ssize_t rows
    double* raw      # rows * (2 pairs + 1): the draws in order
    double* u        # rows * pairs: the first uniform of each pair
    double* v        # rows * pairs: the second
    double* spawn    # rows: the spawn draws
    double* Z        # rows * 2 pairs: normals, then their part orthogonal to the descent direction
    double* SN       # rows * d: sin(2πx), cos(2πx) (Ackley)
    double* CS
    double* G        # rows * d: gradients, then descent directions
    double* T        # rows * d: the terms of L's sum (Rastrigin)
    double* D        # rows * d: x - birthplace
    double* sums     # 6 * rows: L, |∇L|, z . ∇L, niche distance², |u| (or |z|), and a sum nobody reads


cdef Py_ssize_t block_layout(Block* W, double* base, Py_ssize_t rows, Py_ssize_t d, Py_ssize_t pairs) noexcept nogil:
    """Point W's arrays into base (NULL: only measure); returns the doubles used, whole cache lines plus one."""
    cdef Py_ssize_t at = 0
    W.rows = rows
    W.raw = base + at
    at += rows * (2 * pairs + 1)
    W.u = base + at
    at += rows * pairs
    W.v = base + at
    at += rows * pairs
    W.spawn = base + at
    at += rows
    W.Z = base + at
    at += rows * 2 * pairs
    W.SN = base + at
    at += rows * d
    W.CS = base + at
    at += rows * d
    W.G = base + at
    at += rows * d
    W.T = base + at
    at += rows * d
    W.D = base + at
    at += rows * d
    W.sums = base + at
    at += 6 * rows
    return (at + 7) // 8 * 8 + 8


cdef void row_dots(const double* A, Py_ssize_t sa, const double* B, Py_ssize_t sb, Py_ssize_t count, Py_ssize_t d,
                   double* out) noexcept nogil:
    """out[j] += A[j, 0] B[j, 0] + ... + A[j, d - 1] B[j, d - 1], product by product in that order, for rows
    j < count of A and B (row strides sa, sb); four rows at a time, so that four sums are in flight."""
    cdef Py_ssize_t j = 0, k
    cdef double a0, a1, a2, a3
    cdef const double* x0
    cdef const double* y0
    while j + 4 <= count:
        x0 = A + j * sa
        y0 = B + j * sb
        a0 = out[j]
        a1 = out[j + 1]
        a2 = out[j + 2]
        a3 = out[j + 3]
        for k in range(d):
            a0 = a0 + x0[k] * y0[k]
            a1 = a1 + x0[sa + k] * y0[sb + k]
            a2 = a2 + x0[2 * sa + k] * y0[2 * sb + k]
            a3 = a3 + x0[3 * sa + k] * y0[3 * sb + k]
        out[j] = a0
        out[j + 1] = a1
        out[j + 2] = a2
        out[j + 3] = a3
        j = j + 4
    while j < count:
        a0 = out[j]
        for k in range(d):
            a0 = a0 + A[j * sa + k] * B[j * sb + k]
        out[j] = a0
        j = j + 1


cdef void block_sums(const double* T, const double* G, const double* Z, Py_ssize_t sz, const double* D,
                     Py_ssize_t count, Py_ssize_t d, double* value, double* gn, double* zg, double* r2) noexcept nogil:
    """For rows j < count (row stride d, Z's sz): value[j] += Σ T[j, k], gn[j] += Σ G[j, k]², zg[j] += Σ Z[j, k] G[j, k],
    r2[j] += Σ D[j, k]², each term by term in k order; two rows at a time, so that eight sums are in flight."""
    cdef Py_ssize_t j = 0, m, k
    cdef double v0, v1, g0, g1, z0, z1, r0, r1, a, b
    while j < count:
        m = j + 1 if j + 1 < count else j  # the partner row; the last row alone is its own partner
        v0, g0, z0, r0 = value[j], gn[j], zg[j], r2[j]
        v1, g1, z1, r1 = value[m], gn[m], zg[m], r2[m]
        for k in range(d):
            a = G[j * d + k]
            b = G[m * d + k]
            v0 = v0 + T[j * d + k]
            v1 = v1 + T[m * d + k]
            g0 = g0 + a * a
            g1 = g1 + b * b
            z0 = z0 + Z[j * sz + k] * a
            z1 = z1 + Z[m * sz + k] * b
            r0 = r0 + D[j * d + k] * D[j * d + k]
            r1 = r1 + D[m * d + k] * D[m * d + k]
        value[m], gn[m], zg[m], r2[m] = v1, g1, z1, r1
        value[j], gn[j], zg[j], r2[j] = v0, g0, z0, r0
        j = j + 2


cdef void move_block(Py_ssize_t first, Py_ssize_t count, const Step* S, const Land* L, const Block* W,
                     Py_ssize_t* bad) noexcept nogil:
    """Explorers first .. first + count - 1 step (module docstring), their draws already in W.u, W.v and
    W.spawn; bad[0] becomes the first of them whose new position is not finite, if it is smaller. The same
    arithmetic, sum by sum in the same order, as one explorer at a time (the references): only the loops are
    arranged so that the compiler vectorises them and sums of different explorers overlap."""
    cdef Py_ssize_t j, k, a, i, d = S.d, p2 = 2 * S.pairs, n = count * d
    cdef double* X = S.X + first * d
    cdef double* x
    cdef double* g
    cdef double* z
    cdef double* G = W.G
    cdef double* D = W.D
    cdef double* value = W.sums
    cdef double* gn = W.sums + W.rows
    cdef double* zg = W.sums + 2 * W.rows
    cdef double* r2 = W.sums + 3 * W.rows
    cdef double* un = W.sums + 4 * W.rows
    cdef double* unread = W.sums + 5 * W.rows
    cdef const double* b
    cdef double proj, norm, c, s, step, v, w
    cdef bint along, across, inside
    cdef int ok
    os_box_muller_n(W.u, W.v, W.Z, count * S.pairs)
    # L and ∇L; for Rastrigin, L's terms in T, summed below with the other sums
    if S.given:
        for j in range(count):
            value[j] = S.GV[first + j]
        memcpy(G, S.GG + first * d, n * sizeof(double))
    elif L.code == RASTRIGIN:
        os_rastrigin_terms_n(X, W.T, G, n)
        for j in range(count):
            value[j] = RASTRIGIN_A * d
    else:
        if trigonometric(L.code):
            os_sincos_2pi_n(X, W.SN, W.CS, n)
        for j in range(count):
            value[j] = value_and_gradient(X + j * d, L, G + j * d, W.SN + j * d, W.CS + j * d)
    # x - birthplace (read where the niche is finite)
    for j in range(count):
        x = X + j * d
        b = S.B + S.own[first + j] * d
        for k in range(d):
            D[j * d + k] = x[k] - b[k]
    # |∇L|², z . ∇L and the niche distance² (and, for Rastrigin, L); elsewhere the first sum, over D, is unread
    for j in range(count):
        gn[j] = 0.0
        zg[j] = 0.0
        r2[j] = 0.0
        un[j] = 0.0
    if L.code == RASTRIGIN and not S.given:
        block_sums(W.T, G, W.Z, p2, D, count, d, value, gn, zg, r2)
    else:
        block_sums(D, G, W.Z, p2, D, count, d, unread, gn, zg, r2)
    for j in range(count):
        gn[j] = sqrt(gn[j])
    # the orthogonal part u = z - (z . d) d of the normals, d = -∇L / |∇L| (kept in G); z . d = -(z . ∇L) / |∇L|
    for j in range(count):
        if gn[j] > 0:
            z = W.Z + j * p2
            g = G + j * d
            norm = gn[j]
            proj = -zg[j] / norm
            for k in range(d):
                g[k] = -g[k] / norm
                z[k] = z[k] - proj * g[k]
    row_dots(W.Z, p2, W.Z, p2, count, d, un)  # |u|², or |z|² where ∇L = 0
    for j in range(count):
        un[j] = sqrt(un[j])
    # x += V (c d + s u / |u|), or V z / |z| where ∇L = 0; a zero |u| or |z| contributes 0.0 (selects, one loop)
    for j in range(count):
        i = first + j
        a = S.own[i]
        x = X + j * d
        z = W.Z + j * p2
        g = G + j * d
        S.out_value[i] = value[j]
        inside = (S.R2[a] < 0) | (r2[j] <= S.R2[a])  # selects, not branches: the niche test is no pattern
        S.out_inside[i] = inside
        c = S.cs[a] if inside else 0.0
        s = S.sn[a] if inside else 1.0
        step = S.V[a]
        norm = un[j]
        along = gn[j] > 0
        across = norm > 0
        ok = 1
        for k in range(d):
            w = z[k] / norm
            w = w if across else 0.0
            v = c * g[k] + s * w
            x[k] = x[k] + step * (v if along else w)
            ok = ok & (fabs(x[k]) <= DBL_MAX)  # an integer AND: vectorised, unlike a branch per coordinate
        if not ok and i < bad[0]:
            bad[0] = i
        v = W.spawn[j]  # kind 1 if v < p1, 2 if p1 <= v < p1 + p2, else 0
        S.out_spawn[i] = (v < S.P1[a]) + 2 * ((v >= S.P1[a]) & (v < S.P1[a] + S.P2[a]))


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

    cdef Py_ssize_t pairs = S.pairs, block = max(1, BLOCK_COORDINATES // d)
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
                        # the block's draws in order (per explorer 2 * pairs, then its spawn draw); then the
                        # pairs' first and second uniforms apart, and the spawn draws
                        if inline_stream:
                            os_pcg64_fill(&streams[part], W.raw, count * per_explorer)
                        else:
                            fill(rng, W.raw, count * per_explorer)
                        for j in range(count):
                            for k in range(pairs):
                                W.u[j * pairs + k] = W.raw[j * per_explorer + 2 * k]
                                W.v[j * pairs + k] = W.raw[j * per_explorer + 2 * k + 1]
                            W.spawn[j] = W.raw[j * per_explorer + 2 * pairs]
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
