"""The cooperation world's game: every active player cooperates (C) or aggresses (A) each round.

A human earns f(C_t, A_t, r_t, s_t), an AI g(C_t, A_t, r_t, s_t); f and g are expressions in
`models.expressions`' safe language (their names are listed in `models.cooperation.model`). r_t and s_t
follow the paths the scenario chooses. A round pays every active player from the 2x2 table and updates its
strategy by the scenario's rule, in `_fastcore.game.play_round`, in numpy, or by the Mesa agents' reference step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from _fastcore import game as kernel
from models.cooperation.params import GAIN_NAMES, CooperationParams
from models.errors import WorldError
from models.expressions import ExpressionError, Program, compile_expression


def path_value(kind: str, start: float, rate: float, asymptote: float | None, t: float) -> float:
    """r_t or s_t at round t: constant start; start + rate t; start e^(rate t); or the logistic through start
    rising at `rate` toward `asymptote` (does intelligence grow without bound, or level off?)."""
    if kind == "constant":
        return start
    if kind == "linear":
        return start + rate * t
    if kind == "exponential":
        return start * math.exp(rate * t)
    assert asymptote is not None
    return asymptote / (1.0 + (asymptote / start - 1.0) * math.exp(-rate * t))


def path(params: CooperationParams, side: str, t: float) -> float:
    """r_t (side "reliance") or s_t (side "intelligence") under the scenario's parameters."""
    return path_value(getattr(params, f"{side}_path"), getattr(params, f"{side}_start"),
                      getattr(params, f"{side}_rate"), getattr(params, f"{side}_asymptote"), t)


class Game:
    """The players' rows: strategy (1 = C), propensity, this round's payoff, summed utility, active; f and g.

    Rows 0..n_humans-1 are humans, the rest AI copies (the k-th AI's copies are `ai_rows(k)`).
    """

    def __init__(self, params: CooperationParams, rng: np.random.Generator) -> None:
        p = self.params = params
        self.rng = rng
        names = p.expression_names()
        self.programs: dict[str, Program] = {
            "f": compile_expression(p.human_utility, names), "g": compile_expression(p.ai_utility, names)}
        self.n_humans = p.n_humans
        self.n_players = n = p.n_humans + p.n_ais * p.copies
        self.strategy = (rng.random(n) < p.initial_cooperation).astype(np.int8)
        self.propensity = np.full(n, p.initial_cooperation)
        self.payoff = np.zeros(n)
        self.utility = np.zeros(n)
        self.active = np.ones(n, dtype=np.uint8)
        self.previous_strategy = self.strategy.copy()
        # copies of one AI share its strategy at birth
        for k in range(p.n_ais):
            rows = self.ai_rows(k)
            self.strategy[rows] = self.strategy[rows.start]
        self.rule_code = kernel.RULES[p.update_rule]

    def ai_rows(self, k: int) -> range:
        """The player rows of the k-th AI's copies."""
        start = self.n_humans + k * self.params.copies
        return range(start, start + self.params.copies)

    def payoff_table(self, t: int) -> np.ndarray:
        """payoff[group, strategy] for round t: f (humans) and g (AIs) on the state before the round.

        Raises WorldError naming the expression and the inputs when f or g fails (division by zero, overflow).
        """
        p = self.params
        env = {"C": self.cooperation_share(0.0), "Ch": self.group_share(0, 0.0), "Ca": self.group_share(1, 0.0),
               "r": path(p, "reliance", t), "s": path(p, "intelligence", t), "t": float(t),
               **{g: float(getattr(p, g)) for g in GAIN_NAMES}, **p.constants}
        env["A"] = 1.0 - env["C"]
        table = np.empty((2, 2))
        for group, (name, key) in enumerate((("f", "human_utility"), ("g", "ai_utility"))):
            values = np.array([0.0, 1.0])
            try:
                out, _ = self.programs[name].evaluate({**env, "x": values})
            except ExpressionError as exc:
                shown = ", ".join(f"{k}={v:.4g}" for k, v in env.items() if k in ("C", "Ch", "Ca", "r", "s"))
                raise WorldError(f"failed at round {t} ({shown}): {exc}", key=f"params.{key}") from None
            table[group] = out
        return table

    def play(self, t: int, players: list[Any]) -> None:
        """Round t: every active player is paid from the table and updates its strategy (by the chosen engine)."""
        p = self.params
        table = self.payoff_table(t)
        self.previous_strategy = self.strategy.copy()
        if p.engine == "kernel":
            kernel.play_round(self.strategy, self.propensity, self.active, self.payoff, self.utility, table,
                              self.n_humans, self.rng, self.rule_code, p.revision_rate, p.noise,
                              p.imitation_temperature, p.learning_rate, p.reinforcement_scale)
        elif p.engine == "numpy":
            play_round_numpy(self, table)
        else:
            totals, counts = [0.0, 0.0], [0, 0]
            for player in players:
                player.receive(table, totals, counts)
            for player in players:
                player.update(table, totals, counts)

    # --- views ---
    def group_share(self, group: int, empty: float = math.nan) -> float:
        """Share of the group's active players in C (`empty` when none is active: every AI banned)."""
        rows = slice(0, self.n_humans) if group == 0 else slice(self.n_humans, None)
        act = self.active[rows].astype(bool)
        return float(self.strategy[rows][act].mean()) if act.any() else empty

    def cooperation_share(self, empty: float = math.nan) -> float:
        act = self.active.astype(bool)
        return float(self.strategy[act].mean()) if act.any() else empty

    def mean_payoff(self, group: int) -> float:
        rows = slice(0, self.n_humans) if group == 0 else slice(self.n_humans, None)
        act = self.active[rows].astype(bool)
        return float(self.payoff[rows][act].mean()) if act.any() else 0.0


def play_round_numpy(game: Game, table: np.ndarray) -> None:
    """The kernel's round as numpy array operations (the benchmark's middle variant; same draws, same numbers).

    Draws are taken from the same stream in the kernel's order by drawing per player in one batch where the
    number of draws per player is fixed (reinforcement: one), and otherwise player by player for the variable part.
    """
    p = game.params
    old = game.previous_strategy
    act = game.active.astype(bool)
    group = np.zeros(game.n_players, dtype=np.int64)
    group[game.n_humans:] = 1
    pay = table[group, old]
    game.payoff[act] = pay[act]
    game.utility[act] += pay[act]
    if p.update_rule != "reinforcement":
        raise ValueError("engine 'numpy' implements the reinforcement rule only (its draws are one per player); "
                         "use engine 'kernel' or 'agents' for best_response and fermi")
    totals = np.bincount(group[act], weights=pay[act], minlength=2)
    counts = np.bincount(group[act], minlength=2)
    aspiration = totals / np.maximum(counts, 1)
    stim = np.clip((pay - aspiration[group]) / p.reinforcement_scale, -1.0, 1.0)
    prop = game.propensity
    lr = p.learning_rate
    up = np.where(stim >= 0, prop + lr * stim * (1.0 - prop), prop + lr * stim * prop)
    down = np.where(stim >= 0, prop - lr * stim * prop, prop - lr * stim * (1.0 - prop))
    new_p = np.where(old == 1, up, down)
    u = game.rng.random(int(act.sum()))
    prop[act] = new_p[act]
    game.strategy[act] = (u < prop[act]).astype(np.int8)
