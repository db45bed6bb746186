"""The meta-optimization world (Tunador (2023), §2; docs/metaopt.md): bad input, the memory budget, agents born
and removed, φ."""

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import scenarios
from models.landscapes import LandscapeError
from models.metaopt.model import MetaoptModel, PopulationBudgetError
from models.metaopt.params import MetaoptParams

SMALL = {"landscape": {"function": "rastrigin", "dim": 2},
         "algorithms": [{"count": 4, "n_explorers": 3, "angle": 40.0, "speed": 0.05, "generality": 0.5,
                         "reproduction": 0.02, "start": {"low": -3.0, "high": 3.0}}],
         "explorer_spread": 0.2}


def _algorithm(**traits) -> dict:
    return {"landscape": {"function": "sphere", "dim": 2}, "algorithms": [traits]}


@pytest.mark.parametrize("traits, message", [
    ({"angle": -1.0}, r"algorithms\.0\.angle\n  Input should be greater than or equal to 0"),
    ({"angle": 90.5}, r"algorithms\.0\.angle\n  Input should be less than or equal to 90"),
    ({"generality": 1.2}, r"algorithms\.0\.generality\n  Input should be less than or equal to 1"),
    ({"generality": -0.1}, r"algorithms\.0\.generality\n  Input should be greater than or equal to 0"),
    ({"n_explorers": -3}, r"algorithms\.0\.n_explorers\n  Input should be greater than or equal to 1"),
    ({"speed": -0.1}, r"algorithms\.0\.speed\n  Input should be greater than or equal to 0"),
    ({"reproduction": 1.5}, r"algorithms\.0\.reproduction\n  Input should be less than or equal to 1"),
])
def test_traits_out_of_range_are_refused_naming_the_trait_and_range(traits, message):
    with pytest.raises(ValidationError, match=message):
        MetaoptParams(**_algorithm(**traits))


@pytest.mark.parametrize("law, message", [
    ({"alpha": [0.0, 2.0]}, r"Beta parameters must be positive: expected alpha at G = 0 and at G = 1 both > 0, "
                            r"got \[0.0, 2.0\]"),
    ({"beta": [30.0, -1.0]}, r"Beta parameters must be positive: expected beta .* got \[30.0, -1.0\]"),
])
def test_beta_parameters_that_are_not_positive_are_refused(law, message):
    with pytest.raises(ValidationError, match=message):
        MetaoptParams(beta_law=law)


def _scenario(tmp_path, params: str):
    path = tmp_path / "bad.yaml"
    path.write_text(f"model: metaopt\ntitle: bad\nseed: 1\nsteps: 5\nparams:\n{params}", encoding="utf-8")
    return path


@pytest.mark.parametrize("params, message", [
    ("  algorithms: [{angle: 120.0}]\n",
     "params.algorithms[0].angle: input should be less than or equal to 90; got 120.0"),
    ("  algorithms: [{generality: 2.0}]\n",
     "params.algorithms[0].generality: input should be less than or equal to 1; got 2.0"),
    ("  algorithms: [{n_explorers: -1}]\n", "params.algorithms[0].n_explorers: input should be greater than or equal "
                                            "to 1; got -1"),
    ("  algorithms: [{speed: -1.0}]\n",
     "params.algorithms[0].speed: input should be greater than or equal to 0; got -1.0"),
    ("  beta_law: {alpha: [1.0, 0.0]}\n", "params.beta_law.alpha: Beta parameters must be positive"),
    ("  landscape: {function: expression, dim: 2, expression: 'x0 + z'}\n",
     "params.landscape: expression 'x0 + z': unknown name (expected one of: x0, x1): 'z' at column 6"),
    ("  generality_model: binary\n  algorithms: [{generality: 0.5}]\n",
     "params.algorithms[0].generality: the binary model needs G = 0 or 1, got 0.5"),
    ("  p_general: 0.6\n  p_specific: 0.6\n", "params.p_specific: p_general + p_specific must be at most 1"),
])
def test_a_bad_scenario_gets_one_line_naming_the_key(tmp_path, params, message):
    with pytest.raises(scenarios.ScenarioError) as error:
        scenarios.load(_scenario(tmp_path, params))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_landscape_expression_that_fails_during_a_run_stops_it_naming_the_expression_and_point():
    model = MetaoptModel({"landscape": {"function": "expression", "dim": 2, "expression": "sqrt(x0) + x1**2"},
                          "algorithms": [{"n_explorers": 1, "speed": 0.5, "start": {"at": [0.3, 1.0]}}]}, rng=1)
    with pytest.raises(LandscapeError, match=r"params.landscape.expression: 'sqrt\(x0\) \+ x1\*\*2' fails at "
                                             r"x = \[-0\.\d+, [\d.]+\]: a non-finite value or derivative "
                                             r"\(overflow, or log/sqrt/power of a number outside its domain\)"):
        for _ in range(5):
            model.step()


