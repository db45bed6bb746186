"""An SGD walker: one row of its world's position arrays, seen as a Mesa agent."""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
from _fastcore.walkers import BLOCK


class SGDWalker(mesa.Agent):
    """A walker on a loss landscape ("Modelling and Understanding SGD"); a view on row `row` of `model.position`.

    `step()` is the readable reference for `_fastcore.walkers.step_walkers`: the same update,
    the same floating-point order and the same draws from its block's stream, for one walker.
    """

    def __init__(self, model: Any, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def position(self) -> np.ndarray:
        """W, shape (d,): a view, so writes go to the model's array."""
        return self.model.position[self.row]

    @property
    def W(self) -> float:
        """The first coordinate of W (the whole of W in 1-D)."""
        return float(self.model.position[self.row, 0])

    @property
    def temperature(self) -> float:
        """T, this walker's step size."""
        return float(self.model.temperature[self.row])

    @property
    def escape_step(self) -> int:
        """The first step at which the walker was in the escape region, or -1."""
        return int(self.model.escape_step[self.row])

    @property
    def escaped(self) -> bool:
        return self.escape_step >= 0

    @property
    def loss(self) -> float:
        """L(W), the mean loss where the walker stands."""
        return float(self.model.landscape.mean_loss(self.position[None, :])[0])

    def step(self) -> None:
        """dW = -T * mean of g_j over the datapoints this step uses (GD: all; SGD: a drawn batch)."""
        model = self.model
        params = model.params
        if params.stop_at_escape and self.escaped:
            return
        landscape = model.landscape
        w = [float(x) for x in self.position]
        grad = [0.0] * landscape.dim
        if params.method == "gd":
            for j in range(landscape.n_data):
                landscape.add_datapoint_gradient(w, j, grad)
            scale = float(landscape.n_data)
        elif params.method == "datapoint":
            landscape.add_datapoint_gradient(w, model.datapoint_index, grad)
            scale = 1.0
        else:
            n = landscape.n_data
            idx = list(range(n))
            stream = model.streams[self.row // BLOCK]
            for b in range(params.batch_size):
                r = min(b + int(stream.random() * (n - b)), n - 1)
                idx[b], idx[r] = idx[r], idx[b]
                landscape.add_datapoint_gradient(w, idx[b], grad)
            scale = float(params.batch_size)
        T = self.temperature
        new = [w[k] - T * (grad[k] / scale) for k in range(landscape.dim)]
        model.position[self.row] = new
        if not self.escaped and model.escape_region.contains(new):
            model.escape_step[self.row] = model.steps
