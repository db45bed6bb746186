"""Walker-steps per second on the two-datapoint pit (SGD, T = 0.01): kernel vs numpy vs Mesa agents."""

from __future__ import annotations

import time
from collections.abc import Callable

from _fastcore import walkers as kernel
from models.sgd.model import SGDModel

PIT = {"landscape": {"preset": "pit"}, "start": {"local_minimum": "l1", "near": 1.0},
       "escape": {"above": {"local_maximum": "l1", "near": 1.2}}, "temperature": 0.01, "method": "sgd"}


def _best_rate(walker_steps: int, work: Callable[[], None], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return walker_steps / best


def run() -> list[dict]:
    """The three variants, measured now, on this machine."""
    big = SGDModel(rng=1, n_walkers=1_000_000, agent_objects=False, **PIT)
    arrays = big.landscape.kernel_arrays()
    region = big.escape_region

    def kernel_steps(steps: int = 20) -> None:
        kernel.step_walkers(big.position, big.temperature, big.escape_step, arrays, big.rng, kernel.METHOD_SGD,
                            1, 0, steps, 1, region.kind, region.axis, region.threshold, region.center, False)

    def numpy_steps(steps: int = 5) -> None:
        for _ in range(steps):
            big._step_numpy()

    small = SGDModel(rng=1, n_walkers=2_000, engine="agents", **PIT)

    def agent_steps(steps: int = 5) -> None:
        for _ in range(steps):
            for walker in small.agents:
                walker.step()

    rates = {
        "kernel": _best_rate(20 * 1_000_000, kernel_steps),
        "numpy": _best_rate(5 * 1_000_000, numpy_steps),
        "mesa agents": _best_rate(5 * 2_000, agent_steps),
    }
    return [{"benchmark": "walkers.sgd_pit", "variant": v, "rate": r, "unit": "walker-steps/s"}
            for v, r in rates.items()]


RATIOS = [("walkers.sgd_pit", "kernel", "numpy", 2.5), ("walkers.sgd_pit", "kernel", "mesa agents", 150.0)]
