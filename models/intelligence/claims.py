"""The claims of Tunador (2023), appendix B (see docs/intelligence.md), measured by the intelligence-density world."""

from __future__ import annotations

import math

import numpy as np

from models.claims import Claim, Figure, Measured, Series
from models.intelligence.model import IntelligenceModel, can_exterminate, loss_probability_keep


def _examples(quick: bool) -> Measured:
    """The paper's examples: ants and humans (a wide empty interval) against IQ 70 and 130 (a dense population)."""
    epsilon = 5.0
    ants, humans = 1.0, 100.0
    iq = np.arange(70.0, 131.0, 1.0)  # people at every IQ point from 70 to 130
    measured = {"K(ant=1, human=100), nobody between": can_exterminate([ants, humans], ants, humans, epsilon),
                "K(IQ 70, IQ 130), one person per IQ point": can_exterminate(iq, 70.0, 130.0, epsilon),
                "K(IQ 70, IQ 130), nobody between": can_exterminate([70.0, 130.0], 70.0, 130.0, epsilon)}
    ok = (measured["K(ant=1, human=100), nobody between"] and not measured["K(IQ 70, IQ 130), one person per IQ point"]
          and measured["K(IQ 70, IQ 130), nobody between"])
    return Measured(measured, "reproduced" if ok else "differs",
                    "ε = 5: the same 60-point gap is safe when the interval is populated and unsafe when it is empty")


def _lost_steps(params: dict, repeats: int, versions: int) -> list[int | None]:
    """Per seed 0 .. repeats - 1: the step at which the humans were lost within `versions` releases, or None."""
    lost = []
    for seed in range(repeats):
        model = IntelligenceModel(params, rng=seed)
        for _ in range(versions):
            model.step()
            if not model.protected_alive:
                break
        lost.append(model.protected_lost_step)
    return lost


SAFE = 0.05  # a policy "keeps the humans" where it loses them in at most this share of runs


def _policies(quick: bool) -> Measured:
    """P(humans lost within T releases), keep against retire, over ε and the mean growth per version."""
    repeats, versions = (30, 80) if quick else (100, 150)
    epsilons, growth = [1.0, 2.0], [0.1, 0.15, 0.25, 0.5]
    rows: dict[str, dict[str, float]] = {}
    keep_mc, keep_exact, retire_mc, ratio = [], [], [], []
    worst = 0.0
    for eps in epsilons:
        for g in growth:
            lost = {"keep": [], "retire": []}
            for policy in lost:
                lost[policy] = _lost_steps({"epsilon": eps, "growth": {"increment": g}, "policy": policy},
                                           repeats, versions)
            p_keep = float(np.mean([s is not None for s in lost["keep"]]))
            p_retire = float(np.mean([s is not None for s in lost["retire"]]))
            exact = loss_probability_keep(eps, g, versions)
            worst = max(worst, abs(p_keep - exact) / max(math.sqrt(exact * (1 - exact) / repeats), 1 / repeats))
            when = {policy: [s for s in steps if s is not None] for policy, steps in lost.items()}
            rows[f"eps={eps:g},g={g:g}"] = {
                "keep": p_keep, "keep_closed_form": round(exact, 4), "retire": p_retire,
                **{f"{policy}_median_step": float(np.median(when[policy])) if when[policy] else None
                   for policy in when}}
            ratio.append(eps / g)
            keep_mc.append(p_keep)
            keep_exact.append(exact)
            retire_mc.append(p_retire)
    order = np.argsort(ratio)
    x = [ratio[i] for i in order]
    fig = Figure(f"Humans lost within {versions} versions", "ε / mean growth per version", "P(lost)",
                 [Series("keep old versions (Monte Carlo)", x, [keep_mc[i] for i in order]),
                  Series("keep: 1 - (1 - e^{-ε/g})^T", x, [keep_exact[i] for i in order]),
                  Series("retire old versions", x, [retire_mc[i] for i in order])], xscale="log")
    safer = all(r["keep"] <= r["retire"] for r in rows.values())
    unsafe = {key: r["keep"] for key, r in rows.items() if r["keep"] > SAFE}
    measured = {**rows, "keep_vs_closed_form_worst_in_standard_errors": round(worst, 2)}
    if worst > 4.0:  # the simulation left its own closed form: no verdict on the text can rest on it
        return Measured(measured, "differs", f"keep's Monte Carlo is {worst:.1f} standard errors from the closed "
                        "form 1 - (1 - e^{-ε/g})^T", fig)
    # The text: keeping old versions is "all we need" for the humans to survive; one regime where they do not
    # (a release jumping >= ε leaves a gap no kept version fills) is enough to refute it.
    verdict = "reproduced" if safer and not unsafe else "differs"
    return Measured(measured, verdict,
                    "keeping old versions is safer than retiring them everywhere, but not safe: humans are lost "
                    "when one version jumps by >= ε (probability e^{-ε/g} each), so within T versions with "
                    f"probability 1 - (1 - e^{{-ε/g}})^T: more than {SAFE:.0%} at "
                    + ", ".join(f"{key} ({p:.2f})" for key, p in unsafe.items())
                    + "; density needs each release within ε of the last, which keeping old versions does not give"
                    if unsafe else "keeping old versions kept the humans in every regime tried", fig)


