"""The command line: run folders, the summary table, list, and the reproduction report."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import scenarios
from optiscape.cli import main


def test_run_writes_a_complete_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "sgd_pit_escape_fine", "--out", str(out), "--steps", "300"]) == 0
    text = capsys.readouterr().out
    assert "P(escaped within N steps)" in text and f"run folder: {out}" in text
    for name in ("scenario.yaml", "model.parquet", "walkers.parquet", "escape.parquet", "summary.json",
                 "landscape.png", "timeseries.png", "escape.png"):
        assert (out / name).exists(), name
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert resolved["steps"] == 300 and resolved["params"]["n_walkers"] == 2000
    summary = json.loads((out / "summary.json").read_text())
    escape = pd.read_parquet(out / "escape.parquet")
    assert summary["steps"] == 300 and len(escape) == 11 * 3  # 11 temperatures x horizons 10, 100, 300
    walkers = pd.read_parquet(out / "walkers.parquet")
    assert len(walkers) == 11 * 2000
    assert summary["escaped_fraction"] == pytest.approx((walkers.escape_step >= 0).mean())


def test_list_shows_every_shipped_scenario(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "sgd_pit_escape " in out and "Escaping the pit under SGD" in out


HEAVY = ("mesa", "scipy", "solara", "matplotlib", "models.sgd.model", "models.cooperation.model")


@pytest.mark.parametrize("argv", [["list"], ["run", "sgd_pit_escap"]])
def test_list_and_a_mistyped_name_import_no_world(argv):
    """`optiscape list` reads each file's model and title, and a missing file fails before any world is imported."""
    code = ("import sys\nfrom optiscape.cli import main\ncode = main(sys.argv[1:])\n"
            f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == f"{0 if argv == ['list'] else 2} []", done.stdout + done.stderr


def test_reproduce_reports_every_sgd_claim(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["reproduce", "--quick", "--out", str(out)]) == 0
    claims = json.loads((out / "claims.json").read_text())
    ids = {c["id"] for c in claims}
    assert {"sgd.run_probability_81pct", "sgd.consecutive_steps_5", "sgd.stationary_points_l1",
            "sgd.escape_probability_rises_with_T", "sgd.easier_than_run_model"} <= ids
    for c in claims:
        assert set(c) == {"id", "world", "claim", "text_value", "measured", "verdict", "note"}
        assert c["verdict"] in ("reproduced", "differs")
    assert {"density.symmetric_noise_mean", "density.case_c_stationary", "density.end_state_formula",
            "density.log_escape_time_function_of_T", "density.fine_grid_escape_curves",
            "density.wider_minimum_denser", "density.low_variance_bias"} <= ids
    verdicts = {c["id"]: c["verdict"] for c in claims}
    # The essay's printed master equation and end-state formula are not SGD's (docs/density.md): Monte Carlo decides.
    assert verdicts["density.symmetric_noise_mean"] == "differs"
    assert verdicts["density.end_state_formula"] == "differs"
    assert verdicts["density.fine_grid_escape_curves"] == "reproduced"
    assert verdicts["density.wider_minimum_denser"] == "reproduced"
    assert verdicts["density.low_variance_bias"] == "reproduced"
    # The essay is wrong here: GD at T = 0.05 is unstable in the pit (docs/sgd.md; see the claim's note).
    assert verdicts["sgd.pit_gd_small_step_stuck"] == "differs"
    assert verdicts["sgd.run_probability_81pct"] == "reproduced"
    assert verdicts["sgd.optimal_T_depends_on_spikiness"] == "reproduced"
    report = (out / "report.md").read_text()
    assert "sgd.run_probability_81pct" in report and "figures/" in report
    for line in report.splitlines():
        if line.startswith("!["):
            assert (out / line.split("(")[1].rstrip(")")).exists()


def test_viz_serves_the_page_on_loopback_and_prints_the_address():
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "optiscape.cli", "viz", "sgd_pit_escape", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # the title, then "starting ...", then the address once the server answers
        lines = [server.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("Escaping the pit under SGD") and f"open http://127.0.0.1:{port}/" in lines[2], lines
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the page did not answer within 90 s"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # `optiscape viz` stopped its page server with it: nothing answers on the port any more.
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except OSError:
            break
        assert time.monotonic() < deadline, "the page server outlived `optiscape viz`"
        time.sleep(0.5)


def test_the_reference_page_is_generated_from_the_code_and_not_stale(tmp_path):
    """docs/reference.md lists every shipped scenario and parameter; it fails here when the code moved on."""
    from optiscape import reference

    root = Path(__file__).resolve().parents[1]
    assert not reference.stale(root), "docs/reference.md is stale: run `optiscape reference`"
    text = (root / reference.PAGE).read_text(encoding="utf-8")
    assert all(f"`{path.stem}`" in text for path in scenarios.shipped())
    (tmp_path / "docs").mkdir()
    (tmp_path / reference.PAGE).write_text(text.replace("`n_walkers`", "`walkers`"), encoding="utf-8")
    assert reference.stale(tmp_path)


def test_a_mistyped_scenario_name_gets_a_did_you_mean(capsys):
    assert main(["run", "sgd_pit_escap"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'sgd_pit_escape'?" in err


def test_list_aligns_its_columns_and_filters_by_world(capsys):
    assert main(["list", "--world", "density"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.split()[1] == "density" for line in lines)
    assert len({line.index(line.split()[2]) for line in lines}) == 1  # every title starts in the same column
    assert main(["list", "--world", "nope"]) == 2
    assert "expected one of causal, cooperation" in capsys.readouterr().err


def test_every_argument_of_every_command_is_described_in_help():
    import argparse

    from optiscape.cli import parser

    def undescribed(p: argparse.ArgumentParser, name: str) -> list[str]:
        missing = []
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    missing += undescribed(sub, f"{name} {sub_name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{name}: {action.dest}")
        return missing

    assert undescribed(parser(), "optiscape") == []


def test_reproduce_only_takes_a_world_name(tmp_path, monkeypatch):
    """The causal world's claims are `optimization.*`: --only causal picks them too."""
    from optiscape import report

    chosen = []
    monkeypatch.setattr(report, "measure_each", lambda claims, *rest: chosen.extend(claims) or [])
    monkeypatch.setattr(report, "write_report", lambda *args, **kwargs: None)
    report.reproduce(tmp_path, only="causal.")
    assert chosen and {claim.world for claim in chosen} == {"causal"}
    assert {claim.id.split(".")[0] for claim in chosen} == {"optimization"}


def test_a_bad_command_line_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", "sgd_pit_gd", "--steps", "-1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == ("optiscape run: error: argument --steps: expected a number of steps >= 0, got -1 "
                           "(see `optiscape run --help`)")


def test_run_keeps_out_of_folders_and_files_it_did_not_write(tmp_path, capsys):
    """--out on a file, or on a folder holding other files, is refused in one line; an earlier run's folder is
    replaced whole, so no file of the earlier run is left among the new one's."""
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    for out, message in ((a_file, "a file, not a folder"), (other, "a folder holding other files"),
                         (a_file / "sub", "cannot be made a run folder")):
        assert main(["run", "sgd_pit_gd", "--out", str(out), "--steps", "5"]) == 2
        said = capsys.readouterr()
        assert f"optiscape: error: --out {out}: {message}" in said.err
        assert said.out == "" or out == a_file / "sub"  # refused before the run's heading, where it can be
    assert a_file.read_text() == "mine" and [p.name for p in other.iterdir()] == ["notes.txt"]
    out = tmp_path / "run"
    assert main(["run", "sgd_pit_escape_fine", "--out", str(out), "--steps", "5"]) == 0
    assert (out / "walkers.parquet").exists()
    assert main(["run", "causal_linear_thermostat", "--out", str(out), "--steps", "5"]) == 0
    assert not (out / "walkers.parquet").exists()  # the SGD run's table, which a causal run does not write
    assert yaml.safe_load((out / "scenario.yaml").read_text())["model"] == "causal"


def test_ctrl_c_ends_a_run_in_one_line_and_leaves_no_empty_folder(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    # Ctrl-C's default action for the child even where the tests run as a background job, whose SIGINT the shell
    # ignores (Python then installs no KeyboardInterrupt handler, and the run would go on for hours).
    process = subprocess.Popen([sys.executable, "-m", "optiscape.cli", "run", "sgd_pit_escape", "--out", str(out),
                                "--steps", "10000000", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not out.exists() and time.monotonic() < deadline:  # the run has started once its folder exists
            time.sleep(0.05)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()  # no run left behind if it did not stop
    assert process.returncode == 130 and err.strip() == "optiscape: interrupted"
    assert not out.exists()


def test_an_interrupted_report_keeps_the_claims_it_measured(tmp_path, monkeypatch):
    from optiscape import report

    def one_then_ctrl_c(claims, quick, figures):
        yield {"id": claims[0].id, "world": claims[0].world, "claim": claims[0].claim,
               "text_value": claims[0].text_value, "measured": 1.0, "verdict": "reproduced", "note": "", "seconds": 0}
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "measure_each", one_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        report.reproduce(tmp_path, only="sgd.")
    assert len(json.loads((tmp_path / "claims.json").read_text())) == 1
    assert "Interrupted: 1 of the" in (tmp_path / "report.md").read_text()


def test_reproduce_refuses_a_missing_data_dir_before_measuring(tmp_path, capsys):
    assert main(["reproduce", "--only", "knowledge.", "--data-dir", str(tmp_path / "none"),
                 "--out", str(tmp_path / "r")]) == 2
    assert "not a directory; expected a directory holding the four standard MNIST IDX files" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_viz_refuses_a_port_in_use_in_one_line(capsys):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        assert main(["viz", "sgd_pit_gd", "--port", str(port)]) == 2
    assert f"optiscape: error: --port {port}: cannot serve there" in capsys.readouterr().err


def test_two_runs_started_in_one_second_get_folders_of_their_own(tmp_path, monkeypatch):
    from datetime import datetime

    from optiscape import run

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(run, "datetime", Frozen)
    scenario = scenarios.load("sgd_pit_gd")
    folders = [run.default_folder(scenario, tmp_path) for _ in range(3)]
    assert [f.name for f in folders] == ["sgd_pit_gd-20260102-030405", "sgd_pit_gd-20260102-030405-2",
                                         "sgd_pit_gd-20260102-030405-3"]
    assert all(f.is_dir() for f in folders)


def test_reproduce_writes_into_a_new_or_an_earlier_reports_folder_only(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["reproduce", "--quick", "--only", "sgd.gd_one_datapoint", "--out", str(out)]) == 0
    assert [p.name for p in (out / "figures").iterdir()] == ["sgd.gd_one_datapoint_step_size.png"]
    assert main(["reproduce", "--quick", "--only", "sgd.stationary_points", "--out", str(out)]) == 0
    assert not any((out / "figures").iterdir())  # the earlier report's figure went with it
    assert [c["id"] for c in json.loads((out / "claims.json").read_text())] == ["sgd.stationary_points_l1"]
    capsys.readouterr()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["reproduce", "--quick", "--only", "sgd.stationary_points", "--out", str(other)]) == 2
    assert f"optiscape: error: --out {other}: a folder holding other files" in capsys.readouterr().err
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    assert main(["reproduce", "--only", "", "--out", str(tmp_path / "all")]) == 2
    assert "--only '': expected the start of a claim id" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["abc", "-1", "99999", "1.5"])
def test_viz_refuses_a_port_out_of_range_with_one_message(port, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["viz", "sgd_pit_gd", "--port", port])
    assert stop.value.code == 2
    assert f"--port: expected a port from 1 to 65535 (0: any free one), got '{port}'" in capsys.readouterr().err


@pytest.mark.parametrize(("method", "value", "message"), [
    ("tables", lambda self: {"model": [1, 2]}, "the 'sgd' world's tables() gave {'model': 'list'}; expected a dict"),
    ("summary", lambda self: {"odd": {1, 2}}, "the 'sgd' world's summary() cannot be written as JSON"),
])
def test_a_world_whose_outputs_cannot_be_written_is_one_line_and_leaves_the_earlier_run(
        method, value, message, tmp_path, capsys, monkeypatch):
    from models.sgd.model import SGDModel

    out = tmp_path / "run"
    assert main(["run", "sgd_pit_gd", "--out", str(out), "--steps", "3", "--quiet"]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    monkeypatch.setattr(SGDModel, method, value)
    assert main(["run", "sgd_pit_gd", "--out", str(out), "--steps", "3", "--quiet"]) == 2
    assert f"optiscape: error: {message}" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert main(["run", "sgd_pit_gd", "--out", str(tmp_path / "new"), "--steps", "3", "--quiet"]) == 2
    assert not (tmp_path / "new").exists()


def test_a_summary_may_hold_arrays():
    import numpy as np

    from optiscape.run import jsonable

    assert jsonable({"a": np.array([1.5, np.inf]), "b": np.int64(3)}) == {"a": [1.5, "inf"], "b": 3}


def test_a_world_without_its_params_class_is_refused_when_defined():
    from models.world import World

    with pytest.raises(TypeError, match="a World names its parameters class, as in `Params = MyParams`"):
        type("NoParams", (World,), {})


def test_list_marks_a_scenario_whose_world_is_not_registered(tmp_path, monkeypatch, capsys):
    orphan = tmp_path / "orphan_demo.yaml"
    orphan.write_text("model: orphan\ntitle: A world not installed yet\nseed: 1\nsteps: 1\n")
    monkeypatch.setattr(scenarios, "shipped", lambda: [orphan, *scenarios.SHIPPED.glob("sgd_pit_gd.yaml")])
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("(its world is not registered: it cannot run yet)") and "not registered" not in lines[1]
