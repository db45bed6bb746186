"""One round of the cooperation game for every player at once (Tunador (2023), §4.1; docs/cooperation.md).

Players are rows: humans 0..n_humans-1, then AIs. Strategy 1 is C (cooperate), 0 is A
(aggress). The payoffs of a round depend on the player's group (human or AI), its own
strategy and the population's state (C_t, A_t, r_t, s_t), so the model evaluates f and g
once per (group, strategy) and hands the kernel a 2 x 2 table: payoff[group, strategy].
Inactive (banned) players neither earn, draw, nor change.

Pass 1 gives every active player its payoff, adds it to its utility, and sums the payoffs of
each group (the reinforcement rule's aspiration level is its group's mean payoff).
Pass 2 updates strategies synchronously (every comparison uses the strategies at the start
of the round). Order of random draws, player 0..n-1, inactive players drawing nothing:

- best response (myopic): u1; if u1 < revision_rate the player revises: u2; if u2 < noise,
  u3 picks a random strategy (C if u3 < 0.5), else it takes the strategy with the higher
  payoff in its group's row of the table (a tie keeps its strategy).
- Fermi imitation: u1; if u1 < revision_rate: u2 picks a peer j of the same group other than
  itself (j = lo + floor(u2 * (size - 1)), shifted past itself), then u3; it copies j's
  strategy if j is active and u3 < 1 / (1 + exp(-(payoff_j - payoff_i) / temperature)). In a group of
  one player there is no peer: u1 and u2 are drawn, u3 is not.
- reinforcement (Bush-Mosteller): propensity p (of C) moves toward the strategy played when
  the stimulus s = clip((payoff - aspiration) / scale, -1, 1) is positive and away from it
  when negative, by learning_rate * s; then u1, and the strategy is C if u1 < p.
"""
from libc.math cimport exp
from libc.stdint cimport int8_t, int64_t
from numpy.random cimport bitgen_t

from _fastcore._bitgen cimport borrow_bitgen

import numpy as np

from _fastcore.arrays import check_array

cdef enum:
    BEST_RESPONSE = 0
    FERMI = 1
    REINFORCEMENT = 2

RULE_BEST_RESPONSE, RULE_FERMI, RULE_REINFORCEMENT = BEST_RESPONSE, FERMI, REINFORCEMENT
RULES = {"best_response": BEST_RESPONSE, "fermi": FERMI, "reinforcement": REINFORCEMENT}


