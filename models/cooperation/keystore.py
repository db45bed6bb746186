"""The run's private keys, kept apart from its ledger (which holds public keys only).

A ledger stored at PATH has its key store at PATH.keys: a JSON file written with owner-only permissions
(0600) and replaced atomically with every checkpoint. It holds one snapshot per checkpoint, for the two newest:
the protocol's key, every identity's key and weights (an AI's parameters are its own: with keys from
parameters, whoever has them has the key), the attacker's key, and the key stream's state. Two, because a run
killed between writing this file and sealing the block resumes from the checkpoint before. Each checkpoint
records the SHA-256 of its snapshot, and the protocol signs the checkpoint, so an edited snapshot is caught on
resume. Resuming needs this file; verifying the ledger does not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from models.cooperation.ledger import LedgerError, canonical, sha256

SNAPSHOT_FIELDS = frozenset({"protocol", "attacker", "identities", "key_stream"})


def keystore_path(ledger_path: str | Path) -> Path:
    """Where the key store of the ledger at `ledger_path` lives: beside it, with `.keys` appended."""
    return Path(f"{ledger_path}.keys")


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    """The SHA-256 (hex) a checkpoint records of its key snapshot."""
    return sha256(canonical(snapshot))


def write_keys(path: Path, snapshots: dict[int, dict[str, Any]]) -> None:
    """Replace the key store at `path` by `snapshots` (block height -> snapshot), readable by its owner only."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover temporary file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps({str(height): snapshot for height, snapshot in snapshots.items()}))
    os.replace(temporary, path)


def read_keys(path: Path) -> dict[int, dict[str, Any]]:
    """The key store at `path` (block height -> snapshot); LedgerError if missing, or not exactly as written."""
    try:
        text = path.read_text(encoding="utf-8")
        store = json.loads(text)
    except FileNotFoundError:
        raise LedgerError(f"key store {path}: no such file (resuming needs the run's keys)") from None
    except (OSError, ValueError) as exc:
        raise LedgerError(f"key store {path}: unreadable ({type(exc).__name__}: {exc})") from None
    # Rewriting must give the same text, so no edit hides in what parsing forgives (case of hex digits, spacing).
    if not isinstance(store, dict) or json.dumps(store) != text or not all(
            key.isdigit() and isinstance(s, dict) and set(s) == SNAPSHOT_FIELDS for key, s in store.items()):
        raise LedgerError(f"key store {path}: not a key store as the run writes it (altered)")
    return {int(height): snapshot for height, snapshot in store.items()}
