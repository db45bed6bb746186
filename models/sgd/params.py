"""The SGD-walker world's parameters: the landscape, step sizes T, method, walkers, start and escape region.

The start, the escape region and the walkers' counts and engine are declared here once; the density
world, which runs the same walkers, declares its fields with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from _fastcore import walkers as kernel
from models.landscapes import MEAN, Landscape, LandscapeSpec, as_vector
from models.params import MEGABYTE, FieldError, Finite, Params, PositiveFinite, Strict, Values


class NormalStart(Strict):
    mean: Finite | list[Finite]
    sd: PositiveFinite


class UniformStart(Strict):
    low: Finite | list[Finite]
    high: Finite | list[Finite]


class Landmark(Strict):
    """A stationary point of a loss: `local_minimum` or `local_maximum` of "mean" (L) or a datapoint, near a point."""

    local_minimum: str | int | None = None
    local_maximum: str | int | None = None
    near: Finite | list[Finite]

    @model_validator(mode="after")
    def _exactly_one(self) -> Landmark:
        if (self.local_minimum is None) == (self.local_maximum is None):
            raise ValueError("expected exactly one of 'local_minimum' or 'local_maximum'")
        return self

    def resolve(self, landscape: Landscape) -> np.ndarray:
        target, kind = (
            (self.local_minimum, "minimum") if self.local_minimum is not None else (self.local_maximum, "maximum")
        )
        if target != MEAN:
            landscape.index(target)  # a clear error for an unknown datapoint
        return landscape.local_extremum(target, self.near, kind)


class StartSpec(Strict):
    """Where walkers start: exactly one of `at`, `normal`, `uniform`, or a landmark (`local_minimum` + `near`)."""

    at: Finite | list[Finite] | None = None
    normal: NormalStart | None = None
    uniform: UniformStart | None = None
    local_minimum: str | int | None = None
    near: Finite | list[Finite] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StartSpec:
        given = [k for k in ("at", "normal", "uniform", "local_minimum") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"expected exactly one of 'at', 'normal', 'uniform', 'local_minimum'; got {given or 'none'}"
            )
        if (self.local_minimum is None) != (self.near is None):
            raise ValueError("'local_minimum' and 'near' go together")
        return self

    def sample(self, landscape: Landscape, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, d) start positions; random starts draw from `rng` (normal, or uniform) before any step."""
        d = landscape.dim

        def vec(v: Any, what: str) -> np.ndarray:
            return as_vector(v, d, f"start.{what}")

        if self.at is not None:
            return np.tile(vec(self.at, "at"), (n, 1))
        if self.normal is not None:
            return vec(self.normal.mean, "normal.mean") + self.normal.sd * rng.standard_normal((n, d))
        if self.uniform is not None:
            low, high = vec(self.uniform.low, "uniform.low"), vec(self.uniform.high, "uniform.high")
            if np.any(high <= low):
                raise ValueError("start.uniform: expected high > low on every axis")
            return low + (high - low) * rng.random((n, d))
        point = Landmark(local_minimum=self.local_minimum, near=self.near).resolve(landscape)
        return np.tile(point, (n, 1))


class Ball(Strict):
    center: Finite | list[Finite]
    radius: PositiveFinite


class EscapeSpec(Strict):
    """The escape region: W[axis] `above` or `below` a threshold (a number or a landmark), or `outside` a ball."""

    above: Finite | Landmark | None = None
    below: Finite | Landmark | None = None
    outside: Ball | None = None
    axis: Annotated[int, Field(strict=True, ge=0)] = 0

    @model_validator(mode="after")
    def _exactly_one(self) -> EscapeSpec:
        given = [k for k in ("above", "below", "outside") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"expected exactly one of 'above', 'below', 'outside'; got {given or 'none'}")
        return self


@dataclass(frozen=True)
class EscapeRegion:
    """A resolved escape region; `contains` is the reference test the kernel mirrors."""

    kind: int  # one of _fastcore.walkers.ESCAPE_*
    axis: int
    threshold: float  # the radius for a ball
    center: np.ndarray

    @classmethod
    def from_spec(cls, spec: EscapeSpec | None, landscape: Landscape) -> EscapeRegion:
        d = landscape.dim
        if spec is None:
            return cls(kernel.ESCAPE_NONE, 0, 0.0, np.zeros(d))
        if spec.outside is not None:
            c = as_vector(spec.outside.center, d, "escape.outside.center")
            return cls(kernel.ESCAPE_OUTSIDE_BALL, 0, spec.outside.radius, c)
        if spec.axis >= d:
            raise ValueError(f"escape.axis: expected 0..{d - 1}, got {spec.axis}")
        kind, value = (kernel.ESCAPE_ABOVE, spec.above) if spec.above is not None else (kernel.ESCAPE_BELOW, spec.below)
        threshold = float(value.resolve(landscape)[spec.axis]) if isinstance(value, Landmark) else float(value)
        return cls(kind, spec.axis, threshold, np.zeros(d))

    @property
    def defined(self) -> bool:
        return self.kind != kernel.ESCAPE_NONE

    def contains(self, w: Any) -> bool:
        if self.kind == kernel.ESCAPE_ABOVE:
            return w[self.axis] > self.threshold
        if self.kind == kernel.ESCAPE_BELOW:
            return w[self.axis] < self.threshold
        if self.kind == kernel.ESCAPE_OUTSIDE_BALL:
            r2 = 0.0
            for k in range(len(w)):
                diff = w[k] - self.center[k]
                r2 = r2 + diff * diff
            return r2 > self.threshold * self.threshold
        return False

    def contains_all(self, W: np.ndarray) -> np.ndarray:
        """Vectorised `contains` for positions (n, d)."""
        if self.kind == kernel.ESCAPE_ABOVE:
            return W[:, self.axis] > self.threshold
        if self.kind == kernel.ESCAPE_BELOW:
            return W[:, self.axis] < self.threshold
        if self.kind == kernel.ESCAPE_OUTSIDE_BALL:
            return np.sum((W - self.center) ** 2, axis=1) > self.threshold**2
        return np.zeros(len(W), dtype=bool)


