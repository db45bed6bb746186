"""Cobb–Douglas closed forms (Tunador (2023), §4.2, eqs 1–5) against scipy.optimize on random parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from models.cooperation.economy import ai_choice, human_choice, market_price_compute


def _random_ai(rng: np.random.Generator) -> dict:
    e = rng.uniform(0.1, 2.0, 5)
    t = rng.uniform(0.2, 3.0, 4)
    p = rng.uniform(0.2, 3.0, 3)
    return dict(alpha=e[0], beta=e[1], gamma=e[2], delta=e[3], epsilon=e[4], time=rng.uniform(5, 30),
                t_production=t[0], t_quality=t[1], t_leisure=t[2], t_compute=t[3], price_production=p[0],
                price_consumption=p[1], price_compute=p[2])


def _numerical_ai(k: dict) -> np.ndarray:
    """max Σ exponent * log(good) under the time and money constraints, in log variables (SLSQP)."""
    expo = np.array([k["alpha"], k["beta"], k["gamma"], k["delta"], k["epsilon"]])
    times = np.array([k["t_production"], k["t_quality"], k["t_leisure"], 0.0, k["t_compute"]])

    def time_left(y: np.ndarray) -> float:
        return (k["time"] - times @ np.exp(y)) / k["time"]

    def money_left(y: np.ndarray) -> float:
        x = np.exp(y)
        return (k["price_production"] * x[0] - k["price_consumption"] * x[3] - k["price_compute"] * x[4]) / k["time"]

    money = np.array([k["price_production"], 0.0, 0.0, -k["price_consumption"], -k["price_compute"]])
    start = np.log(np.full(5, 0.05 * k["time"]))
    best = minimize(lambda y: -expo @ y, start, jac=lambda y: -expo, method="SLSQP",
                    constraints=[{"type": "eq", "fun": time_left, "jac": lambda y: -times * np.exp(y) / k["time"]},
                                 {"type": "ineq", "fun": money_left, "jac": lambda y: money * np.exp(y) / k["time"]}],
                    options={"ftol": 1e-14, "maxiter": 2000})
    # status 8 ("positive directional derivative") is SLSQP stopping at the optimum to machine precision
    assert best.success or best.status == 8, best.message
    return np.exp(best.x)


@pytest.mark.parametrize("seed", range(12))
def test_ai_closed_form_matches_numerical_optimum(seed: int) -> None:
    k = _random_ai(np.random.default_rng(seed))
    choice = ai_choice(**k)
    closed = np.array([choice.production, choice.quality, choice.leisure, choice.consumption, choice.compute])
    numeric = _numerical_ai(k)
    np.testing.assert_allclose(closed, numeric, rtol=1e-6)
    # both constraints bind at the closed form
    spent = k["t_production"] * closed[0] + k["t_quality"] * closed[1] + k["t_leisure"] * closed[2] \
        + k["t_compute"] * closed[4]
    assert spent == pytest.approx(k["time"], rel=1e-12)
    assert k["price_consumption"] * closed[3] + k["price_compute"] * closed[4] == pytest.approx(
        k["price_production"] * closed[0], rel=1e-12)
    assert 0 < choice.shadow_money < k["t_production"] / k["price_production"]


def _numerical_human(k: dict) -> np.ndarray:
    expo = np.array([k["alpha"], k["beta"], k["gamma"], k["delta"]])
    full = k["wage"] * k["time"] + k["other_income"] + k["price_compute"] * k["compute_sold"]
    prices = np.array([k["price_production"], k["price_quality"], k["wage"], 1.0])

    leisure = np.array([0.0, 0.0, 1.0, 0.0])
    best = minimize(lambda y: -expo @ y, np.log(np.full(4, 0.1 * full / prices.sum())), jac=lambda y: -expo,
                    method="SLSQP", options={"ftol": 1e-14, "maxiter": 2000},
                    constraints=[{"type": "ineq", "fun": lambda y: (full - prices @ np.exp(y)) / full,
                                  "jac": lambda y: -prices * np.exp(y) / full},
                                 {"type": "ineq", "fun": lambda y: (k["time"] - np.exp(y[2])) / k["time"],
                                  "jac": lambda y: -leisure * np.exp(y) / k["time"]}])
    # status 8 ("positive directional derivative") is SLSQP stopping at the optimum to machine precision
    assert best.success or best.status == 8, best.message
    return np.exp(best.x)


@pytest.mark.parametrize("seed", range(12))
def test_human_closed_form_matches_numerical_optimum(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    e = rng.uniform(0.1, 2.0, 4)
    # every third case has a large non-labour income, so that leisure hits its corner L = T
    other = rng.uniform(0, 5) if seed % 3 else rng.uniform(200, 400)
    k = dict(alpha=e[0], beta=e[1], gamma=e[2], delta=e[3], wage=rng.uniform(0.5, 3), time=rng.uniform(5, 20),
             other_income=other, compute_sold=rng.uniform(0, 3), price_compute=rng.uniform(0.1, 2),
             price_production=rng.uniform(0.2, 3), price_quality=rng.uniform(0.2, 3))
    c = human_choice(**k)
    closed = np.array([c.production, c.quality, c.leisure, c.consumption])
    np.testing.assert_allclose(closed, _numerical_human(k), rtol=1e-6)
    if seed % 3 == 0:
        assert c.leisure == k["time"]


def test_compute_market_clears() -> None:
    k = _random_ai(np.random.default_rng(5))
    k.pop("price_compute")

    def demand(p: float) -> float:
        return ai_choice(**k, price_compute=p).compute

    price = market_price_compute(demand, n_ai=10, supply=12.0)
    assert 10 * demand(price) == pytest.approx(12.0, rel=1e-9)


@pytest.mark.parametrize(("field", "value"), [("alpha", 0.0), ("time", -1.0), ("price_compute", math.nan)])
def test_bad_parameters_are_named(field: str, value: float) -> None:
    k = _random_ai(np.random.default_rng(1))
    k[field] = value
    with pytest.raises(ValueError, match=f"{field}: expected a finite number > 0"):
        ai_choice(**k)
