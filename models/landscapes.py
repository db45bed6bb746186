"""Loss landscapes built from per-datapoint losses ("Modelling and Understanding SGD" and
"SGD Understood through Probability Current").

A landscape is a list of per-datapoint losses l_j(W), W in R^d. Each l_j is a sum of
terms: Gaussian wells a * exp(-b |W - c|^2) and polynomials p(W_axis - centre) (summed
over every axis when no axis is given). Gradients are analytic. The mean loss is
L = mean_j l_j, its gradient G = mean_j g_j and the gradient variance S^2 = var_j g_j
(population variance; a d x d covariance in N-D), as in "SGD Understood through Probability Current",
"Gradient Variance".
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import numpy as np
from _fastcore.vecmath import sin_cos_2pi
from pydantic import Field, model_validator

from models.errors import WorldError
from models.params import Finite, PositiveFinite, Strict

MEAN = "mean"  # the name that selects L, the mean of the per-datapoint losses


@dataclass(frozen=True)
class GaussianWell:
    """a * exp(-b |W - c|^2); a < 0 is a well, a > 0 a bump; b > 0 sets its width (1/b is W^2)."""

    a: float
    b: float
    c: np.ndarray  # (d,)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.b) and self.b > 0):
            raise ValueError(f"a Gaussian well needs a width parameter b > 0 (finite), got {self.b}")
        if not math.isfinite(self.a) or not np.all(np.isfinite(self.c)):
            raise ValueError("a Gaussian well needs finite a and c")


@dataclass(frozen=True)
class Polynomial:
    """sum_m coefficients[m] * (W_axis - centre)^m, on one axis or summed over all axes."""

    coefficients: tuple[float, ...]
    axis: int | None
    center: np.ndarray  # (d,)


@dataclass(frozen=True)
class Datapoint:
    """One datapoint's loss l_j: a named sum of terms."""

    name: str
    terms: tuple[GaussianWell | Polynomial, ...]


def _polynomial_value(coefficients: Sequence[float], x: np.ndarray) -> np.ndarray:
    value = np.zeros_like(x)
    for c in reversed(coefficients):
        value = value * x + c
    return value


def _polynomial_derivative(coefficients: Sequence[float], x: np.ndarray) -> np.ndarray:
    value = np.zeros_like(x)
    for m in range(len(coefficients) - 1, 0, -1):
        value = value * x + m * coefficients[m]
    return value


