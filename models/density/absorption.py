"""Mean time to absorption of a chain or a generator on cells, safe where part of the space never escapes."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order
from scipy.sparse.linalg import spsolve


def _cells_reaching(reverse_edges: tuple[np.ndarray, np.ndarray], targets: np.ndarray, n: int) -> np.ndarray:
    """Which of n cells can reach any of `targets`, following edges source -> target (given reversed)."""
    if not targets.any():
        return np.zeros(n, dtype=bool)
    rows = np.concatenate([reverse_edges[0], np.full(targets.sum(), n)])
    cols = np.concatenate([reverse_edges[1], np.flatnonzero(targets)])
    graph = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1))
    found = np.zeros(n + 1, dtype=bool)
    found[breadth_first_order(graph, n, directed=True, return_predecessors=False)] = True
    return found[:n]


def mean_absorption_time(M: sp.spmatrix, start: np.ndarray, scale: float) -> float:
    """Mean time to absorption, 1^T M^{-1} m0, for M = I - Q (a chain) or -A (a generator); columns are sources.

    A column with a positive sum loses mass (to absorption). If the start can reach cells from which
    absorption is impossible (a trap), the mean time is infinite, and the matrix singular: that is
    found first, by searching the transition graph, and the solve runs on the cells that always escape.
    `scale` sets what counts as a positive column sum (against rounding): 1e-12 * scale.
    """
    M = sp.csc_matrix(M)
    n = M.shape[0]
    exits = np.asarray(M.sum(axis=0)).ravel() > 1e-12 * scale
    coo = M.tocoo()
    moves = (coo.row != coo.col) & (coo.data != 0)
    reverse = (coo.row[moves], coo.col[moves])  # target -> source
    trap = ~_cells_reaching(reverse, exits, n)
    into_trap = _cells_reaching(reverse, trap, n) | trap
    if np.any(start[into_trap] > 0):
        return float("inf")
    keep = np.flatnonzero(~into_trap)
    y = spsolve(M[keep][:, keep].tocsc(), start[keep])
    return float(np.sum(y))
