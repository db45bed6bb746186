"""The meta-optimization world's parameters: the landscape, the scenario's algorithms and their traits, the
spawning models, variation, niche, propagation φ, selection and the budgets (Tunador (2023), §2; docs/metaopt.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from models.landscapes import FunctionSpec, as_vector
from models.params import MEGABYTE, FieldError, Finite, Params, PositiveFinite, Strict

Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]


class StartBox(Strict):
    """Where the scenario's algorithms are born: `at` a point, or `uniform` in a box [low, high] per axis."""

    at: Finite | list[Finite] | None = None
    low: Finite | list[Finite] | None = None
    high: Finite | list[Finite] | None = None

    @model_validator(mode="after")
    def _one(self) -> StartBox:
        if (self.at is None) == (self.low is None and self.high is None) or ((self.low is None) != (self.high is None)):
            raise ValueError("expected either 'at', or both 'low' and 'high'")
        return self

    def sample(self, dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, dim) birthplaces; a box draws n * dim uniforms from rng, row by row."""
        if self.at is not None:
            return np.tile(as_vector(self.at, dim, "start.at"), (n, 1))
        low, high = as_vector(self.low, dim, "start.low"), as_vector(self.high, dim, "start.high")
        if np.any(high <= low):
            raise ValueError("start: expected high > low on every axis")
        return low + (high - low) * rng.random((n, dim))


class AlgorithmSpec(Strict):
    """`count` algorithms the scenario places, with the paper's traits N, S (degrees), V, G, R."""

    count: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 1
    n_explorers: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] = 1
    angle: Annotated[float, Field(ge=0, le=90, allow_inf_nan=False, strict=True)] = 0.0
    speed: NonNegative = 0.05
    generality: Probability = 1.0
    reproduction: Probability = 0.0
    start: StartBox = StartBox(at=0.0)
    label: str = ""


class BetaLaw(Strict):
    """Offspring generality ~ Beta(α(G), β(G)), α and β linear in the parent's G between their values at G = 0 and 1.

    Tunador (2023), §2.2.5: "β >> α. As the parent's G increases, β decreases and α increases, but β >> α still".
    """

    alpha: tuple[Finite, Finite] = (0.5, 2.0)
    beta: tuple[Finite, Finite] = (40.0, 12.0)

    @model_validator(mode="after")
    def _positive(self) -> BetaLaw:
        for name, pair in (("alpha", self.alpha), ("beta", self.beta)):
            if min(pair) <= 0:
                raise FieldError((name,), f"Beta parameters must be positive: expected {name} at G = 0 and at "
                                 f"G = 1 both > 0, got {list(pair)}")
        return self

    def parameters(self, generality: float) -> tuple[float, float]:
        """(α, β) for a parent of generality G."""
        a0, a1 = self.alpha
        b0, b1 = self.beta
        return a0 + (a1 - a0) * generality, b0 + (b1 - b0) * generality


class Variation(Strict):
    """Offspring traits vary with sd σ = base + per_generality · G_parent (Tunador (2023), footnote 2).

    N' = max(1, round(N e^{σ z1})), S' = clip(S + 90 σ z2, 0, 90), V' = V e^{σ z3}, R' = clip(R e^{σ z4}, 0, 1).
    """

    base: NonNegative = 0.05
    per_generality: NonNegative = 0.3
    max_explorers: Annotated[int, Field(strict=True, ge=1)] = 1000


class Niche(Strict):
    """An algorithm's niche: a ball around its birthplace, radius base + scale · G / (1 - G); all of F at G = 1."""

    base: NonNegative = 1.0
    scale: NonNegative = 1.0

    def radius(self, generality: np.ndarray) -> np.ndarray:
        g = np.asarray(generality, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.where(g >= 1.0, np.inf, self.base + self.scale * g / np.maximum(1.0 - g, 1e-300))


class Propagation(Strict):
    """φ = beta · AverageFitness + (1 - beta) · Dispersion + gamma · Reproduction, terms min-max normalised.

    dispersion: the standard deviation of the explorers' distances from the origin (the paper's) or their
    centroid; window: steps over which mean φ picks M, the leader.
    """

    beta: Probability = 0.5
    gamma: NonNegative = 0.5
    dispersion: Literal["centroid", "origin"] = "centroid"
    window: Annotated[int, Field(strict=True, ge=1)] = 20


class Selection(Strict):
    """Every `every` steps, remove the `fraction` of living algorithms with the lowest φ (at least one survives)."""

    every: Annotated[int, Field(strict=True, ge=1)] = 10
    fraction: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False, strict=True)] = 0.1


class MetaoptParams(Params):
    """Parameters of the meta-optimization world (Tunador (2023), §2; docs/metaopt.md).

    In the binary model the spawn probabilities per visited point are p_general and p_specific (general
    algorithms only); R is inherited and varied but unused there. In the scalar model it is R (or R·G).
    """

    landscape: FunctionSpec = FunctionSpec()
    algorithms: Annotated[list[AlgorithmSpec], Field(min_length=1, default_factory=lambda: [AlgorithmSpec()])]
    explorer_spread: NonNegative = 0.0
    generality_model: Literal["binary", "scalar"] = "scalar"
    p_general: Probability = 0.0005
    p_specific: Probability = 0.01
    beta_law: BetaLaw = BetaLaw()
    cap_offspring_generality: bool = False
    reproduction_from_generality: bool = False
    variation: Variation = Variation()
    niche: Niche = Niche()
    propagation: Propagation = Propagation()
    compute_budget: Annotated[int, Field(strict=True, ge=1)] | None = None
    selection: Selection | None = None
    generality_threshold: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False, strict=True)] = 0.5
    memory_budget_mb: PositiveFinite = 512.0  # the population's growth is checked against it at every step too
    engine: Literal["kernel", "numpy", "agents"] = "kernel"
    collect_every: Annotated[int, Field(strict=True, ge=1)] = 1

    def memory_estimate_mb(self, steps: int) -> float:
        """The founding population (each explorer's position and gradient, each algorithm's row); the model
        checks the growing population against the budget at every step."""
        dim = self.landscape.dim
        algorithms = sum(spec.count for spec in self.algorithms)
        explorers = sum(spec.count * spec.n_explorers for spec in self.algorithms)
        return (explorers * (2 * 8 * dim + 64) + algorithms * 512) / MEGABYTE

    @model_validator(mode="after")
    def _consistent(self) -> MetaoptParams:
        if self.p_general + self.p_specific > 1:
            raise FieldError(("p_specific",), f"p_general + p_specific must be at most 1 (one draw per visited "
                             f"point), got {self.p_general} + {self.p_specific}")
        if self.generality_model == "binary":
            for index, spec in enumerate(self.algorithms):
                if spec.generality not in (0.0, 1.0):
                    raise FieldError(("algorithms", index, "generality"), "the binary model needs G = 0 or 1, got "
                                     f"{spec.generality}")
        dim = self.landscape.dim
        for index, spec in enumerate(self.algorithms):
            try:
                spec.start.sample(dim, 1, np.random.default_rng(0))
            except ValueError as exc:
                raise FieldError(("algorithms", index, "start"), str(exc)) from None
        return self
