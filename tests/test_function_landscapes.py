"""Function-space landscapes (Tunador (2023), §2.1; docs/metaopt.md): closed forms, analytic gradients, the
point-by-point reference (the kernel is held to it bit for bit through its step: tests/metaopt/test_explorers.py)."""

import math

import numpy as np
import pytest
from pydantic import ValidationError

from models.landscapes import (
    Datapoint,
    FunctionLandscape,
    FunctionSpec,
    Landscape,
    LandscapeError,
    Polynomial,
)

SPECS = [
    {"function": "sphere", "dim": 3},
    {"function": "rastrigin", "dim": 4},
    {"function": "ackley", "dim": 5},
    {"function": "rosenbrock", "dim": 4},
    {"function": "wells", "dim": 3, "wells": 12, "seed": 3, "bowl": 0.05},
    {"function": "expression", "dim": 3, "expression": "x0**2 + sin(x1) * x2 + exp(-x2**2)"},
]


def _points(dim: int, n: int = 50, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.5, 2.5, size=(n, dim))


@pytest.mark.parametrize("spec", SPECS, ids=[s["function"] for s in SPECS])
def test_gradient_matches_central_differences(spec):
    landscape = FunctionSpec(**spec).build()
    X = _points(landscape.dim)
    _, grad = landscape.value_and_gradient(X)
    h = 1e-6
    for k in range(landscape.dim):
        step = np.zeros(landscape.dim)
        step[k] = h
        numeric = (landscape.value(X + step) - landscape.value(X - step)) / (2 * h)
        # central differences: O(h^2 |L'''|) truncation plus O(eps |L| / h) round-off
        np.testing.assert_allclose(grad[:, k], numeric, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=[s["function"] for s in SPECS])
def test_point_reference_and_numpy_agree(spec):
    landscape = FunctionSpec(**spec).build()
    X = _points(landscape.dim, 20, 1)
    values, grads = landscape.value_and_gradient(X)
    for i, x in enumerate(X):
        v, g = landscape.point_value_and_gradient(list(x))
        np.testing.assert_allclose(v, values[i], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g, grads[i], rtol=1e-12, atol=1e-12)


def test_known_minima_are_zero():
    for name in ("sphere", "rastrigin", "ackley", "rosenbrock"):
        landscape = FunctionLandscape(name, 7)
        point, value = landscape.global_minimum()
        v, g = landscape.value_and_gradient(point)
        assert v == pytest.approx(value, abs=1e-14), name
        np.testing.assert_allclose(g, 0.0, atol=1e-14)


def test_closed_forms_at_a_point():
    x = np.array([0.5, -1.0])
    assert FunctionLandscape("rastrigin", 2).value(x) == pytest.approx(20 + 0.25 - 10 * math.cos(math.pi) + 1 - 10)
    assert FunctionLandscape("rosenbrock", 2).value(x) == pytest.approx(100 * (-1 - 0.25) ** 2 + 0.25)
    expected = -20 * math.exp(-0.2 * math.sqrt(1.25 / 2)) - math.exp((math.cos(math.pi) + 1) / 2) + 20 + math.e
    assert FunctionLandscape("ackley", 2).value(x) == pytest.approx(expected)


def test_wells_equal_the_sgd_landscape_made_of_the_same_terms():
    spec = FunctionSpec(function="wells", dim=4, wells=25, seed=11, bowl=0.02)
    landscape = spec.build()
    same = Landscape((Datapoint("L", (*landscape.wells, Polynomial((0.0, 0.0, 0.02), None, np.zeros(4)))),), dim=4)
    X = _points(4, 30, 2)
    np.testing.assert_allclose(landscape.value(X), same.mean_loss(X), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(landscape.gradient(X), same.mean_gradient(X), rtol=1e-12, atol=1e-14)
    # the mixture is the landscape's own seed: the same wells every time, different for another seed
    assert np.array_equal(spec.build().kernel_arrays().well_c, landscape.kernel_arrays().well_c)
    other = FunctionSpec(function="wells", dim=4, wells=25, seed=12).build()
    assert not np.array_equal(other.kernel_arrays().well_c, landscape.kernel_arrays().well_c)


def test_a_landscape_expression_that_does_not_compile_names_the_piece():
    with pytest.raises(ValidationError, match=r"unknown name \(expected one of: x0, x1\): 'y' at column 9"):
        FunctionSpec(function="expression", dim=2, expression="x0**2 + y")
    with pytest.raises(ValidationError, match="not valid syntax"):
        FunctionSpec(function="expression", dim=2, expression="x0 +* 2")
    with pytest.raises(ValidationError, match="'expression' goes with function 'expression'"):
        FunctionSpec(function="expression", dim=2)


def test_a_landscape_expression_that_fails_where_an_explorer_stands_names_the_point():
    landscape = FunctionSpec(function="expression", dim=2, expression="log(x0) + x1**2").build()
    with pytest.raises(LandscapeError,
                       match=r"params.landscape.expression: 'log\(x0\) \+ x1\*\*2' fails at x = \[-1.0, 0.5\]"):
        landscape.value_and_gradient(np.array([[1.0, 0.0], [-1.0, 0.5]]))


def test_bad_function_specs():
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        FunctionSpec(function="sphere", dim=1)
    with pytest.raises(ValidationError, match=r"depth: expected \[low, high\] with low <= high"):
        FunctionSpec(function="wells", depth=(2.0, 1.0))
    with pytest.raises(ValueError, match="function: expected one of"):
        FunctionLandscape("himmelblau", 2)
