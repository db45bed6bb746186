"""The current world's chain: its kernel against the reference, and its stationary current against closed forms
and walkers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from _fastcore import density as kernel
from models.current import fokker_planck
from models.current.claims import exact_circulation, four_datapoints, linear_valley, saddle_landscape
from models.current.escape import escape_from, escape_time_map
from models.current.model import CurrentModel, build_chain
from models.current.stationary import (
    circulation,
    current_field,
    diffusion_tensor,
    entropy_production,
    stationary_density,
)
from models.current.transfer import Grid, epoch_operator, minibatches, step_operator
from models.density.transfer import cloud_in_cell_reference
from models.landscapes import LandscapeSpec
from models.sgd.params import EscapeRegion, EscapeSpec


def round_bowl(noise: float) -> LandscapeSpec:
    """|w|^2 / 2 with four datapoints shifted by +-noise along each axis: isotropic noise."""
    return four_datapoints([0.0, 0.0, 0.5], [0.0, 0.0, 0.5], noise)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_kernel_matches_reference(dim: int) -> None:
    rng = np.random.default_rng(7)
    shape = np.array([5, 4, 3][:dim], dtype=np.int64)
    low, width = np.array([-1.0, 0.0, 2.0][:dim]), np.array([0.5, 0.25, 1.0][:dim])
    points = low + rng.uniform(-0.3, 1.3, size=(400, dim)) * shape * width  # some beyond every edge
    weight = rng.random(400)
    t, w = kernel.cloud_in_cell_nd(points, weight, low, width, shape)
    t_ref, w_ref = cloud_in_cell_reference(points, weight, low, width, tuple(shape))
    np.testing.assert_array_equal(t, t_ref)
    np.testing.assert_array_equal(w, w_ref)
    np.testing.assert_allclose(w.sum(axis=1), weight, rtol=1e-14)  # the box keeps every point's weight
    inside = np.all((points > low + width / 2) & (points < low + (shape - 0.5) * width), axis=1)
    centres = np.stack(np.unravel_index(t, tuple(shape)), axis=-1) * width + low + width / 2
    # A point between centres is split so that its weighted mean position is the point itself.
    np.testing.assert_allclose((centres * w[..., None]).sum(axis=1)[inside] / weight[inside, None], points[inside])


def test_kernel_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="expected 1 to 3 dims"):
        kernel.cloud_in_cell_nd(np.zeros((2, 4)), np.ones(2), np.zeros(4), np.ones(4), np.full(4, 3))
    with pytest.raises(ValueError, match="width > 0"):
        kernel.cloud_in_cell_nd(np.zeros((2, 2)), np.ones(2), np.zeros(2), np.array([1.0, 0.0]), np.full(2, 3))


def test_operator_is_stochastic_and_moves_mass_by_the_mean_step() -> None:
    landscape = linear_valley(1.0, 2.0, 1.0, (1, 1)).build()
    grid = Grid((-1.0, -1.0), (1.0, 1.0), (40, 40))
    P = step_operator(landscape, 0.1, grid, minibatches(2, 1), subsamples=2)
    np.testing.assert_allclose(np.asarray(P.sum(axis=0)).ravel(), 1.0, rtol=1e-13)
    x = grid.centres
    interior = np.all(np.abs(x) < 0.6, axis=1)
    mean_target = (P.T @ x)[interior]
    expected = x[interior] - 0.1 * landscape.mean_gradient(x[interior])  # linear gradients: subsamples average out
    np.testing.assert_allclose(mean_target, expected, atol=1e-13)


@pytest.mark.parametrize(("T", "cells"), [(0.1, 60), (0.1, 120), (0.2, 90)])
def test_rank1_valley_circulates_as_the_closed_form_says(T: float, cells: int) -> None:
    landscape = linear_valley(1.0, 2.0, 1.0, (1, 1)).build()
    grid = Grid((-0.9, -0.9), (0.9, 0.9), (cells, cells))
    P = step_operator(landscape, T, grid, minibatches(2, 1), subsamples=2)
    pi = stationary_density(P)
    np.testing.assert_allclose(P @ pi, pi, atol=1e-14)
    J = current_field(P, pi, grid.centres)
    expected = exact_circulation(T, 1.0, 2.0, 1.0, (1, 1))
    assert expected < 0
    assert circulation(J, grid.centres) == pytest.approx(expected, rel=1e-9)
    # The circulation is the same about any point in a stationary state.
    assert circulation(J, grid.centres, about=np.array([0.3, -0.2])) == pytest.approx(expected, rel=1e-9)
    sigma = entropy_production(J, pi, diffusion_tensor(landscape, T, grid.centres))
    assert sigma > 0


def test_walkers_measure_the_chains_circulation() -> None:
    """The walkers' mean (a x b) per step agrees with the exact chain within 4 standard errors."""
    spec = linear_valley(1.0, 2.0, 1.0, (1, 1))
    model = CurrentModel({"landscape": spec, "temperature": 0.1, "grid": {"low": [-0.8, -0.8], "high": [0.8, 0.8],
                          "cells": 80}, "start": {"at": [0.0, 0.0]}, "walkers": 4000, "burn_in": 40}, rng=5)
    for _ in range(140):
        model.step()
    mean, se = model.walker_circulation()
    exact = model.stationary["circulation"]
    assert exact == pytest.approx(exact_circulation(0.1, 1.0, 2.0, 1.0, (1, 1)), rel=1e-9)
    assert abs(mean - exact) < 4 * se
    assert abs(exact) > 20 * se  # the walkers resolve the current, not only its absence


