"""The current world's parameters: a 2-D or 3-D landscape, one step size, the grid, and the walkers that check it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from models.landscapes import FunctionLandscape, LandscapeSpec
from models.params import MEGABYTE, FieldError, Finite, Params, PositiveFinite, Strict
from models.sgd.params import EscapeRegion, EscapeSpec, StartSpec

MAX_CELLS = 2_000_000


@dataclass(frozen=True)
class ExpressionData:
    """Per-datapoint losses l_j written as expressions in x0..x{d-1}, with exact gradients (forward mode)."""

    names: tuple[str, ...]
    functions: tuple[FunctionLandscape, ...]
    dim: int

    @property
    def n_data(self) -> int:
        return len(self.functions)

    def losses(self, W: Any) -> np.ndarray:
        """Every l_j(W): shape (n_data, ...)."""
        return np.stack([f.value(W) for f in self.functions])

    def gradients(self, W: Any) -> np.ndarray:
        """Every g_j(W): shape (n_data, ..., d)."""
        return np.stack([f.gradient(W) for f in self.functions])

    def mean_loss(self, W: Any) -> np.ndarray:
        return self.losses(W).mean(axis=0)

    def mean_gradient(self, W: Any) -> np.ndarray:
        return self.gradients(W).mean(axis=0)


class ExpressionDataSpec(Strict):
    """A landscape of datapoints given as expressions in x0..x{dim-1}, e.g. {a: "(x0 - 1)**2 + x1**2", ...}."""

    dim: Annotated[int, Field(strict=True, ge=2, le=3)] = 2
    expressions: Annotated[dict[str, str], Field(min_length=1)]

    @model_validator(mode="after")
    def _compiles(self) -> ExpressionDataSpec:
        self.build()  # an expression that does not compile fails now, naming the piece
        return self

    def build(self) -> ExpressionData:
        from models.expressions import compile_expression

        names = [f"x{k}" for k in range(self.dim)]
        functions = tuple(FunctionLandscape("expression", self.dim, program=compile_expression(text, names))
                          for text in self.expressions.values())
        return ExpressionData(tuple(self.expressions), functions, self.dim)


class BoxSpec(Strict):
    """The grid: the box [low, high] (a list of d numbers each) cut into `cells` per axis (one number or d)."""

    low: Annotated[list[Finite], Field(min_length=2, max_length=3)]
    high: Annotated[list[Finite], Field(min_length=2, max_length=3)]
    cells: Annotated[int, Field(strict=True, ge=3)] | Annotated[list[Annotated[int, Field(strict=True, ge=3)]],
                                                                Field(min_length=2, max_length=3)] = 100

    def shape(self) -> tuple[int, ...]:
        return tuple(self.cells) if isinstance(self.cells, list) else (self.cells,) * len(self.low)


class CurrentParams(Params):
    """SGD at one step size T on a 2-D or 3-D landscape, as an exact chain on a grid, beside SGD walkers.

    `replacement`: each step draws its minibatch afresh (True), or each epoch shuffles the data and goes through
    it in batches (False: the chain is then one epoch, `data / batch_size` steps). `walkers` SGD walkers run the
    same steps for the Monte Carlo check (0: none).
    """

    landscape: LandscapeSpec | ExpressionDataSpec
    temperature: PositiveFinite = 0.1
    batch_size: Annotated[int, Field(strict=True, ge=1)] = 1
    replacement: bool = True
    grid: BoxSpec
    subsamples: Annotated[int, Field(strict=True, ge=1, le=16)] = 2
    start: StartSpec = StartSpec(at=0.0)
    escape: EscapeSpec | None = None
    walkers: Annotated[int, Field(strict=True, ge=0, le=100_000_000)] = 1000
    burn_in: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = 100
    collect_every: Annotated[int, Field(strict=True, ge=1)] = 1

    @model_validator(mode="after")
    def _consistent(self) -> CurrentParams:
        landscape = self.landscape.build()
        d = landscape.dim
        if d not in (2, 3):
            raise FieldError(("landscape", "dim"), f"the current world is 2-D or 3-D: expected dim 2 or 3, got {d}")
        shape = self.grid.shape()
        if not len(self.grid.low) == len(self.grid.high) == len(shape) == d:
            raise FieldError(("grid",), f"expected low, high and cells for {d} axes (the landscape's dim)")
        if any(h <= lo for lo, h in zip(self.grid.low, self.grid.high, strict=True)):
            raise FieldError(("grid",), f"expected high > low on every axis, got {self.grid.low} and {self.grid.high}")
        if math.prod(shape) > MAX_CELLS:
            raise FieldError(("grid", "cells"), f"expected at most {MAX_CELLS:,} cells, got {math.prod(shape):,}")
        if isinstance(self.landscape, ExpressionDataSpec) and self.walkers:
            raise FieldError(("walkers",), "the SGD walkers run landscapes of wells and polynomials: expected "
                             "walkers: 0 with a landscape of expressions")
        if self.batch_size > landscape.n_data:
            raise FieldError(("batch_size",), f"expected at most {landscape.n_data} (the number of datapoints), "
                             f"got {self.batch_size}")
        if not self.replacement and landscape.n_data % self.batch_size:
            raise FieldError(("batch_size",), f"an epoch without replacement needs it to divide the "
                             f"{landscape.n_data} datapoints, got {self.batch_size}")
        if not self.replacement and math.factorial(landscape.n_data) > 40_320:
            raise FieldError(("replacement",), "an epoch without replacement is summed over data orders: "
                             "expected at most 8 datapoints")
        try:
            EscapeRegion.from_spec(self.escape, landscape)
            start = self.start.sample(landscape, 1, np.random.default_rng(0))[0]
        except AttributeError:
            raise FieldError(("start",), "a landmark (local_minimum) needs a landscape of wells and polynomials: "
                             "expected 'at', 'normal' or 'uniform'") from None
        except ValueError as exc:
            raise FieldError(("escape" if "escape" in str(exc) else "start",), str(exc)) from None
        if np.any(start < self.grid.low) or np.any(start >= self.grid.high):
            raise FieldError(("start",), f"expected the start inside the grid box, got {start.tolist()}")
        return self

    def memory_estimate_mb(self, steps: int) -> float:
        """The operator (8 corners x subsamples^d x minibatches per cell, 12 bytes each, twice while built)."""
        landscape = self.landscape.build()
        cells = math.prod(self.grid.shape())
        batches = math.comb(landscape.n_data, self.batch_size)
        entries = cells * 2**landscape.dim * self.subsamples**landscape.dim * batches
        return (2 * 12 * entries + 16 * cells * 8 + self.walkers * 64) / MEGABYTE

    def temperatures(self) -> list[float]:
        return [float(self.temperature)]


def numeric_start(params: CurrentParams, landscape: Any) -> np.ndarray:
    """The start as positions (1 point for a fixed start, else 10,000 draws from a fixed stream), (n, d)."""
    start = params.start
    n = 1 if (start.at is not None or start.local_minimum is not None) else 10_000
    return start.sample(landscape, n, np.random.default_rng(0))
