"""An optimization algorithm (Tunador (2023), §2.2): one row of its world's per-algorithm arrays, seen as a Mesa
agent."""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np
from _fastcore.vecmath import log, sin_cos_2pi


class OptimizationAlgorithm(mesa.Agent):
    """An algorithm A with the paper's five traits N, S, V, G, R; a view on row `row` of its model's arrays.

    Its explorers are the rows `model.owner == row` of `model.position` (contiguous, in birth order).
    `step()` is the readable reference for `_fastcore.explorers.step_explorers`: the same move, the same
    floating-point order and the same draws from `model.rng`, for this algorithm's explorers.
    """

    def __init__(self, model: Any, row: int) -> None:
        super().__init__(model)
        self.row = row

    # --- the paper's traits (Tunador (2023), §2.2; docs/metaopt.md) -------------------------------

    @property
    def n_explorers(self) -> int:
        """N: how many explorers (points in F) it moves, each costing one evaluation per step."""
        return int(self.model.n_explorers[self.row])

    @property
    def stochasticity_angle(self) -> float:
        """S in degrees: the angle between a move and the descent direction -∇L (0 = gradient descent, 90 = blind)."""
        return float(self.model.angle[self.row])

    @property
    def speed(self) -> float:
        """V: the length of every move."""
        return float(self.model.speed[self.row])

    @property
    def generality(self) -> float:
        """G in [0, 1] ({0, 1} in the binary model): how far from its birthplace it works."""
        return float(self.model.generality[self.row])

    @property
    def reproduction_rate(self) -> float:
        """R: the probability of spawning an algorithm at each point an explorer visits (scalar model)."""
        return float(self.model.reproduction[self.row])

    @property
    def birthplace(self) -> np.ndarray:
        return self.model.birthplace[self.row]

    @property
    def generation(self) -> int:
        """Its depth in the lineage: 0 for an algorithm the scenario placed, parent's + 1 for an offspring."""
        return int(self.model.generation[self.row])

    @property
    def parent(self) -> int:
        """The unique_id of the algorithm that spawned it, or -1."""
        return int(self.model.parent[self.row])

    @property
    def explorer_rows(self) -> np.ndarray:
        """Indices of its explorers in the model's explorer arrays."""
        start = int(self.model.explorer_start[self.row])
        return np.arange(start, start + self.n_explorers)

    @property
    def positions(self) -> np.ndarray:
        """Its explorers' positions, (N, d): a view, so writes go to the model's array."""
        start = int(self.model.explorer_start[self.row])
        return self.model.position[start:start + self.n_explorers]

    @property
    def propagation(self) -> float:
        """φ(A, t) at the last step (normalised terms; see docs/metaopt.md), NaN before its first step."""
        return float(self.model.phi[self.row])

    # --- the reference step ---------------------------------------------------------------------

    def step(self) -> None:
        """Move each explorer once: x += V (cos S d + sin S u); record L, the niche, and the spawn draw.

        Same order as `_fastcore.explorers`: per explorer, 2 ceil(d/2) uniforms for Box-Muller normals, then
        one spawn uniform; L and ∇L where the explorer stands; blind (S = 90°) outside the niche.
        """
        model = self.model
        a = self.row
        landscape = model.landscape
        d = landscape.dim
        pairs = (d + 1) // 2
        cos_s, sin_s = float(model.cos_angle[a]), float(model.sin_angle[a])
        step = float(model.speed[a])
        radius2 = float(model.niche_radius2[a])
        p1, p2 = float(model.p_first[a]), float(model.p_second[a])
        birth = [float(b) for b in model.birthplace[a]]
        for i in self.explorer_rows:
            x = [float(v) for v in model.position[i]]
            value, g = landscape.point_value_and_gradient(x)
            model.values[i] = value
            z = [0.0] * (2 * pairs)
            for j in range(pairs):
                u1, u2 = model.rng.random(), model.rng.random()
                radius = math.sqrt(-2.0 * log(1.0 - u1))  # the kernel's log, sin(2πu), cos(2πu)
                sin_u, cos_u = sin_cos_2pi(u2)
                z[2 * j] = radius * cos_u
                z[2 * j + 1] = radius * sin_u
            v = model.rng.random()
            gn, zg, r2 = 0.0, 0.0, 0.0
            for k in range(d):
                gn = gn + g[k] * g[k]
                zg = zg + z[k] * g[k]
                if radius2 >= 0:
                    diff = x[k] - birth[k]
                    r2 = r2 + diff * diff
            inside = radius2 < 0 or r2 <= radius2
            c, s = (cos_s, sin_s) if inside else (0.0, 1.0)
            gn = math.sqrt(gn)
            if gn > 0:
                proj = -zg / gn  # z . d, d = -g / gn
                un = 0.0
                for k in range(d):
                    z[k] = z[k] - proj * (-g[k] / gn)
                    un = un + z[k] * z[k]
                un = math.sqrt(un)
                new = [x[k] + step * (c * (-g[k] / gn) + s * (z[k] / un if un > 0 else 0.0)) for k in range(d)]
            else:
                zn = 0.0
                for k in range(d):
                    zn = zn + z[k] * z[k]
                zn = math.sqrt(zn)
                new = [x[k] + step * (z[k] / zn if zn > 0 else 0.0) for k in range(d)]
            model.position[i] = new
            model.inside[i] = inside
            model.spawn[i] = 1 if v < p1 else 2 if v < p1 + p2 else 0
