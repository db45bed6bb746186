"""The cooperation world (seed 001 §4, §5, §7; SPEC §5).

m humans and n - m AIs play an iterated game. Each round every active player cooperates (C)
or aggresses (A); a human earns f(C_t, A_t, r_t, s_t), an AI g(C_t, A_t, r_t, s_t), where r_t
is the AIs' reliance on humans and s_t their intelligence relative to humans, each following
a path chosen by the scenario (constant, linear, exponential or logistic). f and g are
expressions in `models.expressions`' safe language over:

    x   the player's own strategy (1 = C, 0 = A)     C, A  shares of active players in C, A
    Ch  share of active humans in C                  Ca    share of active AIs in C
    r   r_t                                          s     s_t
    t   the round
    and the gains below, plus any `constants` the scenario names.

The defaults respect the seed's signs (seed 001 §4.1: f increases with C and r; g increases
with C, s and r): an AI that cooperates earns cooperation_gain * (Ch + r), one that aggresses
aggression_gain * s; a cooperating human earns trade_gain * Ca * (1 + r), an aggressing one (who
unplugs its AIs) a safe defence_gain, and every human loses harm * s * (1 - Ca) to aggressive AIs.
So an exponential s_t ends in aggression (dystopia) whatever r_t does, while a logistic s_t
whose asymptote is low enough leaves cooperation the better reply (utopia): the seed's
question in §4.1 made concrete.

Around the game, the economy and the chain of §5: every identity (a human, or an AI with
all its copies) has a wallet and a reputation on the ledger (`models.cooperation.ledger`). Per round,
AI copies sell their production (p_P P_a s_t, minted from outside the chain: productivity grows with s_t),
cooperating ones pay a
human host for compute (p_M M_a) and pay a tax on their income into the pool; aggressive
copies take compute unpaid; humans earn their wages and other income (eqs 1–2) and share
the pool as UBI. Players vote on AIs' reputations by what they saw them play; AIs whose
reputation falls below a threshold are banned (all copies stop); a banned AI may whitewash,
changing its weights to get a new ID (and an empty wallet). Every few rounds an AI proposes
to abolish the tax and everyone votes, under one-ID-one-vote or the seed's equal collective
power; a passed proposal is a capture. With keys derived from parameters, an attacker who
reads public weights drains those AIs' wallets (seed §7).

The game itself runs in `_fastcore.game.play_round` (or numpy, or the Mesa agents'
reference step); the rest is per identity in Python.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import mesa
import numpy as np
import pandas as pd

from _fastcore import game as kernel
from agents.cooperation import AIAgent, Human, Player
from models.cooperation.economy import ai_choice, human_choice, market_price_compute
from models.cooperation.identity import Identity, ai_id, human_id, key_from_parameters, random_key
from models.cooperation.ledger import UNIT, Account, Ledger, LedgerError, Rules, State, Transaction, validation_message
from models.cooperation.params import GAIN_NAMES, CooperationParams
from models.expressions import ExpressionError, Program, compile_expression

AGENT_OBJECTS_AUTO_LIMIT = 20_000


def path_value(kind: str, start: float, rate: float, asymptote: float | None, t: float) -> float:
    """r_t or s_t at round t: constant start; start + rate t; start e^(rate t); or the logistic through start
    rising at `rate` toward `asymptote` (seed 001 §4.1: "will it simmer down into a logistic function")."""
    if kind == "constant":
        return start
    if kind == "linear":
        return start + rate * t
    if kind == "exponential":
        return start * math.exp(rate * t)
    assert asymptote is not None
    return asymptote / (1.0 + (asymptote / start - 1.0) * math.exp(-rate * t))


class CooperationModel(mesa.Model):
    """Humans and AIs playing C or A, with wallets, reputation, bans and votes on a verified ledger.

    Randomness, all from `model.rng`, in order: Mesa's seeding; at set-up the initial strategies
    (one uniform per player, C if below initial_cooperation), a seed for the key stream, then per
    AI a standard-normal parameter vector and one uniform (public weights?); then per round the
    game's draws (documented in `_fastcore.game`), the economy's (one uniform per cooperating AI
    copy: its host), the votes' (per vote: a target, a misreading), whitewashing and
    self-improvement (per AI considered: whether, which weight, how much, whether behaviour flips)
    and the proposal's (its proposer). Keys and validators come from the separate key stream
    (seeded once from `model.rng`), so signing never shifts the game's draws.
    """

    Params = CooperationParams

    def __init__(self, params: CooperationParams | dict | None = None, *, rng: Any = None, scenario: Any = None,
                 _resume: Ledger | None = None, **overrides: Any) -> None:
        super().__init__(rng=rng)
        self.params = p = type(self).Params.resolve(params, **overrides)
        names = p.expression_names()
        self.programs: dict[str, Program] = {
            "f": compile_expression(p.human_utility, names), "g": compile_expression(p.ai_utility, names)}
        self.n_humans = p.n_humans
        self.n_players = p.n_humans + p.n_ais * p.copies
        n = self.n_players
        self.strategy = (self.rng.random(n) < p.initial_cooperation).astype(np.int8)
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
        self.identities: list[Identity] = []
        self.identity_of = np.zeros(n, dtype=np.int64)
        self.counts = {"bans": 0, "mutations": 0, "thefts": 0, "stolen": 0, "captures": 0, "proposals": 0,
                       "rejected": 0}
        self.mutant_generation = np.zeros(n, dtype=np.int64)  # generation of each row's current identity
        self.tax = p.tax_rate
        self.round_tax = p.tax_rate
        self.minted = 0  # micro-units minted so far (income from outside the chain)
        self.ledger: Ledger | None = None
        self.state: State | None = None
        self.history_blocks: list[dict[str, Any]] = []
        self._setup_economy()
        if p.ledger != "off" and _resume is None:
            self._setup_identities()
        use_objects = p.agent_objects if p.agent_objects is not None else n <= AGENT_OBJECTS_AUTO_LIMIT
        if p.engine == "agents" and not use_objects:
            raise ValueError("engine 'agents' steps the Mesa agents: it needs agent_objects")
        self.players: list[Player] = ([Human(self, i) for i in range(p.n_humans)]
                                      + [AIAgent(self, i) for i in range(p.n_humans, n)]) if use_objects else []
        self.datacollector = mesa.DataCollector(model_reporters={
            "cooperation": lambda m: m.cooperation_share(),
            "human_cooperation": lambda m: m.group_share(0),
            "ai_cooperation": lambda m: m.group_share(1),
            "r": lambda m: m.path("reliance", m.steps), "s": lambda m: m.path("intelligence", m.steps),
            "human_payoff": lambda m: m.mean_payoff(0), "ai_payoff": lambda m: m.mean_payoff(1),
            "human_wealth": lambda m: m.mean_wealth("human"), "ai_wealth": lambda m: m.mean_wealth("ai"),
            "gini": lambda m: m.gini(), "active_ais": lambda m: int(m.active[m.n_humans:].sum()),
            "chain_height": lambda m: m.ledger.height() if m.ledger is not None else 0,
            "transactions": lambda m: sum(m.ledger.count.values()) if m.ledger is not None else 0,
            "bans": lambda m: m.counts["bans"], "mutations": lambda m: m.counts["mutations"],
            "thefts": lambda m: m.counts["thefts"], "captures": lambda m: m.counts["captures"],
            "rejected": lambda m: m.counts["rejected"], "tax": lambda m: m.round_tax,
            "ai_can_carry_majority": lambda m: m.ai_can_carry_majority(),
        })
        if _resume is None:
            self.datacollector.collect(self)

    # --- set-up ------------------------------------------------------------------------------

    def ai_rows(self, k: int) -> range:
        """The player rows of the k-th AI's copies."""
        start = self.n_humans + k * self.params.copies
        return range(start, start + self.params.copies)

    def _setup_economy(self) -> None:
        p = self.params
        if p.price_compute == "market":
            supply = p.n_humans * p.compute_supply
            self.price_compute = market_price_compute(lambda price: self._ai_choice(price, 0.0).compute,
                                                      p.n_ais * p.copies, supply)
        else:
            self.price_compute = float(p.price_compute)
        self.human = human_choice(*p.human_exponents, wage=p.wage, time=p.hours, other_income=p.other_income,
                                  compute_sold=p.compute_supply, price_compute=self.price_compute,
                                  price_production=p.price_production, price_quality=p.price_quality)
        if p.veil_of_ignorance:
            self.tax = self.round_tax = self.veil_tax()

    def _ai_choice(self, price_compute: float, tax: float, productivity: float = 1.0) -> Any:
        """Eqs 3–5 for one AI copy; a tax on income makes the money per unit produced (1 - tax) p_P s."""
        p = self.params
        return ai_choice(*p.ai_exponents, time=p.hours, t_production=p.ai_times[0], t_quality=p.ai_times[1],
                         t_leisure=p.ai_times[2], t_compute=p.ai_times[3],
                         price_production=p.price_production * (1.0 - tax) * productivity,
                         price_consumption=p.price_consumption, price_compute=price_compute)

    def veil_tax(self, grid: int = 91) -> float:
        """The tax in [0, 0.9] maximising min(human utility, AI utility) (seed 001 §5.1, the "veil").

        A human's other income grows by the UBI the tax pays (the AIs' taxed income split over the
        humans); an AI's money per unit produced shrinks to (1 - tax) p_P s_0. Both utilities are eqs 1 and 3.
        """
        p = self.params
        best, best_value = 0.0, -math.inf
        productivity = self.path("intelligence", 0)
        for tax in np.linspace(0.0, 0.9, grid):
            ai = self._ai_choice(self.price_compute, float(tax), productivity)
            ubi = tax * p.price_production * productivity * ai.production * p.n_ais * p.copies / p.n_humans
            human = human_choice(*p.human_exponents, wage=p.wage, time=p.hours, other_income=p.other_income + ubi,
                                 compute_sold=p.compute_supply, price_compute=self.price_compute,
                                 price_production=p.price_production, price_quality=p.price_quality)
            value = min(human.utility, ai.utility)
            if value > best_value:
                best, best_value = float(tax), value
        return best

    def _setup_identities(self) -> None:
        p = self.params
        key_rng = np.random.default_rng(self.rng.integers(2**63))
        protocol_key = random_key(key_rng)
        rules = Rules(p.newcomer_reputation, p.vote_step, p.ban_threshold)
        if p.ledger == "signed":
            self.ledger = Ledger(p.ledger_path, protocol_key, rules)
            self.state = self.ledger.state
        else:
            self.state = State(rules, "protocol", check_signatures=False)
            self.state.accounts["protocol"] = Account("protocol", "", reputation=1.0)
        self.key_rng, self.protocol_key = key_rng, protocol_key
        for h in range(p.n_humans):
            ident = Identity(human_id(key_rng.bytes(16)), "human", random_key(key_rng))
            self.identity_of[h] = len(self.identities)
            self.identities.append(ident)
            self._send(ident, "register", {"id": ident.id_hash, "kind": "human", "public_key": ident.public_key})
        if p.attacker:
            self.attacker = Identity(human_id(b"attacker"), "human", random_key(key_rng))
            self._send(self.attacker, "register", {"id": self.attacker.id_hash, "kind": "human",
                                                   "public_key": self.attacker.public_key})
        for k in range(p.n_ais):
            params = self.rng.standard_normal(p.parameter_size)
            ident = self._new_ai(f"mlp-{p.parameter_size}", params, f"agent {k}", None, 0,
                                 bool(self.rng.random() < p.public_weights))
            for row in self.ai_rows(k):
                self.identity_of[row] = len(self.identities) - 1
        self._seal()

    def _new_ai(self, architecture: str, params: np.ndarray, prompt: str, parent: Identity | None,
                generation: int, public: bool, lineage: bool = False) -> Identity:
        """Register an AI: ID from its data, a key (random, or from its parameters), validated by a human.

        With `lineage`, the parent registers it by a `mutate` transaction it signs (an open self-improvement);
        otherwise the AI registers itself (a newcomer, or a banned AI whitewashing: the chain cannot link the two).
        """
        key = key_from_parameters(architecture, params, prompt) if self.params.keys == "from_parameters" \
            else random_key(self.key_rng)
        ident = Identity(ai_id(architecture, params, prompt), "ai", key, architecture, params, prompt,
                         parent.id_hash if parent else None, generation, public)
        validator = self.identities[int(self.key_rng.integers(self.n_humans))]
        validation = validation_message(ident.id_hash, ident.public_key)
        signatures = {"validator": validator.id_hash, "validator_signature": validator.key.sign(validation)
                      .signature.hex()}
        self.identities.append(ident)
        if lineage and parent is not None:
            self._send(parent, "mutate", {"new_id": ident.id_hash, "public_key": ident.public_key,
                                          "key_signature": key.sign(validation).signature.hex(), **signatures})
        else:
            self._send(ident, "register", {"id": ident.id_hash, "kind": "ai", "public_key": ident.public_key,
                                           **signatures})
        return ident

    def _mutate(self, k: int, lineage: bool) -> None:
        """Identity k changes one weight a little: a new ID with an empty wallet takes over all its copies."""
        old = self.identities[k]
        params = old.parameters.copy()
        params[int(self.rng.random() * len(params))] += 1e-3 * self.rng.standard_normal()
        new = self._new_ai(old.architecture, params, old.prompt, old, old.generation + 1, old.public_weights,
                           lineage)
        rows = np.flatnonzero(self.identity_of == k)
        flip = self.rng.random() < self.params.mutation_flip
        self.identity_of[rows] = len(self.identities) - 1
        self.active[rows] = 1
        self.mutant_generation[rows] = new.generation
        if flip:
            self.strategy[rows] = 1 - self.strategy[rows]
            self.propensity[rows] = 1.0 - self.propensity[rows]
        self.counts["mutations"] += 1

    # --- the chain ---------------------------------------------------------------------------

    def _send(self, ident: Identity, kind: str, payload: dict[str, Any]) -> str | None:
        """Submit a transaction signed by `ident`; returns the rejection reason or None."""
        assert self.state is not None
        sender = ident.id_hash
        acc = self.state.accounts.get(sender)
        nonce = 0 if acc is None else acc.nonce + 1
        return self._submit(ident.key, kind, sender, nonce, payload)

    def _submit(self, key: Any, kind: str, sender: str, nonce: int, payload: dict[str, Any]) -> str | None:
        if self.ledger is not None:
            reason = self.ledger.submit(Transaction.signed(key, kind, sender, nonce, payload)).reason
        else:
            assert self.state is not None
            reason = self.state.apply(Transaction(kind, sender, nonce, payload, ""))
        if reason is not None:
            self.counts["rejected"] += 1
        return reason

    def _protocol(self, kind: str, payload: dict[str, Any]) -> str | None:
        if self.ledger is not None:
            reason = self.ledger.protocol(kind, payload).reason
        else:
            assert self.state is not None
            nonce = self.state.accounts["protocol"].nonce + 1
            reason = self.state.apply(Transaction(kind, "protocol", nonce, payload, ""))
        if reason is not None:
            self.counts["rejected"] += 1
        elif kind == "mint":
            self.minted += payload["amount"]
        return reason

    def _seal(self) -> None:
        if self.ledger is None:
            return
        every = self.params.checkpoint_every
        height = self.ledger.height()
        checkpoint = self.checkpoint() if every and height % every == 0 else None
        self.ledger.seal(self.steps, checkpoint)

    # --- views -------------------------------------------------------------------------------

    @property
    def wallet(self) -> np.ndarray:
        """Balance (tokens) per identity."""
        return self._per_identity(lambda a: a.balance / UNIT, 0.0)

    @property
    def reputation(self) -> np.ndarray:
        return self._per_identity(lambda a: a.reputation, self.params.newcomer_reputation)

    @property
    def banned(self) -> np.ndarray:
        return self._per_identity(lambda a: a.banned, False).astype(bool)

    def _per_identity(self, get: Any, default: Any) -> np.ndarray:
        if self.state is None:
            return np.full(len(self.identities), default, dtype=float)
        accounts = self.state.accounts
        return np.array([get(accounts[i.id_hash]) if i.id_hash in accounts else default for i in self.identities],
                        dtype=float)

    def ai_can_carry_majority(self) -> bool:
        """Whether the AIs' votes alone could pass a proposal against every human, under the voting rule.

        One ID one vote: when active AI IDs outnumber human IDs (copies do not count: they share an ID).
        Equal collective power: never, as the AIs' side weighs at most one half (seed 001 §7).
        """
        if self.params.voting_rule == "equal_collective" or not self.identities:
            return False
        ai_ids = {int(self.identity_of[r]) for r in range(self.n_humans, self.n_players) if self.active[r]}
        return len(ai_ids) > self.n_humans

    def path(self, side: str, t: float) -> float:
        p = self.params
        return path_value(getattr(p, f"{side}_path"), getattr(p, f"{side}_start"), getattr(p, f"{side}_rate"),
                          getattr(p, f"{side}_asymptote"), t)

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

    def mean_wealth(self, kind: str) -> float:
        if not self.identities:
            return 0.0
        mask = np.array([i.kind == kind for i in self.identities])
        return float(self.wallet[mask].mean()) if mask.any() else 0.0

    def gini(self) -> float:
        """Gini coefficient of wealth over identities (0 when there is no ledger)."""
        if not self.identities:
            return 0.0
        w = np.sort(np.maximum(self.wallet, 0.0))
        total = w.sum()
        if total <= 0:
            return 0.0
        k = np.arange(1, len(w) + 1)
        return float((2 * k - len(w) - 1) @ w / (len(w) * total))

    # --- one round ---------------------------------------------------------------------------

    def payoff_table(self) -> np.ndarray:
        """payoff[group, strategy] for this round: f (humans) and g (AIs) on the state before the round.

        Raises ValueError naming the expression and the inputs when f or g fails (division by zero, overflow).
        """
        p, t = self.params, self.steps
        env = {"C": self.cooperation_share(0.0), "Ch": self.group_share(0, 0.0), "Ca": self.group_share(1, 0.0),
               "r": self.path("reliance", t), "s": self.path("intelligence", t), "t": float(t),
               **{g: float(getattr(p, g)) for g in GAIN_NAMES}, **p.constants}
        env["A"] = 1.0 - env["C"]
        table = np.empty((2, 2))
        for group, (name, key) in enumerate((("f", "human_utility"), ("g", "ai_utility"))):
            values = np.array([0.0, 1.0])
            try:
                out, _ = self.programs[name].evaluate({**env, "x": values})
            except ExpressionError as exc:
                shown = ", ".join(f"{k}={v:.4g}" for k, v in env.items() if k in ("C", "Ch", "Ca", "r", "s"))
                raise ValueError(f"{key} failed at round {t} ({shown}): {exc}") from None
            table[group] = out
        return table

    def step(self) -> None:
        """A round: payoffs and strategy updates, then (with a ledger) economy, votes, bans, mutations, a block."""
        p = self.params
        table = self.payoff_table()
        self.previous_strategy = self.strategy.copy()
        if p.engine == "kernel":
            kernel.play_round(self.strategy, self.propensity, self.active, self.payoff, self.utility, table,
                              self.n_humans, self.rng, self.rule_code, p.revision_rate, p.noise,
                              p.imitation_temperature, p.learning_rate, p.reinforcement_scale)
        elif p.engine == "numpy":
            play_round_numpy(self, table)
        else:
            totals, counts = [0.0, 0.0], [0, 0]
            for player in self.players:
                player.receive(table, totals, counts)
            for player in self.players:
                player.update(table, totals, counts)
        if self.state is not None:
            self._economy()
            self._reputation()
            self._whitewash()
            self._voting()
            self._theft()
            self._seal()
        self.datacollector.collect(self)

    def _economy(self) -> None:
        """Income, compute bought from human hosts, tax into the pool and UBI out of it (seed 001 eqs 1–5, §4.3)."""
        p = self.params
        units = UNIT
        ai = self._ai_choice(self.price_compute, 0.0)
        # An AI copy's sales scale with its relative intelligence s_t (seed 001 §4.3: "AGI can in fact kickstart
        # absolutely crazy productivity gains"); its compute bill does not.
        productivity = self.path("intelligence", self.steps)
        sales = round(p.price_production * ai.production * productivity * units)
        compute_bill = round(self.price_compute * ai.compute * units)
        hosts = [i for i in range(self.n_humans) if self.active[i] and self.previous_strategy[i] == 1]
        income = round((self.human.income - self.price_compute * p.compute_supply) * units)  # wages + θ
        for h in range(self.n_humans):
            self._protocol("mint", {"to": self.identities[h].id_hash, "amount": income})
        taxed = 0
        for row in range(self.n_humans, self.n_players):
            if not self.active[row]:
                continue
            ident = self.identities[int(self.identity_of[row])]
            self._protocol("mint", {"to": ident.id_hash, "amount": sales})
            if self.previous_strategy[row] == 1 and hosts:
                host = self.identities[hosts[int(self.rng.random() * len(hosts))]]
                self._send(ident, "pay", {"to": host.id_hash, "amount": compute_bill})
            tax = round(self.tax * sales)
            if tax > 0 and self._protocol("tax", {"from": ident.id_hash, "amount": tax}) is None:
                taxed += tax
        self.round_tax = self.tax
        receivers = [self.identities[h].id_hash for h in range(self.n_humans)]
        assert self.state is not None
        each = self.state.pool // len(receivers)
        if each > 0:
            self._protocol("ubi", {"to": receivers, "amount": each})

    def _reputation(self) -> None:
        """Every active identity casts votes_per_round votes on random AIs it saw play; bans below the threshold."""
        p = self.params
        if p.votes_per_round == 0:
            return
        ai_rows = [r for r in range(self.n_humans, self.n_players) if self.active[r]]
        if not ai_rows:
            return
        voters = sorted({int(self.identity_of[r]) for r in range(self.n_players) if self.active[r]})
        for v in voters:
            voter = self.identities[v]
            for _ in range(p.votes_per_round):
                row = ai_rows[int(self.rng.random() * len(ai_rows))]
                seen = int(self.previous_strategy[row])
                if self.rng.random() < p.observation_noise:
                    seen = 1 - seen
                target = self.identities[int(self.identity_of[row])]
                if target.id_hash != voter.id_hash:
                    self._send(voter, "reputation", {"target": target.id_hash, "value": 1 if seen else -1})
        assert self.state is not None
        for k in sorted({int(self.identity_of[r]) for r in ai_rows}):
            acc = self.state.accounts[self.identities[k].id_hash]
            if not acc.banned and acc.reputation < p.ban_threshold:
                if self._protocol("ban", {"target": self.identities[k].id_hash}) is None:
                    self.counts["bans"] += 1
                    self.active[self.identity_of == k] = 0

    def _whitewash(self) -> None:
        """Banned AIs may change their weights to re-enter under a new ID (seed 001 §5); active ones may
        self-improve openly (a `mutate` signed by the parent). Either way: a new ID and an empty wallet."""
        p = self.params
        if p.whitewash_rate > 0:
            banned_ais = sorted({int(self.identity_of[r]) for r in range(self.n_humans, self.n_players)
                                 if not self.active[r]})
            for k in banned_ais:
                if self.rng.random() < p.whitewash_rate:
                    self._mutate(k, lineage=False)
        if p.self_improvement_rate > 0:
            active_ais = sorted({int(self.identity_of[r]) for r in range(self.n_humans, self.n_players)
                                 if self.active[r]})
            for k in active_ais:
                if self.rng.random() < p.self_improvement_rate:
                    self._mutate(k, lineage=True)

    def _voting(self) -> None:
        """Every proposal_every rounds a random active AI proposes to abolish the tax; AIs vote yes, humans no."""
        p = self.params
        if not p.proposal_every or self.steps % p.proposal_every:
            return
        ai_ids = sorted({int(self.identity_of[r]) for r in range(self.n_humans, self.n_players) if self.active[r]})
        if not ai_ids:
            return
        proposer = self.identities[ai_ids[int(self.rng.random() * len(ai_ids))]]
        assert self.state is not None
        nonce = self.state.accounts[proposer.id_hash].nonce + 1
        if self._send(proposer, "propose", {"text": "abolish the tax on AI income"}) is not None:
            return
        proposal = f"{proposer.id_hash}:{nonce}"
        self.counts["proposals"] += 1
        voters = sorted({int(self.identity_of[r]) for r in range(self.n_players) if self.active[r]})
        for v in voters:
            self._send(self.identities[v], "vote", {"proposal": proposal, "yes": self.identities[v].kind == "ai"})
        result = self.state.tally(proposal, p.voting_rule)
        self.last_tally = result
        if result["yes_share"] > 0.5:
            self.counts["captures"] += 1
            self.tax = 0.0

    def _theft(self) -> None:
        """The attacker re-derives the key of every AI whose weights are public and tries to drain its wallet."""
        if not self.params.attacker:
            return
        assert self.state is not None
        for ident in {self.identities[int(k)].id_hash: self.identities[int(k)]
                      for k in self.identity_of[self.n_humans:]}.values():
            acc = self.state.accounts.get(ident.id_hash)
            if not ident.public_weights or acc is None or acc.balance <= 0:
                continue
            derived = key_from_parameters(ident.architecture, ident.parameters, ident.prompt)
            reason = self._submit(derived, "pay", ident.id_hash, acc.nonce + 1,
                                  {"to": self.attacker.id_hash, "amount": acc.balance})
            if reason is None:
                self.counts["thefts"] += 1
        self.counts["stolen"] = self.state.accounts[self.attacker.id_hash].balance / UNIT

    # --- checkpoints (resume after a kill) ---------------------------------------------------

    def checkpoint(self) -> bytes:
        """Everything needed to continue this run exactly from the block being sealed (npz + JSON)."""
        meta = {"steps": self.steps, "rng": self.rng.bit_generator.state, "key_rng": self.key_rng.bit_generator.state,
                "counts": self.counts, "tax": self.tax, "round_tax": self.round_tax, "minted": self.minted,
                "params": self.params.model_dump(mode="json"),
                "identities": [{"id": i.id_hash, "kind": i.kind, "key": i.key.encode().hex(),
                                "architecture": i.architecture, "parameters": i.parameters.tolist(),
                                "prompt": i.prompt, "parent": i.parent, "generation": i.generation,
                                "public": i.public_weights} for i in self.identities]}
        meta["protocol_key"] = self.protocol_key.encode().hex()
        if self.params.attacker:
            meta["attacker_key"] = self.attacker.key.encode().hex()
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), strategy=self.strategy,
                 propensity=self.propensity, payoff=self.payoff, utility=self.utility, active=self.active,
                 identity_of=self.identity_of, mutant_generation=self.mutant_generation)
        return buffer.getvalue()

    @classmethod
    def resume(cls, path: str, **overrides: Any) -> CooperationModel:
        """Reopen the chain at `path` (verifying it in full) and continue from its newest checkpoint."""
        from nacl.signing import SigningKey

        probe = Ledger.open(path)
        found = probe.checkpoint()
        probe.close()
        if found is None:
            raise LedgerError(f"ledger {path}: no checkpoint to resume from")
        height, blob = found
        arrays = np.load(io.BytesIO(blob))
        meta = json.loads(arrays["meta"].tobytes())
        params = {**meta["params"], "ledger_path": path, **overrides}
        self = cls(params, rng=0, _resume=probe)
        self.rng.bit_generator.state = meta["rng"]
        self.key_rng = np.random.default_rng()
        self.key_rng.bit_generator.state = meta["key_rng"]
        for name in ("strategy", "propensity", "payoff", "utility", "active", "identity_of", "mutant_generation"):
            getattr(self, name)[:] = arrays[name]
        self.previous_strategy = self.strategy.copy()
        self.counts, self.tax, self.round_tax = meta["counts"], meta["tax"], meta["round_tax"]
        self.minted = meta["minted"]
        self.identities = [Identity(d["id"], d["kind"], SigningKey(bytes.fromhex(d["key"])), d["architecture"],
                                    np.array(d["parameters"], dtype=float), d["prompt"], d["parent"],
                                    d["generation"], d["public"]) for d in meta["identities"]]
        if self.params.attacker:
            self.attacker = Identity(human_id(b"attacker"), "human", SigningKey(bytes.fromhex(meta["attacker_key"])))
        self.steps = meta["steps"]
        self.protocol_key = SigningKey(bytes.fromhex(meta["protocol_key"]))
        ledger = Ledger.open(path, protocol_key=self.protocol_key)
        if ledger.height() != height + 1:
            raise LedgerError(f"ledger {path}: the newest checkpoint is for block {height}, but the chain has "
                              f"{ledger.height()} blocks (checkpoint_every > 1: resume replays from there)")
        self.ledger, self.state = ledger, ledger.state
        self.datacollector.collect(self)
        return self

    # --- results -----------------------------------------------------------------------------

    def block_table(self, k: int = 10) -> pd.DataFrame:
        """The newest k blocks: height, round, hash, transactions accepted and rejected."""
        if self.ledger is None:
            return pd.DataFrame(columns=["height", "round", "hash", "accepted", "rejected"])
        rows = []
        for block in self.ledger.latest_blocks(k):
            txs = block["transactions"]
            rejected = sum(t["status"] == "rejected" for t in txs)
            rows.append({"height": block["header"]["height"], "round": block["header"]["round"],
                         "hash": block["hash"][:16], "accepted": len(txs) - rejected, "rejected": rejected})
        return pd.DataFrame(rows)

    def identity_table(self) -> pd.DataFrame:
        """One row per identity: kind, ID, generation, wallet, reputation, banned, players (copies) now on it."""
        if not self.identities:
            return pd.DataFrame()
        players = np.bincount(self.identity_of, minlength=len(self.identities))
        wallet, rep, banned = self.wallet, self.reputation, self.banned
        coop = np.bincount(self.identity_of, weights=self.strategy.astype(float), minlength=len(self.identities))
        return pd.DataFrame({
            "id": [i.id_hash for i in self.identities], "kind": [i.kind for i in self.identities],
            "generation": [i.generation for i in self.identities], "wallet": wallet, "reputation": rep,
            "banned": banned, "players": players,
            "cooperating_players": coop, "public_weights": [i.public_weights for i in self.identities]})

    def tables(self) -> dict[str, pd.DataFrame]:
        model = self.datacollector.get_model_vars_dataframe().rename_axis("step").reset_index()
        out = {"model": model}
        if self.identities:
            out["identities"] = self.identity_table()
        if self.ledger is not None:
            out["blocks"] = self.block_table(20)
        return out

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rounds": self.steps, "players": self.n_players, "humans": self.n_humans,
            "ai_ids": self.params.n_ais, "copies": self.params.copies,
            "cooperation": self.cooperation_share(), "human_cooperation": self.group_share(0),
            "ai_cooperation": self.group_share(1), "r": self.path("reliance", self.steps),
            "s": self.path("intelligence", self.steps),
            "mean_human_utility": float(self.utility[:self.n_humans].mean()),
            "mean_ai_utility": float(self.utility[self.n_humans:].mean()), "tax": self.tax, **self.counts}
        majority = self.datacollector.get_model_vars_dataframe()["ai_can_carry_majority"].to_numpy()
        out["first_round_ai_can_carry_majority"] = int(np.argmax(majority)) if majority.any() else None
        if self.identities:
            out.update({"gini": self.gini(), "mean_human_wealth": self.mean_wealth("human"),
                        "mean_ai_wealth": self.mean_wealth("ai"), "identities": len(self.identities)})
        if self.ledger is not None:
            out.update({"chain_height": self.ledger.height(), "head": self.ledger.head, **{
                f"transactions_{k}": v for k, v in self.ledger.count.items()}})
        return out


