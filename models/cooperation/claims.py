"""The claims of Tunador (2023) about the cooperation world (§4.1, §5, §5.1, §7, appendix A), measured
(see docs/cooperation.md).

Each claim runs small worlds from fixed seeds; quick mode runs fewer rounds or repeats, with
verdicts that hold at that size. Worlds that need no signatures use the unsigned ledger (the
same rules, no Ed25519), which is what makes the scans affordable; the key-theft claim signs.
"""

from __future__ import annotations

import math

import numpy as np

from models.claims import Claim, Figure, Measured, Series
from models.cooperation.identity import ai_id
from models.cooperation.model import CooperationModel

UTOPIA = {"intelligence_path": "logistic", "intelligence_rate": 0.1, "intelligence_asymptote": 1.5}
DYSTOPIA = {"intelligence_path": "exponential", "intelligence_rate": 0.05}
# the four guidelines of Tunador (2023), §4.1, as (parameter, low, high, the direction the paper says helps)
GUIDELINES = [("cooperation_gain", 0.6, 1.6, +1), ("aggression_gain", 0.3, 0.8, -1),
              ("reliance_rate", 0.0, 0.04, +1), ("intelligence_rate", 0.02, 0.07, -1)]


def _run(steps: int, seed: int, **params) -> CooperationModel:
    model = CooperationModel(params, rng=seed)
    for _ in range(steps):
        model.step()
    return model


def _series(model: CooperationModel, column: str, label: str) -> Series:
    table = model.datacollector.get_model_vars_dataframe()
    values = table[column].to_numpy(dtype=float)
    return Series(label, list(range(len(values))), [float(v) if np.isfinite(v) else 0.0 for v in values])


def _utopia_dystopia(quick: bool) -> Measured:
    steps = 60 if quick else 120
    logistic = _run(steps, 1, ledger="off", n_humans=300, n_ais=200, **UTOPIA)
    exponential = _run(steps, 1, ledger="off", n_humans=300, n_ais=200, **DYSTOPIA)
    measured = {"ai_cooperation_logistic": round(logistic.game.group_share(1), 3),
                "ai_cooperation_exponential": round(exponential.game.group_share(1), 3),
                "s_end_logistic": round(logistic.path("intelligence", steps), 3),
                "s_end_exponential": round(exponential.path("intelligence", steps), 3)}
    ok = measured["ai_cooperation_logistic"] > 0.8 and measured["ai_cooperation_exponential"] < 0.2
    figure = Figure("AI cooperation: logistic vs exponential s_t", "round", "share of AIs playing C",
                    [_series(logistic, "ai_cooperation", "logistic s_t (asymptote 1.5)"),
                     _series(exponential, "ai_cooperation", "exponential s_t (rate 0.05)")])
    return Measured(measured, "reproduced" if ok else "differs",
                    "default f, g (g: C pays cooperation_gain (Ch + r), A pays aggression_gain s); the end state "
                    "follows from s_t's functional form, as the paper says, not from anything else in the world",
                    figure)


def _guidelines(quick: bool) -> Measured:
    steps, seeds = (60, (1,)) if quick else (120, (1, 2, 3))
    measured, series, ok = {}, [], True
    for name, low, high, sign in GUIDELINES:
        values = np.linspace(low, high, 3 if quick else 5)
        means = []
        for v in values:
            runs = [_run(steps, seed, ledger="off", n_humans=200, n_ais=150, **{name: float(v)}) for seed in seeds]
            means.append(float(np.mean([r.datacollector.get_model_vars_dataframe()["ai_cooperation"].mean()
                                        for r in runs])))
        effect = means[-1] - means[0]
        measured[name] = {"low": round(means[0], 3), "high": round(means[-1], 3)}
        ok = ok and np.sign(effect) == sign and abs(effect) > 0.05
        series.append(Series(name, list(np.linspace(0, 1, len(values))), means))
    figure = Figure("The four guidelines of Tunador (2023), §4.1, as scan axes", "position on the axis (low -> high)",
                    "mean AI cooperation over the run", series)
    return Measured(measured, "reproduced" if ok else "differs",
                    "each axis moved alone from the default world (exponential s_t); the paper's direction holds "
                    "for all four", figure)