def test_a_population_exploding_past_the_memory_budget_stops_with_a_message_naming_the_budget():
    params = {"landscape": {"function": "sphere", "dim": 2}, "memory_budget_mb": 2.0,
              "algorithms": [{"count": 10, "n_explorers": 20, "angle": 60.0, "generality": 1.0, "reproduction": 0.5,
                              "start": {"low": -1.0, "high": 1.0}}]}
    model = MetaoptModel(params, rng=3)
    with pytest.raises(PopulationBudgetError,
                       match=r"population explosion at step \d+: \d+ algorithms with \d+ explorers would need about "
                             r"[\d,]+ MB, past the memory budget memory_budget_mb = 2 MB") as error:
        for _ in range(50):
            model.step()
    assert model.steps < 50
    # stopped before growing past the budget: what it holds still fits
    assert model._estimated_bytes(model.n_algorithms, len(model.owner)) <= 2 * 2**20
    assert isinstance(error.value, ValueError)  # the CLI prints it as one line


def test_the_cli_reports_the_memory_budget_as_one_line(tmp_path, capsys):
    from optiscape.cli import main

    path = _scenario(tmp_path, "  memory_budget_mb: 1.0\n  algorithms: [{count: 10, n_explorers: 20, angle: 60.0, "
                               "reproduction: 0.5, start: {low: -1.0, high: 1.0}}]\n  landscape: {function: sphere}\n")
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"optiscape: error: {path}: params.memory_budget_mb: population explosion") \
        and "memory_budget_mb = 1 MB" in err


def test_mesa_agents_are_born_and_removed_with_the_population():
    params = {**SMALL, "selection": {"every": 5, "fraction": 0.3}}
    model = MetaoptModel(params, rng=4)
    births = removals = 0
    for _ in range(40):
        model.step()
        births += model.spawned_last_step
        removals += model.removed_last_step
        assert len(model.agents) == model.n_algorithms == len(model.algorithms)
        assert [a.row for a in model.algorithms] == list(range(model.n_algorithms))
        assert [a.unique_id for a in model.algorithms] == model.uid.tolist()
        # explorers stay grouped by algorithm, in row order
        assert np.all(np.diff(model.owner) >= 0)
        assert np.array_equal(np.bincount(model.owner, minlength=model.n_algorithms), model.n_explorers)
    assert births > 0 and removals > 0
    assert model.lineage.number_of_nodes() == 4 + births
    dead = [n for n, died in model.lineage.nodes(data="died") if died >= 0]
    assert len(dead) == removals and not set(dead) & set(model.uid.tolist())


def test_the_compute_budget_caps_the_explorers_and_culls_the_lowest_phi():
    params = {**SMALL, "compute_budget": 30,
              "algorithms": [{**SMALL["algorithms"][0], "reproduction": 0.2}]}
    model = MetaoptModel(params, rng=5)
    for _ in range(20):
        model.step()
        assert len(model.owner) <= 30
    assert model.lineage.number_of_nodes() > model.n_algorithms  # some were culled


def test_propagation_terms_are_normalised_and_m_is_the_windows_argmax():
    params = {**SMALL, "propagation": {"beta": 0.5, "gamma": 0.5, "window": 5}}
    model = MetaoptModel(params, rng=6)
    sums = {}
    for _ in range(5):
        model.step()
        for uid, phi in zip(model.uid.tolist(), model.phi.tolist(), strict=True):
            sums.setdefault(uid, []).append(phi)
        assert np.all((model.phi >= 0) & (model.phi <= 1.5 + 1e-12))  # β + (1 - β) + γ, each term in [0, 1]
    leader = model.leaders[-1]
    full = {uid: np.mean(v) for uid, v in sums.items() if len(v) == 5}
    assert leader["leader"] == max(full, key=full.get)
    assert leader["mean_phi"] == pytest.approx(full[leader["leader"]])


