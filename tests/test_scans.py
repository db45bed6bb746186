"""Parameter scans: seeds per point, identical tables on every backend, resume, failures, bad grids."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import optiscape
import scenarios
from optiscape.scans import POINTS, SCAN_FILE, SUMMARY, TABLE, ScanError, point_seed, run_scan, scan_points

PIT = {"landscape": {"preset": "pit"}, "method": "sgd", "n_walkers": 200,
       "start": {"local_minimum": "l1", "near": 1.0}, "escape": {"above": {"local_maximum": "l1", "near": 1.2}}}


def write(tmp_path: Path, name: str, **document) -> Path:
    base = {"model": "sgd", "title": name, "seed": 11, "steps": 400, "params": dict(PIT),
            "scan": {"temperature": {"logspace": [-2, -1, 3]}, "repeats": 2}}
    base.update(document)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")
    return path


def cli(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "optiscape.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def test_point_seeds_come_from_seed_sequence_and_the_point_index():
    ss = np.random.SeedSequence(20231107, spawn_key=(5,)).generate_state(2, np.uint32)
    assert point_seed(20231107, 5) == int(ss[0]) + (int(ss[1]) & 0x7FFFFFFF) * 2**32
    seeds = [point_seed(1, i) for i in range(1000)]
    assert len(set(seeds)) == 1000 and all(0 <= s < 2**63 for s in seeds)
    assert point_seed(2, 0) != point_seed(1, 0)


def test_points_are_the_grid_product_with_repeats_innermost(tmp_path):
    scenario = scenarios.load(write(tmp_path, "grid", scan={"temperature": [0.01, 0.02], "n_walkers": [10, 20, 30],
                                                            "repeats": 2}))
    points = scan_points(scenario)
    assert [p.index for p in points] == list(range(12))
    assert [(p.values["temperature"], p.values["n_walkers"], p.repeat) for p in points[:3]] == [
        (0.01, 10, 0), (0.01, 10, 1), (0.01, 20, 0)]


def test_a_point_replays_alone_with_its_seed(tmp_path):
    scenario = scenarios.load(write(tmp_path, "replay"))
    table = run_scan(scenario, processes=1).table
    row = table.iloc[3]
    model = scenario.build(rng=int(row["seed"]), temperature=float(row["temperature"]))
    for _ in range(scenario.steps):
        model.step()
    assert model.summary()["mean_W"] == row["mean_W"]
    assert model.summary()["escaped_within"]["100"] == row["escaped_within.100"]


@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is a dependency: install optiscape")
    environment = dict(os.environ)  # LocalCluster leaves OMP_NUM_THREADS=1 in this process: later tests must not see it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address
    os.environ.clear()
    os.environ.update(environment)


@pytest.mark.slow
def test_escape_scan_is_identical_serially_on_two_processes_and_on_dask(dask_scheduler, tmp_path):
    """The shipped escape-probability scan (fewer points, walkers and steps): three backends, one table."""
    shipped = yaml.safe_load(scenarios.load("sgd_pit_escape").path.read_text(encoding="utf-8"))
    shipped["steps"] = 300
    shipped["params"]["n_walkers"] = 100
    shipped["scan"] = {"temperature": {"logspace": [-2, -1, 4]}, "repeats": 2}
    scenario = scenarios.parse(shipped, tmp_path / "sgd_pit_escape.yaml")
    serial = run_scan(scenario, tmp_path / "serial", processes=1)
    pool = run_scan(scenario, tmp_path / "pool", processes=2)
    dask = run_scan(scenario, tmp_path / "dask", scheduler=dask_scheduler)
    assert (serial.summary["backend"], pool.summary["backend"]) == ("serial", "2 processes")
    assert dask.summary["backend"] == f"dask {dask_scheduler}"
    assert len(serial.table) == 8 and (serial.table["status"] == "ok").all()
    pd.testing.assert_frame_equal(serial.table, pool.table)
    pd.testing.assert_frame_equal(serial.table, dask.table)
    on_disk = pd.read_parquet(tmp_path / "dask" / TABLE)
    pd.testing.assert_frame_equal(on_disk, serial.table)
    # Escape becomes likelier with T (the essay's claim), seen through the scan's table.
    by_t = serial.table.groupby("temperature")["escaped_fraction"].mean()
    assert by_t.iloc[-1] > by_t.iloc[0]


def test_the_python_api_returns_the_table_and_series_gives_a_row_per_collected_step(tmp_path):
    path = write(tmp_path, "series", steps=100, params={**PIT, "collect_every": 25},
                 scan={"temperature": [0.01, 0.05], "series": True})
    table = optiscape.scan(path, processes=1)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns[:6]) == ["point", "repeat", "temperature", "seed", "status", "error"]
    assert table.groupby("point").size().tolist() == [5, 5]  # steps 0, 25, 50, 75, 100
    assert table["step"].tolist() == [0, 25, 50, 75, 100] * 2


def test_a_failing_point_is_recorded_and_the_scan_goes_on(tmp_path):
    """GD on W^2 diverges for T > 1 (W <- (1 - 2T) W): that point fails, the others finish."""
    path = write(tmp_path, "diverge", steps=2000,
                 params={"landscape": {"datapoints": {"a": [{"polynomial": {"coefficients": [0, 0, 1]}}]}},
                         "method": "gd", "n_walkers": 1, "start": {"at": 1.0}},
                 scan={"temperature": [0.1, 5.0, 0.4]})
    out = tmp_path / "out"
    process = cli("scan", str(path), "--out", str(out), "--processes", "2", "--quiet")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr
    assert "3 of 3 points" in stdout and "1 failed" in stdout
    assert "point 1 temperature 5" in stdout and "DivergenceError" in stdout
    summary = json.loads((out / SUMMARY).read_text())
    assert [f["point"] for f in summary["failed"]] == [1] and summary["complete"]
    table = pd.read_parquet(out / TABLE)
    assert table["status"].tolist() == ["ok", "failed", "ok"]
    assert table["error"].iloc[1].startswith("DivergenceError: ") and "T = 5" in table["error"].iloc[1]
    assert table["mean_W"].iloc[0] == pytest.approx(0.8**2000, rel=1e-12)
    assert np.isnan(table["mean_W"].iloc[1])


def _wait_for_points(folder: Path, at_least: int, process: subprocess.Popen, timeout: float = 240) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = len(list((folder / POINTS).glob("*.parquet")))
        if done >= at_least:
            return done
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} points after {timeout}s")


KILL_SCAN = {"steps": 3000, "scan": {"temperature": {"logspace": [-2.5, -1.5, 6]}, "repeats": 3}}


@pytest.fixture(scope="module")
def kill_reference(tmp_path_factory):
    """The uninterrupted table of the scan the kill tests interrupt."""
    path = write(tmp_path_factory.mktemp("reference"), "killed", **KILL_SCAN)
    return run_scan(path, processes=1).table


@pytest.mark.slow
def test_a_killed_scan_loses_no_finished_point_and_resumes(tmp_path, kill_reference):
    path = write(tmp_path, "killed", **KILL_SCAN)
    out = tmp_path / "out"
    process = cli("scan", str(path), "--out", str(out), "--processes", "2", "--quiet", start_new_session=True)
    _wait_for_points(out, 4, process)
    os.killpg(process.pid, signal.SIGKILL)  # the scan and its workers, without warning
    process.communicate(timeout=60)
    kept = sorted(int(p.stem) for p in (out / POINTS).glob("*.parquet"))
    assert 4 <= len(kept) < 18
    resumed = run_scan(path, out, processes=2)
    assert resumed.summary["reused"] == len(kept) and resumed.summary["ran_now"] == 18 - len(kept)
    assert resumed.complete
    pd.testing.assert_frame_equal(resumed.table, kill_reference)


@pytest.mark.slow
def test_ctrl_c_stops_the_scan_keeps_its_points_and_the_same_command_resumes(tmp_path, kill_reference):
    path = write(tmp_path, "killed", **KILL_SCAN)
    out = tmp_path / "out"
    process = cli("scan", str(path), "--out", str(out), "--processes", "2", "--quiet")
    _wait_for_points(out, 3, process)
    workers = _children(process.pid)
    process.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert time.monotonic() - interrupted < 10, "the scan went on after Ctrl-C"
    assert workers and not any(_alive(worker) for worker in workers), "a worker outlived the interrupted scan"
    assert "interrupted: finished points are saved" in stderr
    summary = json.loads((out / SUMMARY).read_text())
    assert summary["stopped"] == "interrupted" and not summary["complete"]
    assert summary["finished"] == len(list((out / POINTS).glob("*.parquet"))) >= 3
    again = cli("scan", str(path), "--out", str(out), "--quiet")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert f"({18 - summary['finished']} run now, {summary['finished']} already in the folder)" in stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out / TABLE), kill_reference)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    """Running, not a zombie: /proc/PID/stat's third field."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the pool's workers through Linux's /proc")