def _whitewashing(quick: bool) -> Measured:
    steps = 60 if quick else 150
    common = {"ledger": "unsigned", "n_humans": 40, "n_ais": 40, "revision_rate": 0.0, "initial_cooperation": 0.3,
              "whitewash_rate": 0.5, "votes_per_round": 3, "intelligence_path": "constant", "observation_noise": 0.05}
    changes = _run(steps, 4, mutation_flip=0.2, **common)
    rarely = _run(steps, 4, mutation_flip=0.02, **common)
    same = _run(steps, 4, mutation_flip=0.0, **common)
    penalised = _run(steps, 4, mutation_flip=0.2, newcomer_reputation=0.3, **common)
    measured = {"ai_cooperation_when_new_weights_change_behaviour": round(changes.game.group_share(1), 3),
                "ai_cooperation_when_they_rarely_do": round(rarely.game.group_share(1), 3),
                "ai_cooperation_when_they_do_not": round(same.game.group_share(1), 3),
                "ai_cooperation_newcomers_penalised": round(penalised.game.group_share(1), 3),
                "mutations_when_they_do_not": same.counts["mutations"], "start": 0.3}
    # "Inevitably": the drift must come whether or not a re-entering AI's new weights change what it does.
    drifts = {arm: measured[f"ai_cooperation_when_{arm}"] > 0.45 for arm in ("new_weights_change_behaviour",
                                                                              "they_rarely_do", "they_do_not")}
    figure = Figure("Whitewashing: banned AIs re-enter with new weights", "round", "share of active AIs playing C",
                    [_series(changes, "ai_cooperation", "new weights flip behaviour with p = 0.2"),
                     _series(rarely, "ai_cooperation", "new weights flip behaviour with p = 0.02"),
                     _series(same, "ai_cooperation", "new weights keep behaviour"),
                     _series(penalised, "ai_cooperation", "p = 0.2, newcomers start at reputation 0.3")])
    if all(drifts.values()):
        return Measured(measured, "reproduced", "AI cooperation rose from 0.3 in every arm, including the one whose "
                        "new weights keep the AI's behaviour", figure)
    return Measured(measured, "differs",
                    "the drift toward cooperation is selection on behaviour: it comes when a ban-evader's new "
                    "weights also change what it does, even rarely ("
                    + ", ".join(f"{arm.replace('_', ' ')}: {'drifts' if up else 'no drift'}"
                                for arm, up in drifts.items())
                    + "); a slight change that keeps its behaviour re-enters and is banned again, round after round, "
                    "so 'inevitably' holds only where new weights bring new behaviour", figure)


def _identity(quick: bool) -> Measured:
    model = CooperationModel({"ledger": "unsigned", "n_humans": 3, "n_ais": 4, "copies": 5}, rng=0)
    copies_share = all(len({int(model.identity_of[r]) for r in model.game.ai_rows(k)}) == 1 for k in range(4))
    params = model.identities[3].parameters.copy()
    base = ai_id("mlp-8", params, "agent 0")
    nudged = params.copy()
    nudged[0] = np.nextafter(nudged[0], np.inf)
    measured = {"copies_share_one_id": copies_share, "one_ulp_changes_the_id": ai_id("mlp-8", nudged, "agent 0")
                != base, "ai_ids": len({i.id_hash for i in model.identities if i.kind == "ai"}),
                "ai_players": model.n_players - model.n_humans}
    ok = measured["copies_share_one_id"] and measured["one_ulp_changes_the_id"]
    return Measured(measured, "reproduced" if ok else "differs", "BLAKE2b-256 of (architecture, parameter bytes, "
                    "prompt); 4 AI IDs for 20 AI players")


