"""The ledger: rejected transactions and their reasons, tampering, truncation, kill-and-resume; hashed identities."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.cooperation.identity import ai_id, human_id, key_from_parameters, random_key
from models.cooperation.ledger import Ledger, LedgerError, Rules, Transaction, validation_message
from models.cooperation.model import CooperationModel

ROOT = Path(__file__).resolve().parents[2]


class Chain:
    """A small chain with two humans and an AI, for the rejection tests."""

    def __init__(self, path: str = ":memory:") -> None:
        rng = np.random.default_rng(11)
        self.protocol = random_key(rng)
        self.ledger = Ledger(path, self.protocol, Rules(ban_threshold=0.45, vote_step=0.2))
        self.keys = {name: random_key(rng) for name in ("alice", "bob")}
        self.ids = {name: human_id(name.encode()) for name in self.keys}
        for name in self.keys:
            self.send(name, "register", {"id": self.ids[name], "kind": "human",
                                         "public_key": self.pub(name)}, nonce=0)
        params = np.arange(4.0)
        self.keys["ai"] = random_key(rng)
        self.ids["ai"] = ai_id("mlp", params, "hi")
        self.send("ai", "register", self.ai_registration("ai", "alice"), nonce=0)
        for name in ("alice", "ai"):
            self.ledger.protocol("mint", {"to": self.ids[name], "amount": 100})
        self.ledger.seal(1)

    def pub(self, name: str) -> str:
        return self.keys[name].verify_key.encode().hex()

    def ai_registration(self, name: str, validator: str) -> dict:
        sig = self.keys[validator].sign(validation_message(self.ids[name], self.pub(name))).signature.hex()
        return {"id": self.ids[name], "kind": "ai", "public_key": self.pub(name), "validator": self.ids[validator],
                "validator_signature": sig}

    def tx(self, name: str, kind: str, payload: dict, nonce: int | None = None, key: str | None = None) -> Transaction:
        nonce = self.ledger.next_nonce(self.ids[name]) if nonce is None else nonce
        return Transaction.signed(self.keys[key or name], kind, self.ids[name], nonce, payload)

    def send(self, name: str, kind: str, payload: dict, **kw) -> str | None:
        return self.ledger.submit(self.tx(name, kind, payload, **kw)).reason

    def balances(self) -> dict[str, int]:
        accounts = self.ledger.state.accounts
        return {n: accounts[i].balance for n, i in self.ids.items() if i in accounts}


def test_valid_payment_moves_money_and_verifies() -> None:
    chain = Chain()
    assert chain.send("alice", "pay", {"to": chain.ids["bob"], "amount": 30}) is None
    chain.ledger.seal(2)
    assert chain.balances() == {"alice": 70, "bob": 30, "ai": 100}
    report = chain.ledger.verify()
    assert report.blocks == 3 and report.accepted == 6 and report.rejected == 0


@pytest.mark.parametrize(("attempt", "reason"), [
    (lambda c: c.tx("alice", "pay", {"to": c.ids["bob"], "amount": 10}, key="bob"), "bad signature"),
    (lambda c: c.tx("alice", "pay", {"to": c.ids["bob"], "amount": 101}), "overdraft (balance 100, amount 101)"),
    (lambda c: c.tx("alice", "pay", {"to": "f" * 64, "amount": 1}), "unknown account"),
    (lambda c: c.tx("alice", "mint", {"to": c.ids["alice"], "amount": 5}), "'mint' may only be sent by the protocol"),
    (lambda c: Transaction.signed(c.keys["bob"], "pay", "e" * 64, 1, {"to": c.ids["bob"], "amount": 1}),
     "unknown sender"),
    (lambda c: c.tx("alice", "pay", {"to": c.ids["bob"], "amount": 1}, nonce=0),
     "replayed or out-of-order nonce (expected 1, got 0)"),
    (lambda c: c.tx("alice", "ban", {"target": c.ids["ai"]}), "'ban' may only be sent by the protocol"),
    (lambda c: c.tx("alice", "pay", {"to": c.ids["bob"], "amount": -3}), "amount must be a positive integer"),
])
def test_rejected_transactions_change_nothing(attempt, reason: str) -> None:
    chain = Chain()
    before = (chain.balances(), chain.ledger.state.accounts[chain.ids["alice"]].nonce)
    outcome = chain.ledger.submit(attempt(chain))
    assert outcome.reason is not None and outcome.reason.startswith(reason)
    assert (chain.balances(), chain.ledger.state.accounts[chain.ids["alice"]].nonce) == before
    chain.ledger.seal(2)
    block = chain.ledger.latest_blocks(1)[0]
    assert block["transactions"][-1]["status"] == "rejected" and block["transactions"][-1]["reason"] == outcome.reason
    assert chain.ledger.verify().rejected == 1  # the replay reproduces the same rejection


def test_replayed_transaction_is_rejected() -> None:
    chain = Chain()
    pay = chain.tx("alice", "pay", {"to": chain.ids["bob"], "amount": 10})
    assert chain.ledger.submit(pay).reason is None
    assert chain.ledger.submit(pay).reason == "replayed or out-of-order nonce (expected 2, got 1)"
    assert chain.balances()["bob"] == 10


def test_ai_registration_needs_a_humans_signature() -> None:
    chain = Chain()
    rng = np.random.default_rng(3)
    chain.keys["rogue"] = random_key(rng)
    chain.ids["rogue"] = ai_id("mlp", np.ones(3), "rogue")
    unsigned = {"id": chain.ids["rogue"], "kind": "ai", "public_key": chain.pub("rogue")}
    assert chain.send("rogue", "register", unsigned, nonce=0) == "an AI's registration needs a registered human " \
        "validator"
    forged = chain.ai_registration("rogue", "alice")
    forged["validator_signature"] = chain.keys["rogue"].sign(b"x").signature.hex()
    assert chain.send("rogue", "register", forged, nonce=0) == "bad validator signature"
    assert chain.send("rogue", "register", chain.ai_registration("rogue", "bob"), nonce=0) is None


def test_votes_weighted_by_reputation_then_ban_then_banned_sender_rejected() -> None:
    chain = Chain()
    for voter in ("alice", "bob"):
        assert chain.send(voter, "reputation", {"target": chain.ids["ai"], "value": -1}) is None
    # each vote moves the AI by vote_step * voter's reputation = 0.2 * 0.5
    assert chain.ledger.state.accounts[chain.ids["ai"]].reputation == pytest.approx(0.3)
    assert chain.ledger.protocol("ban", {"target": chain.ids["bob"]}).reason.startswith("reputation 0.500 is not "
                                                                                       "below the ban threshold")
    assert chain.ledger.protocol("ban", {"target": chain.ids["ai"]}).reason is None
    assert chain.send("ai", "pay", {"to": chain.ids["bob"], "amount": 1}) == "sender is banned"
    assert chain.balances()["ai"] == 100
    chain.ledger.seal(2)
    assert chain.ledger.verify().rejected == 2


def test_one_id_one_vote_and_equal_collective_power() -> None:
    chain = Chain()
    rng = np.random.default_rng(5)
    for k in range(3):  # four AI IDs against two humans
        name = f"ai{k}"
        chain.keys[name] = random_key(rng)
        chain.ids[name] = ai_id("mlp", np.full(2, k), "")
        chain.send(name, "register", chain.ai_registration(name, "bob"), nonce=0)
    assert chain.send("ai", "propose", {"text": "abolish the tax"}) is None
    proposal = f"{chain.ids['ai']}:1"
    for name in chain.ids:
        chain.send(name, "vote", {"proposal": proposal, "yes": name.startswith("ai")})
    assert chain.send("alice", "vote", {"proposal": proposal, "yes": True}) == "already voted on this proposal"
    assert chain.ledger.state.tally(proposal, "one_id_one_vote")["yes_share"] == pytest.approx(4 / 6)
    assert chain.ledger.state.tally(proposal, "equal_collective")["yes_share"] == pytest.approx(0.5)


def test_mutate_registers_a_descendant_signed_by_its_parent() -> None:
    chain = Chain()
    rng = np.random.default_rng(8)
    child_key = random_key(rng)
    child = ai_id("mlp", np.arange(4.0) + 1e-3, "hi")
    public = child_key.verify_key.encode().hex()
    proof = child_key.sign(validation_message(child, public)).signature.hex()
    human = chain.keys["bob"].sign(validation_message(child, public)).signature.hex()
    payload = {"new_id": child, "public_key": public, "key_signature": proof, "validator": chain.ids["bob"],
               "validator_signature": human}
    forged = {**payload, "key_signature": chain.keys["ai"].sign(b"no").signature.hex()}
    assert chain.send("ai", "mutate", forged) == "the new key's proof of possession does not verify"
    assert chain.send("alice", "mutate", payload) == "only an AI can mutate"
    assert chain.send("ai", "mutate", payload) is None
    account = chain.ledger.state.accounts[child]
    assert account.parent == chain.ids["ai"] and account.balance == 0 and account.reputation == 0.5
    assert chain.send("ai", "mutate", payload).startswith(f"ID {child[:12]} is already registered")


def test_self_improving_ais_mutate_on_the_chain() -> None:
    model = CooperationModel({"n_humans": 5, "n_ais": 4, "copies": 2, "self_improvement_rate": 0.5,
                              "votes_per_round": 0}, rng=3)
    for _ in range(4):
        model.step()
    mutations = [t for b in model.ledger.latest_blocks(10) for t in b["transactions"] if t["kind"] == "mutate"]
    assert len(mutations) == model.counts["mutations"] > 0
    assert all(t["status"] == "accepted" for t in mutations)
    assert model.ledger.verify().blocks == model.ledger.height()


# --- identity -------------------------------------------------------------------------------


def test_copies_share_an_id_and_a_wallet() -> None:
    model = CooperationModel({"n_humans": 4, "n_ais": 3, "copies": 3, "votes_per_round": 0}, rng=2)
    model.step()
    ais = model.players[4:]
    assert len({a.id_hash for a in ais}) == 3
    for k in range(3):
        copies = ais[3 * k: 3 * k + 3]
        assert len({c.id_hash for c in copies}) == 1 and len({c.wallet for c in copies}) == 1
        assert copies[0].id_hash == ai_id(copies[0].architecture, copies[0].parameters, copies[0].prompt)
    assert ais[0].wallet > 0


def test_one_ulp_gives_a_new_id_and_byte_order_does_not() -> None:
    params = np.random.default_rng(0).standard_normal(16)
    base = ai_id("transformer", params, "be helpful")
    assert ai_id("transformer", params.copy(), "be helpful") == base
    assert ai_id("transformer", params.astype(">f8"), "be helpful") == base
    for i in range(16):
        nudged = params.copy()
        nudged[i] = np.nextafter(nudged[i], np.inf)
        assert ai_id("transformer", nudged, "be helpful") != base
    assert ai_id("transformer", params, "be helpful!") != base
    assert ai_id("transformer ", params, "be helpful") != base
    assert ai_id("transformer", params.reshape(4, 4), "be helpful") != base  # the shape is part of the data


def test_key_from_parameters_is_recoverable_by_anyone() -> None:
    params = np.arange(5.0)
    assert key_from_parameters("m", params, "p").encode() == key_from_parameters("m", params.copy(), "p").encode()
    assert key_from_parameters("m", params, "p").encode() != key_from_parameters("m", params + 1, "p").encode()


@pytest.mark.parametrize(("keys", "drained"), [("from_parameters", True), ("random", False)])
def test_attacker_drains_wallets_only_when_keys_come_from_public_weights(keys: str, drained: bool) -> None:
    model = CooperationModel({"n_humans": 6, "n_ais": 6, "keys": keys, "public_weights": 1.0, "attacker": True,
                              "votes_per_round": 0}, rng=4)
    for _ in range(3):
        model.step()
    attacker = model.society.state.accounts[model.society.attacker.id_hash]
    if drained:
        assert model.counts["thefts"] > 0 and attacker.balance > 0
    else:
        assert model.counts["thefts"] == 0 and attacker.balance == 0
        assert model.counts["rejected"] >= 6  # each attempt is on the chain as rejected: bad signature
        reasons = {t["reason"] for b in model.ledger.latest_blocks(3) for t in b["transactions"]}
        assert "bad signature" in reasons
    assert model.ledger.verify().blocks == model.ledger.height()


# --- tampering, truncation, resume ----------------------------------------------------------


@pytest.fixture(scope="module")
def stored_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chain") / "chain.sqlite"
    model = CooperationModel({"n_humans": 5, "n_ais": 4, "ledger_path": str(path), "votes_per_round": 1,
                              "whitewash_rate": 0.5, "initial_cooperation": 0.3}, rng=9)
    for _ in range(4):
        model.step()
    model.ledger.close()
    return path


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_is_detected(stored_chain: Path, tmp_path: Path, data: st.DataObject) -> None:
    db = sqlite3.connect(stored_chain)
    rows = db.execute("SELECT height, data FROM blocks ORDER BY height").fetchall()
    db.close()
    height = data.draw(st.integers(0, len(rows) - 1), label="block")
    blob = bytearray(rows[height][1])
    offset = data.draw(st.integers(0, len(blob) - 1), label="offset")
    blob[offset] ^= data.draw(st.integers(1, 255), label="xor")
    copy = tmp_path / f"tampered-{height}-{offset}.sqlite"
    copy.write_bytes(stored_chain.read_bytes())
    db = sqlite3.connect(copy)
    with db:
        db.execute("UPDATE blocks SET data = ? WHERE height = ?", (bytes(blob), height))
    db.close()
    with pytest.raises(LedgerError) as info:
        Ledger.open(copy)
    assert info.value.height == height and f"block {height}" in str(info.value)


def test_bytes_altered_in_the_sqlite_file_are_detected(stored_chain: Path, tmp_path: Path) -> None:
    raw = bytearray(stored_chain.read_bytes())
    ledger = Ledger.open(stored_chain)
    target = ledger.latest_blocks(3)[-1]
    ledger.close()
    marker = f'"merkle_root":"{target["header"]["merkle_root"]}"'.encode()
    where = raw.find(marker)
    assert where > 0
    raw[where + len(marker) - 5] ^= 0x01
    copy = tmp_path / "altered.sqlite"
    copy.write_bytes(bytes(raw))
    with pytest.raises(LedgerError, match=f"block {target['header']['height']}: its (hash|Merkle root)"):
        Ledger.open(copy)


def test_upper_case_signature_hex_is_detected(stored_chain: Path, tmp_path: Path) -> None:
    """A one-byte change 'a' -> 'A' in the block signature's hex would decode to the same signature bytes."""
    db = sqlite3.connect(stored_chain)
    data = db.execute("SELECT data FROM blocks WHERE height = 2").fetchone()[0]
    db.close()
    start = data.find(b'"signature":"') + len(b'"signature":"')
    offset = next(k for k in range(start, start + 128) if data[k:k + 1] in b"abcdef")
    copy = tmp_path / "upper.sqlite"
    copy.write_bytes(stored_chain.read_bytes())
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE blocks SET data = ? WHERE height = 2", (data[:offset] + data[offset:offset + 1].upper()
                                                                   + data[offset + 1:],))
    with pytest.raises(LedgerError, match="block 2: its signature is not in canonical"):
        Ledger.open(copy)


