"""Problems solved per second by the density solvers (docs/density.md), against py-pde and Monte Carlo walkers.

1. `density.fokker_planck_case_c`: validation case (c) (G = W - 2, S^2 = 0.04 W^2) at T = 0.05, the Itô
   Fokker-Planck equation on W in [1, 3.5] with zero-flux edges, from N(1.5, 0.1^2) to t = 400 SGD steps
   (the slowest mode relaxes at rate ~T, so e^-20 away from stationary), scored by the L1 error against the
   closed-form stationary density. optiscape (Scharfetter-Gummel, backward Euler) and py-pde (its own
   operators and fastest solver) each get the coarsest grid and largest step that reach FP_TOLERANCE.
2. `density.pit_mean_escape_time`: the two-datapoint pit at T = 0.015, the mean escape time from l1's
   minimum over l1's maximum, by the exact chain (one sparse solve) and by Monte Carlo walkers with a 1%
   relative standard error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pde
import scipy.sparse as sp
from scipy.stats import norm

from bench.timing import best_seconds
from models.density.fokker_planck import FokkerPlanck, Grid, stationary_density
from models.density.transfer import transfer_chain
from models.landscapes import case_c, pit
from models.sgd.model import SGDModel

# --- 1. Fokker-Planck, case (c) ---------------------------------------------------------------

CASE_C_TEMPERATURE = 0.05
CASE_C_LOW, CASE_C_HIGH = 1.0, 3.5  # the stationary mass outside is below 1e-50 (its tails are ~e^-130 at the edges)
START_MEAN, START_SD = 1.5, 0.1
T_END = 400.0
FP_TOLERANCE = 1e-3  # L1 error against the closed form that both solvers must reach

# The coarsest settings that reach FP_TOLERANCE (measured on this problem; both errors are O(h^2)):
# optiscape, Scharfetter-Gummel: 140 cells miss it (1.03e-3 at 16 steps); 150 cells, 16 steps give 8.98e-4.
OPTISCAPE_CELLS, OPTISCAPE_STEPS = 150, 16
# py-pde, central differences: 300 cells miss it (1.03e-3); 320 give 9.06e-4. Its two fastest solvers here, both
# timed on every run and the faster one reported: explicit Euler at a fixed dt just under the stability limit
# (dt = 0.06 diverges), 8000 steps; and scipy's BDF given the tridiagonal Jacobian sparsity and tolerances as loose
# as the answer allows (~60 right-hand sides). Measured slower at the same accuracy: adaptive Euler ~35 ms, adaptive
# Runge-Kutta ~130 ms, Crank-Nicolson ~90 ms, BDF at the default tolerances ~120 ms (~2 s without the sparsity),
# LSODA ~2 s. py-pde's implicit Euler is a fixed-point iteration that fails to converge at dt = 0.03 (at
# dt = 0.02 it takes ~130 ms), so it cannot take the large steps an implicit method is for.
PYPDE_CELLS, PYPDE_DT = 320, 0.05
PYPDE_BDF = {"method": "BDF", "rtol": 0.1, "atol": 0.01}
# Cell-steps per second of the optiscape kernel, at the density world's defaults (4000 cells, 10 substeps per
# SGD step) over the same 400 steps.
KERNEL_CELLS, KERNEL_DT = 4000, 0.1


def _start_masses(faces: np.ndarray) -> np.ndarray:
    """N(1.5, 0.1^2) as cell masses between the faces, renormalised to 1 (2.9e-7 of it lies below W = 1)."""
    masses = np.diff(norm.cdf((faces - START_MEAN) / START_SD))
    return masses / masses.sum()


def _l1_error(density: np.ndarray, centres: np.ndarray, width: float) -> float:
    """∫ |P - P_stationary| dW on the cell centres, against the closed form (Itô)."""
    exact = stationary_density(case_c(), CASE_C_TEMPERATURE, centres, "ito")
    return float(np.sum(np.abs(density - exact)) * width)


def _optiscape_solve(cells: int, n_steps: int) -> tuple[Grid, np.ndarray]:
    """The whole problem by optiscape: build the operator, discretise the start, step to T_END."""
    grid = Grid(CASE_C_LOW, CASE_C_HIGH, cells)
    operator = FokkerPlanck.build(case_c(), CASE_C_TEMPERATURE, grid, "ito")
    masses = _start_masses(grid.faces)
    operator.step(masses, T_END / n_steps, n_steps)
    return grid, masses


def _pypde_solvers(cells: int, dt: float) -> tuple[dict[str, Callable[[], np.ndarray]], np.ndarray, float]:
    """The same problem in py-pde: ({solver: solve}, cell centres, cell width); solve() returns P at T_END.

    Conservative form of the Itô equation, dP/dt = d/dW[T G P] + d^2/dW^2[T^2 S^2 P / 2], with zero flux at both
    edges split between its two parts: T G P = 0 (Dirichlet, for d_dx) and d(T^2 S^2 P / 2)/dW = 0 (Neumann, for
    laplace). The central-difference sums then telescope, so mass is conserved to round-off.
    """
    grid = pde.CartesianGrid([[CASE_C_LOW, CASE_C_HIGH]], cells)
    x = grid.axes_coords[0]
    landscape = case_c()
    drift = CASE_C_TEMPERATURE * landscape.mean_gradient(x)[:, 0]
    diffusion = 0.5 * CASE_C_TEMPERATURE**2 * landscape.gradient_variance(x)
    equation = pde.PDE({"p": "d_dx(drift * p) + laplace(diffusion * p)"},
                       consts={"drift": pde.ScalarField(grid, drift), "diffusion": pde.ScalarField(grid, diffusion)},
                       bc_ops={"p:d_dx": {"value": 0}, "p:laplace": {"derivative": 0}})
    width = (CASE_C_HIGH - CASE_C_LOW) / cells
    start = pde.ScalarField(grid, _start_masses(CASE_C_LOW + np.arange(cells + 1) * width) / width)
    tridiagonal = sp.diags([np.ones(cells - 1), np.ones(cells), np.ones(cells - 1)], [-1, 0, 1])
    # make_stepper compiles the right-hand side (and Euler's stepping loop) with numba: ~20 s in a fresh process
    # on the 2-core bench machine, against ~20 ms a solve. It happens here, once, outside the timed solves, and
    # the caller runs each solve once more before timing it.
    steppers = {
        f"explicit Euler, {round(T_END / dt)} steps of dt = {dt:g}": pde.EulerSolver(equation).make_stepper(start, dt),
        f"scipy BDF, rtol = {PYPDE_BDF['rtol']:g}, atol = {PYPDE_BDF['atol']:g}":
            pde.ScipySolver(equation, jac_sparsity=tridiagonal, **PYPDE_BDF).make_stepper(start, None),
    }

    def solve_with(stepper: Callable) -> Callable[[], np.ndarray]:
        def solve() -> np.ndarray:
            state = pde.ScalarField(grid, start.data)
            stepper(state, 0.0, T_END)
            return state.data

        return solve

    return {name: solve_with(stepper) for name, stepper in steppers.items()}, x, width


def _fokker_planck_case_c() -> list[dict]:
    grid, masses = _optiscape_solve(OPTISCAPE_CELLS, OPTISCAPE_STEPS)
    optiscape_error = _l1_error(masses / grid.width, grid.centres, grid.width)
    optiscape_seconds = best_seconds(lambda: _optiscape_solve(OPTISCAPE_CELLS, OPTISCAPE_STEPS), repeats=50)
    print(f"  case (c), L1 error against the closed form at t = {T_END:g} (tolerance {FP_TOLERANCE:g}), best time:\n"
          f"    optiscape {OPTISCAPE_CELLS} cells, {OPTISCAPE_STEPS} backward-Euler steps of dt = "
          f"{T_END / OPTISCAPE_STEPS:g}: {optiscape_error:.3e}, mass {masses.sum():.15f}, "
          f"{optiscape_seconds * 1e3:.2f} ms", flush=True)
    errors = {"optiscape": optiscape_error}
    pypde_seconds = float("inf")
    solvers, x, width = _pypde_solvers(PYPDE_CELLS, PYPDE_DT)
    for name, solve in solvers.items():
        density = solve()  # the warm-up: whatever is left to compile happens here
        errors[name] = error = _l1_error(density, x, width)
        seconds = best_seconds(solve, repeats=5)
        if error <= FP_TOLERANCE:
            pypde_seconds = min(pypde_seconds, seconds)
        print(f"    py-pde {PYPDE_CELLS} cells, {name}: {error:.3e}, mass {np.sum(density) * width:.15f}, "
              f"{seconds * 1e3:.2f} ms", flush=True)
    if optiscape_error > FP_TOLERANCE or math.isinf(pypde_seconds):
        raise RuntimeError(f"the solvers are compared at equal accuracy, but L1 errors {errors} miss the tolerance "
                           f"{FP_TOLERANCE:g}: retune the grids")

    kernel_grid = Grid(CASE_C_LOW, CASE_C_HIGH, KERNEL_CELLS)
    kernel_operator = FokkerPlanck.build(case_c(), CASE_C_TEMPERATURE, kernel_grid, "ito")
    kernel_steps = round(T_END / KERNEL_DT)
    kernel_seconds = best_seconds(
        lambda: kernel_operator.step(_start_masses(kernel_grid.faces), KERNEL_DT, kernel_steps), repeats=3)

    name = "density.fokker_planck_case_c"
    return [
        {"benchmark": name, "variant": "optiscape", "rate": 1.0 / optiscape_seconds, "unit": "solves/s"},
        {"benchmark": name, "variant": "py-pde", "rate": 1.0 / pypde_seconds, "unit": "solves/s"},
        {"benchmark": name, "variant": "optiscape steps", "rate": KERNEL_CELLS * kernel_steps / kernel_seconds,
         "unit": "cell-steps/s"},
    ]


# --- 2. Mean escape time from the pit ---------------------------------------------------------

PIT_TEMPERATURE = 0.015
PIT_START = {"local_minimum": "l1", "near": 1.0}
PIT_BARRIER = {"local_maximum": "l1", "near": 1.2}
PIT_LOW = 0.3  # reflecting; no mass of the chain ever lands below it (Chain.kept_outside is 0)
# 2000 cells: 2518.77 steps; 8000 cells: 2520.88 (0.08% more), checked on every run below.
CHAIN_CELLS, CHAIN_CHECK_CELLS = 2000, 8000
# Escape times are close to exponential (std/mean ~1.01 here), so the relative standard error is ~1/sqrt(N):
# 11 000 walkers put it just under 1%.
MC_WALKERS = 11_000


def _chain_mean_escape_time(cells: int, start: float, barrier: float) -> float:
    """The whole estimate by the exact chain: build the transfer operator, one sparse solve."""
    grid = Grid(PIT_LOW, barrier, cells)
    chain = transfer_chain(pit(), PIT_TEMPERATURE, grid, "reflecting", "absorbing")
    masses = np.zeros(cells)
    masses[grid.cell_of(start)] = 1.0
    return chain.mean_escape_time(masses)


def _monte_carlo_escape_steps() -> np.ndarray:
    """Every walker's first-escape step, stepping the SGD world until all have escaped."""
    model = SGDModel(rng=1, temperature=PIT_TEMPERATURE, n_walkers=MC_WALKERS, start=PIT_START,
                     escape={"above": PIT_BARRIER}, stop_at_escape=True, agent_objects=False, collect_every=1000)
    while model.running:
        model.step()
    return model.escape_step


