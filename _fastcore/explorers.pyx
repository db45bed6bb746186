"""Move every explorer of every optimization algorithm at once.

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

Order of random draws (the references `agents.OptimizationAlgorithm.step` and `models.metaopt.model.step_numpy`
follow it): explorer 0..n-1; each draws 2 * ceil(d / 2) + 1 uniforms (the Generator's `random()` doubles),
always, whatever its S or niche: pairs (u1, u2) give two normals by Box-Muller,
z = sqrt(-2 ln(1 - u1)) cos(2π u2), sqrt(-2 ln(1 - u1)) sin(2π u2), of which the first d are used; the last
uniform is the spawn draw v.

Speed. Explorers move in blocks of about BLOCK_COORDINATES coordinates: the block's uniforms are drawn, its
normals made (Box-Muller) and, for Rastrigin and Ackley, its sin(2πx) and cos(2πx) computed, each as one loop
over the whole block, which the compiler vectorises where the ISA rounds in vectors (SSE4.1 and later: the
x86-64-v3 build `_fastcore` loads on such a CPU, 4.3x the baseline x86-64 build, which runs them one number at a
time); then each explorer is moved on its own. ln, sin(2π·) and cos(2π·) are `vecmath.h`'s (within 2 ulp), the
functions the Python references call, so kernel and references agree to the bit.

Threads and draws. Every draw is numpy's own `next_double` (what Generator.random() returns). On `threads`
OpenMP threads the explorers are split into PARTS_PER_THREAD contiguous ranges per thread, handed to the
threads as they come free (a core the host slows down takes fewer); with numpy's default bit generator (PCG64)
range p draws from a copy of the Generator's bit generator advanced (PCG64.advance) to the first uniform of its
first explorer. So every explorer gets the numbers of the serial order, the results are the same for any
thread count, and the Generator ends past every uniform drawn (a buffered 32-bit draw is kept). Another bit
generator cannot be advanced by a count of draws: one thread draws and moves.
"""
from cython.parallel cimport prange, threadid
from libc.float cimport DBL_MAX
from libc.math cimport M_E, M_PI, exp, fabs, sqrt
from libc.stdint cimport int64_t, int8_t, uint8_t
from libc.stdlib cimport free, malloc
from numpy.random cimport bitgen_t

from _fastcore._bitgen cimport borrow_bitgen
from _fastcore.vecmath cimport os_box_muller_n, os_sincos_2pi_n

cdef extern from "stdlib.h" nogil:
    void* aligned_alloc(size_t alignment, size_t size)

import threading

import numpy as np

from _fastcore.arrays import check_array

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
    BLOCK_COORDINATES = 1024  # a block of explorers has about this many coordinates (its scratch stays in cache)
    PARTS_PER_THREAD = 8  # on more than one thread: ranges of explorers per thread, handed out as threads come free


cdef struct Scratch:  # one thread's arrays for a block of up to `block` explorers, one explorer after another
    double* U1      # block * pairs each: the first and second uniform of every Box-Muller pair
    double* U2
    double* Z       # block * 2 pairs: the normals (then, where the explorer sees a gradient, their orthogonal part)
    double* SN      # block * d each: sin(2πx), cos(2πx) (Rastrigin, Ackley)
    double* CS
    double* G       # d: ∇L of the explorer being moved
    double* spawn   # block: the spawn draws


cdef Py_ssize_t scratch_layout(Scratch* S, double* base, Py_ssize_t block, Py_ssize_t d,
                               Py_ssize_t pairs) noexcept nogil:
    """Point S's arrays into base (NULL: only measure); returns the doubles used, in whole cache lines, so that
    no line is written by two threads."""
    cdef double** arrays[7]
    cdef Py_ssize_t sizes[7]
    cdef Py_ssize_t at = 0
    cdef int q
    arrays[:] = [&S.U1, &S.U2, &S.Z, &S.SN, &S.CS, &S.G, &S.spawn]
    sizes[:] = [block * pairs, block * pairs, block * 2 * pairs, block * d, block * d, d, block]
    for q in range(7):
        arrays[q][0] = base + at
        at += (sizes[q] + 7) // 8 * 8
    return at


