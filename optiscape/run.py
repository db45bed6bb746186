"""Run one scenario and write its run folder: resolved scenario, Parquet tables, PNG figures, summary."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from tqdm import tqdm

from models.errors import WorldError
from optiscape.figures import save
from scenarios import Scenario


@dataclass(frozen=True)
class RunResult:
    folder: Path
    summary: dict[str, Any]
    files: list[Path]


def default_folder(scenario: Scenario, root: Path = Path("runs")) -> Path:
    """A new folder root/<scenario>-<time>, made here; where another run took that name in the same second, the
    name gets -2, -3, ... (two runs never share a folder)."""
    stem = f"{scenario.path.stem}-{datetime.now():%Y%m%d-%H%M%S}"
    root.mkdir(parents=True, exist_ok=True)
    folder, n = root / stem, 1
    while True:
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            n += 1
            folder = root / f"{stem}-{n}"


def jsonable(value: Any) -> Any:
    """Numbers, lists and dicts that strict JSON can write; infinity and NaN become the strings "inf", "-inf" and
    "nan" (JSON has no such numbers, and null would hide them: a mean escape time that is infinite is a result)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def run_model(scenario: Scenario, progress: bool = True, rng: Any = None, **overrides: Any) -> Any:
    """Build the scenario's model (seeded from the scenario unless `rng` is given, with parameter
    `overrides`) and step it `steps` times (or until it stops), with a progress bar. A step's WorldError comes
    out naming the scenario's file too."""
    model = scenario.build(rng, **overrides)
    try:
        return _step(model, scenario, progress)
    except WorldError as exc:
        raise exc.naming(scenario.path) from None


def _step(model: Any, scenario: Scenario, progress: bool) -> Any:
    if not progress:  # no tqdm at all: even a disabled bar starts tqdm's monitor thread (scans fork after this)
        for _ in range(scenario.steps):
            if not model.running:
                break
            model.step()
        return model
    # tqdm's delay hides the bar on runs shorter than a second.
    with tqdm(total=scenario.steps, desc=scenario.path.stem, unit="step", delay=1.0, leave=False) as bar:
        for _ in range(scenario.steps):
            if not model.running:
                break
            model.step()
            bar.update()
    return model


RUN_FILES = ("scenario.yaml", "summary.json", "*.parquet", "*.png")  # what a run writes into its folder


class OutputError(ValueError):
    """A run folder that cannot be used: one line naming it and what was expected."""


def check_folder(folder: Path, earlier: Callable[[Path], bool], what: str) -> None:
    """Refuse, without touching it, a `folder` that cannot take a `what`: a file, or a folder holding other files
    than an earlier `what` (which `earlier` recognises)."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {folder}: a file, not a folder; expected a folder for the {what}'s files")
    if folder.is_dir() and not earlier(folder) and any(folder.iterdir()):
        raise OutputError(f"--out {folder}: a folder holding other files; expected a new or empty folder, or "
                          f"an earlier {what}'s folder (which is then replaced)")


def prepare_folder(folder: Path, earlier: Callable[[Path], bool], what: str) -> bool:
    """Check that `folder` can take a `what` (`check_folder`) and make it if it is new; returns whether it was made
    here. The caller replaces an earlier `what` in it."""
    check_folder(folder, earlier, what)
    if folder.is_dir():
        return False
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"--out {folder}: cannot be made a {what} folder ({exc.strerror or exc}); expected a "
                          f"folder that can be created and written") from None
    return True


def earlier_run(folder: Path) -> bool:
    return (folder / "scenario.yaml").is_file() and (folder / "summary.json").is_file() \
        and not (folder / "scan.yaml").exists()


def _outputs(scenario: Scenario, model: Any, seconds: float) -> tuple[dict[str, pd.DataFrame], dict[str, Any], str,
                                                                       dict[str, Any]]:
    """The run's tables, figures, summary.json text and summary; a world whose tables() or summary() gives
    something that cannot be written is refused in one line naming the world."""
    world = f"the {scenario.model!r} world's"
    tables = model.tables()
    if not isinstance(tables, dict) or not all(isinstance(t, pd.DataFrame) for t in tables.values()):
        found = {name: type(t).__name__ for name, t in tables.items()} if isinstance(tables, dict) \
            else type(tables).__name__
        raise WorldError(f"{world} tables() gave {found}; expected a dict of pandas DataFrames by table name")
    summary = {"scenario": str(scenario.path), "model": scenario.model, "title": scenario.title,
               "seed": scenario.seed, "seconds": round(seconds, 3), **model.summary()}
    try:
        text = json.dumps(jsonable(summary), indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise WorldError(f"{world} summary() cannot be written as JSON ({exc}); expected numbers, strings, lists "
                         "and dicts") from None
    draw = scenario.world.figure_maker()
    return tables, draw(model, tables) if draw is not None else {}, text, summary


def run(scenario: Scenario, out: Path | None = None, progress: bool = True) -> RunResult:
    """Run a scenario and write its run folder (a folder it created is removed again if the run fails)."""
    folder = out or default_folder(scenario)
    created = out is None or prepare_folder(folder, earlier_run, "run")
    started = time.perf_counter()
    try:  # the run, and all of its outputs, before anything in the folder is replaced
        model = run_model(scenario, progress)
        tables, outputs, summary_text, summary = _outputs(scenario, model, time.perf_counter() - started)
    except BaseException:
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise  # an earlier run in the folder is left whole
    for pattern in RUN_FILES:  # the earlier run's files go only now, so that none is left among this run's
        for path in folder.glob(pattern):
            path.unlink()
    files = [folder / "scenario.yaml"]
    files[0].write_text(yaml.safe_dump(scenario.resolved(), sort_keys=False), encoding="utf-8")
    for name, table in tables.items():
        path = folder / f"{name}.parquet"
        table.to_parquet(path, index=False)
        files.append(path)
    files.extend(save(outputs, folder))
    summary_path = folder / "summary.json"
    summary_path.write_text(summary_text, encoding="utf-8")
    files.append(summary_path)
    return RunResult(folder, summary, files)
