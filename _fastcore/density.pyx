"""Kernels for walker densities on a 1-D grid ("SGD Understood through Probability Current").

- `cloud_in_cell`: split point masses between the two nearest cell centres (the transfer
  operator's entries: each cell's mass pushed through W -> W - T g_j(W)).
- `chain_steps`: repeated sparse mat-vec m <- A m, recording the mass absorbed per step.
- `backward_euler_steps`: repeated tridiagonal solves (I - dt A) p_new = p (Thomas algorithm),
  recording the mass that left through each boundary.
- `gaussian_rule_entries`: the essay's Gaussian rule, a point mass at x_i moving to
  Normal(x_i - T G, T^2 S^2), integrated over the target cells.
"""
from libc.math cimport erf, floor, sqrt
from libc.stdint cimport int64_t

import numpy as np

from _fastcore.arrays import check_array


def cloud_in_cell(source, position, weight, double low, double width, Py_ssize_t cells,
                  bint absorb_low, bint absorb_high):
    """(target, source, weight) triples: each point's weight split linearly between cell centres.

    Cell c covers [low + c*width, low + (c+1)*width), centre low + (c+0.5)*width. A point
    between an edge and the outermost centre goes wholly to the outermost cell. A point
    beyond an edge is dropped if that edge absorbs (it escaped), else it is kept in the
    outermost cell (reflecting); `kept_outside` sums such weight per source cell.
    Returns (targets, sources, weights, kept_outside).
    """
    check_array("source", source, np.int64, 1)
    check_array("position", position, np.float64, 1)
    check_array("weight", weight, np.float64, 1)
    cdef Py_ssize_t n = source.shape[0]
    if position.shape[0] != n or weight.shape[0] != n:
        raise ValueError("source, position and weight: expected equal lengths")
    if cells < 1 or not width > 0:
        raise ValueError("cells and width: expected cells >= 1 and width > 0")
    targets_arr = np.empty(2 * n, dtype=np.int64)
    sources_arr = np.empty(2 * n, dtype=np.int64)
    weights_arr = np.empty(2 * n, dtype=np.float64)
    outside_arr = np.zeros(cells, dtype=np.float64)
    cdef const int64_t[::1] src = source
    cdef const double[::1] pos = position
    cdef const double[::1] w = weight
    cdef int64_t[::1] tgt_out = targets_arr
    cdef int64_t[::1] src_out = sources_arr
    cdef double[::1] w_out = weights_arr
    cdef double[::1] outside = outside_arr
    cdef Py_ssize_t k, c, count = 0
    cdef double f, frac, high = low + cells * width
    with nogil:
        for k in range(n):
            # Beyond an edge: dropped if it absorbs, else kept whole in the edge cell.
            if pos[k] < low or pos[k] >= high:
                if (absorb_low if pos[k] < low else absorb_high):
                    continue
                outside[src[k]] += w[k]
                c = 0 if pos[k] < low else cells - 1
                frac = 0.0
            else:
                f = (pos[k] - low) / width - 0.5  # in units of cells, 0 at the first centre
                if f <= 0.0:
                    c, frac = 0, 0.0
                elif f >= cells - 1:
                    c, frac = cells - 1, 0.0
                else:
                    c = <Py_ssize_t> floor(f)
                    frac = f - c
            tgt_out[count] = c
            src_out[count] = src[k]
            w_out[count] = w[k] * (1.0 - frac)
            count += 1
            if frac > 0.0:
                tgt_out[count] = c + 1
                src_out[count] = src[k]
                w_out[count] = w[k] * frac
                count += 1
    return targets_arr[:count], sources_arr[:count], weights_arr[:count], outside_arr


def chain_steps(indptr, indices, data, mass, Py_ssize_t n_steps):
    """Advance `mass` (cells,) by n_steps of m <- A m, A in CSR (rows = targets); in place.

    Returns the mass lost (absorbed) at each step, shape (n_steps,).
    """
    check_array("indptr", indptr, np.int64, 1)
    check_array("indices", indices, np.int64, 1)
    check_array("data", data, np.float64, 1)
    check_array("mass", mass, np.float64, 1)
    cdef Py_ssize_t cells = mass.shape[0]
    if indptr.shape[0] != cells + 1:
        raise ValueError(f"indptr: expected {cells + 1} entries (cells + 1), got {indptr.shape[0]}")
    if indices.shape[0] != data.shape[0] or (cells and indptr[cells] != data.shape[0]):
        raise ValueError("indices and data: expected indptr[-1] entries each")
    lost_arr = np.zeros(n_steps, dtype=np.float64)
    scratch_arr = np.empty(cells, dtype=np.float64)
    cdef const int64_t[::1] ip = indptr
    cdef const int64_t[::1] ix = indices
    cdef const double[::1] a = data
    cdef double[::1] m = mass
    cdef double[::1] tmp = scratch_arr
    cdef double[::1] lost = lost_arr
    cdef Py_ssize_t s, r, q
    cdef double acc, before, after
    with nogil:
        for s in range(n_steps):
            before = 0.0
            for r in range(cells):
                before += m[r]
            after = 0.0
            for r in range(cells):
                acc = 0.0
                for q in range(ip[r], ip[r + 1]):
                    acc += a[q] * m[ix[q]]
                tmp[r] = acc
                after += acc
            for r in range(cells):
                m[r] = tmp[r]
            lost[s] = before - after
    return lost_arr


