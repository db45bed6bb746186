"""Cobb–Douglas choices of humans and AIs (Tunador (2023), §4.2, eqs 1–5; see docs/cooperation.md).

Humans (eqs 1–2) maximise U_h = P^α Q^β L^γ C^δ subject to
C + p_P P + p_Q Q = w (T - L) + θ + p_M M_h, with 0 <= L <= T. The paper gives the quality
Q_h no price, which makes utility unbounded (Q -> infinity for free); here Q_h costs p_Q per
unit (optiscape's choice; see docs/cooperation.md). Full income F = w T + θ + p_M M_h is spent in Cobb–Douglas shares
(each good gets its exponent's share of F); if that asks for more leisure than T, leisure is
T and the other goods share θ + p_M M_h.

AIs (eqs 3–5) maximise U = P^α Q^β L^γ C^δ M^ε subject to time
T = t_P P + t_Q Q + t_L L + t_M M and money p_C C + p_M M <= p_P P. With λ the value of
time and μ of money, ν = μ / λ (the shadow value of money in time units) solves
    p_P p_M (α + δ + ε) ν² − [p_M t_P (δ + ε) − p_P t_M (α + δ)] ν − δ t_M t_P = 0,
whose one positive root lies below t_P / p_P. Then 1/λ = T / [α t_P / (t_P − ν p_P) + β + γ
+ ε t_M / (t_M + ν p_M)] and P = α / (λ (t_P − ν p_P)), Q = β / (λ t_Q), L = γ / (λ t_L),
C = δ / (λ ν p_C), M = ε / (λ (t_M + ν p_M)). `tests/cooperation/test_economy.py` holds these
to `scipy.optimize` on random parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from models.cooperation.params import CooperationParams


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class HumanChoice:
    production: float  # P_h
    quality: float  # Q_h
    leisure: float  # L_h
    consumption: float  # C_h
    income: float  # I_h = w (T - L) + θ + p_M M_h
    utility: float


@dataclass(frozen=True)
class AIChoice:
    production: float  # P_a
    quality: float  # Q_a
    leisure: float  # L_a
    consumption: float  # C_a
    compute: float  # M_a
    shadow_money: float  # ν = μ / λ, money's shadow value in time units
    utility: float


def human_choice(alpha: float, beta: float, gamma: float, delta: float, *, wage: float, time: float,
                 other_income: float, compute_sold: float, price_compute: float, price_production: float,
                 price_quality: float) -> HumanChoice:
    """The utility-maximising (P, Q, L, C) of eqs 1–2, with Q_h priced at `price_quality` (the paper leaves it free)."""
    _positive(alpha=alpha, beta=beta, gamma=gamma, delta=delta, wage=wage, time=time,
              price_production=price_production, price_quality=price_quality)
    if other_income < 0 or compute_sold < 0 or price_compute < 0:
        raise ValueError("other_income, compute_sold and price_compute: expected >= 0")
    non_labour = other_income + price_compute * compute_sold
    total = alpha + beta + gamma + delta
    full = wage * time + non_labour
    leisure = gamma * full / (total * wage)
    if leisure > time:  # corner: all time is leisure; the other goods share the non-labour income
        leisure, full, total = time, non_labour, alpha + beta + delta
    else:
        full = full - wage * leisure
        total = alpha + beta + delta
    production = alpha / total * full / price_production
    quality = beta / total * full / price_quality
    consumption = delta / total * full
    utility = production**alpha * quality**beta * leisure**gamma * consumption**delta
    return HumanChoice(production, quality, leisure, consumption, wage * (time - leisure) + non_labour, utility)


def ai_shadow_money(alpha: float, delta: float, epsilon: float, *, t_production: float, t_compute: float,
                    price_production: float, price_compute: float) -> float:
    """ν, the positive root of the quadratic in the module docstring (numerically stable form)."""
    a = price_production * price_compute * (alpha + delta + epsilon)
    b = price_compute * t_production * (delta + epsilon) - price_production * t_compute * (alpha + delta)
    c = delta * t_compute * t_production
    root = math.sqrt(b * b + 4.0 * a * c)
    return (b + root) / (2.0 * a) if b >= 0 else 2.0 * c / (root - b)


def ai_choice(alpha: float, beta: float, gamma: float, delta: float, epsilon: float, *, time: float,
              t_production: float, t_quality: float, t_leisure: float, t_compute: float, price_production: float,
              price_consumption: float, price_compute: float) -> AIChoice:
    """The utility-maximising (P, Q, L, C, M) of eqs 3–5 in closed form."""
    _positive(alpha=alpha, beta=beta, gamma=gamma, delta=delta, epsilon=epsilon, time=time,
              t_production=t_production, t_quality=t_quality, t_leisure=t_leisure, t_compute=t_compute,
              price_production=price_production, price_consumption=price_consumption, price_compute=price_compute)
    nu = ai_shadow_money(alpha, delta, epsilon, t_production=t_production, t_compute=t_compute,
                         price_production=price_production, price_compute=price_compute)
    net_p = t_production - nu * price_production
    gross_m = t_compute + nu * price_compute
    inv_lambda = time / (alpha * t_production / net_p + beta + gamma + epsilon * t_compute / gross_m)
    production = alpha * inv_lambda / net_p
    quality = beta * inv_lambda / t_quality
    leisure = gamma * inv_lambda / t_leisure
    consumption = delta * inv_lambda / (nu * price_consumption)
    compute = epsilon * inv_lambda / gross_m
    utility = production**alpha * quality**beta * leisure**gamma * consumption**delta * compute**epsilon
    return AIChoice(production, quality, leisure, consumption, compute, nu, utility)


def market_price_compute(demand_per_ai: callable, n_ai: float, supply: float, low: float = 1e-6,
                         high: float = 1e6) -> float:
    """The compute price p_M at which the AIs' demand n_ai * M_a(p_M) equals the humans' supply (bisection in log p).

    demand_per_ai(p) must fall as p rises (it does for the Cobb–Douglas AI: M_a = ε / (λ (t_M + ν p_M))).
    """
    if supply <= 0 or n_ai <= 0:
        raise ValueError(f"market for compute: expected supply > 0 and AIs > 0, got {supply} and {n_ai}")

    def excess(log_p: float) -> float:
        return math.log(n_ai * demand_per_ai(math.exp(log_p))) - math.log(supply)

    lo, hi = math.log(low), math.log(high)
    if excess(lo) < 0 or excess(hi) > 0:
        raise ValueError(f"market for compute: no clearing price between {low:g} and {high:g}")
    return math.exp(brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14))


class Economy:
    """The world's prices and per-round money (eqs 1–5 above), in integer micro-units per round.

    The compute price is the scenario's, or the market's clearing price; the humans' choice is fixed by the prices;
    an AI copy's choice is taken untaxed (its tax is paid out of its sales).
    """

    def __init__(self, params: CooperationParams, unit: int) -> None:
        p = self.params = params
        self.unit = unit
        if p.price_compute == "market":
            supply = p.n_humans * p.compute_supply
            self.price_compute = market_price_compute(lambda price: self.ai(price, 0.0).compute,
                                                      p.n_ais * p.copies, supply)
        else:
            self.price_compute = float(p.price_compute)
        self.human = human_choice(*p.human_exponents, wage=p.wage, time=p.hours, other_income=p.other_income,
                                  compute_sold=p.compute_supply, price_compute=self.price_compute,
                                  price_production=p.price_production, price_quality=p.price_quality)

    def ai(self, price_compute: float, tax: float, productivity: float = 1.0) -> AIChoice:
        """Eqs 3–5 for one AI copy; a tax on income makes the money per unit produced (1 - tax) p_P s."""
        p = self.params
        return ai_choice(*p.ai_exponents, time=p.hours, t_production=p.ai_times[0], t_quality=p.ai_times[1],
                         t_leisure=p.ai_times[2], t_compute=p.ai_times[3],
                         price_production=p.price_production * (1.0 - tax) * productivity,
                         price_consumption=p.price_consumption, price_compute=price_compute)

    def veil_tax(self, productivity: float, grid: int = 91) -> float:
        """The tax in [0, 0.9] maximising min(human utility, AI utility) (the "veil of ignorance").

        A human's other income grows by the UBI the tax pays (the AIs' taxed income split over the
        humans); an AI's money per unit produced shrinks to (1 - tax) p_P s_0. Both utilities are eqs 1 and 3.
        """
        p = self.params
        best, best_value = 0.0, -math.inf
        for tax in np.linspace(0.0, 0.9, grid):
            ai = self.ai(self.price_compute, float(tax), productivity)
            ubi = tax * p.price_production * productivity * ai.production * p.n_ais * p.copies / p.n_humans
            human = human_choice(*p.human_exponents, wage=p.wage, time=p.hours, other_income=p.other_income + ubi,
                                 compute_sold=p.compute_supply, price_compute=self.price_compute,
                                 price_production=p.price_production, price_quality=p.price_quality)
            value = min(human.utility, ai.utility)
            if value > best_value:
                best, best_value = float(tax), value
        return best

    def human_income(self) -> int:
        """A human's wages and other income per round (its compute sales come from the AIs it hosts)."""
        return round((self.human.income - self.price_compute * self.params.compute_supply) * self.unit)

    def ai_sales(self, productivity: float) -> int:
        """An AI copy's sales per round: p_P P_a s_t (productivity grows with s_t)."""
        ai = self.ai(self.price_compute, 0.0)
        return round(self.params.price_production * ai.production * productivity * self.unit)

    def compute_bill(self) -> int:
        """What a cooperating AI copy pays its human host for compute per round: p_M M_a."""
        return round(self.price_compute * self.ai(self.price_compute, 0.0).compute * self.unit)
