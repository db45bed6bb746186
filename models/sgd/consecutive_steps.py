"""The consecutive-steps argument for escaping the pit ("Modelling and Understanding SGD", "SGD and Local
Minima").

From the pit minimum, n(T) consecutive descent steps on l0 alone carry W over the barrier
of l1; SGD picks l0 with probability p = 1/n_data each step, so the chance of escaping
within N steps *by this route* is the chance that N picks hold a run of at least n l0-picks.
The essay's "81% within 100 steps" is that probability for n = 5 (see docs/sgd.md). Real SGD
escapes more easily, because mixed sequences of picks also get out (the essay's
"Monte Carlo" section): `models.sgd.model` measures that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.landscapes import Landscape


def run_probability(run_length: int, picks: int, p: float = 0.5) -> float:
    """P(a run of at least `run_length` successes within `picks` Bernoulli(p) trials), exactly.

    Dynamic programme over the length of the current run (states 0..run_length-1, plus the
    absorbing "a run has happened").
    """
    if run_length < 1:
        raise ValueError(f"run_length: expected an integer >= 1, got {run_length}")
    if picks < 0:
        raise ValueError(f"picks: expected an integer >= 0, got {picks}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p}")
    state = np.zeros(run_length)
    state[0] = 1.0
    done = 0.0
    for _ in range(picks):
        done += state[-1] * p
        new = np.zeros(run_length)
        new[0] = state.sum() * (1.0 - p)
        new[1:] = state[:-1] * p
        state = new
    return float(done)


@dataclass(frozen=True)
class ConsecutiveSteps:
    """n(T) forced steps on one datapoint from `start` to past `threshold`, and the positions passed."""

    temperature: float
    steps: int  # n(T); -1 when the walk stalls before the threshold
    positions: tuple[float, ...]  # W after each step, starting with the start point


def consecutive_steps(
    landscape: Landscape,
    datapoint: str | int,
    temperature: float,
    start: float,
    threshold: float,
    max_steps: int = 1_000_000,
) -> ConsecutiveSteps:
    """Descend on one datapoint's loss alone (dW = -T g_j) until W passes `threshold` (1-D)."""
    if landscape.dim != 1:
        raise ValueError("the consecutive-steps argument is 1-D")
    if not temperature > 0:
        raise ValueError(f"temperature: expected T > 0, got {temperature}")
    j = landscape.index(datapoint)
    upward = threshold > start
    w = float(start)
    positions = [w]
    for n in range(1, max_steps + 1):
        g = [0.0]
        landscape.add_datapoint_gradient([w], j, g)
        w = w - temperature * g[0]
        positions.append(w)
        if (w > threshold) if upward else (w < threshold):
            return ConsecutiveSteps(temperature, n, tuple(positions))
        if abs(g[0]) * temperature < 1e-15:
            break
    return ConsecutiveSteps(temperature, -1, tuple(positions))
