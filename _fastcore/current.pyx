"""The transfer operator's entries on a 2-D or 3-D grid ("SGD Understood through Probability Current").

`cloud_in_cell_nd` splits each point's weight multilinearly between the 2^d cell centres around it
(bilinear in 2-D, trilinear in 3-D); the pure-Python reference is
`models.current.transfer.cloud_in_cell_reference`, held to the same numbers by tests/current.
"""
from libc.math cimport floor
from libc.stdint cimport int64_t

import numpy as np


def cloud_in_cell_nd(position, weight, low, width, shape):
    """(targets, weights), each (n, 2^d): point k's weight split between the cell centres around it.

    position (n, d) float64, weight (n,), low/width (d,) float64, shape (d,) int64 cells per axis; cells are
    numbered C-order (the last axis fastest). Along each axis a point between an edge and the outermost centre,
    or beyond the edge, goes wholly to the outermost cell (the box keeps it: a reflecting edge).
    """
    if not isinstance(position, np.ndarray) or position.dtype != np.float64 or position.ndim != 2:
        raise ValueError("position: expected a 2-D float64 array (points, dims)")
    cdef Py_ssize_t n = position.shape[0], d = position.shape[1]
    if d < 1 or d > 3:
        raise ValueError(f"position: expected 1 to 3 dims, got {d}")
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    low = np.ascontiguousarray(low, dtype=np.float64)
    width = np.ascontiguousarray(width, dtype=np.float64)
    shape = np.ascontiguousarray(shape, dtype=np.int64)
    if weight.shape != (n,) or low.shape != (d,) or width.shape != (d,) or shape.shape != (d,):
        raise ValueError("weight (n,), low, width and shape (d,): expected lengths matching position")
    if np.any(shape < 1) or not np.all(width > 0):
        raise ValueError("shape and width: expected >= 1 cell and width > 0 on every axis")
    position = np.ascontiguousarray(position)
    cdef Py_ssize_t corners = 1 << d
    targets_arr = np.empty((n, corners), dtype=np.int64)
    weights_arr = np.empty((n, corners), dtype=np.float64)
    cdef const double[:, ::1] pos = position
    cdef const double[::1] w = weight
    cdef const double[::1] lo = low
    cdef const double[::1] h = width
    cdef const int64_t[::1] cells = shape
    cdef int64_t[:, ::1] tgt = targets_arr
    cdef double[:, ::1] wt = weights_arr
    cdef int64_t base[3]
    cdef int64_t step[3]
    cdef double frac[3]
    cdef Py_ssize_t k, a, corner
    cdef int64_t index, stride
    cdef double f, share
    with nogil:
        for k in range(n):
            stride = 1
            for a in range(d - 1, -1, -1):
                f = (pos[k, a] - lo[a]) / h[a] - 0.5  # in units of cells, 0 at the first centre
                if f <= 0.0 or f != f:
                    base[a], frac[a] = 0, 0.0
                elif f >= cells[a] - 1:
                    base[a], frac[a] = cells[a] - 1, 0.0
                else:
                    base[a] = <int64_t> floor(f)
                    frac[a] = f - base[a]
                step[a] = stride if base[a] + 1 < cells[a] else 0  # a zero share may point at the cell itself
                stride = stride * cells[a]
            for corner in range(corners):
                index = 0
                share = w[k]
                stride = 1
                for a in range(d - 1, -1, -1):
                    index = index + base[a] * stride
                    stride = stride * cells[a]
                    if (corner >> a) & 1:
                        index = index + step[a]
                        share = share * frac[a]
                    else:
                        share = share * (1.0 - frac[a])
                tgt[k, corner] = index
                wt[k, corner] = share
    return targets_arr, weights_arr