def _pit_mean_escape_time() -> list[dict]:
    landscape = pit()
    start = float(landscape.local_extremum("l1", PIT_START["near"], "minimum")[0])
    barrier = float(landscape.local_extremum("l1", PIT_BARRIER["near"], "maximum")[0])

    chain_time = _chain_mean_escape_time(CHAIN_CELLS, start, barrier)
    check_time = _chain_mean_escape_time(CHAIN_CHECK_CELLS, start, barrier)
    chain_seconds = best_seconds(lambda: _chain_mean_escape_time(CHAIN_CELLS, start, barrier), repeats=5)

    started = time.perf_counter()
    steps = _monte_carlo_escape_steps()
    mc_seconds = time.perf_counter() - started
    mc_time = float(steps.mean())
    stderr = float(steps.std() / math.sqrt(len(steps)))
    agree = abs(chain_time - mc_time) <= 4 * stderr
    print(f"  pit, T = {PIT_TEMPERATURE:g}, mean escape time from W = {start:.4f} over W = {barrier:.4f}:\n"
          f"    chain {CHAIN_CELLS} cells {chain_time:.2f} steps ({CHAIN_CHECK_CELLS} cells {check_time:.2f}, "
          f"{abs(check_time / chain_time - 1):.2%} apart)\n"
          f"    monte carlo {MC_WALKERS} walkers {mc_time:.2f} ± {stderr:.2f} (relative standard error "
          f"{stderr / mc_time:.2%}); chain - monte carlo = {(chain_time - mc_time) / stderr:+.2f} standard errors: "
          f"{'agree' if agree else 'DISAGREE'} within 4", flush=True)

    name = "density.pit_mean_escape_time"
    return [
        {"benchmark": name, "variant": "exact chain", "rate": 1.0 / chain_seconds, "unit": "estimates/s"},
        {"benchmark": name, "variant": "monte carlo", "rate": 1.0 / mc_seconds, "unit": "estimates/s"},
    ]


def run() -> list[dict]:
    """Both benchmarks, measured now, on this machine."""
    return _fokker_planck_case_c() + _pit_mean_escape_time()


RATIOS = [("density.fokker_planck_case_c", "optiscape", "py-pde", 10.0),
          ("density.pit_mean_escape_time", "exact chain", "monte carlo", 100.0)]
