"""The meta-optimization world (Tunador (2023), §2; docs/metaopt.md): algorithms that move, spawn, vary, propagate.

Each algorithm (an `agents.OptimizationAlgorithm`) has the paper's traits: N explorers in function space F
(R^d, `models.landscapes.FunctionLandscape`), a stochasticity angle S, a speed V, a generality G and a
reproduction R. Every step every explorer is evaluated once and moves by V at angle S to the descent
direction (the paper, §2.2.2, measures S from +∇L, which would make descent 180°; optiscape measures it from
-∇L), blind (S = 90°) outside its algorithm's niche (a ball around its birthplace whose radius grows
with G); at the point it visits, it may spawn a new algorithm there (binary model: general algorithms only,
general offspring with p_g, specific with p_s; scalar model: with probability R, offspring G ~ Beta(α(G),
β(G))). Offspring inherit N, S, V, R with variation whose size grows with the parent's G (seed footnote 2).
Propagation φ = β_φ AverageFitness + (1 - β_φ) Dispersion + γ Reproduction, each term normalised across the
living population (the paper adds raw quantities of different units and uses β twice: docs/metaopt.md); M, the
algorithm with the highest mean φ over each window, is recorded. Who spawned whom is a networkx DiGraph.

State lives here as arrays: per algorithm (one row each, `OptimizationAlgorithm` objects are views) and per
explorer (rows grouped by algorithm, in algorithm order). `_fastcore.explorers.step_explorers` moves every
explorer at once; the agents' `step()` and `step_numpy` are the references it is tested against.
"""

from __future__ import annotations

import json
import math
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from _fastcore import explorers as kernel
from _fastcore.threads import kernel_threads
from agents.metaopt import OptimizationAlgorithm
from models.errors import WorldError
from models.landscapes import TWO_PI, LandscapeError
from models.metaopt.params import MetaoptParams
from models.world import World

TRAITS = ("n_explorers", "angle", "speed", "generality", "reproduction")
TRAIT_LABELS = {"n_explorers": "N (explorers)", "angle": "S (degrees)", "speed": "V (speed)",
                "generality": "G (generality)", "reproduction": "R (reproduction)"}
# What the memory budget counts (an estimate, so that an exploding population stops before the machine does):
ALGORITHM_BYTES = 4096  # a Mesa agent, its lineage node with traits, and its per-algorithm rows
EXPLORER_OVERHEAD_BYTES = 64  # owner, value, niche flag, spawn kind, plus the numpy engine's temporaries


class PopulationBudgetError(WorldError):
    """The population grew past the memory budget: the run stops here rather than exhausting memory."""



