"""Wall-clock helpers shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    """The best wall time of `repeats` calls of work(), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def best_seconds_in_turn(works: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Each work's best wall time over `rounds` rounds, every round calling each work once, in turn.

    This machine's speed drifts in phases of seconds (a shared host); timing variants in turn gives each the same
    phases, so that their ratio is not the ratio of two different moments."""
    best = dict.fromkeys(works, float("inf"))
    for _ in range(rounds):
        for name, work in works.items():
            best[name] = min(best[name], best_seconds(work, 1))
    return best