def test_a_killed_worker_does_not_stop_the_scan(tmp_path, kill_reference):
    path = write(tmp_path, "killed", **KILL_SCAN)
    out = tmp_path / "out"
    process = cli("scan", str(path), "--out", str(out), "--processes", "2", "--quiet")
    _wait_for_points(out, 2, process)
    workers = _children(process.pid)
    assert workers, "the pool has no worker processes"
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "18 of 18 points" in stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out / TABLE), kill_reference)


def test_a_folder_holding_another_scan_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "out"
    run_scan(write(tmp_path, "first", steps=50), out, processes=1)
    before = sorted(p.name for p in (out / POINTS).iterdir())
    with pytest.raises(ScanError, match=r"holds a different scan \(steps: 50 there, 60 now\).*choose another --out"):
        run_scan(write(tmp_path, "first", steps=60), out, processes=1)
    assert sorted(p.name for p in (out / POINTS).iterdir()) == before


@pytest.mark.parametrize(("scan", "message"), [
    ({"temperature": {"logspace": [-3, -1]}}, "scan.temperature.logspace"),
    ({"temprature": [0.1]}, "not a parameter of this model (did you mean 'temperature'?)"),
    ({"temperature": [0.1], "repeats": 0}, "scan.repeats: expected an integer >= 1, got 0"),
    ({"temperature": [0.1], "series": "yes"}, "scan.series: expected true"),
    ({"n_walkers": [10, -5]}, "grid point 1"),
])
def test_a_bad_grid_is_one_clear_line_and_nothing_runs(tmp_path, scan, message):
    path = write(tmp_path, "bad", scan=scan)
    out = tmp_path / "out"
    process = cli("scan", str(path), "--out", str(out))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2
    assert message in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_scan_needs_a_scan_block_and_a_reachable_scheduler(tmp_path, monkeypatch):
    path = write(tmp_path, "plain", scan=None)
    process = cli("scan", str(path), "--out", str(tmp_path / "a"))
    assert process.wait(timeout=120) == 2 and "no scan: block" in process.stderr.read()
    monkeypatch.setattr("optiscape.scans.DASK_CONNECT_SECONDS", 2)
    unreachable = r"could not reach a Dask scheduler at 'tcp://127\.0\.0\.1:9'.*expected the address"
    with pytest.raises(ScanError, match=unreachable):
        run_scan(write(tmp_path, "unreachable"), tmp_path / "b", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ScanError, match="not an address tcp://HOST:PORT"):
        run_scan(write(tmp_path, "unreachable"), tmp_path / "b", scheduler="tcp://127.0.0.1:99999")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.0 400 Bad request\r\n\r\n" * 64])
