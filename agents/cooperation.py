"""Humans and AIs of the cooperation world (Tunador (2023), §4.1, §5): views on rows of their world's arrays.

Every player is a row of the game arrays (strategy, propensity, payoff, utility). Its wallet
and reputation belong to its identity: a human has one of its own; copies of one AI are
separate players that share one identity (Tunador (2023), §5: "identical copies of a given model
on different computers as effectively the same agent in the economy") and so one wallet.

`receive()` and `update()` together are the readable reference for
`_fastcore.game.play_round`: the same arithmetic and the same draws from `model.rng`, in
the order documented there.
"""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np

COOPERATE, AGGRESS = 1, 0


class Player(mesa.Agent):
    """A player of the iterated game; a view on row `row` of the model's arrays."""

    group = 0  # 0 human, 1 AI: the row of the payoff table

    def __init__(self, model: Any, row: int) -> None:
        super().__init__(model)
        self.row = row

    # --- the game state (one row) ---
    @property
    def strategy(self) -> str:
        """'C' or 'A'."""
        return "C" if self.model.strategy[self.row] == COOPERATE else "A"

    @property
    def propensity(self) -> float:
        """P(C) under the reinforcement rule."""
        return float(self.model.propensity[self.row])

    @property
    def payoff(self) -> float:
        """This round's payoff (f for humans, g for AIs)."""
        return float(self.model.payoff[self.row])

    @property
    def utility(self) -> float:
        """Payoffs summed over the rounds played."""
        return float(self.model.utility[self.row])

    # --- the identity (shared by copies of one AI) ---
    @property
    def identity(self) -> int:
        """Index of this player's identity (account) in the model's identity arrays."""
        return int(self.model.identity_of[self.row])

    @property
    def id_hash(self) -> str:
        """The hashed ID (hex) on the ledger."""
        return self.model.identities[self.identity].id_hash

    @property
    def wallet(self) -> float:
        """The balance of this player's identity (shared by copies of one AI), in tokens."""
        return self.model.society.balance(self.identity)

    @property
    def reputation(self) -> float:
        account = self.model.society.account(self.identity)
        return account.reputation if account is not None else self.model.params.newcomer_reputation

    @property
    def banned(self) -> bool:
        account = self.model.society.account(self.identity)
        return account is not None and account.banned

    @property
    def active(self) -> bool:
        return bool(self.model.active[self.row])

    # --- the reference step ---
    def receive(self, table: np.ndarray, totals: list[float], counts: list[int]) -> None:
        """Pass 1: this round's payoff from the table, added to utility and to its group's total."""
        model = self.model
        if not model.active[self.row]:
            return
        pay = float(table[self.group, model.previous_strategy[self.row]])
        model.payoff[self.row] = pay
        model.utility[self.row] = float(model.utility[self.row]) + pay
        totals[self.group] += pay
        counts[self.group] += 1

    def update(self, table: np.ndarray, totals: list[float], counts: list[int]) -> int:
        """Pass 2: the strategy update by the model's rule; returns 1 if the strategy changed."""
        model, params = self.model, self.model.params
        i = self.row
        if not model.active[i]:
            return 0
        old = model.previous_strategy
        g, s = self.group, int(old[i])
        new = s
        rng = model.rng
        if params.update_rule == "best_response":
            if rng.random() < params.revision_rate:
                if rng.random() < params.noise:
                    new = COOPERATE if rng.random() < 0.5 else AGGRESS
                elif table[g, 1] > table[g, 0]:
                    new = COOPERATE
                elif table[g, 0] > table[g, 1]:
                    new = AGGRESS
        elif params.update_rule == "fermi":
            if rng.random() < params.revision_rate:
                n_humans, n = model.n_humans, model.n_players
                lo, size = (0, n_humans) if g == 0 else (n_humans, n - n_humans)
                d = rng.random()
                if size > 1:
                    j = min(lo + int(d * (size - 1)), lo + size - 2)
                    if j >= i:
                        j += 1
                    prob = rng.random()
                    pay_i, pay_j = float(model.payoff[i]), float(model.payoff[j])
                    temperature = params.imitation_temperature
                    if model.active[j] and prob < 1.0 / (1.0 + math.exp(-(pay_j - pay_i) / temperature)):
                        new = int(old[j])
        else:
            p = float(model.propensity[i])
            lr = params.learning_rate
            stim = (float(model.payoff[i]) - totals[g] / counts[g]) / params.reinforcement_scale
            stim = min(1.0, max(-1.0, stim))
            if s == COOPERATE:
                p = p + lr * stim * (1.0 - p) if stim >= 0 else p + lr * stim * p
            else:
                p = p - lr * stim * p if stim >= 0 else p - lr * stim * (1.0 - p)
            model.propensity[i] = p
            new = COOPERATE if rng.random() < p else AGGRESS
        model.strategy[i] = new
        return int(new != s)


class Human(Player):
    """A human: utility f(C_t, A_t, r_t, s_t) per round (Tunador (2023), §4.1), its own ID and wallet."""

    group = 0


class AIAgent(Player):
    """An AI: utility g(C_t, A_t, r_t, s_t); an architecture, a parameter vector and a prompt whose hash is its ID.

    Copies of one AI are separate AIAgents with the same identity, hence one ID and one wallet.
    """

    group = 1

    @property
    def architecture(self) -> str:
        return self.model.identities[self.identity].architecture

    @property
    def parameters(self) -> np.ndarray:
        return self.model.identities[self.identity].parameters

    @property
    def prompt(self) -> str:
        return self.model.identities[self.identity].prompt
