"""The explorers kernel: held to the agents' pure-Python step and to numpy; GD, blind moves, spawn laws."""

import math
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from _fastcore import explorers as kernel
from models.landscapes import FunctionLandscape
from models.metaopt.model import MetaoptModel, angle_cos_sin
from tests.conftest import mc_tolerance

MIXED = {
    "landscape": {"function": "rastrigin", "dim": 3},
    "algorithms": [
        {"count": 3, "n_explorers": 4, "angle": 30.0, "speed": 0.05, "generality": 0.3, "reproduction": 0.02,
         "start": {"low": -3.0, "high": 3.0}},
        {"count": 2, "n_explorers": 2, "angle": 0.0, "speed": 0.1, "generality": 1.0, "reproduction": 0.01,
         "start": {"at": 1.0}},
        {"count": 1, "n_explorers": 3, "angle": 90.0, "speed": 0.2, "generality": 0.0, "reproduction": 0.0,
         "start": {"at": 0.5}},
    ],
    "explorer_spread": 0.7,  # so that some explorers start outside their niche
    "niche": {"base": 0.8, "scale": 1.0},
}
LANDSCAPES = [
    {"function": "rastrigin", "dim": 3},
    {"function": "ackley", "dim": 2},
    {"function": "rosenbrock", "dim": 5},
    {"function": "wells", "dim": 4, "wells": 10, "seed": 2},
    {"function": "expression", "dim": 3, "expression": "x0**2 + x1**2 + 0.5 * x2**2 + sin(3 * x0)"},
]


def _run(params: dict, engine: str, steps: int, seed: int = 7) -> MetaoptModel:
    model = MetaoptModel({**params, "engine": engine}, rng=seed)
    for _ in range(steps):
        model.step()
    return model


@pytest.mark.parametrize("landscape", LANDSCAPES, ids=[s["function"] for s in LANDSCAPES])
def test_kernel_equals_the_agent_reference_bit_for_bit(landscape):
    params = {**MIXED, "landscape": landscape}
    by_kernel, by_agents = _run(params, "kernel", 15), _run(params, "agents", 15)
    assert by_kernel.n_algorithms > 6, "no spawn happened: the test would not cover offspring"
    assert np.array_equal(by_kernel.position, by_agents.position)
    assert np.array_equal(by_kernel.values, by_agents.values, equal_nan=True)  # NaN: born, not yet evaluated
    assert np.array_equal(by_kernel.inside, by_agents.inside)
    assert 0 < by_kernel.inside.sum() < len(by_kernel.inside), "both sides of a niche boundary should be exercised"
    assert nx.utils.graphs_equal(by_kernel.lineage, by_agents.lineage)
    assert by_kernel.rng.random() == by_agents.rng.random()  # the same number of draws


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_any_thread_count_gives_the_same_numbers_and_draws(threads):
    params = {**MIXED, "landscape": {"function": "rastrigin", "dim": 5}, "engine": "kernel"}
    one, many = MetaoptModel(params, rng=7), MetaoptModel(params, rng=7)
    one.threads, many.threads = 1, threads
    for _ in range(15):
        one.step()
        many.step()
    assert len(one.owner) > threads, "every thread should have explorers to move"
    assert np.array_equal(one.position, many.position)
    assert np.array_equal(one.values, many.values, equal_nan=True)
    assert np.array_equal(one.spawn, many.spawn) and np.array_equal(one.inside, many.inside)
    assert nx.utils.graphs_equal(one.lineage, many.lineage)
    assert one.rng.bit_generator.state == many.rng.bit_generator.state


def test_models_stepped_from_several_python_threads_at_once_give_their_serial_numbers():
    # the kernel keeps its streams' copies between calls, one set per Python thread (a Dask worker runs tasks so)
    from concurrent.futures import ThreadPoolExecutor

    params = {**MIXED, "landscape": {"function": "rastrigin", "dim": 5}, "engine": "kernel"}

    def run(seed: int) -> np.ndarray:
        model = MetaoptModel(params, rng=seed)
        model.threads = 2
        for _ in range(15):
            model.step()
        return model.position

    serial = [run(seed) for seed in range(6)]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(run, range(6)))
    assert all(np.array_equal(a, b) for a, b in zip(serial, together, strict=True))


