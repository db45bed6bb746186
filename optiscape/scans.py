"""Parameter scans: every point of a scenario's `scan:` grid, serially, on a local process pool or on a Dask cluster.

A point is one grid combination and one repeat. Its seed comes from the scenario seed and the point's
index through `numpy.random.SeedSequence` (`point_seed`), and a point runs the same code whichever backend
runs it, so the table does not depend on the process, the machine or the order.

With a folder, each finished point is written at once to `points/NNNNNN.parquet` (written aside, then
renamed), so an interrupted scan (Ctrl-C, a killed worker, a killed scan) loses no finished point, and
re-running the same scan into the same folder runs only the points it lacks (and those that failed).
A point that raises is a row with status "failed" and its error; it does not stop the scan.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

import scenarios
from _fastcore.threads import available_cores, set_kernel_threads
from models.registry import worlds
from optiscape.run import jsonable, run_model
from scenarios import Scenario

SCAN_FILE = "scan.yaml"  # the resolved scenario the folder's points belong to
POINTS = "points"  # one Parquet file per finished point
TABLE = "results.parquet"  # every point, in point order
SUMMARY = "summary.json"
POINT_COLUMNS = ["point", "repeat"]  # then the scan's parameters, then "seed", "status", "error", then results
DASK_CONNECT_SECONDS = 20  # how long to try reaching a scheduler before giving up
POOL_RESTARTS = 2  # a local pool whose worker dies is restarted this many times before the scan stops


class ScanError(Exception):
    """A scan that cannot start or go on (a folder holding another scan, an unreachable scheduler)."""


@dataclass(frozen=True)
class Point:
    """One run of a scan: grid combination `values`, repeat number `repeat`, and its own seed."""

    index: int
    repeat: int
    values: dict[str, Any]
    seed: int


@dataclass
class ScanResult:
    """What `run_scan` did: the table (every point it has, in point order) and its summary."""

    table: pd.DataFrame
    summary: dict[str, Any]
    folder: Path | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The failed points: index, repeat, values and error."""
        return self.summary["failed"]

    @property
    def complete(self) -> bool:
        return bool(self.summary["complete"])


def point_seed(seed: int, index: int) -> int:
    """The seed of point `index`: 63 bits of SeedSequence(seed, spawn_key=(index,)) (a table's int64 holds it).

    It is a plain integer, so a point can be replayed alone: `optiscape run` with this seed and the
    point's parameter values gives the same numbers.
    """
    state = np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(2, np.uint32)
    return int(state[0]) | ((int(state[1]) & 0x7FFFFFFF) << 32)


def scan_points(scenario: Scenario) -> list[Point]:
    """Every point of the scenario's grid, repeats innermost; a scenario without `scan:` is one point."""
    grid = scenario.grid() or [{}]
    return [Point(i * scenario.repeats + r, r, values, point_seed(scenario.seed, i * scenario.repeats + r))
            for i, values in enumerate(grid) for r in range(scenario.repeats)]


# --- one point, in whatever process runs it ------------------------------------------------------


@lru_cache(maxsize=8)
def _scenario_from(document: str) -> Scenario:
    data = json.loads(document)
    return scenarios.parse(data["scenario"], data["path"])


