"""The cooperation world end to end: whitewashing, newcomers, votes and capture, the veil, the market, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.cooperation.economy import ai_choice
from models.cooperation.model import CooperationModel
from optiscape.cli import main


def _run(steps: int, seed: int = 1, **params) -> CooperationModel:
    model = CooperationModel(params, rng=seed)
    for _ in range(steps):
        model.step()
    return model


@pytest.mark.parametrize("newcomer", [0.5, 0.3])
def test_whitewashed_ai_gets_a_new_id_an_empty_wallet_and_the_newcomer_reputation(newcomer: float) -> None:
    model = _run(12, 2, ledger="unsigned", n_humans=10, n_ais=6, revision_rate=0.0, initial_cooperation=0.0,
                 whitewash_rate=1.0, votes_per_round=3, newcomer_reputation=newcomer, intelligence_path="constant",
                 ban_threshold=0.2)
    children = [i for i in model.identities if i.parent is not None]
    assert model.counts["mutations"] == len(children) > 0
    for child in children:
        parent = next(i for i in model.identities if i.id_hash == child.parent)
        assert child.id_hash != parent.id_hash and child.generation == parent.generation + 1
        assert np.count_nonzero(child.parameters != parent.parameters) == 1  # one weight nudged
    table = model.identity_table()
    assert table.iloc[-1]["kind"] == "ai" and table.iloc[-1]["generation"] >= 1
    assert table.loc[table.banned, "kind"].eq("ai").all()  # only AIs are voted on and banned
    # with whitewash_rate 1 every banned AI re-registers the round it is banned: no player is left on a banned ID
    assert table.loc[table.banned, "players"].eq(0).all() and model.active.all()


def test_a_new_id_starts_with_an_empty_wallet_and_the_newcomer_reputation() -> None:
    model = CooperationModel({"ledger": "unsigned", "n_humans": 4, "n_ais": 2, "newcomer_reputation": 0.3,
                              "whitewash_rate": 1.0}, rng=0)
    old = model.identities[4]
    model.active[model.identity_of == 4] = 0  # as if banned
    model.society.state.accounts[old.id_hash].balance = 123
    model.society.whitewash()
    new = model.identities[-1]
    assert new.parent == old.id_hash and model.society.state.accounts[new.id_hash].balance == 0
    assert model.society.state.accounts[new.id_hash].reputation == 0.3
    assert model.society.state.accounts[old.id_hash].balance == 123  # the old wallet stays with the old ID


def test_capture_reported_under_one_id_one_vote_only() -> None:
    one = _run(10, 8, ledger="unsigned", n_humans=10, n_ais=15, proposal_every=5, votes_per_round=0)
    equal = _run(10, 8, ledger="unsigned", n_humans=10, n_ais=15, proposal_every=5, votes_per_round=0,
                 voting_rule="equal_collective")
    assert one.counts["captures"] == 2 and one.tax == 0.0 and one.summary()["first_round_ai_can_carry_majority"] == 0
    assert equal.counts["captures"] == 0 and equal.tax == 0.2
    assert equal.summary()["first_round_ai_can_carry_majority"] is None
    copies = _run(5, 8, ledger="unsigned", n_humans=10, n_ais=5, copies=4, proposal_every=5, votes_per_round=0)
    assert copies.counts["captures"] == 0  # 20 AI players, but 5 IDs


def test_veil_picks_the_tax_that_maximises_the_minimum_utility() -> None:
    model = CooperationModel({"ledger": "unsigned", "n_humans": 10, "n_ais": 10, "veil_of_ignorance": True,
                              "intelligence_path": "constant", "intelligence_start": 3.0}, rng=0)
    chosen = model.tax
    assert 0 < chosen < 0.9
    fine = model.economy.veil_tax(3.0, grid=901)  # a ten times finer grid moves the choice by less than the coarse step
    assert abs(fine - chosen) <= 0.01 + 1e-12


def test_market_price_clears_the_compute_market() -> None:
    model = CooperationModel({"ledger": "off", "n_humans": 30, "n_ais": 10, "copies": 2, "price_compute": "market",
                              "compute_supply": 2.0}, rng=0)
    p = model.params
    demand = ai_choice(*p.ai_exponents, time=p.hours, t_production=p.ai_times[0], t_quality=p.ai_times[1],
                       t_leisure=p.ai_times[2], t_compute=p.ai_times[3], price_production=p.price_production,
                       price_consumption=p.price_consumption, price_compute=model.economy.price_compute).compute
    assert 20 * demand == pytest.approx(30 * 2.0, rel=1e-9)


@pytest.mark.parametrize("ledger", ["unsigned", "signed"])
def test_money_is_conserved_apart_from_minting(ledger: str) -> None:
    """Every micro-unit in a wallet or the pool was minted (wages, sales): pay, tax, UBI and theft only move it."""
    model = _run(8, 3, ledger=ledger, n_humans=12, n_ais=6, copies=2, whitewash_rate=0.5, initial_cooperation=0.3,
                 **({"keys": "from_parameters", "public_weights": 0.5, "attacker": True} if ledger == "signed" else {}))
    total = sum(a.balance for a in model.society.state.accounts.values()) + model.society.state.pool
    assert total == model.society.minted > 0
    assert all(a.balance >= 0 for a in model.society.state.accounts.values())


@pytest.mark.slow
def test_run_and_reproduce_from_the_command_line(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["run", "cooperation_key_theft", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["thefts"] > 0 and summary["chain_height"] == 22
    for name in ("model.parquet", "identities.parquet", "blocks.parquet", "cooperation.png", "wealth.png",
                 "chain.png"):
        assert (out / name).exists(), name
    assert pd.read_parquet(out / "model.parquet")["chain_height"].iloc[-1] == 22
    report = tmp_path / "report"
    assert main(["reproduce", "--quick", "--only", "cooperation.", "--out", str(report)]) == 0
    verdicts = {c["id"]: c["verdict"] for c in json.loads((report / "claims.json").read_text())}
    assert verdicts == {
        "cooperation.s_path_decides": "reproduced", "cooperation.four_guidelines": "reproduced",
        "cooperation.whitewashing_drifts_to_cooperation": "differs", "cooperation.copies_share_id": "reproduced",
        "cooperation.key_from_parameters_theft": "reproduced", "cooperation.capture_and_equal_power": "reproduced",
        "cooperation.diverse_ais_disagree": "reproduced", "cooperation.ais_amass_the_wealth": "reproduced",
        "cooperation.ubi_reduces_inequality": "reproduced"}


@pytest.mark.parametrize(("params", "expected"), [
    ("human_utility: 'x +'", "params.human_utility: expression 'x +': not valid syntax"),
    ("ai_utility: 'open(1)'", "params.ai_utility: expression 'open(1)': calls are limited to"),
    ("update_rule: imitation", "params.update_rule: input should be 'best_response', 'fermi' or 'reinforcement'"),
    ("copies: 0", "params.copies: input should be greater than or equal to 1"),
    ("ledger_path: /tmp/x.sqlite\n  ledger: unsigned", "params.ledger_path: only a signed ledger is stored"),
    ("intelligence_path: logistic", "params.intelligence_asymptote: a logistic path needs an asymptote"),
])
def test_bad_cooperation_scenarios_get_one_line(tmp_path, capsys, params: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"model: cooperation\ntitle: bad\nseed: 1\nsteps: 2\nparams:\n  {params}\n", encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"optiscape: error: {path}: {expected}"), err
    assert len(err.splitlines()) == 1


def test_an_expression_failing_mid_run_is_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "fails.yaml"
    path.write_text("model: cooperation\ntitle: fails\nseed: 1\nsteps: 2\nparams:\n  ai_utility: 'x / (Ca - Ca)'\n"
                    "  ledger: 'off'\n", encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"optiscape: error: {path}: params.ai_utility: failed at round 1 (C=") \
        and "division by zero" in err
    assert len(err.splitlines()) == 1


def test_an_ai_votes_as_its_id_says_and_a_bloc_by_default() -> None:
    """ai_agreement = 1: every AI votes yes (a bloc); below it, an AI's vote is read off its ID (its weights), the
    same at every vote, and the share of AIs in favour is about ai_agreement. A changed AI keeps its parent's vote
    (mutation_flip = 0), or has its own drawn anew (mutation_flip = 1)."""
    common = {"ledger": "unsigned", "n_humans": 5, "n_ais": 400, "votes_per_round": 0}
    bloc = CooperationModel(common, rng=1).society
    assert all(bloc.in_favour(i) == (i.kind == "ai") for i in bloc.identities)
    society = CooperationModel({**common, "ai_agreement": 0.3}, rng=1).society
    ais = [i for i in society.identities if i.kind == "ai"]
    votes = [society.in_favour(i) for i in ais]
    assert votes == [society.in_favour(i) for i in ais]
    assert abs(sum(votes) / len(ais) - 0.3) < 3.5 * (0.3 * 0.7 / len(ais)) ** 0.5
    assert not any(society.in_favour(i) for i in society.identities if i.kind == "human")
    for flip, low, high in ((0.0, 1.0, 1.0), (1.0, 0.4, 0.75)):  # drawn anew at 0.3: agreeing 0.3² + 0.7² = 58%
        model = CooperationModel({**common, "n_ais": 200, "ai_agreement": 0.3, "mutation_flip": flip,
                                  "self_improvement_rate": 1.0}, rng=2)
        model.step()
        society = model.society
        pairs = [(society.in_favour(i), society.in_favour(next(p for p in society.identities
                                                               if p.id_hash == i.parent)))
                 for i in society.identities if i.kind == "ai" and i.parent]
        agreeing = sum(a == b for a, b in pairs) / len(pairs)
        assert len(pairs) >= 150 and low <= agreeing <= high
