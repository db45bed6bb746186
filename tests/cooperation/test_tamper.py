"""The tamper suite: edits of a stored run's ledger and key store, every one caught as a LedgerError.

A ledger edit is caught when `Ledger.open(file, head=recorded head)` refuses the file (or, for an edit that
leaves a valid chain, the resume refuses it); a key-store edit when `CooperationModel.resume` refuses it.
Anything else (a traceback, an edit that goes through) fails the suite. The counts are printed (pytest -s).
"""

from __future__ import annotations

import io
import json
import random
import re
import sqlite3
import stat
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from nacl.signing import SigningKey

from models.cooperation.keystore import keystore_path
from models.cooperation.ledger import Ledger, LedgerError, Transaction, block_hash, canonical, leaf_bytes, merkle_root
from models.cooperation.model import CooperationModel

PARAMS = {"n_humans": 5, "n_ais": 4, "votes_per_round": 1, "whitewash_rate": 0.5, "initial_cooperation": 0.3,
          "proposal_every": 2, "attacker": True, "public_weights": 0.5, "tax_rate": 0.2}
ROUNDS, RANDOM_FLIPS, PAGE_HEADER = 4, 300, 8


class Run:
    """A finished run's ledger file, key store and recorded head."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "chain.sqlite"
        model = CooperationModel({**PARAMS, "ledger_path": str(self.path)}, rng=9)
        for _ in range(ROUNDS):
            model.step()
        summary = model.summary()
        self.head = (summary["head_height"], summary["head"])
        self.public_keys = {a.public_key for a in model.ledger.state.accounts.values()}
        model.ledger.close()
        self.raw = self.path.read_bytes()
        self.keys = keystore_path(self.path).read_bytes()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run(tmp_path_factory.mktemp("tamper"))


def _copy(run: Run, folder: Path, name: str, raw: bytes | None = None, keys: bytes | None = None) -> Path:
    path = folder / f"{name}.sqlite"
    path.write_bytes(run.raw if raw is None else raw)
    keystore_path(path).write_bytes(run.keys if keys is None else keys)
    return path


def _caught(path: Path, head: tuple[int, str]) -> str:
    """Which check refused the file: "verify", "resume", or "" when both accepted it."""
    try:
        Ledger.open(path, head=head).close()
    except LedgerError:
        return "verify"
    try:
        CooperationModel.resume(str(path)).ledger.close()
    except LedgerError:
        return "resume"
    return ""


def _sql(*statements: str, vacuum: bool = False) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        db = sqlite3.connect(path)
        with db:
            for statement in statements:
                db.execute(statement)
        if vacuum:
            db.execute("VACUUM")
        db.close()
    return edit


def _block_edit(height: int, change: Callable[[dict], None]) -> Callable[[Path], None]:
    """Rewrite block `height` as canonical JSON after `change`, as an attacker without the protocol key can."""
    def edit(path: Path) -> None:
        db = sqlite3.connect(path)
        block = json.loads(db.execute("SELECT data FROM blocks WHERE height = ?", (height,)).fetchone()[0])
        change(block)
        with db:
            db.execute("UPDATE blocks SET data = ? WHERE height = ?", (canonical(block), height))
        db.close()
    return edit


def _forge_checkpoint(path: Path) -> None:
    """The attack report's forgery: every strategy 0 and the tax 0.99 in the newest checkpoint."""
    db = sqlite3.connect(path)
    height, blob = db.execute("SELECT height, data FROM checkpoints ORDER BY height DESC LIMIT 1").fetchone()
    arrays = dict(np.load(io.BytesIO(blob)))
    meta = json.loads(arrays["meta"].tobytes())
    meta["tax"] = meta["round_tax"] = 0.99
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    arrays["strategy"] = np.zeros_like(arrays["strategy"])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with db:
        db.execute("UPDATE checkpoints SET data = ? WHERE height = ?", (buffer.getvalue(), height))
    db.close()


