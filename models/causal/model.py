"""Causal worlds and the Comp/Op measure of optimization ("Defining Optimization in a Deeper Way", Parts 3-4;
docs/causal.md).

Variables are nodes of a networkx DiGraph; each has a value at t = 0 (a root) and an update
expression (`models.expressions`) of the variables at t - 1, of the variables it lists in
`same_time` at t (instantaneous edges), of named parameters and of t. Unrolled in time:
- W is the baseline run;
- X perturbs the root n (the perturbed variable at t = 0) by δ;
- Y perturbs n by δ and clamps every node of A (variables, optionally only up to a time) to its
  value in W: the clamped value replaces the node's value, every other node's function is
  unchanged.
Comp(A; n, m) = lim δ->0 (x_m - w_m)/(y_m - w_m), computed exactly by forward-mode tangents along
W (τ_n = 1; in Y, τ = 0 on A): Comp = τ^X_m / τ^Y_m. Op = -ln|Comp| in nats, with a sign flag for
Comp < 0 (the essay's "complex Op"). Both tangents zero: undefined (nan). Only Y's zero: Op = -inf.
A finite δ is offered too, to show where it breaks.

Stepping: the whole world is one register program (`models.causal.program`) that `_fastcore.causalvm`
runs over the batch, every node and both tangents in one pass, for one step (`step`) or many in one call
(`advance`). The node-by-node expression VM (`step_by_node`) is kept: it is what names a fault's node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from _fastcore.threads import kernel_threads
from agents.causal import CausalNode
from models.causal.params import TIME, CausalParams, graph
from models.causal.program import SystemProgram, compile_system
from models.errors import WorldError
from models.expressions import Program, compile_expression
from models.world import World


class CausalError(WorldError):
    """A run that cannot go on: which node, at which time, and what happened."""


@dataclass(frozen=True)
class Measure:
    """Comp and Op of one target at one time, over the batch."""

    comp: np.ndarray
    op: np.ndarray  # -ln|Comp|; nan where undefined, -inf where only Y's tangent is zero
    negative: np.ndarray  # Comp < 0: the essay's "complex Op"


def measure(tx: np.ndarray, ty: np.ndarray) -> Measure:
    """Comp = tx / ty and Op = -ln|Comp|, with the undefined and infinite cases as docs/causal.md says."""
    with np.errstate(divide="ignore", invalid="ignore"):
        comp = np.where(ty != 0, tx / np.where(ty != 0, ty, 1.0), np.where(tx != 0, np.inf * np.sign(tx), np.nan))
        op = -np.log(np.abs(comp))
    return Measure(comp, op, comp < 0)


class CausalModel(World):
    """W, X and Y unrolled in time, one step per model step; Comp and Op of every target after each step.

    The batch (a sweep of one initial value, or a single run) is evaluated at once by the whole-system
    kernel, on values and on the X and Y tangents; `advance(steps)` runs many steps in one call.
    """

    Params = CausalParams

    def __init__(self, params: CausalParams | dict | None = None, *, rng: Any = None, **overrides: Any) -> None:
        super().__init__(params, rng=rng, **overrides)  # causal worlds are deterministic; rng is for Mesa's tools
        p = self.params
        self.threads = kernel_threads()  # OpenMP threads for the kernel; every number is the same for any count
        self.graph = graph(p)
        instantaneous = nx.DiGraph([(u, v) for u, v, lag in self.graph.edges(data="lag") if lag == 0])
        instantaneous.add_nodes_from(p.variables)
        self.order = list(nx.lexicographical_topological_sort(instantaneous))
        self.input_names = [*p.variables, *p.parameters, TIME]
        self.programs: dict[str, Program] = {
            name: compile_expression(var.update, self.input_names) for name, var in p.variables.items()
        }
        self.system: SystemProgram = compile_system(
            self.programs, self.order, {name: var.same_time for name, var in p.variables.items()}, p.parameters,
            p.clamp, p.clamp_until, finite=p.delta is not None)
        self.nodes = {name: CausalNode(self, name) for name in self.order}
        self.w = p.initial_values()
        self.batch = len(next(iter(self.w.values())))
        self.tx = {name: np.zeros(self.batch) for name in p.variables}
        self.ty = {name: np.zeros(self.batch) for name in p.variables}
        self.tx[p.perturb][:] = 1.0
        self.ty[p.perturb][:] = 1.0
        self.finite: dict[str, dict[str, np.ndarray]] | None = None
        if p.delta is not None:
            x = {k: v.copy() for k, v in self.w.items()}
            x[p.perturb] = x[p.perturb] + p.delta
            self.finite = {"x": x, "y": {k: v.copy() for k, v in x.items()}}
            self._clamp(self.finite["y"], 0)
        self.collect_from(self._reporters())

    def clamped(self, name: str, t: int) -> bool:
        """Is node (name, t) in A?"""
        until = self.params.clamp_until
        return name in self.params.clamp and (until is None or t <= until)

    def _clamp(self, world: dict[str, np.ndarray], t: int) -> None:
        for name in self.params.clamp:
            if self.clamped(name, t):
                world[name] = self.w[name].copy()

    def _inputs(self, previous: dict[str, np.ndarray], current: dict[str, np.ndarray], name: str, t: int,
                tangents: bool = False) -> np.ndarray:
        same_time = self.params.variables[name].same_time
        rows = [(current if v in same_time else previous)[v] for v in self.params.variables]
        if tangents:
            rows += [np.zeros(self.batch)] * (len(self.params.parameters) + 1)
        else:
            rows += [np.full(self.batch, value) for value in self.params.parameters.values()]
            rows.append(np.full(self.batch, float(t)))
        return np.stack(rows)

    def _evaluate(self, name: str, X: np.ndarray, dX: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        program = self.programs[name]
        values, tangents, errors = program.run(X, dX)
        fault = program.first_fault(errors)
        if fault is not None:
            raise CausalError(f"node {name!r} at t = {t}: {fault[1]} (run {fault[0]} of the batch; "
                              f"update {program.text!r})")
        return values, tangents

    def step(self) -> None:
        """Advance W, the X and Y tangents (and the finite-δ worlds) by one time step."""
        self._advance_states(1, self.steps - 1)  # Mesa has counted this step already: it is at t = self.steps

    def advance(self, steps: int) -> None:
        """`steps` model steps in one kernel call: the states and DataCollector rows of calling step() that often.

        Mesa's clock (steps, time) moves once, by pausing and resuming the default schedule, not through
        one scheduled event per step. On a fault, the clock stops at the faulty step, as step() leaves it.
        """
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps: expected a whole number >= 0, got {steps!r}")
        schedule = self._default_schedule
        start, started_at = self.steps, self.time
        schedule.pause()
        self._state_time = start
        failed = False
        try:
            self._advance_states(steps, start)
        except CausalError:
            failed = True
            raise
        finally:
            reached = self._state_time + failed
            self.steps, self.time = reached, started_at + (reached - start)
            schedule.resume()

    def _advance_states(self, steps: int, t0: int) -> None:
        """States from time t0 to t0 + steps by the kernel; a step it flags is redone node by node."""
        done = 0
        while done < steps:
            state = self._packed()
            fault, record = self.system.run(state, t0 + done, steps - done, self.threads)
            if fault != 0:  # no fault, or one later: the steps before it stand (the check is the same on a re-run)
                if fault > 0:
                    state = self._packed()
                    fault, record = self.system.run(state, t0 + done, fault, self.threads)
                    assert fault < 0, "the kernel's fault check differs between runs"
                self._unpack(state)
                self._collect(record, t0 + done)
                done += len(record)
                self._state_time = t0 + done
                continue
            self.step_by_node(t0 + done + 1)  # raises CausalError naming node and fault (or a sum overflowed: no fault)
            done += 1
            self._state_time = t0 + done

    def _packed(self) -> np.ndarray:
        """The state as the kernel takes it: (world x variable, value / X tangent / Y tangent, batch)."""
        system = self.system
        state = np.zeros((system.n_state, 3, self.batch))
        for name in system.names:
            row = system.row("w", name)
            state[row, 0], state[row, 1], state[row, 2] = self.w[name], self.tx[name], self.ty[name]
            if self.finite is not None:
                for world in ("x", "y"):
                    state[system.row(world, name), 0] = self.finite[world][name]
        return state

    def _unpack(self, state: np.ndarray) -> None:
        system = self.system
        self.w = {name: state[system.row("w", name), 0] for name in system.names}
        self.tx = {name: state[system.row("w", name), 1] for name in system.names}
        self.ty = {name: state[system.row("w", name), 2] for name in system.names}
        if self.finite is not None:
            self.finite = {world: {name: state[system.row(world, name), 0] for name in system.names}
                           for world in ("x", "y")}

    def _collect(self, record: np.ndarray, t0: int) -> None:
        """The DataCollector rows of the steps in record (steps, state row, channel): what the reporters give."""
        system, columns = self.system, {}
        for m in self.params.targets:
            row = record[:, system.row("w", m)]
            w, tx, ty = row[:, 0].tolist(), row[:, 1].tolist(), row[:, 2].tolist()
            comp = [_ratio(a, b) for a, b in zip(tx, ty, strict=True)]
            columns.update({f"w_{m}": w, f"tx_{m}": tx, f"ty_{m}": ty, f"comp_{m}": comp,
                            f"op_{m}": [_op(c) for c in comp]})
            if self.params.delta is not None:
                x, y = record[:, system.row("x", m), 0].tolist(), record[:, system.row("y", m), 0].tolist()
                columns[f"op_delta_{m}"] = [_op(_ratio(a - v, b - v)) for a, b, v in zip(x, y, w, strict=True)]
        collector = self.datacollector
        for key in collector.model_reporters:
            collector.model_vars[key].extend(columns[key])
        if hasattr(collector, "_collection_steps"):  # Mesa's DataCollector notes the time of each collection
            collector._collection_steps.extend(float(t0 + 1 + j) for j in range(len(record)))

    def step_by_node(self, t: int) -> None:
        """One step to time t by the expression VM, node by node, world by world: the kernel's reference, and
        the path that names a fault's node and time."""
        w_new: dict[str, np.ndarray] = {}
        tx_new: dict[str, np.ndarray] = {}
        ty_new: dict[str, np.ndarray] = {}
        for name in self.order:
            X = self._inputs(self.w, w_new, name, t)
            w_new[name], tx_new[name] = self._evaluate(name, X, self._inputs(self.tx, tx_new, name, t, True), t)
            _, ty = self._evaluate(name, X, self._inputs(self.ty, ty_new, name, t, True), t)
            ty_new[name] = np.zeros(self.batch) if self.clamped(name, t) else ty
        if self.finite is not None:
            for world in ("x", "y"):
                old, new = self.finite[world], {}
                for name in self.order:
                    X = self._inputs(old, new, name, t)
                    new[name], _ = self._evaluate(name, X, np.zeros_like(X), t)
                    if world == "y" and self.clamped(name, t):
                        new[name] = w_new[name].copy()
                self.finite[world] = new
        self.w, self.tx, self.ty = w_new, tx_new, ty_new
        self.datacollector.collect(self)

    def exact(self, target: str) -> Measure:
        """Comp and Op of a target now, from the tangents."""
        return measure(self.tx[target], self.ty[target])

    def finite_delta(self, target: str) -> Measure:
        """Comp and Op of a target now, from the finite-δ worlds: (x - w)/(y - w)."""
        if self.finite is None:
            raise ValueError("finite δ: set 'delta' in the parameters")
        return measure(self.finite["x"][target] - self.w[target], self.finite["y"][target] - self.w[target])

    def _reporters(self) -> dict[str, Any]:
        reporters: dict[str, Any] = {}
        for m in self.params.targets:
            reporters[f"w_{m}"] = lambda model, m=m: float(model.w[m][0])
            reporters[f"tx_{m}"] = lambda model, m=m: float(model.tx[m][0])
            reporters[f"ty_{m}"] = lambda model, m=m: float(model.ty[m][0])
            reporters[f"comp_{m}"] = lambda model, m=m: _ratio(float(model.tx[m][0]), float(model.ty[m][0]))
            reporters[f"op_{m}"] = lambda model, m=m: _op(_ratio(float(model.tx[m][0]), float(model.ty[m][0])))
            if self.params.delta is not None:
                reporters[f"op_delta_{m}"] = lambda model, m=m: _op(_ratio(
                    float(model.finite["x"][m][0]) - float(model.w[m][0]),
                    float(model.finite["y"][m][0]) - float(model.w[m][0])))
        return reporters

    def integrated_measure(self, target: str) -> dict[str, float]:
        """∫(1 - Comp) over the sweep (trapezoid), and the telescoping value (hi - lo) - [m_t(hi) - m_t(lo)]."""
        if self.params.sweep is None:
            raise ValueError("the integrated measure needs a sweep of initial values")
        if not (self.params.sweep.variable == self.params.perturb == target):
            raise ValueError("the integrated measure (and its telescoping value) is for a sweep of n's initial value "
                             "with m = n: expected sweep.variable, perturb and the target to be one variable")
        s0 = np.asarray(self.params.sweep_values())
        comp = self.exact(target).comp
        return {"integral": float(np.trapezoid(1.0 - comp, s0)),
                "telescoping": float((s0[-1] - s0[0]) - (self.w[target][-1] - self.w[target][0]))}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Per time step (first run of the batch): values and the measures; and the final landscape over a sweep."""
        tables = {"model": self.datacollector.get_model_vars_dataframe().rename_axis("step").reset_index()}
        if self.params.sweep is not None:
            frame: dict[str, Any] = {self.params.sweep.variable + "_0": self.params.sweep_values()}
            for m in self.params.targets:
                result = self.exact(m)
                frame[f"w_{m}"] = self.w[m]
                frame[f"comp_{m}"] = result.comp
                frame[f"op_{m}"] = result.op
            tables["landscape"] = pd.DataFrame(frame)
        return tables

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"steps": self.steps, "batch": self.batch, "perturb": self.params.perturb,
                               "clamp": self.params.clamp, "clamp_until": self.params.clamp_until}
        for m in self.params.targets:
            result = self.exact(m)
            entry: dict[str, Any] = {"w": float(self.w[m][0]), "comp": float(result.comp[0]),
                                     "op": float(result.op[0]), "negative_comp": bool(result.negative[0])}
            if self.params.delta is not None:
                entry["op_finite_delta"] = float(self.finite_delta(m).op[0])
            if self.params.sweep is not None and self.params.sweep.variable == self.params.perturb == m:
                entry.update(self.integrated_measure(m))
            out[m] = entry
        return out


def _ratio(a: float, b: float) -> float:
    """Comp = a / b as `measure` defines it, in plain floats (the per-step reporters)."""
    if b != 0:
        return a / b
    return math.copysign(math.inf, a) if a != 0 else math.nan


def _op(comp: float) -> float:
    """-ln|Comp|: +inf for Comp = 0, -inf for an infinite Comp, nan when undefined."""
    if comp == 0:
        return math.inf
    return -math.log(abs(comp)) if math.isfinite(comp) else (-math.inf if math.isinf(comp) else math.nan)