def play_round(strategy, propensity, active, payoff_out, utility, payoff_table, Py_ssize_t n_humans, generator,
               int rule, double revision_rate=1.0, double noise=0.0, double temperature=1.0,
               double learning_rate=0.1, double scale=1.0):
    """Play one round in place: payoffs into `payoff_out`, added to `utility`; strategies updated by `rule`.

    strategy: (n,) int8, 1 = C, 0 = A. propensity: (n,) float64, P(C) for reinforcement (updated in place,
    untouched by the other rules). active: (n,) uint8. payoff_table: (2, 2) float64 [group (0 human, 1 AI),
    strategy]. Returns (cooperators after the update, switches) over active players.
    """
    check_array("strategy", strategy, np.int8, 1, writeable=True)
    cdef Py_ssize_t n = strategy.shape[0]
    check_array("propensity", propensity, np.float64, 1, n, writeable=True)
    check_array("active", active, np.uint8, 1, n, writeable=True)
    check_array("payoff_out", payoff_out, np.float64, 1, n, writeable=True)
    check_array("utility", utility, np.float64, 1, n, writeable=True)
    table = np.ascontiguousarray(payoff_table, dtype=np.float64)
    if table.shape != (2, 2) or not np.all(np.isfinite(table)):
        raise ValueError(f"payoff_table: expected a finite (2, 2) array [group, strategy], got shape {table.shape}")
    if not 0 <= n_humans <= n:
        raise ValueError(f"n_humans: expected 0..{n}, got {n_humans}")
    if rule not in (BEST_RESPONSE, FERMI, REINFORCEMENT):
        raise ValueError(f"rule: expected 0 (best response), 1 (Fermi) or 2 (reinforcement), got {rule}")
    if not 0.0 <= revision_rate <= 1.0 or not 0.0 <= noise <= 1.0:
        raise ValueError("revision_rate and noise: expected probabilities in [0, 1]")
    if not temperature > 0 or not scale > 0 or not 0.0 <= learning_rate <= 1.0:
        raise ValueError("temperature and scale: expected > 0; learning_rate: expected in [0, 1]")

    cdef bitgen_t* rng = borrow_bitgen(generator)
    cdef int8_t[::1] x = strategy
    cdef double[::1] p = propensity
    cdef const unsigned char[::1] act = active
    cdef double[::1] pay = payoff_out
    cdef double[::1] u = utility
    cdef const double[:, ::1] T = table
    # Only the Fermi rule reads other players' strategies, so only it needs the strategies at the round's start.
    old_array = strategy.copy() if rule == FERMI else strategy
    cdef const int8_t[::1] old = old_array
    cdef double[2] total
    cdef double[2] aspiration
    cdef int64_t[2] count
    cdef double stim, prob, d, pi, lr = learning_rate
    cdef Py_ssize_t i, j, g, lo, size, nh = n_humans
    cdef int64_t cooperators = 0, switches = 0
    cdef int8_t s, new
    total[0] = 0.0
    total[1] = 0.0
    count[0] = 0
    count[1] = 0

    with generator.bit_generator.lock, nogil:
        for i in range(n):
            if not act[i]:
                continue
            g = 0 if i < nh else 1
            pay[i] = T[g, x[i]]
            u[i] = u[i] + pay[i]
            total[g] = total[g] + pay[i]
            count[g] = count[g] + 1
        for g in range(2):
            aspiration[g] = total[g] / count[g] if count[g] > 0 else 0.0
        if rule == BEST_RESPONSE:
            for i in range(n):
                if not act[i]:
                    continue
                g = 0 if i < nh else 1
                s = x[i]
                new = s
                if rng.next_double(rng.state) < revision_rate:
                    if rng.next_double(rng.state) < noise:
                        new = 1 if rng.next_double(rng.state) < 0.5 else 0
                    elif T[g, 1] > T[g, 0]:
                        new = 1
                    elif T[g, 0] > T[g, 1]:
                        new = 0
                switches = switches + (new != s)
                x[i] = new
                cooperators = cooperators + new
        elif rule == FERMI:
            for i in range(n):
                if not act[i]:
                    continue
                g = 0 if i < nh else 1
                s = old[i]
                new = s
                if rng.next_double(rng.state) < revision_rate:
                    lo = 0 if g == 0 else nh
                    size = nh if g == 0 else n - nh
                    d = rng.next_double(rng.state)
                    if size > 1:
                        j = lo + <Py_ssize_t>(d * (size - 1))
                        if j > lo + size - 2:
                            j = lo + size - 2
                        if j >= i:
                            j = j + 1
                        prob = rng.next_double(rng.state)
                        if act[j] and prob < 1.0 / (1.0 + exp(-(pay[j] - pay[i]) / temperature)):
                            new = old[j]
                switches = switches + (new != s)
                x[i] = new
                cooperators = cooperators + new
        else:
            for i in range(n):
                if not act[i]:
                    continue
                g = 0 if i < nh else 1
                s = x[i]
                stim = (pay[i] - aspiration[g]) / scale
                if stim > 1.0:
                    stim = 1.0
                elif stim < -1.0:
                    stim = -1.0
                pi = p[i]
                # move P(C) toward the strategy played when stim > 0, away from it when stim < 0
                if s == 1:
                    if stim >= 0:
                        pi = pi + lr * stim * (1.0 - pi)
                    else:
                        pi = pi + lr * stim * pi
                else:
                    if stim >= 0:
                        pi = pi - lr * stim * pi
                    else:
                        pi = pi - lr * stim * (1.0 - pi)
                p[i] = pi
                new = 1 if rng.next_double(rng.state) < pi else 0
                switches = switches + (new != s)
                x[i] = new
                cooperators = cooperators + new
    return int(cooperators), int(switches)
