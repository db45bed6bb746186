"""The probability-current world: SGD in 2-D or 3-D as an exact chain on a grid, beside SGD walkers (docs/current.md).

"SGD Understood through Probability Current" in more than one dimension, where a stationary state can carry
a current. The chain's operator P (one SGD step, or one epoch without replacement) gives by sparse solves the
stationary density pi, its current J, the circulation and entropy production, the effective potential -T log pi,
and, with an escape region, the mean escape time from every cell and where the mass leaves. Each model step
advances the chain's density once (m <- P m) and the walkers as many SGD steps; the walkers are the Monte Carlo
check of every number the chain gives.
"""

from __future__ import annotations

import math
import time
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from _fastcore import density as kernel
from models.current import fokker_planck
from models.current.escape import escape_from, escape_time_map
from models.current.params import CurrentParams, numeric_start
from models.current.stationary import (
    circulation,
    current_field,
    diffusion_tensor,
    effective_potential,
    entropy_production,
    stationary_density,
)
from models.current.transfer import Chain, Grid, epoch_operator, minibatches, step_operator
from models.errors import WorldError
from models.sgd.model import SGDModel
from models.sgd.params import EscapeRegion
from models.world import World


class CurrentModel(World):
    """The exact chain on a grid and SGD walkers on the same landscape, step size and minibatches."""

    Params = CurrentParams

    def __init__(self, params: CurrentParams | dict | None = None, *, rng: Any = None, **overrides: Any) -> None:
        super().__init__(params, rng=rng, **overrides)
        p = self.params
        self.landscape = p.landscape.build()
        self.T = p.temperature
        self.grid = Grid(tuple(p.grid.low), tuple(p.grid.high), p.grid.shape())
        started = time.perf_counter()
        self.chain = build_chain(self.landscape, self.T, self.grid, p.batch_size, p.replacement, p.subsamples,
                                 EscapeRegion.from_spec(p.escape, self.landscape))
        self.build_seconds = time.perf_counter() - started
        self.start_mass = deposit(self.grid, numeric_start(p, self.landscape))
        if p.escape is not None and not self.start_mass[~self.chain.absorbing].sum() > 0:
            raise WorldError("the start lies inside the escape region (on this grid every cell of its mass has "
                             "escaped already); expected a start outside it", key="params.escape")
        self.mass = self.start_mass.copy()
        self.mass[self.chain.absorbing] = 0.0
        self.escaped_mass = 1.0 - self.mass.sum()
        self._operator = self.chain.matrix.tocsr()
        self.sgd_steps = 0
        # The walkers: SGD drawing each step afresh; an epoch without replacement has no walker counterpart here.
        self.walkers = None
        if p.walkers and p.replacement:
            self.walkers = SGDModel(
                {"landscape": p.landscape, "temperature": self.T, "batch_size": p.batch_size, "n_walkers": p.walkers,
                 "start": p.start, "escape": p.escape, "stop_at_escape": p.escape is not None,
                 "agent_objects": False, "collect_every": 1},
                rng=int(self.rng.integers(2**63)))
            self.swept = np.zeros(p.walkers)  # per walker, the sum of (a - c) x (b - c) over steps after burn-in
            self.swept_steps = 0
        self.collect_from({
            "sgd_steps": lambda m: m.sgd_steps,
            "chain_mass_left": lambda m: float(m.mass.sum()),
            "chain_mean_loss": lambda m: float(np.dot(m.mass, m.cell_loss) / max(m.mass.sum(), 1e-300)),
            "walkers_left": lambda m: m.walkers_left(),
        })

    @cached_property
    def cell_loss(self) -> np.ndarray:
        """L at every cell centre."""
        return self.landscape.mean_loss(self.grid.centres)

    def walkers_left(self) -> float:
        """The fraction of walkers not yet escaped (nan without walkers)."""
        if self.walkers is None:
            return float("nan")
        return float(np.mean(self.walkers.escape_step < 0))

    def step(self) -> None:
        """One application of the chain to its density, and the same number of SGD steps for the walkers."""
        self.mass = self._operator @ self.mass
        absorbed = self.mass[self.chain.absorbing].sum()
        self.mass[self.chain.absorbing] = 0.0
        self.escaped_mass += absorbed
        if self.walkers is not None:
            for _ in range(self.chain.steps):
                before = self.walkers.position.copy()
                self.walkers.step()
                if self.grid.dim == 2 and self.walkers.steps > self.params.burn_in:
                    after = self.walkers.position
                    self.swept += before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
                    self.swept_steps += 1
        self.sgd_steps += self.chain.steps
        self.collect()

    # --- what the chain gives by solves ---------------------------------------------------------

    @cached_property
    def stationary(self) -> dict[str, Any]:
        """pi, J, the effective potential, circulation (2-D) and entropy production, with the solve's time."""
        started = time.perf_counter()
        pi = stationary_density(self.chain.matrix)
        seconds = time.perf_counter() - started
        J = current_field(self.chain.matrix, pi, self.grid.centres)
        D = self.chain.steps * diffusion_tensor(self.landscape, self.T, self.grid.centres)
        return {
            "pi": pi, "current": J, "seconds": seconds,
            "potential": effective_potential(pi, self.T, self.grid.volume),
            "circulation": circulation(J, self.grid.centres) if self.grid.dim == 2 else float("nan"),
            "entropy_production": entropy_production(J, pi, D),
        }

    @cached_property
    def escape(self) -> dict[str, Any]:
        """Mean escape time from the start, the mass landing in each escape cell, and the solve's time."""
        started = time.perf_counter()
        mean, landed = escape_from(self.chain, self.start_mass)
        return {"mean": mean, "landed": landed, "seconds": time.perf_counter() - started}

    @cached_property
    def escape_map(self) -> np.ndarray:
        """The mean escape time (steps) from every cell; 0 inside the escape region."""
        return escape_time_map(self.chain)

    @cached_property
    def fokker_planck(self) -> dict[str, float] | None:
        """The 2-D Fokker-Planck equation solved on the same grid, beside the chain: its mean escape time, or its
        stationary density's total-variation distance to the chain's and its circulation (None in 3-D or for an
        epoch chain, where it is not defined)."""
        g = self.grid
        if g.dim != 2 or self.chain.steps != 1:
            return None
        A = fokker_planck.generator(self.landscape, self.T, g)
        if self.chain.absorbing.any():
            return {"mean_escape_time": fokker_planck.mean_escape_time(A, self.chain.absorbing, self.start_mass)}
        p = fokker_planck.stationary_density(A)
        return {"distance_to_chain": 0.5 * float(np.abs(p - self.stationary["pi"]).sum()),  # total variation
                "circulation": circulation(current_field(self.chain.matrix, p, g.centres), g.centres)}

    def walker_circulation(self) -> tuple[float, float]:
        """The walkers' (a x b) per step about the origin, mean and standard error over walkers (nan if none)."""
        if self.walkers is None or not self.swept_steps:
            return float("nan"), float("nan")
        per_walker = self.swept / self.swept_steps
        return float(per_walker.mean()), float(per_walker.std(ddof=1) / math.sqrt(len(per_walker)))

    # --- outputs --------------------------------------------------------------------------------

    def cell_table(self) -> pd.DataFrame:
        """Per cell: centre, loss L, the chain's density now, and (no escape region) pi, J and -T log pi."""
        g = self.grid
        frame: dict[str, Any] = {f"w{a}": g.centres[:, a] for a in range(g.dim)}
        frame["loss"] = self.cell_loss
        frame["density"] = self.mass / g.volume
        if self.chain.absorbing.any():
            frame["escape_time"] = self.escape_map
        else:
            s = self.stationary
            frame["stationary_density"] = s["pi"] / g.volume
            for a in range(g.dim):
                frame[f"current_w{a}"] = s["current"][:, a] / g.volume
            frame["effective_potential"] = s["potential"]
        return pd.DataFrame(frame)

    def exit_table(self) -> pd.DataFrame:
        """Where escapes land, along the last axis: the chain's exact share beside the walkers' (2-D)."""
        g = self.grid
        axis = g.dim - 1
        edges = g.low[axis] + np.arange(g.shape[axis] + 1) * g.width[axis]
        cells = np.flatnonzero(self.chain.absorbing)
        chain = np.bincount(np.searchsorted(edges, g.centres[cells, axis]) - 1, weights=self.escape["landed"][cells],
                            minlength=g.shape[axis])
        frame = {f"w{axis}": g.axis_centres(axis), "chain": chain / max(chain.sum(), 1e-300)}
        if self.walkers is not None:
            out = self.walkers.escape_step >= 0
            counts, _ = np.histogram(self.walkers.position[out, axis], bins=edges)
            frame["monte_carlo"] = counts / max(out.sum(), 1)
        return pd.DataFrame(frame)

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {"model": self.datacollector.get_model_vars_dataframe(), "cells": self.cell_table()}
        if self.chain.absorbing.any() and self.grid.dim == 2:
            tables["exits"] = self.exit_table()
        return tables

    def summary(self) -> dict[str, Any]:
        g = self.grid
        out: dict[str, Any] = {
            "temperature": self.T, "cells": g.cells, "grid_shape": list(g.shape),
            "nonzeros": int(self.chain.matrix.nnz), "build_seconds": self.build_seconds, "sgd_steps": self.sgd_steps,
            "steps_per_chain_step": self.chain.steps,
        }
        if self.chain.absorbing.any():
            e = self.escape
            out["mean_escape_time"] = {"chain": e["mean"], "solve_seconds": e["seconds"]}
            if self.fokker_planck is not None:
                out["mean_escape_time"]["fokker_planck"] = self.fokker_planck["mean_escape_time"]
            if self.walkers is not None:
                esc = self.walkers.escape_step
                done = esc[esc >= 0]
                mc: dict[str, Any] = {"escaped": len(done), "of": len(esc)}
                if len(done) == len(esc):
                    mc["mean"] = float(done.mean())
                    mc["stderr"] = float(done.std(ddof=1) / math.sqrt(len(done)))
                out["mean_escape_time"]["monte_carlo"] = mc
        else:
            s = self.stationary
            out["stationary"] = {
                "solve_seconds": s["seconds"], "circulation": s["circulation"],
                "entropy_production_per_step": s["entropy_production"],
                "mean_loss": float(np.dot(s["pi"], self.cell_loss)),
            }
            if self.fokker_planck is not None:
                out["stationary"]["fokker_planck"] = self.fokker_planck
            mean, se = self.walker_circulation()
            if math.isfinite(mean):
                out["stationary"]["walker_circulation"] = {"mean": mean, "stderr": se, "steps": self.swept_steps}
        return out


