"""The random-walk world's parameters."""

from typing import Annotated

from pydantic import Field

from models.params import Finite, Params, PositiveFinite


class RandomWalkParams(Params):
    """How many walkers, where they start, and the standard deviation of one step."""

    n_walkers: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 100
    start: Finite = 0.0
    step_size: PositiveFinite = 1.0
