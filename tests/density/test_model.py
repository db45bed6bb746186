"""The probability-current world: solvers against closed forms, conservation laws and Monte Carlo."""

import math

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

import scenarios
from _fastcore import density as kernel
from models.density.fokker_planck import FokkerPlanck, Grid, stationary_density
from models.density.model import DensityModel
from models.density.params import DensityParams
from models.density.transfer import cloud_in_cell, gaussian_rule_chain, transfer_chain
from models.landscapes import case_b, case_c, one_datapoint, pit
from models.sgd.model import SGDModel
from tests.conftest import mc_tolerance

BARRIER = float(pit().local_extremum("l1", 1.2, "maximum")[0])
L1_MIN = float(pit().local_extremum("l1", 1.0, "minimum")[0])


@pytest.mark.parametrize(("low", "high"), [("reflecting", "reflecting"), ("reflecting", "absorbing")])
def test_fokker_planck_conserves_mass_and_stays_positive_over_1e5_steps(low, high):
    grid = Grid(0.3, BARRIER, 2000)
    fp = FokkerPlanck.build(pit(), 0.015, grid, "ito", low, high)
    masses = np.zeros(grid.cells)
    masses[grid.cell_of(1.0)] = 1.0
    out_low, out_high = fp.step(masses, 1.0, 100_000)
    assert masses.min() >= 0.0
    assert abs(masses.sum() + out_low.sum() + out_high.sum() - 1.0) < 1e-10
    if high == "absorbing":
        assert out_high.sum() > 0.5  # most of it escaped in 10^5 steps at T = 0.015


def test_stationary_law_converges_at_second_order():
    # case (c) at T = 0.05, where the continuum holds: P ∝ W^-2 exp(-∫ 2(W-2)/(T 0.04 W^2)), an inverse gamma
    errors = []
    sizes = [200, 400, 800, 1600]
    for cells in sizes:
        grid = Grid(1.0, 3.5, cells)
        discrete = FokkerPlanck.build(case_c(), 0.05, grid, "ito").stationary() / grid.width
        exact = stationary_density(case_c(), 0.05, grid.centres, "ito")
        errors.append(float(np.sum(np.abs(discrete - exact)) * grid.width))
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(len(errors) - 1)]
    assert errors[-1] < 1e-4
    assert all(1.8 < q < 2.2 for q in orders), (errors, orders)


def test_time_stepping_reaches_the_discrete_stationary_state():
    grid = Grid(1.0, 3.5, 500)
    fp = FokkerPlanck.build(case_c(), 0.05, grid, "ito")
    masses = np.zeros(grid.cells)
    masses[grid.cell_of(1.5)] = 1.0
    fp.step(masses, 2.0, 2000)  # 4000 steps of SGD time: e^-200 of the start is left
    np.testing.assert_allclose(masses, fp.stationary(), atol=1e-12)


def test_ito_spreads_as_sgd_and_the_printed_equation_twice_as_fast():
    # case (b): a fair walk of +-T steps, variance T^2 per step
    T, steps = 0.1, 100
    grid = Grid(-6.0, 6.0, 2400)
    variances = {}
    for form in ("ito", "printed"):
        fp = FokkerPlanck.build(case_b(), T, grid, form)
        masses = np.zeros(grid.cells)
        masses[grid.cell_of(0.0)] = 1.0
        fp.step(masses, 0.05, 20 * steps)
        variances[form] = float(np.dot(masses, grid.centres**2) - np.dot(masses, grid.centres) ** 2)
    assert variances["ito"] == pytest.approx(T**2 * steps, rel=0.01)
    assert variances["printed"] == pytest.approx(2 * T**2 * steps, rel=0.01)


