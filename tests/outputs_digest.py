"""Digests of every shipped scenario's outputs, to prove a refactor leaves them bit-identical.

    python tests/outputs_digest.py record FILE [--only NAME ...]   # run the scenarios, write their digests
    python tests/outputs_digest.py check FILE [--only NAME ...]    # run them again, compare; exit 1 if any differ

Each scenario runs as `optiscape run` runs it (scenarios.load, then optiscape.run.run into a temporary folder).
Digested: every Parquet table (column names, dtypes and the values' bytes), summary.json without wall-clock
fields, and scenario.yaml (the resolved parameters). PNG figures are not. MNIST scenarios read
OPTISCAPE_MNIST_DIR or ../shared/data/mnist beside the repository, and are skipped, with the reason, without it.
Not a pytest module: it runs every scenario, minutes in all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's own packages, wherever it is run from

import scenarios
from optiscape.run import run

WALL_CLOCK = {"seconds"}  # summary keys that time the run, so differ every run (and every key "..._seconds")
WHERE = {"scenario", "data_dir"}  # keys holding a path on this machine (summary.json, scenario.yaml)
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def _value_bytes(value: Any) -> bytes:
    """A value of an object column, exactly: an array's dtype, shape and bytes; anything else its repr."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        return f"{value.dtype.str}{value.shape}".encode() + np.ascontiguousarray(value).tobytes()
    if isinstance(value, np.ndarray | list | tuple):
        return b"[" + b",".join(_value_bytes(v) for v in value) + b"]"
    if isinstance(value, dict):
        return b"{" + b",".join(_value_bytes(k) + b":" + _value_bytes(v) for k, v in value.items()) + b"}"
    return repr(value).encode()  # a float's repr round-trips, so it is exact


def table_digest(path: Path) -> str:
    """sha256 of a Parquet table's column names, dtypes and values (not the file, which names library versions)."""
    table = pd.read_parquet(path)
    h = hashlib.sha256()
    for name in table.columns:
        values = table[name].to_numpy()
        # An object column holds pointers to Python objects, so its values are digested one by one.
        data = _value_bytes(list(values)) if values.dtype == object else np.ascontiguousarray(values).tobytes()
        h.update(f"{name!r} {table[name].dtype} {len(data)}\n".encode())
        h.update(data)
    return h.hexdigest()


def _portable(value: Any) -> Any:
    """A JSON or YAML document without wall-clock fields, and with paths to files on this machine cut to their
    names (the checkout's and the data's folders are not outputs of a model)."""
    if isinstance(value, dict):
        return {k: Path(v).name if k in WHERE and isinstance(v, str) else _portable(v)
                for k, v in value.items() if k not in WALL_CLOCK and not k.endswith("_seconds")}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    return value


def document_digest(path: Path) -> str:
    """sha256 of summary.json or scenario.yaml, made portable (see `_portable`)."""
    text = path.read_text(encoding="utf-8")
    # PyYAML reads JSON's 1e-05 as a string, so JSON goes through json.
    document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return hashlib.sha256(json.dumps(_portable(document), indent=2).encode()).hexdigest()


def mnist_dir() -> Path | None:
    """MNIST where the project looks for it (as bench/knowledge.py does), or None."""
    given = os.environ.get("OPTISCAPE_MNIST_DIR", "").strip()
    if given:
        return Path(given)
    return SHARED_MNIST if SHARED_MNIST.is_dir() else None


def prepare(path: Path) -> tuple[scenarios.Scenario | None, str]:
    """The scenario ready to run (MNIST given to those that read it), or None and why it cannot run here."""
    scenario = scenarios.load(path)
    params = scenario.params
    if "data_dir" in type(params).model_fields and getattr(params, "data", None) == "mnist" and not params.data_dir:
        directory = mnist_dir()
        if directory is None:
            return None, f"needs MNIST: set OPTISCAPE_MNIST_DIR or put it at {SHARED_MNIST}"
        scenario = scenarios.with_data_dir(scenario, directory)
    return scenario, ""


def digest_run(scenario: scenarios.Scenario) -> dict[str, str]:
    """Run a scenario as `optiscape run` does, into a temporary folder, and digest its outputs by file name."""
    with tempfile.TemporaryDirectory(prefix="outputs_digest-") as folder:
        result = run(scenario, Path(folder), progress=sys.stderr.isatty())
        digests = {}
        for path in sorted(result.files, key=lambda p: p.name):
            if path.suffix == ".parquet":
                digests[path.name] = table_digest(path)
            elif path.name in ("summary.json", "scenario.yaml"):
                digests[path.name] = document_digest(path)
        return digests


def selected(only: list[str] | None) -> list[Path]:
    """The shipped scenario files, or those named in `only` (an unknown name is an error, not an empty run)."""
    paths = {path.stem: path for path in scenarios.shipped()}
    unknown = sorted(set(only or []) - set(paths))
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; see `optiscape list`")
    return [paths[name] for name in sorted(only or paths)]


def compare(recorded: dict[str, str], digests: dict[str, str]) -> str:
    """'same', or the files whose digests differ (or that one side lacks)."""
    differ = []
    for name in sorted(recorded.keys() | digests.keys()):
        if name not in digests:
            differ.append(f"{name} (no longer written)")
        elif name not in recorded:
            differ.append(f"{name} (new)")
        elif recorded[name] != digests[name]:
            differ.append(name)
    return "differ: " + ", ".join(differ) if differ else "same"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["record", "check"])
    p.add_argument("file", type=Path, help="the digests' JSON file")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these scenarios (names as in `optiscape list`)")
    args = p.parse_args(argv)
    record = args.action == "record"
    # `record --only` updates those scenarios in an existing file; a plain `record` starts it anew.
    keep = args.file.exists() and (not record or args.only)
    saved = json.loads(args.file.read_text()) if keep else {"digests": {}, "seconds": {}, "skipped": {}}
    bad, total = 0, 0.0

    def say(name: str, text: str) -> None:
        print(f"{name:<34}  {text}", flush=True)

    for path in selected(args.only):
        name = path.stem
        if record:  # what this run finds replaces what the file said
            for section in saved.values():
                section.pop(name, None)
        scenario, reason = prepare(path)
        if scenario is None:
            if record:
                saved["skipped"][name] = reason
            elif name in saved["digests"]:
                bad += 1  # recorded elsewhere but not runnable here: nothing was proved
            say(name, f"skipped: {reason}")
            continue
        started = time.perf_counter()
        try:
            digests = digest_run(scenario)
        except Exception as exc:
            bad += 1
            say(name, f"error: {exc.__class__.__name__}: {exc}")
            continue
        seconds = time.perf_counter() - started
        total += seconds
        if record:
            saved["digests"][name], saved["seconds"][name] = digests, round(seconds, 1)
            say(name, f"{seconds:7.1f}s  {len(digests)} files")
        elif name not in saved["digests"]:
            say(name, f"{seconds:7.1f}s  new: not in {args.file}")
        else:
            verdict = compare(saved["digests"][name], digests)
            bad += verdict != "same"
            say(name, f"{seconds:7.1f}s  {verdict}")
    if not record and not args.only:
        for name in sorted(saved["digests"].keys() - {path.stem for path in scenarios.shipped()}):
            bad += 1
            say(name, f"missing: in {args.file} but no longer shipped")
    if record:
        args.file.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
        print(f"total {total:.1f}s; {len(saved['digests'])} scenarios recorded in {args.file}; {bad} failed")
    else:
        outcome = f"{bad} scenario(s) differ, failed or were not checked" if bad else "all same"
        print(f"total {total:.1f}s; {outcome}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
