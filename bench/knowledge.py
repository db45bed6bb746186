"""Examples per second of per-example SGD with |update| tallies at 784-100-2 (the essay "Knowledge
Localization"; docs/knowledge.md), two ways, and the wall time of the essay's whole experiment on MNIST (one seed).

1. "kernel": `_fastcore.mlp.train_examples` (forward, backward, update and tallies fused, compiled without
   -ffast-math).
2. "numpy": `agents.knowledge.train_examples_numpy`, the kernel's reference: one example at a time, numpy
   array operations (BLAS dot products, outer products) for each.

Both train the same EXAMPLES examples of MNIST-shaped data (784 uint8 pixels, a quarter of them always 0) from the
same He-initialised weights, tallying every example (as phase 1's second half does); they must agree to RTOL or
run() raises. The essay's experiment (`models.knowledge.claims.SEED_EXPERIMENT` with one seed: phase 1 and four
forks, about 63,000 examples) runs on MNIST from OPTISCAPE_MNIST_DIR, or ../shared/data/mnist beside the
repository; without either it is skipped, and said so.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from _fastcore import mlp as kernel
from agents.knowledge import train_examples_numpy
from models.knowledge.claims import MNIST_VARIABLE, SEED, SEED_EXPERIMENT
from models.knowledge.model import KnowledgeModel, Layout

EXAMPLES, REPEATS = 1000, 7  # best of 7: this shared machine varies ±25% run to run
RTOL = 1e-12
NAME = "knowledge.sgd_784_100_2"
EXPERIMENT = "knowledge.seed_experiment"
SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def problem(seed: int = 1) -> dict:
    """MNIST-shaped data, targets, an order and tally groups, and He-initialised weights."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(EXAMPLES, 784), dtype=np.uint8)
    pixels[:, :196] = 0
    return {"theta": Layout(784, 100).he_initial(rng), "pixels": pixels,
            "pixel_values": (np.arange(256) + 1.0) / 256, "target_class": rng.integers(0, 2, EXAMPLES),
            "order": np.arange(EXAMPLES, dtype=np.int64),
            "tally_group": rng.integers(0, 2, EXAMPLES).astype(np.int8)}


def _train(train, p: dict) -> tuple[float, np.ndarray, np.ndarray]:
    theta = p["theta"].copy()
    tally_a, tally_b = np.zeros_like(theta), np.zeros_like(theta)
    started = time.perf_counter()
    bad = train(theta, tally_a, tally_b, p["pixels"], p["pixel_values"], p["target_class"], p["order"],
                p["tally_group"], 0.001, 100, kernel.ACTIVATIONS["softplus"], kernel.ACTIVATIONS["softplus"],
                kernel.LOSSES["squared"], np.empty(EXAMPLES), np.empty(EXAMPLES, dtype=np.int8))
    seconds = time.perf_counter() - started
    if bad >= 0:
        raise RuntimeError(f"training diverged at example {bad}")
    return seconds, theta, tally_a + tally_b


def _mnist() -> str | None:
    given = os.environ.get(MNIST_VARIABLE)
    if given:
        return given
    return str(SHARED_MNIST) if SHARED_MNIST.is_dir() else None


def run() -> list[dict]:
    """Kernel and numpy, interleaved, best of REPEATS each; then the essay's experiment once if MNIST is there."""
    p = problem()
    p["target_class"] = p["target_class"].astype(np.int64)
    best = {"kernel": float("inf"), "numpy": float("inf")}
    results = {}
    for _ in range(REPEATS):
        for variant, train in (("kernel", kernel.train_examples), ("numpy", train_examples_numpy)):
            seconds, theta, tallies = _train(train, p)
            best[variant] = min(best[variant], seconds)
            results[variant] = (theta, tallies)
    for k, name in enumerate(("parameters", "tallies")):
        fast, slow = results["kernel"][k], results["numpy"][k]
        if not np.allclose(fast, slow, rtol=RTOL, atol=RTOL):
            raise RuntimeError(f"kernel and numpy {name} differ by {np.max(np.abs(fast - slow)):.2e} (> {RTOL:g})")
    print(f"  {EXAMPLES} examples at 784-100-2 with tallies: kernel {best['kernel'] * 1e3:.1f} ms, numpy "
          f"{best['numpy'] * 1e3:.1f} ms (best of {REPEATS}); they agree to {RTOL:g}", flush=True)
    rows = [{"benchmark": NAME, "variant": v, "rate": EXAMPLES / s, "unit": "examples/s"} for v, s in best.items()]

    directory = _mnist()
    if directory is None:
        print(f"  seed experiment skipped: no MNIST ({MNIST_VARIABLE} unset and {SHARED_MNIST} missing)")
        return rows
    params = {**SEED_EXPERIMENT, "data_dir": directory, "seeds": 1}
    started = time.perf_counter()
    model = KnowledgeModel(params, rng=SEED)
    loaded = time.perf_counter() - started
    model.run_to_end()
    seconds = time.perf_counter() - started
    print(f"  seed experiment on MNIST, one seed: {seconds:.1f} s wall ({loaded:.1f} s reading MNIST), "
          f"{model.examples_total:,} examples", flush=True)
    rows.append({"benchmark": EXPERIMENT, "variant": "kernel", "rate": model.examples_total / seconds,
                 "unit": "examples/s", "seconds": seconds})
    return rows


RATIOS = [(NAME, "kernel", "numpy", 2.0)]
