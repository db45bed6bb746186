"""Points per second of a 64-point scan of short SGD runs: serially, on the local pool, on a local Dask cluster of
2 workers, and through `mesa.batch_run` with number_processes=2, in one run.

Every variant runs the same 64 (temperature, seed) points of the pit world for STEPS steps (no early stop), so
each does the same work. Timed: from the call to the table, including the pool's start-up and whatever each
imports in its workers. Not timed: starting the Dask cluster (a cluster is already running when one scans on
it). `make bench` runs this first, in a process that has started no OpenMP threads, as `optiscape scan` is: its
pool forks (see `optiscape.scans._pool_context`).
The optiscape variants must give the same table, or run() raises.
"""

from __future__ import annotations

import os
import time

import mesa
import numpy as np
import pandas as pd

import scenarios
from models.sgd.model import SGDModel
from optiscape.scans import run_scan, scan_points

POINTS, STEPS, WALKERS, PROCESSES = 64, 4000, 500, 2
NAME = "scans.sgd_64_points"
UNIT = "points/s"
DOCUMENT = {
    "model": "sgd", "title": "64 short SGD runs", "seed": 20231107, "steps": STEPS,
    "params": {"landscape": {"preset": "pit"}, "method": "sgd", "n_walkers": WALKERS,
               "start": {"local_minimum": "l1", "near": 1.0}, "escape": {"above": {"local_maximum": "l1", "near": 1.2}},
               "collect_every": 100},
    "scan": {"temperature": {"linspace": [0.005, 0.02, POINTS // 2]}, "repeats": 2},
}


def _timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def run() -> list[dict]:
    """The four variants, measured now, on this machine."""
    from distributed import LocalCluster

    scenario = scenarios.parse(DOCUMENT, "bench/scans.yaml")
    points = scan_points(scenario)
    assert len(points) == POINTS
    seconds: dict[str, float] = {}
    seconds["serial"], serial = _timed(lambda: run_scan(scenario, processes=1).table)
    seconds["pool"], pool = _timed(lambda: run_scan(scenario, processes=PROCESSES).table)
    environment = dict(os.environ)  # LocalCluster leaves OMP_NUM_THREADS=1 here, which the later benchmarks would read
    with LocalCluster(n_workers=PROCESSES, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        seconds["dask"], dask = _timed(lambda: run_scan(scenario, scheduler=cluster.scheduler_address).table)
    os.environ.clear()
    os.environ.update(environment)
    for label, table in (("pool", pool), ("dask", dask)):
        pd.testing.assert_frame_equal(serial, table, obj=f"the {label} table against the serial one")

    # mesa.batch_run on the same points: one run per (temperature, seed), seeds given as rng=.
    params = scenario.params.model_dump()
    temperatures = sorted({p.values["temperature"] for p in points})
    seeds = [p.seed for p in points if p.values["temperature"] == temperatures[0]]
    seconds["mesa batch_run"], rows = _timed(lambda: mesa.batch_run(
        SGDModel, parameters={"params": [params], "temperature": temperatures}, rng=seeds,
        number_processes=PROCESSES, max_steps=STEPS, data_collection_period=-1, display_progress=False))
    assert len(rows) == POINTS
    # batch_run gives every temperature the same seeds; the scan's seeds match them at the first temperature.
    batch = pd.DataFrame(rows)
    by_batch = batch[batch["temperature"] == temperatures[0]].sort_values("iteration")["mean_W"].to_numpy()
    by_scan = serial[serial["temperature"] == temperatures[0]].sort_values("repeat")["mean_W"].to_numpy()
    if not np.array_equal(by_batch, by_scan):
        raise RuntimeError("mesa.batch_run and optiscape scan differ on the same (temperature, seed) points")

    print(f"  {POINTS} points x {STEPS} steps x {WALKERS} walkers: " + ", ".join(
        f"{k} {v:.2f} s" for k, v in seconds.items()) + " (the same numbers on every path)", flush=True)
    return [{"benchmark": NAME, "variant": k, "rate": POINTS / v, "unit": UNIT} for k, v in seconds.items()]


RATIOS = [(NAME, "pool", "serial", 1.6), (NAME, "pool", "mesa batch_run", 1.0), (NAME, "dask", "serial", 1.0)]