@pytest.mark.parametrize("threads", [1, 2])
def test_the_kernel_draws_numpys_stream_and_keeps_a_buffered_32_bit_draw(threads):
    """The kernel (on threads: copies of the PCG64, advanced) consumes exactly n (2 ceil(d/2) + 1) of
    Generator.random()'s doubles, nothing else."""
    n, dim = 9, 3
    generator, reference = np.random.default_rng(11), np.random.default_rng(11)
    for g in (generator, reference):
        g.integers(0, 2**32, dtype=np.uint32)  # leaves 32 bits buffered in the bit generator
    X = np.random.default_rng(0).uniform(-2, 2, (n, dim))
    kernel.step_explorers(X, np.zeros(n, dtype=np.int64), np.ones(1), np.zeros(1), np.array([0.1]),
                          np.zeros((1, dim)), np.array([-1.0]), np.zeros(1), np.zeros(1),
                          FunctionLandscape("rastrigin", dim).kernel_arrays(), generator, np.zeros(n),
                          np.zeros(n, dtype=np.uint8), np.zeros(n, dtype=np.int8), threads=threads)
    reference.random(n * (2 * 2 + 1))
    assert generator.bit_generator.state == reference.bit_generator.state
    assert generator.integers(0, 2**32, dtype=np.uint32) == reference.integers(0, 2**32, dtype=np.uint32)


def test_a_bit_generator_that_cannot_jump_gives_the_reference_numbers_on_one_thread():
    params = {**MIXED, "landscape": {"function": "ackley", "dim": 4}}
    by_kernel = MetaoptModel({**params, "engine": "kernel"}, rng=np.random.Generator(np.random.MT19937(5)))
    by_agents = MetaoptModel({**params, "engine": "agents"}, rng=np.random.Generator(np.random.MT19937(5)))
    by_kernel.threads = 2
    for _ in range(10):
        by_kernel.step()
        by_agents.step()
    assert np.array_equal(by_kernel.position, by_agents.position)
    assert by_kernel.rng.random() == by_agents.rng.random()


