"""The run's private keys, kept apart from its ledger (which holds public keys only).

A ledger stored at PATH has its key store at PATH.keys: one JSON object, written with owner-only permissions
(0600) and replaced atomically at every checkpoint, so it always covers the newest checkpoint in the ledger.
It holds the protocol's key, every identity's key and weights (an AI's parameters are its own: with keys from
parameters, whoever has them has the key), the attacker's key, and the key stream's state at the two newest
checkpoints (a run killed between writing this file and sealing the block resumes from the one before).
Resuming needs it; verifying the ledger does not. Whatever a resume reads from it is checked against the
verified ledger (`models.cooperation.society.Society.restore`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from models.cooperation.ledger import LedgerError


def keystore_path(ledger_path: str | Path) -> Path:
    """Where the key store of the ledger at `ledger_path` lives: beside it, with `.keys` appended."""
    return Path(f"{ledger_path}.keys")


def write_keys(path: Path, keys: dict[str, Any]) -> None:
    """Replace the key store at `path` by `keys`, readable and writable by its owner only."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover temporary file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(keys, out)
    os.replace(temporary, path)


def read_keys(path: Path) -> dict[str, Any]:
    """The key store at `path`; LedgerError if it is missing or not a key store."""
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LedgerError(f"key store {path}: no such file (resuming needs the run's keys)") from None
    except (OSError, ValueError) as exc:
        raise LedgerError(f"key store {path}: unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(keys, dict) or set(keys) != {"protocol", "attacker", "identities", "key_streams"}:
        raise LedgerError(f"key store {path}: not a key store (altered)")
    return keys