def backward_euler_steps(lower, diag, upper, density, Py_ssize_t n_steps, double dt, double out_low,
                         double out_high):
    """n_steps backward-Euler steps of dp/dt = A p, A tridiagonal: (I - dt A) p_new = p.

    A's row c is lower[c] p[c-1] + diag[c] p[c] + upper[c] p[c+1] (lower[0], upper[-1] unused);
    `out_low`, `out_high` are the outflow rates through the two edges per unit mass in the edge
    cell (0 for a reflecting edge), already included in diag. Each step is solved in delta form,
    (I - dt A) d = dt A p with A p computed as differences of face fluxes, and p += d: the
    round-off in the mass then scales with the change, not with the mass, so the total is kept
    to ~1e-15 per step. Returns (lost_low, lost_high), each (n_steps,): the mass that left
    through each edge at each step. `density` is advanced in place.
    """
    check_array("lower", lower, np.float64, 1)
    check_array("diag", diag, np.float64, 1)
    check_array("upper", upper, np.float64, 1)
    check_array("density", density, np.float64, 1)
    cdef Py_ssize_t n = density.shape[0]
    if lower.shape[0] != n or diag.shape[0] != n or upper.shape[0] != n:
        raise ValueError(f"lower, diag, upper: expected length {n} (the number of cells)")
    if n < 2:
        raise ValueError("expected at least 2 cells")
    if not dt > 0:
        raise ValueError(f"dt: expected > 0, got {dt}")
    lost_low_arr = np.zeros(n_steps)
    lost_high_arr = np.zeros(n_steps)
    cprime_arr = np.empty(n)
    dinv_arr = np.empty(n)
    flux_arr = np.empty(n + 1)
    delta_arr = np.empty(n)
    cdef const double[::1] lo = lower
    cdef const double[::1] di = diag
    cdef const double[::1] up = upper
    cdef double[::1] p = density
    cdef double[::1] cp = cprime_arr
    cdef double[::1] dinv = dinv_arr
    cdef double[::1] flux = flux_arr
    cdef double[::1] d = delta_arr
    cdef double[::1] lost_low = lost_low_arr
    cdef double[::1] lost_high = lost_high_arr
    cdef Py_ssize_t s, r
    cdef double denom
    # The factorisation of I - dt A does not change between steps: do it once.
    dinv[0] = 1.0 / (1.0 - dt * di[0])
    cp[0] = -dt * up[0] * dinv[0]
    for r in range(1, n):
        denom = (1.0 - dt * di[r]) + dt * lo[r] * cp[r - 1]
        if denom == 0.0:
            raise ValueError("the backward Euler matrix is singular")
        dinv[r] = 1.0 / denom
        cp[r] = -dt * up[r] * dinv[r]
    with nogil:
        for s in range(n_steps):
            # face fluxes J_f (rightwards), then dt A p = dt (J_c - J_{c+1})
            flux[0] = -out_low * p[0]
            flux[n] = out_high * p[n - 1]
            for r in range(1, n):
                flux[r] = lo[r] * p[r - 1] - up[r - 1] * p[r]
            d[0] = dt * (flux[0] - flux[1]) * dinv[0]
            for r in range(1, n):
                d[r] = (dt * (flux[r] - flux[r + 1]) + dt * lo[r] * d[r - 1]) * dinv[r]
            for r in range(n - 2, -1, -1):
                d[r] = d[r] - cp[r] * d[r + 1]
            for r in range(n):
                p[r] = p[r] + d[r]
            lost_low[s] = dt * out_low * p[0]
            lost_high[s] = dt * out_high * p[n - 1]
    return lost_low_arr, lost_high_arr


def gaussian_rule_entries(centre, mean, variance, double low, double width, double cutoff=8.0):
    """The essay's Gaussian rule as (target, source, weight): mass at centre[i] -> Normal(mean[i], variance[i]).

    Each weight is the normal probability of a target cell (CDF differences), over the cells
    within `cutoff` standard deviations; probability beyond the grid is not kept (the caller
    decides what leaving means). A zero variance moves the mass as a point (linear split).
    """
    check_array("centre", centre, np.float64, 1)
    check_array("mean", mean, np.float64, 1)
    check_array("variance", variance, np.float64, 1)
    cdef Py_ssize_t cells = centre.shape[0]
    if mean.shape[0] != cells or variance.shape[0] != cells:
        raise ValueError("centre, mean, variance: expected equal lengths")
    cdef const double[::1] mu = mean
    cdef const double[::1] var = variance
    targets, sources, weights = [], [], []
    cdef Py_ssize_t i, c, c0, c1
    cdef double sd, a, b, prev, cur
    cdef double inv_sqrt2 = 1.0 / sqrt(2.0)
    for i in range(cells):
        if var[i] <= 0.0:
            t, s, w, _ = cloud_in_cell(np.array([i], dtype=np.int64), np.array([mu[i]]), np.array([1.0]), low,
                                       width, cells, True, True)
            targets.append(t)
            sources.append(s)
            weights.append(w)
            continue
        sd = sqrt(var[i])
        c0 = max(0, <Py_ssize_t> floor((mu[i] - cutoff * sd - low) / width))
        c1 = min(cells - 1, <Py_ssize_t> floor((mu[i] + cutoff * sd - low) / width))
        if c1 < c0:
            continue
        row_t = np.arange(c0, c1 + 1, dtype=np.int64)
        row_w = np.empty(c1 - c0 + 1)
        prev = 0.5 * (1.0 + erf((low + c0 * width - mu[i]) / sd * inv_sqrt2))
        for c in range(c0, c1 + 1):
            cur = 0.5 * (1.0 + erf((low + (c + 1) * width - mu[i]) / sd * inv_sqrt2))
            row_w[c - c0] = cur - prev
            prev = cur
        targets.append(row_t)
        sources.append(np.full(c1 - c0 + 1, i, dtype=np.int64))
        weights.append(row_w)
    if not targets:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(targets), np.concatenate(sources), np.concatenate(weights)
