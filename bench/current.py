"""The current world's exact chain on large grids, and against Monte Carlo walkers at equal accuracy (docs/current.md).

1. `current.chain_million_cells`: the rank-1 valley (H = diag(1, 2), noise along (1, 1), T = 0.1) on 1000 x 1000
   cells: build the operator, find the stationary density, its current and circulation; the time, the peak
   memory, and the circulation against its closed form.
2. `current.saddle_mean_escape_time`: the saddle at T = 0.05 (barrier / theta = 10), the mean escape time from
   the left well by the chain (build + one solve) and by walkers, as many as make their standard error equal to
   the chain's discretisation error (its distance to the same chain on a grid twice as fine); the walkers' time
   is their measured throughput times the walker-steps that takes (a lower bound: no walker runs past the mean).
   The chain's error shrinks as the cell width squared (4.5% at 280 x 300 cells, 1.3% at 560 x 600), so
   "extrapolated" also times two chains, coarse and fine, and their Richardson estimate (4 fine - coarse) / 3,
   its error measured against the same estimate one refinement further (what a user gains by it).
3. `current.fokker_planck_isotropic`: the reversible control's Fokker-Planck equation (T = 0.1: drift -T w, isotropic
   constant D = T^2 / 4, the exact stationary density a Gaussian of variance T / 4), which py-pde can express, on
   the same 80 x 80 grid: optiscape's finite volumes give the stationary density by one sparse solve; py-pde
   integrates in time (explicit, dt = 0.01, after a warm-up that compiles it) from a Gaussian twice as wide until
   it has settled (60 steps, twelve relaxation times of the variance), with the zero-flux (Robin) edge
   D dp/dn + T (w . n) p = 0 (with a Neumann edge mass flows in and the solution runs away). Both L1 errors against
   the exact density are printed: they are of one size (py-pde's non-conservative central differences settle a
   little further off).
"""

from __future__ import annotations

import math
import resource
import time

import numpy as np

from bench.timing import best_seconds
from models.current.claims import exact_circulation, linear_valley, saddle_landscape
from models.current.model import CurrentModel
from models.current.stationary import circulation, current_field, stationary_density
from models.current.transfer import Grid, minibatches, step_operator
from models.sgd.model import SGDModel

MILLION_SIDE, MILLION_T = 1000, 0.1
SADDLE_T = 0.05
SADDLE_COARSE, SADDLE_CELLS, SADDLE_CHECK_CELLS = [280, 300], [560, 600], [1120, 1200]
MC_WALKERS, MC_STEPS = 4000, 2000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _million_cells() -> list[dict]:
    landscape = linear_valley(1.0, 2.0, 1.0, (1, 1)).build()
    half = 3.0 * math.sqrt(MILLION_T)
    grid = Grid((-half, -half), (half, half), (MILLION_SIDE, MILLION_SIDE))
    before = _peak_mb()
    started = time.perf_counter()
    P = step_operator(landscape, MILLION_T, grid, minibatches(2, 1), subsamples=1)
    built = time.perf_counter()
    pi = stationary_density(P)
    solved = time.perf_counter()
    J = current_field(P, pi, grid.centres)
    found = circulation(J, grid.centres)
    done = time.perf_counter()
    exact = exact_circulation(MILLION_T, 1.0, 2.0, 1.0, (1, 1))
    peak = _peak_mb()
    print(f"  {grid.cells:,} cells, {P.nnz:,} nonzeros: build {built - started:.2f} s, stationary density "
          f"{solved - built:.2f} s, current + circulation {done - solved:.2f} s; peak memory {peak:.0f} MB "
          f"({peak - before:+.0f} MB); circulation {found:.6e} (closed form {exact:.6e}, "
          f"{abs(found / exact - 1):.1e} apart)", flush=True)
    name = "current.chain_million_cells"
    return [{"benchmark": name, "variant": "build + solve", "rate": grid.cells / (done - started),
             "unit": "cells/s"}]


def _chain_escape_time(cells: list[int]) -> float:
    model = CurrentModel({"landscape": saddle_landscape(), "temperature": SADDLE_T,
                          "grid": {"low": [-2.2, -1.5], "high": [0.6, 1.5], "cells": cells},
                          "start": {"at": [-1.0, 0.0]}, "escape": {"above": 0.0}, "walkers": 0})
    return model.escape["mean"]


def _richardson(coarse: float, fine: float) -> float:
    """The escape time with the chain's O(width^2) error removed, from grids of width 2h and h."""
    return (4.0 * fine - coarse) / 3.0


