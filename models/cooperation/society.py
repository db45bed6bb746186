"""The cooperation world's society: identities, the ledger, reputation, bans, votes, UBI.

Every identity (a human, or an AI with all its copies) has an account on the ledger
(`models.cooperation.ledger`): a wallet, a reputation and a nonce, kept by the ledger's state as each
transaction is applied, so a balance is read in O(1); `Society.verify` holds them to the chain's full replay.
Per round (the model's step calls pay, vote_reputations, whitewash, propose_and_vote, steal, seal): income is minted,
cooperating AI copies pay a human host for compute, AIs pay a tax on their sales into the pool and the pool is
shared by the humans as UBI; identities vote on the AIs they saw play and AIs below the ban threshold are
banned (all copies stop); a banned AI may whitewash (new weights, new ID, empty wallet) and an active one may
self-improve openly; every few rounds an AI proposes to abolish the tax and everyone votes; an attacker who
reads public weights re-derives those AIs' keys (keys from parameters) and drains their wallets. Then the
round's transactions are sealed as a block.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from nacl.signing import SigningKey

from models.cooperation.economy import Economy
from models.cooperation.game import Game, path
from models.cooperation.identity import Identity, ai_id, human_id, key_from_parameters, random_key
from models.cooperation.keystore import keystore_path, read_keys, snapshot_hash, write_keys
from models.cooperation.ledger import (
    UNIT,
    Account,
    Ledger,
    LedgerError,
    Rules,
    State,
    Transaction,
    validation_message,
)
from models.cooperation.params import CooperationParams


def arrays_of(blob: bytes) -> Any:
    """A checkpoint's arrays (npz)."""
    return np.load(io.BytesIO(blob))


def checkpoint_meta(blob: bytes) -> dict[str, Any]:
    """A checkpoint's JSON part: the round, the generators' states, counts, tax, params, public identities."""
    return json.loads(arrays_of(blob)["meta"].tobytes())