def angle_cos_sin(degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos S and sin S for S in degrees, exact at 0° (1, 0) and 90° (0, 1), so GD and blind moves are exact."""
    radians = np.radians(degrees)
    c, s = np.cos(radians), np.sin(radians)
    c = np.where(degrees == 0, 1.0, np.where(degrees == 90, 0.0, c))
    s = np.where(degrees == 0, 0.0, np.where(degrees == 90, 1.0, s))
    return c, s


class MetaoptModel(World):
    """Populations of optimization algorithms on a function-space landscape.

    Randomness, in order: Mesa's own seeding; the scenario's birthplaces (box starts: n·d uniforms per
    algorithm group) and explorer offsets (normals, if explorer_spread > 0); then per step the explorer
    draws documented in `_fastcore.explorers`, followed, for each spawn in explorer order, by the
    offspring's draws (scalar model: one Beta; then four normals for the variation of N, S, V, R), then the
    offspring's explorer offsets (N' · d normals each, in the same order, if explorer_spread > 0); selection
    draws nothing.
    """

    Params = MetaoptParams

    def __init__(self, params: MetaoptParams | dict | None = None, *, rng: Any = None, **overrides: Any) -> None:
        super().__init__(params, rng=rng, **overrides)
        p = self.params
        self.threads = kernel_threads()  # OpenMP threads for the kernel; every number is the same for any count
        self.landscape = p.landscape.build()
        d = self.landscape.dim
        # per-algorithm rows
        self.uid = np.zeros(0, dtype=np.int64)
        self.n_explorers = np.zeros(0, dtype=np.int64)
        self.explorer_start = np.zeros(0, dtype=np.int64)
        self.angle = np.zeros(0)
        self.speed = np.zeros(0)
        self.generality = np.zeros(0)
        self.reproduction = np.zeros(0)
        self.birthplace = np.zeros((0, d))
        self.birth_step = np.zeros(0, dtype=np.int64)
        self.generation = np.zeros(0, dtype=np.int64)
        self.parent = np.zeros(0, dtype=np.int64)
        self.offspring = np.zeros(0, dtype=np.int64)
        self.phi = np.zeros(0)
        self.phi_sum = np.zeros(0)
        self.phi_count = np.zeros(0, dtype=np.int64)
        self.best_loss = np.zeros(0)  # the lowest L any of its explorers has evaluated
        self.cos_angle = self.sin_angle = self.niche_radius2 = self.p_first = self.p_second = np.zeros(0)
        # per-explorer rows
        self.position = np.zeros((0, d))
        self.owner = np.zeros(0, dtype=np.int64)
        self.values = np.zeros(0)
        self.inside = np.zeros(0, dtype=np.uint8)
        self.spawn = np.zeros(0, dtype=np.int8)

        self.algorithms: list[OptimizationAlgorithm] = []
        self.lineage = nx.DiGraph()
        self.best_value = math.inf
        self.best_point = np.full(d, np.nan)
        self.first_general_step: int | None = None
        self.takeoff_jump: float | None = None
        self.max_offspring_generality = -math.inf
        self.largest_jump = 0.0
        self.generality_records: list[tuple[int, float]] = []  # (step, G) each time an offspring beat the record
        self.spawned_last_step = self.removed_last_step = 0
        self.spawn_counts = {"first": 0, "second": 0, "visits_general": 0, "visits_specific": 0}
        self.leaders: list[dict[str, Any]] = []
        self.trait_rows: list[dict[str, Any]] = []

        for spec in p.algorithms:
            births = spec.start.sample(d, spec.count, self.rng)
            k = spec.count
            self._add_algorithms(np.full(k, spec.n_explorers), np.full(k, spec.angle), np.full(k, spec.speed),
                                 np.full(k, spec.generality), np.full(k, spec.reproduction), births, None)
        self._refresh_rows()
        self.collect_from(self._reporters())

    # --- population bookkeeping --------------------------------------------------------------

    def _estimated_bytes(self, algorithms: int, explorers: int) -> int:
        per_explorer = 2 * 8 * self.landscape.dim + EXPLORER_OVERHEAD_BYTES  # position + gradient workspace
        return algorithms * ALGORITHM_BYTES + explorers * per_explorer

    def _check_budget(self, algorithms: int, explorers: int) -> None:
        needed = self._estimated_bytes(algorithms, explorers) / 2**20
        budget = self.params.memory_budget_mb
        if needed > budget:
            raise PopulationBudgetError(
                f"population explosion at step {self.steps}: {algorithms} algorithms with {explorers} explorers "
                f"would need about {needed:,.0f} MB, past the memory budget memory_budget_mb = {budget:g} MB "
                "(raise it, lower the spawn probabilities, or set a compute_budget)", key="params.memory_budget_mb")

    def _add_algorithms(self, n: np.ndarray, angle: np.ndarray, speed: np.ndarray, generality: np.ndarray,
                        reproduction: np.ndarray, births: np.ndarray, parent_rows: np.ndarray | None) -> None:
        """Append algorithm rows (one per entry), their explorers (at the birthplace, spread if asked) and agents."""
        n = np.asarray(n, dtype=np.int64)
        count = len(n)
        if count == 0:
            return
        self._check_budget(len(self.uid) + count, len(self.owner) + int(n.sum()))
        d = self.landscape.dim
        first_row = len(self.uid)
        points = np.repeat(births, n, axis=0)
        spread = self.params.explorer_spread
        if spread > 0:
            points = points + spread * self.rng.standard_normal(points.shape)
        agents = [OptimizationAlgorithm(self, first_row + k) for k in range(count)]
        uids = np.array([a.unique_id for a in agents], dtype=np.int64)
        if parent_rows is None:
            parents, generation = np.full(count, -1, dtype=np.int64), np.zeros(count, dtype=np.int64)
        else:
            parents, generation = self.uid[parent_rows], self.generation[parent_rows] + 1
        starts = len(self.owner) + np.concatenate([[0], np.cumsum(n)[:-1]])
        grow = {"uid": uids, "explorer_start": starts, "n_explorers": n, "angle": angle, "speed": speed,
                "generality": generality, "reproduction": reproduction, "birth_step": np.full(count, self.steps),
                "generation": generation, "parent": parents, "offspring": np.zeros(count, dtype=np.int64),
                "phi": np.full(count, np.nan), "phi_sum": np.zeros(count), "phi_count": np.zeros(count, np.int64),
                "best_loss": np.full(count, np.inf)}
        for name, extra in grow.items():
            current = getattr(self, name)
            setattr(self, name, np.concatenate([current, np.asarray(extra, dtype=current.dtype)]))
        self.birthplace = np.concatenate([self.birthplace, births.reshape(count, d)])
        total = int(n.sum())
        self.position = np.concatenate([self.position, points])
        self.owner = np.concatenate([self.owner, np.repeat(np.arange(first_row, first_row + count), n)])
        self.values = np.concatenate([self.values, np.full(total, np.nan)])
        self.inside = np.concatenate([self.inside, np.zeros(total, dtype=np.uint8)])
        self.spawn = np.concatenate([self.spawn, np.zeros(total, dtype=np.int8)])
        self.algorithms.extend(agents)
        self.max_generation = max(getattr(self, "max_generation", 0), int(generation.max()))
        for k in range(count):
            uid = int(uids[k])
            self.lineage.add_node(uid, born=int(self.steps), died=-1, generation=int(generation[k]),
                                  parent=int(parents[k]), n_explorers=int(n[k]), angle=float(angle[k]),
                                  speed=float(speed[k]), generality=float(generality[k]),
                                  reproduction=float(reproduction[k]),
                                  birthplace=json.dumps([round(float(v), 6) for v in births[k]]))
            if parents[k] >= 0:
                self.lineage.add_edge(int(parents[k]), uid, step=int(self.steps))

    def _refresh_rows(self) -> None:
        """Per-algorithm quantities the kernel reads, derived from the traits."""
        p = self.params
        self.cos_angle, self.sin_angle = angle_cos_sin(self.angle)
        radius = p.niche.radius(self.generality)
        self.niche_radius2 = np.where(np.isinf(radius), -1.0, radius * radius)
        if p.generality_model == "binary":
            general = self.generality >= 1.0
            self.p_first = np.where(general, p.p_general, 0.0)
            self.p_second = np.where(general, p.p_specific, 0.0)
        else:
            rate = self.reproduction * self.generality if p.reproduction_from_generality else self.reproduction
            self.p_first = np.ascontiguousarray(rate, dtype=np.float64)
            self.p_second = np.zeros(len(self.uid))
        self.owner = np.ascontiguousarray(self.owner)
        self.position = np.ascontiguousarray(self.position)

    def _remove_rows(self, rows: np.ndarray) -> None:
        """Remove algorithms (and their explorers and Mesa agents); rows and explorer order stay in birth order."""
        if len(rows) == 0:
            return
        keep = np.ones(len(self.uid), dtype=bool)
        keep[rows] = False
        for row in rows:
            self.lineage.nodes[int(self.uid[row])]["died"] = int(self.steps)
            self.algorithms[row].remove()
        keep_explorers = keep[self.owner]
        for name in ("uid", "n_explorers", "angle", "speed", "generality", "reproduction", "birthplace",
                     "birth_step", "generation", "parent", "offspring", "phi", "phi_sum", "phi_count", "best_loss"):
            setattr(self, name, getattr(self, name)[keep])
        new_row = np.cumsum(keep) - 1
        for name in ("position", "values", "inside", "spawn"):
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[keep_explorers]))
        self.owner = np.ascontiguousarray(new_row[self.owner[keep_explorers]])
        self.explorer_start = np.concatenate([[0], np.cumsum(self.n_explorers)[:-1]]).astype(np.int64)
        self.algorithms = [a for a, k in zip(self.algorithms, keep, strict=True) if k]
        for row, agent in enumerate(self.algorithms):
            agent.row = row
        self.removed_last_step += len(rows)
        self._refresh_rows()

    # --- one step ------------------------------------------------------------------------------

    def step(self) -> None:
        """Evaluate and move every explorer, spawn, compute φ, select; then collect."""
        p = self.params
        self.spawned_last_step = self.removed_last_step = 0
        if len(self.uid) == 0:
            self.running = False
            return
        self._evaluated_at = self.position.copy()
        if p.engine == "kernel":
            given = {}
            if self.landscape.function == "expression":
                values, gradients = self.landscape.value_and_gradient(self.position)
                given = {"given_values": np.ascontiguousarray(values),
                         "given_gradients": np.ascontiguousarray(gradients)}
            bad = kernel.step_explorers(
                self.position, self.owner, self.cos_angle, self.sin_angle, self.speed, self.birthplace,
                self.niche_radius2, self.p_first, self.p_second, self.landscape.kernel_arrays(), self.rng,
                self.values, self.inside, self.spawn, **given, threads=self.threads)
        elif p.engine == "numpy":
            bad = step_numpy(self)
        else:
            for agent in self.algorithms:
                agent.step()
            finite = np.isfinite(self.position).all(axis=1)
            bad = -1 if finite.all() else int(np.argmin(finite))
        if bad >= 0 or not np.all(np.isfinite(self.values)):
            where = bad if bad >= 0 else int(np.argmin(np.isfinite(self.values)))
            raise LandscapeError(f"explorer {where} of algorithm {int(self.uid[self.owner[where]])} left the finite "
                                 f"numbers at step {self.steps} on {self.landscape.description}")
        self._record_fitness()
        self._propagation()
        self._spawn_offspring()
        self._select()
        self._refresh_rows()
        self._window()
        if self.steps % p.collect_every == 0:
            self.collect()
        if len(self.uid) == 0:
            self.running = False

    def _record_fitness(self) -> None:
        np.minimum.at(self.best_loss, self.owner, self.values)
        best = int(np.argmin(self.values))
        if self.values[best] < self.best_value:
            self.best_value = float(self.values[best])
            self.best_point = self._evaluated_at[best].copy()  # where it was evaluated, before its move
        general = self.generality[self.owner] >= 1.0
        self.spawn_counts["visits_general"] += int(general.sum())
        self.spawn_counts["visits_specific"] += int((~general).sum())

    def _propagation(self) -> None:
        """φ for every living algorithm from this step's evaluations (docs/metaopt.md), normalised term by term."""
        p = self.params.propagation
        n_alg = len(self.uid)
        counts = np.bincount(self.owner, minlength=n_alg).astype(np.float64)
        fitness = np.bincount(self.owner, weights=-self.values, minlength=n_alg) / counts
        if p.dispersion == "origin":
            centre = np.zeros((n_alg, self.landscape.dim))
        else:
            centre = np.stack([np.bincount(self.owner, weights=self.position[:, k], minlength=n_alg) / counts
                               for k in range(self.landscape.dim)], axis=1)
        distance = np.sqrt(np.sum((self.position - centre[self.owner]) ** 2, axis=1))
        mean = np.bincount(self.owner, weights=distance, minlength=n_alg) / counts
        second = np.bincount(self.owner, weights=distance * distance, minlength=n_alg) / counts
        dispersion = np.sqrt(np.maximum(second - mean * mean, 0.0))
        age = np.maximum(self.steps - self.birth_step, 1).astype(np.float64)
        reproduction = self.offspring / age
        self.phi = (p.beta * _normalised(fitness) + (1 - p.beta) * _normalised(dispersion)
                    + p.gamma * _normalised(reproduction))
        self.phi_sum += self.phi
        self.phi_count += 1

    def _window(self) -> None:
        """At the end of each window: M = argmax of mean φ over it (Tunador (2023), §2.4), with its traits."""
        window = self.params.propagation.window
        if self.steps % window or len(self.uid) == 0:
            return
        mean_phi = np.where(self.phi_count > 0, self.phi_sum / np.maximum(self.phi_count, 1), -np.inf)
        row = int(np.argmax(mean_phi))
        self.leaders.append({"step": int(self.steps), "leader": int(self.uid[row]), "mean_phi": float(mean_phi[row]),
                             "generation": int(self.generation[row]),
                             **{t: float(getattr(self, t)[row]) for t in TRAITS}})
        self.phi_sum[:] = 0.0
        self.phi_count[:] = 0

    def _spawn_offspring(self) -> None:
        """A new algorithm where an explorer's spawn draw succeeded (Tunador (2023), §2.2.4), in explorer order.

        It is born at the point the explorer moved to this step (the point it visits), which is its birthplace.
        """
        p = self.params
        events = np.flatnonzero(self.spawn)
        if len(events) == 0:
            return
        self._check_budget(len(self.uid) + len(events), len(self.owner) + len(events))
        kinds, rows = self.spawn[events], self.owner[events]
        count = len(events)
        child = {t: np.empty(count) for t in TRAITS}
        v = p.variation
        for index in range(count):
            row = int(rows[index])
            g_parent = float(self.generality[row])
            if p.generality_model == "binary":
                g_child = 1.0 if kinds[index] == 1 else 0.0
                self.spawn_counts["first" if kinds[index] == 1 else "second"] += 1
            else:
                alpha, beta = p.beta_law.parameters(g_parent)
                g_child = float(self.rng.beta(alpha, beta))
                if p.cap_offspring_generality:
                    g_child = min(g_child, g_parent)
                self.spawn_counts["first"] += 1
            sigma = v.base + v.per_generality * g_parent
            z = self.rng.standard_normal(4)
            child["n_explorers"][index] = min(max(1, round(self.n_explorers[row] * math.exp(sigma * z[0]))),
                                              v.max_explorers)
            child["angle"][index] = min(max(self.angle[row] + 90.0 * sigma * z[1], 0.0), 90.0)
            child["speed"][index] = self.speed[row] * math.exp(sigma * z[2])
            child["reproduction"][index] = min(max(self.reproduction[row] * math.exp(sigma * z[3]), 0.0), 1.0)
            child["generality"][index] = g_child
            self.offspring[row] += 1
            if g_child > self.max_offspring_generality:
                # the most general offspring so far: how far it jumps above the previous record is the
                # take-off's sharpness (hard: one jump from 0 to 1; soft: many small steps)
                previous = self.max_offspring_generality if math.isfinite(self.max_offspring_generality) else 0.0
                self.largest_jump = max(self.largest_jump, g_child - previous)
                self.generality_records.append((int(self.steps), g_child))
                if g_child >= p.generality_threshold and self.first_general_step is None:
                    self.first_general_step = int(self.steps)
                    self.takeoff_jump = g_child - previous
                self.max_offspring_generality = g_child
        self.spawned_last_step = count
        self._add_algorithms(child["n_explorers"].astype(np.int64), child["angle"], child["speed"],
                             child["generality"], child["reproduction"], self.position[events].copy(), rows)

    def _select(self) -> None:
        """The compute budget (cull lowest φ until the explorers fit) and periodic selection, if asked."""
        p = self.params
        born_now = self.birth_step == self.steps
        order = [int(r) for r in np.argsort(np.where(born_now, np.inf, self.phi), kind="stable")]
        remove: list[int] = []
        if p.selection is not None and self.steps % p.selection.every == 0:
            old = [r for r in order if not born_now[r]]
            count = min(math.ceil(p.selection.fraction * len(old)), len(old) - 1)
            remove.extend(old[:max(count, 0)])
        if p.compute_budget is not None:
            total = int(self.n_explorers.sum()) - int(self.n_explorers[remove].sum())
            for r in order:  # old algorithms by rising φ, then the newborn in birth order
                if total <= p.compute_budget:
                    break
                if r not in remove:
                    remove.append(r)
                    total -= int(self.n_explorers[r])
        self._remove_rows(np.array(sorted(remove), dtype=np.int64))

    # --- outputs -----------------------------------------------------------------------------------

    @property
    def n_algorithms(self) -> int:
        return len(self.uid)

    @property
    def lineage_depth(self) -> int:
        """The deepest generation that ever lived (0: only the scenario's algorithms)."""
        return self.max_generation

    def _reporters(self) -> dict[str, Any]:
        threshold = self.params.generality_threshold

        def mean(name: str) -> Any:
            return lambda m: float(np.mean(getattr(m, name))) if m.n_algorithms else float("nan")

        return {
            "algorithms": lambda m: m.n_algorithms,
            "explorers": lambda m: len(m.owner),
            "best_fitness": lambda m: -m.best_value,
            "mean_fitness": lambda m: float(-np.mean(m.values)) if len(m.values) else float("nan"),
            **{f"mean_{t}": mean(t) for t in TRAITS},
            "max_generality": lambda m: float(np.max(m.generality)) if m.n_algorithms else float("nan"),
            "general_algorithms": lambda m: int(np.sum(m.generality >= threshold)),
            "lineage_depth": lambda m: m.lineage_depth,
            "spawned": lambda m: m.spawned_last_step,
            "removed": lambda m: m.removed_last_step,
            "phi_leader": lambda m: int(m.uid[int(np.nanargmax(m.phi))]) if m.n_algorithms and
            np.isfinite(m.phi).any() else -1,
        }

    def collect(self) -> None:
        """A DataCollector row, and the living algorithms' trait means and quantiles."""
        self.datacollector.collect(self)
        if self.n_algorithms:
            levels = (0.1, 0.25, 0.5, 0.75, 0.9)
            stacked = np.stack([getattr(self, t).astype(np.float64) for t in TRAITS])
            quantiles = np.quantile(stacked, levels, axis=1)  # (levels, traits)
            means = stacked.mean(axis=1)
            for j, t in enumerate(TRAITS):
                self.trait_rows.append({"step": int(self.steps), "trait": t, "mean": float(means[j]),
                                        **{f"q{round(k * 100)}": float(quantiles[i, j]) for i, k in
                                           enumerate(levels)}})

    def algorithm_table(self) -> pd.DataFrame:
        """The living algorithms, one row each: traits, birth, lineage, φ, and their explorers' mean L."""
        counts = np.maximum(np.bincount(self.owner, minlength=self.n_algorithms), 1)
        mean_value = np.bincount(self.owner, weights=self.values, minlength=self.n_algorithms) / counts
        return pd.DataFrame({"algorithm": self.uid, **{t: getattr(self, t) for t in TRAITS},
                             "born": self.birth_step, "generation": self.generation, "parent": self.parent,
                             "offspring": self.offspring, "phi": self.phi, "mean_loss": mean_value,
                             "best_loss": self.best_loss})

    def lineage_table(self) -> pd.DataFrame:
        """Every algorithm that ever lived: who spawned it, when, with which traits, and when it died (-1: alive)."""
        rows = [{"algorithm": node, **data} for node, data in self.lineage.nodes(data=True)]
        return pd.DataFrame(rows, columns=["algorithm", "born", "died", "generation", "parent", *TRAITS,
                                           "birthplace"])

    def lineage_json(self) -> dict[str, Any]:
        """The lineage DiGraph as node-link JSON data (networkx), ready for json.dumps."""
        return nx.node_link_data(self.lineage, edges="edges")

    def tables(self) -> dict[str, pd.DataFrame]:
        model = self.datacollector.get_model_vars_dataframe().rename_axis("collection").reset_index()
        model.insert(1, "step", model["collection"] * self.params.collect_every)
        return {"model": model, "algorithms": self.algorithm_table(), "lineage": self.lineage_table(),
                "leaders": pd.DataFrame(self.leaders, columns=["step", "leader", "mean_phi", "generation", *TRAITS]),
                "traits": pd.DataFrame(self.trait_rows)}

    def summary(self) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {
            "steps": self.steps,
            "landscape": self.landscape.description,
            "generality_model": p.generality_model,
            "algorithms_alive": self.n_algorithms,
            "explorers_alive": len(self.owner),
            "algorithms_ever": self.lineage.number_of_nodes(),
            "best_fitness": -self.best_value,
            "lineage_depth": self.lineage_depth,
            "generality_threshold": p.generality_threshold,
            "first_general_offspring_step": self.first_general_step,
            "takeoff_jump": self.takeoff_jump,
            "largest_generality_jump": self.largest_jump,
            "most_general_offspring": None if not self.generality_records else self.generality_records[-1][1],
        }
        if self.leaders:
            out["last_leader"] = self.leaders[-1]
        if self.landscape.dim <= 10 and np.all(np.isfinite(self.best_point)):
            out["best_point"] = [float(v) for v in self.best_point]
        return out