@dataclass(frozen=True)
class Landscape:
    """Per-datapoint losses in `dim` dimensions, with vectorised values and analytic gradients.

    Positions are arrays of shape (..., dim); in 1-D a plain array of shape (...) is accepted
    for values and is returned unchanged in shape by the 1-D helpers.
    """

    datapoints: tuple[Datapoint, ...]
    dim: int
    description: str = ""
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.datapoints:
            raise ValueError("a landscape needs at least one datapoint")
        for dp in self.datapoints:
            if not dp.terms:
                raise ValueError(f"datapoint {dp.name!r} has no terms")
        self._index.update({dp.name: j for j, dp in enumerate(self.datapoints)})

    @property
    def n_data(self) -> int:
        return len(self.datapoints)

    def stretched(self, factor: float) -> Landscape:
        """Every datapoint's loss `factor` times as wide about W = 0: l_j(W / factor), term by term (a well's b
        over factor^2 and its centre times factor; a polynomial's m-th coefficient over factor^m)."""
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"stretch: expected a finite factor > 0, got {factor}")
        if factor == 1.0:
            return self

        def stretch(term: GaussianWell | Polynomial) -> GaussianWell | Polynomial:
            if isinstance(term, GaussianWell):
                return GaussianWell(term.a, term.b / factor**2, term.c * factor)
            return Polynomial(tuple(c / factor**m for m, c in enumerate(term.coefficients)), term.axis,
                              term.center * factor)

        return Landscape(tuple(Datapoint(dp.name, tuple(stretch(t) for t in dp.terms)) for dp in self.datapoints),
                         self.dim, self.description + f", stretched {factor:g}x")

    def with_noise(self, factor: float) -> Landscape:
        """Every l_j moved `factor` times as far from the mean loss L: l_j' = L + factor (l_j - L), so G is
        unchanged and S^2 is factor^2 times as large (as terms: factor l_j plus (1 - factor) / n of every l_m)."""
        if not (math.isfinite(factor) and factor >= 0):
            raise ValueError(f"noise: expected a finite factor >= 0, got {factor}")
        if factor == 1.0:
            return self

        def scaled(term: GaussianWell | Polynomial, k: float) -> GaussianWell | Polynomial:
            if isinstance(term, GaussianWell):
                return GaussianWell(term.a * k, term.b, term.c)
            return Polynomial(tuple(c * k for c in term.coefficients), term.axis, term.center)

        share = (1.0 - factor) / self.n_data
        every = tuple(scaled(t, share) for dp in self.datapoints for t in dp.terms)
        return Landscape(tuple(Datapoint(dp.name, tuple(scaled(t, factor) for t in dp.terms) + every)
                               for dp in self.datapoints), self.dim, self.description + f", noise {factor:g}x")

    @property
    def names(self) -> list[str]:
        return [dp.name for dp in self.datapoints]

    def index(self, datapoint: str | int) -> int:
        """The index of a datapoint given by name or index."""
        if isinstance(datapoint, int) and not isinstance(datapoint, bool):
            if 0 <= datapoint < self.n_data:
                return datapoint
        elif datapoint in self._index:
            return self._index[datapoint]
        raise ValueError(f"unknown datapoint {datapoint!r}: expected one of {self.names} or 0..{self.n_data - 1}")

    def _as_points(self, W: Any) -> np.ndarray:
        W = np.asarray(W, dtype=np.float64)
        if self.dim == 1 and (W.ndim == 0 or W.shape[-1] != 1):
            W = W[..., None]
        if W.shape[-1] != self.dim:
            raise ValueError(f"positions: expected last axis of length {self.dim}, got shape {W.shape}")
        return W

    # --- values and gradients (vectorised) ---------------------------------------------

    def loss(self, W: Any, datapoint: str | int) -> np.ndarray:
        """l_j(W) for positions (..., d); shape (...)."""
        X = self._as_points(W)
        out = np.zeros(X.shape[:-1])
        for term in self.datapoints[self.index(datapoint)].terms:
            if isinstance(term, GaussianWell):
                out += term.a * np.exp(-term.b * np.sum((X - term.c) ** 2, axis=-1))
            else:
                axes = range(self.dim) if term.axis is None else [term.axis]
                for k in axes:
                    out += _polynomial_value(term.coefficients, X[..., k] - term.center[k])
        return out

    def gradient(self, W: Any, datapoint: str | int) -> np.ndarray:
        """g_j(W) = dl_j/dW for positions (..., d); shape (..., d)."""
        X = self._as_points(W)
        out = np.zeros(X.shape)
        for term in self.datapoints[self.index(datapoint)].terms:
            if isinstance(term, GaussianWell):
                diff = X - term.c
                e = term.a * np.exp(-term.b * np.sum(diff**2, axis=-1))
                out += e[..., None] * (-2.0 * term.b * diff)
            else:
                axes = range(self.dim) if term.axis is None else [term.axis]
                for k in axes:
                    out[..., k] += _polynomial_derivative(term.coefficients, X[..., k] - term.center[k])
        return out

    def hessian(self, W: Any, datapoint: str | int) -> np.ndarray:
        """d^2 l_j / dW^2 for positions (..., d); shape (..., d, d)."""
        X = self._as_points(W)
        out = np.zeros((*X.shape, self.dim))
        eye = np.eye(self.dim)
        for term in self.datapoints[self.index(datapoint)].terms:
            if isinstance(term, GaussianWell):
                diff = X - term.c
                e = term.a * np.exp(-term.b * np.sum(diff**2, axis=-1))
                outer = np.einsum("...a,...b->...ab", diff, diff)
                out += e[..., None, None] * (4.0 * term.b**2 * outer - 2.0 * term.b * eye)
            else:
                axes = range(self.dim) if term.axis is None else [term.axis]
                second = [m * c for m, c in enumerate(term.coefficients)][1:]  # coefficients of p'
                for k in axes:
                    out[..., k, k] += _polynomial_derivative(second, X[..., k] - term.center[k])
        return out

    def gradient_variance_derivative(self, W: Any) -> np.ndarray:
        """d(S^2)/dW in 1-D: 2 mean_j(g_j g_j') - 2 G G' (needed by the Fokker-Planck drift); shape (...)."""
        if self.dim != 1:
            raise ValueError("gradient_variance_derivative is 1-D")
        g = self.gradients(W)[..., 0]
        h = np.stack([self.hessian(W, j)[..., 0, 0] for j in range(self.n_data)])
        return 2.0 * np.mean(g * h, axis=0) - 2.0 * g.mean(axis=0) * h.mean(axis=0)

    def losses(self, W: Any) -> np.ndarray:
        """Every l_j(W): shape (n_data, ...)."""
        return np.stack([self.loss(W, j) for j in range(self.n_data)])

    def gradients(self, W: Any) -> np.ndarray:
        """Every g_j(W): shape (n_data, ..., d)."""
        return np.stack([self.gradient(W, j) for j in range(self.n_data)])

    def mean_loss(self, W: Any) -> np.ndarray:
        """L(W) = mean_j l_j(W)."""
        return self.losses(W).mean(axis=0)

    def mean_gradient(self, W: Any) -> np.ndarray:
        """G(W) = mean_j g_j(W) ("SGD Understood through Probability Current", "Gradient Variance"); shape (..., d)."""
        return self.gradients(W).mean(axis=0)

    def gradient_variance(self, W: Any) -> np.ndarray:
        """S^2(W) = population variance of g_j(W) over datapoints.

        Shape (...) in 1-D, the (..., d, d) covariance matrix in N-D ("SGD Understood through Probability
        Current", "Further Investigation").
        """
        g = self.gradients(W)
        dev = g - g.mean(axis=0)
        if self.dim == 1:
            return np.mean(dev[..., 0] ** 2, axis=0)
        return np.einsum("j...a,j...b->...ab", dev, dev) / self.n_data

    def target_loss(self, target: str | int) -> Callable[[Any], np.ndarray]:
        """The loss named by `target`: "mean" for L, else a datapoint's name or index."""
        if target == MEAN:
            return self.mean_loss
        j = self.index(target)
        return lambda W: self.loss(W, j)

    def target_gradient(self, target: str | int) -> Callable[[Any], np.ndarray]:
        if target == MEAN:
            return self.mean_gradient
        j = self.index(target)
        return lambda W: self.gradient(W, j)

    # --- the pure-Python reference (same floating-point order as _fastcore.walkers) -----

    def add_datapoint_gradient(self, w: Sequence[float], j: int, out: list[float]) -> None:
        """out += g_j(w) for one position, in plain Python floats, term by term as the kernel does."""
        d = self.dim
        for term in self.datapoints[j].terms:
            if isinstance(term, GaussianWell):
                c = term.c
                r2 = 0.0
                for k in range(d):
                    diff = w[k] - c[k]
                    r2 = r2 + diff * diff
                e = term.a * math.exp(-term.b * r2)
                for k in range(d):
                    out[k] = out[k] + e * (-2.0 * term.b * (w[k] - c[k]))
            else:
                axes = range(d) if term.axis is None else (term.axis,)
                coefficients = self._padded_coefficients(term)
                for k in axes:
                    x = w[k] - float(term.center[k])
                    dp = 0.0
                    for m in range(len(coefficients) - 1, 0, -1):
                        dp = dp * x + m * coefficients[m]
                    out[k] = out[k] + dp

    def _padded_coefficients(self, term: Polynomial) -> list[float]:
        width = self.kernel_arrays().poly_coef.shape[1]
        return list(term.coefficients) + [0.0] * (width - len(term.coefficients))

    @cached_property
    def _kernel_arrays(self) -> SimpleNamespace:
        d = self.dim
        wells = [(j, t) for j, dp in enumerate(self.datapoints) for t in dp.terms if isinstance(t, GaussianWell)]
        polys = [(j, t) for j, dp in enumerate(self.datapoints) for t in dp.terms if isinstance(t, Polynomial)]
        width = max([len(t.coefficients) for _, t in polys], default=1)
        coef = np.zeros((len(polys), width))
        for q, (_, t) in enumerate(polys):
            coef[q, : len(t.coefficients)] = t.coefficients
        return SimpleNamespace(
            dim=d,
            n_data=self.n_data,
            well_offsets=np.searchsorted([j for j, _ in wells], np.arange(self.n_data + 1)).astype(np.int64),
            well_a=np.array([t.a for _, t in wells], dtype=np.float64),
            well_b=np.array([t.b for _, t in wells], dtype=np.float64),
            well_c=np.array([t.c for _, t in wells], dtype=np.float64).reshape(len(wells), d),
            poly_offsets=np.searchsorted([j for j, _ in polys], np.arange(self.n_data + 1)).astype(np.int64),
            poly_axis=np.array([-1 if t.axis is None else t.axis for _, t in polys], dtype=np.int64),
            poly_center=np.array([t.center for _, t in polys], dtype=np.float64).reshape(len(polys), d),
            poly_coef=coef,
        )

    def kernel_arrays(self) -> SimpleNamespace:
        """The flattened terms `_fastcore.walkers.step_walkers` reads (offsets per datapoint)."""
        return self._kernel_arrays

    # --- landmarks ------------------------------------------------------------------------

    def window(self) -> tuple[float, float]:
        """A 1-D plotting range that holds every well's centre and width."""
        lows, highs = [], []
        for dp in self.datapoints:
            for t in dp.terms:
                if isinstance(t, GaussianWell):
                    half = 3.0 / math.sqrt(t.b)
                    lows.append(float(t.c[0]) - half)
                    highs.append(float(t.c[0]) + half)
                else:
                    lows.append(float(t.center[0]) - 3.0)
                    highs.append(float(t.center[0]) + 3.0)
        return min(lows), max(highs)

    def stationary_points(
        self, target: str | int, low: float, high: float, resolution: float = 1e-3
    ) -> list[tuple[float, str]]:
        """Every (W, "minimum" | "maximum") of a 1-D loss in [low, high], to machine precision."""
        if self.dim != 1:
            raise ValueError("stationary_points is for 1-D landscapes; use local_extremum in N-D")
        from scipy.optimize import brentq

        grad = self.target_gradient(target)
        xs = np.linspace(low, high, max(3, int((high - low) / resolution) + 1))
        gs = grad(xs)[:, 0]
        points = []
        for i in np.flatnonzero(np.sign(gs[:-1]) * np.sign(gs[1:]) < 0):
            root = brentq(lambda x: float(grad(x)[0]), xs[i], xs[i + 1], xtol=1e-15, rtol=1e-15)
            points.append((float(root), "minimum" if gs[i] < 0 else "maximum"))
        return points

    def local_extremum(self, target: str | int, near: Sequence[float] | float, kind: str) -> np.ndarray:
        """The local minimum or maximum of the target loss closest to `near` (shape (d,))."""
        near_point = np.broadcast_to(np.asarray(near, dtype=np.float64), (self.dim,)).copy()
        if self.dim == 1:
            x0 = float(near_point[0])
            for span in (0.05, 0.2, 1.0, 5.0):
                found = [w for w, k in self.stationary_points(target, x0 - span, x0 + span) if k == kind]
                if found:
                    return np.array([min(found, key=lambda w: abs(w - x0))])
            raise ValueError(f"no local {kind} of {target!r} within 5 of W = {x0}")
        from scipy.optimize import minimize

        sign = 1.0 if kind == "minimum" else -1.0
        f, g = self.target_loss(target), self.target_gradient(target)
        result = minimize(
            lambda w: sign * float(f(w)), near_point, jac=lambda w: sign * g(w), method="BFGS",
            options={"gtol": 1e-12, "maxiter": 10_000},
        )
        if not np.all(np.isfinite(result.x)) or np.linalg.norm(g(result.x)) > 1e-6:
            raise ValueError(f"no local {kind} of {target!r} found from {near_point.tolist()}")
        return result.x