def test_a_server_that_is_not_a_dask_scheduler_is_refused_in_time(tmp_path, monkeypatch, reply):
    """Silent after accepting, or speaking another protocol: one ScanError within the connect limit, no hang."""
    import socket
    import threading

    monkeypatch.setattr("optiscape.scans.DASK_CONNECT_SECONDS", 2)
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve() -> None:
        connection, _ = server.accept()
        accepted.append(connection)
        if reply:
            connection.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(ScanError, match="could not reach a Dask scheduler"):
        run_scan(write(tmp_path, "other"), tmp_path / "b", scheduler=address)
    assert time.monotonic() - started < 10
    server.close()


def test_a_scan_keeps_out_of_folders_it_did_not_write_and_leaves_other_files_alone(tmp_path):
    run_folder = tmp_path / "a_run"
    run_folder.mkdir()
    (run_folder / "summary.json").write_text("{}")
    with pytest.raises(ScanError, match="holds other files but no scan"):
        run_scan(write(tmp_path, "s", steps=50), run_folder, processes=1)
    assert [p.name for p in run_folder.iterdir()] == ["summary.json"]
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    with pytest.raises(ScanError, match="cannot be made a scan folder"):
        run_scan(write(tmp_path, "s", steps=50), a_file / "sub", processes=1)
    out = tmp_path / "out"
    run_scan(write(tmp_path, "s", steps=50), out, processes=1)
    (out / POINTS / "notes.parquet").write_bytes(b"mine")
    (out / SCAN_FILE).write_text("{unclosed")
    with pytest.raises(ScanError, match="cannot be read as a scan file"):
        run_scan(write(tmp_path, "s", steps=50), out, processes=1)
    assert (out / POINTS / "notes.parquet").read_bytes() == b"mine"