def test_reversible_control_current_and_entropy_production_vanish_in_the_continuum_limit() -> None:
    """A round bowl with isotropic noise: no circulation at any grid; the current and entropy production that the
    discrete steps leave shrink as T and the cell width shrink together (the table is in docs/current.md)."""
    rows = []
    landscape = round_bowl(1.0).build()
    for T, cells in ((0.2, 30), (0.1, 42), (0.05, 60)):
        half = 6 * math.sqrt(T / 4)  # six standard deviations of pi
        grid = Grid((-half, -half), (half, half), (cells, cells))
        P = step_operator(landscape, T, grid, minibatches(4, 1), subsamples=2)
        pi = stationary_density(P)
        J = current_field(P, pi, grid.centres)
        drift = np.abs(pi[:, None] * T * landscape.mean_gradient(grid.centres)).sum()
        rows.append((T, cells, circulation(J, grid.centres), np.abs(J).sum() / drift,
                     entropy_production(J, pi, diffusion_tensor(landscape, T, grid.centres)) / T))
    print("\n   T  cells  circulation   |J| / |pi T G|   EP per unit time")
    for row in rows:
        print(f"{row[0]:5.3f} {row[1]:5d} {row[2]:12.1e} {row[3]:14.3e} {row[4]:14.3e}")
    assert all(abs(r[2]) < 1e-15 for r in rows)
    assert rows[0][3] > rows[1][3] > rows[2][3]
    assert rows[0][4] > rows[1][4] > rows[2][4]
    assert rows[2][3] < 0.35 * rows[0][3]


def test_epoch_without_replacement_is_the_average_over_data_orders() -> None:
    landscape = linear_valley(1.0, 2.0, 1.0, (1, 1)).build()
    grid = Grid((-0.8, -0.8), (0.8, 0.8), (30, 30))
    per = {b: step_operator(landscape, 0.1, grid, [(b, 1.0)]) for b, _ in minibatches(2, 1)}
    epoch = epoch_operator(per, 2, 1)
    expected = 0.5 * (per[(1,)] @ per[(0,)] + per[(0,)] @ per[(1,)])
    assert abs(epoch - expected).max() < 1e-15
    np.testing.assert_allclose(np.asarray(epoch.sum(axis=0)).ravel(), 1.0, rtol=1e-13)
    # Two steps with replacement are a different chain (same pair twice is possible): the two differ.
    with_replacement = step_operator(landscape, 0.1, grid, minibatches(2, 1))
    assert abs(with_replacement @ with_replacement - epoch).max() > 1e-3


def test_escape_matches_walkers_and_lands_where_they_land() -> None:
    spec = saddle_landscape()
    model = CurrentModel({"landscape": spec, "temperature": 0.16, "grid": {"low": [-2.2, -1.5], "high": [0.6, 1.5],
                          "cells": [120, 128]}, "start": {"at": [-1.0, 0.0]}, "escape": {"above": 0.0},
                          "walkers": 2000}, rng=3)
    while model.walkers_left() > 0:
        model.walkers.step()  # the walkers alone: the chain's answer is one solve
    times = model.walkers.escape_step
    se = times.std(ddof=1) / math.sqrt(len(times))
    chain = model.escape["mean"]
    assert abs(times.mean() - chain) < 4 * se
    exits = model.exit_table()
    sd_chain = math.sqrt(np.sum(exits["chain"] * exits["w1"] ** 2))
    sd_walkers = float(np.std(model.walkers.position[:, 1]))
    assert sd_walkers == pytest.approx(sd_chain, rel=4 / math.sqrt(2 * len(times)) + 0.02)


def test_escape_time_map_is_the_mean_escape_time_from_each_cell() -> None:
    landscape = round_bowl(1.0).build()
    grid = Grid((-1.0, -1.0), (1.0, 1.0), (24, 24))
    escape = EscapeRegion.from_spec(EscapeSpec(above=0.3), landscape)
    chain = build_chain(landscape, 0.2, grid, 1, True, 2, escape)
    tau = escape_time_map(chain)
    start = np.zeros(grid.cells)
    start[100] = 1.0
    assert escape_from(chain, start)[0] == pytest.approx(tau[100], rel=1e-8)
    assert np.all(tau[chain.absorbing] == 0) and np.all(tau[~chain.absorbing] >= 1)


