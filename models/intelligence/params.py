"""The intelligence-density world's parameters: ε, the initial beings, how AI versions grow and are released,
the policy for old versions, and the attack probability."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from models.params import MEGABYTE, Finite, Params, PositiveFinite, Strict

HUMANS = "humans"


class InitialBeing(Strict):
    """A being present at the start: its name (kind) and level."""

    name: Annotated[str, Field(min_length=1)] = HUMANS
    level: Finite = 0.0


class Growth(Strict):
    """Each new AI version appears at top + increment: `fixed` at `increment`, or `exponential` with that mean.
    `rate` > 0 makes intelligence grow exponentially: version n's increment (or its mean) is increment (1 + rate)^n."""

    increment: PositiveFinite = 0.5
    distribution: Literal["fixed", "exponential"] = "exponential"
    rate: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False, strict=True)] = 0.0


class IntelligenceParams(Params):
    """Parameters of the intelligence-density world (ε is the paper's "effectively similar" threshold)."""

    epsilon: PositiveFinite = 1.0
    initial: Annotated[list[InitialBeing], Field(min_length=1, default_factory=lambda: [InitialBeing()])]
    growth: Growth = Growth()
    release_every: Annotated[int, Field(strict=True, ge=1)] = 1
    policy: Literal["keep", "retire"] = "keep"
    keep_last: Annotated[int, Field(strict=True, ge=1)] = 1
    attack_probability: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False, strict=True)] = 1.0
    protected: Annotated[str, Field(min_length=1)] = HUMANS  # the kind whose loss is tracked (the lowest level)

    def memory_estimate_mb(self, steps: int) -> float:
        """A being (a Mesa agent and its event rows) per release, and a history row per step."""
        beings = len(self.initial) + steps // self.release_every + 1
        return (beings * 1024 + steps * 256) / MEGABYTE