def test_gaussian_rule_and_chain_are_exact_in_mean_and_variance_for_affine_maps():
    # case (c) at T = 0.5: W -> 0.4W + 1 or 0.6W + 1, so m' = 0.5 m + 1, E[W^2]' = 0.26 E[W^2] + m + 1
    grid = Grid(0.0, 8.0, 4000)
    start = np.zeros(grid.cells)
    start[grid.cell_of(0.5)] = 1.0
    x = grid.centres
    m, s = float(np.dot(start, x)), float(np.dot(start, x**2))
    chains = {"chain": transfer_chain(case_c(), 0.5, grid, "reflecting", "reflecting"),
              "gaussian": gaussian_rule_chain(case_c(), 0.5, grid, "reflecting", "reflecting")}
    masses = {k: start.copy() for k in chains}
    for _ in range(10):
        m, s = 0.5 * m + 1.0, 0.26 * s + m + 1.0  # uses the old m on the right-hand side
        for name, chain in chains.items():
            chain.step(masses[name], 1)
    for name in chains:
        assert np.dot(masses[name], x) == pytest.approx(m, abs=1e-9)
        # the linear split adds at most width^2/4 of variance per step
        assert np.dot(masses[name], x**2) == pytest.approx(s, abs=10 * grid.width**2)


def test_chain_mean_escape_time_matches_monte_carlo():
    T, n = 0.02, 20000
    grid = Grid(0.3, BARRIER, 2000)
    start = np.zeros(grid.cells)
    start[grid.cell_of(L1_MIN)] = 1.0
    chain = transfer_chain(pit(), T, grid, "reflecting", "absorbing")
    exact = chain.mean_escape_time(start)
    mc = SGDModel(rng=11, temperature=T, n_walkers=n, start={"at": L1_MIN}, escape={"above": BARRIER},
                  stop_at_escape=True, agent_objects=False, collect_every=1000)
    while mc.running:
        mc.step()
    steps = mc.escape_step
    assert exact == pytest.approx(steps.mean(), abs=4 * steps.std() / math.sqrt(n))
    survival = 1.0 - np.cumsum(chain.step(start.copy(), 400))
    for N in (50, 100, 200, 400):
        p = float(np.mean(steps > N))
        assert survival[N - 1] == pytest.approx(p, abs=mc_tolerance(p, n))


def test_density_world_steps_every_description_beside_the_walkers():
    model = DensityModel(rng=3, temperature=0.02, n_walkers=3000, start={"at": L1_MIN},
                         escape={"above": {"local_maximum": "l1", "near": 1.2}}, grid={"low": 0.3, "cells": 1500})
    for _ in range(150):
        model.step()
    assert model.grid.high == pytest.approx(BARRIER) and model.high_boundary == "absorbing"
    survival_mc = float(np.mean(model.escape_step < 0))
    assert model.moments("chain")[2] == pytest.approx(survival_mc, abs=mc_tolerance(survival_mc, 3000))
    for name in ("chain", "fokker_planck", "printed_master", "gaussian_rule"):
        mass = model.moments(name)[2]
        remaining = mass + sum(model.escaped_per_step[name])
        assert remaining == pytest.approx(1.0, abs=1e-9)
    tables = model.tables()
    assert set(tables) >= {"densities", "escape_times"} and len(tables["escape_times"]) == 150
    times = model.mean_escape_times()
    assert times["chain"] == pytest.approx(142.4, rel=0.01)


def _params(**changes):
    base = {"landscape": {"preset": "pit"}, "temperature": 0.015, "start": {"at": 1.0},
            "escape": {"above": {"local_maximum": "l1", "near": 1.2}}, "grid": {"low": 0.3, "cells": 1500}}
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grid": {"low": 0.3, "cells": 50}}, "too coarse"),
        ({"temperature": [0.01, 0.02]}, "one T"),
        ({"method": "gd"}, "expected method 'sgd'"),
        ({"batch_size": 2}, "batch_size 1"),
        ({"escape": {"outside": {"center": 1.0, "radius": 0.2}}}, "use 'above' or 'below'"),
        ({"grid": {"low": 0.3, "high": 2.0, "cells": 1500}}, "absorbing high edge"),
        ({"escape": None, "grid": {"low": 0.3, "cells": 1500}}, "expected 'low' and 'high'"),
        ({"start": {"at": 5.0}}, "the start lies mostly outside the grid"),
        ({"start": {"normal": {"mean": -3.0, "sd": 0.1}}}, "the start lies mostly outside the grid"),
        ({"landscape": {"dim": 2, "datapoints": {"a": [{"gaussian": {"a": -1, "b": 1, "c": 0}}]}},
          "escape": None, "start": {"at": 0.0}, "grid": {"low": -1, "high": 1}}, "1-D"),
    ],
)
def test_bad_density_parameters_are_refused(changes, message):
    with pytest.raises(ValidationError, match=message):
        DensityParams.model_validate(_params(**changes))


