"""What the cited papers state that the current world can test (see docs/current.md).

- Chaudhari & Soatto, "Stochastic gradient descent performs variational inference, converges to limit cycles for
  deep networks" (2018): with non-isotropic gradient noise SGD is out of equilibrium, its stationary state carries
  probability currents (loops), and the potential it concentrates on is not the loss.
- Adhikari et al., "Machine learning in and out of equilibrium" (2023): the stationary state depends on whether
  minibatches are drawn with or without replacement.
- "SGD Understood through Probability Current": the log of the steps to escape is a function of T; here over a
  2-D saddle, the exact chain against walkers and against the Kramers-Langer rate.
"""

from __future__ import annotations

import math

import numpy as np

from models.claims import Claim, Figure, Measured, Series
from models.current.escape import kramers_langer_time
from models.current.model import CurrentModel
from models.landscapes import LandscapeSpec

SEED = 20240301
SADDLE_BARRIER, SADDLE_NOISE = 0.5, 2.0  # L = 0.5 (w0^2 - 1)^2 + w1^2; gradients shifted by +-2 along each axis


def linear_valley(h0: float, h1: float, noise: float, direction: tuple[float, float]) -> LandscapeSpec:
    """Two datapoints with gradients H w +- noise * u, H = diag(h0, h1): rank-1 noise along u on a quadratic valley."""
    u = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    return LandscapeSpec(dim=2, datapoints={
        name: [{"polynomial": {"coefficients": [0, sign * noise * float(u[0]), h0 / 2], "axis": 0}},
               {"polynomial": {"coefficients": [0, sign * noise * float(u[1]), h1 / 2], "axis": 1}}]
        for name, sign in (("plus", 1), ("minus", -1))})


def four_datapoints(axis0: list[float], axis1: list[float], noise: float) -> LandscapeSpec:
    """Polynomials on each axis with four datapoints shifting the gradient by +-noise along w0 or w1 (isotropic)."""
    shifts = {"right": (noise, 0.0), "left": (-noise, 0.0), "up": (0.0, noise), "down": (0.0, -noise)}
    return LandscapeSpec(dim=2, datapoints={
        name: [{"polynomial": {"coefficients": [axis0[0], axis0[1] + s0, *axis0[2:]], "axis": 0}},
               {"polynomial": {"coefficients": [axis1[0], axis1[1] + s1, *axis1[2:]], "axis": 1}}]
        for name, (s0, s1) in shifts.items()})


def saddle_landscape() -> LandscapeSpec:
    """Two wells at w0 = +-1 joined by a saddle at the origin, barrier 0.5, isotropic constant noise."""
    a = SADDLE_BARRIER
    return four_datapoints([a, 0.0, -2 * a, 0.0, a], [0.0, 0.0, 1.0], SADDLE_NOISE)


def exact_circulation(T: float, h0: float, h1: float, noise: float, u: tuple[float, float]) -> float:
    """E[w_t x w_{t+1}] for w' = (I - T H) w -+ T noise u: (a1 - a0) Sigma_01, with Sigma from the discrete
    Lyapunov equation Sigma = A Sigma A + T^2 noise^2 u u^T, A = diag(a0, a1) = I - T H."""
    u0, u1 = np.asarray(u, dtype=float) / np.linalg.norm(u)
    a0, a1 = 1 - T * h0, 1 - T * h1
    return (a1 - a0) * T**2 * noise**2 * u0 * u1 / (1 - a0 * a1)


def _half_width(T: float) -> float:
    """Six standard deviations of the valley's stationary density along w0 (sd = sqrt(T / 4) for small T)."""
    return 3.0 * math.sqrt(T)


def _circulation(quick: bool) -> Measured:
    temps = [0.05, 0.1, 0.2]
    chain, walker, error, closed = [], [], [], []
    for T in temps:
        model = CurrentModel({"landscape": linear_valley(1.0, 2.0, 1.0, (1, 1)), "temperature": T,
                              "grid": {"low": [-_half_width(T)] * 2, "high": [_half_width(T)] * 2,
                                       "cells": 100}, "start": {"at": [0.0, 0.0]},
                              "walkers": 2000 if quick else 20000, "burn_in": 50}, rng=SEED)
        for _ in range(150 if quick else 400):
            model.step()
        mean, se = model.walker_circulation()
        chain.append(model.stationary["circulation"])
        walker.append(mean)
        error.append(se)
        closed.append(exact_circulation(T, 1.0, 2.0, 1.0, (1, 1)))
    agree = all(abs(w - c) < 4 * e for w, c, e in zip(walker, chain, error, strict=True))
    resolved = all(abs(c) > 4 * e for c, e in zip(chain, error, strict=True))
    exact = all(math.isclose(c, k, rel_tol=1e-8) for c, k in zip(chain, closed, strict=True))
    fig = Figure("Rank-1 noise on a quadratic valley: the stationary current's circulation", "T",
                 "E[w_t x w_{t+1}] per step", [Series("chain (exact)", temps, chain),
                                              Series("walkers", temps, walker, error),
                                              Series("closed form", temps, closed)])
    return Measured(
        {"T": temps, "chain": chain, "walkers": walker, "walkers_stderr": error},
        "reproduced" if agree and resolved and exact else "differs",
        "H = diag(1, 2), noise along (1, 1): the chain's circulation equals the closed form -T (h1 - h0) Sigma_01 "
        "and the walkers' (within 4 standard errors); it is not zero, so the stationary state is out of "
        "equilibrium. The loops are of probability around the minimum, not a deterministic limit cycle.", fig)


