"""The continuum description of the walker density ("SGD Understood through Probability Current";
see docs/density.md).

Time t counts SGD steps. In flux form dP/dt = -dJ/dW with J = u P - K dP/dW:
- Itô (the correct diffusion limit of SGD): dP/dt = d/dW[T G P] + 1/2 d^2/dW^2[T^2 S^2 P],
  so K = T^2 S^2 / 2 and u = -T G - T^2 (S^2)' / 2.
- The essay's master equation as printed: J = -T^2 [S^2 P'/2 + (S^2 P)'/2] - T G P, so
  K = T^2 S^2 (twice the spreading) and the same u. It double-counts the spreading term.

Discretisation: finite volumes, the Scharfetter-Gummel (Chang-Cooper) flux at each face and
backward Euler in time. The flux coefficients are non-negative, so the matrix is an
M-matrix: the density stays positive and mass is conserved (up to what absorbing
boundaries let out) for any time step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.integrate import cumulative_trapezoid

from _fastcore import density as kernel
from models.density.absorption import mean_absorption_time
from models.landscapes import Landscape

Form = Literal["ito", "printed"]
Boundary = Literal["reflecting", "absorbing"]


@dataclass(frozen=True)
class Grid:
    """Cells of equal width on [low, high]; masses live in cells, fluxes on faces."""

    low: float
    high: float
    cells: int

    def __post_init__(self) -> None:
        if not self.high > self.low:
            raise ValueError(f"grid: expected high > low, got low = {self.low}, high = {self.high}")
        if self.cells < 3:
            raise ValueError(f"grid: expected at least 3 cells, got {self.cells}")

    @property
    def width(self) -> float:
        return (self.high - self.low) / self.cells

    @property
    def centres(self) -> np.ndarray:
        return self.low + (np.arange(self.cells) + 0.5) * self.width

    @property
    def faces(self) -> np.ndarray:
        return self.low + np.arange(self.cells + 1) * self.width

    def cell_of(self, w: float) -> int:
        return int(np.clip((w - self.low) // self.width, 0, self.cells - 1))


def drift_and_diffusion(landscape: Landscape, temperature: float, W: np.ndarray, form: Form) -> tuple[np.ndarray,
                                                                                                      np.ndarray]:
    """(u, K) of J = u P - K P' at positions W, for the Itô form or the essay's printed form."""
    G = landscape.mean_gradient(W)[..., 0]
    S2 = landscape.gradient_variance(W)
    dS2 = landscape.gradient_variance_derivative(W)
    u = -temperature * G - 0.5 * temperature**2 * dS2
    K = (0.5 if form == "ito" else 1.0) * temperature**2 * S2
    return u, K


def _bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (e^z - 1), with B(0) = 1, stable for every z."""
    z = np.asarray(z, dtype=np.float64)
    out = np.ones_like(z)
    nz = z != 0
    with np.errstate(over="ignore"):
        out[nz] = z[nz] / np.expm1(z[nz])  # z -> +inf gives 0, z -> -inf gives -z
    return out