def test_warnings_are_stated_when_a_description_is_out_of_range_or_the_grid_leaks():
    model = DensityModel(rng=1, landscape={"preset": "case_b"}, temperature=0.5, n_walkers=100, start={"at": 0.0},
                         grid={"low": -2.0, "high": 2.0, "cells": 400})
    for _ in range(30):
        model.step()
    text = " ".join(model.summary()["warnings"])
    assert "stepped past a reflecting edge" in text or "piling up at a reflecting edge" in text
    steep = DensityModel(rng=1, temperature=0.02, n_walkers=10, start={"at": 1.0},
                         escape={"above": {"local_maximum": "l1", "near": 1.2}}, grid={"low": 0.3, "cells": 1500})
    assert any("diffusion approximation is far outside its range" in w for w in steep.warnings)


def test_kernels_validate_their_inputs():
    with pytest.raises(ValueError, match="indptr: expected 4 entries"):
        kernel.chain_steps(np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.ones(3), 1)
    with pytest.raises(ValueError, match="lower, diag, upper"):
        kernel.backward_euler_steps(np.zeros(2), np.zeros(3), np.zeros(3), np.ones(3), 1, 0.1, 0.0, 0.0)


def test_mean_escape_time_is_infinite_when_the_start_can_fall_into_a_trap():
    # two identical datapoints (S^2 = 0) with a well on each side of the absorbing edge at 1.5: GD from 0.1 never leaves
    two_wells = {"datapoints": {n: [{"gaussian": {"a": -1, "b": 4, "c": 0}}, {"gaussian": {"a": -1, "b": 4, "c": 3}}]
                                for n in ("a", "b")}}
    model = DensityModel(rng=1, landscape=two_wells, temperature=0.05, n_walkers=10, start={"at": 0.1},
                         escape={"above": 1.5}, grid={"low": -1.5, "cells": 600})
    assert all(math.isinf(t) for t in model.mean_escape_times().values())


def test_a_grid_too_coarse_for_one_step_is_stated():
    model = DensityModel(rng=1, landscape={"preset": "case_c"}, temperature=0.001, n_walkers=100, start={"at": 0.5},
                         grid={"low": 0.0, "high": 8.0, "cells": 100})
    for _ in range(20):
        model.step()
    text = " ".join(model.summary()["warnings"])
    assert "under 4 cells" in text and "refine the grid" in text


