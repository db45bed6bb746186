"""The stationary state of a chain on a grid and its probability current (see docs/current.md).

- `stationary_density`: pi with P pi = pi, by one sparse solve (or by iterating P from a start for large grids).
- `current_field`: J per cell, the net flow between every pair of cells with each pair's net flow times its
  displacement split half to each end (Battle et al., Science 2016, "Broken detailed balance at mesoscopic
  scales"); it is zero for a chain in detailed balance. Units: probability x length per step, summed over the cell.
- `circulation`: sum over cells of (x - c) x J = E_pi[(W_t - c) x (W_{t+1} - c)], twice the mean signed area
  the walk sweeps around c per step (the "area enclosing rate"); zero in detailed balance, independent of c
  in a stationary state, and what a Monte Carlo run estimates from walker steps with no binning at all.
- `entropy_production`: the continuum form sigma = sum_cells J^T D^+ J / pi, D = (T^2 / 2) Cov_j g_j per step.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from models.errors import WorldError

DIRECT_SOLVE_CELLS = 60_000  # above this, pi is found by iterating P (SuperLU's fill-in grows fast in 2-D)


def stationary_density(P: sp.spmatrix, start: np.ndarray | None = None, tol: float = 1e-12,
                       max_steps: int = 200_000) -> np.ndarray:
    """pi >= 0 with P pi = pi and sum 1, P column-stochastic (targets x sources); shape (cells,)."""
    n = P.shape[0]
    P = sp.csc_matrix(P)
    pi = None
    if n <= DIRECT_SOLVE_CELLS and start is None:
        closed = closed_class(P)
        # Fix pi at the cell of the closed class that most mass flows into (a small pi there would lose digits).
        reference = closed[int(np.argmax(np.asarray(P[closed].sum(axis=1)).ravel()))]
        keep = closed[closed != reference]
        A = sp.identity(len(keep), format="csc") - P[keep][:, keep]
        rest = splu(A.tocsc()).solve(P[keep][:, [reference]].toarray().ravel())
        pi = np.zeros(n)
        pi[keep], pi[reference] = rest, 1.0
        pi = np.maximum(pi, 0.0) / max(pi.sum(), 1e-300)
        if not np.isfinite(pi).all() or np.abs(P @ pi - pi).sum() > 1e-9:
            start, pi = pi if np.isfinite(pi).all() else None, None  # the solve lost its digits: iterate instead
    if pi is None:
        pi = np.full(n, 1.0 / n) if start is None else np.asarray(start, dtype=np.float64).copy()
        P = sp.csr_matrix(P)
        for _ in range(max_steps):
            new = P @ pi
            if np.abs(new - pi).sum() < tol:
                pi = new
                break
            pi = new
        else:
            raise WorldError(f"the stationary density did not converge in {max_steps} steps of the chain")
    pi = np.maximum(pi, 0.0)
    total = pi.sum()
    if not np.isfinite(total) or total <= 0:
        raise WorldError("the chain has no stationary density on this grid (the solve found none)")
    return pi / total


def closed_class(P: sp.spmatrix) -> np.ndarray:
    """The cells of the largest closed class of the chain (no flow leaves it), where the stationary mass lives.

    A grid can hold more than one (a corner cell the box keeps to itself); the largest is the one the walk lives in.
    """
    graph = sp.csr_matrix(P.T)  # source -> target
    count, label = connected_components(graph, directed=True, connection="strong")
    coo = graph.tocoo()
    leaving = np.zeros(count, dtype=bool)
    leaving[label[coo.row[(label[coo.row] != label[coo.col]) & (coo.data > 0)]]] = True
    sizes = np.bincount(label, minlength=count)
    sizes[leaving] = 0
    return np.flatnonzero(label == int(np.argmax(sizes)))


def current_field(P: sp.spmatrix, pi: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """J per cell, (cells, d): half of (outgoing plus incoming) mean displacement, weighted by pi.

    J_i = 1/2 sum_j (pi_i P_ji - pi_j P_ij)(x_j - x_i): only the net flow of each pair counts.
    """
    P = sp.csr_matrix(P)
    reached = P.T @ centres  # sum_j P_ji x_j per source i
    kept = np.asarray(P.sum(axis=0)).ravel()
    outgoing = pi[:, None] * (reached - kept[:, None] * centres)
    arriving = (P @ pi)[:, None] * centres - P @ (pi[:, None] * centres)
    return 0.5 * (outgoing + arriving)


def circulation(current: np.ndarray, centres: np.ndarray, about: np.ndarray | None = None) -> float:
    """sum_cells (x - c) x J in 2-D: twice the mean signed area swept around c per step (> 0 counter-clockwise)."""
    if centres.shape[1] != 2:
        raise WorldError("circulation: the swept area is a 2-D measure")
    c = np.zeros(2) if about is None else np.asarray(about, dtype=np.float64)
    r = centres - c
    return float(np.sum(r[:, 0] * current[:, 1] - r[:, 1] * current[:, 0]))


def diffusion_tensor(landscape, temperature: float, points: np.ndarray) -> np.ndarray:
    """D(W) = (T^2 / 2) Cov_j g_j(W) per SGD step, (n, d, d); "SGD Understood through Probability Current",
    "Further Investigation" (per unit time t = T * steps it is (T/2) Cov_j g_j)."""
    g = landscape.gradients(points)  # (n_data, n, d)
    dev = g - g.mean(axis=0)
    return 0.5 * temperature**2 * np.einsum("jna,jnb->nab", dev, dev) / g.shape[0]


def entropy_production(current: np.ndarray, pi: np.ndarray, diffusion: np.ndarray, floor: float = 1e-10) -> float:
    """sigma = sum over cells of J^T D^+ J / pi, per step; cells with pi below floor * max(pi) are left out.

    D^+ is the pseudo-inverse: where the noise has rank 1 this is the entropy produced along the noise only
    (the part of J across it, driven by the deterministic drift, has no finite cost in the continuum).
    """
    inverse = np.linalg.pinv(diffusion, rcond=1e-10, hermitian=True)
    used = pi > floor * pi.max()
    J = current[used]
    return float(np.sum(np.einsum("na,nab,nb->n", J, inverse[used], J) / pi[used]))


def effective_potential(pi: np.ndarray, temperature: float, volume: float) -> np.ndarray:
    """-T log(pi / cell volume), shifted to a minimum of 0 (inf where pi is 0); set beside the loss."""
    with np.errstate(divide="ignore"):
        phi = -temperature * np.log(pi / volume)
    return phi - phi[np.isfinite(phi)].min()
