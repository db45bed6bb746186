"""The probability-current world: the walker density four ways, side by side ("SGD Understood through
Probability Current"; see docs/density.md).

On one 1-D landscape and one step size T, the same start evolves as
1. Monte Carlo walkers (the SGD world this one extends: the ground truth at finite T),
2. the exact discrete-time chain (`chain`: the transfer operator of the SGD map),
3. the Itô Fokker-Planck equation (`fokker_planck`), and the essay's printed master equation
   (`printed_master`), both by the Scharfetter-Gummel finite-volume solver,
4. the essay's pre-continuum rule (`gaussian_rule`: mass at W moves to Normal(W - T G, T^2 S^2)).
One model step is one SGD step for all of them. An escape region (`above`/`below`) becomes the
grid's absorbing edge, so escape-time distributions and mean escape times compare directly.
"""


from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from models.density.fokker_planck import FokkerPlanck, Grid, stationary_density
from models.density.params import DensityParams, grid_edges
from models.density.transfer import Chain, cloud_in_cell, gaussian_rule_chain, transfer_chain
from models.sgd.model import SGDModel

LEAK_TOLERANCE = 1e-6  # mass that reaches a reflecting edge beyond this is reported as a warning


class DensityModel(SGDModel):
    """Monte Carlo walkers and the chain, Fokker-Planck, printed-master and Gaussian-rule densities, stepped
    together."""

    Params = DensityParams  # type: ignore[assignment]

    def _setup_more(self) -> None:
        p: DensityParams = self.params  # type: ignore[assignment]
        (low, self.low_boundary), (high, self.high_boundary) = grid_edges(p)
        self.grid = Grid(float(low), float(high), p.grid.cells)  # type: ignore[arg-type]
        self.T = float(self.temperature[0])
        self.start_masses, dropped = self._start_masses()
        self.operators: dict[str, Chain | FokkerPlanck] = {}
        for name in p.descriptions:
            self.operators[name] = self._operator(name)
        self.masses = {name: self.start_masses.copy() for name in p.descriptions}
        self.escaped_per_step: dict[str, list[float]] = {name: [] for name in p.descriptions}
        self.kept_at_edges = dict.fromkeys(p.descriptions, 0.0)  # mass that stepped past a reflecting edge
        self.warnings: list[str] = self._range_warnings()
        if dropped > LEAK_TOLERANCE:
            self.warnings.insert(0, f"{dropped:.2e} of the start distribution lies outside the grid and is dropped")

    def _operator(self, name: str) -> Chain | FokkerPlanck:
        ls, T, g, lo, hi = self.landscape, self.T, self.grid, self.low_boundary, self.high_boundary
        if name == "chain":
            return transfer_chain(ls, T, g, lo, hi, self.params.subsamples)  # type: ignore[arg-type]
        if name == "gaussian_rule":
            return gaussian_rule_chain(ls, T, g, lo, hi)  # type: ignore[arg-type]
        form = "ito" if name == "fokker_planck" else "printed"
        return FokkerPlanck.build(ls, T, g, form, lo, hi)  # type: ignore[arg-type]

    def _start_masses(self) -> tuple[np.ndarray, float]:
        """The walkers' start distribution on the grid (a point split between its two nearest centres), and
        the fraction of it outside the grid."""
        start, g = self.params.start, self.grid
        if start.normal is not None:
            mean, sd = float(np.ravel(start.normal.mean)[0]), start.normal.sd
            masses = np.diff(norm.cdf((g.faces - mean) / sd))
        elif start.uniform is not None:
            a, b = float(np.ravel(start.uniform.low)[0]), float(np.ravel(start.uniform.high)[0])
            masses = np.clip(np.minimum(g.faces[1:], b) - np.maximum(g.faces[:-1], a), 0.0, None)
        else:
            point = float(self.start_position[0, 0])
            t, _, w, _ = cloud_in_cell(np.zeros(1, dtype=np.int64), np.array([point]), np.ones(1), g, True, True)
            masses = np.zeros(g.cells)
            np.add.at(masses, t, w)
        total = masses.sum()
        if not total > 0.5:
            raise ValueError(f"the start distribution lies mostly outside the grid [{g.low}, {g.high}]")
        return masses / total, 1.0 - float(total)

    def _range_warnings(self) -> list[str]:
        """Stated limits: the diffusion approximation far outside its range, and a grid too coarse for one step."""
        out = []
        x = self.grid.centres[:, None]  # positions (cells, 1): a start in one cell is one position, not one point
        where = self.start_masses > 1e-6
        move = self.T * np.maximum(np.abs(self.landscape.mean_gradient(x[where])[:, 0]),
                                   np.sqrt(self.landscape.gradient_variance(x[where])))
        if move.max() < 4 * self.grid.width:
            out.append(f"one step moves the start's mass by at most {move.max():.3g}, under 4 cells of width "
                       f"{self.grid.width:.3g}: the grid's resolution (the chain's split adds up to width^2/4 of "
                       "variance a step) can dominate the densities; refine the grid")
        dG = np.gradient(self.landscape.mean_gradient(x)[:, 0], x[:, 0])
        worst = float(np.max(np.abs(self.T * dG)))
        if worst > 0.5 and {"fokker_planck", "printed_master"} & set(self.params.descriptions):
            out.append(f"the diffusion approximation is far outside its range: T |G'| reaches {worst:.2f} "
                       "(it assumes T |G'| << 1); trust the chain and Monte Carlo here")
        return out

    def _advance_more(self) -> None:
        sub = self.params.fp_substeps
        for name, op in self.operators.items():
            masses = self.masses[name]
            if isinstance(op, Chain):
                self.kept_at_edges[name] += float(np.dot(op.kept_outside, masses))
                lost = float(op.step(masses, 1)[0])
            else:
                out_low, out_high = op.step(masses, 1.0 / sub, sub)
                lost = float(out_low.sum() + out_high.sum())
            self.escaped_per_step[name].append(lost)
        for name, kept in self.kept_at_edges.items():
            message = f"{name}: {kept:.2e} of the mass stepped past a reflecting edge (kept there): widen the grid"
            if kept > LEAK_TOLERANCE and not any(w.startswith(f"{name}: ") and "stepped past" in w
                                                 for w in self.warnings):
                self.warnings.append(message)
        for name, masses in self.masses.items():
            edge = masses[0] if self.low_boundary == "reflecting" else 0.0
            edge = max(edge, masses[-1] if self.high_boundary == "reflecting" else 0.0)
            message = f"{name}: mass is piling up at a reflecting edge: widen the grid"
            if edge > 1e-4 and message not in self.warnings:
                self.warnings.append(message)

    def moments(self, name: str) -> tuple[float, float, float]:
        """(mean, sd, mass remaining) of a description's density."""
        m = self.masses[name]
        total = float(m.sum())
        if total <= 0:
            return float("nan"), float("nan"), 0.0
        x = self.grid.centres
        mean = float(np.dot(m, x) / total)
        return mean, float(math.sqrt(max(np.dot(m, (x - mean) ** 2) / total, 0.0))), total

    def surviving_positions(self) -> np.ndarray:
        """Walker positions comparable with the densities: with an absorbing edge, only those not yet escaped."""
        if self.escape_region.defined:
            return self.position[self.escape_step < 0, 0]
        return self.position[:, 0]

    def _reporters(self) -> dict[str, Any]:
        reporters = super()._reporters()
        reporters["monte_carlo_mean"] = lambda m: float(np.mean(m.surviving_positions())) if len(
            m.surviving_positions()) else float("nan")
        reporters["monte_carlo_std"] = lambda m: float(np.std(m.surviving_positions())) if len(
            m.surviving_positions()) else float("nan")
        reporters["monte_carlo_survival"] = lambda m: len(m.surviving_positions()) / m.n_walkers
        for name in self.params.descriptions:
            reporters[f"{name}_mean"] = lambda m, n=name: m.moments(n)[0]
            reporters[f"{name}_std"] = lambda m, n=name: m.moments(n)[1]
            reporters[f"{name}_survival"] = lambda m, n=name: m.moments(n)[2]
        return reporters

    def mean_escape_times(self) -> dict[str, float]:
        """Mean escape time (steps) from the start, per description (inf where nothing absorbs)."""
        out = {}
        for name, op in self.operators.items():
            if isinstance(op, Chain):
                out[name] = op.mean_escape_time(self.start_masses)
            else:
                out[name] = op.mean_exit_time(self.start_masses)
        return out

    def density_table(self) -> pd.DataFrame:
        """Densities on the grid now (mass per unit W), per description, and the walkers' histogram."""
        g = self.grid
        frame: dict[str, Any] = {"W": g.centres}
        for name, m in self.masses.items():
            frame[name] = m / g.width
        # Walkers not yet escaped, over all walkers: it integrates to the surviving fraction, as the densities do.
        counts, _ = np.histogram(self.surviving_positions(), bins=g.faces)
        frame["monte_carlo"] = counts / (self.n_walkers * g.width)
        return pd.DataFrame(frame)

    def escape_time_table(self) -> pd.DataFrame:
        """Mass escaping at each step, per description, beside the walkers' first-escape histogram."""
        steps = np.arange(1, self.steps + 1)
        frame: dict[str, Any] = {"step": steps}
        for name, lost in self.escaped_per_step.items():
            frame[name] = np.asarray(lost)
        counts = np.bincount(self.escape_step[self.escape_step > 0], minlength=self.steps + 1)[1: self.steps + 1]
        frame["monte_carlo"] = counts / self.n_walkers
        return pd.DataFrame(frame)

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = super().tables()
        tables["densities"] = self.density_table()
        if self.low_boundary == "absorbing" or self.high_boundary == "absorbing":
            tables["escape_times"] = self.escape_time_table()
        return tables

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out["grid"] = {"low": self.grid.low, "high": self.grid.high, "cells": self.grid.cells,
                       "low_edge": self.low_boundary, "high_edge": self.high_boundary}
        W = self.surviving_positions()
        out["descriptions"] = {"monte_carlo": {"mean": float(W.mean()) if len(W) else float("nan"),
                                               "std": float(W.std()) if len(W) else float("nan"),
                                               "survival": float(np.mean(self.escape_step < 0))}}
        for name in self.masses:
            mean, sd, mass = self.moments(name)
            out["descriptions"][name] = {"mean": mean, "std": sd, "survival": mass}
        if self.low_boundary == "absorbing" or self.high_boundary == "absorbing":
            times = self.mean_escape_times()
            escaped = self.escape_step[self.escape_step >= 0]
            mc = {"walkers_escaped": len(escaped), "of": self.n_walkers}
            if len(escaped) == self.n_walkers:
                mc["mean"] = float(escaped.mean())
                mc["stderr"] = float(escaped.std() / math.sqrt(len(escaped)))
            out["mean_escape_time"] = {**times, "monte_carlo": mc}
        else:
            x = self.grid.centres
            try:
                for form in ("ito", "printed_end_state"):
                    p = stationary_density(self.landscape, self.T, x, form)
                    mean = float(np.trapezoid(p * x, x))
                    sd = float(math.sqrt(np.trapezoid(p * (x - mean) ** 2, x)))
                    out.setdefault("stationary_closed_form", {})[form] = {"mean": mean, "std": sd}
            except ValueError as exc:
                out["stationary_closed_form"] = f"not defined: {exc}"
        warnings = list(self.warnings)
        if len(W) > 1 and W.std() < 3 * self.grid.width:
            warnings.append(f"the walkers' spread is {W.std() / self.grid.width:.1f} cells: below what the grid "
                            "resolves, so the densities show the grid, not the dynamics; refine the grid")
        for name in self.masses:
            sd = self.moments(name)[1]
            if sd < 3 * self.grid.width:
                warnings.append(f"{name}: the density is only {sd / self.grid.width:.1f} cells wide: the grid "
                                "limits it; refine the grid")
        for name, value in out.get("mean_escape_time", {}).items():
            if isinstance(value, float) and math.isfinite(value) and value > 1e13:
                warnings.append(f"{name}: a mean escape time above 1e13 steps is beyond what double precision "
                                "resolves here: read it as > 1e13")
        out["warnings"] = warnings
        return out

