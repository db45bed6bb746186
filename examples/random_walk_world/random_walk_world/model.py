"""Walkers on a line, each step a Normal(0, step_size^2) move: the spread grows as step_size * sqrt(steps)."""

from typing import Any

import numpy as np
import pandas as pd

from models.world import World
from random_walk_world.params import RandomWalkParams


class RandomWalkModel(World):
    """Every walker starts at `start` and moves by an independent Gaussian step each model step."""

    Params = RandomWalkParams

    def __init__(self, params: RandomWalkParams | dict | None = None, *, rng: Any = None, **overrides: Any) -> None:
        super().__init__(params, rng=rng, **overrides)
        self.position = np.full(self.params.n_walkers, self.params.start)
        self.collect_from({"mean": lambda m: float(m.position.mean()), "spread": lambda m: float(m.position.std())})

    def step(self) -> None:
        self.position += self.params.step_size * self.rng.standard_normal(len(self.position))
        self.collect()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"model": self.datacollector.get_model_vars_dataframe().rename_axis("step").reset_index()}

    def summary(self) -> dict[str, Any]:
        expected = self.params.step_size * np.sqrt(self.steps)
        return {"steps": self.steps, "spread": float(self.position.std()), "expected_spread": float(expected)}