def build_chain(landscape: Any, temperature: float, grid: Grid, batch_size: int, replacement: bool, subsamples: int,
                escape: EscapeRegion) -> Chain:
    """The chain of one SGD step (replacement) or of one epoch through the shuffled data (no replacement)."""
    moves = minibatches(landscape.n_data, batch_size)
    absorbing = escape.contains_all(grid.centres)
    if replacement:
        return Chain(grid, step_operator(landscape, temperature, grid, moves, subsamples), absorbing)
    per_batch = {batch: step_operator(landscape, temperature, grid, [(batch, 1.0)], subsamples) for batch, _ in moves}
    if absorbing.any():
        # Mass that reaches the escape region stays there for the rest of the epoch, as a walker's escape does.
        for batch, P in per_batch.items():
            keep = P.tolil()
            for cell in np.flatnonzero(absorbing):
                keep[:, cell] = 0.0
                keep[cell, cell] = 1.0
            per_batch[batch] = keep.tocsc()
    epoch = epoch_operator(per_batch, landscape.n_data, batch_size)
    return Chain(grid, epoch, absorbing, steps=landscape.n_data // batch_size)


def deposit(grid: Grid, points: np.ndarray) -> np.ndarray:
    """Cell masses of equal-weight points, each split multilinearly between the centres around it."""
    targets, weights = kernel.cloud_in_cell_nd(np.ascontiguousarray(points, dtype=np.float64),
                                               np.full(len(points), 1.0 / len(points)), np.asarray(grid.low),
                                               grid.width, np.asarray(grid.shape, dtype=np.int64))
    return np.bincount(targets.ravel(), weights=weights.ravel(), minlength=grid.cells)
