"""The cooperation world (Tunador (2023), §4, §5, §7; docs/cooperation.md).

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

The defaults respect the paper's signs (Tunador (2023), §4.1: f increases with C and r; g increases
with C, s and r): an AI that cooperates earns cooperation_gain * (Ch + r), one that aggresses
aggression_gain * s; a cooperating human earns trade_gain * Ca * (1 + r), an aggressing one (who
unplugs its AIs) a safe defence_gain, and every human loses harm * s * (1 - Ca) to aggressive AIs.
So an exponential s_t ends in aggression (dystopia) whatever r_t does, while a logistic s_t
whose asymptote is low enough leaves cooperation the better reply (utopia): the paper's
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
to abolish the tax and everyone votes, under one-ID-one-vote or the paper's equal collective
power; a passed proposal is a capture. With keys derived from parameters, an attacker who
reads public weights drains those AIs' wallets (Tunador (2023), §7).

The model composes three parts: the game (`models.cooperation.game`), the economy's prices
(`models.cooperation.economy`) and the society of identities on the chain (`models.cooperation.society`).
The game runs in `_fastcore.game.play_round` (or numpy, or the Mesa agents' reference step); the society is
per identity in Python.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd

from agents.cooperation import AIAgent, Human, Player
from models.cooperation.economy import Economy
from models.cooperation.game import Game, path
from models.cooperation.ledger import UNIT, Ledger, LedgerError
from models.cooperation.params import CooperationParams
from models.cooperation.society import Society, checkpoint_meta
from models.world import World

AGENT_OBJECTS_AUTO_LIMIT = 20_000


class CooperationModel(World):
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
        super().__init__(params, rng=rng, **overrides)
        p = self.params
        self.game = Game(p, self.rng)
        self.economy = Economy(p, UNIT)
        self.society = Society(p, self.rng, self.game, self.economy, resumed=_resume is not None)
        n = self.game.n_players
        use_objects = p.agent_objects if p.agent_objects is not None else n <= AGENT_OBJECTS_AUTO_LIMIT
        if p.engine == "agents" and not use_objects:
            raise ValueError("engine 'agents' steps the Mesa agents: it needs agent_objects")
        self.players: list[Player] = ([Human(self, i) for i in range(p.n_humans)]
                                      + [AIAgent(self, i) for i in range(p.n_humans, n)]) if use_objects else []
        game, society = self.game, self.society
        reporters = {
            "cooperation": lambda m: game.cooperation_share(),
            "human_cooperation": lambda m: game.group_share(0),
            "ai_cooperation": lambda m: game.group_share(1),
            "r": lambda m: path(p, "reliance", m.steps), "s": lambda m: path(p, "intelligence", m.steps),
            "human_payoff": lambda m: game.mean_payoff(0), "ai_payoff": lambda m: game.mean_payoff(1),
            "human_wealth": lambda m: society.mean_wealth("human"), "ai_wealth": lambda m: society.mean_wealth("ai"),
            "gini": lambda m: society.gini(), "active_ais": lambda m: int(game.active[game.n_humans:].sum()),
            "chain_height": lambda m: society.ledger.height() if society.ledger is not None else 0,
            "transactions": lambda m: sum(society.ledger.count.values()) if society.ledger is not None else 0,
            "bans": lambda m: society.counts["bans"], "mutations": lambda m: society.counts["mutations"],
            "thefts": lambda m: society.counts["thefts"], "captures": lambda m: society.counts["captures"],
            "rejected": lambda m: society.counts["rejected"], "tax": lambda m: society.round_tax,
            "ai_can_carry_majority": lambda m: society.ai_can_carry_majority(),
        }
        if _resume is None:
            self.collect_from(reporters)
        else:  # a resumed run's rows so far come back from its checkpoint, so nothing is collected yet
            self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def step(self) -> None:
        """A round: payoffs and strategy updates, then (with a ledger) economy, votes, bans, mutations, a block."""
        self.game.play(self.steps, self.players)
        society = self.society
        if society.state is not None:
            society.pay(self.steps)
            society.vote_reputations()
            society.whitewash()
            society.propose_and_vote(self.steps)
            society.steal()
            society.seal(self.steps)
        self.datacollector.collect(self)

    @classmethod
    def resume(cls, path: str, **overrides: Any) -> CooperationModel:
        """Reopen the chain at `path` (verifying it in full) and continue from its newest checkpoint, with the keys
        of its key store (`models.cooperation.keystore`)."""
        ledger = Ledger.open(path, read_only=False)
        found = ledger.checkpoint()
        if found is None:
            ledger.close()
            raise LedgerError(f"ledger {path}: no checkpoint to resume from")
        height, blob = found
        self = cls({**checkpoint_meta(blob)["params"], "ledger_path": path, **overrides}, rng=0, _resume=ledger)
        self.steps = self.society.restore(ledger, height, blob)
        self.datacollector.collect(self)
        return self

    # --- the parts' state, as the agents, the page and the tests read it -----------------------

    @property
    def n_humans(self) -> int:
        return self.game.n_humans

    @property
    def n_players(self) -> int:
        return self.game.n_players

    @property
    def strategy(self) -> np.ndarray:
        return self.game.strategy

    @property
    def propensity(self) -> np.ndarray:
        return self.game.propensity

    @property
    def payoff(self) -> np.ndarray:
        return self.game.payoff

    @property
    def utility(self) -> np.ndarray:
        return self.game.utility

    @property
    def active(self) -> np.ndarray:
        return self.game.active

    @property
    def previous_strategy(self) -> np.ndarray:
        return self.game.previous_strategy

    @property
    def identities(self) -> list:
        return self.society.identities

    @property
    def identity_of(self) -> np.ndarray:
        return self.society.identity_of

    @property
    def ledger(self) -> Ledger | None:
        return self.society.ledger

    @property
    def counts(self) -> dict[str, Any]:
        return self.society.counts

    @property
    def tax(self) -> float:
        return self.society.tax

    def path(self, side: str, t: float) -> float:
        return path(self.params, side, t)

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
        society, game = self.society, self.game
        identities = society.identities
        if not identities:
            return pd.DataFrame()
        players = np.bincount(society.identity_of, minlength=len(identities))
        coop = np.bincount(society.identity_of, weights=game.strategy.astype(float), minlength=len(identities))
        return pd.DataFrame({
            "id": [i.id_hash for i in identities], "kind": [i.kind for i in identities],
            "generation": [i.generation for i in identities], "wallet": society.wallet,
            "reputation": society.reputation, "banned": society.banned, "players": players,
            "cooperating_players": coop, "public_weights": [i.public_weights for i in identities]})

    def tables(self) -> dict[str, pd.DataFrame]:
        model = self.datacollector.get_model_vars_dataframe().rename_axis("step").reset_index()
        out = {"model": model}
        if self.identities:
            out["identities"] = self.identity_table()
        if self.ledger is not None:
            out["blocks"] = self.block_table(20)
        return out

    def summary(self) -> dict[str, Any]:
        game, society, p = self.game, self.society, self.params
        out: dict[str, Any] = {
            "rounds": self.steps, "players": game.n_players, "humans": game.n_humans,
            "ai_ids": p.n_ais, "copies": p.copies,
            "cooperation": game.cooperation_share(), "human_cooperation": game.group_share(0),
            "ai_cooperation": game.group_share(1), "r": path(p, "reliance", self.steps),
            "s": path(p, "intelligence", self.steps),
            "mean_human_utility": float(game.utility[:game.n_humans].mean()),
            "mean_ai_utility": float(game.utility[game.n_humans:].mean()), "tax": society.tax, **society.counts}
        majority = self.datacollector.get_model_vars_dataframe()["ai_can_carry_majority"].to_numpy()
        out["first_round_ai_can_carry_majority"] = int(np.argmax(majority)) if majority.any() else None
        if society.identities:
            out.update({"gini": society.gini(), "mean_human_wealth": society.mean_wealth("human"),
                        "mean_ai_wealth": society.mean_wealth("ai"), "identities": len(society.identities)})
        if society.ledger is not None:
            out.update({"chain_height": society.ledger.height(), "head_height": society.ledger.height() - 1,
                        "head": society.ledger.head, **{
                f"transactions_{k}": v for k, v in society.ledger.count.items()}})
        return out