def _exponential_growth(quick: bool) -> Measured:
    """Keep old versions while each release's mean increment grows by (1 + rate): when are the humans lost?"""
    repeats, versions = (30, 300) if quick else (100, 600)
    epsilon, increment, rates = 1.0, 0.1, [0.02, 0.05, 0.1]
    rows, lost_share = {}, []
    for rate in rates:
        lost = _lost_steps({"epsilon": epsilon, "growth": {"increment": increment, "rate": rate}, "policy": "keep"},
                           repeats, versions)
        steps = [s for s in lost if s is not None]
        share = len(steps) / repeats
        lost_share.append(share)
        rows[f"rate={rate:g}"] = {"lost": share, "median_step": float(np.median(steps)) if steps else None,
                                  "mean_jump_reaches_epsilon_at": round(math.log(epsilon / increment)
                                                                        / math.log(1 + rate), 1)}
    rows["rate=0"] = {"lost_closed_form": round(loss_probability_keep(epsilon, increment, versions), 4)}
    fig = Figure(f"Keep old versions, ε = {epsilon:g}: humans lost within {versions} versions",
                 "growth of the mean increment per version", "P(lost)",
                 [Series("exponential intelligence growth (Monte Carlo)", rates, lost_share)])
    ok = all(share >= 0.95 for share in lost_share)
    return Measured(rows, "reproduced" if ok else "differs",
                    f"with increments growing by (1 + rate) per version (mean {increment:g} at first), every release "
                    "eventually jumps by more than ε, so no policy keeps the line dense: the humans are lost in "
                    "(nearly) every run, around the version where the mean jump approaches ε; with linear growth "
                    f"(rate 0) the closed form gives {rows['rate=0']['lost_closed_form']:.3f}", fig)


def claims() -> list[Claim]:
    w = "intelligence"
    return [
        Claim("intelligence.density_decides_extermination", w, "K(x, y) is not implied by x < y: it is determined "
              "by the density of agents on [x, y] (ants and humans vs IQ 70 and 130)", "density decides",
              _examples),
        Claim("intelligence.keep_old_versions_keeps_humans", w, "Keeping old AI versions running (not turning them "
              "off when new ones are created) keeps [humans, newest AI] dense, so humans are not exterminated",
              "keep is safe, retire is not", _policies),
        Claim("intelligence.exponential_growth_breaks_density", w, "If intelligence increases exponentially it will "
              "be impossible for two beings to be within ε (the text's suspicion)", "density impossible",
              _exponential_growth),
    ]
