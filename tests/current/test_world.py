"""The current world end to end: its shipped scenarios run and write their tables and figures; its claims hold."""

from __future__ import annotations

import dataclasses
import json

import pytest

from models.current.claims import claims
from optiscape.run import run
from scenarios import load


@pytest.mark.parametrize("name", ["current_rank1_valley", "current_isotropic_control", "current_saddle_escape"])
def test_shipped_scenarios_write_tables_and_figures(tmp_path, name: str) -> None:
    scenario = dataclasses.replace(load(name), steps=30)
    result = run(scenario, tmp_path / name, progress=False)
    names = {p.name for p in result.files}
    assert {"cells.parquet", "model.parquet", "summary.json"} <= names
    assert any(n.endswith(".png") for n in names)
    summary = json.loads((tmp_path / name / "summary.json").read_text())
    if "saddle" in name:
        assert "exits.parquet" in names and summary["mean_escape_time"]["chain"] > 100
    else:
        assert summary["stationary"]["entropy_production_per_step"] >= 0


@pytest.mark.parametrize("claim", claims(), ids=lambda c: c.id)
def test_claims_hold_in_quick_mode(claim) -> None:
    measured = claim.measure(True)
    assert measured.verdict == "reproduced", measured.note


def test_the_page_sets_the_fokker_planck_equation_beside_the_chain() -> None:
    from models.current.page import continuum_note

    valley, saddle = load("current_rank1_valley").build(), load("current_saddle_escape").build()
    check = valley.fokker_planck
    assert 0 < check["distance_to_chain"] < 1 and check == valley.summary()["stationary"]["fokker_planck"]
    assert f"total variation {check['distance_to_chain']:.3f}" in continuum_note(valley)
    assert f"mean escape time {saddle.fokker_planck['mean_escape_time']:,.0f} against" in continuum_note(saddle)


def test_a_start_inside_the_escape_region_is_one_line_naming_the_file(tmp_path, capsys) -> None:
    """Found by the scenario fuzzer: an escape threshold below the whole grid left no cell to escape from."""
    from optiscape.cli import main

    path = tmp_path / "escaped.yaml"
    document = load("current_saddle_escape").path.read_text(encoding="utf-8")
    path.write_text(document.replace("steps: 400", "steps: 5").replace("escape: {above: 0.0}", "escape: {above: -3}"),
                    encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"optiscape: error: {path}: params.escape: the start lies inside the escape region")
    assert len(err.splitlines()) == 1 and not (tmp_path / "out").exists()
