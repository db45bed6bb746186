"""Entropy-based measures of optimization on finite systems ("Defining Optimization in a Deeper
Way", Parts 1-2; see docs/causal.md).

Two parts A and B with finite states; the dynamics F maps each joint state (a, b) to the next
(a', b'). Distributions are |A| x |B| arrays. The pushforward moves probability along F, the
decorrelation D(P) is the product of P's marginals, and entropies are in bits with 0 log 0 = 0.
- Optimizing strength (Part 1): OS(P) = H(F#D(P)) - H(F#P).
- Adjusted optimizing-ness (Part 2), for a product P_{t-1}: with P_t = F#P_{t-1},
  Adj = OS(P_t) - [H(D(P_t)) - H(P_t)].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DISTRIBUTION_TOLERANCE = 1e-9


@dataclass(frozen=True)
class FiniteSystem:
    """Parts A and B with named states, and the dynamics as a table: next_state[i, j] = (i', j')."""

    states_a: tuple[str, ...]
    states_b: tuple[str, ...]
    next_state: np.ndarray  # (|A|, |B|, 2) int

    @classmethod
    def from_rules(cls, states_a: Sequence[str], states_b: Sequence[str],
                   a_next: Mapping[str, Mapping[str, str]], b_next: Mapping[str, Mapping[str, str]]) -> FiniteSystem:
        """a_next[b][a] is A's next state given B's state b (the essay's O^R[b]); b_next[a][b] is B's (O^T[a])."""
        table = np.zeros((len(states_a), len(states_b), 2), dtype=np.int64)
        for i, a in enumerate(states_a):
            for j, b in enumerate(states_b):
                try:
                    table[i, j] = (states_a.index(a_next[b][a]), states_b.index(b_next[a][b]))
                except (KeyError, ValueError) as exc:
                    raise ValueError(f"the rules do not give a next state for ({a}, {b}): {exc}") from None
        return cls(tuple(states_a), tuple(states_b), table)

    def check(self, P: np.ndarray) -> np.ndarray:
        """P as a float array of the system's shape, or a ValueError saying what is wrong."""
        P = np.asarray(P, dtype=np.float64)
        shape = (len(self.states_a), len(self.states_b))
        if P.shape != shape:
            raise ValueError(f"distribution: expected shape {shape} (|A| x |B|), got {P.shape}")
        if np.any(P < 0) or not np.all(np.isfinite(P)):
            raise ValueError("distribution: expected non-negative finite probabilities")
        if abs(P.sum() - 1.0) > DISTRIBUTION_TOLERANCE:
            raise ValueError(f"distribution: expected probabilities summing to 1, got {P.sum():.12g}")
        return P

    def pushforward(self, P: np.ndarray) -> np.ndarray:
        """F#P: (F#P)[F(a, b)] += P[a, b]."""
        P = self.check(P)
        out = np.zeros_like(P)
        np.add.at(out, (self.next_state[..., 0].ravel(), self.next_state[..., 1].ravel()), P.ravel())
        return out


def decorrelate(P: np.ndarray) -> np.ndarray:
    """D(P) = outer(marginal of A, marginal of B)."""
    P = np.asarray(P, dtype=np.float64)
    return np.outer(P.sum(axis=1), P.sum(axis=0))


def entropy_bits(P: np.ndarray) -> float:
    """Shannon entropy in bits, with 0 log 0 = 0."""
    p = np.asarray(P, dtype=np.float64).ravel()
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def optimizing_strength(system: FiniteSystem, P: np.ndarray) -> float:
    """OS(P) = H(F#D(P)) - H(F#P), in bits (Part 1)."""
    P = system.check(P)
    return entropy_bits(system.pushforward(decorrelate(P))) - entropy_bits(system.pushforward(P))


def adjusted_optimizingness(system: FiniteSystem, previous: np.ndarray) -> float:
    """Adj = OS(P_t) - [H(D(P_t)) - H(P_t)] with P_t = F#P_{t-1}, for a product P_{t-1} (Part 2)."""
    previous = system.check(previous)
    if not np.allclose(previous, decorrelate(previous), atol=1e-12):
        raise ValueError("adjusted optimizing-ness starts from a product distribution P_{t-1} = P^A x P^B")
    current = system.pushforward(previous)
    mutual = entropy_bits(decorrelate(current)) - entropy_bits(current)
    return optimizing_strength(system, current) - mutual


# --- the essay's thermostats (Parts 1-2) -----------------------------------------------------------------------

THERMOSTAT = ("high", "low", "off")
ROOM = ("hot", "warm", "cold")
ROOM_NEXT = {  # O^T[thermostat state]: room -> next room
    "high": {"hot": "hot", "warm": "hot", "cold": "warm"},
    "low": {"hot": "hot", "warm": "warm", "cold": "cold"},
    "off": {"hot": "warm", "warm": "cold", "cold": "cold"},
}
DUMB = {  # O^R[room state]: thermostat -> next thermostat (the same for every thermostat state)
    "hot": dict.fromkeys(THERMOSTAT, "off"),
    "warm": dict.fromkeys(THERMOSTAT, "low"),
    "cold": dict.fromkeys(THERMOSTAT, "high"),
}
SMART = {  # the essay's code block: it turns down just before the room changes
    "hot": {"high": "off", "low": "off", "off": "low"},
    "warm": {"high": "low", "low": "low", "off": "low"},
    "cold": {"high": "low", "low": "high", "off": "high"},
}


def thermostat(smart: bool = False) -> FiniteSystem:
    """The essay's room-and-thermostat system, A = thermostat, B = room."""
    return FiniteSystem.from_rules(THERMOSTAT, ROOM, SMART if smart else DUMB, ROOM_NEXT)


def anti_diagonal() -> np.ndarray:
    """The essay's P0: (high, cold) = (low, warm) = (off, hot) = 1/3."""
    P = np.zeros((3, 3))
    P[0, 2] = P[1, 1] = P[2, 0] = 1 / 3
    return P


def epsilon_marginal(eps: float) -> np.ndarray:
    """m = (eps/2, 1 - eps, eps/2): the epsilon family's marginal (see docs/causal.md)."""
    if not 0 <= eps <= 1:
        raise ValueError(f"eps: expected 0 <= eps <= 1, got {eps}")
    return np.array([eps / 2, 1 - eps, eps / 2])


# --- the continuous linear thermostat (Part 2) ----------------------------------------------------------------


def linear_thermostat_map(k: float) -> np.ndarray:
    """The map (s^T, s^R) -> (s^R, s^R - k s^T) as a 2x2 matrix ("Defining Optimization in a Deeper Way", Part 2,
    "The Continuous Thermostat")."""
    return np.array([[0.0, 1.0], [-k, 1.0]])


def gaussian_entropy_bits(cov: np.ndarray) -> float:
    """Differential entropy of a normal distribution with covariance `cov`, in bits."""
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    sign, logdet = np.linalg.slogdet(2 * np.pi * np.e * cov)
    if sign <= 0:
        raise ValueError("covariance: expected a positive-definite matrix")
    return float(0.5 * logdet / np.log(2))


def adjusted_optimizingness_linear(M: np.ndarray, cov_previous: np.ndarray) -> float:
    """Adj for a linear map acting on a normal P_{t-1} (entropy = log det Cov), with decorrelation = diag(Cov).

    For an invertible map H(F#Q) = H(Q) + log2|det M| for every Q, so Adj is identically zero (see docs/causal.md).
    """
    M = np.asarray(M, dtype=np.float64)
    previous = np.asarray(cov_previous, dtype=np.float64)
    if not np.allclose(previous, np.diag(np.diag(previous))):
        raise ValueError("adjusted optimizing-ness starts from a product distribution: expected a diagonal covariance")
    current = M @ previous @ M.T
    decorrelated = np.diag(np.diag(current))
    strength = gaussian_entropy_bits(M @ decorrelated @ M.T) - gaussian_entropy_bits(M @ current @ M.T)
    return strength - (gaussian_entropy_bits(decorrelated) - gaussian_entropy_bits(current))


def square_image_corners(eps: float, k: float, centre: float = 10.0) -> np.ndarray:
    """Corners of the eps-square around (centre, centre) after one linear-thermostat step: a parallelogram."""
    signs = ((1, 1), (1, -1), (-1, -1), (-1, 1))
    corners = np.array([[centre + a * eps / 2, centre + b * eps / 2] for a, b in signs])
    return corners @ linear_thermostat_map(k).T
