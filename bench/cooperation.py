"""The cooperation world's hot paths: a game round for 10^5 players, whole rounds at 10^3..10^5 players, the ledger.

Game: rounds x players per second of one round (payoffs, utilities and the reinforcement rule's update), 10^5
players (60% humans), three ways on the same payoff table: the Cython kernel `_fastcore.game.play_round`, the
numpy variant `models.cooperation.game.play_round_numpy`, and the Mesa agents' reference step (`Player.receive` and
`Player.update`, agent by agent). The reinforcement rule is used because its draws are one per player, so the
numpy variant can take them in one batch and all three give the same strategies (checked, or run() raises).
The payoff table (f and g by the expression VM) is computed once per round outside the timing: it is four
values, whatever the number of players.

World: players per second of whole rounds (`CooperationModel.step`: the game, then the economy's payments, votes,
bans, whitewashing and proposals as transactions on the unsigned ledger) at 10^3, 10^4 and 10^5 players; a cost
linear in the players keeps the rate flat, and the ratio of the largest to the smallest scale is checked.

Ledger: a chain of TRANSACTIONS signed payments among ACCOUNTS accounts, in blocks of BLOCK. "append" is
`Ledger.submit` (checks the signature, the nonce and the balance, applies) plus `seal` (Merkle root, block hash,
protocol signature, the SQLite insert); signing is done beforehand and not timed. "verify" is `Ledger.verify()`
on the stored file: every block re-read, re-hashed and re-signed-checked, every transaction's signature verified
and replayed. "raw ed25519" is PyNaCl's `VerifyKey.verify` alone over (message, signature) pairs of the same
chain (the first 20,000): the floor verification cannot beat. These two are rated per CPU second of this
process, so that a busy machine skews neither; the wall time to verify the whole chain is printed.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from nacl.signing import VerifyKey

from _fastcore import game as kernel
from models.cooperation.game import play_round_numpy
from models.cooperation.identity import human_id, random_key
from models.cooperation.ledger import Ledger, Transaction
from models.cooperation.model import CooperationModel

PLAYERS, ROUNDS, AGENT_ROUNDS = 100_000, 40, 2
TRANSACTIONS = int(os.environ.get("OPTISCAPE_BENCH_LEDGER_TX", "1000000"))
ACCOUNTS, BLOCK = 1000, 1000
SCALES, WORLD_ROUNDS = (1_000, 10_000, 100_000), 3
GAME, LEDGER, WORLD = "cooperation.game_round_1e5", "cooperation.ledger", "cooperation.world_round"
RATIOS = [(GAME, "kernel", "numpy", 3.0), (GAME, "kernel", "mesa agents", 100.0),
          (LEDGER, "verify", "raw ed25519", 1 / 1.5), (WORLD, "1e5 players", "1e3 players", 0.5)]


def _model() -> CooperationModel:
    return CooperationModel({"n_humans": PLAYERS * 6 // 10, "n_ais": PLAYERS * 4 // 10, "ledger": "off",
                             "update_rule": "reinforcement", "agent_objects": True}, rng=11)


def _time_rounds(model: CooperationModel, rounds: int, play) -> float:
    seconds = 0.0
    for _ in range(rounds):
        model.steps += 1
        table = model.game.payoff_table(model.steps)
        model.game.previous_strategy = model.strategy.copy()
        started = time.perf_counter()
        play(model, table)
        seconds += time.perf_counter() - started
    return seconds


def _kernel(model: CooperationModel, table: np.ndarray) -> None:
    p = model.params
    kernel.play_round(model.strategy, model.propensity, model.active, model.payoff, model.utility, table,
                      model.n_humans, model.rng, model.game.rule_code, p.revision_rate, p.noise,
                      p.imitation_temperature,
                      p.learning_rate, p.reinforcement_scale)


def _numpy(model: CooperationModel, table: np.ndarray) -> None:
    play_round_numpy(model.game, table)


def _agents(model: CooperationModel, table: np.ndarray) -> None:
    totals, counts = [0.0, 0.0], [0, 0]
    for player in model.players:
        player.receive(table, totals, counts)
    for player in model.players:
        player.update(table, totals, counts)


def _game() -> list[dict]:
    rows, finals = [], {}
    for variant, play, rounds in (("kernel", _kernel, ROUNDS), ("numpy", _numpy, ROUNDS),
                                  ("mesa agents", _agents, AGENT_ROUNDS)):
        model = _model()
        seconds = _time_rounds(model, rounds, play)
        finals[variant] = (rounds, model.strategy.copy(), model.propensity.copy())
        rows.append({"benchmark": GAME, "variant": variant, "rate": rounds * PLAYERS / seconds,
                     "unit": "player-rounds/s", "seconds": seconds})
    if not np.array_equal(finals["kernel"][1], finals["numpy"][1]):
        raise AssertionError("the kernel and the numpy variant disagree after the same rounds")
    check = _model()
    _time_rounds(check, AGENT_ROUNDS, _kernel)
    if not np.array_equal(check.strategy, finals["mesa agents"][1]):
        raise AssertionError("the kernel and the Mesa agents disagree after the same rounds")
    return rows


def _world() -> list[dict]:
    """Whole rounds (game, economy, votes, bans, whitewashing, proposals) on the unsigned ledger, at each scale."""
    rows = []
    for players in SCALES:
        model = CooperationModel({"n_humans": players * 6 // 10, "n_ais": players * 4 // 10, "ledger": "unsigned",
                                  "whitewash_rate": 0.1, "proposal_every": 2, "agent_objects": False}, rng=3)
        started = time.perf_counter()
        for _ in range(WORLD_ROUNDS):
            model.step()
        seconds = time.perf_counter() - started
        rate = WORLD_ROUNDS * players / seconds
        rows.append({"benchmark": WORLD, "variant": f"1e{len(str(players)) - 1} players", "rate": rate,
                     "unit": "player-rounds/s", "seconds": seconds, "players": players})
        print(f"  world round, {players:>7,} players: {rate:>10,.0f} players/s, {1e6 / rate:.1f} µs per player")
    return rows


def _ledger(path: Path) -> tuple[list[dict], float]:
    rng = np.random.default_rng(5)
    keys = [random_key(rng) for _ in range(ACCOUNTS)]
    ids = [human_id(k.verify_key.encode()) for k in keys]
    ledger = Ledger(path, random_key(rng))
    for key, ident in zip(keys, ids, strict=True):
        ledger.submit(Transaction.signed(key, "register", ident, 0, {"id": ident, "kind": "human",
                                                                    "public_key": key.verify_key.encode().hex()}))
        ledger.protocol("mint", {"to": ident, "amount": 10**12})
    ledger.seal(0)
    nonces = [1] * ACCOUNTS
    senders = rng.integers(ACCOUNTS, size=TRANSACTIONS)
    receivers = rng.integers(ACCOUNTS, size=TRANSACTIONS)
    append_seconds = 0.0
    pairs: list[tuple[bytes, bytes, bytes]] = []
    for start in range(0, TRANSACTIONS, BLOCK):
        batch = []
        for k in range(start, min(start + BLOCK, TRANSACTIONS)):
            s = int(senders[k])
            batch.append(Transaction.signed(keys[s], "pay", ids[s], nonces[s], {"to": ids[int(receivers[k])],
                                                                                "amount": 1 + k % 7}))
            nonces[s] += 1
        if len(pairs) < 20_000:
            pairs.extend((ledger.state.accounts[tx.sender].public_key, tx.message(), bytes.fromhex(tx.signature))
                         for tx in batch)
        started = time.perf_counter()
        for tx in batch:
            ledger.submit(tx)
        ledger.seal(start // BLOCK + 1)
        append_seconds += time.perf_counter() - started
    if ledger.count["rejected"]:
        raise AssertionError(f"{ledger.count['rejected']} benchmark transactions were rejected")
    ledger.close()
    verify_keys = {pub: VerifyKey(bytes.fromhex(pub)) for pub, _, _ in pairs}

    def raw() -> float:
        started = time.process_time()
        for pub, message, signature in pairs:
            verify_keys[pub].verify(message, signature)
        return time.process_time() - started

    # Verification and the raw rate are compared in CPU seconds of this process (both are single-threaded and
    # CPU-bound), so that other processes on a busy machine do not skew the ratio; wall time is printed too.
    raw_before = raw()
    started, cpu_started = time.perf_counter(), time.process_time()
    report = Ledger.open(path).verify_report  # opening a chain verifies it in full
    verify_seconds, verify_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    raw_seconds = min(raw_before, raw())
    total = report.accepted
    rows = [
        {"benchmark": LEDGER, "variant": "append", "rate": TRANSACTIONS / append_seconds, "unit": "tx/s",
         "seconds": append_seconds},
        {"benchmark": LEDGER, "variant": "verify", "rate": total / verify_cpu, "unit": "tx/CPU-s",
         "seconds": verify_seconds, "cpu_seconds": verify_cpu, "transactions": total},
        {"benchmark": LEDGER, "variant": "raw ed25519", "rate": len(pairs) / raw_seconds, "unit": "verifies/CPU-s",
         "cpu_seconds": raw_seconds},
    ]
    return rows, verify_seconds


def run() -> list[dict]:
    rows = _game() + _world()
    with tempfile.TemporaryDirectory() as folder:
        ledger_rows, verify_seconds = _ledger(Path(folder) / "bench.sqlite")
    print(f"  verified a chain of {ledger_rows[1]['transactions']:,} transactions in {verify_seconds:.1f} s "
          "(Ledger.open + verify: bytes, hashes, Merkle roots, block and transaction signatures, replay)")
    return rows + ledger_rows
