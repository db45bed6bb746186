"""A variable of a causal world, seen as a Mesa agent: a view on the model's W, X and Y state."""

from __future__ import annotations

from typing import Any

import mesa


class CausalNode(mesa.Agent):
    """One variable of a causal graph ("Defining Optimization in a Deeper Way", Parts 3-4): its value in W and its X
    and Y tangents, now."""

    def __init__(self, model: Any, name: str) -> None:
        super().__init__(model)
        self.name = name

    @property
    def update(self) -> str:
        """The update expression (the essay's dynamics for this node)."""
        return self.model.params.variables[self.name].update

    @property
    def value(self) -> float:
        """w: the node's value in W now (first run of the batch)."""
        return float(self.model.w[self.name][0])

    @property
    def tangent_x(self) -> float:
        return float(self.model.tx[self.name][0])

    @property
    def tangent_y(self) -> float:
        return float(self.model.ty[self.name][0])

    @property
    def in_a(self) -> bool:
        """Is this node clamped (in A) at the current time?"""
        return self.model.clamped(self.name, self.model.steps)

    def next_value_reference(self, run: int = 0) -> tuple[float, float]:
        """(value, X tangent) of this node one step on, by the plain-Python evaluator: the VM's reference.

        Only for nodes without same-time parents (their inputs are all from the current time).
        """
        model = self.model
        if model.params.variables[self.name].same_time:
            raise ValueError(f"{self.name!r} reads same-time parents: evaluate the whole step instead")
        env = {v: float(model.w[v][run]) for v in model.params.variables}
        env.update(model.params.parameters)
        env["t"] = float(model.steps + 1)
        tangents = {v: float(model.tx[v][run]) for v in model.params.variables}
        return model.programs[self.name].reference(env, tangents)