def _rebuild_without(height: int) -> Callable[[Path], None]:
    """Copy every row below `height` into a fresh file made as a ledger is: a clean cut, caught by the head."""
    def edit(path: Path) -> None:
        old = sqlite3.connect(path)
        blocks = old.execute("SELECT height, data FROM blocks WHERE height < ?", (height,)).fetchall()
        checkpoints = old.execute("SELECT * FROM checkpoints WHERE height < ?", (height,)).fetchall()
        old.close()
        path.unlink()
        db = sqlite3.connect(path)
        with db:
            for sql in Ledger.TABLES.values():
                db.execute(sql)
            db.executemany("INSERT INTO blocks VALUES (?, ?)", blocks)
            db.executemany("INSERT INTO checkpoints VALUES (?, ?, ?)", checkpoints)
        db.close()
    return edit


def _drop_transactions(block: dict) -> None:
    """Drop 5 transactions and re-seal the header (hash recomputed; the signature cannot be, without the key)."""
    del block["transactions"][-5:]
    leaves = [leaf_bytes(Transaction.from_record(r), r["status"], r["reason"]) for r in block["transactions"]]
    block["header"]["merkle_root"] = merkle_root(leaves)
    block["hash"] = block_hash(block["header"])


def _set(path: list, value: object) -> Callable[[dict], None]:
    def change(block: dict) -> None:
        target = block
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _ledger_edits(run: Run) -> dict[str, Callable[[Path], None]]:
    last = run.head[0]
    edits: dict[str, Callable[[Path], None]] = {
        "data cast to text": _sql("UPDATE blocks SET data = CAST(data AS TEXT) WHERE height = 2"),
        "last block deleted": _sql(f"DELETE FROM blocks WHERE height = {last}"),
        "last block deleted, vacuumed": _sql(f"DELETE FROM blocks WHERE height = {last}", vacuum=True),
        "middle block deleted": _sql("DELETE FROM blocks WHERE height = 2", vacuum=True),
        "last block renumbered": _sql(f"UPDATE blocks SET height = 99 WHERE height = {last}"),
        "two blocks swapped": _sql("UPDATE blocks SET height = -1 WHERE height = 2",
                                   "UPDATE blocks SET height = 2 WHERE height = 3",
                                   "UPDATE blocks SET height = 3 WHERE height = -1"),
        "junk block appended": _sql(f"INSERT INTO blocks VALUES ({last + 1}, x'7b7d')"),
        "copy of a block appended": _sql(f"INSERT INTO blocks SELECT {last + 1}, data FROM blocks WHERE height = 2"),
        "table added": _sql("CREATE TABLE notes (text TEXT)"),
        "user_version set": _sql("PRAGMA user_version = 1"),
        "checkpoint forged (strategies 0, tax 0.99)": _forge_checkpoint,
        "checkpoint cast to text": _sql(f"UPDATE checkpoints SET data = CAST(data AS TEXT) WHERE height = {last}"),
        "checkpoint signature of another": _sql(
            f"UPDATE checkpoints SET signature = (SELECT signature FROM checkpoints WHERE height = 2) "
            f"WHERE height = {last}"),
        "checkpoint signature upper-cased": _sql(f"UPDATE checkpoints SET signature = upper(signature) "
                                                 f"WHERE height = {last}"),
        "checkpoint moved to another block": _sql(f"DELETE FROM checkpoints WHERE height = {last - 1}",
                                                  f"UPDATE checkpoints SET height = {last - 1} WHERE height = {last}",
                                                  vacuum=True),
        "older checkpoint copied over the newest": _sql(
            f"UPDATE checkpoints SET data = (SELECT data FROM checkpoints WHERE height = 2) WHERE height = {last}"),
        "newest checkpoint deleted, vacuumed": _sql(f"DELETE FROM checkpoints WHERE height = {last}", vacuum=True),
        "5 transactions dropped, Merkle root and hash recomputed": _block_edit(last, _drop_transactions),
    }
    for height in range(1, last + 1):
        for name, change in {"round": _set(["header", "round"], 99), "prev": _set(["header", "prev"], "0" * 64),
                             "amount": _set(["transactions", 1, "payload", "amount"], 1),
                             "status": _set(["transactions", 0, "status"], "rejected"),
                             "reason": _set(["transactions", 0, "reason"], "overdraft"),
                             "extra field": _set(["note"], "hello"),
                             "order": lambda b: b["transactions"].reverse()}.items():
            edits[f"block {height} JSON: {name}"] = _block_edit(height, change)
    for height in range(1, last + 1):
        edits[f"truncated to block {height - 1} (with its checkpoints), vacuumed"] = _sql(
            f"DELETE FROM blocks WHERE height >= {height}", f"DELETE FROM checkpoints WHERE height >= {height}",
            vacuum=True)
    for height in range(1, last + 1):
        edits[f"rebuilt in a fresh file up to block {height - 1}"] = _rebuild_without(height)
    return edits