def _saddle() -> list[dict]:
    coarse = _chain_escape_time(SADDLE_COARSE)
    chain = _chain_escape_time(SADDLE_CELLS)
    check = _chain_escape_time(SADDLE_CHECK_CELLS)
    accuracy = abs(check / chain - 1)
    chain_seconds = best_seconds(lambda: _chain_escape_time(SADDLE_CELLS), repeats=2)
    coarse_seconds = best_seconds(lambda: _chain_escape_time(SADDLE_COARSE), repeats=2)
    extrapolated, further = _richardson(coarse, chain), _richardson(chain, check)
    extrapolated_accuracy = abs(extrapolated / further - 1)
    # Walkers: throughput measured on MC_WALKERS for MC_STEPS steps (none escape that soon), then the cost of
    # 1 / accuracy^2 walkers each running the mean escape time: a lower bound (the slowest walkers run longer).
    model = SGDModel(rng=1, landscape=saddle_landscape(), temperature=SADDLE_T, n_walkers=MC_WALKERS,
                     start={"at": [-1.0, 0.0]}, escape={"above": 0.0}, stop_at_escape=True, agent_objects=False,
                     collect_every=1000)
    started = time.perf_counter()
    for _ in range(MC_STEPS):
        model.step()
    throughput = MC_WALKERS * MC_STEPS / (time.perf_counter() - started)
    wanted = math.ceil(1.0 / accuracy**2)  # escape times are near exponential: relative error 1 / sqrt(N)
    mc_seconds = wanted * check / throughput
    mc_extrapolated_seconds = math.ceil(1.0 / extrapolated_accuracy**2) * check / throughput
    print(f"  saddle, T = {SADDLE_T:g}: chain {SADDLE_CELLS} cells {chain:.1f} steps, {SADDLE_CHECK_CELLS} cells "
          f"{check:.1f} ({accuracy:.2%} apart), {chain_seconds:.2f} s;\n    walkers: {throughput:,.0f} walker-steps/s, "
          f"so {wanted:,} walkers (standard error {accuracy:.2%}) x {check:.0f} steps take at least "
          f"{mc_seconds:,.0f} s", flush=True)
    print(f"    extrapolated from {SADDLE_COARSE} and {SADDLE_CELLS} cells: {extrapolated:.1f} steps "
          f"({extrapolated_accuracy:.2%} from the next refinement's {further:.1f}), "
          f"{coarse_seconds + chain_seconds:.2f} s; walkers to match: at least {mc_extrapolated_seconds:,.0f} s",
          flush=True)
    name, extrapolated_name = "current.saddle_mean_escape_time", "current.saddle_mean_escape_time_extrapolated"
    return [{"benchmark": name, "variant": "exact chain", "rate": 1.0 / chain_seconds, "unit": "estimates/s"},
            {"benchmark": name, "variant": "monte carlo", "rate": 1.0 / mc_seconds, "unit": "estimates/s"},
            {"benchmark": extrapolated_name, "variant": "two chains", "rate": 1.0 / (coarse_seconds + chain_seconds),
             "unit": "estimates/s"},
            {"benchmark": extrapolated_name, "variant": "monte carlo", "rate": 1.0 / mc_extrapolated_seconds,
             "unit": "estimates/s"}]


def _versus_py_pde() -> list[dict]:
    import pde  # the bench extra's

    from models.current.fokker_planck import generator
    from models.current.fokker_planck import stationary_density as fokker_planck_density
    from scenarios import load

    model = load("current_isotropic_control").build()
    T, half, cells = model.T, 0.9, 80
    grid = Grid((-half, -half), (half, half), (cells, cells))
    variance, D = T / 4, T * T / 4
    exact = np.exp(-(grid.centres ** 2).sum(axis=1) / (2 * variance))
    exact /= exact.sum()
    ours = fokker_planck_density(generator(model.landscape, T, grid))
    ours_seconds = best_seconds(lambda: fokker_planck_density(generator(model.landscape, T, grid)), repeats=5)

    box = pde.CartesianGrid([[-half, half], [-half, half]], [cells, cells])
    start = pde.ScalarField.from_expression(box, f"exp(-(x**2 + y**2) / (4 * {variance}))")
    equation = pde.PDE({"p": f"{T} * (2 * p + x * d_dx(p) + y * d_dy(p)) + {D} * laplace(p)"},
                       bc={"mixed": T * half / D})  # dp/dn + (T |w . n| / D) p = 0 on every edge: no flux

    stepper = pde.ExplicitSolver(equation).make_stepper(start, dt=0.01)  # compiled here, once, untimed

    def settle(t_range: float) -> np.ndarray:
        field = start.copy()
        stepper(field, 0.0, t_range)
        return field.data

    theirs_seconds = best_seconds(lambda: settle(60.0), repeats=3)
    theirs = settle(60.0).ravel()  # cells in C order (x, then y), as the grid numbers them
    theirs = theirs / theirs.sum()
    errors = np.abs(ours - exact).sum(), np.abs(theirs - exact).sum()
    print(f"  reversible control's Fokker-Planck, {cells} x {cells} cells: optiscape one solve "
          f"{ours_seconds * 1e3:.0f} ms (L1 error {errors[0]:.4f}), py-pde 60 steps to settle {theirs_seconds:.2f} s "
          f"(L1 error {errors[1]:.4f})", flush=True)
    if max(errors) > 0.02:
        raise RuntimeError(f"the Fokker-Planck solvers are off the exact density (L1 {errors}): nothing to compare")
    name = "current.fokker_planck_isotropic"
    return [{"benchmark": name, "variant": "optiscape", "rate": 1.0 / ours_seconds, "unit": "solves/s"},
            {"benchmark": name, "variant": "py-pde", "rate": 1.0 / theirs_seconds, "unit": "solves/s"}]


def run() -> list[dict]:
    """The three benchmarks, measured now, on this machine."""
    return _million_cells() + _saddle() + _versus_py_pde()


RATIOS = [("current.saddle_mean_escape_time", "exact chain", "monte carlo", 100.0),
          ("current.fokker_planck_isotropic", "optiscape", "py-pde", 1.0),
          ("current.saddle_mean_escape_time_extrapolated", "two chains", "monte carlo", 100.0)]

if __name__ == "__main__":
    np.set_printoptions(precision=4)
    for row in run():
        print(row)