@pytest.mark.parametrize("landscape", LANDSCAPES, ids=[s["function"] for s in LANDSCAPES])
def test_numpy_variant_equals_the_kernel_to_round_off(landscape):
    params = {**MIXED, "landscape": landscape}
    by_kernel, by_numpy = _run(params, "kernel", 15), _run(params, "numpy", 15)
    assert by_kernel.n_algorithms == by_numpy.n_algorithms
    np.testing.assert_allclose(by_numpy.position, by_kernel.position, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(by_numpy.values, by_kernel.values, rtol=1e-10, atol=1e-12)


def test_one_explorer_at_zero_angle_is_exactly_normalised_gradient_descent():
    params = {"landscape": {"function": "rosenbrock", "dim": 3},
              "algorithms": [{"n_explorers": 1, "angle": 0.0, "speed": 0.01, "start": {"at": [-1.0, 0.5, 2.0]}}]}
    landscape = FunctionLandscape("rosenbrock", 3)
    for engine in ("kernel", "agents", "numpy"):
        model = MetaoptModel({**params, "engine": engine}, rng=1)
        x = [-1.0, 0.5, 2.0]
        for _ in range(200):
            model.step()
            _, g = landscape.point_value_and_gradient(x)
            norm = math.sqrt(sum(gk * gk for gk in g))
            x = [x[k] - 0.01 * (g[k] / norm) for k in range(3)]
        if engine == "numpy":  # numpy's own sums and transcendental functions: equal to round-off
            np.testing.assert_allclose(model.position[0], x, rtol=1e-12)
        else:
            assert model.position[0].tolist() == x, engine
    # and against an independent numpy GD with np.linalg.norm
    y = np.array([-1.0, 0.5, 2.0])
    for _ in range(200):
        g = landscape.gradient(y)
        y = y - 0.01 * g / np.linalg.norm(g)
    np.testing.assert_allclose(x, y, rtol=1e-12)


def _one_step_moves(angle: float, dim: int, n: int, seed: int = 3, generality: float = 1.0,
                    start_spread: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(moves, gradients) of n explorers after one kernel step on the sphere, from (1, 2, ..)-ish points."""
    landscape = FunctionLandscape("sphere", dim)
    rng = np.random.default_rng(seed)
    X = np.tile(np.arange(1.0, dim + 1.0), (n, 1)) + start_spread * rng.standard_normal((n, dim))
    before = X.copy()
    c, s = angle_cos_sin(np.array([angle]))
    radius2 = np.array([-1.0 if generality >= 1 else 0.25])
    kernel.step_explorers(X, np.zeros(n, dtype=np.int64), c, s, np.array([0.5]), np.arange(1.0, dim + 1)[None, :],
                          radius2, np.zeros(1), np.zeros(1), landscape.kernel_arrays(), rng, np.zeros(n),
                          np.zeros(n, dtype=np.uint8), np.zeros(n, dtype=np.int8))
    return X - before, landscape.gradient(before)


@pytest.mark.parametrize("angle", [0.0, 20.0, 45.0, 75.0, 90.0])
def test_every_move_has_length_v_and_angle_s_to_the_descent_direction(angle):
    moves, grads = _one_step_moves(angle, 5, 200)
    np.testing.assert_allclose(np.linalg.norm(moves, axis=1), 0.5, rtol=1e-12)
    cosine = np.sum(moves * -grads, axis=1) / (np.linalg.norm(moves, axis=1) * np.linalg.norm(grads, axis=1))
    np.testing.assert_allclose(cosine, math.cos(math.radians(angle)), atol=1e-12)


def test_moves_at_90_degrees_have_no_gradient_component_and_are_uniform_on_the_orthogonal_circle():
    n = 4000
    moves, grads = _one_step_moves(90.0, 3, n, seed=11)
    descent = -grads[0] / np.linalg.norm(grads[0])
    assert np.max(np.abs(moves @ descent)) < 1e-12
    # an orthonormal basis (e1, e2) of the plane orthogonal to d: the move's angle in it is uniform on [0, 2π)
    e1 = np.cross(descent, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(descent, e1)
    theta = np.mod(np.arctan2(moves @ e2, moves @ e1), 2 * np.pi)
    assert stats.kstest(theta / (2 * np.pi), "uniform").pvalue > 1e-3


def test_blind_directions_in_higher_dimension_have_the_orthogonal_sphere_covariance():
    n, dim = 20000, 6
    moves, grads = _one_step_moves(90.0, dim, n, seed=5)
    u = moves / 0.5
    descent = -grads[0] / np.linalg.norm(grads[0])
    # uniform on the unit sphere of the (d-1)-dim orthogonal complement: mean 0, E[u u^T] = (I - d d^T) / (d - 1)
    expected = (np.eye(dim) - np.outer(descent, descent)) / (dim - 1)
    second = u.T @ u / n
    # each entry of u u^T is bounded by 1: its standard error is at most sqrt(var / n) <= 1 / sqrt(n)
    sd = np.sqrt(np.var(u[:, :, None] * u[:, None, :], axis=0) / n)
    assert np.all(np.abs(second - expected) <= 4 * sd + 1e-12)
    assert np.all(np.abs(u.mean(axis=0)) <= 4 * np.sqrt(1.0 / (dim - 1) / n))


def test_outside_its_niche_an_explorer_moves_blind():
    moves, grads = _one_step_moves(0.0, 4, 400, generality=0.0, start_spread=1.0)
    start = np.tile(np.arange(1.0, 5.0), (400, 1)) + np.random.default_rng(3).standard_normal((400, 4))
    outside = np.sum((start - np.arange(1.0, 5.0)) ** 2, axis=1) > 0.25
    assert 0 < outside.sum() < 400
    cosine = np.sum(moves * -grads, axis=1) / (np.linalg.norm(moves, axis=1) * np.linalg.norm(grads, axis=1))
    np.testing.assert_allclose(cosine[outside], 0.0, atol=1e-12)  # S = 90° outside
    np.testing.assert_allclose(cosine[~outside], 1.0, atol=1e-12)  # S = 0° inside


def test_binary_spawn_rates_match_p_g_and_p_s():
    n, p_g, p_s = 40000, 0.01, 0.08
    rng = np.random.default_rng(17)
    landscape = FunctionLandscape("sphere", 2)
    owner = np.repeat(np.array([0, 1], dtype=np.int64), n // 2)  # row 0 general, row 1 specific
    spawn = np.zeros(n, dtype=np.int8)
    kernel.step_explorers(rng.standard_normal((n, 2)), owner, np.ones(2), np.zeros(2), np.full(2, 0.1),
                          np.zeros((2, 2)), np.full(2, -1.0), np.array([p_g, 0.0]), np.array([p_s, 0.0]),
                          landscape.kernel_arrays(), rng, np.zeros(n), np.zeros(n, dtype=np.uint8), spawn)
    general = spawn[: n // 2]
    for kind, p in ((1, p_g), (2, p_s)):
        rate = np.mean(general == kind)
        assert abs(rate - p) <= mc_tolerance(p, n // 2), (kind, rate, p)
    assert np.all(spawn[n // 2:] == 0)  # specific algorithms never spawn in the binary model


def test_binary_model_spawn_counts_match_p_g_and_p_s_over_a_run():
    params = {"landscape": {"function": "sphere", "dim": 2}, "generality_model": "binary", "p_general": 0.002,
              "p_specific": 0.03, "variation": {"base": 0.0, "per_generality": 0.0},
              "algorithms": [{"count": 5, "n_explorers": 40, "angle": 60.0, "generality": 1.0,
                              "start": {"low": -1.0, "high": 1.0}}]}
    model = _run(params, "kernel", 30, seed=2)
    visits = model.spawn_counts["visits_general"]
    for kind, p in (("first", 0.002), ("second", 0.03)):
        rate = model.spawn_counts[kind] / visits
        assert abs(rate - p) <= mc_tolerance(p, visits), (kind, rate, p, visits)
    lineage = model.lineage_table()
    born = lineage[lineage.generation > 0]
    # every offspring's parent is general; general offspring are general (G = 1), specific ones G = 0
    parents = lineage.set_index("algorithm").loc[born.parent]
    assert set(parents.generality) == {1.0} and set(born.generality) <= {0.0, 1.0}


@pytest.mark.parametrize("parent_g", [0.1, 0.6, 1.0])
def test_offspring_generality_follows_the_beta_law(parent_g):
    params = {"landscape": {"function": "sphere", "dim": 2}, "generality_model": "scalar",
              "beta_law": {"alpha": (0.5, 2.0), "beta": (40.0, 12.0)},
              "variation": {"max_explorers": 1},
              "algorithms": [{"n_explorers": 3000, "angle": 45.0, "generality": parent_g, "reproduction": 1.0}]}
    model = _run(params, "kernel", 1, seed=23)
    children = model.generality[model.generation == 1]
    assert len(children) == 3000  # R = 1: every visited point spawns
    a, b = 0.5 + 1.5 * parent_g, 40.0 - 28.0 * parent_g
    assert stats.kstest(children, stats.beta(a, b).cdf).pvalue > 1e-3
    assert stats.kstest(children, stats.beta(a * 1.3, b).cdf).pvalue < 1e-3  # the test can tell a wrong law


def test_offspring_generality_can_be_capped_at_the_parents():
    params = {"landscape": {"function": "sphere", "dim": 2}, "cap_offspring_generality": True,
              "beta_law": {"alpha": (5.0, 5.0), "beta": (5.0, 5.0)},
              "variation": {"max_explorers": 1},
              "algorithms": [{"n_explorers": 500, "generality": 0.3, "reproduction": 1.0}]}
    children = _run(params, "kernel", 1).generality[1:]
    assert children.max() == 0.3 and np.mean(children == 0.3) > 0.5  # Beta(5, 5) is mostly above 0.3


def test_the_same_seed_gives_the_same_lineage_and_another_seed_another():
    first, second, other = (_run(MIXED, "kernel", 30, seed=s) for s in (9, 9, 10))
    assert first.lineage_json() == second.lineage_json()
    assert first.lineage.number_of_nodes() > 6
    assert first.lineage_json() != other.lineage_json()


def test_step_explorers_validates_its_inputs():
    landscape = FunctionLandscape("sphere", 2)
    one = np.ones(1)
    args = [np.zeros((2, 2)), np.zeros(2, dtype=np.int64), one, one, one, np.zeros((1, 2)), one, one, one,
            landscape.kernel_arrays(), np.random.default_rng(0), np.zeros(2), np.zeros(2, dtype=np.uint8),
            np.zeros(2, dtype=np.int8)]
    bad_owner = list(args)
    bad_owner[1] = np.array([0, 3], dtype=np.int64)
    with pytest.raises(ValueError, match=r"owner: expected rows 0..0, got 0..3"):
        kernel.step_explorers(*bad_owner)
    bad_speed = list(args)
    bad_speed[4] = np.ones(2)
    with pytest.raises(ValueError, match="speed: expected length 1, got 2"):
        kernel.step_explorers(*bad_speed)
    expression = FunctionLandscape("expression", 2, program=object()).kernel_arrays()
    with pytest.raises(ValueError, match="needs given_values and given_gradients"):
        kernel.step_explorers(*args[:9], expression, *args[10:])
    with pytest.raises(ValueError, match="threads: expected a whole number >= 1, got 0"):
        kernel.step_explorers(*args, threads=0)
    with pytest.raises(ValueError, match="position: expected a 2-D numpy array of float64"):
        kernel.step_explorers(np.zeros((2, 2), dtype=np.float32), *args[1:])
    with pytest.raises(ValueError, match=r"expected 3 columns \(the landscape's dimension\), got 2"):
        kernel.step_explorers(*args[:9], FunctionLandscape("sphere", 3).kernel_arrays(), *args[10:])
    assert kernel.step_explorers(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), *args[2:11], np.zeros(0),
                                 np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int8)) == -1


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_the_kernel_returns_the_first_explorer_that_left_the_finite_numbers(threads):
    """Explorers 17 and 40 of 50 stand at infinity; on any number of threads (ranges of explorers handed out as
    threads come free) the kernel names 17, and the others moved as on one thread."""
    n, landscape = 50, FunctionLandscape("sphere", 3)

    def step(threads):
        X = np.tile([1.0, -2.0, 0.5], (n, 1))
        X[[17, 40]] = np.inf
        one = np.ones(1)
        first = kernel.step_explorers(X, np.zeros(n, dtype=np.int64), one, 0 * one, 0.1 * one, np.zeros((1, 3)),
                                      -one, 0 * one, 0 * one, landscape.kernel_arrays(), np.random.default_rng(5),
                                      np.zeros(n), np.zeros(n, dtype=np.uint8), np.zeros(n, dtype=np.int8),
                                      threads=threads)
        return first, X

    first, X = step(threads)
    assert first == 17
    assert not np.isfinite(X[[17, 40]]).any() and np.isfinite(np.delete(X, [17, 40], axis=0)).all()
    np.testing.assert_array_equal(X, step(1)[1])


def test_moving_on_threads_makes_a_scan_pool_stop_forking():
    """GNU OpenMP does not survive fork (optiscape.scans): a fresh process forks until explorers moved on threads."""
    code = """
from models.metaopt.model import MetaoptModel
from optiscape.scans import _fork_is_safe
model = MetaoptModel({"landscape": {"function": "rastrigin", "dim": 3},
                      "algorithms": [{"n_explorers": 8, "reproduction": 0.0}]}, rng=1)
model.threads = 1
model.step()
assert _fork_is_safe(), "one thread: fork stays safe"
model.threads = 2
model.step()
assert not _fork_is_safe(), "after threads: no fork"
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2], timeout=120)