def _cell(value: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, anything else as JSON text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The scalar entries of a run summary as columns; nested mappings become dotted names, lists are left out."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif value is None or isinstance(value, bool | int | float | str | np.generic):
            out[name] = value.item() if isinstance(value, np.generic) else value
    return out


def _head(point: Point) -> dict[str, Any]:
    """The columns that name a point: index, repeat, the scanned values and the seed."""
    return {"point": point.index, "repeat": point.repeat, **{k: _cell(v) for k, v in point.values.items()},
            "seed": point.seed}


def _failure(point: Point, exc: BaseException) -> pd.DataFrame:
    """A failed point's one row."""
    return pd.DataFrame([{**_head(point), "status": "failed", "error": f"{type(exc).__name__}: {exc}"}])


def run_point(document: str, point: Point, threads: int | None = None) -> pd.DataFrame:
    """Run one point and return its rows; never raises: a failure is one row with status "failed" and the error.

    `document` is the scan's resolved scenario as JSON (what `_document` makes), so a worker on another
    machine needs the package, not the scenario file. `threads`: the kernels' OpenMP threads in this process
    from now on (a worker's setting; None leaves the process's own).
    """
    head = _head(point)
    if threads is not None:
        set_kernel_threads(threads)
    try:
        scenario = _scenario_from(document)
        model = run_model(scenario, progress=False, rng=point.seed, **point.values)
        if scenario.series:
            rows = model.tables()["model"]
            results = rows.rename(columns={c: f"result.{c}" for c in rows.columns if c in head})
            frame = pd.concat([pd.DataFrame([{**head, "status": "ok", "error": None}] * len(rows)),
                               results.reset_index(drop=True)], axis=1)
            return frame
        results = {(f"result.{k}" if k in head else k): v for k, v in flatten(model.summary()).items()}
        return pd.DataFrame([{**head, "status": "ok", "error": None, **results}])
    except Exception as exc:  # a point's failure is data, not the end of the scan
        return _failure(point, exc)


# --- where results go -----------------------------------------------------------------------------


class _MemoryStore:
    """Results kept in memory (a scan without a folder: nothing to resume)."""

    folder: Path | None = None

    def __init__(self) -> None:
        self.frames: dict[int, pd.DataFrame] = {}

    def finished(self) -> dict[int, pd.DataFrame]:
        return dict(self.frames)

    def save(self, index: int, frame: pd.DataFrame) -> None:
        self.frames[index] = frame

    def table(self) -> pd.DataFrame:
        return _combine(self.frames)


class _FolderStore(_MemoryStore):
    """Results written point by point into a scan folder, which a later scan of the same scenario resumes."""

    def __init__(self, folder: Path, document: dict[str, Any]) -> None:
        super().__init__()
        self.folder = folder
        self.points = folder / POINTS
        text = yaml.safe_dump(document, sort_keys=False)
        existing = folder / SCAN_FILE
        if existing.exists() or existing.is_symlink():
            try:
                held = yaml.safe_load(existing.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                raise ScanError(f"{existing}: cannot be read as a scan file ({type(exc).__name__}); expected the "
                                f"scan.yaml an earlier scan wrote: choose another --out, or remove the folder "
                                f"to start again") from None
            if held != document:
                raise ScanError(f"{folder} holds a different scan ({_first_difference(held, document)}); "
                                f"expected the same scenario and grid to resume it: choose another --out, or "
                                f"remove the folder to start again")
        elif folder.is_dir() and any(folder.iterdir()):
            raise ScanError(f"{folder}: a folder that holds other files but no scan; expected a new or empty "
                            f"folder, or one an earlier scan of this scenario wrote")
        try:
            self.points.mkdir(parents=True, exist_ok=True)
            if not existing.exists():
                _write_atomic(existing, text.encode())
        except OSError as exc:
            raise ScanError(f"{exc.filename or folder}: cannot be made a scan folder ({exc.strerror or exc}); "
                            f"expected a folder that can be created and written") from None
        for path in sorted(self.points.glob("[0-9]*.parquet")):
            if not path.stem.isdigit():
                continue  # not a point of ours: left alone
            try:
                self.frames[int(path.stem)] = pd.read_parquet(path)
            except (ValueError, OSError):  # unreadable (a point cut off mid-write by a crash): run that point again
                path.unlink()

    def save(self, index: int, frame: pd.DataFrame) -> None:
        path = self.points / f"{index:06d}.parquet"
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        super().save(index, frame)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _first_difference(held: Any, wanted: Any, where: str = "") -> str:
    if isinstance(held, dict) and isinstance(wanted, dict):
        for key in [*held, *(k for k in wanted if k not in held)]:
            if held.get(key) != wanted.get(key):
                return _first_difference(held.get(key), wanted.get(key), f"{where}.{key}" if where else str(key))
    return f"{where or 'the file'}: {_short(held)} there, {_short(wanted)} now"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _combine(frames: dict[int, pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=[*POINT_COLUMNS, "seed", "status", "error"])
    parts = [frames[i] for i in sorted(frames)]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


# --- backends -------------------------------------------------------------------------------------

Done = Callable[[Point, pd.DataFrame], None]


def _run_serially(document: str, points: list[Point], done: Done, threads: int | None) -> None:
    before = set_kernel_threads(threads) if threads is not None else None
    try:
        for point in points:
            done(point, run_point(document, point))
    finally:
        if threads is not None:
            set_kernel_threads(before)


def _start_worker(threads: int) -> None:
    """Pool workers leave Ctrl-C to the scan, which stops them itself (no half-finished point is recorded), and
    run their kernels on `threads` OpenMP threads (workers x threads should not exceed the cores)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_kernel_threads(threads)


def _fork_is_safe() -> bool:
    """fork copies only the calling thread: safe while no other Python thread runs here and no kernel has
    started OpenMP's threads (GNU libgomp hangs in a forked child that uses it again)."""
    threaded = (sys.modules.get(f"_fastcore.{name}") for name in ("causalvm", "explorers", "walkers"))
    return threading.active_count() == 1 and not any(kernel is not None and kernel.threads_started()
                                                     for kernel in threaded)


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork when that is safe (workers inherit the imports: nothing is imported again); forkserver otherwise,
    which imports the models once, in its server."""
    if _fork_is_safe() and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    models = [entry.model.partition(":")[0] for entry in worlds().values()]
    context.set_forkserver_preload(["optiscape.scans", *models])
    return context


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    # Python 3.14 has pool.terminate_workers(); before it, the processes are only reachable here, and only
    # before shutdown(), which forgets them.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def _run_on_pool(document: str, points: list[Point], done: Done, processes: int, threads: int,
                 context: multiprocessing.context.BaseContext) -> None:
    pending = list(points)
    restarts = 0
    while pending:
        pool = ProcessPoolExecutor(max_workers=min(processes, len(pending)), mp_context=context,
                                   initializer=_start_worker, initargs=(threads,))
        futures: dict[Future, Point] = {pool.submit(run_point, document, p): p for p in pending}
        try:
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    point = futures.pop(future)
                    done(point, future.result())
                    pending.remove(point)
        except BrokenProcessPool:
            _stop_workers(pool)
            restarts += 1
            if restarts > POOL_RESTARTS:
                raise ScanError(f"a worker process died {restarts} times (killed, or crashed by a point); "
                                f"{len(pending)} points did not finish; finished points are kept: run the same "
                                f"scan again to resume") from None
            continue
        except BaseException:
            _stop_workers(pool)
            raise
        pool.shutdown(wait=True)


def _connect(scheduler: str) -> Any:
    """A Dask client of the scheduler at `scheduler`, or a ScanError saying it cannot be reached, within
    DASK_CONNECT_SECONDS whatever answers there."""
    from distributed import Client

    expected = "expected the address `dask scheduler` prints, such as tcp://10.0.0.5:8786"
    _check_listening(scheduler, expected)
    outcome: dict[str, Any] = {}

    def connect() -> None:
        try:
            outcome["client"] = Client(scheduler, timeout=DASK_CONNECT_SECONDS)
        except MemoryError:  # another protocol's reply read as a frame length
            outcome["error"] = "what answers there is not a Dask scheduler"
        except Exception as exc:
            outcome["error"] = exc

    # distributed bounds the connection, not the handshake: a server that accepts and never answers would hang.
    thread = threading.Thread(target=connect, daemon=True, name="dask-connect")
    thread.start()
    thread.join(DASK_CONNECT_SECONDS + 1)
    if "client" in outcome:
        return outcome["client"]
    reason = outcome.get("error", f"no Dask handshake within {DASK_CONNECT_SECONDS} s")
    raise ScanError(f"could not reach a Dask scheduler at {scheduler!r} ({_short_error(reason)}); {expected}")


def _check_listening(scheduler: str, expected: str) -> None:
    """Fail at once, not after distributed's retries, where nothing listens at a tcp:// address."""
    scheme, _, rest = scheduler.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ScanError(f"--scheduler {scheduler!r}: not an address tcp://HOST:PORT; {expected}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=DASK_CONNECT_SECONDS).close()
    except OSError as exc:
        raise ScanError(f"could not reach a Dask scheduler at {scheduler!r} ({_short_error(exc)}); {expected}") \
            from None


def _short_error(error: Any) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= 100 else text[:97] + "..."


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """distributed's own log below ERROR off while a scan runs on Dask: a lost worker is rescheduled and a lost
    scheduler stops the scan in one line of ours; its INFO lines (tracebacks of closed comms) would bury that."""
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _close(client: Any) -> None:
    """Close the Dask client; after a lost scheduler, without distributed's traceback of the reconnection that
    closing cancels (the scan has already said what happened, in one line)."""
    if client.status == "running":
        client.close()
        return
    log = logging.getLogger("distributed.client")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        client.close()
    finally:
        log.setLevel(level)


def _run_on_dask(document: str, points: list[Point], done: Done, client: Any, threads: int, scheduler: str) -> None:
    """Every point on the cluster; a lost worker's points run again elsewhere (Dask reschedules them), a lost
    scheduler stops the scan with a ScanError (the finished points are kept, so the same command resumes)."""
    from concurrent.futures import CancelledError

    from distributed import as_completed

    futures = {client.submit(run_point, document, p, threads, pure=False): p for p in points}
    finished = 0
    try:
        for future in as_completed(futures):
            point = futures[future]
            try:
                frame = future.result()
            except (CancelledError, OSError):  # run_point never raises: only the connection can fail like this
                raise ScanError(f"lost the Dask scheduler at {scheduler}; {len(points) - finished} points did not "
                                f"finish; finished points are kept: run the same scan again to resume") from None
            except Exception as exc:  # the task itself failed (a worker killed repeatedly, no package there, ...)
                frame = _failure(point, exc)
            done(point, frame)
            finished += 1
    finally:
        if client.status == "running":
            client.cancel(list(futures))


# --- the scan -------------------------------------------------------------------------------------


def _document(scenario: Scenario) -> dict[str, Any]:
    return jsonable(scenario.resolved())


def run_scan(scenario: Scenario | str | Path, out: Path | str | None = None, processes: int | None = None,
             scheduler: str | None = None, progress: bool = False, threads: int | None = None) -> ScanResult:
    """Run every point of the scenario's grid that `out` does not hold yet; write the table and summary there.

    processes: local worker processes (default: the cores this process may use; 1 runs in this process).
    scheduler: a Dask scheduler address (tcp://HOST:PORT); the points then run on that cluster.
    threads: OpenMP threads per point's kernels (default: 1 where points run side by side, in worker processes
    or on Dask, since the points already fill the cores; the process's own setting when run serially).
    """
    if not isinstance(scenario, Scenario):
        scenario = scenarios.load(scenario)
    for name, value in (("processes", processes), ("threads", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name}: expected a whole number >= 1, got {value!r}")
    processes = processes or available_cores()
    document = _document(scenario)
    client = _connect(scheduler) if scheduler else None  # an unreachable scheduler fails before anything is written
    store = _FolderStore(Path(out), document) if out is not None else _MemoryStore()
    points = scan_points(scenario)
    held = store.finished()
    todo = [p for p in points if p.index not in held or (held[p.index]["status"] != "ok").any()]
    reused = {p.index for p in points} - {p.index for p in todo}
    payload = json.dumps({"scenario": document, "path": str(scenario.path)})
    backend = ("nothing to run" if not todo else f"dask {scheduler}" if scheduler
               else "serial" if processes == 1 or len(todo) == 1 else f"{min(processes, len(todo))} processes")
    started = time.perf_counter()
    context = _pool_context() if backend.endswith("processes") else None  # before the bar starts tqdm's thread
    # No tqdm object at all without a bar: any tqdm starts a monitor thread, and pools fork only single-threaded.
    bar = tqdm(total=len(todo), desc=f"scan {scenario.path.stem}", unit="point", leave=False) if progress and todo \
        else None

    ran: list[int] = []

    def done(point: Point, frame: pd.DataFrame) -> None:
        store.save(point.index, frame)
        ran.append(point.index)
        if bar is not None:
            bar.update()

    stopped: str | None = None
    try:
        if not todo:
            pass
        elif client is not None:
            with _quiet_distributed():
                _run_on_dask(payload, todo, done, client, threads or 1, scheduler)
        elif backend == "serial":
            _run_serially(payload, todo, done, threads)
        else:
            _run_on_pool(payload, todo, done, processes, threads or 1, context)
    except KeyboardInterrupt:
        stopped = "interrupted"
    except ScanError as exc:
        stopped = str(exc)
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            _close(client)

    table = store.table()
    by_point = {int(i): f for i, f in table.groupby("point", sort=True)} if len(table) else {}
    values = {p.index: p.values for p in points}
    failed = [{"point": i, "repeat": int(f["repeat"].iloc[0]), "values": values[i], "error": str(f["error"].iloc[0])}
              for i, f in by_point.items() if (f["status"] != "ok").any()]
    summary = {
        "scenario": str(scenario.path), "model": scenario.model, "title": scenario.title, "seed": scenario.seed,
        "parameters": list(scenario.scan or {}), "repeats": scenario.repeats, "points": len(points),
        "finished": len(by_point), "ran_now": len(ran), "reused": len(reused),
        "failed": failed, "backend": backend,
        "seconds": round(time.perf_counter() - started, 3), "complete": len(by_point) == len(points) and not stopped,
        "stopped": stopped,
    }
    if store.folder is not None:
        tmp = store.folder / f"{TABLE}.{os.getpid()}.tmp"  # another scan into this folder may write it too
        table.to_parquet(tmp, index=False)
        os.replace(tmp, store.folder / TABLE)
        _write_atomic(store.folder / SUMMARY, json.dumps(jsonable(summary), indent=2).encode())
    if stopped == "interrupted":
        raise ScanInterrupted(ScanResult(table, summary, store.folder))
    return ScanResult(table, summary, store.folder)


class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C during a scan: the finished points are saved; `result` holds them."""

    def __init__(self, result: ScanResult) -> None:
        super().__init__("scan interrupted")
        self.result = result


def scan(scenario: Scenario | str | Path, out: Path | str | None = None, processes: int | None = None,
         scheduler: str | None = None, progress: bool = False, threads: int | None = None) -> pd.DataFrame:
    """The scan's table as a DataFrame (one row per point and repeat, or per collected step with `series`).

    Failed points are rows with status "failed" and their error. See `run_scan` for the arguments.
    """
    return run_scan(scenario, out, processes, scheduler, progress, threads).table

