"""Fuzzed scenario files: every mutation of a shipped scenario runs, or fails with the scenario error in one line.

Hypothesis mutates one value, key or list of a shipped scenario at a time (numbers far out of range, wrong
types, deep nesting, unknown keys); each mutant is loaded, built and stepped a few times through the Python API,
which must raise nothing but `ScenarioError`. The budget is small in `make test`; `OPTISCAPE_FUZZ_EXAMPLES=2000`
runs a larger one. Past failures stay below as regression cases, each through the CLI (exit 2, one line).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from scenarios import ScenarioError

EXAMPLES = int(os.environ.get("OPTISCAPE_FUZZ_EXAMPLES", "40"))
STEPS = 3  # a mutant runs this many steps: enough to reach every world's step, short enough for many mutants
NEEDS_FILES = {"knowledge_mnist", "knowledge_control", "knowledge_activations", "knowledge_learning_rate"}
SHIPPED = sorted(p.stem for p in scenarios.shipped() if p.stem not in NEEDS_FILES)

NASTY = st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 10**12, 1e30, -1e30, 1e308, -1.2e7, 5e4, 1e-300, 0.5,
                         "x", "", "nan", "inf", None, True, [], {}, [1e30], {"unknown": 1}])


def _paths(document: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into the document (dict keys and list indices), leaves and branches."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


def _set(document: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    if value is _DELETE:
        del document[path[-1]]
    else:
        document[path[-1]] = value


_DELETE = object()


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, dict]:
    name = draw(st.sampled_from(SHIPPED))
    document = yaml.safe_load(scenarios.load(name).path.read_text(encoding="utf-8"))
    mutant = copy.deepcopy(document)
    path = draw(st.sampled_from(_paths(mutant)))
    value = draw(st.one_of(NASTY, st.just(_DELETE), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                           st.lists(NASTY, max_size=3)))
    _set(mutant, path, value)
    return name, mutant


def run_briefly(document: Any, path: Path) -> None:
    """Load, build and step a scenario document as a user of the API would."""
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    scenario = scenarios.load(path)
    model = scenario.build()
    for _ in range(min(STEPS, scenario.steps)):
        model.step()
    model.summary()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
@given(mutants())
def test_a_mutated_scenario_runs_or_fails_with_the_scenario_error_in_one_line(tmp_path, case):
    name, document = case
    try:
        run_briefly(document, tmp_path / f"{name}.yaml")
    except ScenarioError as exc:
        assert "\n" not in str(exc), str(exc)


REGRESSIONS = {
    "cooperation intelligence_rate": ("cooperation_dystopia_exponential", ("params", "intelligence_rate"), 5e4),
    "causal clamp_until": ("causal_linear_thermostat", ("params", "clamp_until"), 1e10),
    "sgd collect_every": ("sgd_pit_escape", ("params", "collect_every"), 1e30),
    "density grid.low": ("density_pit_escape", ("params", "grid", "low"), -1.2e7),
    "sgd n_walkers": ("sgd_pit_escape", ("params", "n_walkers"), 100_000_000),
    "scan of 10^12 points": ("sgd_pit_escape", ("scan", "temperature"), {"linspace": [0.01, 0.1, 10**12]}),
    "sgd temperature 1e298": ("sgd_one_datapoint", ("params", "temperature"), [1e298, 1e299]),
    "cooperation s_t for 20,000 rounds": ("cooperation_dystopia_exponential", ("steps",), 20_000),
    "memory budget": ("knowledge_digits", ("params", "memory_budget_mb"), 1.0),
}


@pytest.mark.parametrize("case", REGRESSIONS, ids=list(REGRESSIONS))
def test_past_failures_end_in_one_line_and_exit_2(tmp_path, case):
    name, path, value = REGRESSIONS[case]
    document = yaml.safe_load(scenarios.load(name).path.read_text(encoding="utf-8"))
    _set(document, path, value)
    file = tmp_path / f"{name}.yaml"
    file.write_text(yaml.safe_dump(document), encoding="utf-8")
    command = "scan" if path[0] == "scan" else "run"
    done = subprocess.run([sys.executable, "-m", "optiscape.cli", command, str(file), "--out", str(tmp_path / "out"),
                           "--quiet"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("optiscape: error: "), done.stderr


def test_yaml_nested_20000_deep_is_one_line(tmp_path):
    file = tmp_path / "deep.yaml"
    file.write_text("model: sgd\ntitle: deep\nseed: 1\nsteps: 1\nparams: {temperature: " + "[" * 20_000
                    + "]" * 20_000 + "}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "optiscape.cli", "run", str(file)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]


def test_an_expression_of_1000_unary_minus_signs_is_one_line(tmp_path):
    document = yaml.safe_load(scenarios.load("causal_linear_thermostat").path.read_text(encoding="utf-8"))
    first = next(iter(document["params"]["variables"]))
    document["params"]["variables"][first]["update"] = "-" * 1000 + "1"
    file = tmp_path / "unary.yaml"
    file.write_text(yaml.safe_dump(document), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "optiscape.cli", "run", str(file)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]


TOKENS = st.sampled_from(["x", "y", "t", "1", "0", "2.5", "1e308", "-", "+", "*", "/", "**", "(", ")", ",", "<",
                          "==", "abs(", "exp(", "log(", "sqrt(", "min(", "max(", "clip(", "where(", "sin(", "tanh(",
                          "sign(", "__import__", "x.y", "[", "'", "lambda", " ", "if", "else", "not"])


@settings(max_examples=EXAMPLES * 10, deadline=None)
@given(st.lists(TOKENS, max_size=60).map("".join))
def test_a_random_expression_compiles_and_evaluates_or_fails_with_the_expression_error_in_one_line(text):
    """Token soup from the expression language and outside it: compiling and evaluating it (on numbers up to
    the edges of double precision) works, or fails with an ExpressionError (a ScenarioError) in one line."""
    import numpy as np

    from models.expressions import ExpressionError, compile_expression

    values = np.array([-1e308, -1.0, -0.0, 0.0, 0.5, 3.0, 1e308, np.inf, np.nan])
    try:
        program = compile_expression(text, ["x", "y", "t"])
        program.evaluate({"x": values, "y": values[::-1], "t": np.arange(len(values), dtype=float)})
    except ExpressionError as exc:
        assert isinstance(exc, ScenarioError) and "\n" not in str(exc), str(exc)
