"""The knowledge world's scenarios, claims and command line ("Knowledge Localization"; docs/knowledge.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scenarios
from models.knowledge import claims as knowledge_claims
from models.knowledge.claims import ACTIVATIONS, DIGITS_VARIANT, LEARNING_RATES, SEED, SEED_EXPERIMENT
from models.knowledge.params import KnowledgeParams
from optiscape.cli import main

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason=f"MNIST is not at {MNIST} (tests only; nothing downloads)")


def test_the_report_runs_the_shipped_scenarios():
    """The claims' configurations are the scenario files' (so a scenario run is what the report measured)."""
    for name, params, grid in (
        ("knowledge_mnist", SEED_EXPERIMENT, None),
        ("knowledge_activations", SEED_EXPERIMENT, {"activation": list(ACTIVATIONS),
                                                    "learning_rate": LEARNING_RATES["mnist"]}),
        ("knowledge_learning_rate", SEED_EXPERIMENT, {"learning_rate": LEARNING_RATES["mnist"]}),
        ("knowledge_control", {**SEED_EXPERIMENT, "seeds": 4}, None),
        ("knowledge_digits", DIGITS_VARIANT, {"activation": list(ACTIVATIONS),
                                              "learning_rate": LEARNING_RATES["digits"]}),
    ):
        scenario = scenarios.load(name)
        assert scenario.params == KnowledgeParams(**params), name
        assert scenario.scan == grid, name
        assert scenario.seed == SEED, name


def test_digits_claims_have_verdicts(monkeypatch):
    monkeypatch.delenv(knowledge_claims.MNIST_VARIABLE, raising=False)
    measured = {c.id: c.measure(True) for c in knowledge_claims.claims()}
    assert set(measured) == {"knowledge.r2_biases", "knowledge.r2_weights", "knowledge.relu_like_only",
                             "knowledge.blank_pixel_clusters", "knowledge.second_half_tally", "knowledge.pixel_heatmap",
                             "knowledge.localized_change", "knowledge.cross_model_matching"}
    for m in measured.values():
        assert m.verdict in ("reproduced", "differs")
        assert "8x8 digits" in m.note  # it says which data it ran on
    # the always-blank pixels' weights sit on their bias's point: exact up to round-off
    clusters = measured["knowledge.blank_pixel_clusters"]
    assert clusters.verdict == "reproduced" and clusters.measured["max_abs_r_minus_bias_r"] < 1e-9
    # the tally of all of phase 1 and of its second half: the same training, so the same q; the paired difference
    # of R^2 lies inside its interval, and the unpaired R^2 equal the r2 claims' for the default (second half)
    halves = measured["knowledge.second_half_tally"].measured
    for group in ("weights", "biases"):
        for kind in ("raw", "above_control"):
            low, high = halves[group]["second_half_minus_all"][kind]["95%"]
            assert low <= halves[group]["second_half_minus_all"][kind]["difference"] <= high
    assert halves["weights"]["second_half"]["R^2"] == measured["knowledge.r2_weights"].measured["same_network"]["R^2"]
    # each pair of forks moves the input weights where its own pair of digits differs, more than where the other
    # does; over the hidden units the two changes fall on the same units (not localized apart)
    localized = measured["knowledge.localized_change"]
    for corr in localized.measured.values():
        assert corr["c_vs_delta_c"] > corr["c_vs_delta_d"] and corr["d_vs_delta_d"] > corr["d_vs_delta_c"]
        assert corr["units_c_vs_d"] > 0.5
    assert localized.verdict == "differs"
    # units matched across two networks of one architecture by update profiles share knowledge profiles
    matching = measured["knowledge.cross_model_matching"]
    same = matching.measured["same architecture, another seed"]
    assert same["holds"] and all(same[kind]["matched_q_correlation"] > same[kind]["null_99%"]
                                 for kind in ("raw", "centred"))
    assert matching.verdict == ("reproduced" if matching.measured["ReLU with 50 hidden units"]["holds"] else "differs")
    weights = measured["knowledge.r2_weights"].measured
    assert set(weights) == {"configuration", "same_network", "cross_seed_control", "scan"}
    assert len(weights["scan"]) == 9


def test_run_writes_the_knowledge_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "knowledge_digits", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "r_squared" in text and "finished" in text
    for name in ("scenario.yaml", "model.parquet", "runs.parquet", "correlations.parquet", "parameters.parquet",
                 "pixels.parquet", "summary.json", "progress.png", "scatter.png", "heatmap.png"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    correlations = pd.read_parquet(out / "correlations.parquet")
    own = correlations[(correlations.group == "weights") & ~correlations.control & (correlations.r_seed == 0)]
    assert summary["r_squared"]["weights"] == pytest.approx(own.r_squared.iloc[0], abs=1e-4)
    assert len(pd.read_parquet(out / "pixels.parquet")) == 64


def test_data_dir_errors_are_one_line(tmp_path, capsys):
    assert main(["run", "knowledge_mnist", "--out", str(tmp_path / "a")]) == 2
    assert "data 'mnist' needs a directory: give data_dir in the scenario's params, or --data-dir DIR" in \
        capsys.readouterr().err
    assert main(["run", "knowledge_mnist", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "b")]) == 2
    assert "not a directory; expected a directory holding the four standard MNIST IDX files" in \
        capsys.readouterr().err
    assert main(["run", "knowledge_digits", "--data-dir", str(tmp_path)]) == 2
    assert "params.data_dir: only applies to data 'mnist', not 'digits'" in capsys.readouterr().err
    assert main(["run", "sgd_pit_escape", "--data-dir", str(tmp_path)]) == 2
    assert "--data-dir: the 'sgd' world reads no data set" in capsys.readouterr().err


def test_a_bad_class_list_in_a_scenario_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: knowledge\ntitle: t\nseed: 1\nsteps: 1\nparams: {class_a: [1, 12]}\n")
    with pytest.raises(scenarios.ScenarioError, match=r"params\.class_a\[1\]: input should be less than or equal "
                                                      "to 9"):
        scenarios.load(path)
    path.write_text("model: knowledge\ntitle: t\nseed: 1\nsteps: 1\nparams: {class_a: [1, 7, 9]}\n")
    with pytest.raises(scenarios.ScenarioError, match=r"params\.class_a: list should have at most 2 items"):
        scenarios.load(path)


@needs_mnist
@pytest.mark.slow
def test_mnist_experiment_runs_from_its_scenario_and_lands_in_the_report(tmp_path, capsys, monkeypatch):
    """The acceptance's end-to-end run, on a subset: `run knowledge_mnist --data-dir` and `reproduce --quick`."""
    monkeypatch.setenv(knowledge_claims.MNIST_VARIABLE, "")  # restored (unset) after the test: --data-dir sets it
    subset = tmp_path / "knowledge_mnist_subset.yaml"
    text = scenarios.SHIPPED.joinpath("knowledge_mnist.yaml").read_text()
    subset.write_text(text.replace("  seeds: 2\n", "  seeds: 1\n  train_examples: 14000\n  phase1_examples: 12000\n"
                                                  "  hidden: 30\n")
                      .replace("  hidden: 100\n", ""))
    out = tmp_path / "run"
    assert main(["run", str(subset), "--data-dir", str(MNIST), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"] == "mnist" and summary["inputs"] == 784 and summary["finished"]
    assert summary["clusters"]["always_blank_pixels"] > 50 and (out / "heatmap.png").exists()

    monkeypatch.setattr(knowledge_claims, "QUICK_MNIST", {"train_examples": 14000, "phase1_examples": 12000,
                                                             "hidden": 30, "seeds": 2})
    report = tmp_path / "report"
    assert main(["reproduce", "--quick", "--only", "knowledge.r2_biases", "--data-dir", str(MNIST), "--out",
                 str(report)]) == 0
    claims = json.loads((report / "claims.json").read_text())
    assert [c["id"] for c in claims] == ["knowledge.r2_biases"]
    assert claims[0]["verdict"] in ("reproduced", "differs") and "on MNIST, quick" in claims[0]["note"]
    assert np.isfinite(claims[0]["measured"]["same_network"]["R^2"])
    assert "knowledge.r2_biases" in (report / "report.md").read_text()
