"""The SGD-walker world ("Modelling and Understanding SGD"; docs/sgd.md).

Walkers descend a landscape of per-datapoint losses with step size T (the essay's
"temperature"): GD follows the mean gradient G, SGD one datapoint (or a minibatch of k)
picked uniformly per step. Walkers are independent, so one world can hold several
temperatures side by side (`temperature: [..]` or a grid): an escape-probability curve
over T is one run. Each walker records the first step at which it entered the escape
region (the essay's "escaping the pit").

State lives here as arrays, one row per walker; `agents.SGDWalker` objects are views on
those rows, and `_fastcore.walkers.step_walkers` advances every row at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from _fastcore import walkers as kernel
from _fastcore.threads import kernel_threads
from agents.sgd import SGDWalker
from models.errors import WorldError
from models.landscapes import MEAN
from models.sgd.consecutive_steps import consecutive_steps, run_probability
from models.sgd.params import EscapeRegion, SGDParams
from models.world import World

AGENT_OBJECTS_AUTO_LIMIT = 100_000  # above this many walkers, run without one Mesa agent per walker


RUNAWAY = 1e150  # |W| past which a squared distance overflows: no landscape's scale is there


class DivergenceError(WorldError):
    """A walker's position became infinite or NaN, or ran away past RUNAWAY (the step size is too large)."""