# --- the essays' landscapes ----------------------------------------------------------------


def _well(a: float, b: float, c: float | Sequence[float], dim: int = 1) -> GaussianWell:
    return GaussianWell(a=a, b=b, c=np.broadcast_to(np.asarray(c, dtype=np.float64), (dim,)).copy())


def _poly(coefficients: Sequence[float], dim: int = 1, axis: int | None = None) -> Polynomial:
    return Polynomial(coefficients=tuple(coefficients), axis=axis, center=np.zeros(dim))


def one_datapoint() -> Landscape:
    """l0 = -exp(-(W - 2)^2) ("Modelling and Understanding SGD", first figure)."""
    return Landscape((Datapoint("l0", (_well(-1.0, 1.0, 2.0),)),), dim=1, description="one datapoint")


def pit(depth: float = 1.0, width: float = 100.0, center: float = 1.0) -> Landscape:
    """The pit: l0 = -exp(-(W-2)^2), l1 = -exp(-(W-2)^2) - depth * exp(-width (W-center)^2)
    ("Modelling and Understanding SGD")."""
    main = _well(-1.0, 1.0, 2.0)
    return Landscape(
        (Datapoint("l0", (main,)), Datapoint("l1", (main, _well(-depth, width, center)))),
        dim=1,
        description="the two-datapoint pit",
    )


