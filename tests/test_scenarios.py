"""Scenario files: every shipped one loads; every kind of bad file gets one clear line and exit status 2."""

import subprocess
import sys
import textwrap

import pytest

import scenarios
from models.registry import worlds
from optiscape.cli import main

GOOD = """\
model: sgd
title: t
seed: 1
steps: 10
params:
  temperature: 0.05
  landscape: {preset: pit}
"""


@pytest.mark.parametrize("path", scenarios.shipped(), ids=lambda p: p.stem)
def test_every_shipped_scenario_validates(path):
    scenario = scenarios.load(path)
    assert scenario.title and scenario.model in worlds()
    assert scenarios.load(path.stem).path == path  # shipped scenarios load by name too


BAD = {
    "unknown model": (GOOD.replace("model: sgd", "model: sgdd"),
                      f"model: unknown model 'sgdd' (did you mean 'sgd'?); expected one of {sorted(worlds())}"),
    "unknown key": (GOOD + "  colour: red\n", "params.colour: unknown key 'colour'; expected one of landscape"),
    "misspelled key": (GOOD.replace("temperature:", "temprature:"),
                       "params.temprature: unknown key 'temprature' (did you mean 'temperature'?)"),
    "misspelled top-level key": (GOOD.replace("steps:", "step:"), "step: unknown key 'step' (did you mean 'steps'?)"),
    "wrong type": (GOOD.replace("steps: 10", "steps: many"), "steps: input should be a valid integer"),
    "negative T": (GOOD.replace("0.05", "-0.1"), "params.temperature: input should be greater than 0; got -0.1"),
    "NaN T": (GOOD.replace("0.05", ".nan"), "params.temperature: input should be a finite number; got nan"),
    "empty landscape": (GOOD.replace("{preset: pit}", "{datapoints: {}}"),
                        "params.landscape: expected at least one datapoint under 'datapoints'"),
    "datapoint without terms": (GOOD.replace("{preset: pit}", "{datapoints: {a: []}}"),
                                "params.landscape: datapoint 'a': expected at least one term, got none"),
    "boolean walker count": (GOOD + "  n_walkers: true\n", "params.n_walkers: input should be a valid integer"),
    "T as text": (GOOD.replace("0.05", "'0.05'"), "params.temperature: input should be a valid number"),
    "zero-width pit": (GOOD.replace("{preset: pit}", "{preset: pit, options: {width: 0}}"),
                       "params.landscape: a Gaussian well needs a width parameter b > 0"),
    "ball centre of the wrong size": (GOOD + "  escape: {outside: {center: [1, 2, 3], radius: 1}}\n",
                                      "params.escape: escape.outside.center: expected a number or a list of 1"),
    "not YAML": ("model: sgd\n  title: [unclosed\n", "not valid YAML at line"),
    "not a mapping": ("- just\n- a list\n", "expected a mapping of scenario keys"),
    "unknown landmark datapoint": (GOOD + "  escape: {above: {local_maximum: l7, near: 1.2}}\n",
                                   "params.escape: unknown datapoint 'l7'"),
    "bad scan grid": (GOOD + "scan:\n  temperature: {logspace: [-3, -1]}\n", "scan.temperature.logspace"),
    "scan of an unknown parameter": (GOOD + "scan:\n  temprature: [0.1]\n",
                                     "scan.temprature: not a parameter of this model (did you mean 'temperature'?)"),
    "negative T in a scan": (GOOD + "scan:\n  temperature: [0.1, -1]\n", "scan.temperature: input should be greater"),
    "a key given twice": (GOOD + "seed: 2\n", "not valid YAML at line 8, column 1: the key 'seed' is given twice"),
    "a range of two numbers": (GOOD + "scan:\n  temperature: {range: [0.1, 1]}\n",
                               "scan.temperature.range: expected [start, stop, step], three numbers; got [0.1, 1]"),
    "a range of words": (GOOD + "scan:\n  temperature: {range: [a, b, c]}\n",
                         "scan.temperature.range: expected [start, stop, step], three numbers; got ['a', 'b', 'c']"),
    "a word or a number, neither": ("model: cooperation\ntitle: t\nseed: 1\nsteps: 2\nparams:\n"
                                    "  price_compute: markt\n",
                                    "params.price_compute: input should be 'market' or a number; got 'markt'"),
    "a ledger in a missing folder": ("model: cooperation\ntitle: t\nseed: 1\nsteps: 2\nparams:\n"
                                     "  ledger_path: /nonexistent/dir/led.sqlite\n",
                                     "params.ledger_path: the folder '/nonexistent/dir' does not exist"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_scenarios_get_one_line_naming_file_key_and_expectation(case, tmp_path, capsys):
    text, expected = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(scenarios.ScenarioError) as info:
        scenarios.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert expected in message
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"optiscape: error: {message}" and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_missing_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("0.05", "-1"))
    plain = subprocess.run([sys.executable, "-m", "optiscape.cli", "run", str(path)], capture_output=True, text=True)
    debug = subprocess.run([sys.executable, "-m", "optiscape.cli", "--debug", "run", str(path)], capture_output=True,
                           text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "ScenarioError" in debug.stderr


def test_scan_grid_is_the_product(tmp_path):
    path = tmp_path / "scan.yaml"
    path.write_text(GOOD + textwrap.dedent("""\
        scan:
          temperature: {logspace: [-3, -1, 3]}
          n_walkers: [10, 20]
          repeats: 4
        """))
    scenario = scenarios.load(path)
    grid = scenario.grid()
    assert len(grid) == 6 and scenario.repeats == 4
    assert grid[0] == {"temperature": pytest.approx(0.001), "n_walkers": 10}


def test_a_range_of_whole_numbers_scans_a_whole_number_parameter(tmp_path):
    path = tmp_path / "scan.yaml"
    path.write_text(GOOD + "scan:\n  n_walkers: {range: [50, 150, 50]}\n  temperature: {range: [0.01, 0.03, 0.01]}\n")
    grid = scenarios.load(path).grid()
    assert sorted({point["n_walkers"] for point in grid}) == [50, 100]
    assert all(type(point["n_walkers"]) is int for point in grid)
    assert sorted({point["temperature"] for point in grid}) == pytest.approx([0.01, 0.02])  # stop excluded


def test_a_range_of_decimals_steps_as_written_and_excludes_its_stop(tmp_path):
    path = tmp_path / "scan.yaml"
    path.write_text(GOOD + "scan:\n  temperature: {range: [0.01, 0.1, 0.01]}\n")
    values = [point["temperature"] for point in scenarios.load(path).grid()]
    assert values == [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09]  # not 0.060000000000000005, nor ~0.1
    path.write_text(GOOD + "scan:\n  temperature: {range: [0.1, 0.01, -0.03]}\n")
    assert [point["temperature"] for point in scenarios.load(path).grid()] == [0.1, 0.07, 0.04]


def test_numbers_and_words_are_read_as_yaml_1_2_reads_them(tmp_path):
    """1e-2 is a number (YAML 1.1 wants 1.0e-2 and reads 1e-2 as text); only true and false are booleans (YAML 1.1
    also reads yes, no, on and off so, which made `ledger: off` false); a boolean key still takes yes and no."""
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("0.05", "5e-2"))
    assert scenarios.load(path).params.temperature == 0.05
    path.write_text("model: cooperation\ntitle: t\nseed: 1\nsteps: 2\nparams:\n  ledger: off\n  attacker: no\n"
                    "  veil_of_ignorance: yes\n")
    params = scenarios.load(path).params
    assert (params.ledger, params.attacker, params.veil_of_ignorance) == ("off", False, True)


def test_a_shipped_name_is_found_when_a_folder_of_that_name_is_in_the_way(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sgd_pit_gd").mkdir()  # e.g. the output folder of `optiscape run sgd_pit_gd --out sgd_pit_gd`
    assert scenarios.load("sgd_pit_gd").path.parent == scenarios.SHIPPED
    (tmp_path / "not_a_scenario").mkdir()
    with pytest.raises(scenarios.ScenarioError, match="is a directory"):
        scenarios.load("not_a_scenario")


def test_a_scan_axis_may_name_one_key_of_a_mapping_parameter(tmp_path):
    path = tmp_path / "scan.yaml"
    path.write_text("model: intelligence\ntitle: t\nseed: 1\nsteps: 5\n"
                    "params: {growth: {increment: 0.1, distribution: fixed}}\nscan:\n  growth.increment: [0.2, 0.3]\n")
    scenario = scenarios.load(path)
    model = scenario.build(None, **scenario.grid()[1])
    assert model.params.growth.increment == 0.3 and model.params.growth.distribution == "fixed"
    path.write_text(path.read_text().replace("growth.increment:", "growth.incremnt:"))
    with pytest.raises(scenarios.ScenarioError, match=r"scan\.growth\.incremnt: not a parameter of this model "
                                                      r"\(did you mean 'growth\.increment'\?\)"):
        scenarios.load(path)