def test_hard_takeoff_in_the_binary_model_and_small_steps_in_the_scalar_model():
    common = {"landscape": {"function": "sphere", "dim": 2}, "compute_budget": 300, "generality_threshold": 0.3}
    binary = {**common, "generality_model": "binary", "p_general": 0.01, "p_specific": 0.05,
              "algorithms": [{"count": 2, "n_explorers": 10, "angle": 60.0, "generality": 1.0}]}
    model = MetaoptModel(binary, rng=1)
    while model.first_general_step is None and model.steps < 200:
        model.step()
    assert model.takeoff_jump == 1.0  # from specific (G = 0) offspring to a general one in one spawn
    assert [g for _, g in model.generality_records] == [0.0, 1.0]
    scalar = {**common, "algorithms": [{"count": 2, "n_explorers": 10, "angle": 60.0, "generality": 0.9,
                                        "reproduction": 0.05}]}
    model = MetaoptModel(scalar, rng=1)
    for _ in range(60):
        model.step()
    records = [g for _, g in model.generality_records]
    assert len(records) >= 3 and records == sorted(records)
    assert model.largest_jump == pytest.approx(max(np.diff([0.0, *records])))
    assert model.largest_jump < 0.5


def test_lineage_exports_as_graphml_and_json(tmp_path):
    model = MetaoptModel(SMALL, rng=2)
    for _ in range(30):
        model.step()
    path = tmp_path / "lineage.graphml"
    nx.write_graphml(model.lineage, path)
    again = nx.read_graphml(path, node_type=int)
    assert sorted(again.edges) == sorted(model.lineage.edges)
    data = json.loads(json.dumps(model.lineage_json()))
    assert {n["id"] for n in data["nodes"]} == set(model.lineage.nodes)
    child = next(iter(e["target"] for e in data["edges"]))
    assert model.lineage.nodes[child]["parent"] == next(e["source"] for e in data["edges"] if e["target"] == child)


def test_tables_and_summary():
    model = MetaoptModel(SMALL, rng=2)
    for _ in range(25):
        model.step()
    tables = model.tables()
    assert set(tables) == {"model", "algorithms", "lineage", "leaders", "traits"}
    assert len(tables["model"]) == 26 and len(tables["algorithms"]) == model.n_algorithms
    assert tables["model"]["best_fitness"].is_monotonic_increasing
    summary = model.summary()
    assert summary["algorithms_ever"] == len(tables["lineage"])
    assert -summary["best_fitness"] <= tables["algorithms"]["mean_loss"].min() + 1e-12


def test_the_readme_runs_write_the_run_folders(tmp_path, capsys):
    from optiscape.cli import main

    out = tmp_path / "metaopt"
    assert main(["run", "metaopt_watch_2d", "--out", str(out), "--steps", "15", "--quiet"]) == 0
    for name in ("model.parquet", "algorithms.parquet", "lineage.parquet", "leaders.parquet", "traits.parquet",
                 "landscape.png", "lineage.png", "traits.png", "timeseries.png", "lineage.graphml", "lineage.json",
                 "summary.json"):
        assert (out / name).exists(), name
    lineage = nx.read_graphml(out / "lineage.graphml", node_type=int)
    summary = json.loads((out / "summary.json").read_text())
    assert lineage.number_of_nodes() == summary["algorithms_ever"]
    traits = pd.read_parquet(out / "traits.parquet")  # every trait at the start and after each of the 15 steps
    assert len(traits) == 5 * 16 and list(traits.step.unique()) == list(range(16))
    out = tmp_path / "intelligence"
    assert main(["run", "intelligence_retire_versions", "--out", str(out), "--steps", "20", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["humans_alive"] is False and summary["humans_lost_at_step"] is not None
    assert (out / "line.png").exists() and (out / "events.parquet").exists()