def face_rates(u: np.ndarray, K: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Scharfetter-Gummel rates per face: (a, b), mass per unit time from the left cell rightwards and back.

    J_f = a_f p_{f-1} - b_f p_f for cell masses p. Where K = 0 the flux is pure upwind.
    """
    a = np.empty_like(u)
    b = np.empty_like(u)
    flat = K <= 0
    a[flat] = np.maximum(u[flat], 0.0) / width
    b[flat] = np.maximum(-u[flat], 0.0) / width
    pe = u[~flat] * width / K[~flat]
    scale = K[~flat] / width**2
    a[~flat] = scale * _bernoulli(-pe)
    b[~flat] = scale * _bernoulli(pe)
    return a, b


@dataclass(frozen=True)
class FokkerPlanck:
    """The discretised generator dp/dt = A p (tridiagonal) for cell masses p, with its boundary outflows."""

    grid: Grid
    lower: np.ndarray  # A[c, c-1]
    diag: np.ndarray  # A[c, c]
    upper: np.ndarray  # A[c, c+1]
    out_low: float  # outflow rate through the low edge per unit mass in cell 0
    out_high: float
    log_ratio: np.ndarray  # ln(a_f / b_f) = u h / K on the interior faces: the zero-flux ratio p_f / p_{f-1}

    @classmethod
    def build(cls, landscape: Landscape, temperature: float, grid: Grid, form: Form = "ito",
              low: Boundary = "reflecting", high: Boundary = "reflecting") -> FokkerPlanck:
        u, K = drift_and_diffusion(landscape, temperature, grid.faces, form)
        a, b = face_rates(u, K, grid.width)
        n = grid.cells
        lower = np.zeros(n)
        upper = np.zeros(n)
        lower[1:] = a[1:n]
        upper[:-1] = b[1:n]
        diag = -(b[:n] + a[1:])
        out_low = b[0] if low == "absorbing" else 0.0
        out_high = a[n] if high == "absorbing" else 0.0
        if low == "reflecting":
            diag[0] += b[0]
        if high == "reflecting":
            diag[-1] += a[n]
        # Where K = 0 the drift alone moves mass and there is no finite zero-flux ratio (nan when u = 0 too).
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.where(K[1:n] > 0, u[1:n] * grid.width / np.where(K[1:n] > 0, K[1:n], 1.0),
                                 u[1:n] / 0.0)
        return cls(grid, lower, diag, upper, float(out_low), float(out_high), log_ratio)

    def step(self, masses: np.ndarray, dt: float, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Advance cell masses in place by n_steps backward-Euler steps of dt; returns the outflows per step."""
        if not dt > 0:
            raise ValueError(f"dt: expected > 0, got {dt}")
        return kernel.backward_euler_steps(self.lower, self.diag, self.upper, masses, n_steps, dt, self.out_low,
                                           self.out_high)

    def mean_exit_time(self, masses: np.ndarray) -> float:
        """Expected time (in SGD steps) until the mass leaves through an absorbing boundary: 1^T (-A)^{-1} p0."""
        if self.out_low == 0 and self.out_high == 0:
            return float("inf")
        n = self.grid.cells
        generator = sp.diags([self.lower[1:], self.diag, self.upper[:-1]], [-1, 0, 1], shape=(n, n), format="csc")
        return mean_absorption_time(-generator, masses, float(np.max(np.abs(self.diag))))

    def stationary(self) -> np.ndarray:
        """The discrete zero-flux state (reflecting boundaries): p_f / p_{f-1} = a_f / b_f; sums to 1."""
        if not np.all(np.isfinite(self.log_ratio)):
            raise ValueError("no zero-flux state: S^2 vanishes inside the grid, where the drift alone moves mass")
        logp = np.concatenate([[0.0], np.cumsum(self.log_ratio)])
        p = np.exp(logp - logp.max())
        return p / p.sum()


def stationary_density(landscape: Landscape, temperature: float, W: np.ndarray,
                       form: Literal["ito", "printed_end_state", "printed_master"] = "ito") -> np.ndarray:
    """The zero-flux stationary density on the points W (normalised by the trapezoid rule).

    ito: P ∝ S^-2 exp(-∫ 2G/(T S^2)). printed_end_state: the essay's "Solving for
    End-States" formula, P ∝ S^-1 exp(-∫ 2G/(T S^2)) (the Stratonovich form). printed_master:
    the zero-flux state of the essay's printed master equation, P ∝ S^-1 exp(-∫ G/(T S^2)).
    """
    G = landscape.mean_gradient(W)[..., 0]
    S2 = landscape.gradient_variance(W)
    if np.any(S2 <= 0):
        raise ValueError("the stationary density needs S^2 > 0 on the whole range (it is singular where S^2 = 0)")
    factor = 1.0 if form == "printed_master" else 2.0
    power = 1.0 if form == "ito" else 0.5
    log_p = -cumulative_trapezoid(factor * G / (temperature * S2), W, initial=0.0) - power * np.log(S2)
    p = np.exp(log_p - log_p.max())
    return p / np.trapezoid(p, W)


def continuum_barrier(landscape: Landscape, low: float, high: float, points: int = 20001) -> float:
    """∫_low^high 2G/S^2 dW: the Arrhenius slope the continuum predicts for ln(mean escape time) against 1/T."""
    W = np.linspace(low, high, points)
    S2 = landscape.gradient_variance(W)
    if np.any(S2 <= 0):
        raise ValueError("S^2 vanishes inside the range: the continuum barrier is infinite there")
    return float(np.trapezoid(2.0 * landscape.mean_gradient(W)[..., 0] / S2, W))


def arrhenius_fit(temperatures: np.ndarray, mean_times: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of ln(mean escape time) = slope / T + intercept, by least squares."""
    temperatures = np.asarray(temperatures, dtype=np.float64)
    mean_times = np.asarray(mean_times, dtype=np.float64)
    ok = np.isfinite(mean_times) & (mean_times > 0)
    if ok.sum() < 2:
        raise ValueError("the Arrhenius fit needs at least two finite mean escape times")
    slope, intercept = np.polyfit(1.0 / temperatures[ok], np.log(mean_times[ok]), 1)
    return float(slope), float(intercept)


def stability_thresholds(landscape: Landscape, minimum: float) -> dict[str, float]:
    """Step sizes above which the minimum loses linear stability (1-D).

    GD: T < 2/H with H = L''. SGD with one datapoint per step (Wu, Ma & E, NeurIPS 2018, the
    mean-square condition E[(1 - T h_j)^2] <= 1): T <= 2 H / mean(h_j^2), h_j = l_j''.
    """
    h = np.array([landscape.hessian(minimum, j)[0, 0] for j in range(landscape.n_data)])
    H = float(h.mean())
    return {"curvature": H, "gd": 2.0 / H if H > 0 else 0.0,
            "sgd_mean_square": 2.0 * H / float(np.mean(h**2)) if H > 0 else 0.0,
            "per_datapoint_curvatures": h.tolist()}  # type: ignore[dict-item]
