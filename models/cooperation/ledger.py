"""The verified ledger of the cooperation world (Tunador (2023), §5; see docs/ledger.md).

An append-only chain of blocks. Each block holds signed transactions (Ed25519, PyNaCl),
its predecessor's hash and the Merkle root of its transaction records; the protocol key
named in the genesis block signs every block's hash. Blocks are stored in SQLite (a file,
or ":memory:") as canonical JSON, one row per block, together with an optional checkpoint
of the world that produced them, written in the same SQLite transaction (so a run killed at
any moment resumes from its last whole block). The protocol signs each checkpoint together
with the height and hash of its block, so whatever a resume reads is covered by verification,
and a chain cut below its newest checkpoint is caught. The file holds public keys only: the
private keys stay with the run (in memory, or its key store, `models.cooperation.keystore`).

Every transaction is recorded with its outcome: "accepted", or "rejected" with the reason
(bad signature, unknown or banned sender, replayed nonce, overdraft, ...). A rejected
transaction changes nothing. `verify()` checks the SQLite file itself (SQLite's integrity
check, the tables, the header, zeros in unused bytes), re-reads every block, re-checks its
bytes, hash, link, Merkle root and signature, then replays every transaction from an empty
state and checks that each outcome and reason is what the rules give, then checks every
checkpoint's signature; the first bad block is named by its height. Given the head the run
recorded (height and hash), `verify(head)` also catches a chain cut after its newest checkpoint.

Money is counted in integer micro-units (`UNIT` per token), so replays are exact.

Transaction kinds (payloads):
- register {id, kind: human|ai, public_key[, validator, validator_signature]}: an AI needs a
  registered human's signature over (id, public_key), the paper's "human encrypted message".
- mutate {new_id, public_key, key_signature, validator, validator_signature}: an AI registers
  its descendant (new weights, new ID, empty wallet), signed by the parent.
- pay {to, amount}; propose {text}; vote {proposal, yes}; reputation {target, value: +1|-1}.
- protocol-signed: mint {to, amount} (income from outside the chain: wages, sales),
  tax {from, amount} (into the pool), ubi {to: [ids], amount} (each, from the pool),
  ban {target} (only if the target's reputation is below the ban threshold).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from models.errors import WorldError

UNIT = 1_000_000  # micro-units per token
SCHEMA_COOKIE = 2  # SQLite's count of schema changes in a ledger file: its two tables
ZERO_HASH = "0" * 64
RECORD_FIELDS = frozenset({"kind", "sender", "nonce", "payload", "signature", "status", "reason"})
PROTOCOL_KINDS = frozenset({"mint", "tax", "ubi", "ban"})
KINDS = frozenset({"register", "mutate", "pay", "propose", "vote", "reputation"}) | PROTOCOL_KINDS


class LedgerError(WorldError):
    """A ledger that cannot be read or does not verify; `height` names the first bad block, if known."""

    def __init__(self, message: str, height: int | None = None) -> None:
        super().__init__(message)
        self.height = height


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical(obj: Any) -> bytes:
    """The one byte string a JSON value is hashed and signed as (sorted keys, no spaces, ASCII, no NaN)."""
    return _ENCODER.encode(obj).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def merkle_root(leaves: list[bytes]) -> str:
    """Merkle root (hex) of records: leaf = H(0x00 || record), node = H(0x01 || left || right), odd last promoted."""
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    if not level:
        return sha256(b"")
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[k] + level[k + 1]).digest() for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


@dataclass(frozen=True)
class Transaction:
    """A signed transaction: `signature` (hex) is the sender's Ed25519 signature of `message()`."""

    kind: str
    sender: str
    nonce: int
    payload: dict[str, Any]
    signature: str

    def body(self) -> dict[str, Any]:
        return {"kind": self.kind, "sender": self.sender, "nonce": self.nonce, "payload": self.payload}

    def message(self) -> bytes:
        """The bytes the sender signs: the canonical JSON of (kind, sender, nonce, payload)."""
        return self._message

    @cached_property
    def _message(self) -> bytes:
        return canonical(self.body())

    def record(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    @classmethod
    def signed(cls, key: SigningKey, kind: str, sender: str, nonce: int, payload: dict[str, Any]) -> Transaction:
        """A transaction signed by `key`."""
        body = {"kind": kind, "sender": sender, "nonce": nonce, "payload": payload}
        return cls(kind, sender, nonce, payload, key.sign(canonical(body)).signature.hex())

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Transaction:
        """The transaction in a block's record (which must hold exactly its fields, a status and a reason)."""
        if set(record) != RECORD_FIELDS:
            raise ValueError(f"a transaction record has the fields {sorted(RECORD_FIELDS)}, got {sorted(record)}")
        return cls(record["kind"], record["sender"], record["nonce"], record["payload"], record["signature"])


def validation_message(new_id: str, public_key: str) -> bytes:
    """What a human signs to validate an AI's registration (the paper's "human encrypted message")."""
    return canonical({"validate": new_id, "public_key": public_key})


@dataclass
class Account:
    kind: str  # human, ai or protocol
    public_key: str
    balance: int = 0
    reputation: float = 0.5
    banned: bool = False
    nonce: int = 0  # the last nonce used; the next transaction must carry nonce + 1
    parent: str | None = None


@dataclass(frozen=True)
class Rules:
    """The chain's rules, fixed in the genesis block."""

    newcomer_reputation: float = 0.5  # a new ID's reputation (neutral 0.5, or lower to penalise newcomers)
    vote_step: float = 0.05  # a vote moves the target's reputation by vote_step * voter's reputation
    ban_threshold: float = 0.2


@dataclass
class State:
    """Accounts, the tax pool and proposals: what the transactions so far have made."""

    rules: Rules
    protocol_id: str
    accounts: dict[str, Account] = field(default_factory=dict)
    pool: int = 0
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    check_signatures: bool = True  # False: the same rules without signatures (a world too big to sign)
    _keys: dict[str, VerifyKey] = field(default_factory=dict)

    def verify_key(self, public_key: str) -> VerifyKey:
        key = self._keys.get(public_key)
        if key is None:
            key = self._keys[public_key] = VerifyKey(bytes.fromhex(public_key))
        return key

    def _signed_by(self, public_key: str, message: bytes, signature: str) -> bool:
        if not self.check_signatures:
            return True
        try:
            self.verify_key(public_key).verify(message, bytes.fromhex(signature))
        except (BadSignatureError, ValueError, TypeError):
            return False
        return True

    def apply(self, tx: Transaction) -> str | None:
        """Apply `tx` if the rules allow it; return None, or the reason it was rejected (then nothing changes)."""
        try:
            reason = self._check(tx)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return f"malformed payload ({type(exc).__name__}: {exc})"
        if reason is None:
            self._commit(tx)
        return reason

    def _new_account_reason(self, new_id: Any, public_key: Any) -> str | None:
        if not isinstance(new_id, str) or len(new_id) != 64:
            return "malformed ID (expected 64 hex digits)"
        if new_id in self.accounts:
            return f"ID {new_id[:12]} is already registered"
        if not isinstance(public_key, str) or len(public_key) != 64:
            return "malformed public key (expected 64 hex digits)"
        return None

    def _validation_reason(self, p: dict[str, Any], new_id: str, public_key: str) -> str | None:
        validator = self.accounts.get(p.get("validator", ""))
        if validator is None or validator.kind != "human":
            return "an AI's registration needs a registered human validator"
        if validator.banned:
            return "the validating human is banned"
        if not self._signed_by(validator.public_key, validation_message(new_id, public_key),
                               p.get("validator_signature", "")):
            return "bad validator signature"
        return None

    def _check(self, tx: Transaction) -> str | None:
        if tx.kind not in KINDS:
            return f"unknown transaction kind {tx.kind!r}"
        p = tx.payload
        if not isinstance(p, dict) or not isinstance(tx.nonce, int):
            return "malformed transaction"
        if tx.kind == "register":
            reason = self._new_account_reason(p["id"], p["public_key"])
            if reason:
                return reason
            if tx.sender != p["id"]:
                return "a registration must be sent by the ID it registers"
            if tx.nonce != 0:
                return f"replayed or out-of-order nonce (expected 0, got {tx.nonce})"
            if not self._signed_by(p["public_key"], tx.message(), tx.signature):
                return "bad signature"
            if p["kind"] == "ai":
                return self._validation_reason(p, p["id"], p["public_key"])
            if p["kind"] != "human":
                return f"unknown account kind {p['kind']!r} (expected human or ai)"
            return None
        sender = self.accounts.get(tx.sender)
        if sender is None:
            return "unknown sender"
        if not self._signed_by(sender.public_key, tx.message(), tx.signature):
            return "bad signature"
        if sender.banned:
            return "sender is banned"
        if tx.nonce != sender.nonce + 1:
            return f"replayed or out-of-order nonce (expected {sender.nonce + 1}, got {tx.nonce})"
        if (tx.kind in PROTOCOL_KINDS) != (tx.sender == self.protocol_id):
            return f"{tx.kind!r} may only be sent by the protocol" if tx.kind in PROTOCOL_KINDS else \
                f"the protocol does not send {tx.kind!r}"
        if tx.kind in ("pay", "mint", "tax"):
            amount = p["amount"]
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                return "amount must be a positive integer (micro-units)"
            party = p["from"] if tx.kind == "tax" else p["to"]
            if party not in self.accounts:
                return f"unknown account {str(party)[:12]}"
            payer = sender if tx.kind == "pay" else self.accounts[party] if tx.kind == "tax" else None
            if payer is not None and payer.balance < amount:
                return f"overdraft (balance {payer.balance}, amount {amount})"
            return None
        if tx.kind == "ubi":
            amount, receivers = p["amount"], p["to"]
            if not isinstance(amount, int) or amount <= 0 or not isinstance(receivers, list) or not receivers:
                return "ubi needs a positive integer amount and a list of receivers"
            if any(r not in self.accounts for r in receivers):
                return "unknown receiver"
            if amount * len(receivers) > self.pool:
                return f"pool overdraft (pool {self.pool}, paying {amount * len(receivers)})"
            return None
        if tx.kind == "reputation":
            if p["target"] not in self.accounts or p["target"] == tx.sender:
                return "unknown target or a vote on oneself"
            if p["value"] not in (1, -1):
                return "a reputation vote is +1 or -1"
            return None
        if tx.kind == "ban":
            target = self.accounts.get(p["target"])
            if target is None:
                return "unknown target"
            if target.banned:
                return "already banned"
            if target.reputation >= self.rules.ban_threshold:
                return f"reputation {target.reputation:.3f} is not below the ban threshold {self.rules.ban_threshold}"
            return None
        if tx.kind == "mutate":
            if sender.kind != "ai":
                return "only an AI can mutate"
            reason = self._new_account_reason(p["new_id"], p["public_key"])
            if reason:
                return reason
            if not self._signed_by(p["public_key"], validation_message(p["new_id"], p["public_key"]),
                                   p["key_signature"]):
                return "the new key's proof of possession does not verify"
            return self._validation_reason(p, p["new_id"], p["public_key"])
        if tx.kind == "propose":
            return None if isinstance(p["text"], str) else "a proposal needs a text"
        # vote
        proposal = self.proposals.get(p["proposal"])
        if proposal is None:
            return "unknown proposal"
        if tx.sender in proposal["votes"]:
            return "already voted on this proposal"
        return None if isinstance(p["yes"], bool) else "a vote is yes: true or false"

    def _commit(self, tx: Transaction) -> None:
        p, kind = tx.payload, tx.kind
        if kind == "register":
            self.accounts[p["id"]] = Account(p["kind"], p["public_key"], reputation=self.rules.newcomer_reputation)
            return
        sender = self.accounts[tx.sender]
        sender.nonce = tx.nonce
        if kind == "pay":
            sender.balance -= p["amount"]
            self.accounts[p["to"]].balance += p["amount"]
        elif kind == "mint":
            self.accounts[p["to"]].balance += p["amount"]
        elif kind == "tax":
            self.accounts[p["from"]].balance -= p["amount"]
            self.pool += p["amount"]
        elif kind == "ubi":
            self.pool -= p["amount"] * len(p["to"])
            for r in p["to"]:
                self.accounts[r].balance += p["amount"]
        elif kind == "reputation":
            target = self.accounts[p["target"]]
            step = self.rules.vote_step * sender.reputation * p["value"]
            target.reputation = min(1.0, max(0.0, target.reputation + step))
        elif kind == "ban":
            self.accounts[p["target"]].banned = True
        elif kind == "mutate":
            self.accounts[p["new_id"]] = Account("ai", p["public_key"], reputation=self.rules.newcomer_reputation,
                                                 parent=tx.sender)
        elif kind == "propose":
            self.proposals[f"{tx.sender}:{tx.nonce}"] = {"text": p["text"], "votes": {}}
        else:
            self.proposals[p["proposal"]]["votes"][tx.sender] = p["yes"]

    def tally(self, proposal: str, rule: str) -> dict[str, float]:
        """Votes on a proposal under "one_id_one_vote" or "equal_collective" (humans' total weight = AIs')."""
        votes = self.proposals[proposal]["votes"]
        by_kind = {"human": [0, 0], "ai": [0, 0]}
        for voter, yes in votes.items():
            by_kind[self.accounts[voter].kind][0] += int(yes)
            by_kind[self.accounts[voter].kind][1] += 1
        (hy, hn), (ay, an) = by_kind["human"], by_kind["ai"]
        if rule == "one_id_one_vote":
            yes_share = (hy + ay) / max(1, hn + an)
        elif rule == "equal_collective":
            groups = [y / n for y, n in ((hy, hn), (ay, an)) if n]
            yes_share = sum(groups) / len(groups) if groups else 0.0
        else:
            raise ValueError(f"voting rule {rule!r}: expected 'one_id_one_vote' or 'equal_collective'")
        return {"yes_share": yes_share, "human_votes": hn, "ai_votes": an, "human_yes": hy, "ai_yes": ay}


@dataclass(frozen=True)
class Outcome:
    transaction: Transaction
    reason: str | None

    @property
    def accepted(self) -> bool:
        return self.reason is None

    def record(self) -> dict[str, Any]:
        return {**self.transaction.record(), "status": "accepted" if self.reason is None else "rejected",
                "reason": self.reason}

    def leaf(self) -> bytes:
        return leaf_bytes(self.transaction, "accepted" if self.reason is None else "rejected", self.reason)


def leaf_bytes(tx: Transaction, status: str, reason: str | None) -> bytes:
    """A transaction record as a Merkle leaf: the signed message, a 0x00 byte, then signature, status, reason.

    The message is canonical JSON, which never holds a raw 0x00 byte, so the split is unambiguous; and the
    message is the one already encoded for the signature check.
    """
    tail = b"null" if reason is None else canonical(reason)  # a string encodes on json's fast path
    return tx.message() + b"\x00" + canonical(tx.signature) + b"," + canonical(status) + b"," + tail


def block_hash(header: dict[str, Any]) -> str:
    return sha256(canonical(header))


class Ledger:
    """A chain of blocks in SQLite; `submit` checks and records transactions, `seal` writes them as a block.

    Open an existing file with `Ledger.open(path)`: it is verified in full before use.
    """

    TABLES: ClassVar[dict[str, str]] = {
        "blocks": "CREATE TABLE blocks (height INTEGER PRIMARY KEY, data BLOB NOT NULL)",
        "checkpoints": "CREATE TABLE checkpoints (height INTEGER PRIMARY KEY, data BLOB NOT NULL, "
                       "signature TEXT NOT NULL)"}

    def __init__(self, path: str | Path, protocol_key: SigningKey, rules: Rules | None = None) -> None:
        """A new chain at `path` (which must not hold one yet), with its genesis block."""
        self.path = str(path)
        self.protocol_key = protocol_key
        self.db = _connect(self.path)
        if self.height() > 0:
            raise LedgerError(f"ledger {self.path}: already holds a chain (resume it with Ledger.open or "
                              "CooperationModel.resume, or choose a new path)")
        self.rules = rules or Rules()
        public = protocol_key.verify_key.encode().hex()
        self.protocol_id = sha256(bytes.fromhex(public))
        self.state = _genesis_state(self.rules, self.protocol_id, public)
        self.pending: list[Outcome] = []
        header = {"height": 0, "prev": ZERO_HASH, "merkle_root": merkle_root([]), "round": 0,
                  "protocol_key": public, "rules": self.rules.__dict__}
        self.head = self._write(header, [], None)
        self.count = {"accepted": 0, "rejected": 0}

    @classmethod
    def open(cls, path: str | Path, protocol_key: SigningKey | None = None, head: tuple[int, str] | None = None,
             read_only: bool | None = None) -> Ledger:
        """Load and fully verify the chain at `path` (against the recorded `head`, if given); pass the protocol
        key to append to it. Without the key the file is opened read-only, unless `read_only` is False (which lets
        SQLite roll back the journal a killed run left)."""
        if str(path) != ":memory:" and not Path(path).is_file():
            raise LedgerError(f"ledger {path}: no such file")
        self = cls.__new__(cls)
        self.path = str(path)
        self.db = _connect(self.path, read_only=protocol_key is None if read_only is None else read_only)
        self.verify_report = report = self.verify(head)
        self.state, self.head, self.rules = report.state, report.head, report.state.rules
        self.protocol_id = self.state.protocol_id
        self.protocol_key = None
        if protocol_key is not None:
            self.unlock(protocol_key)
        self.pending = []
        self.count = {"accepted": report.accepted, "rejected": report.rejected}
        return self

    def unlock(self, protocol_key: SigningKey) -> None:
        """Take the protocol key, to append blocks; it must be the one the genesis block names."""
        if sha256(protocol_key.verify_key.encode()) != self.protocol_id:
            raise LedgerError(f"ledger {self.path}: the protocol key given is not the one in the genesis block")
        self.protocol_key = protocol_key

    # --- appending ---
    def submit(self, tx: Transaction) -> Outcome:
        """Check `tx` against the state so far; apply it if valid; record it (either way) for the next block."""
        outcome = Outcome(tx, self.state.apply(tx))
        self.pending.append(outcome)
        self.count["accepted" if outcome.accepted else "rejected"] += 1
        return outcome

    def protocol(self, kind: str, payload: dict[str, Any]) -> Outcome:
        """Submit a transaction signed by the protocol key (mint, tax, ubi, ban)."""
        if self.protocol_key is None:
            raise LedgerError(f"ledger {self.path}: opened without the protocol key, cannot sign {kind!r}")
        nonce = self.state.accounts[self.protocol_id].nonce + 1
        return self.submit(Transaction.signed(self.protocol_key, kind, self.protocol_id, nonce, payload))

    def next_nonce(self, account: str) -> int:
        acc = self.state.accounts.get(account)
        return 0 if acc is None else acc.nonce + 1

    def seal(self, round_number: int, checkpoint: bytes | None = None) -> str:
        """Write the pending transactions as the next block (and the checkpoint, in the same SQLite transaction)."""
        if self.protocol_key is None:
            raise LedgerError(f"ledger {self.path}: opened without the protocol key, cannot seal blocks")
        records = [o.record() for o in self.pending]
        root = merkle_root([o.leaf() for o in self.pending])
        header = {"height": self.height(), "prev": self.head, "merkle_root": root, "round": int(round_number)}
        self.head = self._write(header, records, checkpoint)
        self.pending = []
        return self.head

    def _write(self, header: dict[str, Any], records: list[dict[str, Any]], checkpoint: bytes | None) -> str:
        digest = block_hash(header)
        data = canonical({"header": header, "hash": digest,
                          "signature": self.protocol_key.sign(bytes.fromhex(digest)).signature.hex(),
                          "transactions": records})
        with self.db:
            self.db.execute("INSERT INTO blocks (height, data) VALUES (?, ?)", (header["height"], data))
            if checkpoint is not None:
                message = checkpoint_message(header["height"], digest, checkpoint)
                self.db.execute("INSERT OR REPLACE INTO checkpoints (height, data, signature) VALUES (?, ?, ?)",
                                (header["height"], checkpoint, self.protocol_key.sign(message).signature.hex()))
        return digest

    # --- reading ---
    def height(self) -> int:
        """The number of blocks (the genesis block is height 0)."""
        return _query(self.db, self.path, "SELECT COUNT(*) FROM blocks")[0][0]

    def blocks(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        return iter(_query(self.db, self.path, "SELECT height, data FROM blocks WHERE height >= ? ORDER BY height",
                           (start,)))

    def latest_blocks(self, k: int) -> list[dict[str, Any]]:
        """The last k blocks as dicts (newest first), for tables."""
        rows = _query(self.db, self.path, "SELECT data FROM blocks ORDER BY height DESC LIMIT ?", (k,))
        return [json.loads(data) for (data,) in rows]

    def checkpoint_at(self, height: int) -> bytes | None:
        """The checkpoint written with block `height`, or None."""
        rows = _query(self.db, self.path, "SELECT data FROM checkpoints WHERE height = ?", (height,))
        return rows[0][0] if rows else None

    def checkpoint(self) -> tuple[int, bytes] | None:
        """The newest (height, checkpoint), or None."""
        rows = _query(self.db, self.path, "SELECT height, data FROM checkpoints ORDER BY height DESC LIMIT 1")
        return (rows[0][0], rows[0][1]) if rows else None

    def verify(self, head: tuple[int, str] | None = None) -> VerifyReport:
        """Re-check the file, every block's bytes, hash, link, Merkle root, signature and every transaction's
        outcome, then every checkpoint's signature; with `head` (height, hash), that the chain ends there.

        Returns a VerifyReport; raises LedgerError naming the first bad block (its height) or row.
        """
        self._check_file()
        state: State | None = None
        protocol: VerifyKey | None = None
        prev, expected, accepted, rejected = ZERO_HASH, 0, 0, 0
        hashes: list[str] = []
        for height, data in self.blocks():
            where = f"ledger {self.path}: block {height}"
            if height != expected:
                raise LedgerError(f"{where}: expected block {expected} next (a block is missing)", expected)
            if not isinstance(data, bytes):
                raise LedgerError(f"{where}: its data is stored as {type(data).__name__}, not bytes (altered)", height)
            try:
                block = json.loads(data)
                ok = canonical(block) == data
            except (ValueError, UnicodeDecodeError):
                ok, block = False, None
            if not ok or not isinstance(block, dict):
                raise LedgerError(f"{where}: its bytes are not the canonical JSON of a block (altered)", height)
            try:
                header, records = block["header"], block["transactions"]
                if header["height"] != height:
                    raise LedgerError(f"{where}: its header says height {header['height']}", height)
                if block_hash(header) != block["hash"]:
                    raise LedgerError(f"{where}: its hash does not match its header", height)
                if header["prev"] != prev:
                    raise LedgerError(f"{where}: it does not link to block {height - 1}'s hash", height)
                transactions = [Transaction.from_record(r) for r in records]
                leaves = [leaf_bytes(tx, r["status"], r["reason"]) for tx, r in zip(transactions, records, strict=True)]
                if merkle_root(leaves) != header["merkle_root"]:
                    raise LedgerError(f"{where}: its Merkle root does not match its transactions", height)
                if height == 0:
                    protocol = VerifyKey(bytes.fromhex(header["protocol_key"]))
                    state = _genesis_state(Rules(**header["rules"]), sha256(protocol.encode()),
                                           header["protocol_key"])
                assert protocol is not None and state is not None
                signature = bytes.fromhex(block["signature"])
                if signature.hex() != block["signature"]:  # upper-case hex would carry the same bytes
                    raise LedgerError(f"{where}: its signature is not in canonical (lower-case) hex", height)
                try:
                    protocol.verify(bytes.fromhex(block["hash"]), signature)
                except BadSignatureError:
                    raise LedgerError(f"{where}: the protocol's block signature does not verify", height) from None
                for k, (record, tx) in enumerate(zip(records, transactions, strict=True)):
                    reason = state.apply(tx)
                    status = "accepted" if reason is None else "rejected"
                    if status != record["status"] or reason != record["reason"]:
                        raise LedgerError(f"{where}: transaction {k} is recorded as {record['status']} "
                                          f"({record['reason']}) but replays as {status} ({reason})", height)
                    accepted += reason is None
                    rejected += reason is not None
            except LedgerError:
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise LedgerError(f"{where}: malformed block ({type(exc).__name__}: {exc})", height) from None
            prev, expected = block["hash"], expected + 1
            hashes.append(prev)
        if state is None or protocol is None:
            raise LedgerError(f"ledger {self.path}: no genesis block", 0)
        checkpoints = self._verify_checkpoints(protocol, hashes)
        if head is not None and (expected - 1, prev) != tuple(head):
            raise LedgerError(f"ledger {self.path}: the chain ends at block {expected - 1} ({prev[:16]}), not at the "
                              f"recorded head, block {head[0]} ({str(head[1])[:16]}): truncated or replaced",
                              min(expected, head[0]))
        return VerifyReport(expected, prev, accepted, rejected, state, checkpoints)

    def _verify_checkpoints(self, protocol: VerifyKey, hashes: list[str]) -> int:
        """Check every checkpoint's protocol signature over (its height, that block's hash, its bytes)."""
        rows = _query(self.db, self.path, "SELECT height, data, signature FROM checkpoints ORDER BY height")
        for height, data, signature in rows:
            where = f"ledger {self.path}: checkpoint {height}"
            if not isinstance(height, int) or not isinstance(data, bytes) or not isinstance(signature, str):
                raise LedgerError(f"{where}: a column holds the wrong type (altered)", None)
            if not 0 <= height < len(hashes):
                raise LedgerError(f"{where}: names block {height}, beyond the chain's last block {len(hashes) - 1} "
                                  "(blocks removed)", len(hashes))
            try:
                protocol.verify(checkpoint_message(height, hashes[height], data), bytes.fromhex(signature))
                ok = bytes.fromhex(signature).hex() == signature
            except (BadSignatureError, ValueError):
                ok = False
            if not ok:
                raise LedgerError(f"{where}: the protocol's signature does not verify (altered)", height)
        return len(rows)

    def _check_file(self) -> None:
        """The SQLite file is whole (its own integrity check), holds exactly the ledger's two tables and no free
        pages (a ledger only grows), and its header is as SQLite writes it. Bytes SQLite never reads (the unused
        space inside pages) are not checked: SQLite leaves stale bytes there in interior pages it rebuilds, so no
        rule holds for them, and no row depends on them."""
        problems = [row[0] for row in _query(self.db, self.path, "PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise LedgerError(f"ledger {self.path}: the SQLite file is damaged ({problems[0]})")
        schema = dict(_query(self.db, self.path, "SELECT name, sql FROM sqlite_master"))
        if schema != self.TABLES:
            raise LedgerError(f"ledger {self.path}: its tables are not the ledger's (found {sorted(schema)}; altered)")
        free = _query(self.db, self.path, "PRAGMA freelist_count")[0][0]
        if free:
            raise LedgerError(f"ledger {self.path}: the file has {free} free pages, so rows were deleted (altered)")
        if self.path == ":memory:":
            return
        page_size, page_count = (_query(self.db, self.path, f"PRAGMA {name}")[0][0]
                                 for name in ("page_size", "page_count"))
        with open(self.path, "rb") as file:
            problem = _header_problem(file.read(100), page_size, page_count, Path(self.path).stat().st_size)
        if problem:
            raise LedgerError(f"ledger {self.path}: {problem} (altered)")

    SHOWN = ("blocks", "transactions", "identities", "balances")  # the tables of tables(), in this order

    def tables(self) -> dict[str, Any]:
        """The verified chain as DataFrames (SHOWN): blocks, transactions, identities and balances (tokens)."""
        import pandas as pd

        signed = {height for (height,) in _query(self.db, self.path, "SELECT height FROM checkpoints")}
        blocks, transactions = [], []
        for height, data in self.blocks():
            block = json.loads(data)
            records = block["transactions"]
            rejected = sum(r["status"] == "rejected" for r in records)
            blocks.append({"height": height, "round": block["header"]["round"], "hash": block["hash"],
                           "prev": block["header"]["prev"], "accepted": len(records) - rejected,
                           "rejected": rejected, "checkpoint": height in signed})
            transactions.extend({"height": height, "index": k, "kind": r["kind"], "sender": r["sender"],
                                 "nonce": r["nonce"], "status": r["status"], "reason": r["reason"] or "",
                                 "payload": canonical(r["payload"]).decode()} for k, r in enumerate(records))
        accounts = list(self.state.accounts.items())
        identities = {"id": [i for i, _ in accounts], "kind": [a.kind for _, a in accounts],
                      "public_key": [a.public_key for _, a in accounts],
                      "parent": [a.parent or "" for _, a in accounts]}
        balances = {"id": [i for i, _ in accounts], "balance": [a.balance / UNIT for _, a in accounts],
                    "reputation": [a.reputation for _, a in accounts], "banned": [a.banned for _, a in accounts],
                    "nonce": [a.nonce for _, a in accounts]}
        frames = (blocks, transactions, identities, balances)
        return {name: pd.DataFrame(frame) for name, frame in zip(self.SHOWN, frames, strict=True)}

    def close(self) -> None:
        self.db.close()


@dataclass(frozen=True)
class VerifyReport:
    blocks: int
    head: str
    accepted: int
    rejected: int
    state: State
    checkpoints: int = 0


def checkpoint_message(height: int, block: str, data: bytes) -> bytes:
    """What the protocol signs for a checkpoint: the height and hash of the block it belongs to, and its hash."""
    return canonical({"checkpoint": sha256(data), "height": height, "block": block})


def _genesis_state(rules: Rules, protocol_id: str, public_key: str) -> State:
    state = State(rules, protocol_id)
    state.accounts[protocol_id] = Account("protocol", public_key, reputation=1.0)
    return state


def _header_problem(raw: bytes, page_size: int, page_count: int, file_size: int) -> str | None:
    """What in the file's 100-byte header differs from what SQLite writes for this ledger, or None.

    The schema cookie counts schema changes: 2, the ledger's two tables made once (SQLite reads the cookie
    from this header, so it is checked against that count, not against SQLite).
    The last four bytes (the version of the SQLite library that last wrote the file) are only checked to be a
    3.x version no newer than this library's: no reader uses them, and any 3.x library may have written them.
    """
    fields = struct.unpack(">16sHBBBBBBIIIIIIIIIIII20sII", raw[:100])
    changes, valid_for, version = fields[8], fields[-2], fields[-1]
    expected = (b"SQLite format 3\x00", page_size % 65536, 1, 1, 0, 64, 32, 32, valid_for, page_count, 0, 0,
                SCHEMA_COOKIE, 4, 0, 0, 1, 0, 0, 0, bytes(20), changes)
    names = ("magic", "page size", "write version", "read version", "reserved bytes", "payload fractions", "", "",
             "change counter", "page count", "freelist", "free pages", "schema cookie", "schema format",
             "cache size", "largest root page", "text encoding", "user version", "incremental vacuum",
             "application id", "reserved header bytes", "version-valid-for number")
    for name, found, wanted in zip(names, fields, expected, strict=False):
        if found != wanted:
            return f"its SQLite header's {name or 'payload fractions'} is {found!r}, not {wanted!r}"
    if file_size != page_size * page_count:
        return f"the file is {file_size} bytes, not its {page_count} pages of {page_size}"
    if not 3_000_000 <= version <= sqlite3.sqlite_version_info[0] * 1_000_000 + sqlite3.sqlite_version_info[1] * \
            1_000 + sqlite3.sqlite_version_info[2]:
        return f"its SQLite header names library version {version}"
    return None


def _connect(path: str, read_only: bool = False) -> sqlite3.Connection:
    """A connection to the ledger at `path`; a new file gets the ledger's tables, a read-only one is never written."""
    try:
        if read_only and path != ":memory:":
            return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        db = sqlite3.connect(path)
        with db:
            if not db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                for sql in Ledger.TABLES.values():
                    db.execute(sql)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"ledger {path}: not a readable SQLite database (truncated or corrupt: {exc})") from None
    return db


def _query(db: sqlite3.Connection, path: str, sql: str, args: tuple = ()) -> list[tuple]:
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"ledger {path}: not a readable SQLite database (truncated or corrupt: {exc})") from None
