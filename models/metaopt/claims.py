"""The hypotheses of Tunador (2023), §2, about N, S, G (see docs/metaopt.md), measured by the meta-optimization
world."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from models.claims import Claim, Figure, Measured, Series
from models.metaopt.model import MetaoptModel
from models.metaopt.params import BetaLaw

RASTRIGIN_BOX = 5.12  # the usual Rastrigin domain [-5.12, 5.12]^d


def _run(params: dict, steps: int, seed: int) -> MetaoptModel:
    model = MetaoptModel(params, rng=seed)
    for _ in range(steps):
        model.step()
    return model


def _explorers_and_quality(quick: bool) -> Measured:
    """Independent algorithms (R = 0) with N = 1..32 on a 4-d Rastrigin: the best L each found."""
    sizes = [1, 2, 4, 8, 16, 32]
    count, steps = (15, 100) if quick else (40, 150)
    algorithms = [{"count": count, "n_explorers": n, "angle": 30.0, "speed": 0.05, "generality": 1.0,
                   "reproduction": 0.0, "start": {"low": -RASTRIGIN_BOX, "high": RASTRIGIN_BOX}} for n in sizes]
    model = _run({"landscape": {"function": "rastrigin", "dim": 4}, "algorithms": algorithms, "explorer_spread": 2.0},
                 steps, seed=1)
    means, errors = [], []
    for n in sizes:
        best = model.best_loss[model.n_explorers == n]
        means.append(float(best.mean()))
        errors.append(float(best.std(ddof=1) / math.sqrt(len(best))))
    rho, p_value = stats.spearmanr(model.n_explorers, -model.best_loss)
    fig = Figure("Rastrigin d = 4: best L found against N", "N (explorers)", "best L found (mean ± s.e.)",
                 [Series(f"{count} algorithms per N, S = 30°, {steps} steps", sizes, means, errors)], xscale="log")
    ok = rho > 0 and p_value < 0.01
    return Measured({"spearman_rho_N_vs_fitness": round(float(rho), 3), "p_value": float(p_value),
                     "mean_best_L_by_N": dict(zip(map(str, sizes), [round(m, 3) for m in means], strict=True))},
                    "reproduced" if ok else "differs",
                    "more explorers find lower L on a rugged landscape; note that N explorers also cost N evaluations "
                    "per step (the paper does not hold compute fixed)", fig)


def _single_point_stuck(quick: bool) -> Measured:
    """Gradient descent (S = 0) with one explorer against sixteen: the share that never leaves a local minimum."""
    count, steps = (200, 200) if quick else (400, 300)
    algorithms = [{"count": count, "n_explorers": n, "angle": 0.0, "speed": 0.02, "generality": 1.0,
                   "start": {"low": -RASTRIGIN_BOX, "high": RASTRIGIN_BOX}} for n in (1, 16)]
    model = _run({"landscape": {"function": "rastrigin", "dim": 2}, "algorithms": algorithms, "explorer_spread": 2.0},
                 steps, seed=2)
    stuck = {n: float(np.mean(model.best_loss[model.n_explorers == n] > 0.5)) for n in (1, 16)}
    se = math.sqrt(sum(p * (1 - p) / count for p in stuck.values()))
    ok = stuck[1] - stuck[16] > 4 * se
    return Measured({"stuck_share_N1": stuck[1], "stuck_share_N16": stuck[16], "standard_error": round(se, 4)},
                    "reproduced" if ok else "differs",
                    "stuck = best L above 0.5 (never in the global basin of 2-d Rastrigin) after "
                    f"{steps} steps of normalised GD with V = 0.02")


def _founders() -> list[dict]:
    """Twelve trait combinations, three algorithms each: S from gradient descent to nearly blind, V over 100x."""
    return [{"count": 3, "n_explorers": 4, "angle": angle, "speed": speed, "generality": 0.5, "reproduction": 0.02,
             "start": {"low": -RASTRIGIN_BOX, "high": RASTRIGIN_BOX}}
            for angle in (0.0, 30.0, 60.0, 85.0) for speed in (0.005, 0.05, 0.5)]


def _effectiveness(angle: np.ndarray, speed: np.ndarray, replicates: int = 20, steps: int = 100) -> np.ndarray:
    """Each (S, V) as an optimizer on its own: the mean best L that `replicates` fresh copies with four explorers
    (no spawning, no niche) find on the 2-d Rastrigin within `steps` steps, from the same random starts."""
    algorithms = [{"count": replicates, "n_explorers": 4, "angle": float(a), "speed": float(v), "generality": 1.0,
                   "reproduction": 0.0, "start": {"low": -RASTRIGIN_BOX, "high": RASTRIGIN_BOX}}
                  for a, v in zip(angle, speed, strict=True)]
    model = _run({"landscape": {"function": "rastrigin", "dim": 2}, "algorithms": algorithms, "explorer_spread": 1.0},
                 steps, seed=123)
    return model.best_loss.reshape(len(algorithms), replicates).mean(axis=1)


def _meta_evolution(quick: bool) -> Measured:
    """Do the algorithms alive after meta-evolution optimize better than the founders they descend from?"""
    seeds, steps = (range(4), 150) if quick else (range(10), 300)
    founders = _founders()
    angle0 = np.repeat([f["angle"] for f in founders], [f["count"] for f in founders])
    speed0 = np.repeat([f["speed"] for f in founders], [f["count"] for f in founders])
    baseline = float(_effectiveness(angle0, speed0).mean())
    evolved: dict[str, list[float]] = {"selection": [], "no selection": []}
    for seed in seeds:
        for arm in evolved:
            params = {"landscape": {"function": "rastrigin", "dim": 2}, "generality_model": "scalar",
                      "algorithms": founders, "compute_budget": 400, "explorer_spread": 1.0}
            if arm == "selection":
                params["selection"] = {"every": 10, "fraction": 0.2}
            model = _run(params, steps, seed)
            evolved[arm].append(float(_effectiveness(model.angle, model.speed).mean()))
    gain = np.array([baseline - e for e in evolved["selection"]])  # > 0: the evolved population finds lower L
    standard_error = float(gain.std(ddof=1) / math.sqrt(len(gain)))
    better = gain.mean() > 2 * standard_error
    measured = {"founders_mean_best_L": round(baseline, 3),
                **{f"evolved_{arm.replace(' ', '_')}_mean_best_L": [round(e, 3) for e in values]
                   for arm, values in evolved.items()},
                "gain_over_founders": round(float(gain.mean()), 3), "gain_standard_error": round(standard_error, 3)}
    fig = Figure("Meta-evolution on Rastrigin d = 2: the survivors as optimizers", "seed",
                 "mean best L in fresh runs (lower is better)",
                 [Series("founders", list(seeds), [baseline] * len(seeds)),
                  *[Series(f"evolved, {arm}", list(seeds), values) for arm, values in evolved.items()]])
    note = (f"founders {baseline:.2f}; after {steps} steps of spawning, variation and φ-selection the survivors "
            f"find {np.mean(evolved['selection']):.2f} on average (gain {gain.mean():+.2f} ± {standard_error:.2f} "
            f"over {len(gain)} seeds; without selection {np.mean(evolved['no selection']):.2f}). ")
    note += ("The survivors are better optimizers." if better else
             "φ rewards where an algorithm's explorers stand (fitness), their spread and its offspring, not how well "
             "it searches; selecting on it did not make the survivors better optimizers than the founders")
    return Measured(measured, "reproduced" if better else "differs", note, fig)


def _propagation(quick: bool) -> Measured:
    """Does meta-evolution favour the algorithms that spread themselves (R) over the ones that optimize (S, V)?
    Offspring vary R by a factor e^{σz}, whose mean e^{σ²/2} > 1 pushes R up by itself; the control starts every
    founder at the same R (their mean), so that R rises there only by that drift and selection on what it varies."""
    seeds, steps = (range(4), 150) if quick else (range(10), 300)
    varied = [{**f, "count": 1, "reproduction": r} for f in _founders() for r in (0.005, 0.02, 0.08)]
    founders_R = float(np.mean([f["reproduction"] for f in varied]))
    arms = {"R varied": varied, "R equal (control)": [{**f, "reproduction": founders_R} for f in varied]}
    founders_L = float(_effectiveness(np.array([f["angle"] for f in varied]),
                                      np.array([f["speed"] for f in varied])).mean())
    rows: dict[str, Any] = {}
    for label, founders in arms.items():
        for gamma in (0.0, 1.0):  # φ without and with its reproduction term
            ratio, gain = [], []
            for seed in seeds:
                model = _run({"landscape": {"function": "rastrigin", "dim": 2}, "generality_model": "scalar",
                              "algorithms": founders, "compute_budget": 400, "explorer_spread": 1.0,
                              "selection": {"every": 10, "fraction": 0.2}, "propagation": {"gamma": gamma}},
                             steps, seed)
                ratio.append(math.log(float(model.reproduction.mean()) / founders_R))
                gain.append(founders_L - float(_effectiveness(model.angle, model.speed).mean()))
            rows[f"{label}, gamma={gamma:g}"] = {
                "log_R_ratio": [round(r, 3) for r in ratio],
                "survivors_R_over_founders": round(math.exp(np.mean(ratio)), 2),
                "optimizer_gain_in_L": round(float(np.mean(gain)), 3),
                "gain_standard_error": round(float(np.std(gain, ddof=1) / math.sqrt(len(gain))), 3)}
    # selection on inherited R: the varied founders' survivors end with more R than the control's, seed by seed
    beyond = {gamma: np.array(rows[f"R varied, gamma={gamma:g}"]["log_R_ratio"])
              - np.array(rows[f"R equal (control), gamma={gamma:g}"]["log_R_ratio"]) for gamma in (0.0, 1.0)}
    ok = all(d.mean() > 2 * d.std(ddof=1) / math.sqrt(len(d)) for d in beyond.values())
    rows["founders"] = {"mean_R": round(founders_R, 4), "mean_best_L": round(founders_L, 3)}
    v0, c0, v1 = rows["R varied, gamma=0"], rows["R equal (control), gamma=0"], rows["R varied, gamma=1"]
    return Measured(rows, "reproduced" if ok else "differs",
                    f"36 founders (S, V as in metaopt.meta_evolution_improves_optimizers; R 0.005, 0.02 or 0.08), "
                    f"{steps} steps under a compute budget and φ-selection, {len(seeds)} seeds: the survivors' mean R "
                    f"is {v0['survivors_R_over_founders']:.1f}x the founders' when φ does not reward offspring "
                    f"(γ = 0; {v1['survivors_R_over_founders']:.1f}x at γ = 1), against "
                    f"{c0['survivors_R_over_founders']:.1f}x when every founder starts at the same R (the mutations' "
                    f"upward drift, and selection on the variation they make). The difference, seed by seed, is "
                    f"selection for spreading: fecundity selection, the text's analogue of instrumental "
                    f"convergence. As optimizers the survivors gain {v0['optimizer_gain_in_L']:+.2f} ± "
                    f"{v0['gain_standard_error']:.2f} in mean best L (lower is better): not shown better, though R "
                    "costs an algorithm nothing here, so spreading never has to compete with searching well", None)


def _stochasticity_escape(quick: bool) -> Measured:
    """One explorer started in a local minimum of Rastrigin (near (2, 2), L ≈ 8), S from 0° to 90°, two speeds."""
    count, steps = (100, 200) if quick else (300, 300)
    angles = [0.0, 30.0, 60.0, 80.0, 90.0]
    rows, series, verdicts = {}, [], []
    for speed in (0.05, 0.4):
        algorithms = [{"count": count, "n_explorers": 1, "angle": s, "speed": speed, "generality": 1.0,
                       "start": {"at": [1.99, 1.99]}} for s in angles]
        model = _run({"landscape": {"function": "rastrigin", "dim": 2}, "algorithms": algorithms}, steps, seed=3)
        escaped = [float(np.mean(model.best_loss[model.angle == s] < 7.0)) for s in angles]
        rows[f"V={speed}"] = dict(zip([f"S={s:g}" for s in angles], escaped, strict=True))
        series.append(Series(f"V = {speed}", angles, escaped))
        best = max(escaped[1:])
        verdicts.append(best - escaped[0] > 4 * math.sqrt(max(best * (1 - best), 1 / count) / count))
    fig = Figure("Escaping a local minimum of Rastrigin", "S (degrees)", "share reaching L < 7", series)
    note = ("a move at S <= 90° never has an uphill component, so to first order in V it cannot climb out of a basin: "
            "at V = 0.05 no S escapes; only when V is comparable to the basin (V = 0.4) do S > 0 moves escape, by "
            "overshooting the ridge")
    return Measured(rows, "reproduced" if all(verdicts) else "differs", note, fig)


def _takeoff(quick: bool) -> Measured:
    """Binary against scalar generality: the largest single jump in the most general offspring so far."""
    seeds = range(3) if quick else range(8)
    steps = 100 if quick else 200
    common = {"landscape": {"function": "wells", "dim": 2}, "compute_budget": 600, "generality_threshold": 0.3}
    start = {"count": 4, "n_explorers": 5, "angle": 45.0, "speed": 0.05, "start": {"low": -3.0, "high": 3.0}}
    jumps: dict[str, list[float]] = {"binary": [], "scalar": []}
    first: dict[str, list[int | None]] = {"binary": [], "scalar": []}
    series = []
    for seed in seeds:
        for name, extra, algorithm in (
            ("binary", {"generality_model": "binary", "p_general": 0.002, "p_specific": 0.02}, {"generality": 1.0}),
            ("scalar", {"generality_model": "scalar"}, {"generality": 0.9, "reproduction": 0.02}),
        ):
            model = _run({**common, **extra, "algorithms": [{**start, **algorithm}]}, steps, seed)
            jumps[name].append(round(model.largest_jump, 4))
            first[name].append(model.first_general_step)
            if seed == 0 and model.generality_records:
                record = model.generality_records
                xs = [s for s, _ in record] + [steps]
                series.append(Series(f"{name} (seed 0)", xs, [g for _, g in record] + [record[-1][1]]))
    fig = Figure("The most general offspring so far", "step", "G", series)
    hard = all(j == 1.0 for j in jumps["binary"])
    soft = max(jumps["scalar"]) < 0.5
    return Measured({"largest_jump": jumps, "first_offspring_with_G>=0.3_at_step": first},
                    "reproduced" if hard and soft else "differs",
                    "binary: the first general offspring jumps from G = 0 to 1 in one spawn (hard); scalar: the record "
                    "rises in small steps (soft), and with β >> α offspring rarely pass G = 0.3 at all", fig)


def _offspring_specific(quick: bool) -> Measured:
    """P(offspring G < 0.25) under the default Beta law, from the closed form and from the world's own draws."""
    law = BetaLaw()
    n = 2000 if quick else 10000
    rows = {}
    for parent in (0.0, 0.5, 1.0):
        a, b = law.parameters(parent)
        model = _run({"landscape": {"function": "sphere", "dim": 2}, "variation": {"max_explorers": 1},
                      "algorithms": [{"n_explorers": n, "angle": 45.0, "generality": parent, "reproduction": 1.0}]},
                     1, seed=4)
        children = model.generality[model.generation == 1]
        rows[f"G_parent={parent:g}"] = {"alpha": a, "beta": b, "closed_form": round(float(stats.beta(a, b).cdf(0.25)),
                                                                                       4),
                                        "drawn": round(float(np.mean(children < 0.25)), 4)}
    ok = all(r["closed_form"] > 0.75 and abs(r["drawn"] - r["closed_form"]) < 4 * math.sqrt(0.25 / n)
             for r in rows.values())
    return Measured(rows, "reproduced" if ok else "differs",
                    "with α rising from 0.5 to 2 and β falling from 40 to 12 as the parent's G goes from 0 to 1, most "
                    "offspring are very specific (G < 0.25) even from a fully general parent")


