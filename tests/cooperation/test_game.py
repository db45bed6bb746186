"""The cooperation game: kernel = agents' reference = numpy, the update rules' semantics, paths and payoffs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from _fastcore import game as kernel
from models.cooperation.game import path_value
from models.cooperation.model import CooperationModel
from models.cooperation.params import CooperationParams
from models.errors import WorldError
from models.params import FieldError

GAME_ONLY = {"ledger": "off", "n_humans": 40, "n_ais": 15, "copies": 2}


def _run(engine: str, steps: int = 25, **params) -> CooperationModel:
    model = CooperationModel({**GAME_ONLY, "engine": engine, **params}, rng=7)
    for _ in range(steps):
        model.step()
    return model


@pytest.mark.parametrize("rule", ["best_response", "fermi", "reinforcement"])
def test_kernel_equals_agent_reference(rule: str) -> None:
    extra = {"update_rule": rule, "revision_rate": 0.5, "noise": 0.1, "intelligence_rate": 0.08}
    fast, slow = _run("kernel", **extra), _run("agents", **extra)
    np.testing.assert_array_equal(fast.strategy, slow.strategy)
    np.testing.assert_array_equal(fast.propensity, slow.propensity)
    np.testing.assert_array_equal(fast.utility, slow.utility)
    assert fast.rng.random() == slow.rng.random()  # the same number of draws was taken
    assert 0 < fast.datacollector.get_model_vars_dataframe()["cooperation"].std()  # something happened


def test_kernel_equals_reference_with_bans_on_the_ledger() -> None:
    extra = {"ledger": "unsigned", "update_rule": "fermi", "revision_rate": 0.5, "whitewash_rate": 0.3,
             "initial_cooperation": 0.3}
    fast, slow = _run("kernel", 15, **extra), _run("agents", 15, **extra)
    assert fast.counts["bans"] > 0 and fast.counts["mutations"] > 0
    assert fast.counts == slow.counts
    np.testing.assert_array_equal(fast.strategy, slow.strategy)
    np.testing.assert_array_equal(fast.society.wallet, slow.society.wallet)


def test_numpy_variant_equals_kernel_for_reinforcement() -> None:
    fast, middle = _run("kernel", update_rule="reinforcement"), _run("numpy", update_rule="reinforcement")
    np.testing.assert_array_equal(fast.strategy, middle.strategy)
    np.testing.assert_allclose(fast.propensity, middle.propensity, rtol=0, atol=1e-15)


def test_numpy_variant_refuses_other_rules() -> None:
    model = CooperationModel({**GAME_ONLY, "engine": "numpy"}, rng=1)
    with pytest.raises(ValueError, match="engine 'numpy' implements the reinforcement rule only"):
        model.step()


def _one_round(rule: int, table: np.ndarray, n: int, n_humans: int, seed: int, **kw) -> tuple[np.ndarray, np.ndarray]:
    strategy = np.zeros(n, dtype=np.int8)
    strategy[::2] = 1
    start = strategy.copy()
    args = (np.full(n, 0.5), np.ones(n, dtype=np.uint8), np.zeros(n), np.zeros(n), table, n_humans)
    kernel.play_round(strategy, *args, np.random.default_rng(seed), rule, **kw)
    return start, strategy


def test_best_response_takes_the_better_strategy() -> None:
    table = np.array([[1.0, 2.0], [3.0, 0.5]])  # humans prefer C, AIs prefer A
    _, after = _one_round(kernel.RULE_BEST_RESPONSE, table, 1000, 400, 1, revision_rate=1.0, noise=0.0)
    assert after[:400].all() and not after[400:].any()


def test_fermi_switch_rate_matches_the_fermi_function() -> None:
    """Half play C, half A; an A-player copies a C peer with probability 1/(1+exp(-(pi_C-pi_A)/K))."""
    gap, temperature, n, revision = 0.3, 0.5, 200_000, 0.6
    table = np.array([[0.0, gap], [0.0, gap]])
    start, after = _one_round(kernel.RULE_FERMI, table, n, n // 2, 3, revision_rate=revision,
                              temperature=temperature)
    aggressors = start == 0
    # a peer is a cooperator with probability (n_group/2) / (n_group - 1) (itself excluded)
    p_peer_c = (n // 4) / (n // 2 - 1)
    expected = revision * p_peer_c / (1 + math.exp(-gap / temperature))
    measured = float(after[aggressors].mean())
    stderr = math.sqrt(expected * (1 - expected) / aggressors.sum())
    assert abs(measured - expected) < 4 * stderr


def test_kernel_validates_its_inputs() -> None:
    n = 4
    good = dict(strategy=np.zeros(n, np.int8), propensity=np.zeros(n), active=np.ones(n, np.uint8),
                payoff_out=np.zeros(n), utility=np.zeros(n))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="propensity: expected length 4, got 3"):
        kernel.play_round(**{**good, "propensity": np.zeros(3)}, payoff_table=np.zeros((2, 2)), n_humans=2,
                          generator=rng, rule=0)
    with pytest.raises(ValueError, match="payoff_table: expected a finite"):
        kernel.play_round(**good, payoff_table=np.full((2, 2), np.nan), n_humans=2, generator=rng, rule=0)
    with pytest.raises(ValueError, match="strategy: expected a 1-D numpy array of int8"):
        kernel.play_round(**{**good, "strategy": np.zeros(n)}, payoff_table=np.zeros((2, 2)), n_humans=2,
                          generator=rng, rule=0)
    with pytest.raises(ValueError, match="rule: expected 0"):
        kernel.play_round(**good, payoff_table=np.zeros((2, 2)), n_humans=2, generator=rng, rule=7)


def test_paths() -> None:
    assert path_value("constant", 2.0, 9.0, None, 5) == 2.0
    assert path_value("linear", 1.0, 0.5, None, 4) == 3.0
    assert path_value("exponential", 1.0, 0.1, None, 10) == pytest.approx(math.e)
    assert path_value("logistic", 1.0, 0.3, 4.0, 0) == pytest.approx(1.0)
    assert path_value("logistic", 1.0, 0.3, 4.0, 200) == pytest.approx(4.0)


def test_default_payoffs_respect_the_seeds_signs() -> None:
    """f rises with cooperation and r; g rises with cooperation, s and r (Tunador (2023), §4.1), checked by tangents."""
    model = CooperationModel(GAME_ONLY, rng=0)
    names = {"C": 0.5, "A": 0.5, "Ch": 0.5, "Ca": 0.5, "r": 0.4, "s": 1.5, "t": 0.0, "cooperation_gain": 1.0,
             "aggression_gain": 0.5, "trade_gain": 1.0, "defence_gain": 0.5, "harm": 0.2}
    for x in (0.0, 1.0):
        env = {**names, "x": x}
        for program, rising in ((model.game.programs["f"], ("Ca", "r")), (model.game.programs["g"], ("Ch", "s", "r"))):
            for name in rising:
                _, slope = program.evaluate(env, {name: 1.0})
                assert slope[0] >= 0, (program.text, name, x)
    # the population-level sums strictly rise
    _, df_dr = model.game.programs["f"].evaluate({**names, "x": 1.0}, {"r": 1.0})
    assert df_dr[0] > 0


def test_a_failing_expression_is_reported_with_its_round_and_inputs() -> None:
    model = CooperationModel({**GAME_ONLY, "ai_utility": "x / (Ca - Ca)"}, rng=0)
    with pytest.raises(WorldError, match=r"params.ai_utility: failed at round 1 \(C=.*\): expression .*division by "
                                         r"zero"):
        model.step()


@pytest.mark.parametrize(("change", "key", "message"), [
    ({"human_utility": "x + import_os"}, "human_utility", "unknown name"),
    ({"ai_utility": "__import__('os')"}, "ai_utility", "names starting with '__' are not allowed"),
    ({"intelligence_path": "logistic"}, "intelligence_asymptote", "a logistic path needs an asymptote"),
    ({"intelligence_path": "logistic", "intelligence_asymptote": 0.5}, "intelligence_start", "0 < start < asymptote"),
    ({"constants": {"r": 1.0}}, "constants", "already an input"),
    ({"ledger": "off", "attacker": True}, "ledger", "need the ledger"),
])
def test_bad_params_name_the_field(change: dict, key: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        CooperationParams.model_validate(change)
    error = info.value.errors()[0]["ctx"]["error"]
    assert isinstance(error, FieldError) and error.loc[0] == key and message in str(error)


def test_the_fermi_rule_temperature_has_a_name_of_its_own() -> None:
    """`temperature` is the SGD step size elsewhere: here the Fermi rule's K is `imitation_temperature`."""
    import scenarios

    params = CooperationParams(update_rule="fermi", imitation_temperature=0.3)
    assert params.imitation_temperature == 0.3
    document = {"model": "cooperation", "title": "t", "seed": 1, "steps": 1,
                "params": {"update_rule": "fermi", "temperature": 0.3}}
    with pytest.raises(scenarios.ScenarioError, match="did you mean 'imitation_temperature'"):
        scenarios.parse(document)