def _effective_potential(quick: bool) -> Measured:
    T = 0.1
    half = _half_width(T)
    model = CurrentModel({"landscape": linear_valley(1.0, 2.0, 1.0, (1, 1)), "temperature": T,
                          "grid": {"low": [-half, -half], "high": [half, half], "cells": 80 if quick else 160},
                          "start": {"at": [0.0, 0.0]}, "walkers": 0}, rng=SEED)
    pi, x = model.stationary["pi"], model.grid.centres
    mean = pi @ x
    cov = (x - mean).T @ ((x - mean) * pi[:, None])
    values, vectors = np.linalg.eigh(cov)
    broad = vectors[:, 1]
    angle = math.degrees(math.atan2(abs(broad[1]), abs(broad[0])))  # the loss's broad axis is w0 (angle 0)
    ratio = float(values[1] / values[0])
    ok = angle > 10.0
    return Measured({"angle_of_broad_axis_deg": round(angle, 1), "loss_broad_axis_deg": 0.0,
                     "anisotropy_of_pi": round(ratio, 2)}, "reproduced" if ok else "differs",
                    "the loss's level sets are ellipses along w0; -T log pi's are along the noise direction instead "
                    f"({angle:.0f} degrees off): SGD concentrates on a potential that is not the loss", None)


def _replacement(quick: bool) -> Measured:
    T = 0.1
    half = _half_width(T)
    spec = linear_valley(1.0, 2.0, 1.0, (1, 1))
    rows = {}
    for cells in ((100, 150) if quick else (150, 220)):
        base = {"landscape": spec, "temperature": T, "grid": {"low": [-half] * 2, "high": [half] * 2, "cells": cells},
                "start": {"at": [0.0, 0.0]}, "walkers": 0}
        pis = {}
        for replacement in (True, False):
            model = CurrentModel({**base, "replacement": replacement}, rng=SEED)
            s = model.stationary
            x = model.grid.centres
            pis[replacement] = s["pi"]
            rows[(cells, replacement)] = {
                "variance": float(s["pi"] @ (x**2).sum(axis=1)),
                "circulation_per_step": s["circulation"] / model.chain.steps,
                "entropy_production_per_step": s["entropy_production"] / model.chain.steps,
            }
        rows[(cells, "tv")] = 0.5 * float(np.abs(pis[True] - pis[False]).sum())
    fine = max(c for c, _ in rows if isinstance(c, int))
    tv = rows[(fine, "tv")]
    with_, without = rows[(fine, True)], rows[(fine, False)]
    ok = tv > 0.05 and abs(rows[(fine, "tv")] - rows[(min(c for c, _ in rows), "tv")]) < 0.2 * tv
    return Measured(
        {"total_variation": round(tv, 3), "variance_with": with_["variance"], "variance_without": without["variance"],
         "circulation_with": with_["circulation_per_step"], "circulation_without": without["circulation_per_step"],
         "entropy_production_with": with_["entropy_production_per_step"],
         "entropy_production_without": without["entropy_production_per_step"]},
        "reproduced" if ok else "differs",
        "two datapoints, one per step: drawing afresh each step and going through each shuffled epoch give different "
        f"stationary densities (total variation {tv:.2f} at epoch boundaries, steady under grid refinement); "
        "reshuffling cancels the noise within an epoch, so its density is narrower and it circulates less", None)


