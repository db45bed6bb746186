"""The `optiscape` command: run, scan, list, viz, reproduce and ledger.

Bad input (a scenario that does not validate, a missing file) prints one line and exits
with status 2; `--debug` shows the traceback instead. `scan` exits with 1 when some points
failed or the scan could not finish, and with 130 when interrupted (finished points are kept).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

EXIT_BAD_INPUT = 2
EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict) and all(isinstance(v, int | float | bool | str) for v in value.values()):
        text = ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
        if len(text) <= 110:
            return text
    if isinstance(value, list | dict):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else f"({len(value)} entries, see summary.json)"
    return str(value)


def _cmd_run(args: argparse.Namespace) -> int:
    import scenarios

    scenario = scenarios.load(args.file)  # before the run's imports, so that a bad file fails at once
    if args.steps is not None:
        scenario = scenarios.Scenario(**{**scenario.__dict__, "steps": args.steps})
    if args.data_dir is not None:
        scenario = scenarios.with_data_dir(scenario, args.data_dir)
    if args.threads is not None:
        from _fastcore.threads import set_kernel_threads

        set_kernel_threads(args.threads)
    from optiscape.run import check_folder, earlier_run, run

    if args.out:  # a folder that cannot take the run is refused before anything is printed or run
        check_folder(Path(args.out), earlier_run, "run")
    print(f"{scenario.title}  [{scenario.model}, seed {scenario.seed}, {scenario.steps} steps]")
    result = run(scenario, Path(args.out) if args.out else None, progress=not args.quiet)
    width = max(len(k) for k in result.summary)
    for key, value in result.summary.items():
        if key in ("scenario", "title", "descriptions", "mean_escape_time", "warnings"):
            continue
        print(f"  {key:<{width}}  {_fmt(value)}")
    if result.summary.get("escape_probability"):
        import pandas as pd

        table = pd.DataFrame(result.summary["escape_probability"])
        pivot = table.pivot(index="temperature", columns="horizon", values="escape_probability")
        print("\nP(escaped within N steps), rows T, columns N:")
        print(pivot.to_string(float_format=lambda v: f"{v:.4f}"))
    if "consecutive_steps" in result.summary:
        import pandas as pd

        print("\nThe consecutive-steps argument: n(T) steps on one datapoint, and P(a run of >= n in N picks):")
        table = pd.DataFrame(result.summary["consecutive_steps"])
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if "descriptions" in result.summary:
        import pandas as pd

        print("\nThe density four ways (where an edge absorbs: what has not escaped yet):")
        print(pd.DataFrame(result.summary["descriptions"]).T.to_string(float_format=lambda v: f"{v:.5g}"))
    if "mean_escape_time" in result.summary:
        print("\nMean escape time (steps):")
        for name, value in result.summary["mean_escape_time"].items():
            print(f"  {name:<14} {_fmt(value)}")
    for warning in result.summary.get("warnings", []):
        print(f"warning: {warning}")
    print(f"\nrun folder: {result.folder}")
    for path in result.files:
        print(f"  {path.name}")
    return 0


def _report_scan(result: Any, where: str) -> None:
    s = result.summary
    if s["ran_now"] == 0 and s["reused"] == s["points"]:
        print(f"all {s['points']} points are already in the folder: nothing to run; {len(s['failed'])} failed")
    else:
        print(f"{s['finished']} of {s['points']} points ({s['ran_now']} run now, {s['reused']} already in the "
              f"folder) on {s['backend']} in {s['seconds']:.1f}s; {len(s['failed'])} failed")
    for entry in s["failed"][:10]:
        print(f"  point {entry['point']} {_fmt(entry['values'])} (repeat {entry['repeat']}): {entry['error']}")
    if len(s["failed"]) > 10:
        print(f"  ... and {len(s['failed']) - 10} more (see summary.json)")
    if s["stopped"] and s["stopped"] != "interrupted":
        print(f"stopped: {s['stopped']}")
    if where:
        print(f"scan folder: {where}  (results.parquet, summary.json, scan.yaml, points/)")


def _cmd_scan(args: argparse.Namespace) -> int:
    import scenarios
    from optiscape.run import default_folder
    from optiscape.scans import ScanError, ScanInterrupted, run_scan, scan_points

    scenario = scenarios.load(args.file)
    if not scenario.scan:
        raise ValueError(f"{scenario.path}: no scan: block with a parameter to scan; expected a grid such as "
                         f"`scan: {{temperature: {{logspace: [-3, -1, 25]}}, repeats: 4}}` (see the README)")
    if args.data_dir is not None:
        scenario = scenarios.with_data_dir(scenario, args.data_dir)
    if args.processes is not None and args.scheduler is None:
        from _fastcore.threads import available_cores

        if args.processes > available_cores():
            print(f"note: {args.processes} processes on {available_cores()} cores: the points will take turns on "
                  f"them, which is slower than one process per core", file=sys.stderr)
    out = Path(args.out) if args.out else default_folder(scenario, Path("scans"))
    grid = ", ".join(f"{name} x{len(values)}" for name, values in scenario.scan.items())
    print(f"{scenario.title}  [{scenario.model}, seed {scenario.seed}, {scenario.steps} steps; {grid}, "
          f"repeats {scenario.repeats}: {len(scan_points(scenario))} points]", flush=True)
    try:
        result = run_scan(scenario, out, processes=args.processes, scheduler=args.scheduler,
                          progress=not args.quiet, threads=args.threads)
    except ScanInterrupted as stop:
        _report_scan(stop.result, str(out))
        print("interrupted: finished points are saved; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ScanError as exc:
        print(f"optiscape: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        if not args.out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # the default folder, made for a scan that wrote nothing (an unreachable scheduler, ...)
    _report_scan(result, str(out))
    return 0 if result.complete and not result.failed else EXIT_SOME_FAILED


def _cmd_list(args: argparse.Namespace) -> int:
    import scenarios
    from models.registry import worlds

    rows = [(path.stem, *scenarios.heading(path)) for path in scenarios.shipped()]
    if args.world is not None:
        known = sorted({model for _, model, _ in rows})
        if args.world in worlds() and args.world not in known:
            print(f"the world {args.world!r} ships no scenario; run it from a YAML file (`model: {args.world}`)")
            return 0
        if args.world not in known:
            hint = difflib.get_close_matches(args.world, known, n=1)
            guess = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"--world {args.world!r}: no shipped scenario of that world{guess}; expected one of "
                             f"{', '.join(known)}")
        rows = [row for row in rows if row[1] == args.world]
    name_width, world_width = (max(len(row[i]) for row in rows) for i in (0, 1))
    registered = worlds()
    for name, model, title in rows:
        missing = "" if model in registered else "  (its world is not registered: it cannot run yet)"
        print(f"{name:<{name_width}}  {model:<{world_width}}  {title}{missing}")
    return 0


def _whole_number(what: str, least: int) -> Any:
    """An argparse type: a whole number of `what`, at least `least`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of {what}, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected a number of {what} >= {least}, got {value}")
        return value

    return parse


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1..65535 (0: any free one)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535 (0: any free one), got {text!r}")
    return port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cmd_viz(args: argparse.Namespace) -> int:
    import scenarios

    scenario = scenarios.load(args.file)  # validate before importing the page's libraries
    port = args.port or _free_port()
    try:  # a port in use is refused here, in one line, rather than by the server after its start-up
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
    except OSError as exc:
        raise ValueError(f"--port {port}: cannot serve there ({exc.strerror or exc}); expected a free port, or no "
                         f"--port for any free one") from None
    print(f"{scenario.title}\nstarting the page server ...", flush=True)
    from optiscape.app import serve

    # Ctrl-C and SIGTERM end the process at once (see serve).
    serve(scenario.path, port, on_ready=lambda: print(f"open http://127.0.0.1:{port}/  (Ctrl-C stops)", flush=True))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from optiscape.report import reproduce

    out = Path(args.out)

    def show(record: dict[str, Any]) -> None:
        print(f"  {record['verdict']:<10}  {record['id']}  ({record['seconds']:.1f}s)"
              + (f"  {record['note']}" if record["verdict"] != "reproduced" and record.get("note") else ""),
              flush=True)

    if args.data_dir is not None:  # the knowledge claims read MNIST from here (models.knowledge.claims)
        from models.knowledge.digit_data import load_mnist

        load_mnist(args.data_dir)  # a directory without MNIST is refused now, in one line, not claim by claim
        os.environ["OPTISCAPE_MNIST_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    print(f"measuring the source texts' claims{' (quick)' if args.quick else ''} ...", flush=True)
    try:
        records = reproduce(out, quick=args.quick, only=args.only, on_done=show)
    except KeyboardInterrupt:
        print(f"interrupted: the claims measured so far are in {out / 'report.md'} and {out / 'claims.json'}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    failed = [r for r in records if "error" in r]
    reproduced = sum(r["verdict"] == "reproduced" for r in records)
    print(f"\n{reproduced} of {len(records)} reproduced; report: {out / 'report.md'}; claims: {out / 'claims.json'}")
    return 1 if failed else 0


def _cmd_reference(args: argparse.Namespace) -> int:
    from optiscape import reference

    root = Path(args.root)
    if args.check:
        if reference.stale(root):
            print(f"optiscape: {root / reference.PAGE} is stale: run `optiscape reference`", file=sys.stderr)
            return 1
        print(f"{root / reference.PAGE} is up to date")
        return 0
    print(f"wrote {reference.write(root)}")
    return 0


def _cmd_ledger(args: argparse.Namespace) -> int:
    """`ledger verify` and `ledger show`: 0 when the ledger verifies, 1 when not (one line naming the first bad
    block or row), 2 when the file is missing or unreadable."""
    from models.cooperation.ledger import Ledger, LedgerError

    path = Path(args.file)
    if not path.is_file() or not os.access(path, os.R_OK):
        print(f"optiscape: error: ledger {path}: no such readable file; expected a ledger's SQLite file",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.out) if getattr(args, "out", None) else None
    if out is not None:  # a folder that holds something else is refused before anything is read
        from optiscape.run import prepare_folder

        names = {f"{name}.parquet" for name in Ledger.SHOWN}
        prepare_folder(out, lambda folder: all(path.name in names for path in folder.iterdir()), "ledger show")
    head = None
    if getattr(args, "head", None):
        height, _, digest = args.head.partition(":")
        if not height.isdigit() or len(digest) != 64:
            print(f"optiscape: error: --head {args.head!r}: expected HEIGHT:HASH (summary.json's head_height and "
                  f"head)", file=sys.stderr)
            return EXIT_BAD_INPUT
        head = (int(height), digest)
    try:
        ledger = Ledger.open(path, head=head)
    except LedgerError as exc:
        print(f"invalid: {exc}")
        return EXIT_SOME_FAILED
    report = ledger.verify_report
    if args.action == "verify":
        print(f"valid: {report.blocks} blocks, head {report.blocks - 1}:{report.head}, {report.accepted} accepted "
              f"and {report.rejected} rejected transactions, {report.checkpoints} signed checkpoints"
              + (", ending at the recorded head" if head else " (give --head to rule out truncation)"))
        return 0
    tables = ledger.tables()
    for name, table in tables.items():
        more = f" (first 40 of {len(table)})" if len(table) > 40 else ""
        print(f"\n{name}{more}:\n{table.head(40).to_string(index=False, max_colwidth=18)}")
    print(f"\ntax pool: {report.state.pool / 1_000_000:g} tokens")
    if out is not None:
        for name, table in tables.items():
            table.to_parquet(out / f"{name}.parquet", index=False)
        print(f"wrote {', '.join(f'{name}.parquet' for name in tables)} to {out}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (usage is one `--help` away), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="optiscape", description="Agent-based worlds of optimizers.")
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a scenario and write its run folder")
    r.add_argument("file", help="a scenario YAML file, or the name of a shipped scenario")
    r.add_argument("--out", help="run folder (default: runs/<scenario>-<time>)")
    r.add_argument("--steps", type=_whole_number("steps", 0), help="override the scenario's number of steps")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--data-dir", help="a directory holding the four MNIST IDX files (worlds that read data)")
    r.add_argument("--threads", type=_whole_number("threads", 1),
                   help="OpenMP threads for the kernels (default: OMP_NUM_THREADS, or the cores this process may use)")
    r.set_defaults(func=_cmd_run)

    sc = sub.add_parser("scan", help="run every point of a scenario's scan: grid; write one table")
    sc.add_argument("file", help="a scenario YAML file with a scan: block, or the name of a shipped one")
    sc.add_argument("--out", help="scan folder (default: scans/<scenario>-<time>); an existing folder of the "
                                  "same scan is resumed")
    sc.add_argument("--processes", type=_whole_number("processes", 1),
                    help="local worker processes (default: the machine's cores)")
    sc.add_argument("--scheduler", help="a Dask scheduler address (tcp://HOST:PORT): run the points there")
    sc.add_argument("--threads", type=_whole_number("threads", 1),
                    help="OpenMP threads per point (default: 1 when points run side by side, in processes or on "
                         "Dask; as `run` when serial)")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    sc.add_argument("--data-dir", help="a directory holding the four MNIST IDX files (worlds that read data)")
    sc.set_defaults(func=_cmd_scan)

    ls = sub.add_parser("list", help="the shipped scenarios with their titles")
    ls.add_argument("--world", help="only this world's scenarios (e.g. sgd, cooperation)")
    ls.set_defaults(func=_cmd_list)

    v = sub.add_parser("viz", help="serve a scenario's world in the browser on 127.0.0.1")
    v.add_argument("file", help="a scenario YAML file, or the name of a shipped scenario (see `optiscape list`)")
    v.add_argument("--port", type=_port, default=0, help="port (default: a free one)")
    v.set_defaults(func=_cmd_viz)

    rep = sub.add_parser("reproduce", help="measure every claim of the source texts; write report.md and claims.json")
    rep.add_argument("--out", default="reports/latest", help="report folder (default: reports/latest)")
    rep.add_argument("--quick", action="store_true", help="fewer walkers: a faster, noisier report")
    rep.add_argument("--only", help="only claims whose id starts with this (e.g. 'sgd.'), or one world's (e.g. causal)")
    rep.add_argument("--data-dir", help="MNIST's four IDX files: the knowledge claims run on it (else on the 8x8 "
                     "digits)")
    rep.set_defaults(func=_cmd_reproduce)

    ref = sub.add_parser("reference", help="write docs/reference.md: every shipped scenario and every parameter")
    ref.add_argument("--root", default=".", help="the checkout whose docs/ to write (default: this folder)")
    ref.add_argument("--check", action="store_true", help="write nothing; exit 1 if the page is stale")
    ref.set_defaults(func=_cmd_reference)

    lg = sub.add_parser("ledger", help="verify or show a cooperation world's ledger file")
    lg_sub = lg.add_subparsers(dest="action", required=True)
    lv = lg_sub.add_parser("verify", help="verify every block, transaction and checkpoint; exit 1 if invalid")
    lv.add_argument("file", help="the ledger's SQLite file")
    lv.add_argument("--head", help="HEIGHT:HASH the run recorded (summary.json's head_height and head)")
    lsh = lg_sub.add_parser("show", help="verify, then print blocks, transactions, identities and balances")
    lsh.add_argument("file", help="the ledger's SQLite file")
    lsh.add_argument("--out", help="also write the four tables as Parquet into this folder")
    lg.set_defaults(func=_cmd_ledger)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # a ScenarioError, a DivergenceError, any other bad input: one line
        if args.debug:
            raise
        print(f"optiscape: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader stopped (`optiscape list | head`): nothing left to say, and nowhere to say it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_SOME_FAILED
    except OSError as exc:  # a path that cannot be read or written (--out on a file, a missing folder, ...)
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"optiscape: error: {where}{exc.strerror or exc}; expected a path that can be read and written",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("optiscape: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