def _field(loc: tuple[str, ...], check: Any, *args: Any) -> Any:
    """Run a check, re-raising its ValueError as a FieldError at `loc`."""
    try:
        return check(*args)
    except FieldError:
        raise
    except ValueError as exc:
        raise FieldError(loc, str(exc)) from None


# The walkers' fields that the SGD and density worlds both declare.
WalkerCount = Annotated[int, Field(strict=True, ge=1, le=100_000_000)]
Engine = Literal["kernel", "numpy", "agents"]
CollectEvery = Annotated[int, Field(strict=True, ge=1, le=1_000_000_000)]
TrajectoryCount = Annotated[int, Field(strict=True, ge=0, le=1000)]


AGENT_BYTES = 600  # one Mesa agent object (a view on a walker's row) with its AgentSet entries
WALKER_BYTES = 96  # per walker beyond its coordinates: T, escape step, the tables' rows, numpy's temporaries


def walkers_memory_mb(params: Any, walkers: int, steps: int) -> float:
    """What `walkers` walkers of the SGD or density world hold over `steps` steps, roughly (MB)."""
    dim = params.landscape.build().dim
    objects = params.agent_objects if params.agent_objects is not None else walkers <= 100_000
    collections = steps // params.collect_every + 1
    per_walker = 4 * 8 * dim + WALKER_BYTES + (AGENT_BYTES if objects else 0)  # position, start, two temporaries
    return (walkers * per_walker + params.trajectories * dim * 8 * collections + collections * 1024) / MEGABYTE


def check_walkers(params: Any) -> Any:
    """The walkers' cross-field checks (engine, escape region, start), shared by the SGD and density worlds."""
    if params.engine == "agents" and params.agent_objects is False:
        raise FieldError(("agent_objects",), "engine 'agents' steps the Mesa agents: it needs agent_objects")
    # Landmarks are resolved now, so that a scenario fails before anything runs.
    landscape = params.landscape.build()
    _field(("escape",), EscapeRegion.from_spec, params.escape, landscape)
    _field(("start",), params.start.sample, landscape, 1, np.random.default_rng(0))
    return params


class SGDParams(Params):
    """Parameters of the SGD-walker world (T is the essay's "temperature", the step size)."""

    landscape: LandscapeSpec = LandscapeSpec(preset="pit")
    temperature: PositiveFinite | Annotated[list[PositiveFinite], Field(min_length=1)] | Values = 0.05
    method: Literal["sgd", "gd", "datapoint"] = "sgd"
    batch_size: Annotated[int, Field(strict=True, ge=1)] = 1
    datapoint: str | int | None = None
    n_walkers: WalkerCount = 1000
    start: StartSpec = StartSpec(at=0.0)
    escape: EscapeSpec | None = None
    stop_at_escape: bool = False
    engine: Engine = "kernel"
    agent_objects: bool | None = None
    collect_every: CollectEvery = 1
    trajectories: TrajectoryCount = 0

    @field_validator("temperature")
    @classmethod
    def _grid_positive(cls, value: Any) -> Any:
        if isinstance(value, Values) and not all(v > 0 and math.isfinite(v) for v in value.values()):
            raise ValueError("expected every temperature in the grid to be a finite number > 0")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SGDParams:
        landscape = self.landscape.build()
        if self.batch_size > landscape.n_data:
            raise FieldError(("batch_size",), f"expected at most {landscape.n_data} (the number of datapoints), "
                             f"got {self.batch_size}")
        if self.method == "datapoint":
            if self.datapoint is None:
                raise FieldError(("datapoint",), "method 'datapoint' needs the name or index of the loss to descend")
            _field(("datapoint",), landscape.index, self.datapoint)
        elif self.datapoint is not None:
            raise FieldError(("datapoint",), f"only applies to method 'datapoint', not {self.method!r}")
        return check_walkers(self)

    def memory_estimate_mb(self, steps: int) -> float:
        return walkers_memory_mb(self, self.n_walkers * len(self.temperatures()), steps)

    def temperatures(self) -> list[float]:
        """The distinct step sizes; n_walkers walkers run at each."""
        if isinstance(self.temperature, Values):
            return self.temperature.values()
        if isinstance(self.temperature, list):
            return [float(t) for t in self.temperature]
        return [float(self.temperature)]