def _arrhenius(quick: bool) -> Measured:
    temps = [0.08, 0.1, 0.125] if quick else [0.07, 0.08, 0.09, 0.1, 0.125]
    spec = saddle_landscape()
    theta_per_T = SADDLE_NOISE**2 / 4  # theta = T v / 2, v = noise^2 / 2 per axis
    chain, kramers = [], []
    for T in temps:
        model = CurrentModel({"landscape": spec, "temperature": T, "grid": {"low": [-2.2, -1.5], "high": [0.6, 1.5],
                              "cells": [140, 150] if quick else [210, 225]}, "start": {"at": [-1.0, 0.0]},
                              "escape": {"above": 0.0}, "walkers": 0}, rng=SEED)
        chain.append(model.escape["mean"])
        kramers.append(kramers_langer_time(SADDLE_BARRIER, np.diag([8 * SADDLE_BARRIER, 2.0]),
                                           np.diag([-4 * SADDLE_BARRIER, 2.0]), T, SADDLE_NOISE**2 / 2))
    inverse = [1 / (theta_per_T * T) for T in temps]
    slope = float(np.polyfit(inverse, np.log(np.asarray(chain) * np.asarray(temps)), 1)[0])
    ratio = [c / k for c, k in zip(chain, kramers, strict=True)]
    ok = abs(slope - SADDLE_BARRIER) < 0.1 * SADDLE_BARRIER
    fig = Figure("Escape over a 2-D saddle: ln(mean steps x T) against 1/theta", "1 / theta (theta = T v / 2)",
                 "mean escape time (steps)", [Series("chain (exact)", inverse, chain),
                                             Series("Kramers-Langer", inverse, kramers)], yscale="log")
    return Measured({"T": temps, "chain": chain, "kramers_langer": kramers, "arrhenius_slope": round(slope, 4),
                     "barrier": SADDLE_BARRIER, "chain_over_kramers": [round(r, 3) for r in ratio]},
                    "reproduced" if ok else "differs",
                    f"ln(tau T) is linear in 1/theta with slope {slope:.3f} against the barrier {SADDLE_BARRIER}; "
                    "Kramers-Langer's time is short by the factor shown, and the factor grows as T shrinks here: "
                    "for SGD the noise shrinks with the step (theta = T v / 2), so the discrete steps' correction "
                    "to the stationary density does not vanish from the exponent. The exact chain (checked against "
                    "walkers) is the number to use", fig)


def _escape_vs_walkers(quick: bool) -> Measured:
    temps = [0.09, 0.11, 0.14]
    spec = saddle_landscape()
    rows = []
    for T in temps:
        model = CurrentModel({"landscape": spec, "temperature": T, "grid": {"low": [-2.2, -1.5], "high": [0.6, 1.5],
                              "cells": [140, 150] if quick else [280, 300]}, "start": {"at": [-1.0, 0.0]},
                              "escape": {"above": 0.0}, "walkers": 500 if quick else 4000}, rng=SEED)
        while model.walkers_left() > 0:
            model.walkers.step()
        times = model.walkers.escape_step
        rows.append((model.escape["mean"], float(times.mean()), float(times.std(ddof=1) / math.sqrt(len(times)))))
    z = [(w - c) / e for c, w, e in rows]
    ok = all(abs(v) < (4 if quick else 2) for v in z)
    fig = Figure("Mean escape time over the saddle: exact chain and walkers", "T", "mean steps to escape",
                 [Series("chain (exact)", temps, [r[0] for r in rows]),
                  Series("walkers", temps, [r[1] for r in rows], [r[2] for r in rows])], yscale="log")
    return Measured({"T": temps, "chain": [r[0] for r in rows], "walkers": [r[1] for r in rows],
                     "stderr": [r[2] for r in rows], "z": [round(v, 2) for v in z]},
                    "reproduced" if ok else "differs",
                    "the chain's one solve against walkers at three step sizes that no shipped scenario uses", fig)


def claims() -> list[Claim]:
    """The current world's claims."""
    w = "current"
    cs = "Chaudhari & Soatto (2018)"
    return [
        Claim("current.non_isotropic_noise_circulates", w,
              f"{cs}: with non-isotropic gradient noise SGD's stationary state carries probability currents (loops)",
              "a non-zero current", _circulation),
        Claim("current.effective_potential_is_not_the_loss", w,
              f"{cs}: SGD concentrates on a potential other than the loss when the noise is not isotropic",
              "a different potential", _effective_potential),
        Claim("current.replacement_changes_the_stationary_state", w,
              "Adhikari et al. (2023): the stationary state depends on drawing minibatches with or without replacement",
              "different stationary states", _replacement),
        Claim("current.saddle_arrhenius", w,
              "The log of the number of steps to escape is a function of T: over a 2-D saddle, Arrhenius with the "
              "barrier as slope", "ln(steps) linear in 1/T", _arrhenius),
        Claim("current.saddle_chain_matches_walkers", w,
              "The exact chain gives SGD's mean escape time over a saddle (checked against walkers)",
              "agreement within Monte Carlo error", _escape_vs_walkers),
    ]