@pytest.mark.parametrize(("change", "message"), [
    ({"landscape": {"preset": "pit"}}, "expected dim 2 or 3"),
    ({"grid": {"low": [-1, -1, -1], "high": [1, 1, 1], "cells": 10}}, "expected low, high and cells for 2 axes"),
    ({"grid": {"low": [-1, 1], "high": [1, 1], "cells": 10}}, "expected high > low"),
    ({"start": {"at": [5.0, 0.0]}}, "expected the start inside the grid box"),
    ({"batch_size": 3}, "expected at most 2"),
])
def test_bad_parameters_get_one_line_errors(change: dict, message: str) -> None:
    params = {"landscape": linear_valley(1.0, 2.0, 1.0, (1, 1)).model_dump(exclude_none=True),
              "grid": {"low": [-1, -1], "high": [1, 1], "cells": 10}, "start": {"at": [0.0, 0.0]}}
    with pytest.raises(ValueError, match=message):
        CurrentModel({**params, **change})


def test_kernel_operator_equals_reference_operator() -> None:
    """The whole operator built through the reference deposit equals the kernel's."""
    landscape = round_bowl(1.0).build()
    grid = Grid((-0.5, -0.5), (0.5, 0.5), (6, 5))
    P = step_operator(landscape, 0.2, grid, minibatches(4, 2), subsamples=2)
    points = grid.subsample_points(2)
    grads = landscape.gradients(points)
    rows, cols, vals = [], [], []
    for batch, probability in minibatches(4, 2):
        landed = (points - 0.2 * grads[list(batch)].mean(axis=0)).reshape(-1, 2)
        t, w = cloud_in_cell_reference(landed, np.full(len(landed), probability / 4), np.asarray(grid.low),
                                       grid.width, grid.shape)
        rows.append(t.ravel())
        cols.append(np.repeat(np.repeat(np.arange(grid.cells), 4), 4))
        vals.append(w.ravel())
    Q = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=P.shape).tocsc()
    assert abs(P - Q).max() < 1e-15


def test_fokker_planck_conserves_mass_and_converges_to_gibbs_at_second_order() -> None:
    """Isotropic constant noise on the saddle: the continuum's stationary density is exp(-L / T) exactly."""
    landscape = saddle_landscape().build()
    errors = []
    for n in (40, 80):
        grid = Grid((-2.0, -1.5), (2.0, 1.5), (n, n))
        A = fokker_planck.generator(landscape, 0.1, grid)
        np.testing.assert_allclose(np.asarray(A.sum(axis=0)).ravel(), 0.0, atol=1e-12)
        p = fokker_planck.stationary_density(A)
        gibbs = np.exp(-landscape.mean_loss(grid.centres) / 0.1)
        errors.append(np.abs(p - gibbs / gibbs.sum()).sum())
    assert 3.5 < errors[0] / errors[1] < 4.5


def test_fokker_planck_approaches_the_chain_as_T_shrinks() -> None:
    landscape = saddle_landscape().build()
    distance = []
    for T in (0.2, 0.1, 0.05):
        grid = Grid((-2.0, -1.5), (2.0, 1.5), (100, 75))
        p = fokker_planck.stationary_density(fokker_planck.generator(landscape, T, grid))
        pi = stationary_density(step_operator(landscape, T, grid, minibatches(4, 1), subsamples=2))
        distance.append(0.5 * np.abs(p - pi).sum())
    print("\ntotal variation, Fokker-Planck to chain, T = 0.2, 0.1, 0.05:", [f"{d:.3f}" for d in distance])
    assert distance[0] > distance[1] > distance[2]


def test_a_landscape_of_expressions_builds_the_same_chain_as_its_polynomials() -> None:
    params = {"grid": {"low": [-0.8, -0.8], "high": [0.8, 0.8], "cells": 30}, "start": {"at": [0.0, 0.0]},
              "walkers": 0, "temperature": 0.1}
    polynomials = CurrentModel({**params, "landscape": linear_valley(1.0, 2.0, 1.0, (1, 1))})
    u = 0.70710678118654752
    expressions = CurrentModel({**params, "landscape": {"expressions": {
        "plus": f"0.5 * x0**2 + x1**2 + {u} * (x0 + x1)", "minus": f"0.5 * x0**2 + x1**2 - {u} * (x0 + x1)"}}})
    assert abs(polynomials.chain.matrix - expressions.chain.matrix).max() < 1e-12  # gradients equal to round-off
    assert expressions.stationary["circulation"] == pytest.approx(polynomials.stationary["circulation"], rel=1e-9)
    with pytest.raises(ValueError, match="expected walkers: 0 with a landscape of expressions"):
        CurrentModel({**params, "walkers": 10, "landscape": {"expressions": {"a": "x0**2 + x1**2"}}})
