"""The density world's parameters: the SGD walkers at one step size, and the grid the densities live on."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator
from scipy.stats import norm

from models.landscapes import GaussianWell, LandscapeSpec
from models.params import MEGABYTE, FieldError, Finite, Params, PositiveFinite, Strict
from models.sgd.params import (
    CollectEvery,
    Engine,
    EscapeSpec,
    Landmark,
    StartSpec,
    TrajectoryCount,
    WalkerCount,
    check_walkers,
    walkers_memory_mb,
)

Description = Literal["chain", "fokker_planck", "printed_master", "gaussian_rule"]
DESCRIPTIONS: tuple[Description, ...] = ("chain", "fokker_planck", "printed_master", "gaussian_rule")
CELLS_PER_WELL_WIDTH = 4  # a well a*exp(-b(W-c)^2) has width 1/sqrt(2b); fewer cells than this across it is refused


class GridSpec(Strict):
    """The density grid: [low, high] in `cells` cells; an escape edge (`above`/`below`) is taken from `escape`."""

    low: Finite | None = None
    high: Finite | None = None
    cells: Annotated[int, Field(strict=True, ge=3, le=2_000_000)] = 4000


class DensityParams(Params):
    """The walkers of the SGD world at one T, SGD with one datapoint per step, on a 1-D landscape; the density grid."""

    landscape: LandscapeSpec = LandscapeSpec(preset="pit")
    temperature: PositiveFinite = 0.05
    # The descriptions model this one update, so method and batch size have one value each (stated in run folders).
    method: Literal["sgd"] = "sgd"
    batch_size: Literal[1] = 1
    datapoint: None = None
    n_walkers: WalkerCount = 1000
    start: StartSpec = StartSpec(at=0.0)
    escape: EscapeSpec | None = None
    stop_at_escape: bool = False
    engine: Engine = "kernel"
    agent_objects: bool | None = None
    collect_every: CollectEvery = 1
    trajectories: TrajectoryCount = 0
    grid: GridSpec = GridSpec()
    descriptions: Annotated[list[Description], Field(min_length=1)] = Field(default_factory=lambda: list(DESCRIPTIONS))
    subsamples: Annotated[int, Field(strict=True, ge=1, le=256)] = 16
    fp_substeps: Annotated[int, Field(strict=True, ge=1, le=10_000)] = 10

    @field_validator("temperature", mode="before")
    @classmethod
    def _one_temperature(cls, value: Any) -> Any:
        if isinstance(value, list | dict):
            raise ValueError("the density world runs one T: expected a single number")
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _sgd_only(cls, value: Any) -> Any:
        if value != "sgd":
            raise ValueError("the density descriptions model SGD with one datapoint per step: expected method 'sgd'")
        return value

    @field_validator("batch_size", mode="before")
    @classmethod
    def _one_datapoint(cls, value: Any) -> Any:
        if value != 1:
            raise ValueError("the density descriptions model SGD with one datapoint per step: expected batch_size 1")
        return value

    @model_validator(mode="after")
    def _density_checks(self) -> DensityParams:
        check_walkers(self)
        landscape = self.landscape.build()
        if landscape.dim != 1:
            raise FieldError(("landscape",), "the density solvers are 1-D: expected dim 1")
        if self.escape is not None and self.escape.outside is not None:
            raise FieldError(("escape",), "in 1-D use 'above' or 'below' (a ball has two edges: give the grid)")
        edges = grid_edges(self)
        if edges[0][0] is None or edges[1][0] is None:
            raise FieldError(("grid",), "expected 'low' and 'high' (an escape threshold supplies one of them)")
        (low, _), (high, _) = edges
        if not high > low:
            raise FieldError(("grid",), f"expected high > low, got low = {low}, high = {high}")
        _start_inside(self, landscape, low, high)
        width = (high - low) / self.grid.cells
        for dp in landscape.datapoints:
            for term in dp.terms:
                if isinstance(term, GaussianWell) and width * CELLS_PER_WELL_WIDTH > 1 / math.sqrt(2 * term.b):
                    need = math.ceil(CELLS_PER_WELL_WIDTH * (high - low) * math.sqrt(2 * term.b))
                    raise FieldError(("grid", "cells"), f"too coarse: cells of width {width:.3g} resolve a well of "
                                     f"width {1 / math.sqrt(2 * term.b):.3g} (b = {term.b:g}) with fewer than "
                                     f"{CELLS_PER_WELL_WIDTH} cells; expected at least {need} cells")
        return self

    def memory_estimate_mb(self, steps: int) -> float:
        """The Monte Carlo walkers, the chain's operator (subsamples per cell, per datapoint) and the curves."""
        cells, datapoints = self.grid.cells, self.landscape.build().n_data
        operator = cells * self.subsamples * datapoints * 2 * 16  # two cells per sample, as COO and CSR
        curves = cells * len(self.descriptions) * 8 * (steps // self.collect_every + 2)
        return walkers_memory_mb(self, self.n_walkers, steps) + (operator + curves) / MEGABYTE

    def temperatures(self) -> list[float]:
        """The one step size, as the SGD world lists its step sizes."""
        return [float(self.temperature)]


def _start_inside(p: DensityParams, landscape: Any, low: float, high: float) -> None:
    """Refuse a start distribution that lies mostly outside the grid (before anything runs)."""
    start = p.start
    if start.normal is not None:
        mean, sd = float(np.ravel(start.normal.mean)[0]), start.normal.sd
        inside = float(norm.cdf((high - mean) / sd) - norm.cdf((low - mean) / sd))
    elif start.uniform is not None:
        a, b = float(np.ravel(start.uniform.low)[0]), float(np.ravel(start.uniform.high)[0])
        inside = max(0.0, min(b, high) - max(a, low)) / (b - a) if b > a else 0.0
    else:
        w = float(start.sample(landscape, 1, np.random.default_rng(0))[0, 0])
        inside = 1.0 if low <= w < high else 0.0
    if inside < 0.5:
        raise FieldError(("start",), f"the start lies mostly outside the grid [{low:g}, {high:g}] "
                                     f"({inside:.0%} inside): expected it within the grid")


def grid_edges(p: DensityParams) -> tuple[tuple[float | None, str], tuple[float | None, str]]:
    """((low, boundary), (high, boundary)): the escape threshold becomes an absorbing edge."""
    low: float | None = p.grid.low
    high: float | None = p.grid.high
    low_bc, high_bc = "reflecting", "reflecting"
    if p.escape is not None and (p.escape.above is not None or p.escape.below is not None):
        value = p.escape.above if p.escape.above is not None else p.escape.below
        landscape = p.landscape.build()
        threshold = float(value.resolve(landscape)[0]) if isinstance(value, Landmark) else float(value)
        if p.escape.above is not None:
            if high is not None and high != threshold:
                raise FieldError(("grid", "high"), f"the escape threshold {threshold:g} is the absorbing high edge; "
                                                   "leave 'high' out or set it equal")
            high, high_bc = threshold, "absorbing"
        else:
            if low is not None and low != threshold:
                raise FieldError(("grid", "low"), f"the escape threshold {threshold:g} is the absorbing low edge; "
                                                  "leave 'low' out or set it equal")
            low, low_bc = threshold, "absorbing"
    return (low, low_bc), (high, high_bc)