def case_a() -> Landscape:
    """Validation case (a): g0 = g1 = dL/dW of the one-datapoint loss (no gradient noise)."""
    main = _well(-1.0, 1.0, 2.0)
    return Landscape((Datapoint("l0", (main,)), Datapoint("l1", (main,))), dim=1, description="case (a)")


def case_b() -> Landscape:
    """Validation case (b): g0 = -1, g1 = +1, so G = 0 and S^2 = 1."""
    return Landscape(
        (Datapoint("l0", (_poly([0.0, -1.0]),)), Datapoint("l1", (_poly([0.0, 1.0]),))),
        dim=1,
        description="case (b)",
    )


def case_c() -> Landscape:
    """Validation case (c): g0 = 1.2W - 2, g1 = 0.8W - 2; G = W - 2, S^2 = 0.04 W^2.

    The essay prints S^2 = 0.4 W^2; the population variance of (1.2W-2, 0.8W-2) is 0.04 W^2.
    """
    return Landscape(
        (Datapoint("l0", (_poly([0.0, -2.0, 0.6]),)), Datapoint("l1", (_poly([0.0, -2.0, 0.4]),))),
        dim=1,
        description="case (c)",
    )


def symmetric_noise() -> Landscape:
    """g = +-W: l0 = W^2/2, l1 = -W^2/2; G = 0, S^2 = W^2 (the test of the Itô equation against the
    essay's; see docs/density.md)."""
    return Landscape(
        (Datapoint("l0", (_poly([0.0, 0.0, 0.5]),)), Datapoint("l1", (_poly([0.0, 0.0, -0.5]),))),
        dim=1,
        description="g = +-W",
    )