def test_truncated_database_is_reported(stored_chain: Path, tmp_path: Path) -> None:
    raw = stored_chain.read_bytes()
    copy = tmp_path / "truncated.sqlite"
    copy.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(LedgerError, match=r"truncated\.sqlite: not a readable SQLite database \(truncated or corrupt"):
        Ledger.open(copy)
    with pytest.raises(LedgerError, match="no such file"):
        Ledger.open(tmp_path / "absent.sqlite")


RUNNER = textwrap.dedent("""
    import sys, time
    from models.cooperation.model import CooperationModel
    model = CooperationModel(dict(PARAMS, ledger_path=sys.argv[1]), rng=21)
    while model.steps < ROUNDS:
        model.step()
        time.sleep(0.02)
""")
RESUME_PARAMS = {"n_humans": 6, "n_ais": 5, "copies": 2, "votes_per_round": 1, "whitewash_rate": 0.4,
                 "proposal_every": 3, "initial_cooperation": 0.4, "update_rule": "fermi", "revision_rate": 0.5}
ROUNDS = 30


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_chain(tmp_path: Path) -> None:
    whole = CooperationModel(dict(RESUME_PARAMS, ledger_path=str(tmp_path / "whole.sqlite")), rng=21)
    while whole.steps < ROUNDS:
        whole.step()
    killed = tmp_path / "killed.sqlite"
    script = RUNNER.replace("PARAMS", repr(RESUME_PARAMS)).replace("ROUNDS", str(ROUNDS))
    proc = subprocess.Popen([sys.executable, "-c", script, str(killed)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if killed.exists():
                try:
                    with sqlite3.connect(killed) as db:
                        if db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] >= 10:
                            break
                except sqlite3.OperationalError:
                    pass
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    resumed = CooperationModel.resume(str(killed))
    assert 8 <= resumed.steps < ROUNDS
    while resumed.steps < ROUNDS:
        resumed.step()
    assert resumed.ledger.head == whole.ledger.head
    np.testing.assert_array_equal(resumed.strategy, whole.strategy)
    np.testing.assert_array_equal(resumed.society.wallet, whole.society.wallet)


def test_resume_refuses_a_chain_without_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "bare.sqlite"
    Ledger(path, random_key(np.random.default_rng(0))).close()
    with pytest.raises(LedgerError, match="no checkpoint to resume from"):
        CooperationModel.resume(str(path))
    with pytest.raises(LedgerError, match="already holds a chain"):
        Ledger(path, random_key(np.random.default_rng(0)))


def test_verify_holds_the_kept_balances_to_the_chains_replay() -> None:
    model = CooperationModel({"n_humans": 4, "n_ais": 3, "votes_per_round": 1}, rng=3)
    for _ in range(3):
        model.step()
    model.society.verify((model.summary()["head_height"], model.summary()["head"]))
    victim = model.identities[2].id_hash
    model.society.state.accounts[victim].balance += 1
    with pytest.raises(LedgerError, match=f"account {victim[:12]} has balance"):
        model.society.verify()


def test_ledger_command_verifies_and_shows(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from optiscape.cli import main

    path = tmp_path / "run.sqlite"
    model = CooperationModel({"n_humans": 4, "n_ais": 3, "ledger_path": str(path)}, rng=3)
    for _ in range(3):
        model.step()
    summary = model.summary()
    model.ledger.close()
    head = f"{summary['head_height']}:{summary['head']}"
    assert main(["ledger", "verify", str(path), "--head", head]) == 0
    assert capsys.readouterr().out.startswith(f"valid: 5 blocks, head {head}")
    assert main(["ledger", "show", str(path), "--out", str(tmp_path / "tables")]) == 0
    out = capsys.readouterr().out
    assert all(f"\n{name}" in out for name in ("blocks", "transactions", "identities", "balances"))
    assert len(pd.read_parquet(tmp_path / "tables" / "balances.parquet")) == 4 + 3 + 1  # and the protocol
    assert main(["ledger", "show", str(path), "--out", str(tmp_path / "tables")]) == 0  # its own folder: replaced
    capsys.readouterr()
    (tmp_path / "tables" / "notes.txt").write_text("mine")
    assert main(["ledger", "show", str(path), "--out", str(tmp_path / "tables")]) == 2  # another file: refused
    assert "a folder holding other files" in capsys.readouterr().err
    assert (tmp_path / "tables" / "notes.txt").read_text() == "mine"
    assert main(["ledger", "verify", str(path), "--head", f"{summary['head_height'] + 1}:{summary['head']}"]) == 1
    assert "not at the recorded head" in capsys.readouterr().out
    with sqlite3.connect(path) as db:
        db.execute("UPDATE blocks SET data = CAST(data AS TEXT) WHERE height = 2")
    assert main(["ledger", "verify", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "block 2: its data is stored as str" in lines[0]
    assert main(["ledger", "show", str(tmp_path / "absent.sqlite")]) == 2
    assert "no such readable file" in capsys.readouterr().err