class Society:
    """Identities and their accounts on the chain; the rows each identity plays; the tax, its pool and the votes.

    `identity_of[row]` is the index (in `identities`) of the identity a player row acts for; `rows[k]` the rows
    identity k plays (one for a human, the copies for an AI), so a ban or a mutation touches only those rows.
    """

    def __init__(self, params: CooperationParams, rng: np.random.Generator, game: Game, economy: Economy,
                 resumed: bool = False) -> None:
        p = self.params = params
        self.rng, self.game, self.economy = rng, game, economy
        n = game.n_players
        self.identities: list[Identity] = []
        self.identity_of = np.zeros(n, dtype=np.int64)
        self.rows: dict[int, np.ndarray] = {}
        self.counts = {"bans": 0, "mutations": 0, "thefts": 0, "stolen": 0, "captures": 0, "proposals": 0,
                       "rejected": 0}
        self.votes: dict[str, bool] = {}  # each AI's vote on abolishing the tax (in_favour), worked out once
        self.mutant_generation = np.zeros(n, dtype=np.int64)  # generation of each row's current identity
        self.tax = self.round_tax = economy.veil_tax(path(p, "intelligence", 0)) if p.veil_of_ignorance \
            else p.tax_rate
        self.minted = 0  # micro-units minted so far (income from outside the chain)
        self.ledger: Ledger | None = None
        self.state: State | None = None
        if p.ledger != "off" and not resumed:
            self._register_everyone()

    # --- set-up ------------------------------------------------------------------------------

    def _register_everyone(self) -> None:
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
        self.key_snapshots: dict[int, dict[str, Any]] = {}  # what the key store holds, by checkpoint height
        for h in range(p.n_humans):
            ident = Identity(human_id(key_rng.bytes(16)), "human", random_key(key_rng))
            self.identity_of[h] = len(self.identities)
            self.rows[len(self.identities)] = np.array([h])
            self.identities.append(ident)
            self.send(ident, "register", {"id": ident.id_hash, "kind": "human", "public_key": ident.public_key})
        if p.attacker:
            self.attacker = Identity(human_id(b"attacker"), "human", random_key(key_rng))
            self.send(self.attacker, "register", {"id": self.attacker.id_hash, "kind": "human",
                                                  "public_key": self.attacker.public_key})
        for k in range(p.n_ais):
            params = self.rng.standard_normal(p.parameter_size)
            self._new_ai(f"mlp-{p.parameter_size}", params, f"agent {k}", None, 0,
                         bool(self.rng.random() < p.public_weights))
            rows = np.array(self.game.ai_rows(k))
            self.identity_of[rows] = len(self.identities) - 1
            self.rows[len(self.identities) - 1] = rows
        self.seal(0)

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
        validator = self.identities[int(self.key_rng.integers(self.game.n_humans))]
        validation = validation_message(ident.id_hash, ident.public_key)
        signatures = {"validator": validator.id_hash, "validator_signature": validator.key.sign(validation)
                      .signature.hex()}
        self.identities.append(ident)
        if lineage and parent is not None:
            self.send(parent, "mutate", {"new_id": ident.id_hash, "public_key": ident.public_key,
                                         "key_signature": key.sign(validation).signature.hex(), **signatures})
        else:
            self.send(ident, "register", {"id": ident.id_hash, "kind": "ai", "public_key": ident.public_key,
                                          **signatures})
        return ident

    def _mutate(self, k: int, lineage: bool) -> None:
        """Identity k changes one weight a little: a new ID with an empty wallet takes over all its copies."""
        game, old = self.game, self.identities[k]
        params = old.parameters.copy()
        params[int(self.rng.random() * len(params))] += 1e-3 * self.rng.standard_normal()
        new = self._new_ai(old.architecture, params, old.prompt, old, old.generation + 1, old.public_weights,
                           lineage)
        rows = self.rows.pop(k)
        flip = self.rng.random() < self.params.mutation_flip
        self.identity_of[rows] = len(self.identities) - 1
        self.rows[len(self.identities) - 1] = rows
        game.active[rows] = 1
        self.mutant_generation[rows] = new.generation
        if flip:
            game.strategy[rows] = 1 - game.strategy[rows]
            game.propensity[rows] = 1.0 - game.propensity[rows]
        self.counts["mutations"] += 1

    # --- the chain ---------------------------------------------------------------------------

    def send(self, ident: Identity, kind: str, payload: dict[str, Any]) -> str | None:
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

    def seal(self, t: int) -> None:
        """Write round t's transactions as a block, with a checkpoint every checkpoint_every blocks."""
        if self.ledger is None:
            return
        every = self.params.checkpoint_every
        self.ledger.seal(t, self.checkpoint(t) if every and self.ledger.height() % every == 0 else None)

    # --- checkpoints (resume after a kill) ---------------------------------------------------

    def checkpoint(self, t: int) -> bytes:
        """Everything public needed to continue this run exactly from the block of round t being sealed (npz +
        JSON), with the hash of the key snapshot (keys, weights, key stream) that goes to the key store."""
        game, ledger = self.game, self.ledger
        assert ledger is not None
        snapshot = {"protocol": self.protocol_key.encode().hex(),
                    "attacker": self.attacker.key.encode().hex() if self.params.attacker else None,
                    "identities": {i.id_hash: {"key": i.key.encode().hex(), "parameters": i.parameters.tolist()}
                                   for i in self.identities},
                    "key_stream": self.key_rng.bit_generator.state}
        meta = {"steps": t, "rng": self.rng.bit_generator.state, "keys": snapshot_hash(snapshot),
                "counts": self.counts, "tax": self.tax, "round_tax": self.round_tax, "minted": self.minted,
                "params": self.params.model_dump(mode="json"),
                "identities": [{"id": i.id_hash, "kind": i.kind, "architecture": i.architecture, "prompt": i.prompt,
                                "parent": i.parent, "generation": i.generation, "public": i.public_weights}
                               for i in self.identities]}
        if ledger.path != ":memory:":
            height = ledger.height()
            previous = max(self.key_snapshots, default=None)
            self.key_snapshots = {h: self.key_snapshots[h] for h in (previous,) if h is not None} | {height: snapshot}
            write_keys(keystore_path(ledger.path), self.key_snapshots)
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), strategy=game.strategy,
                 propensity=game.propensity, payoff=game.payoff, utility=game.utility, active=game.active,
                 identity_of=self.identity_of, mutant_generation=self.mutant_generation)
        return buffer.getvalue()

    def restore(self, ledger: Ledger, height: int, blob: bytes) -> int:
        """Take up the checkpoint `blob` of block `height` of the verified `ledger`, with its key snapshot from
        the key store (every snapshot there must be the one its checkpoint names); returns the checkpoint's round."""
        game = self.game
        meta = checkpoint_meta(blob)
        store = keystore_path(ledger.path)
        snapshots = read_keys(store)
        for h, snapshot in snapshots.items():
            named = ledger.checkpoint_at(h)
            if named is None and h > height:
                continue  # written just before its block, which the kill stopped
            if named is None or checkpoint_meta(named)["keys"] != snapshot_hash(snapshot):
                raise LedgerError(f"key store {store}: its snapshot for block {h} is not the one the ledger's "
                                  "checkpoint names (altered)")
        if height not in snapshots:
            raise LedgerError(f"key store {store}: no snapshot for block {height}, the newest checkpoint")
        snapshot = snapshots[height]
        self.protocol_key = SigningKey(bytes.fromhex(snapshot["protocol"]))
        ledger.unlock(self.protocol_key)
        private = snapshot["identities"]
        self.identities = [Identity(d["id"], d["kind"], SigningKey(bytes.fromhex(private[d["id"]]["key"])),
                                    d["architecture"], np.array(private[d["id"]]["parameters"], dtype=float),
                                    d["prompt"], d["parent"], d["generation"], d["public"]) for d in meta["identities"]]
        if self.params.attacker:
            self.attacker = Identity(human_id(b"attacker"), "human", SigningKey(bytes.fromhex(snapshot["attacker"])))
        self.key_rng = np.random.default_rng()
        self.key_rng.bit_generator.state = snapshot["key_stream"]
        self.key_snapshots = {height: snapshot}
        self.rng.bit_generator.state = meta["rng"]
        arrays = arrays_of(blob)
        for name in ("strategy", "propensity", "payoff", "utility", "active"):
            getattr(game, name)[:] = arrays[name]
        self.identity_of[:] = arrays["identity_of"]
        self.mutant_generation[:] = arrays["mutant_generation"]
        game.previous_strategy = game.strategy.copy()
        self.counts, self.tax, self.round_tax = meta["counts"], meta["tax"], meta["round_tax"]
        self.minted = meta["minted"]
        rows: dict[int, list[int]] = {}
        for row, k in enumerate(self.identity_of.tolist()):
            rows.setdefault(k, []).append(row)
        self.rows = {k: np.array(r) for k, r in rows.items()}
        if ledger.height() != height + 1:
            raise LedgerError(f"ledger {ledger.path}: the newest checkpoint is for block {height}, but the chain has "
                              f"{ledger.height()} blocks (checkpoint_every > 1: resume replays from there)")
        self.ledger, self.state = ledger, ledger.state
        return meta["steps"]

    def verify(self, head: tuple[int, str] | None = None) -> None:
        """Verify the chain (against the recorded `head`, if given) and that its full replay gives every account
        the balance this run keeps; LedgerError names the first account that differs. Call it between rounds."""
        assert self.ledger is not None and not self.ledger.pending
        replayed = self.ledger.verify(head).state
        for account_id in sorted(set(self.state.accounts) | set(replayed.accounts)):
            kept, replay = self.state.accounts.get(account_id), replayed.accounts.get(account_id)
            if kept is None or replay is None or kept.balance != replay.balance:
                raise LedgerError(f"ledger {self.ledger.path}: account {account_id[:12]} has balance "
                                  f"{None if kept is None else kept.balance} in the run but "
                                  f"{None if replay is None else replay.balance} by the chain's replay")
        if self.state.pool != replayed.pool:
            raise LedgerError(f"ledger {self.ledger.path}: the tax pool is {self.state.pool} in the run but "
                              f"{replayed.pool} by the chain's replay")

    # --- one round ---------------------------------------------------------------------------

    def pay(self, t: int) -> None:
        """Income, compute bought from human hosts, tax into the pool and UBI out of it (the economy's prices)."""
        game, economy = self.game, self.economy
        sales = economy.ai_sales(path(self.params, "intelligence", t))
        compute_bill = economy.compute_bill()
        hosts = [i for i in range(game.n_humans) if game.active[i] and game.previous_strategy[i] == 1]
        income = economy.human_income()
        for h in range(game.n_humans):
            self._protocol("mint", {"to": self.identities[h].id_hash, "amount": income})
        for row in range(game.n_humans, game.n_players):
            if not game.active[row]:
                continue
            ident = self.identities[int(self.identity_of[row])]
            self._protocol("mint", {"to": ident.id_hash, "amount": sales})
            if game.previous_strategy[row] == 1 and hosts:
                host = self.identities[hosts[int(self.rng.random() * len(hosts))]]
                self.send(ident, "pay", {"to": host.id_hash, "amount": compute_bill})
            tax = round(self.tax * sales)
            if tax > 0:
                self._protocol("tax", {"from": ident.id_hash, "amount": tax})
        self.round_tax = self.tax
        receivers = [self.identities[h].id_hash for h in range(game.n_humans)]
        assert self.state is not None
        each = self.state.pool // len(receivers)
        if each > 0:
            self._protocol("ubi", {"to": receivers, "amount": each})

    def vote_reputations(self) -> None:
        """Every active identity casts votes_per_round votes on random AIs it saw play; bans below the threshold."""
        p, game = self.params, self.game
        if p.votes_per_round == 0:
            return
        ai_rows = [r for r in range(game.n_humans, game.n_players) if game.active[r]]
        if not ai_rows:
            return
        for v in self._active_identities(0):
            voter = self.identities[v]
            for _ in range(p.votes_per_round):
                row = ai_rows[int(self.rng.random() * len(ai_rows))]
                seen = int(game.previous_strategy[row])
                if self.rng.random() < p.observation_noise:
                    seen = 1 - seen
                target = self.identities[int(self.identity_of[row])]
                if target.id_hash != voter.id_hash:
                    self.send(voter, "reputation", {"target": target.id_hash, "value": 1 if seen else -1})
        assert self.state is not None
        for k in sorted({int(self.identity_of[r]) for r in ai_rows}):
            acc = self.state.accounts[self.identities[k].id_hash]
            if not acc.banned and acc.reputation < p.ban_threshold:
                if self._protocol("ban", {"target": self.identities[k].id_hash}) is None:
                    self.counts["bans"] += 1
                    game.active[self.rows[k]] = 0

    def whitewash(self) -> None:
        """Banned AIs may change their weights to re-enter under a new ID; active ones may
        self-improve openly (a `mutate` signed by the parent). Either way: a new ID and an empty wallet."""
        p, game = self.params, self.game
        if p.whitewash_rate > 0:
            banned_ais = sorted({int(self.identity_of[r]) for r in range(game.n_humans, game.n_players)
                                 if not game.active[r]})
            for k in banned_ais:
                if self.rng.random() < p.whitewash_rate:
                    self._mutate(k, lineage=False)
        if p.self_improvement_rate > 0:
            for k in self._active_identities(game.n_humans):
                if self.rng.random() < p.self_improvement_rate:
                    self._mutate(k, lineage=True)

    def propose_and_vote(self, t: int) -> None:
        """Every proposal_every rounds a random active AI in favour proposes to abolish the tax; humans vote no, each
        AI as its values say (`in_favour`)."""
        p = self.params
        if not p.proposal_every or t % p.proposal_every:
            return
        ai_ids = [k for k in self._active_identities(self.game.n_humans) if self.in_favour(self.identities[k])]
        if not ai_ids:  # no active AI wants the tax gone
            return
        proposer = self.identities[ai_ids[int(self.rng.random() * len(ai_ids))]]
        assert self.state is not None
        nonce = self.state.accounts[proposer.id_hash].nonce + 1
        if self.send(proposer, "propose", {"text": "abolish the tax on AI income"}) is not None:
            return
        proposal = f"{proposer.id_hash}:{nonce}"
        self.counts["proposals"] += 1
        for v in self._active_identities(0):
            self.send(self.identities[v], "vote", {"proposal": proposal, "yes": self.in_favour(self.identities[v])})
        result = self.state.tally(proposal, p.voting_rule)
        self.last_tally = result
        if result["yes_share"] > 0.5:
            self.counts["captures"] += 1
            self.tax = 0.0

    def in_favour(self, identity: Identity) -> bool:
        """Whether an identity votes to abolish the tax. A human never. Every AI's income would rise, so the vote
        is its values (Tunador (2023), §7: AIs numerous enough to outvote the humans are "extremely diverse in their
        makeup and therefore their utility functions"): yes with chance ai_agreement, read off its ID, a function of
        its weights; a changed AI keeps its parent's vote but for a chance mutation_flip that it is drawn anew."""
        if identity.kind != "ai":
            return False
        if identity.id_hash not in self.votes:
            parent = next((i for i in self.identities if i.id_hash == identity.parent), None) \
                if identity.parent else None
            if parent is not None and _uniform(identity.id_hash, 1) >= self.params.mutation_flip:
                self.votes[identity.id_hash] = self.in_favour(parent)
            else:
                self.votes[identity.id_hash] = _uniform(identity.id_hash, 0) < self.params.ai_agreement
        return self.votes[identity.id_hash]

    def steal(self) -> None:
        """The attacker re-derives the key of every AI whose weights are public and tries to drain its wallet."""
        if not self.params.attacker:
            return
        assert self.state is not None
        for ident in {self.identities[int(k)].id_hash: self.identities[int(k)]
                      for k in self.identity_of[self.game.n_humans:]}.values():
            acc = self.state.accounts.get(ident.id_hash)
            if not ident.public_weights or acc is None or acc.balance <= 0:
                continue
            derived = key_from_parameters(ident.architecture, ident.parameters, ident.prompt)
            reason = self._submit(derived, "pay", ident.id_hash, acc.nonce + 1,
                                  {"to": self.attacker.id_hash, "amount": acc.balance})
            if reason is None:
                self.counts["thefts"] += 1
        self.counts["stolen"] = self.state.accounts[self.attacker.id_hash].balance / UNIT

    def _active_identities(self, first_row: int) -> list[int]:
        """The identities with an active player from row `first_row` on (0: everyone; n_humans: the AIs)."""
        game = self.game
        return sorted({int(self.identity_of[r]) for r in range(first_row, game.n_players) if game.active[r]})

    # --- views -------------------------------------------------------------------------------

    def account(self, k: int) -> Account | None:
        """Identity k's account (balance, reputation, banned), kept by the ledger's state as transactions apply."""
        return self.state.accounts.get(self.identities[k].id_hash) if self.state is not None else None

    def balance(self, k: int) -> float:
        """Identity k's wallet in tokens, read in O(1)."""
        account = self.account(k)
        return account.balance / UNIT if account is not None else 0.0

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
        Equal collective power: never, as the AIs' side weighs at most one half.
        """
        if self.params.voting_rule == "equal_collective" or not self.identities:
            return False
        return len(self._active_identities(self.game.n_humans)) > self.game.n_humans

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


def _uniform(id_hash: str, k: int) -> float:
    """The k-th number in [0, 1) read off a (hex) ID: 13 hex digits, 52 bits, uniform since the ID is a hash."""
    return int(id_hash[13 * k:13 * (k + 1)], 16) / 16**13