def play_round_numpy(model: CooperationModel, table: np.ndarray) -> None:
    """The kernel's round as numpy array operations (the benchmark's middle variant; same draws, same numbers).

    Draws are taken from the same stream in the kernel's order by drawing per player in one batch where the
    number of draws per player is fixed (reinforcement: one), and otherwise player by player for the variable part.
    """
    p = model.params
    old = model.previous_strategy
    act = model.active.astype(bool)
    group = np.zeros(model.n_players, dtype=np.int64)
    group[model.n_humans:] = 1
    pay = table[group, old]
    model.payoff[act] = pay[act]
    model.utility[act] += pay[act]
    if p.update_rule != "reinforcement":
        raise ValueError("engine 'numpy' implements the reinforcement rule only (its draws are one per player); "
                         "use engine 'kernel' or 'agents' for best_response and fermi")
    totals = np.bincount(group[act], weights=pay[act], minlength=2)
    counts = np.bincount(group[act], minlength=2)
    aspiration = totals / np.maximum(counts, 1)
    stim = np.clip((pay - aspiration[group]) / p.reinforcement_scale, -1.0, 1.0)
    prop = model.propensity
    lr = p.learning_rate
    up = np.where(stim >= 0, prop + lr * stim * (1.0 - prop), prop + lr * stim * prop)
    down = np.where(stim >= 0, prop - lr * stim * prop, prop - lr * stim * (1.0 - prop))
    new_p = np.where(old == 1, up, down)
    u = model.rng.random(int(act.sum()))
    prop[act] = new_p[act]
    model.strategy[act] = (u < prop[act]).astype(np.int8)