def test_density_kernels_equal_their_python_references():
    rng = np.random.default_rng(5)
    grid = Grid(0.0, 1.0, 20)
    # cloud_in_cell: a plain loop splitting each point between the two nearest centres
    source = rng.integers(0, 20, 200).astype(np.int64)
    position = rng.uniform(-0.2, 1.2, 200)
    weight = rng.random(200)
    t, s, w, outside = cloud_in_cell(source, position, weight, grid, False, True)
    kernel_matrix = np.zeros((20, 20))
    np.add.at(kernel_matrix, (t, s), w)
    reference = np.zeros((20, 20))
    kept = np.zeros(20)
    for src, x, wt in zip(source, position, weight, strict=True):
        if x >= 1.0:
            continue  # the high edge absorbs
        if x < 0.0:
            reference[0, src] += wt
            kept[src] += wt
            continue
        f = min(max(x / grid.width - 0.5, 0.0), 19.0)
        c = min(int(np.floor(f)), 18)
        reference[c, src] += wt * (1 - (f - c))
        reference[c + 1, src] += wt * (f - c)
    np.testing.assert_allclose(kernel_matrix, reference, atol=1e-15)
    np.testing.assert_allclose(outside, kept, atol=1e-15)

    # chain_steps: repeated sparse mat-vec, losses = mass before - mass after
    chain = transfer_chain(pit(), 0.02, Grid(0.3, BARRIER, 300), "reflecting", "absorbing")
    masses = rng.random(300)
    masses /= masses.sum()
    expected = masses.copy()
    losses = []
    for _ in range(7):
        after = chain.matrix @ expected
        losses.append(expected.sum() - after.sum())
        expected = after
    lost = chain.step(masses, 7)
    np.testing.assert_allclose(masses, expected, atol=1e-15)
    np.testing.assert_allclose(lost, losses, atol=1e-15)

    # backward_euler_steps: a dense solve of (I - dt A) p_new = p per step
    fp = FokkerPlanck.build(pit(), 0.02, Grid(0.3, BARRIER, 200), "ito", "reflecting", "absorbing")
    A = np.diag(fp.diag) + np.diag(fp.lower[1:], -1) + np.diag(fp.upper[:-1], 1)
    p = rng.random(200)
    expected = p.copy()
    for _ in range(5):
        expected = np.linalg.solve(np.eye(200) - 0.5 * A, expected)
    fp.step(p, 0.5, 5)
    np.testing.assert_allclose(p, expected, rtol=1e-10, atol=1e-14)

    # gaussian_rule_entries: normal CDF differences over the target cells
    from scipy.stats import norm

    centre = grid.centres
    mean, var = centre - 0.05, np.full(20, 0.01)
    t, s, w = kernel.gaussian_rule_entries(centre, mean, var, 0.0, grid.width)
    matrix = np.zeros((20, 20))
    np.add.at(matrix, (t, s), w)
    edges = grid.faces
    reference = np.diff(norm.cdf((edges[:, None] - mean[None, :]) / 0.1), axis=0)
    np.testing.assert_allclose(matrix, reference, atol=1e-12)


def test_a_start_inside_one_cell_of_a_coarse_grid_runs():
    # found by the scenario fuzzer: the start's one cell was read as one 1-D point, not as one position
    document = yaml.safe_load(scenarios.load("density_symmetric_noise").path.read_text(encoding="utf-8"))
    document["params"] |= {"grid": {"low": -2267.0, "high": 30.0, "cells": 6000}, "n_walkers": 200}
    model = scenarios.parse(document).build()
    assert np.count_nonzero(model.start_masses > 1e-6) == 1
    model.step()


def test_gaussian_rule_without_noise_moves_each_cell_as_a_point():
    # one datapoint: S^2 = 0 everywhere, so the rule is the chain of the GD map on the cell centres
    landscape, grid = one_datapoint(), Grid(-0.5, 2.5, 120)
    assert np.all(landscape.gradient_variance(grid.centres) == 0.0)
    rule = gaussian_rule_chain(landscape, 0.3, grid, "reflecting", "absorbing")
    chain = transfer_chain(landscape, 0.3, grid, "reflecting", "absorbing", subsamples=1, batch="gd")
    np.testing.assert_allclose(rule.matrix.toarray(), chain.matrix.toarray(), atol=1e-15)
    np.testing.assert_allclose(rule.kept_outside, chain.kept_outside, atol=1e-15)


def test_the_pit_twice_as_wide_is_the_pit_at_a_quarter_of_the_step_size():
    # W -> W - T g(W/2)/2 is u -> u - (T/4) g(u) on u = W/2: the same escapes, walker for walker, and the same chain
    runs = []
    for stretch, T in ((1.0, 0.06 / 4), (2.0, 0.06)):
        model = DensityModel(rng=4, landscape={"preset": "pit", "stretch": stretch}, temperature=T, n_walkers=300,
                             start={"local_minimum": "l1", "near": stretch},
                             escape={"above": {"local_maximum": "l1", "near": 1.2 * stretch}},
                             grid={"low": 0.3 * stretch, "cells": 600}, descriptions=["chain"])
        for _ in range(300):
            model.step()
        runs.append(model)
    narrow, wide = runs
    np.testing.assert_array_equal(wide.escape_step, narrow.escape_step)
    assert (narrow.escape_step >= 0).sum() > 10
    assert wide.mean_escape_times()["chain"] == pytest.approx(narrow.mean_escape_times()["chain"], rel=1e-9)
