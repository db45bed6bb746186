"""The hypotheses of Tunador (2023), §2, about N, S, G (see docs/metaopt.md), measured by the meta-optimization
world."""

from __future__ import annotations

import math

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
        Claim("metaopt.stochasticity_escapes_local_optima", w, "Randomness in the moves (S > 0) helps escape local "
              "minima", "S > 0 escapes", _stochasticity_escape),
        Claim("metaopt.binary_hard_scalar_soft_takeoff", w, "The binary generality model is a model of a hard "
              "take-off; the scalar model can be gradual", "binary hard, scalar soft", _takeoff),
        Claim("metaopt.offspring_overwhelmingly_specific", w, "With offspring G ~ Beta(α, β), β >> α, any offspring "
              "has an overwhelming chance of being very specific, even as the parent's G rises",
              "overwhelmingly specific", _offspring_specific),
    ]
