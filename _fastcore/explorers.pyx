# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Move every explorer of every optimization algorithm at once (seed 001 §2.2; SPEC §4).

Explorer i belongs to algorithm owner[i]. One step, for each explorer in array order:
  1. L and ∇L at its position x (function-space landscapes, `models.landscapes.FunctionLandscape`;
     for an expression the values and gradients arrive precomputed by the expression VM);
  2. its niche: inside when the algorithm's niche radius is infinite (G = 1) or |x - birthplace|^2 <= radius^2;
     outside, its move is blind (S = 90°);
  3. the move x += V (cos S · d + sin S · u), d = -∇L / |∇L| the unit descent direction, u a unit vector
     drawn uniformly on the sphere orthogonal to d (Gaussian z, minus its component along d, normalised);
     where ∇L = 0 there is no descent direction and the move is V z / |z|, uniform on the whole sphere;
  4. one spawn draw: kind 1 if v < p1[a], kind 2 if v < p1[a] + p2[a], else 0 (the model reads kind 1 as a
     general (binary) or scalar offspring, kind 2 as a specific one).

Order of random draws (the references `agents.OptimizationAlgorithm.step` and `models.metaopt.step_numpy`
follow it): explorer 0..n-1; each draws 2 * ceil(d / 2) + 1 uniforms from the Generator's `next_double`,
always, whatever its S or niche: pairs (u1, u2) give two normals by Box-Muller,
z = sqrt(-2 ln(1 - u1)) cos(2π u2), sqrt(-2 ln(1 - u1)) sin(2π u2), of which the first d are used; the last
uniform is the spawn draw v.
"""
from libc.math cimport M_E, M_PI, cos, exp, isfinite, log, sin, sqrt
from libc.stdint cimport int64_t, int8_t, uint8_t
from numpy.random cimport bitgen_t

from _fastcore._bitgen cimport borrow_bitgen

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


cdef struct Land:
    int code
    Py_ssize_t d
    Py_ssize_t n_wells
    const double* a
    const double* b
    const double* c   # (n_wells, d), row-major
    double bowl


cdef double value_and_gradient(const double* x, const Land* L, double* g) noexcept nogil:
    """L(x), writing ∇L(x) to g[0:d]; the order of every sum is that of FunctionLandscape.point_value_and_gradient."""
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
            v = v + (x[k] * x[k] - RASTRIGIN_A * cos(TWO_PI * x[k]))
            g[k] = 2.0 * x[k] + (RASTRIGIN_A * TWO_PI) * sin(TWO_PI * x[k])
    elif L.code == ACKLEY:
        s1 = 0.0
        s2 = 0.0
        for k in range(d):
            s1 = s1 + x[k] * x[k]
            s2 = s2 + cos(TWO_PI * x[k])
        r = sqrt(s1 / d)
        e1 = exp(-ACKLEY_B * r)
        e2 = exp(s2 / d)
        c1 = (ACKLEY_A * ACKLEY_B) * e1 / (d * r) if r > 0 else 0.0
        c2 = e2 * TWO_PI / d
        for k in range(d):
            g[k] = c1 * x[k] + c2 * sin(TWO_PI * x[k])
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


def _check(name, array, dtype, ndim, length=None):
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D numpy array of {np.dtype(dtype)}, got {type(array).__name__}"
                         + (f" of {array.dtype} with {array.ndim} dims" if isinstance(array, np.ndarray) else ""))
    if not array.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name}: expected {length} rows, got {array.shape[0]}")


cdef Land _land(landscape, Py_ssize_t d, list keep) except *:
    if landscape.dim != d:
        raise ValueError(f"positions: expected {landscape.dim} columns (the landscape's dimension), got {d}")
    cdef int code = landscape.code
    if not 0 <= code <= 5:
        raise ValueError(f"landscape code: expected 0..5, got {code}")
    cdef const double[::1] a = np.append(landscape.well_a, 0.0)
    cdef const double[::1] b = np.append(landscape.well_b, 0.0)
    cdef const double[::1] c = np.append(np.asarray(landscape.well_c, dtype=np.float64).ravel(), 0.0)
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
    _check("position", position, np.float64, 2)
    cdef Py_ssize_t n = position.shape[0], d = position.shape[1], i
    _check("values", values, np.float64, 1, n)
    _check("gradients", gradients, np.float64, 2, n)
    keep = []
    cdef Land L = _land(landscape, d, keep)
    if L.code == GIVEN:
        raise ValueError("an expression landscape is evaluated by the expression VM, not by this kernel")
    cdef const double[:, ::1] X = position
    cdef double[::1] V = values
    cdef double[:, ::1] G = gradients
    with nogil:
        for i in range(n):
            V[i] = value_and_gradient(&X[i, 0], &L, &G[i, 0])


def step_explorers(position, owner, cos_angle, sin_angle, speed, birthplace, niche_radius2, p_first, p_second,
                   landscape, generator, values, inside, spawn, given_values=None, given_gradients=None):
    """One step of every explorer (see the module docstring), in place.

    position (n, d) float64, moved in place; owner (n,) int64 rows of the per-algorithm arrays: cos_angle,
    sin_angle (cos S and sin S), speed V, niche_radius2 (radius², negative = everywhere), p_first, p_second
    (spawn probabilities per visited point), all (n_algorithms,) float64, and birthplace (n_algorithms, d).
    Outputs (n,): values (L where the explorer stood, float64), inside (its niche, uint8), spawn (kind, int8).
    given_values/given_gradients: L and ∇L at `position` for an expression landscape (code 5).
    Returns the index of the first explorer whose new position is not finite, or -1.
    """
    _check("position", position, np.float64, 2)
    cdef Py_ssize_t n = position.shape[0], d = position.shape[1]
    _check("owner", owner, np.int64, 1, n)
    _check("birthplace", birthplace, np.float64, 2)
    cdef Py_ssize_t n_alg = birthplace.shape[0]
    for name, array in (("cos_angle", cos_angle), ("sin_angle", sin_angle), ("speed", speed),
                        ("niche_radius2", niche_radius2), ("p_first", p_first), ("p_second", p_second)):
        _check(name, array, np.float64, 1, n_alg)
    if birthplace.shape[1] != d:
        raise ValueError(f"birthplace: expected {d} columns, got {birthplace.shape[1]}")
    _check("values", values, np.float64, 1, n)
    _check("inside", inside, np.uint8, 1, n)
    _check("spawn", spawn, np.int8, 1, n)
    if n and (owner.min() < 0 or owner.max() >= n_alg):
        raise ValueError(f"owner: expected rows 0..{n_alg - 1}, got {owner.min()}..{owner.max()}")
    keep = []
    cdef Land L = _land(landscape, d, keep)
    cdef bint given = L.code == GIVEN
    if given:
        if given_values is None or given_gradients is None:
            raise ValueError("an expression landscape needs given_values and given_gradients")
        _check("given_values", given_values, np.float64, 1, n)
        _check("given_gradients", given_gradients, np.float64, 2, n)
    else:
        given_values, given_gradients = np.zeros(1), np.zeros((1, 1))
    cdef const double[::1] GV = given_values
    cdef const double[:, ::1] GG = given_gradients

    cdef bitgen_t* rng = borrow_bitgen(generator)
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
    cdef Py_ssize_t pairs = (d + 1) // 2
    cdef double[::1] g = np.zeros(d)
    cdef double[::1] z = np.zeros(2 * pairs)
    cdef Py_ssize_t i, k, j, a, bad = -1
    cdef double gn, proj, un, zn, radius, u1, u2, r2, diff, c, s, v, step

    with generator.bit_generator.lock, nogil:
        for i in range(n):
            a = own[i]
            if given:
                out_value[i] = GV[i]
                for k in range(d):
                    g[k] = GG[i, k]
            else:
                out_value[i] = value_and_gradient(&X[i, 0], &L, &g[0])
            for j in range(pairs):
                u1 = rng.next_double(rng.state)
                u2 = rng.next_double(rng.state)
                radius = sqrt(-2.0 * log(1.0 - u1))
                z[2 * j] = radius * cos(TWO_PI * u2)
                z[2 * j + 1] = radius * sin(TWO_PI * u2)
            v = rng.next_double(rng.state)
            if R2[a] < 0:
                out_inside[i] = 1
            else:
                r2 = 0.0
                for k in range(d):
                    diff = X[i, k] - B[a, k]
                    r2 = r2 + diff * diff
                out_inside[i] = r2 <= R2[a]
            if out_inside[i]:
                c = cs[a]
                s = sn[a]
            else:
                c = 0.0
                s = 1.0
            gn = 0.0
            for k in range(d):
                gn = gn + g[k] * g[k]
            gn = sqrt(gn)
            step = V[a]
            if gn > 0:
                # d_k = -g_k / gn (kept in g); u = z - (z . d) d, normalised
                proj = 0.0
                for k in range(d):
                    g[k] = -g[k] / gn
                    proj = proj + z[k] * g[k]
                un = 0.0
                for k in range(d):
                    z[k] = z[k] - proj * g[k]
                    un = un + z[k] * z[k]
                un = sqrt(un)
                for k in range(d):
                    X[i, k] = X[i, k] + step * (c * g[k] + s * (z[k] / un if un > 0 else 0.0))
            else:
                zn = 0.0
                for k in range(d):
                    zn = zn + z[k] * z[k]
                zn = sqrt(zn)
                for k in range(d):
                    X[i, k] = X[i, k] + step * (z[k] / zn if zn > 0 else 0.0)
            for k in range(d):
                if bad < 0 and not isfinite(X[i, k]):
                    bad = i
            if v < P1[a]:
                out_spawn[i] = 1
            elif v < P1[a] + P2[a]:
                out_spawn[i] = 2
            else:
                out_spawn[i] = 0
    return bad
