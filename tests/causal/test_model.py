"""Causal worlds: exact Comp against closed forms, finite δ, the telescoping identity, and refusals."""

import math

import numpy as np
import pytest
from pydantic import ValidationError

from models.causal.claims import BOUNDED, LINEAR
from models.causal.model import CausalError, CausalModel, measure
from models.causal.params import CausalParams


def _run(steps, spec, **changes):
    model = CausalModel(**{**spec, **changes})
    for _ in range(steps):
        model.step()
    return model


@pytest.mark.parametrize("k", [0.01, 0.02])
def test_linear_thermostat_comp_is_the_closed_form_at_every_step(k):
    model = _run(300, LINEAR, parameters={"k": k, "d": 25})
    comp = model.datacollector.get_model_vars_dataframe()["comp_R"].to_numpy()
    l1, l2 = (1 + math.sqrt(1 - 4 * k)) / 2, (1 - math.sqrt(1 - 4 * k)) / 2
    A = (1 - l2) / (l1 - l2)
    t = np.arange(len(comp))
    np.testing.assert_allclose(comp, A * l1**t + (1 - A) * l2**t, rtol=1e-12)


@pytest.mark.parametrize("delta", [1e-4, 1e-2, 1.0, 100.0])
def test_finite_delta_equals_the_exact_comp_in_the_linear_thermostat(delta):
    model = _run(400, LINEAR, delta=delta)
    exact, finite = model.exact("R").comp[0], model.finite_delta("R").comp[0]
    # x - w is about delta * Comp, computed from numbers near 25: round-off is ~1e-15 * 25 / (delta * Comp)
    assert finite == pytest.approx(exact, rel=1e-13 * 25 / (delta * exact) + 1e-12)


def test_a_forcing_shared_by_every_world_leaves_comp_unchanged():
    forced = {**LINEAR, "variables": {**LINEAR["variables"], "F": {"initial": 0, "update": "50 * sin(0.1 * t)"},
                                      "R": {"initial": 35, "update": "R - k * T + F"}}}
    assert _run(500, forced).exact("R").comp[0] == pytest.approx(_run(500, LINEAR).exact("R").comp[0], rel=1e-12)


def test_bounded_thermostat_integral_equals_the_telescoping_identity():
    model = _run(500, BOUNDED, sweep={"variable": "R", "values": {"linspace": [5, 45, 8001]}})
    result = model.integrated_measure("R")
    assert result["telescoping"] == pytest.approx(2 * 1.0 * (10 - 0.02), abs=1e-9)  # 2p(t - δt)
    assert result["integral"] == pytest.approx(result["telescoping"], abs=5 * 40 / 8000)  # a kink per grid cell


def test_clamping_only_up_to_a_time_lets_a_act_afterwards():
    always = _run(50, LINEAR)
    limited = _run(50, LINEAR, clamp_until=20)
    assert np.all(always.ty["T"] == 0)
    assert limited.ty["T"][0] != 0 and limited.ty["R"][0] != always.ty["R"][0]


def test_measure_reports_undefined_infinite_and_negative_cases():
    result = measure(np.array([0.0, 1.0, -0.5, 0.5]), np.array([0.0, 0.0, 1.0, 1.0]))
    assert math.isnan(result.op[0])
    assert result.op[1] == -np.inf
    assert result.negative[2] and result.op[2] == pytest.approx(-math.log(0.5))
    assert result.op[3] == pytest.approx(math.log(2))


def test_node_agents_are_views_and_their_reference_matches_the_vm():
    model = _run(5, LINEAR)
    nodes = {a.name: a for a in model.agents}
    assert set(nodes) == {"T", "R"} and nodes["T"].in_a and not nodes["R"].in_a
    expected = {name: nodes[name].next_value_reference() for name in nodes}
    model.step()
    for name, (value, tangent) in expected.items():
        assert model.w[name][0] == pytest.approx(value, rel=1e-15)
        assert model.tx[name][0] == pytest.approx(tangent, rel=1e-15)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"perturb": "T", "clamp": ["T"]}, "must not be in A"),
        ({"targets": ["T"]}, "m = 'T' must not be in A"),
        ({"clamp": ["Q"]}, "unknown variable 'Q'"),
        ({"variables": {"T": {"initial": 10, "update": "R - d", "same_time": ["R"]},
                        "R": {"initial": 35, "update": "R - k * T", "same_time": ["T"]}}},
         "a cycle among same-time edges: "),
        ({"variables": {"T": {"initial": 10, "update": "R - d", "same_time": ["S"]},
                        "R": {"initial": 35, "update": "R - k * T"}}}, "unknown variable 'S'"),
        ({"variables": {"T": {"initial": 10, "update": "__import__('os')"},
                        "R": {"initial": 35, "update": "R - k * T"}}}, "names starting with '__'"),
        ({"parameters": {"k": 0.01, "d": 25, "R": 1}}, "is also a variable name"),
    ],
)
def test_bad_causal_worlds_are_refused(changes, message):
    with pytest.raises(ValidationError, match=message):
        CausalParams.model_validate({**LINEAR, **changes})


def test_division_by_zero_names_the_node_and_the_time():
    spec = {**LINEAR, "variables": {"T": {"initial": 10, "update": "R - d"},
                                    "R": {"initial": 35, "update": "R - k * T / (t - 3)"}}}
    model = CausalModel(**spec)
    with pytest.raises(CausalError, match=r"node 'R' at t = 3: division by zero"):
        for _ in range(5):
            model.step()
