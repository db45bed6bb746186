"""Walker-steps per second on the two-datapoint pit (SGD, T = 0.01): kernel (on the model's threads and on one)
vs numpy vs Mesa agents, timed in turn (bench.timing.best_seconds_in_turn)."""

from __future__ import annotations

from _fastcore import walkers as kernel
from bench.timing import best_seconds_in_turn
from models.sgd.model import SGDModel

PIT = {"landscape": {"preset": "pit"}, "start": {"local_minimum": "l1", "near": 1.0},
       "escape": {"above": {"local_maximum": "l1", "near": 1.2}}, "temperature": 0.01, "method": "sgd"}
ROUNDS = 7  # every variant once per round, in turn; each its best round (a shared host drifts)


def run() -> list[dict]:
    """The four variants, measured now, on this machine."""
    big = SGDModel(rng=1, n_walkers=1_000_000, agent_objects=False, **PIT)
    arrays = big.landscape.kernel_arrays()
    region = big.escape_region

    def kernel_steps(threads: int, steps: int = 20) -> None:
        kernel.step_walkers(big.position, big.temperature, big.escape_step, arrays, big.streams, kernel.METHOD_SGD,
                            1, 0, steps, 1, region.kind, region.axis, region.threshold, region.center, False, threads)

    def numpy_steps(steps: int = 5) -> None:
        for _ in range(steps):
            big._step_numpy()

    small = SGDModel(rng=1, n_walkers=2_000, engine="agents", **PIT)

    def agent_steps(steps: int = 5) -> None:
        for _ in range(steps):
            for walker in small.agents:
                walker.step()

    seconds = best_seconds_in_turn({"kernel": lambda: kernel_steps(big.threads),
                                    "kernel, 1 thread": lambda: kernel_steps(1), "numpy": numpy_steps,
                                    "mesa agents": agent_steps}, ROUNDS)
    walker_steps = {"kernel": 20 * 1_000_000, "kernel, 1 thread": 20 * 1_000_000, "numpy": 5 * 1_000_000,
                    "mesa agents": 5 * 2_000}
    print(f"  sgd pit: kernel on {big.threads} threads", flush=True)
    return [{"benchmark": "walkers.sgd_pit", "variant": v, "rate": walker_steps[v] / s, "unit": "walker-steps/s"}
            for v, s in seconds.items()]


RATIOS = [("walkers.sgd_pit", "kernel", "numpy", 3.0), ("walkers.sgd_pit", "kernel", "mesa agents", 150.0),
          ("walkers.sgd_pit", "kernel", "kernel, 1 thread", 1.7)]
