"""The expression language: the VM against a direct Python evaluation, derivatives against differences, refusals."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from models.expressions import ExpressionError, compile_expression

NAMES = ["x", "y", "z"]
SMOOTH_UNARY = ["exp", "sin", "cos", "tanh"]
KINKED = ["abs({})", "sign({})", "min({}, {})", "max({}, {})", "clip({}, {}, {})", "where({}, {}, {})",
          "({} < {})", "({} >= {})", "({} == {})"]


def _expressions(smooth: bool) -> st.SearchStrategy[str]:
    leaves = st.one_of(st.sampled_from(NAMES), st.floats(-3, 3, allow_nan=False).map(lambda v: f"{v:.6g}"))

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        options = [
            st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(children, children).map(lambda t: f"({t[0]} / (1.5 + {t[1]} * {t[1]}))"),
            st.tuples(st.sampled_from(SMOOTH_UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
            children.map(lambda c: f"sqrt(1 + {c} * {c})"),
            children.map(lambda c: f"log(2 + sin({c}))"),
            st.tuples(children, st.integers(0, 4)).map(lambda t: f"({t[0]}) ** {t[1]}"),
            children.map(lambda c: f"-{c}"),
        ]
        if not smooth:
            options.append(st.tuples(st.sampled_from(KINKED), st.lists(children, min_size=3, max_size=3)).map(
                lambda t: t[0].format(*t[1][: t[0].count("{}")])))
        return st.one_of(options)

    return st.recursive(leaves, extend, max_leaves=12)


POINTS = st.fixed_dictionaries({n: st.floats(-2.5, 2.5, allow_nan=False) for n in NAMES})
DIRECTION = st.fixed_dictionaries({n: st.floats(-1, 1, allow_nan=False) for n in NAMES})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions(smooth=False), st.lists(POINTS, min_size=1, max_size=5), DIRECTION)
def test_vm_equals_the_python_evaluation_on_values_and_tangents(text, points, direction):
    program = compile_expression(text, NAMES)
    inputs = {n: np.array([p[n] for p in points]) for n in NAMES}
    values, tangents, errors = program.run(np.stack([inputs[n] for n in NAMES]),
                                           np.tile(np.array([[direction[n]] for n in NAMES]), (1, len(points))))
    for i, p in enumerate(points):
        try:
            value, tangent = program.reference(p, direction)
        except (ValueError, ZeroDivisionError, OverflowError):
            assert errors[i] != 0
            continue
        if not (math.isfinite(value) and math.isfinite(tangent)):
            assert errors[i] != 0 or not math.isfinite(tangent)
            continue
        assert errors[i] == 0
        assert values[i] == pytest.approx(value, rel=1e-12, abs=1e-12)
        assert tangents[i] == pytest.approx(tangent, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(_expressions(smooth=True), POINTS, DIRECTION)
def test_tangents_equal_central_differences_where_smooth(text, point, direction):
    program = compile_expression(text, NAMES)
    h = 1e-6

    def f(t: float) -> float:
        return program.reference({n: point[n] + t * direction[n] for n in NAMES})[0]

    try:
        value, tangent = program.reference(point, direction)
        numeric = (f(h) - f(-h)) / (2 * h)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)
    assume(math.isfinite(value) and abs(value) < 1e6 and math.isfinite(tangent) and abs(tangent) < 1e6)
    _, vm_tangents = program.evaluate(point, direction)
    assert vm_tangents[0] == pytest.approx(numeric, rel=1e-4, abs=1e-5)
    assert vm_tangents[0] == pytest.approx(tangent, rel=1e-9, abs=1e-12)


def test_kinks_follow_the_branch_the_value_takes():
    program = compile_expression("clip(x, -1, 1) + abs(y) + max(x, y)", ["x", "y"])
    values, tangents = program.evaluate({"x": np.array([0.5, 2.0, 0.0]), "y": np.array([-3.0, 0.0, 0.0])},
                                        {"x": 1.0, "y": 1.0})
    np.testing.assert_allclose(values, [0.5 + 3 + 0.5, 1 + 0 + 2, 0 + 0 + 0])
    np.testing.assert_allclose(tangents, [1 - 1 + 1, 0 + 0 + 1, 1 + 0 + 1])  # ties: max takes its first argument


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "names starting with '__' are not allowed: '__import__'"),
        ("().__class__", "not allowed (attribute access): '().__class__'"),
        ("open('passwd')", "calls are limited to min, max"),
        ("x ** 100", "exponent too large"),
        ("2 ** 10 ** 10", "stacked powers are not allowed"),
        ("[v for v in x]", "not allowed (comprehensions)"),
        ("lambda: 1", "not allowed (lambda)"),
        ("x[0]", "not allowed (subscripts)"),
        ("x and y", "not allowed ('and'/'or'"),
        ("'text'", "only numbers are allowed as constants"),
        ("w + 1", "unknown name (expected one of: x, y): 'w' at column 1"),
        ("x + min(y)", "min takes two or more arguments, got 1: 'min(y)' at column 5"),
        ("clip(x, 1)", "clip takes 3 arguments, got 2"),
        ("exp(x=1)", "keyword arguments are not allowed"),
        ("1 < x < 2", "chained comparisons"),
        ("x +", "not valid syntax"),
        ("1if x else 2", "not valid syntax at column 1: invalid decimal literal"),  # Python only warns
    ],
)
def test_everything_outside_the_language_is_refused_with_its_position(text, message):
    with pytest.raises(ExpressionError, match=None) as info:
        compile_expression(text, ["x", "y"])
    assert message in str(info.value)


def test_runtime_faults_name_the_fault_and_the_element():
    with pytest.raises(ExpressionError, match=r"division by zero \(batch element 2\)"):
        compile_expression("x / y", ["x", "y"]).evaluate({"x": 1.0, "y": np.array([1.0, 2.0, 0.0])})
    with pytest.raises(ExpressionError, match="non-finite"):
        compile_expression("log(x)", ["x"]).evaluate({"x": np.array([1.0, -1.0])})
    with pytest.raises(ExpressionError, match="no value given for 'y'"):
        compile_expression("x + y", ["x", "y"]).evaluate({"x": 1.0})
