"""The intelligence-density world (Tunador (2023), appendix B; docs/intelligence.md): the density rule, cascades,
the two policies."""

import numpy as np
import pytest
from pydantic import ValidationError

from models.intelligence.model import IntelligenceModel, can_exterminate, exterminable, loss_probability_keep
from models.intelligence.params import IntelligenceParams
from tests.conftest import mc_tolerance


def test_exterminable_is_everyone_below_a_gap_of_at_least_epsilon():
    levels = np.array([0.0, 0.4, 0.8, 2.0, 2.5])  # one gap of 1.2 between 0.8 and 2.0
    assert exterminable(levels, 1.0).tolist() == [True, True, True, False, False]
    assert exterminable(levels, 1.5).tolist() == [False] * 5  # every gap below 1.5: dense
    # y - x must exceed ε: a lone pair exactly ε apart is safe, a pair just beyond is not
    assert exterminable(np.array([0.0, 1.0]), 1.0).tolist() == [False, False]
    assert exterminable(np.array([0.0, 1.0 + 1e-9]), 1.0).tolist() == [True, False]


def test_can_exterminate_follows_the_definition():
    levels = [0.0, 0.5, 1.0, 1.5, 4.0]
    assert not can_exterminate(levels, 0.0, 1.5, 1.0)  # dense chain
    assert can_exterminate(levels, 0.0, 4.0, 1.0)  # the gap 1.5 -> 4
    assert not can_exterminate(levels, 1.5, 1.9, 1.0)  # y - x <= ε


def test_keep_policy_with_increments_below_epsilon_never_loses_humans():
    model = IntelligenceModel({"epsilon": 1.0, "growth": {"increment": 0.9, "distribution": "fixed"},
                               "policy": "keep"}, rng=1)
    for _ in range(200):
        model.step()
    assert model.protected_alive and model.kills == 0
    assert len(model.beings) == 201 and model.top_level == pytest.approx(0.9 * 200)


def test_exponential_growth_loses_humans_under_keep_at_the_first_increment_of_epsilon():
    """Fixed increments 0.1 x 1.5^n: version n jumps by >= ε = 1 first at n = 6 (0.1 x 1.5^6 = 1.14), and that
    release, the seventh, opens the gap that exterminates everyone below."""
    model = IntelligenceModel({"epsilon": 1.0, "growth": {"increment": 0.1, "distribution": "fixed", "rate": 0.5},
                               "policy": "keep"}, rng=1)
    for _ in range(6):
        model.step()
    assert model.protected_alive
    model.step()
    assert not model.protected_alive and model.protected_lost_step == 7
    assert model.summary()["growth"] == "fixed, mean 0.1, x1.5 per version"


def test_retire_policy_loses_humans_as_soon_as_the_newest_version_is_epsilon_above():
    model = IntelligenceModel({"epsilon": 1.0, "growth": {"increment": 0.4, "distribution": "fixed"},
                               "policy": "retire"}, rng=1)
    for _ in range(5):
        model.step()
    # versions at 0.4, 0.8, 1.2: the third is 1.2 > ε above humans with nobody between (the older ones retired)
    assert model.protected_lost_step == 3
    assert model.retired == 4 and [b.kind for b in model.beings] == ["ai"]


def test_a_jump_of_epsilon_exterminates_everything_below_it_in_one_cascade():
    model = IntelligenceModel({"epsilon": 1.0, "initial": [{"name": "humans", "level": 0.0},
                                                          {"name": "dogs", "level": -0.5}],
                               "growth": {"increment": 1.5, "distribution": "fixed"}}, rng=1)
    model.step()
    assert not model.protected_alive and model.kills == 2 and model.cascade_rounds == 1
    assert len(model.agents) == 1  # the Mesa agents go with them


def test_a_death_that_opens_a_gap_cascades_with_partial_attack_probability():
    # humans 0, 0.6, 1.2, then a version at 3.0: everyone below 1.2 exterminable at once; with q < 1
    # some survive the first round; no new being can become exterminable, so rounds stop at one
    model = IntelligenceModel({"epsilon": 1.0, "attack_probability": 0.5,
                               "initial": [{"level": 0.0}, {"name": "a", "level": 0.6}, {"name": "b", "level": 1.2}],
                               "growth": {"increment": 1.8, "distribution": "fixed"}}, rng=3)
    model.step()
    assert model.cascade_rounds == 1
    assert model.kills == len(model.events)


def test_keep_policy_loss_rate_matches_its_closed_form():
    eps, g, versions, repeats = 1.0, 0.25, 30, 400
    lost = 0
    for seed in range(repeats):
        model = IntelligenceModel({"epsilon": eps, "growth": {"increment": g}, "policy": "keep"}, rng=seed)
        for _ in range(versions):
            model.step()
        lost += not model.protected_alive
    p = loss_probability_keep(eps, g, versions)
    assert abs(lost / repeats - p) <= mc_tolerance(p, repeats)


def test_same_seed_same_history():
    runs = []
    for _ in range(2):
        model = IntelligenceModel({"epsilon": 1.0, "growth": {"increment": 0.4}, "attack_probability": 0.7}, rng=5)
        for _ in range(60):
            model.step()
        runs.append(model.tables()["events"])
    assert runs[0].equals(runs[1])


@pytest.mark.parametrize("params, message", [
    ({"epsilon": 0.0}, r"epsilon\n  Input should be greater than 0"),
    ({"attack_probability": 0.0}, r"attack_probability\n  Input should be greater than 0"),
    ({"growth": {"increment": -1.0}}, r"growth\.increment\n  Input should be greater than 0"),
    ({"policy": "purge"}, r"policy\n  Input should be 'keep' or 'retire'"),
])
def test_bad_parameters(params, message):
    with pytest.raises(ValidationError, match=message):
        IntelligenceParams(**params)
