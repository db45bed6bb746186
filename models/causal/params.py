"""The causal world's parameters: variables and their updates, parameters, the perturbed root n, the targets m,
the clamped set A, and the causal graph they define."""

from __future__ import annotations

from typing import Annotated

import networkx as nx
import numpy as np
from pydantic import Field, model_validator

from models.expressions import ExpressionError, compile_expression
from models.params import MEGABYTE, FieldError, Finite, Params, PositiveFinite, Strict, Values

TIME = "t"


class VariableSpec(Strict):
    """A variable: its value at t = 0 and its update (reading other variables at t - 1, or at t if listed)."""

    initial: Finite
    update: str
    same_time: list[str] = Field(default_factory=list)


class Sweep(Strict):
    """Initial values of one variable to run side by side (a batch), e.g. s0 over [5, 45]."""

    variable: str
    values: list[Finite] | Values


class CausalParams(Params):
    """A causal world: variables, parameters, the perturbed root n, the targets m, the clamped set A."""

    variables: dict[str, VariableSpec]
    parameters: dict[str, Finite] = Field(default_factory=dict)
    perturb: str
    targets: Annotated[list[str], Field(min_length=1)]
    clamp: Annotated[list[str], Field(min_length=1)]
    clamp_until: Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)] | None = None
    delta: PositiveFinite | None = None
    sweep: Sweep | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CausalParams:
        names = list(self.variables)
        if not names:
            raise FieldError(("variables",), "expected at least one variable")
        for key, value in (("perturb", [self.perturb]), ("targets", self.targets), ("clamp", self.clamp)):
            for name in value:
                if name not in self.variables:
                    raise FieldError((key,), f"unknown variable {name!r}: expected one of {names}")
        if self.perturb in self.clamp:
            raise FieldError(("perturb",), f"n = {self.perturb!r} must not be in A (clamp)")
        for m in self.targets:
            if m in self.clamp:
                raise FieldError(("targets",), f"m = {m!r} must not be in A (clamp)")
        if self.sweep is not None and self.sweep.variable not in self.variables:
            raise FieldError(("sweep", "variable"), f"unknown variable {self.sweep.variable!r}")
        clash = set(self.parameters) & (set(self.variables) | {TIME})
        if clash:
            raise FieldError(("parameters",), f"{sorted(clash)[0]!r} is also a variable name (or t)")
        graph(self)  # cycles among same-time edges, unknown parents
        for name, var in self.variables.items():
            try:
                compile_expression(var.update, [*names, *self.parameters, TIME])
            except ExpressionError as exc:
                raise FieldError(("variables", name, "update"), str(exc)) from None
        return self

    def memory_estimate_mb(self, steps: int) -> float:
        """Every condition's values and X and Y tangents of every variable, recorded at every step, twice (the
        record and its table)."""
        conditions = len(self.sweep_values()) if self.sweep is not None else 1
        return conditions * len(self.variables) * 3 * 8 * (steps + 1) * 2 / MEGABYTE

    def initial_values(self) -> dict[str, np.ndarray]:
        """Each variable's value at t = 0, as a batch (the sweep's values for the swept variable)."""
        values = self.sweep_values()
        out = {name: np.full(len(values), var.initial) for name, var in self.variables.items()}
        if self.sweep is not None:
            out[self.sweep.variable] = np.asarray(values, dtype=np.float64)
        return out

    def sweep_values(self) -> list[float]:
        if self.sweep is None:
            return [0.0]
        v = self.sweep.values
        return v.values() if isinstance(v, Values) else [float(x) for x in v]


def graph(params: CausalParams) -> nx.DiGraph:
    """The causal graph: an edge parent -> child for every variable an update reads (attribute lag 0 or 1)."""
    g = nx.DiGraph()
    names = list(params.variables)
    g.add_nodes_from(names)
    for name, var in params.variables.items():
        for parent in var.same_time:
            if parent not in params.variables:
                raise FieldError(("variables", name, "same_time"), f"unknown variable {parent!r}: expected one "
                                                                   f"of {names}")
            g.add_edge(parent, name, lag=0)
        try:
            used = compile_expression(var.update, [*names, *params.parameters, TIME]).used
        except ExpressionError:
            continue  # reported by the caller with its key path
        for parent in sorted(used & set(names)):
            if parent not in var.same_time:
                g.add_edge(parent, name, lag=1)
    instantaneous = nx.DiGraph([(u, v) for u, v, lag in g.edges(data="lag") if lag == 0])
    instantaneous.add_nodes_from(names)
    if not nx.is_directed_acyclic_graph(instantaneous):
        cycle = nx.find_cycle(instantaneous)
        raise FieldError(("variables",), "a cycle among same-time edges: " + " -> ".join(u for u, _ in cycle)
                         + f" -> {cycle[0][0]}")
    return g
