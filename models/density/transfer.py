"""Discrete-time descriptions of the walker density on a grid (see docs/density.md).

- The exact chain: the transfer (Ulam) operator of the SGD map. Each cell's mass, carried by
  `subsamples` equally spaced points, is pushed through W -> W - T g_j(W) for every datapoint
  j (weight 1/n each) and split between the two cell centres it lands between. Mass pushed
  past an absorbing edge has escaped; the absorbing chain gives the escape-time
  distribution and the mean escape time by one sparse solve, even where Monte Carlo would
  need 10^12 steps.
- The essay's rule: a point mass at W moves to Normal(W - T G, T^2 S^2) each step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.stats import norm

from _fastcore import density as kernel
from models.density.absorption import mean_absorption_time
from models.density.fokker_planck import Boundary, Grid
from models.landscapes import Landscape


@dataclass(frozen=True)
class Chain:
    """A column-substochastic operator A on cell masses (m <- A m); the deficit of a column is escape."""

    grid: Grid
    matrix: sp.csr_matrix  # rows are targets, columns sources
    kept_outside: np.ndarray  # per source cell: probability of landing beyond a reflecting edge (kept at the edge)

    def step(self, masses: np.ndarray, n_steps: int = 1) -> np.ndarray:
        """Advance masses in place; returns the mass escaping at each step."""
        A = self.matrix
        return kernel.chain_steps(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, masses, n_steps)

    def mean_escape_time(self, masses: np.ndarray) -> float:
        """E[steps until escape] from the starting masses: 1^T (I - A)^{-1} m0 (inf if some of it never escapes)."""
        n = self.grid.cells
        return mean_absorption_time(sp.identity(n, format="csc") - self.matrix.tocsc(), masses, 1.0)

    def escape_probability(self) -> np.ndarray:
        """Per source cell, the probability of escaping in one step."""
        return 1.0 - np.asarray(self.matrix.sum(axis=0)).ravel()


def cloud_in_cell(source: np.ndarray, position: np.ndarray, weight: np.ndarray, grid: Grid, absorb_low: bool,
                  absorb_high: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(targets, sources, weights, kept_outside): each point's weight split linearly between the two cell centres
    around it (`_fastcore.density.cloud_in_cell_nd` in 1-D), one entry where it sits on a centre or beyond one.

    A point beyond an absorbing edge has escaped and is dropped; one beyond a reflecting edge stays whole in the
    edge cell, and `kept_outside` sums its weight per source cell.
    """
    below, above = position < grid.low, position >= grid.high
    kept = ~((below & absorb_low) | (above & absorb_high))
    outside = kept & (below | above)
    kept_outside = np.bincount(source[outside], weights=weight[outside], minlength=grid.cells)
    targets, weights = kernel.cloud_in_cell_nd(np.ascontiguousarray(position[kept, None], dtype=np.float64),
                                               weight[kept], [grid.low], [grid.width], [grid.cells])
    entry = np.ones(targets.shape, dtype=bool)
    entry[:, 1] = weights[:, 1] != 0.0
    return targets[entry], np.repeat(source[kept], 2)[entry.ravel()], weights[entry], kept_outside


