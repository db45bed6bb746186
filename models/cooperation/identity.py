"""Hashed identities and their keys (Tunador (2023), §5, §7 and appendix A; see docs/ledger.md).

An AI's ID is BLAKE2b-256 of (architecture description, parameter bytes, prompt), each
length-prefixed so that no two different triples can give the same byte string. Identical
copies share the ID; any change of weights, even one ulp, gives a new ID (and so a new,
empty wallet). Parameters are hashed as little-endian float64 bytes with their shape, so
the ID does not depend on the machine's byte order or on the array's memory layout.

Keys come in two modes:
- "random": a fresh Ed25519 key, bound to the ID by a signed registration that a human
  validates (the paper's "human encrypted message"), and
- "from_parameters": the paper's own idea (appendix A), the key's seed is a hash of the same
  data as the ID. Anyone holding the public weights re-derives the private key (Tunador (2023), §7,
  "anyone with access to those could potentially recreate the AI's keys").
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

import numpy as np
from nacl.signing import SigningKey


def _chunk(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def parameter_bytes(parameters: np.ndarray) -> bytes:
    """The canonical bytes of a parameter vector: shape, then little-endian float64 values in C order."""
    array = np.asarray(parameters)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"parameters: expected a numeric array, got dtype {array.dtype}")
    values = np.ascontiguousarray(array, dtype="<f8")
    if not np.all(np.isfinite(values)):
        raise ValueError("parameters: expected finite numbers")
    shape = b"".join(struct.pack("<Q", d) for d in values.shape)
    return struct.pack("<Q", values.ndim) + shape + values.tobytes()


def _identity_message(architecture: str, parameters: np.ndarray, prompt: str) -> bytes:
    if not isinstance(architecture, str) or not isinstance(prompt, str):
        raise ValueError("architecture and prompt: expected text")
    return (b"optiscape-ai-id/1" + _chunk(architecture.encode()) + _chunk(parameter_bytes(parameters))
            + _chunk(prompt.encode()))


def ai_id(architecture: str, parameters: np.ndarray, prompt: str) -> str:
    """The AI's ID: BLAKE2b-256 (hex) of (architecture, parameter bytes, prompt)."""
    return hashlib.blake2b(_identity_message(architecture, parameters, prompt), digest_size=32).hexdigest()


def human_id(nonce: bytes) -> str:
    """A human's ID: BLAKE2b-256 (hex) of a registration nonce (stands in for a proof of personhood)."""
    return hashlib.blake2b(b"optiscape-human-id/1" + _chunk(nonce), digest_size=32).hexdigest()


def key_from_parameters(architecture: str, parameters: np.ndarray, prompt: str) -> SigningKey:
    """The paper's key derivation (appendix A): an Ed25519 key whose seed is a hash of the public model data.

    Deliberately insecure: whoever has the weights has the key (Tunador (2023), §7).
    """
    seed = hashlib.blake2b(b"optiscape-key/1" + _identity_message(architecture, parameters, prompt),
                           digest_size=32).digest()
    return SigningKey(seed)


def random_key(rng: np.random.Generator) -> SigningKey:
    """A random Ed25519 key drawn from `rng` (reproducible runs; a real wallet would use the OS's randomness)."""
    return SigningKey(rng.bytes(32))


@dataclass
class Identity:
    """One account: a human, or an AI (all its copies). `key` signs its transactions."""

    id_hash: str
    kind: str  # "human" or "ai"
    key: SigningKey
    architecture: str = ""
    parameters: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prompt: str = ""
    parent: str | None = None  # the ID this one mutated from, if any
    generation: int = 0
    public_weights: bool = False  # the attacker can read them (key_from_parameters theft)

    @property
    def public_key(self) -> str:
        return self.key.verify_key.encode().hex()
