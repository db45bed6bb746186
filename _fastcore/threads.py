"""How many OpenMP threads a threaded kernel call uses: one setting for the whole process.

Kernels take their thread count as an argument; the models ask `kernel_threads()` for it. Every kernel gives the
same numbers on any count, so this is a matter of speed only: more threads than the cores this process may use
only spin against each other (a pooled scan of 2 workers on 2 cores must run 2 threads, not 4).
"""

from __future__ import annotations

import os

_chosen: int | None = None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, as `taskset` or a container sets it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def kernel_threads() -> int:
    """Threads for a kernel call: `set_kernel_threads`'s count, else OMP_NUM_THREADS, else the available cores."""
    if _chosen is not None:
        return _chosen
    try:  # OMP_NUM_THREADS may list one count per nesting level ("4,2"); the kernels use the outer one
        from_environment = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        from_environment = 0
    return from_environment if from_environment >= 1 else available_cores()


def set_kernel_threads(threads: int | None) -> int | None:
    """Use `threads` OpenMP threads in every kernel call of this process from now on (None: the default again);
    returns the setting it replaced."""
    global _chosen
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads: expected a whole number >= 1, got {threads!r}")
    before, _chosen = _chosen, threads
    return before