cdef inline void draw(bitgen_t* rng, Py_ssize_t count, Py_ssize_t pairs, const Scratch* W) noexcept nogil:
    """The draws of `count` explorers, in stream order: per explorer its pairs (u1, u2), then its spawn draw."""
    cdef Py_ssize_t j, q
    for j in range(count):
        for q in range(j * pairs, (j + 1) * pairs):
            W.U1[q] = rng.next_double(rng.state)
            W.U2[q] = rng.next_double(rng.state)
        W.spawn[j] = rng.next_double(rng.state)


cdef void move_block(Py_ssize_t first, Py_ssize_t count, const Step* S, const Land* L, const Scratch* W,
                     Py_ssize_t* bad) noexcept nogil:
    """Explorers first .. first + count - 1 step (module docstring), their draws already in W;
    bad[0] becomes the first of them whose new position is not finite, if it is smaller."""
    cdef Py_ssize_t i, j, k, a, d = S.d
    cdef double* x
    cdef double* z
    cdef const double* g
    cdef const double* b
    cdef double value, gn, zg, r2, diff, c, s, proj, un, step, v
    cdef bint inside
    cdef Py_ssize_t finite  # coordinates of the new position that are finite
    os_box_muller_n(W.U1, W.U2, W.Z, count * S.pairs)
    if not S.given and trigonometric(L.code):
        os_sincos_2pi_n(S.X + first * d, W.SN, W.CS, count * d)
    for j in range(count):
        i = first + j
        a = S.own[i]
        x = S.X + i * d
        z = W.Z + j * 2 * S.pairs
        if S.given:
            value = S.GV[i]
            g = S.GG + i * d
        else:
            value = value_and_gradient(x, L, W.G, W.SN + j * d, W.CS + j * d)
            g = W.G
        b = S.B + a * d
        gn = 0.0
        zg = 0.0
        r2 = 0.0
        for k in range(d):
            gn = gn + g[k] * g[k]
            zg = zg + z[k] * g[k]
            diff = x[k] - b[k]
            r2 = r2 + diff * diff
        inside = S.R2[a] < 0.0 or r2 <= S.R2[a]
        c = S.cs[a] if inside else 0.0
        s = S.sn[a] if inside else 1.0
        gn = sqrt(gn)
        # u = z minus its part along d; where ∇L = 0 there is no descent direction, z stays whole and the move is
        # V z / |z|. Three passes over the coordinates (the tests in them loop-invariant, so the compiler takes them
        # out and vectorises), where six were 1.06x slower at d = 10.
        proj = -zg / gn if gn > 0.0 else 0.0  # z . d, d = -∇L / |∇L|
        un = 0.0
        for k in range(d):
            if gn > 0.0:
                z[k] = z[k] - proj * (-g[k] / gn)
            un = un + z[k] * z[k]
        un = sqrt(un)
        step = S.V[a]
        finite = 0
        if gn > 0.0 and un > 0.0:
            for k in range(d):
                x[k] = x[k] + step * (c * (-g[k] / gn) + s * (z[k] / un))
                finite = finite + (fabs(x[k]) <= DBL_MAX)
        elif gn > 0.0:  # z along d: the sideways step is 0
            for k in range(d):
                x[k] = x[k] + step * (c * (-g[k] / gn) + s * 0.0)
                finite = finite + (fabs(x[k]) <= DBL_MAX)
        else:
            for k in range(d):
                x[k] = x[k] + step * (z[k] / un if un > 0.0 else 0.0)
                finite = finite + (fabs(x[k]) <= DBL_MAX)
        if finite < d and i < bad[0]:
            bad[0] = i
        S.out_value[i] = value
        S.out_inside[i] = inside
        v = W.spawn[j]
        S.out_spawn[i] = 1 if v < S.P1[a] else 2 if v < S.P1[a] + S.P2[a] else 0  # KIND_FIRST, KIND_SECOND, KIND_NONE


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
    check_array("position", position, F64, 2)
    cdef Py_ssize_t n = position.shape[0], d = position.shape[1]
    check_array("owner", owner, I64, 1, n)
    check_array("birthplace", birthplace, F64, 2)
    cdef Py_ssize_t n_alg = birthplace.shape[0]
    for name, array in (("cos_angle", cos_angle), ("sin_angle", sin_angle), ("speed", speed),
                        ("niche_radius2", niche_radius2), ("p_first", p_first), ("p_second", p_second)):
        check_array(name, array, F64, 1, n_alg)
    if birthplace.shape[1] != d:
        raise ValueError(f"birthplace: expected {d} columns, got {birthplace.shape[1]}")
    check_array("values", values, F64, 1, n)
    check_array("inside", inside, U8, 1, n)
    check_array("spawn", spawn, I8, 1, n)
    if threads < 1:
        raise ValueError(f"threads: expected a whole number >= 1, got {threads}")
    keep = []
    cdef Land L = _land(landscape, d, keep)
    cdef bint given = L.code == GIVEN
    if given:
        if given_values is None or given_gradients is None:
            raise ValueError("an expression landscape needs given_values and given_gradients")
        check_array("given_values", given_values, F64, 1, n)
        check_array("given_gradients", given_gradients, F64, 2, n)
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

    cdef Py_ssize_t pairs = S.pairs, per_explorer = 2 * pairs + 1, block = max(1, BLOCK_COORDINATES // d)
    bit_generator = generator.bit_generator
    if type(bit_generator) is not np.random.PCG64:
        threads = 1  # a stream that cannot be advanced by a count of draws: one thread draws and moves
    threads = min(threads, n)
    cdef Py_ssize_t parts = 1 if threads == 1 else min(n, PARTS_PER_THREAD * threads), part, lo, hi, first, count
    cdef Scratch layout
    cdef Py_ssize_t size = scratch_layout(&layout, NULL, block, d, pairs)
    cdef double* work = <double*> aligned_alloc(64, threads * size * sizeof(double))
    cdef Scratch* scratch = <Scratch*> malloc(threads * sizeof(Scratch))
    cdef bitgen_t** rngs = <bitgen_t**> malloc(parts * sizeof(bitgen_t*))  # per part: its stream
    cdef Py_ssize_t* bad = <Py_ssize_t*> malloc(parts * sizeof(Py_ssize_t))  # per part: its first non-finite row
    cdef Scratch* W
    try:
        if work == NULL or scratch == NULL or rngs == NULL or bad == NULL:
            raise MemoryError(f"explorers: no memory for {threads} threads' {size} doubles of scratch")
        for i in range(threads):
            scratch_layout(&scratch[i], work + i * size, block, d, pairs)
        if threads > 1:
            _threads_started = True
        with bit_generator.lock:
            # part p draws from a copy of the stream advanced to its first explorer's first uniform (PCG64.advance
            # counts 64-bit draws, one per double): every explorer gets the numbers of the serial order
            state = bit_generator.state
            streams = [generator] if parts == 1 else _advanced(state, [n * p // parts * per_explorer
                                                                       for p in range(parts)])
            for part in range(parts):
                rngs[part] = borrow_bitgen(streams[part])
            with nogil:  # guided: threads start far apart, not on neighbouring parts, whose streams' states
                # numpy may have allocated on one cache line (two threads drawing from it would pass it back and forth)
                for part in prange(parts, num_threads=threads, schedule="guided"):
                    lo = n * part // parts
                    hi = n * (part + 1) // parts
                    W = &scratch[threadid()]
                    bad[part] = n
                    first = lo
                    while first < hi:
                        count = min(block, hi - first)
                        draw(rngs[part], count, pairs, W)
                        move_block(first, count, &S, &L, W, &bad[part])
                        first = first + count
            if parts > 1:  # the Generator moves past every uniform drawn (its buffered 32 bits untouched)
                state["state"] = streams[parts - 1].bit_generator.state["state"]
                bit_generator.state = state
        for part in range(parts):  # parts are in row order: the first part with a non-finite row has the first
            if bad[part] < n:
                return bad[part]
        return -1
    finally:
        free(work)
        free(scratch)
        free(rngs)
        free(bad)


_reused = threading.local()  # per Python thread: the parts' Generators, kept between calls (a new PCG64 costs ~8 us)


def _advanced(dict state, list draws):
    """Generators on PCG64s at `state` (`bit_generator.state`), each `draws[p]` 64-bit draws further along its
    stream; valid until this thread's next call."""
    kept = _reused.__dict__.setdefault("generators", [])
    kept.extend(np.random.Generator(np.random.PCG64(0)) for _ in range(len(draws) - len(kept)))
    for generator, count in zip(kept, draws):
        generator.bit_generator.state = state
        generator.bit_generator.advance(count)
    return kept[:len(draws)]