def _key_theft(quick: bool) -> Measured:
    steps = 3 if quick else 10
    common = {"n_humans": 8, "n_ais": 8, "public_weights": 0.5, "attacker": True, "votes_per_round": 0}
    derived = _run(steps, 6, keys="from_parameters", **common)
    random = _run(steps, 6, keys="random", **common)
    measured = {"stolen_from_parameters": round(derived.counts["stolen"], 2),
                "thefts_from_parameters": derived.counts["thefts"],
                "stolen_random_keys": round(random.counts["stolen"], 2),
                "rejected_attempts_random_keys": random.counts["rejected"]}
    ok = measured["stolen_from_parameters"] > 0 and measured["stolen_random_keys"] == 0
    return Measured(measured, "reproduced" if ok else "differs",
                    "the attacker re-derives keys of AIs with public weights (half of them); random keys bound by "
                    "a human-validated registration make every attempt a rejected 'bad signature'")


def _capture(quick: bool) -> Measured:
    steps = 10
    rows = {}
    for label, n_ais, copies in (("more_ai_ids", 30, 1), ("few_ids_many_copies", 10, 10)):
        for rule in ("one_id_one_vote", "equal_collective"):
            model = _run(steps, 8, ledger="unsigned", n_humans=20, n_ais=n_ais, copies=copies, proposal_every=5,
                         votes_per_round=0, voting_rule=rule)
            rows[f"{label}/{rule}"] = {"captures": model.counts["captures"], "proposals": model.counts["proposals"],
                                      "ai_yes_share": round(model.society.last_tally["yes_share"], 3)}
    ok = (rows["more_ai_ids/one_id_one_vote"]["captures"] > 0 and rows["more_ai_ids/equal_collective"]["captures"] == 0
          and rows["few_ids_many_copies/one_id_one_vote"]["captures"] == 0)
    return Measured(rows, "reproduced" if ok else "differs",
                    "20 humans vote no, every AI ID yes: one ID one vote is captured once AI IDs outnumber human IDs "
                    "(not by copies, which share an ID); equal collective power caps the AIs at half")