PRESETS: dict[str, Callable[..., Landscape]] = {
    "one_datapoint": one_datapoint,
    "pit": pit,
    "case_a": case_a,
    "case_b": case_b,
    "case_c": case_c,
    "symmetric_noise": symmetric_noise,
}


# --- the scenario-file form ---------------------------------------------------------------


class GaussianSpec(Strict):
    """a * exp(-b |W - c|^2)."""

    a: Finite
    b: Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
    c: Finite | list[Finite] = 0.0


class PolynomialSpec(Strict):
    """sum_m coefficients[m] (W_axis - center)^m; axis None sums the polynomial over every axis."""

    coefficients: Annotated[list[Finite], Field(min_length=1)]
    axis: Annotated[int, Field(strict=True, ge=0)] | None = None
    center: Finite | list[Finite] = 0.0


class TermSpec(Strict):
    """One term of a datapoint's loss: exactly one of `gaussian` or `polynomial`."""

    gaussian: GaussianSpec | None = None
    polynomial: PolynomialSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TermSpec:
        if (self.gaussian is None) == (self.polynomial is None):
            raise ValueError("expected exactly one of 'gaussian' or 'polynomial'")
        return self


def as_vector(value: Any, dim: int, what: str) -> np.ndarray:
    """A number broadcast to `dim` coordinates, or a list of exactly `dim` numbers."""
    v = np.asarray(value, dtype=np.float64)
    if v.ndim == 0:
        return np.full(dim, float(v))
    if v.shape != (dim,):
        raise ValueError(f"{what}: expected a number or a list of {dim} numbers (the landscape's dim), got {value}")
    return v


class LandscapeSpec(Strict):
    """A landscape in a scenario: a `preset` (with `options`), or `datapoints` of terms in `dim` dims."""

    preset: Literal["one_datapoint", "pit", "case_a", "case_b", "case_c", "symmetric_noise"] | None = None
    options: dict[str, Finite] = Field(default_factory=dict)
    dim: Annotated[int, Field(strict=True, ge=1, le=1000)] = 1
    datapoints: dict[str, list[TermSpec]] | None = None
    stretch: PositiveFinite = 1.0  # every datapoint's loss this many times as wide about W = 0: l_j(W / stretch)
    noise: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)] = 1.0  # l_j = L + noise (l_j - L)

    @model_validator(mode="after")
    def _check(self) -> LandscapeSpec:
        if (self.preset is None) == (self.datapoints is None):
            raise ValueError("expected exactly one of 'preset' or 'datapoints'")
        if self.preset is not None:
            accepted = list(inspect.signature(PRESETS[self.preset]).parameters)
            unknown = [k for k in self.options if k not in accepted]
            if unknown:
                raise ValueError(
                    f"unknown option {unknown[0]!r} for preset {self.preset!r}: expected one of {accepted or 'none'}"
                )
            if self.dim != 1:
                raise ValueError(f"preset {self.preset!r} is 1-D: drop 'dim' or give 'datapoints'")
            self.build()  # option values out of range (a width <= 0) surface now
        else:
            if self.options:
                raise ValueError("'options' only applies to a preset")
            if not self.datapoints:
                raise ValueError("expected at least one datapoint under 'datapoints'")
            for name, terms in self.datapoints.items():
                if not terms:
                    raise ValueError(f"datapoint {name!r}: expected at least one term, got none")
            self.build()  # shape errors (c of the wrong length, axis out of range) surface now
        return self

    def build(self) -> Landscape:
        """The Landscape this spec describes."""
        return self._given().with_noise(self.noise).stretched(self.stretch)

    def _given(self) -> Landscape:
        """The landscape as the preset or the datapoints give it, before `noise` and `stretch`."""
        if self.preset is not None:
            return PRESETS[self.preset](**self.options)
        d = self.dim
        datapoints = []
        for name, terms in (self.datapoints or {}).items():
            built: list[GaussianWell | Polynomial] = []
            for t in terms:
                if t.gaussian is not None:
                    g = t.gaussian
                    built.append(GaussianWell(a=g.a, b=g.b, c=as_vector(g.c, d, f"datapoint {name!r}: c")))
                else:
                    p = t.polynomial
                    assert p is not None
                    if p.axis is not None and p.axis >= d:
                        raise ValueError(f"datapoint {name!r}: polynomial axis {p.axis} is outside 0..{d - 1}")
                    built.append(
                        Polynomial(tuple(p.coefficients), p.axis, as_vector(p.center, d, f"datapoint {name!r}: center"))
                    )
            datapoints.append(Datapoint(name, tuple(built)))
        return Landscape(tuple(datapoints), dim=d)


