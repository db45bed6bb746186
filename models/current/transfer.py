"""The exact SGD chain on a 2-D or 3-D grid: the transfer (Ulam) operator of W -> W - T g_B(W) (see docs/current.md).

Each cell's mass is carried by `subsamples`^d evenly spaced points; every point is pushed through the step
of every minibatch B that SGD can draw (with its probability) and its weight is split multilinearly between
the 2^d cell centres around where it lands (`_fastcore.density.cloud_in_cell_nd`). The box keeps mass that
would leave it (reflecting); cells inside the escape region absorb.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import bicgstab, lgmres, splu

from _fastcore import density as kernel
from models.errors import WorldError


class DataLosses(Protocol):
    """What the chain needs of a landscape: per-datapoint gradients at many points."""

    dim: int
    n_data: int

    def gradients(self, W: Any) -> np.ndarray: ...  # (n_data, ..., d)


@dataclass(frozen=True)
class Grid:
    """A box [low, high] in d = 2 or 3 dimensions, cut into `shape` cells (numbered C-order, last axis fastest)."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if not (len(self.low) == len(self.high) == len(self.shape)) or len(self.shape) not in (2, 3):
            raise WorldError(f"grid: expected low, high and shape of one length, 2 or 3, got {self}", "grid")
        if any(h <= lo for lo, h in zip(self.low, self.high, strict=True)) or min(self.shape) < 3:
            raise WorldError("grid: expected high > low and at least 3 cells on every axis", "grid")

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def cells(self) -> int:
        return math.prod(self.shape)

    @property
    def width(self) -> np.ndarray:
        return (np.asarray(self.high) - np.asarray(self.low)) / np.asarray(self.shape)

    @property
    def volume(self) -> float:
        """One cell's area (2-D) or volume (3-D)."""
        return float(np.prod(self.width))

    def axis_centres(self, axis: int) -> np.ndarray:
        return self.low[axis] + (np.arange(self.shape[axis]) + 0.5) * self.width[axis]

    @cached_property
    def centres(self) -> np.ndarray:
        """Every cell's centre, (cells, d), in cell order."""
        mesh = np.meshgrid(*[self.axis_centres(a) for a in range(self.dim)], indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def subsample_points(self, subsamples: int) -> np.ndarray:
        """`subsamples`^d evenly spaced points in every cell, (cells, subsamples^d, d)."""
        offsets = (np.arange(subsamples) + 0.5) / subsamples - 0.5
        mesh = np.meshgrid(*[offsets] * self.dim, indexing="ij")
        local = np.stack([m.ravel() for m in mesh], axis=1) * self.width
        return self.centres[:, None, :] + local[None, :, :]


def minibatches(n_data: int, batch_size: int) -> list[tuple[tuple[int, ...], float]]:
    """Every minibatch one SGD step can draw, with its probability: batch_size distinct datapoints, uniformly.

    (Within a step the picks are distinct, as the SGD walkers draw them; "with or without replacement" is about
    steps: each step draws afresh, or an epoch goes through the shuffled data, see `epoch_operator`.)
    """
    if not 1 <= batch_size <= n_data:
        raise WorldError(f"batch_size: expected 1..{n_data} (the number of datapoints), got {batch_size}",
                         "batch_size")
    subsets = list(itertools.combinations(range(n_data), batch_size))
    return [(s, 1.0 / len(subsets)) for s in subsets]


def step_operator(landscape: DataLosses, temperature: float, grid: Grid, moves: list[tuple[tuple[int, ...], float]],
                  subsamples: int = 2) -> sp.csc_matrix:
    """The column-stochastic operator P (targets x sources) of one step that draws batch B with probability p_B.

    Columns are source cells: m_{t+1} = P m_t. Memory: cells * len(moves) * subsamples^d * 2^d entries.
    """
    if landscape.dim != grid.dim:
        raise WorldError(f"grid: expected {landscape.dim} dimensions (the landscape's), got {grid.dim}", "grid")
    if subsamples < 1:
        raise WorldError(f"subsamples: expected >= 1, got {subsamples}", "subsamples")
    points = grid.subsample_points(subsamples)  # (cells, s, d)
    per_cell = points.shape[1]
    grads = landscape.gradients(points)  # (n_data, cells, s, d)
    if not np.all(np.isfinite(grads)):
        raise WorldError("the landscape's gradient is not finite somewhere on the grid: shrink the box", "grid")
    low, width = np.asarray(grid.low, dtype=np.float64), grid.width
    shape = np.asarray(grid.shape, dtype=np.int64)
    targets, weights = [], []
    for batch, probability in moves:
        landed = points - temperature * grads[list(batch)].mean(axis=0)
        t, w = kernel.cloud_in_cell_nd(landed.reshape(-1, grid.dim), np.full(landed.shape[0] * per_cell,
                                       probability / per_cell), low, width, shape)
        targets.append(t.reshape(grid.cells, -1))
        weights.append(w.reshape(grid.cells, -1))
    t = np.concatenate(targets, axis=1)  # (cells, entries per source cell): column-major order for CSC
    w = np.concatenate(weights, axis=1)
    indptr = np.arange(grid.cells + 1, dtype=np.int64) * t.shape[1]
    P = sp.csc_matrix((w.ravel(), t.ravel(), indptr), shape=(grid.cells, grid.cells))
    P.sum_duplicates()
    P.eliminate_zeros()
    return P


def epoch_operator(operators: dict[tuple[int, ...], sp.spmatrix], n_data: int, batch_size: int) -> sp.csc_matrix:
    """One epoch without replacement: the data shuffled, cut into n/k batches, each batch one step, averaged.

    E(S) = mean over the batches B in S of E(S minus B) P_B, E(empty) = I; S is the set of datapoints not yet
    drawn this epoch, so the state the chain carries within an epoch is (cell, S), summed here over the orders.
    """
    if n_data % batch_size:
        raise WorldError(f"batch_size: an epoch without replacement needs it to divide the {n_data} datapoints, "
                         f"got {batch_size}", "batch_size")
    cells = next(iter(operators.values())).shape[0]
    memo: dict[frozenset[int], sp.csc_matrix] = {frozenset(): sp.identity(cells, format="csc")}

    def remaining(left: frozenset[int]) -> sp.csc_matrix:
        if left not in memo:
            batches = list(itertools.combinations(sorted(left), batch_size))
            total = sum(remaining(left - set(b)) @ operators[b] for b in batches)
            memo[left] = (total / len(batches)).tocsc()
        return memo[left]

    return remaining(frozenset(range(n_data)))


@dataclass(frozen=True)
class Chain:
    """One step (or one epoch) of SGD on a grid: P on every cell, and which cells absorb."""

    grid: Grid
    matrix: sp.csc_matrix  # targets x sources, column-stochastic (the box keeps everything)
    absorbing: np.ndarray  # (cells,) bool: cells inside the escape region
    steps: int = 1  # SGD steps one application of `matrix` makes (n/k for an epoch)

    @property
    def transient(self) -> np.ndarray:
        return np.flatnonzero(~self.absorbing)


def solve(A: sp.spmatrix, b: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """x with A x = b for A = I - (part of a chain): BiCGSTAB, else LGMRES, else a sparse LU; checked by residual.

    On the 84,000-cell saddle (T = 0.09) BiCGSTAB takes 0.12 s, LGMRES 2.1 s and SuperLU over 20 s (its fill-in
    grows fast on a 2-D grid); BiCGSTAB can break down, so each answer is checked before it is used.
    """
    A = sp.csr_matrix(A)
    scale = float(np.abs(b).max())
    for method in (bicgstab, lgmres):
        x, _ = method(A, b, rtol=rtol, atol=0.0, maxiter=20_000 if method is bicgstab else 500)
        if np.all(np.isfinite(x)) and np.abs(A @ x - b).max() <= 1e-7 * scale:
            return x
    return splu(A.tocsc()).solve(b)