def claims() -> list[Claim]:
    w = "metaopt"
    return [
        Claim("metaopt.explorers_improve_rugged_solutions", w, "For a rugged (multi-modal) landscape there is a "
              "positive correlation between N(A) and the quality of the solution found", "positive correlation",
              _explorers_and_quality),
        Claim("metaopt.single_point_methods_stuck_more", w, "Gradient descent and its variants, being single-point "
              "methods, are more prone to getting stuck in local minima", "single point stuck more",
              _single_point_stuck),
        Claim("metaopt.meta_evolution_improves_optimizers", w, "Over time, A(t) evolves under the meta-optimization "
              "process M to become a more effective optimizer", "more effective", _meta_evolution),
        Claim("metaopt.propagation_is_selected", w, "The meta-optimization process might favor algorithms that are "
              "more effective at propagating themselves within the function space, even if their behaviors are not "
              "aligned (an analogue of instrumental convergence)", "propagation favoured", _propagation),
        Claim("metaopt.stochasticity_escapes_local_optima", w, "Randomness in the moves (S > 0) helps escape local "
              "minima", "S > 0 escapes", _stochasticity_escape),
        Claim("metaopt.binary_hard_scalar_soft_takeoff", w, "The binary generality model is a model of a hard "
              "take-off; the scalar model can be gradual", "binary hard, scalar soft", _takeoff),
        Claim("metaopt.offspring_overwhelmingly_specific", w, "With offspring G ~ Beta(α, β), β >> α, any offspring "
              "has an overwhelming chance of being very specific, even as the parent's G rises",
              "overwhelmingly specific", _offspring_specific),
    ]