# --- function space F (Tunador (2023), §2.1; docs/metaopt.md) -------------------------------------
#
# Landscapes L on R^d for the meta-optimization world: fitness = -L. Each has a vectorised value
# and analytic gradient (numpy), a per-point reference in plain Python floats in the same
# floating-point order as `_fastcore.explorers`, and the flat arrays that kernel reads.

FUNCTIONS = ("sphere", "rastrigin", "ackley", "rosenbrock", "wells", "expression")
RASTRIGIN_A = 10.0
ACKLEY_A, ACKLEY_B = 20.0, 0.2
TWO_PI = 2.0 * math.pi


class LandscapeError(WorldError):
    """A landscape that cannot be evaluated where an explorer stands (an expression's fault, a non-finite value)."""


@dataclass(frozen=True)
class FunctionLandscape:
    """L: R^d -> R, one of FUNCTIONS (Tunador (2023), §2.1, "a landscape defined by a function L : F -> R").

    sphere: sum x_k^2. rastrigin: 10 d + sum (x_k^2 - 10 cos 2πx_k). ackley: -20 exp(-0.2 sqrt(sum x_k^2 / d))
    - exp(sum cos(2πx_k) / d) + 20 + e. rosenbrock: sum_{k<d-1} 100 (x_{k+1} - x_k^2)^2 + (1 - x_k)^2.
    wells: sum_m a_m exp(-b_m |x - c_m|^2) + bowl |x|^2 (a seeded random mixture, see `random_wells`).
    expression: a `models.expressions` program in the names x0..x{d-1}; its gradient is exact (forward-mode
    tangents, one VM pass per coordinate).
    """

    function: str
    dim: int
    wells: tuple[GaussianWell, ...] = ()
    bowl: float = 0.0
    program: Any = None  # models.expressions.Program for "expression"

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise ValueError(f"function: expected one of {list(FUNCTIONS)}, got {self.function!r}")
        if self.dim < 2:
            raise ValueError(f"dim: expected at least 2 (moves orthogonal to the gradient need room), got {self.dim}")
        if self.function == "wells" and not self.wells:
            raise ValueError("a 'wells' landscape needs at least one well")
        if self.function == "expression" and self.program is None:
            raise ValueError("an 'expression' landscape needs a compiled program")

    @property
    def description(self) -> str:
        if self.function == "expression":
            return f"L = {self.program.text} in d = {self.dim}"
        extra = f" ({len(self.wells)} wells, bowl {self.bowl:g})" if self.function == "wells" else ""
        return f"{self.function} in d = {self.dim}{extra}"

    def _points(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 0 or X.shape[-1] != self.dim:
            raise ValueError(f"positions: expected last axis of length {self.dim}, got shape {X.shape}")
        return X

    def value_and_gradient(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """(L(X), ∇L(X)) for positions (..., d): shapes (...) and (..., d)."""
        X = self._points(X)
        d, f = self.dim, self.function
        if f == "sphere":
            return np.sum(X * X, axis=-1), 2.0 * X
        if f == "rastrigin":
            angle = TWO_PI * X
            value = RASTRIGIN_A * d + np.sum(X * X - RASTRIGIN_A * np.cos(angle), axis=-1)
            return value, 2.0 * X + (RASTRIGIN_A * TWO_PI) * np.sin(angle)
        if f == "ackley":
            angle = TWO_PI * X
            r = np.sqrt(np.sum(X * X, axis=-1) / d)
            e1, e2 = np.exp(-ACKLEY_B * r), np.exp(np.sum(np.cos(angle), axis=-1) / d)
            value = -ACKLEY_A * e1 - e2 + ACKLEY_A + math.e
            with np.errstate(divide="ignore", invalid="ignore"):
                c1 = np.where(r > 0, (ACKLEY_A * ACKLEY_B) * e1 / (d * r), 0.0)
            return value, c1[..., None] * X + (e2 * TWO_PI / d)[..., None] * np.sin(angle)
        if f == "rosenbrock":
            t = X[..., 1:] - X[..., :-1] ** 2
            s = 1.0 - X[..., :-1]
            value = np.sum(100.0 * t * t + s * s, axis=-1)
            grad = np.zeros_like(X)
            grad[..., :-1] += -400.0 * X[..., :-1] * t - 2.0 * s
            grad[..., 1:] += 200.0 * t
            return value, grad
        if f == "wells":
            value = self.bowl * np.sum(X * X, axis=-1)
            grad = 2.0 * self.bowl * X
            for well in self.wells:
                diff = X - well.c
                e = well.a * np.exp(-well.b * np.sum(diff * diff, axis=-1))
                value = value + e
                grad = grad + e[..., None] * (-2.0 * well.b * diff)
            return value, grad
        return self._expression(X)

    def _expression(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shape = X.shape[:-1]
        flat = np.ascontiguousarray(X.reshape(-1, self.dim).T)  # (d, batch): one row per name x0..x{d-1}
        grad = np.empty((flat.shape[1], self.dim))
        value = np.empty(flat.shape[1])
        for k in range(self.dim):
            tangent = np.zeros_like(flat)
            tangent[k] = 1.0
            value, grad[:, k], errors = self.program.run(flat, tangent)
            fault = self.program.first_fault(errors)
            if fault is not None:
                point = flat[:, fault[0]].tolist()
                raise LandscapeError(f"{self.program.text!r} fails at x = {point}: {fault[1]}",
                                     key="params.landscape.expression")
        return value.reshape(shape), grad.reshape((*shape, self.dim))

    def value(self, X: Any) -> np.ndarray:
        """L(X) for positions (..., d)."""
        return self.value_and_gradient(X)[0]

    def gradient(self, X: Any) -> np.ndarray:
        """∇L(X) for positions (..., d)."""
        return self.value_and_gradient(X)[1]

    # --- the pure-Python reference (same floating-point order as _fastcore.explorers) ----------

    def point_value_and_gradient(self, x: Sequence[float]) -> tuple[float, list[float]]:
        """(L(x), ∇L(x)) at one point in plain Python floats, term by term as the kernel sums them.

        sin(2πx) and cos(2πx) are the kernel's own (`_fastcore.vecmath`: x reduced exactly, within 2 ulp), so
        the two agree to the bit; numpy's `value_and_gradient` uses np.sin(2πx) and agrees to round-off.
        """
        d, f = self.dim, self.function
        g = [0.0] * d
        if f == "sphere":
            v = 0.0
            for k in range(d):
                v = v + x[k] * x[k]
                g[k] = 2.0 * x[k]
            return v, g
        if f == "rastrigin":
            v = RASTRIGIN_A * d
            for k in range(d):
                sin_k, cos_k = sin_cos_2pi(x[k])
                v = v + (x[k] * x[k] - RASTRIGIN_A * cos_k)
                g[k] = 2.0 * x[k] + (RASTRIGIN_A * TWO_PI) * sin_k
            return v, g
        if f == "ackley":
            s1, s2 = 0.0, 0.0
            sines = [0.0] * d
            for k in range(d):
                sines[k], cos_k = sin_cos_2pi(x[k])
                s1 = s1 + x[k] * x[k]
                s2 = s2 + cos_k
            r = math.sqrt(s1 / d)
            e1, e2 = math.exp(-ACKLEY_B * r), math.exp(s2 / d)
            c1 = (ACKLEY_A * ACKLEY_B) * e1 / (d * r) if r > 0 else 0.0
            c2 = e2 * TWO_PI / d
            for k in range(d):
                g[k] = c1 * x[k] + c2 * sines[k]
            return -ACKLEY_A * e1 - e2 + ACKLEY_A + math.e, g
        if f == "rosenbrock":
            v = 0.0
            for k in range(d - 1):
                t = x[k + 1] - x[k] * x[k]
                s = 1.0 - x[k]
                v = v + (100.0 * t * t + s * s)
                g[k] = g[k] + (-400.0 * x[k] * t - 2.0 * s)
                g[k + 1] = g[k + 1] + 200.0 * t
            return v, g
        if f == "wells":
            v = 0.0
            for well in self.wells:
                c = well.c
                r2 = 0.0
                for k in range(d):
                    diff = x[k] - float(c[k])
                    r2 = r2 + diff * diff
                e = well.a * math.exp(-well.b * r2)
                v = v + e
                for k in range(d):
                    g[k] = g[k] + e * (-2.0 * well.b * (x[k] - float(c[k])))
            for k in range(d):
                v = v + self.bowl * x[k] * x[k]
                g[k] = g[k] + 2.0 * self.bowl * x[k]
            return v, g
        env = {f"x{k}": float(x[k]) for k in range(d)}
        v = 0.0
        for k in range(d):
            v, g[k] = self.program.reference(env, {f"x{k}": 1.0})
        return v, g

    @cached_property
    def _kernel_arrays(self) -> SimpleNamespace:
        m = len(self.wells)
        return SimpleNamespace(
            code=FUNCTIONS.index(self.function), dim=self.dim, bowl=float(self.bowl),
            well_a=np.array([w.a for w in self.wells], dtype=np.float64),
            well_b=np.array([w.b for w in self.wells], dtype=np.float64),
            well_c=np.array([w.c for w in self.wells], dtype=np.float64).reshape(m, self.dim),
        )

    def kernel_arrays(self) -> SimpleNamespace:
        """What `_fastcore.explorers` reads: the function's code (index in FUNCTIONS), the wells and the bowl."""
        return self._kernel_arrays

    def global_minimum(self) -> tuple[np.ndarray, float] | None:
        """(x*, L(x*)) where it is known in closed form (sphere, Rastrigin, Ackley at 0; Rosenbrock at 1), else None."""
        if self.function in ("sphere", "rastrigin", "ackley"):
            return np.zeros(self.dim), 0.0
        if self.function == "rosenbrock":
            return np.ones(self.dim), 0.0
        return None


def random_wells(dim: int, count: int, seed: int, box: float = 5.0, depth: tuple[float, float] = (0.5, 1.5),
                 width: tuple[float, float] = (0.3, 1.5)) -> tuple[GaussianWell, ...]:
    """`count` Gaussian wells a exp(-b |x - c|^2): c uniform in [-box, box]^d, depth -a uniform in `depth`,
    width 1/sqrt(b) uniform in `width`; drawn from numpy's default_rng(seed), which is the landscape's own
    seed (the same landscape for every model seed)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-box, box, size=(count, dim))
    depths = rng.uniform(depth[0], depth[1], size=count)
    widths = rng.uniform(width[0], width[1], size=count)
    return tuple(GaussianWell(a=-float(a), b=1.0 / float(w) ** 2, c=c) for a, w, c in zip(depths, widths, centres,
                                                                                           strict=True))


class FunctionSpec(Strict):
    """A function-space landscape in a scenario: `function` in `dim` dimensions (wells and expression take options).

    wells: `wells` (count), `seed`, `box`, `depth` [low, high], `width` [low, high], `bowl` (a q |x|^2 term that
    keeps L bounded below). expression: `expression`, in the names x0..x{dim-1}.
    """

    function: Literal["sphere", "rastrigin", "ackley", "rosenbrock", "wells", "expression"] = "rastrigin"
    dim: Annotated[int, Field(strict=True, ge=2, le=2000)] = 2
    expression: str | None = None
    wells: Annotated[int, Field(strict=True, ge=1, le=100_000)] = 30
    seed: Annotated[int, Field(strict=True, ge=0)] = 0
    box: PositiveFinite = 5.0
    depth: tuple[PositiveFinite, PositiveFinite] = (0.5, 1.5)
    width: tuple[PositiveFinite, PositiveFinite] = (0.3, 1.5)
    bowl: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)] = 0.01

    @model_validator(mode="after")
    def _check(self) -> FunctionSpec:
        if (self.function == "expression") != (self.expression is not None):
            raise ValueError("'expression' goes with function 'expression' (and that function needs one)")
        for name, (low, high) in (("depth", self.depth), ("width", self.width)):
            if high < low:
                raise ValueError(f"{name}: expected [low, high] with low <= high, got [{low}, {high}]")
        self.build()  # an expression that does not compile fails now, naming the piece
        return self

    def build(self) -> FunctionLandscape:
        """The FunctionLandscape this spec describes."""
        if self.function == "expression":
            from models.expressions import compile_expression

            program = compile_expression(self.expression or "", [f"x{k}" for k in range(self.dim)])
            return FunctionLandscape("expression", self.dim, program=program)
        if self.function == "wells":
            wells = random_wells(self.dim, self.wells, self.seed, self.box, self.depth, self.width)
            return FunctionLandscape("wells", self.dim, wells=wells, bowl=self.bowl)
        return FunctionLandscape(self.function, self.dim)
