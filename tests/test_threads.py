"""Kernel threads: the process's CPU affinity and OMP_NUM_THREADS set the default; pooled scans run one per worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import scenarios
from _fastcore.threads import kernel_threads, set_kernel_threads


def _threads_in_a_fresh_process(code: str, **environment: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | environment
    done = subprocess.run([sys.executable, "-c", code + "\nfrom _fastcore.threads import kernel_threads\n"
                           "print(kernel_threads())"], env=env, capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_the_default_is_the_cores_this_process_may_use_not_the_machines():
    assert _threads_in_a_fresh_process("") == len(os.sched_getaffinity(0))
    assert _threads_in_a_fresh_process("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})") == 1


@pytest.mark.parametrize(("value", "threads"), [("3", 3), ("4,2", 4), ("", None), ("many", None)])
def test_omp_num_threads_sets_the_default(value, threads):
    expected = threads if threads is not None else len(os.sched_getaffinity(0))
    assert _threads_in_a_fresh_process("", OMP_NUM_THREADS=value) == expected


def test_a_chosen_count_wins_until_it_is_cleared():
    before = set_kernel_threads(5)
    try:
        assert kernel_threads() == 5
        from models.causal.model import CausalModel

        assert CausalModel(scenarios.load("causal_linear_thermostat").params).threads == 5
    finally:
        set_kernel_threads(before)
    with pytest.raises(ValueError, match="threads: expected a whole number >= 1, got 0"):
        set_kernel_threads(0)


# A pooled scan in a fresh process (it forks its workers); each worker, after its point, writes how many threads
# it has: OpenMP keeps a finished region's threads alive, so this counts the threads its kernels ran on.
COUNTING_SCAN = """
import json, os, sys
from optiscape import scans

run_point = scans.run_point

def counting(document, point, threads=None):
    frame = run_point(document, point, threads)
    with open(sys.argv[1], "a", encoding="utf-8") as out:
        out.write(json.dumps([os.getpid(), len(os.listdir("/proc/self/task"))]) + "\\n")
    return frame

scans.run_point = counting
threads = None if sys.argv[3] == "default" else int(sys.argv[3])
result = scans.run_scan(sys.argv[2], processes=2, threads=threads)
assert result.summary["backend"] == "2 processes" and not result.failed, result.summary
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through Linux's /proc")
@pytest.mark.parametrize(("threads", "per_worker"), [("default", 1), ("2", 2)])
def test_a_pooled_scan_runs_each_workers_kernels_on_one_thread(tmp_path, threads, per_worker):
    document = yaml.safe_load(scenarios.load("causal_bounded_thermostat").path.read_text(encoding="utf-8"))
    document.update(steps=50, scan={"delta": [1e-4, 1e-3, 1e-2, 1e-1]})  # 2,001 conditions: many tiles
    scenario = tmp_path / "bounded.yaml"
    scenario.write_text(yaml.safe_dump(document), encoding="utf-8")
    counts = tmp_path / "threads.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | {"OPENBLAS_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", COUNTING_SCAN, str(counts), str(scenario), threads], env=env, check=True,
                   timeout=300)
    seen = [json.loads(line) for line in counts.read_text(encoding="utf-8").splitlines()]
    assert len(seen) == 4 and len({pid for pid, _ in seen}) == 2, seen
    assert {tasks for _, tasks in seen} == {per_worker}, seen