def _capture_chance(n_ais: int, n_humans: int, agreement: float) -> float:
    """P(a proposal passes under one ID one vote) when the humans vote no and each of n_ais AIs yes with chance
    `agreement`, independently: P(2 Y > n_ais + n_humans), Y ~ Binomial(n_ais, agreement)."""
    from scipy.stats import binom

    return float(binom.sf((n_ais + n_humans) // 2, n_ais, agreement))


def _diverse_ais(quick: bool) -> Measured:
    humans, seeds = 20, range(20 if quick else 40)
    sizes = (10, 40, 160) if quick else (10, 20, 40, 80, 160, 320)
    common = {"ledger": "unsigned", "n_humans": humans, "proposal_every": 5, "votes_per_round": 0}
    rows, series, agree = {}, [], True
    for q in (1.0, 0.75, 0.6, 0.5):
        simulated, yes, votes = [], 0, 0
        for n in sizes:
            societies = [_run(5, seed, n_ais=n, ai_agreement=q, **common).society for seed in seeds]
            simulated.append(sum(society.counts["captures"] for society in societies) / len(seeds))
            yes += sum(society.in_favour(i) for society in societies for i in society.identities if i.kind == "ai")
            votes += sum(i.kind == "ai" for society in societies for i in society.identities)
        exact = [_capture_chance(n, humans, q) for n in sizes]
        error = [max(math.sqrt(e * (1 - e) / len(seeds)), 1 / len(seeds)) for e in exact]
        agree = agree and all(abs(m - e) <= 3.5 * se for m, e, se in zip(simulated, exact, error, strict=True)) \
            and abs(yes / votes - q) <= 4 * math.sqrt(q * (1 - q) / votes) + 1e-12
        rows[f"q={q}"] = {"ai_yes_share": round(yes / votes, 4),
                          **{f"{n}_ai_ids": {"captured": round(m, 3), "binomial": round(e, 3)}
                             for n, m, e in zip(sizes, simulated, exact, strict=True)}}
        series.append(Series(f"q = {q} ({len(seeds)} worlds a point)", list(sizes), simulated, error))
    equal = sum(_run(5, seed, n_ais=sizes[-1], voting_rule="equal_collective", **common).counts["captures"]
                for seed in seeds)
    rows["equal_collective_bloc_captures"] = equal
    big = f"{sizes[-1]}_ai_ids"
    ok = (agree and rows["q=0.6"]["40_ai_ids"]["captured"] <= 0.2 and rows["q=0.6"][big]["captured"] > 0.5
          and all(row["captured"] < 0.5 for key, row in rows["q=0.5"].items() if key != "ai_yes_share"))
    figure = Figure(f"One ID one vote: {humans} humans against AIs each in favour with chance q",
                    "AI IDs voting", "share of worlds whose proposal passed", series, xscale="log",
                    hlines=[(0.5, "a coin flip")])
    return Measured(rows, "reproduced" if ok else "differs",
                    f"the premise is assumed, not derived: abolishing the tax raises every AI's income, so an AI's "
                    f"vote is its values, yes with chance q, independent across IDs (diverse makeup, diverse "
                    f"values: the text's own step); what is measured is what follows for the vote. Diversity "
                    f"holds the AIs back until they are numerous: one ID one vote is captured once about "
                    f"{humans}/(2q - 1) AI IDs vote ({humans} as a bloc, {2 * humans} at q = 0.75, {5 * humans} at "
                    f"q = 0.6), as the binomial tail says, and the share of AIs in favour is q; at q = 0.5, an even "
                    f"split, the chance only tends to a coin flip. Under equal collective power the AIs weigh half "
                    f"at most, so nothing passes while the humans vote no ({equal} of {len(seeds)} worlds with "
                    f"{sizes[-1]} AIs as a bloc)" + ("" if agree else " (the runs do NOT match the binomial tail: "
                                                     "check failed)"), figure)


def _amass(quick: bool) -> Measured:
    steps, humans, ais = 100, 30, 20
    constant = {"intelligence_path": "constant", "intelligence_start": 4.0}
    paths = {"exponential s_t": DYSTOPIA, "constant s = 4": constant, "logistic s_t (to 1.5)": UTOPIA}
    rows, series = {}, []
    for label, path_params in paths.items():
        for tax in (0.0, 0.2):
            model = _run(steps, 2, ledger="unsigned", n_humans=humans, n_ais=ais, votes_per_round=0, tax_rate=tax,
                         **path_params)
            table = model.datacollector.get_model_vars_dataframe()
            # no bans, whitewashing or self-improvement here: the identities are the humans and the AIs throughout
            ai, human = ais * table["ai_wealth"].to_numpy(), humans * table["human_wealth"].to_numpy()
            share = np.divide(ai, ai + human, out=np.zeros_like(ai), where=ai + human > 0)
            rows[f"{label}, tax {tax:g}"] = {f"round_{t}": round(float(share[t]), 3) for t in (25, 50, 75, steps)}
            if tax == 0.0:
                series.append(Series(f"{label}, no tax", list(range(1, steps + 1)), share[1:].tolist()))
    untaxed, end = rows["exponential s_t, tax 0"], f"round_{steps}"
    ok = untaxed[end] > 0.95 and untaxed["round_25"] < untaxed["round_50"] < untaxed["round_75"] < untaxed[end]
    figure = Figure(f"The AIs' share of all wealth ({ais} AIs, {humans} humans, no redistribution)", "round",
                    "AI wallets / all wallets", series)
    return Measured(rows, "reproduced" if ok else "differs",
                    "with no tax and s_t growing exponentially the AIs' share of the wealth climbs towards all of "
                    f"it ({untaxed[end]:.2f} by round {steps}). Nobody spends but on the compute bill, so the share "
                    "is that of all income so far, and it is s_t's path that decides: with a constant s it levels "
                    "off at the income ratio, with a logistic s_t below half (the claim holds for a growing s_t, "
                    "the text's premise). A 20% tax funding the UBI holds the share to about 0.8 of the untaxed "
                    f"one ({rows['exponential s_t, tax 0.2'][end]:.2f}). The world has no human owners of land or "
                    "capital, the text's other winners", figure)


def _ubi(quick: bool) -> Measured:
    steps = 40 if quick else 100
    common = {"ledger": "unsigned", "n_humans": 30, "n_ais": 20, "intelligence_path": "constant",
              "intelligence_start": 4.0, "votes_per_round": 0}
    gini = {f"tax_{t}": round(_run(steps, 2, tax_rate=t, **common).society.gini(), 3) for t in (0.0, 0.2, 0.5)}
    veil = _run(steps, 2, veil_of_ignorance=True, **common)
    measured = {**gini, "veil_tax": round(veil.tax, 3), "gini_veil": round(veil.society.gini(), 3)}
    ok = gini["tax_0.0"] > gini["tax_0.2"] > gini["tax_0.5"]
    return Measured(measured, "reproduced" if ok else "differs",
                    "AIs four times as productive as humans (s = 4), so that they amass the wealth as the paper "
                    "expects; Gini of wealth over IDs after the run; the veil picks the tax maximising min(human, AI) "
                    "Cobb-Douglas utility (eqs 1, 3), whose units the paper leaves incomparable")


def claims() -> list[Claim]:
    return [
        Claim("cooperation.s_path_decides", "cooperation",
              "Tunador (2023), §4.1: whether s_t stays exponential or simmers down into a logistic with a low enough "
              "asymptote decides between coexistence and conflict",
              "logistic -> cooperation; exponential -> aggression", _utopia_dystopia),
        Claim("cooperation.four_guidelines", "cooperation",
              "Tunador (2023), §4.1: raise cooperation gains, cut aggression gains, raise reliance r_t, slow s_t",
              "each raises cooperation", _guidelines),
        Claim("cooperation.whitewashing_drifts_to_cooperation", "cooperation",
              "Tunador (2023), §5: bad AIs that change their weights slightly to get around a ban will inevitably "
              "evolve in a direction that humans and pro-social AIs deem positive", "inevitably", _whitewashing),
        Claim("cooperation.copies_share_id", "cooperation",
              "Tunador (2023), §5: identical copies are one agent with one wallet; any weight change is a new ID",
              "one ID per model; new ID per change", _identity),
        Claim("cooperation.key_from_parameters_theft", "cooperation",
              "Tunador (2023), §7 and appendix A: keys derived from the parameters can be recreated by anyone "
              "holding them",
              "a security flaw", _key_theft),
        Claim("cooperation.capture_and_equal_power", "cooperation",
              "Tunador (2023), §7: AIs could control the chain once their influence outweighs humans'; equal "
              "collective voting power for human and AI IDs would prevent it", "capture under one ID one vote",
              _capture),
        Claim("cooperation.diverse_ais_disagree", "cooperation",
              "Tunador (2023), §7: to gain plurality power on the chain, AIs would need to become extremely diverse "
              "in their makeup and therefore their utility functions, and then it will potentially be equally "
              "difficult for AIs to reach a non-group-optimal agreement; at a certain point further, numerous "
              "enough, any misalignment of values with humans will take precedence (potentially, the text says)",
              "diversity guards the vote until the AIs are numerous enough", _diverse_ais),
        Claim("cooperation.ais_amass_the_wealth", "cooperation",
              "Tunador (2023), §4.3: without redistribution it'd be reasonable to assume that AIs will amass all the "
              "wealth, or at the very least AIs and human owners of land and capital",
              "AIs amass all the wealth (as s_t grows)", _amass),
        Claim("cooperation.ubi_reduces_inequality", "cooperation",
              "Tunador (2023), §4.3: a UBI funded from AI income as the wealth redistribution the system needs",
              "redistribution reduces inequality", _ubi),
    ]
