"""Explorer-moves per second on Rastrigin (d = 10 and d = 100; 10,000 explorers across 100 algorithms), three ways,
and the cost of Mesa agents born and removed at 10^4 algorithms.

1. "kernel": `_fastcore.explorers.step_explorers` on the model's arrays (values, gradients, niche, the S-angle
   move, the spawn draw), nogil, as the model runs it: on `MetaoptModel.threads` OpenMP threads (this
   machine's cores). "kernel, 1 thread": the same on one thread.
2. "numpy": `models.metaopt.model.step_numpy`, the same update as numpy array operations over every explorer.
3. "python loop": `OptimizationAlgorithm.step`, explorer by explorer in plain floats (the readable reference),
   on SUBSET algorithms of the same world (all of them would take minutes at d = 100).

One explorer-move is one explorer evaluated (L and ∇L) and moved once. Spawning is off (R = 0) so that every
repeat moves the same population; the model's bookkeeping (φ, DataCollector) is not timed. Before timing,
one step from the same state and seed is taken by each variant and compared: kernel and python loop bit for
bit, numpy to RTOL, or run() raises. The variants are timed in turn, ROUNDS rounds, each its best round.

"mesa agents": `MetaoptModel._add_algorithms` and `_remove_rows` for 10^4 one-explorer algorithms (Mesa agents,
lineage nodes, array rows), in algorithms per second, born and removed; no target.
"""

from __future__ import annotations

import time

import numpy as np

from _fastcore import explorers as kernel
from bench.timing import best_seconds_in_turn
from models.metaopt.model import MetaoptModel, step_numpy

ALGORITHMS, PER_ALGORITHM = 100, 100  # 10,000 explorers
SUBSET = 2  # algorithms the python loop steps (200 explorers)
RTOL = 1e-9
UNIT = "explorer-moves/s"
CHURN = 10_000
ROUNDS = 7  # every variant once per round, in turn (bench.timing.best_seconds_in_turn); each its best round


def _world(dim: int, seed: int = 1) -> MetaoptModel:
    return MetaoptModel({"landscape": {"function": "rastrigin", "dim": dim}, "explorer_spread": 1.0,
                         "algorithms": [{"count": ALGORITHMS, "n_explorers": PER_ALGORITHM, "angle": 30.0,
                                         "speed": 0.02, "generality": 0.5, "reproduction": 0.0,
                                         "start": {"low": -4.0, "high": 4.0}}]}, rng=seed)


def _kernel_step(model: MetaoptModel, threads: int | None = None) -> None:
    kernel.step_explorers(model.position, model.owner, model.cos_angle, model.sin_angle, model.speed,
                          model.birthplace, model.niche_radius2, model.p_first, model.p_second,
                          model.landscape.kernel_arrays(), model.rng, model.values, model.inside, model.spawn,
                          threads=threads or model.threads)


def _python_step(model: MetaoptModel, algorithms: int) -> None:
    for agent in model.algorithms[:algorithms]:
        agent.step()


def _check(dim: int) -> None:
    """One step from the same state and seed by each variant: kernel (any thread count) = python loop exactly,
    numpy to RTOL."""
    by_kernel, by_single, by_numpy, by_python = _world(dim), _world(dim), _world(dim), _world(dim)
    _kernel_step(by_kernel)
    _kernel_step(by_single, threads=1)
    if not np.array_equal(by_kernel.position, by_single.position):
        raise RuntimeError(f"d = {dim}: the kernel on {by_kernel.threads} threads and on one differ")
    step_numpy(by_numpy)
    _python_step(by_python, ALGORITHMS)
    if not np.array_equal(by_kernel.position, by_python.position):
        raise RuntimeError(f"d = {dim}: the python loop's positions differ from the kernel's")
    if not np.allclose(by_numpy.position, by_kernel.position, rtol=RTOL, atol=RTOL):
        worst = float(np.max(np.abs(by_numpy.position - by_kernel.position)))
        raise RuntimeError(f"d = {dim}: numpy differs from the kernel by up to {worst:.2e} (> {RTOL:g})")


def _churn() -> tuple[float, float]:
    """(births/s, removals/s) of 10^4 one-explorer algorithms as Mesa agents with their lineage nodes and rows."""
    model = MetaoptModel({"landscape": {"function": "sphere", "dim": 2}, "memory_budget_mb": 4096.0}, rng=1)
    ones = np.ones(CHURN)
    started = time.perf_counter()
    model._add_algorithms(ones.astype(np.int64), 30 * ones, 0.05 * ones, 0.5 * ones, 0.01 * ones,
                          np.zeros((CHURN, 2)), None)
    born = time.perf_counter() - started
    started = time.perf_counter()
    model._remove_rows(np.arange(1, CHURN + 1))
    removed = time.perf_counter() - started
    if model.n_algorithms != 1 or len(model.agents) != 1:
        raise RuntimeError("the churn benchmark did not leave exactly the scenario's one algorithm")
    return CHURN / born, CHURN / removed


def run() -> list[dict]:
    """The three variants at d = 10 and d = 100, and the agents' churn, measured now, on this machine."""
    rows = []
    for dim in (10, 100):
        _check(dim)
        model = _world(dim)
        n = len(model.owner)
        steps = 20 if dim == 10 else 4
        seconds = best_seconds_in_turn({
            "kernel": lambda m=model, s=steps: [_kernel_step(m) for _ in range(s)],
            "kernel, 1 thread": lambda m=model, s=steps: [_kernel_step(m, 1) for _ in range(s)],
            "numpy": lambda m=model, s=steps: [step_numpy(m) for _ in range(s)],
            "python loop": lambda m=model: _python_step(m, SUBSET)}, ROUNDS)
        moves = dict.fromkeys(seconds, n * steps) | {"python loop": SUBSET * PER_ALGORITHM}
        rates = {variant: moves[variant] / seconds[variant] for variant in seconds}
        print(f"  rastrigin d = {dim}: {n} explorers x {steps} steps: kernel {seconds['kernel'] * 1e3:.1f} ms on "
              f"{model.threads} threads, {seconds['kernel, 1 thread'] * 1e3:.1f} ms on one, numpy "
              f"{seconds['numpy'] * 1e3:.1f} ms; python loop {SUBSET * PER_ALGORITHM} explorers x 1 step "
              f"{seconds['python loop'] * 1e3:.1f} ms", flush=True)
        rows += [{"benchmark": f"metaopt.rastrigin_d{dim}", "variant": v, "rate": r, "unit": UNIT}
                 for v, r in rates.items()]
    born, removed = _churn()
    print(f"  mesa agents at 10^4 algorithms: {born:,.0f} born/s, {removed:,.0f} removed/s", flush=True)
    rows += [{"benchmark": "metaopt.agents_10k", "variant": "born", "rate": born, "unit": "algorithms/s"},
             {"benchmark": "metaopt.agents_10k", "variant": "removed", "rate": removed, "unit": "algorithms/s"}]
    return rows


RATIOS = [(f"metaopt.rastrigin_d{dim}", fast, slow, target) for dim in (10, 100)
          for fast in ("kernel", "kernel, 1 thread") for slow, target in (("numpy", 3.0), ("python loop", 300.0))]
