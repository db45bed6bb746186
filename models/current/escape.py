"""Escape from a region of a grid chain: mean escape time from every cell, and where the mass leaves.

The escape region's cells absorb: with Q = P on the other (transient) cells and B = P from them into the
region, the expected visits from a start m0 are (I - Q)^{-1} m0, the mean escape time from cell i solves
(I - Q^T) tau = 1, and B (I - Q)^{-1} m0 is where the mass lands when it escapes.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from models.current.transfer import Chain, solve
from models.errors import WorldError


def _transient_parts(chain: Chain) -> tuple[np.ndarray, sp.csc_matrix, sp.csc_matrix]:
    inside = chain.transient
    if len(inside) == chain.grid.cells:
        raise WorldError("escape: the chain has no escape region on this grid (give 'escape')", "escape")
    P = sp.csc_matrix(chain.matrix)
    Q = P[inside][:, inside]
    B = P[np.flatnonzero(chain.absorbing)][:, inside]
    return inside, Q, B


def escape_time_map(chain: Chain) -> np.ndarray:
    """Mean number of SGD steps to reach the escape region from each cell's centre mass, (cells,); 0 inside it.

    Cells from which escape never happens get inf (found by a solve that returns non-finite or negative values).
    """
    inside, Q, _ = _transient_parts(chain)
    A = (sp.identity(len(inside), format="csc") - Q.T).tocsc()
    tau = np.zeros(chain.grid.cells)
    with np.errstate(all="ignore"):
        solved = solve(A, np.ones(len(inside)))
    solved[~np.isfinite(solved) | (solved < 0)] = np.inf
    tau[inside] = solved * chain.steps
    return tau


def escape_from(chain: Chain, start: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean escape time in steps, mass landing in each cell of the escape region) from cell masses `start`."""
    inside, Q, B = _transient_parts(chain)
    m0 = np.asarray(start, dtype=np.float64)[inside]
    visits = solve(sp.identity(len(inside), format="csc") - Q, m0)
    landed = np.zeros(chain.grid.cells)
    landed[chain.absorbing] = B @ visits
    return float(visits.sum()) * chain.steps, landed


def kramers_langer_time(barrier: float, hessian_minimum: np.ndarray, hessian_saddle: np.ndarray,
                        temperature: float, noise_variance: float) -> float:
    """Mean steps to reach the saddle's dividing line in the small-T limit, for isotropic constant noise.

    Langer's rate per unit time t = T * steps, for dW = -grad L dt + sqrt(2 theta) dB with theta = T v / 2 and v
    the per-axis variance of the datapoints' gradients (`noise_variance`, the same on every axis and everywhere):
    k = |lambda_-| / (2 pi) * sqrt(det H_min / |det H_saddle|) * exp(-barrier / theta), lambda_- the saddle's
    negative Hessian eigenvalue. Half the walkers at the dividing line go back, so the first passage to the
    line takes 1 / (2k) on average; in steps, 1 / (2 k T).
    """
    theta = temperature * noise_variance / 2.0
    negative = float(np.min(np.linalg.eigvalsh(hessian_saddle)))
    if negative >= 0:
        raise WorldError("Kramers-Langer: the saddle point's Hessian has no negative eigenvalue")
    prefactor = abs(negative) / (2 * math.pi) * math.sqrt(np.linalg.det(hessian_minimum)
                                                           / abs(np.linalg.det(hessian_saddle)))
    rate = prefactor * math.exp(-barrier / theta)
    return 1.0 / (2.0 * rate * temperature)
