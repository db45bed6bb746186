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
                for seed in range(repeats):
                    model = IntelligenceModel({"epsilon": eps, "growth": {"increment": g}, "policy": policy},
                                              rng=seed)
                    for _ in range(versions):
                        model.step()
                        if not model.protected_alive:
                            break
                    lost[policy].append(model.protected_lost_step)
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
    ok = safer and worst <= 4.0
    return Measured({**rows, "keep_vs_closed_form_worst_in_standard_errors": round(worst, 2)},
                    "reproduced" if ok else "differs",
                    "keeping old versions keeps [humans, newest] dense, so humans are lost only when one version "
                    "jumps by >= ε (probability e^{-ε/g} each): rare when ε >> g, near-certain over many versions "
                    "when g ~ ε; retiring old versions loses them as soon as the newest is ε above", fig)


def claims() -> list[Claim]:
    w = "intelligence"
    return [
        Claim("intelligence.density_decides_extermination", w, "K(x, y) is not implied by x < y: it is determined "
              "by the density of agents on [x, y] (ants and humans vs IQ 70 and 130)", "density decides",
              _examples),
        Claim("intelligence.keep_old_versions_keeps_humans", w, "Keeping old AI versions running (not turning them "
              "off when new ones are created) keeps [humans, newest AI] dense, so humans are not exterminated",
              "keep is safe, retire is not", _policies),
    ]
