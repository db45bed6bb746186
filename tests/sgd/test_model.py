"""The SGD world against closed forms and exact probabilities, with Monte Carlo tolerances."""

import math

import mesa
import numpy as np
import pytest

from models.sgd.model import SGDModel
from tests.conftest import mc_tolerance


def test_gd_on_a_quadratic_is_geometric():
    # l = 0.5 * 3 W^2: W_t = (1 - 3T)^t W_0
    quad = {"datapoints": {"a": [{"polynomial": {"coefficients": [0, 0, 1.5]}}]}}
    model = SGDModel(rng=1, landscape=quad, method="gd", temperature=[0.1, 0.5], n_walkers=1, start={"at": 2.0})
    for _ in range(12):
        model.step()
    np.testing.assert_allclose(model.position[:, 0], 2.0 * (1 - 3 * np.array([0.1, 0.5])) ** 12, rtol=1e-12)


def test_sgd_with_g_plus_minus_one_is_a_fair_random_walk():
    # case (b): each step moves by +-T, so after t steps mean 0 and variance T^2 t
    n, t, T = 20000, 50, 0.1
    model = SGDModel(rng=2, landscape={"preset": "case_b"}, temperature=T, n_walkers=n, start={"at": 0.0},
                     agent_objects=False)
    for _ in range(t):
        model.step()
    W = model.position[:, 0]
    var = T**2 * t
    assert abs(W.mean()) < 4 * math.sqrt(var / n)
    assert abs(W.var() - var) < 4 * var * math.sqrt(2 / n)


def _hit_probability(level: int, steps: int) -> float:
    """P(a fair +-1 walk from 0 reaches `level` within `steps` steps), exactly, by dynamic programming."""
    size = 2 * steps + 1
    dist = np.zeros(size)
    dist[steps] = 1.0
    hit = 0.0
    for _ in range(steps):
        new = np.zeros(size)
        new[1:] += 0.5 * dist[:-1]
        new[:-1] += 0.5 * dist[1:]
        hit += new[steps + level]
        new[steps + level] = 0.0
        dist = new
    return hit


def test_escape_probability_matches_the_exact_hitting_probability():
    n, T, level, N = 20000, 0.1, 5, 60
    model = SGDModel(rng=3, landscape={"preset": "case_b"}, temperature=T, n_walkers=n, start={"at": 0.0},
                     escape={"above": (level - 0.5) * T}, stop_at_escape=True, agent_objects=False)
    for _ in range(N):
        model.step()
    exact = _hit_probability(level, N)
    measured = float(np.mean(model.escape_step >= 0))
    assert measured == pytest.approx(exact, abs=mc_tolerance(exact, n))
    table = model.escape_table()
    assert table[table.horizon == N].escape_probability.iloc[0] == measured


def test_temperatures_share_one_world_and_report_per_T(pit_escape_params):
    model = SGDModel(rng=4, temperature={"linspace": [0.01, 0.03, 3]}, n_walkers=300, stop_at_escape=True,
                     **pit_escape_params)
    for _ in range(1000):
        model.step()
    table = model.escape_table()
    assert sorted(table.temperature.unique()) == pytest.approx([0.01, 0.02, 0.03])
    p = table[table.horizon == 1000].set_index("temperature").escape_probability
    assert p.iloc[0] <= p.iloc[1] <= p.iloc[2]
    assert model.n_walkers == 900 and len(model.agents) == 900


def test_agent_objects_are_views_on_the_arrays(pit_escape_params):
    model = SGDModel(rng=5, n_walkers=4, temperature=0.01, **pit_escape_params)
    walker = model.agents.to_list()[2]
    model.step()
    assert walker.W == model.position[2, 0] and walker.temperature == 0.01
    walker.position[0] = 1.5
    assert model.position[2, 0] == 1.5
    assert {type(a).__name__ for a in model.agents} == {"SGDWalker"}


def test_large_populations_run_without_agent_objects(pit_escape_params):
    model = SGDModel(rng=6, n_walkers=200_000, temperature=0.01, **pit_escape_params)
    assert len(model.agents) == 0 and model.n_walkers == 200_000
    model.step()
    assert np.isfinite(model.position).all()


def test_same_seed_same_result_and_different_seed_differs(pit_escape_params):
    runs = []
    for seed in (7, 7, 8):
        model = SGDModel(rng=seed, n_walkers=100, temperature=0.02, **pit_escape_params)
        for _ in range(100):
            model.step()
        runs.append(model.position.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_consecutive_steps_table(pit_escape_params):
    model = SGDModel(rng=1, method="datapoint", datapoint="l0", temperature=[0.05, 0.02], n_walkers=1,
                     stop_at_escape=True, **pit_escape_params)
    while model.running:
        model.step()
    table = model.consecutive_steps_table().set_index("temperature")
    assert table.loc[0.05, "steps_to_escape"] == 5
    assert table.loc[0.05, "run_probability_100"] == pytest.approx(0.8101, abs=1e-4)
    assert table.loc[0.02, "steps_to_escape"] == 13


def test_mesa_batch_run_drives_the_model():
    results = mesa.batch_run(SGDModel, parameters={"temperature": [0.01, 0.02], "n_walkers": 20},
                             max_steps=5, number_processes=1, display_progress=False, rng=[1])
    assert len(results) == 2  # one row per run: the last collected step (data_collection_period=-1)
    assert {r["temperature"] for r in results} == {0.01, 0.02}
    assert all(r["Step"] == 5 and 0.0 <= r["escaped_fraction"] <= 1.0 for r in results)


def test_a_run_stopped_because_every_walker_escaped_reports_the_scenarios_horizons(tmp_path):
    """Every point of a scan reports P(escaped within N) at the same N, however early it stopped."""
    import scenarios
    from optiscape.run import run_model

    path = tmp_path / "hot.yaml"
    path.write_text("model: sgd\ntitle: t\nseed: 1\nsteps: 10000\nparams:\n  landscape: {preset: pit}\n"
                    "  temperature: 0.1\n  n_walkers: 200\n  start: {local_minimum: l1, near: 1.0}\n"
                    "  escape: {above: {local_maximum: l1, near: 1.2}}\n  stop_at_escape: true\n")
    model = run_model(scenarios.load(path), progress=False)
    assert model.steps < 1000 and not model.running  # every walker left early
    within = model.summary()["escaped_within"]
    assert list(within) == ["10", "100", "1000", "10000"]
    assert within["1000"] == within["10000"] == 1.0