@pytest.mark.slow
def test_the_cli_runs_a_scan_on_a_dask_scheduler(dask_scheduler, tmp_path):
    path = write(tmp_path, "cli_dask", steps=100)
    process = cli("scan", str(path), "--out", str(tmp_path / "out"), "--scheduler", dask_scheduler, "--quiet")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert f"6 of 6 points (6 run now, 0 already in the folder) on dask {dask_scheduler}" in stdout
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / TABLE), run_scan(path, processes=1).table)


@pytest.mark.slow
def test_knowledge_training_runs_spread_over_processes_and_dask_with_one_table(dask_scheduler, tmp_path):
    """Issue 8's training runs (seeds and forks are agents of one model; a scan point is one model)."""
    document = yaml.safe_load(scenarios.load("knowledge_digits").path.read_text(encoding="utf-8"))
    document["scan"] = {"activation": ["softplus", "relu"], "learning_rate": [0.01, 0.03]}
    scenario = scenarios.parse(document, tmp_path / "knowledge_digits.yaml")
    serial = run_scan(scenario, processes=1).table
    assert (serial["status"] == "ok").all() and serial["r_squared.weights"].notna().all()
    pd.testing.assert_frame_equal(serial, run_scan(scenario, processes=2).table)
    pd.testing.assert_frame_equal(serial, run_scan(scenario, scheduler=dask_scheduler).table)


@pytest.mark.slow
def test_a_pool_after_threaded_kernels_does_not_fork_and_gives_the_same_table(tmp_path):
    """GNU OpenMP does not survive fork: once a kernel ran on threads here, the pool starts by forkserver."""
    from bench.causal import SPEC
    from models.causal.model import CausalModel
    from optiscape.scans import _fork_is_safe

    model = CausalModel(**SPEC)  # 10,000 conditions: the whole-system kernel runs on every core
    model.threads = 2
    model.advance(3)
    assert not _fork_is_safe()
    document = yaml.safe_load(scenarios.load("causal_linear_thermostat").path.read_text(encoding="utf-8"))
    document.update(steps=200, scan={"delta": [1e-4, 1e-2, 1.0]})
    scenario = scenarios.parse(document, tmp_path / "causal.yaml")
    pool = run_scan(scenario, processes=2)
    assert pool.summary["backend"] == "2 processes" and (pool.table["status"] == "ok").all()
    pd.testing.assert_frame_equal(pool.table, run_scan(scenario, processes=1).table)
    assert pool.table["R.op"].nunique() == 1  # the exact Op does not depend on δ (linear thermostat)