class SGDModel(World):
    """Walkers doing GD or SGD on a landscape; records first-escape steps.

    Randomness, in order: Mesa's own seeding, then the start positions (if random), then one draw
    that seeds the walkers' block streams (`_fastcore.walkers.block_streams`), from which every step draws.
    """

    Params = SGDParams

    def __init__(self, params: SGDParams | dict | None = None, *, rng: Any = None, **overrides: Any) -> None:
        super().__init__(params, rng=rng, **overrides)
        p = self.params
        self.landscape = p.landscape.build()
        self.escape_region = EscapeRegion.from_spec(p.escape, self.landscape)
        self.method_code = {"gd": kernel.METHOD_GD, "sgd": kernel.METHOD_SGD, "datapoint": kernel.METHOD_DATAPOINT}[
            p.method
        ]
        self.datapoint_index = self.landscape.index(p.datapoint) if p.datapoint is not None else 0

        temps = p.temperatures()
        n = p.n_walkers * len(temps)
        self.temperature = np.repeat(np.asarray(temps, dtype=np.float64), p.n_walkers)
        self.position = np.ascontiguousarray(p.start.sample(self.landscape, n, self.rng))
        self.start_position = self.position.copy()
        self.escape_step = np.where(self.escape_region.contains_all(self.position), 0, -1).astype(np.int64)
        self.streams = kernel.block_streams(self.rng, n)  # walker i draws from streams[i // kernel.BLOCK]
        self.threads = kernel_threads()  # OpenMP threads for the kernel; every number is the same for any count

        use_objects = p.agent_objects if p.agent_objects is not None else n <= AGENT_OBJECTS_AUTO_LIMIT
        self.walkers: list[SGDWalker] = [SGDWalker(self, i) for i in range(n)] if use_objects else []

        self._trajectory: list[np.ndarray] = []
        self._setup_more()
        self.collect_from(self._reporters())

    def _setup_more(self) -> None:
        """A hook for worlds built on this one (the density world adds its densities here)."""

    def _advance_more(self) -> None:
        """A hook run after the walkers' step, before data are collected."""

    def _reporters(self) -> dict[str, Any]:
        """The DataCollector's model reporters."""
        return {  # a diverging walker is reported by step(); these must not warn about it first
            "mean_W": lambda m: float(m.position[:, 0].mean()),
            "std_W": lambda m: float(m.position[:, 0].std()),
            "mean_loss": lambda m: float(m.landscape.mean_loss(m.position).mean()),
            "escaped_fraction": lambda m: float(np.mean(m.escape_step >= 0)),
        }

    @property
    def n_walkers(self) -> int:
        return len(self.position)

    def collect(self) -> None:
        """A DataCollector row, and the first `trajectories` walkers' positions."""
        with np.errstate(over="ignore", invalid="ignore"):
            self.datacollector.collect(self)
        k = self.params.trajectories
        if k:
            self._trajectory.append(self.position[:k].copy())

    def step(self) -> None:
        """One SGD (or GD) step for every walker, by the chosen engine."""
        p = self.params
        if p.engine == "kernel":
            bad = kernel.step_walkers(
                self.position, self.temperature, self.escape_step, self.landscape.kernel_arrays(), self.streams,
                self.method_code, p.batch_size, self.datapoint_index, 1, self.steps,
                self.escape_region.kind, self.escape_region.axis, self.escape_region.threshold,
                self.escape_region.center, p.stop_at_escape, self.threads,
            )
        elif p.engine == "numpy":
            with np.errstate(over="ignore", invalid="ignore"):
                bad = self._step_numpy()
        else:
            for walker in self.walkers:
                walker.step()
            finite = np.isfinite(self.position).all(axis=1)
            bad = -1 if finite.all() else int(np.argmin(finite))
        if bad >= 0:
            raise DivergenceError(
                f"walker {bad} (T = {self.temperature[bad]:g}) left the finite numbers at step {self.steps}: "
                "the step size is too large for this landscape"
            )
        self._advance_more()
        if self.steps % p.collect_every == 0:
            self._refuse_runaways()
            self.collect()
        if p.stop_at_escape and self.escape_region.defined and np.all(self.escape_step >= 0):
            self.running = False

    def _refuse_runaways(self) -> None:
        """A walker past |W| = RUNAWAY has diverged even if it is still finite: its loss and the run's statistics
        overflow from there, so the run fails here, naming it, instead of reporting infinities."""
        if not np.abs(self.position).max(initial=0.0) > RUNAWAY:
            return
        walker = int(np.argmax(np.abs(self.position).max(axis=1)))
        raise DivergenceError(f"walker {walker} (T = {self.temperature[walker]:g}) reached |W| = "
                              f"{np.abs(self.position[walker]).max():.3g} by step {self.steps}, past {RUNAWAY:g}: the "
                              "step size is too large for this landscape")

    def _step_numpy(self) -> int:
        """The same update as numpy array operations (the benchmark's middle variant)."""
        p, ls = self.params, self.landscape
        active = np.arange(self.n_walkers)
        if p.stop_at_escape:
            active = np.flatnonzero(self.escape_step < 0)
        W = self.position[active]
        if p.method == "gd":
            step = ls.mean_gradient(W)
        elif p.method == "datapoint":
            step = ls.gradient(W, self.datapoint_index)
        else:
            grads = ls.gradients(W)  # (n_data, n, d)
            n_data, k = ls.n_data, p.batch_size
            per_block = np.bincount(active // kernel.BLOCK, minlength=len(self.streams))
            u = np.concatenate([stream.random((m, k)) for stream, m in zip(self.streams, per_block, strict=True)])
            idx = np.tile(np.arange(n_data), (len(active), 1))
            rows = np.arange(len(active))
            total = np.zeros_like(W)
            for b in range(k):
                r = np.minimum(b + (u[:, b] * (n_data - b)).astype(np.int64), n_data - 1)
                idx[rows, b], idx[rows, r] = idx[rows, r], idx[rows, b].copy()
                total += grads[idx[:, b], rows]
            step = total / k
        W = W - self.temperature[active, None] * step
        self.position[active] = W
        newly = (self.escape_step[active] < 0) & self.escape_region.contains_all(W)
        self.escape_step[active[newly]] = self.steps
        finite = np.isfinite(W).all(axis=1)
        return -1 if finite.all() else int(active[np.argmin(finite)])

    # --- results -------------------------------------------------------------------------

    def horizons(self) -> list[int]:
        """Step counts at which escape probabilities are reported: powers of ten up to the steps run, and the last;
        up to the scenario's steps if every walker escaped before them (then every later probability is 1), so that
        the points of a scan report the same horizons."""
        last = self.steps
        if self.planned_steps and self.escape_region.defined and np.all(self.escape_step >= 0):
            last = max(last, self.planned_steps)
        out = [10**k for k in range(1, 12) if 10**k <= last]
        return sorted(set([*out, last])) if last > 0 else []

    def escape_table(self) -> pd.DataFrame:
        """P(escaped within N steps) per temperature and horizon N, with its Monte Carlo standard error."""
        rows = []
        for T in np.unique(self.temperature):
            steps = self.escape_step[self.temperature == T]
            for N in self.horizons():
                prob = float(np.mean((steps >= 0) & (steps <= N)))
                rows.append({
                    "temperature": float(T), "horizon": N, "walkers": len(steps), "escape_probability": prob,
                    "stderr": math.sqrt(prob * (1 - prob) / len(steps)),
                })
        return pd.DataFrame(rows, columns=["temperature", "horizon", "walkers", "escape_probability", "stderr"])

    def walker_table(self) -> pd.DataFrame:
        """Final state, one row per walker."""
        cols = {"walker": np.arange(self.n_walkers), "temperature": self.temperature}
        for k in range(self.landscape.dim):
            cols[f"start_W{k}"] = self.start_position[:, k]
            cols[f"W{k}"] = self.position[:, k]
        cols["escape_step"] = self.escape_step
        return pd.DataFrame(cols)

    def trajectory_table(self) -> pd.DataFrame:
        """Positions of the first `trajectories` walkers at every collected step."""
        if not self._trajectory:
            return pd.DataFrame()
        stack = np.stack(self._trajectory)  # (collections, k, d)
        n_coll, k, d = stack.shape
        steps = np.arange(n_coll) * self.params.collect_every
        frame = {"step": np.repeat(steps, k), "walker": np.tile(np.arange(k), n_coll),
                 "temperature": np.tile(self.temperature[:k], n_coll)}
        for a in range(d):
            frame[f"W{a}"] = stack[:, :, a].ravel()
        return pd.DataFrame(frame)

    def consecutive_steps_table(self, horizons: tuple[int, ...] = (100, 1000, 10000)) -> pd.DataFrame:
        """For method 'datapoint': n(T) from the forced walk, and P(a run of >= n picks of it within N picks)."""
        if self.params.method != "datapoint":
            return pd.DataFrame()
        p_pick = 1.0 / self.landscape.n_data
        rows = []
        for T in np.unique(self.temperature):
            steps = self.escape_step[self.temperature == T]
            n = int(steps[0]) if steps[0] > 0 else -1
            row: dict[str, Any] = {"temperature": float(T), "steps_to_escape": n}
            for N in horizons:
                row[f"run_probability_{N}"] = run_probability(n, N, p_pick) if n > 0 else float("nan")
            rows.append(row)
        return pd.DataFrame(rows)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table a run writes, by name."""
        tables = {
            "model": self.datacollector.get_model_vars_dataframe().rename_axis("collection").reset_index(),
            "walkers": self.walker_table(),
        }
        tables["model"].insert(1, "step", tables["model"]["collection"] * self.params.collect_every)
        if self.escape_region.defined:
            tables["escape"] = self.escape_table()
        if self.params.trajectories:
            tables["trajectories"] = self.trajectory_table()
        if self.params.method == "datapoint":
            tables["consecutive_steps"] = self.consecutive_steps_table()
        return tables

    def summary(self) -> dict[str, Any]:
        """The headline numbers of a run (JSON-ready)."""
        out: dict[str, Any] = {
            "steps": self.steps,
            "walkers": self.n_walkers,
            "temperatures": [float(t) for t in np.unique(self.temperature)],
            "mean_W": float(self.position[:, 0].mean()),
            "std_W": float(self.position[:, 0].std()),
            "mean_loss": float(self.landscape.mean_loss(self.position).mean()),
        }
        if self.escape_region.defined:
            out["escape_threshold"] = self.escape_region.threshold
            out["escaped_fraction"] = float(np.mean(self.escape_step >= 0))
            out["escape_probability"] = self.escape_table().to_dict(orient="records")
            # Over every walker (one scan point usually has one T): a column per horizon in a scan's table.
            out["escaped_within"] = {str(N): float(np.mean((self.escape_step >= 0) & (self.escape_step <= N)))
                                     for N in self.horizons()}
        if self.landscape.dim == 1:
            lo, hi = self.landscape.window()
            out["stationary_points"] = {
                name: [{"W": w, "kind": kind} for w, kind in self.landscape.stationary_points(name, lo, hi)]
                for name in [*self.landscape.names, MEAN]
            }
            out["start_W"] = float(self.start_position[0, 0]) if np.all(self.start_position == self.start_position[0]) \
                else None
        if self.params.method == "datapoint" and self.landscape.dim == 1 and self.escape_region.defined:
            table = self.consecutive_steps_table()
            out["consecutive_steps"] = table.to_dict(orient="records")
            out["positions_passed"] = {
                f"{T:g}": list(consecutive_steps(
                    self.landscape, self.datapoint_index, T, float(self.start_position[0, 0]),
                    self.escape_region.threshold).positions)
                for T in np.unique(self.temperature)
            }
        return out
