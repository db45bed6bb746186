"""The 2-D Fokker-Planck equation of SGD in conservative finite-volume form (see docs/current.md).

Itô form, time in SGD steps ("SGD Understood through Probability Current", in d dimensions):

  dp/dn = -div F,   F_a = -T G_a p - sum_b d_b (D_ab p),   D = (T^2 / 2) Cov_j g_j,

with G the mean gradient. Each face's flux is a linear combination of cell values: the drift by
hybrid differencing (central where the cell Peclet number |T G_a| h_a / D_aa is below 2, upwind where
it is not, so that a rank-1 D with no diffusion across the noise stays stable), the diagonal diffusion by
the difference across the face, the cross term D_ab (a != b) by the centred difference along the face of
the two cells' neighbours. Box edges carry no flux; cells in the escape region are held at p = 0 (absorbing).
The generator A (dp/dn = A p) gives the stationary density by one solve and mean escape times as the chain does.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from models.current.stationary import diffusion_tensor
from models.current.transfer import Grid, solve
from models.errors import WorldError


def generator(landscape, temperature: float, grid: Grid) -> sp.csr_matrix:
    """A with dp/dn = A p on the grid's cells (2-D), p in mass per cell; columns sum to 0 (mass is conserved)."""
    if grid.dim != 2:
        raise WorldError("the Fokker-Planck solver is 2-D: expected a 2-D grid", "grid")
    nx, ny = grid.shape
    h = grid.width
    x = grid.centres
    velocity = -temperature * landscape.mean_gradient(x)  # (cells, 2), per step
    D = diffusion_tensor(landscape, temperature, x)  # (cells, 2, 2), per step
    index = np.arange(grid.cells).reshape(nx, ny)
    rows, cols, vals = [], [], []

    def add_face(left: np.ndarray, right: np.ndarray, axis: int, coefficient_cells: list, coefficients: list) -> None:
        """Flux F (positive towards `right`) = sum coefficients * p[coefficient_cells]; divide by the width."""
        for cells, c in zip(coefficient_cells, coefficients, strict=True):
            rows.extend([left, right])
            cols.extend([cells, cells])
            vals.extend([-c / h[axis], c / h[axis]])

    for axis in (0, 1):
        other = 1 - axis
        if axis == 0:
            left, right = index[:-1, :], index[1:, :]
        else:
            left, right = index[:, :-1], index[:, 1:]
        left, right = left.ravel(), right.ravel()
        v = 0.5 * (velocity[left, axis] + velocity[right, axis])
        d_face = 0.5 * (D[left, axis, axis] + D[right, axis, axis])
        peclet = np.abs(v) * h[axis] / np.maximum(d_face, 1e-300)
        central = peclet < 2.0
        w_left = np.where(central, 0.5 * v, np.maximum(v, 0.0))
        w_right = np.where(central, 0.5 * v, np.minimum(v, 0.0))
        # drift, and -d_axis (D_aa p) across the face
        add_face(left, right, axis, [left, right], [w_left + D[left, axis, axis] / h[axis],
                                                    w_right - D[right, axis, axis] / h[axis]])
        # -d_other (D_ab p) at the face: centred along the face, over both cells' neighbours (none beyond the box)
        position = np.stack(np.unravel_index(left, (nx, ny)), axis=1)
        for step, sign in ((1, -1.0), (-1, 1.0)):
            shifted = position.copy()
            shifted[:, other] += step
            inside = (shifted[:, other] >= 0) & (shifted[:, other] < grid.shape[other])
            n_left = np.ravel_multi_index(tuple(shifted[inside].T), (nx, ny))
            shifted[inside, axis] += 1
            n_right = np.ravel_multi_index(tuple(shifted[inside].T), (nx, ny))
            scale = sign / (4 * h[other])
            add_face(left[inside], right[inside], axis, [n_left, n_right],
                     [scale * D[n_left, axis, other], scale * D[n_right, axis, other]])
    A = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(grid.cells, grid.cells))
    return A.tocsr()


def stationary_density(A: sp.spmatrix) -> np.ndarray:
    """p with A p = 0 and sum 1: solved with p fixed at one cell, then again fixed where the first answer peaks
    (a reference cell with little mass would cost digits)."""
    A = sp.csc_matrix(A)
    n = A.shape[0]
    reference = 0
    for _ in range(2):
        keep = np.flatnonzero(np.arange(n) != reference)
        p = np.zeros(n)
        p[keep] = splu(A[keep][:, keep].tocsc()).solve(-A[keep][:, [reference]].toarray().ravel())
        p[reference] = 1.0
        reference = int(np.argmax(p))
    return p / p.sum()


def mean_escape_time(A: sp.spmatrix, absorbing: np.ndarray, start: np.ndarray) -> float:
    """Mean steps until the mass from `start` reaches the absorbing cells: 1^T (-A_TT)^{-1} m0."""
    inside = np.flatnonzero(~absorbing)
    A_inside = sp.csr_matrix(A)[inside][:, inside]
    return float(solve(-A_inside, start[inside]).sum())