def _flip(offset: int, bit: int) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        changed = bytearray(raw)
        changed[offset] ^= 1 << bit
        return bytes(changed)
    return edit


def _flips(run: Run) -> dict[str, Callable[[bytes], bytes]]:
    """300 bits sampled over the whole file, plus one bit of every byte of each page's header region."""
    rng = random.Random(21)
    flips = {f"bit {b}": _flip(b // 8, b % 8) for b in rng.sample(range(len(run.raw) * 8), RANDOM_FLIPS)}
    page_size = int.from_bytes(run.raw[16:18], "big")
    for start in range(0, len(run.raw), page_size):
        top = start + (100 if start == 0 else 0)
        for offset in [*range(start, top), *range(top, top + PAGE_HEADER)]:
            flips[f"header byte {offset}"] = _flip(offset, offset % 8)
    return flips


def _key_edits(run: Run) -> dict[str, Callable[[bytes], bytes]]:
    store = json.loads(run.keys)
    newest, older = max(store, key=int), min(store, key=int)

    def change(edit: Callable[[dict], None]) -> Callable[[bytes], bytes]:
        def apply(_: bytes) -> bytes:
            changed = json.loads(run.keys)
            edit(changed)
            return json.dumps(changed).encode()
        return apply

    some_id = next(iter(store[newest]["identities"]))
    other_key = SigningKey(bytes(32)).encode().hex()
    edits = {
        "protocol key replaced": change(lambda s: s[newest].update(protocol=other_key)),
        "an identity's key replaced": change(lambda s: s[newest]["identities"][some_id].update(key=other_key)),
        "an identity removed": change(lambda s: s[newest]["identities"].pop(some_id)),
        "a weight changed": change(lambda s: s[newest]["identities"][next(
            i for i, v in s[newest]["identities"].items() if v["parameters"])]["parameters"].__setitem__(0, 0.5)),
        "key stream state changed": change(lambda s: s[newest]["key_stream"]["state"].update(state=1)),
        "older snapshot's key stream changed": change(lambda s: s[older]["key_stream"]["state"].update(state=1)),
        "attacker key replaced": change(lambda s: s[newest].update(attacker=other_key)),
        "newest snapshot removed": change(lambda s: s.pop(newest)),
        "snapshot renumbered": change(lambda s: s.update({str(int(newest) + 5): s.pop(newest)})),
        "first 'a' upper-cased (hex parses either way)": lambda raw: raw.replace(b"a", b"A", 1),
        "emptied": lambda raw: b"",
        "not JSON": lambda raw: raw[: len(raw) // 2],
    }
    rng = random.Random(5)
    for b in rng.sample(range(len(run.keys) * 8), 40):
        edits[f"bit {b}"] = _flip(b // 8, b % 8)
    return edits


def _content(path: Path) -> list[str]:
    """Every row of the ledger file, as SQL (what any reader of the file can see)."""
    with closing(sqlite3.connect(path)) as db:
        return list(db.iterdump())


def test_tamper_suite_detects_every_edit(run: Run, tmp_path: Path) -> None:
    Ledger.open(run.path, head=run.head).close()  # the untouched run verifies
    counts: dict[str, list[int]] = {}
    missed: list[str] = []

    def record(kind: str, name: str, caught: str) -> None:
        counts.setdefault(kind, [0, 0])
        counts[kind][0] += bool(caught)
        counts[kind][1] += 1
        if not caught:
            missed.append(f"{kind}: {name}")

    content = _content(run.path)
    unread = 0
    for name, edit in _flips(run).items():
        path = _copy(run, tmp_path, "flip", raw=edit(run.raw))
        try:
            Ledger.open(path, head=run.head).close()
        except LedgerError:
            record("bit flips in the ledger file", name, "verify")
            continue
        if _content(path) == content:  # the flip landed in space SQLite never reads: no row changed
            unread += 1
        else:
            record("bit flips in the ledger file", name, "")
    for name, edit in _ledger_edits(run).items():
        path = _copy(run, tmp_path, "edit")
        edit(path)
        record("row, JSON, checkpoint and truncation edits", name, _caught(path, run.head))
    for name, edit in _key_edits(run).items():
        path = _copy(run, tmp_path, "keys", keys=edit(run.keys))
        try:
            CooperationModel.resume(str(path)).ledger.close()
            record("key-store edits", name, "")
        except LedgerError:
            record("key-store edits", name, "resume")
    detected, total = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    for kind, (found, tried) in counts.items():
        print(f"  {kind}: {found} of {tried} detected")
    print(f"  bit flips in bytes SQLite never reads (every row unchanged, not counted): {unread}")
    print(f"tamper suite: {detected} of {total} edits detected")
    assert not missed, missed


def test_untouched_copy_resumes_and_verify_needs_no_key_store(run: Run, tmp_path: Path) -> None:
    path = _copy(run, tmp_path, "whole")
    keystore_path(path).unlink()
    report = Ledger.open(path, head=run.head).verify_report
    assert (report.blocks - 1, report.head) == run.head and report.checkpoints == run.head[0]
    with pytest.raises(LedgerError, match=r"key store .*: no such file"):
        CooperationModel.resume(str(path))
    path = _copy(run, tmp_path, "whole")
    resumed = CooperationModel.resume(str(path))
    resumed.step()
    resumed.society.verify()
    assert resumed.ledger.height() == run.head[0] + 2


def test_a_clean_cut_verifies_as_a_chain_but_not_against_the_recorded_head(run: Run, tmp_path: Path) -> None:
    path = _copy(run, tmp_path, "cut")
    _rebuild_without(run.head[0])(path)
    Ledger.open(path).close()  # a shorter chain is a valid chain: only the recorded head tells
    with pytest.raises(LedgerError, match=f"ends at block {run.head[0] - 1} .* not at the recorded head"):
        Ledger.open(path, head=run.head)


def test_key_store_is_owner_only_and_the_ledger_holds_no_private_key(run: Run) -> None:
    """Every 32-byte window of the ledger file (raw, and hex-decoded) is tried as an Ed25519 seed: none gives a
    listed public key. The same scan finds them in the key store, so it would find them where they leaked."""
    assert stat.S_IMODE(keystore_path(run.path).stat().st_mode) == 0o600

    def seeds(data: bytes) -> set[bytes]:
        found = {data[k:k + 32] for k in range(len(data) - 31)}
        for run_of_hex in re.finditer(rb"[0-9a-fA-F]{64,}", data):
            text = run_of_hex.group()
            found.update(bytes.fromhex(text[k:k + 64].decode()) for k in range(len(text) - 63))
        return found

    def derived(data: bytes) -> set[str]:
        return {SigningKey(seed).verify_key.encode().hex() for seed in seeds(data)} & run.public_keys

    assert derived(run.raw) == set()
    assert derived(run.keys) == run.public_keys


def test_resume_after_a_kill_between_the_key_store_and_the_block(run: Run, tmp_path: Path) -> None:
    """The key store is written just before its block is sealed: killed in between, the store is one snapshot
    ahead of the ledger, and the resume takes the snapshot of the newest checkpoint it has."""
    path = _copy(run, tmp_path, "killed")
    model = CooperationModel.resume(str(path))
    model.society.checkpoint(model.steps + 1)  # the next block's snapshot, whose block never comes
    model.ledger.close()
    resumed = CooperationModel.resume(str(path))
    assert (resumed.ledger.height() - 1, resumed.ledger.head) == run.head
    resumed.step()
    resumed.society.verify()