def _normalised(values: np.ndarray) -> np.ndarray:
    """Min-max across the living population to [0, 1]; all 0 when every value is the same."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(np.min(values)), float(np.max(values))
    if not high > low:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def step_numpy(model: MetaoptModel) -> int:
    """The kernel's step as numpy array operations over every explorer (the benchmark's middle variant).

    The draws are the kernel's (n rows of 2 ceil(d/2) + 1 uniforms, row-major); transcendental functions are
    numpy's, so positions agree with the kernel to round-off, not bit for bit.
    """
    X, owner, d = model.position, model.owner, model.landscape.dim
    n = len(owner)
    pairs = (d + 1) // 2
    uniforms = model.rng.random((n, 2 * pairs + 1))
    values, g = model.landscape.value_and_gradient(X)
    u1, u2 = uniforms[:, 0:2 * pairs:2], uniforms[:, 1:2 * pairs:2]
    radius = np.sqrt(-2.0 * np.log(1.0 - u1))
    z = np.empty((n, 2 * pairs))
    z[:, 0::2] = radius * np.cos(TWO_PI * u2)
    z[:, 1::2] = radius * np.sin(TWO_PI * u2)
    z = z[:, :d]
    r2 = model.niche_radius2[owner]
    inside = (r2 < 0) | (np.sum((X - model.birthplace[owner]) ** 2, axis=1) <= r2)
    c = np.where(inside, model.cos_angle[owner], 0.0)
    s = np.where(inside, model.sin_angle[owner], 1.0)
    gn = np.sqrt(np.sum(g * g, axis=1))
    flat = gn == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        descent = -g / gn[:, None]
        orthogonal = z - np.sum(z * descent, axis=1)[:, None] * descent
        un = np.sqrt(np.sum(orthogonal * orthogonal, axis=1))
        u = np.where(un[:, None] > 0, orthogonal / un[:, None], 0.0)
        move = c[:, None] * descent + s[:, None] * u
        zn = np.sqrt(np.sum(z * z, axis=1))
        blind = np.where(zn[:, None] > 0, z / zn[:, None], 0.0)
    move = np.where(flat[:, None], blind, move)
    X += model.speed[owner][:, None] * move
    model.values[:] = values
    model.inside[:] = inside
    v = uniforms[:, -1]
    p1, p2 = model.p_first[owner], model.p_second[owner]
    model.spawn[:] = np.where(v < p1, 1, np.where(v < p1 + p2, 2, 0))
    finite = np.isfinite(X).all(axis=1)
    return -1 if finite.all() else int(np.argmin(finite))
