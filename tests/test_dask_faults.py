"""Scans on a real Dask cluster (a scheduler and workers as processes on loopback) that loses a worker or its
scheduler mid-scan: a lost worker costs nothing, a lost scheduler stops the scan with one line, and it resumes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

import scenarios
from optiscape.scans import POINTS, run_scan

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed", reason="dask.distributed is a dependency: install optiscape")


class Cluster:
    """A scheduler and `workers` worker processes without nannies (a killed worker stays dead)."""

    def __init__(self, workers: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                           "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
        self.workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", self.address,
                                          "--nthreads", "1", "--no-nanny", "--no-dashboard"], **quiet)
                        for _ in range(workers)]
        with distributed.Client(self.address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            process.kill()
            process.wait()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    running = Cluster(workers=2)
    yield running
    running.stop()


def _scenario(tmp_path: Path) -> Path:
    """Eight points of the escape scan, each long enough (~0.5 s) that a kill lands while others still run."""
    document = yaml.safe_load(scenarios.load("sgd_pit_escape").path.read_text(encoding="utf-8"))
    document["steps"] = 2000
    document["params"]["n_walkers"] = 2000
    document["scan"] = {"temperature": {"logspace": [-2, -1, 4]}, "repeats": 2}
    path = tmp_path / "escape.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _wait_for_points(folder: Path, at_least: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while len(list((folder / POINTS).glob("*.parquet"))) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the scan finished no point in 3 minutes"
        time.sleep(0.05)


def _scan(path: Path, out: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "optiscape.cli", "scan", str(path), "--out", str(out), "--quiet",
                             *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_scan_costs_nothing(cluster, tmp_path):
    path = _scenario(tmp_path)
    process = _scan(path, tmp_path / "dask", "--scheduler", cluster.address)
    _wait_for_points(tmp_path / "dask", 1, process)
    cluster.workers[0].kill()
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "8 of 8 points (8 run now, 0 already in the folder)" in stdout
    serial = run_scan(path, tmp_path / "serial", processes=1).table
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / "results.parquet"), serial)


def test_a_lost_scheduler_stops_the_scan_in_one_line_and_the_same_command_resumes(cluster, tmp_path):
    path = _scenario(tmp_path)
    out = tmp_path / "dask"
    process = _scan(path, out, "--scheduler", cluster.address)
    _wait_for_points(out, 1, process)
    cluster.scheduler.kill()
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    stopped = [line for line in stdout.splitlines() if line.startswith("stopped:")]
    assert len(stopped) == 1 and f"lost the Dask scheduler at {cluster.address}" in stopped[0], stdout
    assert "run the same scan again to resume" in stopped[0]
    assert "Traceback" not in stderr, stderr
    kept = len(list((out / POINTS).glob("*.parquet")))
    assert 1 <= kept < 8

    cluster.stop()
    again = Cluster(workers=1)
    try:
        resumed = _scan(path, out, "--scheduler", again.address)
        stdout, stderr = resumed.communicate(timeout=300)
    finally:
        again.stop()
    assert resumed.returncode == 0, stderr
    assert f"8 of 8 points ({8 - kept} run now, {kept} already in the folder)" in stdout
    serial = run_scan(path, tmp_path / "serial", processes=1).table
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), serial)