def cloud_in_cell_reference(position: np.ndarray, weight: np.ndarray, low: np.ndarray, width: np.ndarray,
                            shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The pure-Python reference of `_fastcore.density.cloud_in_cell_nd`, point by point, corner by corner."""
    n, d = position.shape
    targets = np.empty((n, 2**d), dtype=np.int64)
    weights = np.empty((n, 2**d))
    for k in range(n):
        base, frac, step = [0] * d, [0.0] * d, [0] * d
        stride = 1
        for a in range(d - 1, -1, -1):
            f = (position[k, a] - low[a]) / width[a] - 0.5
            if f <= 0.0 or f != f:
                base[a], frac[a] = 0, 0.0
            elif f >= shape[a] - 1:
                base[a], frac[a] = shape[a] - 1, 0.0
            else:
                base[a] = math.floor(f)
                frac[a] = f - base[a]
            step[a] = stride if base[a] + 1 < shape[a] else 0
            stride *= shape[a]
        for corner in range(2**d):
            index, share, stride = 0, float(weight[k]), 1
            for a in range(d - 1, -1, -1):
                index += base[a] * stride
                stride *= shape[a]
                if (corner >> a) & 1:
                    index += step[a]
                    share *= frac[a]
                else:
                    share *= 1.0 - frac[a]
            targets[k, corner] = index
            weights[k, corner] = share
    return targets, weights


def _assemble(grid: Grid, targets: np.ndarray, sources: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    n = grid.cells
    return sp.coo_matrix((weights, (targets, sources)), shape=(n, n)).tocsr()


def transfer_chain(landscape: Landscape, temperature: float, grid: Grid, low: Boundary = "reflecting",
                   high: Boundary = "absorbing", subsamples: int = 16, batch: str = "sgd") -> Chain:
    """The Ulam operator of one SGD step (one datapoint per step; batch='gd' for the mean gradient)."""
    if landscape.dim != 1:
        raise ValueError("the transfer operator is 1-D")
    if subsamples < 1:
        raise ValueError(f"subsamples: expected >= 1, got {subsamples}")
    n = grid.cells
    offsets = (np.arange(subsamples) + 0.5) / subsamples
    points = (grid.low + (np.arange(n)[:, None] + offsets[None, :]) * grid.width).ravel()
    source = np.repeat(np.arange(n, dtype=np.int64), subsamples)
    if batch == "gd":
        moves = [(points - temperature * landscape.mean_gradient(points)[:, 0], 1.0)]
    else:
        grads = landscape.gradients(points)[..., 0]
        moves = [(points - temperature * g, 1.0 / landscape.n_data) for g in grads]
    parts = []
    outside = np.zeros(n)
    for position, share in moves:
        weight = np.full(len(points), share / subsamples)
        t, s, w, kept = cloud_in_cell(source, position, weight, grid, low == "absorbing", high == "absorbing")
        parts.append((t, s, w))
        outside += kept
    targets, sources, weights = (np.concatenate(x) for x in zip(*parts, strict=True))
    return Chain(grid, _assemble(grid, targets, sources, weights), outside)


def gaussian_rule_chain(landscape: Landscape, temperature: float, grid: Grid, low: Boundary = "reflecting",
                        high: Boundary = "absorbing") -> Chain:
    """The essay's pre-continuum rule: mass at x moves to Normal(x - T G(x), T^2 S^2(x)) each step.

    Probability landing beyond a reflecting edge is kept in the edge cell; beyond an absorbing edge it escapes.
    """
    x = grid.centres
    mean = x - temperature * landscape.mean_gradient(x)[:, 0]
    var = temperature**2 * landscape.gradient_variance(x)
    targets, sources, weights = kernel.gaussian_rule_entries(x, np.ascontiguousarray(mean), np.ascontiguousarray(var),
                                                             grid.low, grid.width)
    points = np.flatnonzero(var <= 0.0)  # no noise: the mass moves as a point (the kernel leaves these cells out)
    t, s, w, _ = cloud_in_cell(points, mean[points], np.ones(len(points)), grid, True, True)
    A = _assemble(grid, np.concatenate([targets, t]), np.concatenate([sources, s]), np.concatenate([weights, w]))
    inside = np.asarray(A.sum(axis=0)).ravel()
    # Split what left the grid between the two edges by the normal tails, and keep the reflecting ones.
    sd = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.where(sd > 0, norm.cdf((grid.low - mean) / sd), (mean < grid.low).astype(float))
        above = np.where(sd > 0, norm.sf((grid.high - mean) / sd), (mean >= grid.high).astype(float))
    below = np.minimum(below, 1.0 - inside)
    above = np.maximum(1.0 - inside - below, 0.0)
    kept = np.zeros(grid.cells)
    extra_t, extra_s, extra_w = [], [], []
    if low == "reflecting":
        extra_t.append(np.zeros(grid.cells, dtype=np.int64))
        extra_s.append(np.arange(grid.cells))
        extra_w.append(below)
        kept += below
    if high == "reflecting":
        extra_t.append(np.full(grid.cells, grid.cells - 1, dtype=np.int64))
        extra_s.append(np.arange(grid.cells))
        extra_w.append(above)
        kept += above
    if extra_t:
        A = A + _assemble(grid, np.concatenate(extra_t), np.concatenate(extra_s), np.concatenate(extra_w))
    return Chain(grid, A.tocsr(), kept)
