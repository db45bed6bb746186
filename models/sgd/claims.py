"""The Monte Carlo claims of "Modelling and Understanding SGD" about SGD walkers (see docs/sgd.md), each measured
by the SGD world.

Tolerances for Monte Carlo estimates come from their standard errors (4 sigma).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.claims import Claim, Figure, Measured, Series
from models.landscapes import pit
from models.sgd.consecutive_steps import consecutive_steps, run_probability
from models.sgd.model import SGDModel

SEED = 20231107  # the seed of every claim's run: results are reproducible to the bit
PIT_START = {"local_minimum": "l1", "near": 1.0}  # the essay's "W = 1.004", the minimum of l1
BARRIER = {"above": {"local_maximum": "l1", "near": 1.2}}  # the essay's "W = 1.196"
RUN_T = 0.05  # the essay does not give T for the consecutive-steps argument; 0.05 is the T of its pit runs


def _gd_path(landscape: dict, temperature: float, start: float, steps: int) -> np.ndarray:
    model = SGDModel(rng=SEED, landscape=landscape, method="gd", temperature=temperature, n_walkers=1,
                     start={"at": start}, trajectories=1)
    for _ in range(steps):
        model.step()
    return model.trajectory_table()["W0"].to_numpy()


def _escape_runs(temperatures: list[float], walkers: int, steps: int, landscape: dict | None = None) -> pd.DataFrame:
    """P(escaped within N steps) for each T, SGD from the l1 minimum of the pit."""
    model = SGDModel(rng=SEED, landscape=landscape or {"preset": "pit"}, temperature=temperatures,
                     n_walkers=walkers, start=PIT_START, escape=BARRIER, stop_at_escape=True,
                     collect_every=max(1, steps // 100), agent_objects=False)
    for _ in range(steps):
        if not model.running:
            break
        model.step()
    table = []
    for T in temperatures:
        esc = model.escape_step[np.isclose(model.temperature, T)]
        for N in (100, 1000, 10000):
            if N <= steps:
                p = float(np.mean((esc >= 0) & (esc <= N)))
                table.append({"temperature": T, "horizon": N, "p": p, "se": math.sqrt(max(p * (1 - p), 0) / len(esc)),
                              "n": len(esc)})
    return pd.DataFrame(table)


def _gd_step_size(quick: bool) -> Measured:
    ls = {"preset": "one_datapoint"}
    rows = {}
    for T in (1.0, 0.2, 0.5):
        path = _gd_path(ls, T, 0.0, 60)
        err = path - 2.0
        crossings = int(np.sum(np.sign(err[1:]) * np.sign(err[:-1]) < 0))
        reached = np.flatnonzero(np.abs(err) < 1e-3)
        rows[T] = {"sign_changes": crossings, "steps_to_1e-3": int(reached[0]) if len(reached) else None,
                   "path": path}
    zigzag = rows[1.0]["sign_changes"] >= 10
    best = rows[0.5]["steps_to_1e-3"] is not None and all(
        rows[T]["steps_to_1e-3"] is None or rows[T]["steps_to_1e-3"] > rows[0.5]["steps_to_1e-3"] for T in (1.0, 0.2))
    measured = {f"T={T:g}": {k: v for k, v in r.items() if k != "path"} for T, r in rows.items()}
    fig = Figure("GD on one datapoint from W = 0", "step", "W",
                 [Series(f"T = {T:g}", list(range(len(r["path"]))), r["path"].tolist()) for T, r in rows.items()])
    if zigzag and best:
        return Measured(measured, "reproduced", "T = 1 zig-zags around W = 2; T = 0.5 converges first", fig)
    return Measured(measured, "differs", "the ordering of step sizes is not the essay's", fig)


# l = -depth exp(-width (W - 2)^2): the one-datapoint loss, spikier or deeper; L'' = 2 depth width at W = 2
SPIKINESS = {"the essay's loss": (1.0, 1.0), "4x as narrow": (1.0, 4.0), "2x as wide": (1.0, 0.25),
             "4x as deep": (4.0, 1.0)}


def _optimal_T(quick: bool) -> Measured:
    steps, offset = 10, 0.02  # GD from just beside the minimum: its contraction over `steps` steps
    temps = np.logspace(-2, 1, 61 if quick else 121)
    rows, series, ok = {}, [], True
    for label, (depth, width) in SPIKINESS.items():
        landscape = {"dim": 1, "datapoints": {"l0": [{"gaussian": {"a": -depth, "b": width, "c": 2.0}}]}}
        model = SGDModel(rng=SEED, landscape=landscape, method="gd", temperature=temps.tolist(), n_walkers=1,
                         start={"at": 2.0 + offset / math.sqrt(width)})
        for _ in range(steps):
            model.step()
        walkers = model.walker_table()
        shrink = np.abs(walkers["W0"] - 2.0) / np.abs(walkers["start_W0"] - 2.0)
        curvature = 2.0 * depth * width
        best = float(walkers["temperature"].iloc[int(np.argmin(shrink))])
        ok = ok and abs(math.log(best * curvature)) <= math.log(temps[1] / temps[0]) + 1e-12  # within a grid step
        rows[label] = {"curvature": curvature, "best_T": round(best, 4), "newton_T": round(1 / curvature, 4),
                       "best_T_x_curvature": round(best * curvature, 3)}
        series.append(Series(f"{label} (L'' = {curvature:g})", (walkers["temperature"] * curvature).tolist(),
                             np.maximum(shrink, 1e-16).tolist()))
    figure = Figure(f"GD from beside the minimum: |W - 2| after {steps} steps, against T L''", "T L''(W*) "
                    "(Newton's dimensionless step)", "|W - 2| after / before", series, xscale="log", yscale="log")
    return Measured(rows, "reproduced" if ok else "differs",
                    "the best T is 1/L'' at the minimum, Newton's step: T has the dimension W^2/L, so a loss twice "
                    "as wide wants 4x the T and one 4x as deep a quarter of it. Near the minimum GD shrinks the "
                    "distance by |1 - T L''| a step, so this is the essay's dimensional argument made exact, checked "
                    "here by the walkers' own integrator; the essay's T = 0.5, the best of the three it tried, is "
                    "1/L'' of its loss", figure)


def _pit_gd_large(quick: bool) -> Measured:
    path = _gd_path({"preset": "pit"}, 0.5, 0.0, 200)
    in_pit_at_end = abs(path[-1] - 1.0) < 0.2
    fig = Figure("GD on the pit from W = 0, T = 0.5", "step", "W", [Series("T = 0.5", list(range(len(path))),
                                                                            path.tolist())])
    measured = {"final_W": float(path[-1]), "min_W": float(path.min())}
    if not in_pit_at_end:
        return Measured(measured, "reproduced", "the step over the pit overshoots it; GD ends in the W = 2 well", fig)
    return Measured(measured, "differs", "GD settled in the pit", fig)


def _pit_gd_small(quick: bool) -> Measured:
    ls = pit()
    pit_min = ls.local_extremum("mean", 1.0, "minimum")[0]
    h = 1e-5
    curvature = float((ls.mean_gradient(pit_min + h) - ls.mean_gradient(pit_min - h))[0] / (2 * h))
    path = _gd_path({"preset": "pit"}, 0.05, 0.0, 400)
    in_pit = np.abs(path - pit_min) < 0.15
    entered = int(np.argmax(in_pit)) if in_pit.any() else None
    left = int(entered + np.argmin(in_pit[entered:])) if entered is not None and not in_pit[-1] else None
    stays = [T for T in (0.005, 0.01, 0.02, 0.03, 0.05) if abs(_gd_path({"preset": "pit"}, T, 0.0, 4000)[-1] - pit_min)
             < 1e-6]
    measured = {"final_W": float(path[-1]), "entered_pit_step": entered, "left_pit_step": left,
                "curvature_of_L_at_pit": curvature, "stability_limit_T": 2.0 / curvature, "T_that_stay": stays}
    fig = Figure("GD on the pit from W = 0, T = 0.05", "step", "W",
                 [Series("T = 0.05", list(range(len(path))), path.tolist())], hlines=[(pit_min, "pit minimum")])
    if abs(path[-1] - pit_min) < 1e-3:
        return Measured(measured, "reproduced", "GD stays in the pit", fig)
    return Measured(
        measured, "differs",
        f"GD at T = 0.05 is linearly unstable in the pit (T L'' = {0.05 * curvature:.2f} > 2): it enters the pit at "
        f"step {entered}, oscillates out by step {left} and ends at W = {path[-1]:.3f}; GD stays only for "
        f"T < 2/L'' = {2 / curvature:.4f}", fig)


def _stationary_points(quick: bool) -> Measured:
    points = pit().stationary_points("l1", 0.5, 1.5)
    measured = [round(w, 4) for w, _ in points]
    ok = len(points) == 2 and abs(points[0][0] - 1.004) < 5e-4 and abs(points[1][0] - 1.196) < 5e-4
    return Measured(measured, "reproduced" if ok else "differs",
                    "" if ok else "the stationary points of l1 are not at 1.004 and 1.196")


def _consecutive(quick: bool) -> Measured:
    ls = pit()
    (w_min, _), (w_max, _) = ls.stationary_points("l1", 0.5, 1.5)
    run = consecutive_steps(ls, "l0", RUN_T, w_min, w_max)
    measured = {"T": RUN_T, "steps": run.steps, "W_after": round(run.positions[-1], 4),
                "positions": [round(w, 4) for w in run.positions]}
    ok = run.steps == 5 and abs(run.positions[-1] - 1.201) < 2e-3
    return Measured(measured, "reproduced" if ok else "differs",
                    f"T = {RUN_T} (the essay does not state it); from the l1 minimum {w_min:.4f}" if ok else
                    f"{run.steps} steps reach {run.positions[-1]:.4f}")


def _run_probability(quick: bool) -> Measured:
    p = run_probability(5, 100, 0.5)
    return Measured(round(p, 4), "reproduced" if abs(p - 0.81) < 0.005 else "differs",
                    "exact: a run of >= 5 l0-picks among 100 fair picks")


def _deeper_pit_steps(quick: bool) -> Measured:
    steps = {}
    for depth in (1.0, 2.0):
        ls = pit(depth=depth)
        (w_min, _), (w_max, _) = ls.stationary_points("l1", 0.5, 1.5)
        steps[depth] = consecutive_steps(ls, "l0", RUN_T, w_min, w_max).steps
    ok = steps[2.0] == steps[1.0] + 1
    return Measured({"depth 1": steps[1.0], "depth 2": steps[2.0]}, "reproduced" if ok else "differs",
                    f"at T = {RUN_T}")


def _deeper_pit_unstable(quick: bool) -> Measured:
    # "Not stable because of SGD" must be tested where GD *is* stable (T < 2/L''), or step-size
    # instability alone would pass it: the exact chain gives both mean escape times.
    from models.density.fokker_planck import Grid, stability_thresholds
    from models.density.transfer import transfer_chain

    ls = pit(depth=2.0)
    w_pit = float(ls.local_extremum("mean", 1.0, "minimum")[0])
    L_pit, L_main = float(ls.mean_loss(w_pit)), float(ls.mean_loss(2.0))
    gd_limit = stability_thresholds(ls, w_pit)["gd"]
    T = 0.009
    barrier = float(ls.local_extremum("l1", 1.25, "maximum")[0])
    start = float(ls.local_extremum("l1", 1.0, "minimum")[0])
    grid = Grid(0.3, barrier, 1500 if quick else 3000)
    masses = np.zeros(grid.cells)
    masses[grid.cell_of(start)] = 1.0
    sgd_time = transfer_chain(ls, T, grid, "reflecting", "absorbing").mean_escape_time(masses)
    gd_time = transfer_chain(ls, T, grid, "reflecting", "absorbing", batch="gd").mean_escape_time(masses)
    horizon, walkers = 20000, 500 if quick else 2000
    chain_p = float(np.sum(transfer_chain(ls, T, grid, "reflecting", "absorbing").step(masses.copy(), horizon)))
    model = SGDModel(rng=SEED, landscape={"preset": "pit", "options": {"depth": 2.0}}, temperature=T,
                     n_walkers=walkers, start={"at": start}, escape={"above": barrier}, stop_at_escape=True,
                     agent_objects=False, collect_every=1000)
    for _ in range(horizon):
        model.step()
    p = float(np.mean(model.escape_step >= 0))
    measured = {"L_pit": round(L_pit, 4), "L_at_2": L_main, "T": T, "gd_stability_limit": round(gd_limit, 5),
                "gd_mean_escape_time": "never" if math.isinf(gd_time) else gd_time,
                "sgd_mean_escape_time": round(sgd_time, 1), f"sgd_escaped_within_{horizon}_monte_carlo": p,
                f"sgd_escaped_within_{horizon}_chain": round(chain_p, 4)}
    ok = L_pit < L_main and T < gd_limit and math.isinf(gd_time) and math.isfinite(sgd_time)
    agree = abs(p - chain_p) < 4 * math.sqrt(max(chain_p * (1 - chain_p), 1 / walkers) / walkers)
    return Measured(measured, "reproduced" if ok and agree else "differs",
                    f"the pit is L's global minimum; at T = {T} (< GD's limit {gd_limit:.4f}) GD stays in it forever, "
                    f"while SGD leaves after {sgd_time:.3g} steps on average (exact chain; Monte Carlo agrees on "
                    f"P(escape within {horizon}))" if ok else "SGD does not leave the deeper pit where GD is stable")


def _inverse_T(quick: bool) -> Measured:
    ls = pit()
    (w_min, _), (w_max, _) = ls.stationary_points("l1", 0.5, 1.5)
    temps = np.logspace(-3, np.log10(0.05), 15)
    n = np.array([consecutive_steps(ls, "l0", float(T), w_min, w_max).steps for T in temps])
    slope = float(np.polyfit(np.log(temps), np.log(n), 1)[0])
    fig = Figure("Consecutive l0 steps to escape", "T", "n(T)", [Series("n(T)", temps.tolist(), n.tolist()),
                 Series("n(0.05) * 0.05 / T", temps.tolist(), (n[-1] * temps[-1] / temps).tolist())],
                 xscale="log", yscale="log")
    ok = abs(slope + 1) < 0.1
    return Measured({"loglog_slope": round(slope, 3), "n": dict(zip([f"{t:.4g}" for t in temps], n.tolist(),
                                                                     strict=True))},
                    "reproduced" if ok else "differs", "slope of log n against log T", fig)


def _escape_curves(quick: bool) -> tuple[pd.DataFrame, pd.DataFrame, Figure, Figure]:
    walkers = 300 if quick else 2000
    coarse = _escape_runs([float(t) for t in np.logspace(-3, -1, 13 if quick else 25)], walkers, 10000)
    fine = _escape_runs([float(t) for t in np.linspace(0.01, 0.02, 6 if quick else 11)], walkers, 10000)

    def fig(table: pd.DataFrame, title: str, xscale: str) -> Figure:
        return Figure(title, "T", "P(escape within N steps)", [
            Series(f"N = {N}", g.temperature.tolist(), g.p.tolist(), g.se.tolist())
            for N, g in table.groupby("horizon")], xscale=xscale)  # type: ignore[arg-type]

    return coarse, fine, fig(coarse, "Escaping the pit, T from 0.001 to 0.1", "log"), fig(
        fine, "Escaping the pit, T from 0.01 to 0.02", "linear")


_CURVES: dict[bool, tuple] = {}


def _curves(quick: bool) -> tuple:
    if quick not in _CURVES:
        _CURVES[quick] = _escape_curves(quick)
    return _CURVES[quick]


def _rises_with_T(quick: bool) -> Measured:
    coarse, _, fig_coarse, _ = _curves(quick)
    dips = []
    for N, g in coarse.groupby("horizon"):
        p, se = g.p.to_numpy(), g.se.to_numpy()
        for i in range(1, len(p)):
            if p[i] < p[i - 1] - 4 * math.hypot(se[i], se[i - 1]) - 1e-12:
                dips.append((int(N), float(g.temperature.iloc[i])))
    measured = {f"N={N}": dict(zip([f"{t:.4g}" for t in g.temperature], [round(v, 4) for v in g.p], strict=True))
                for N, g in coarse.groupby("horizon")}
    rises = any(g.p.iloc[-1] - g.p.iloc[0] > 4 * math.hypot(g.se.iloc[-1], g.se.iloc[0]) + 1e-12
                for _, g in coarse.groupby("horizon"))
    if not rises:
        return Measured(measured, "differs", "escape probability does not rise over the range of T", fig_coarse)
    if not dips:
        return Measured(measured, "reproduced", "non-decreasing in T at N = 100, 1000, 10000 (within 4 s.e.)",
                        fig_coarse)
    return Measured(measured, "differs", f"escape probability falls with T at (N, T) = {dips}", fig_coarse)


def _mc_beats_run_model(quick: bool) -> Measured:
    coarse, fine, _, fig_fine = _curves(quick)  # both grids are compared with the run model
    ls = pit()
    (w_min, _), (w_max, _) = ls.stationary_points("l1", 0.5, 1.5)
    worse, easier = [], []
    rows = {}
    for _, r in pd.concat([coarse, fine]).iterrows():
        n = consecutive_steps(ls, "l0", r.temperature, w_min, w_max).steps
        model_p = run_probability(n, int(r.horizon), 0.5)
        rows[f"T={r.temperature:.4g},N={int(r.horizon)}"] = {"monte_carlo": round(r.p, 4), "run_model": round(
            model_p, 4)}
        margin = 4 * max(r.se, math.sqrt(model_p * (1 - model_p) / r.n))
        if r.p < model_p - margin:
            worse.append(rows[f"T={r.temperature:.4g},N={int(r.horizon)}"])
        elif r.p > model_p + margin:
            easier.append(rows[f"T={r.temperature:.4g},N={int(r.horizon)}"])
    if worse:
        return Measured(rows, "differs", f"Monte Carlo below the run model at {len(worse)} points", fig_fine)
    if not easier:  # never below, but never above either: no evidence that escape is easier
        return Measured(rows, "differs", "Monte Carlo is nowhere above the run-of-l0 model (4 s.e.)", fig_fine)
    return Measured(rows, "reproduced", f"Monte Carlo escape is never below the run-of-l0 model and above it at "
                    f"{len(easier)} of {len(rows)} (T, N) points (4 s.e.)", fig_fine)


def _mc_at_run_T(quick: bool) -> Measured:
    table = _escape_runs([RUN_T], 1000 if quick else 20000, 100)
    p, se = float(table.p.iloc[0]), float(table.se.iloc[0])
    ls = pit()
    w_min = ls.local_extremum("l1", 1.0, "minimum")[0]
    h = 1e-6
    curvature = float((ls.gradient(w_min + h, "l1") - ls.gradient(w_min - h, "l1"))[0] / (2 * h))
    floor = math.sqrt(0.81 * 0.19 / int(table.n.iloc[0]))  # p = 1 has a zero standard error: use the 0.81 one
    ok = p > 0.81 + 4 * max(se, floor)
    return Measured({"monte_carlo_p": round(p, 4), "stderr": round(se, 4), "T_times_l1_curvature": round(
        RUN_T * curvature, 2)}, "reproduced" if ok else "differs",
        f"at T = {RUN_T}, within 100 steps, from the l1 minimum; the run argument gives 0.81. At this T even "
        f"l1's own steps overshoot its pit (T l1'' = {RUN_T * curvature:.1f} > 2), so almost every walker is out "
        "within a few steps; sgd.easier_than_run_model compares the two at every T")


def claims() -> list[Claim]:
    """The essay's Monte Carlo and consecutive-steps claims."""
    w = "sgd"
    return [
        Claim("sgd.gd_one_datapoint_step_size", w,
              "GD on one datapoint: T = 1 zig-zags, T = 0.2 is slow, T = 0.5 is much better",
              "T = 0.5 best", _gd_step_size),
        Claim("sgd.optimal_T_depends_on_spikiness", w,
              "There's an optimal value of T, which depends on the spikiness of the loss function: T has the "
              "dimension of W^2/L (Newton's method divides by d^2L/dW^2), which is why different loss functions "
              "require different T values", "T* set by the loss's curvature", _optimal_T),
        Claim("sgd.pit_gd_large_step_overshoots", w,
              "On the pit from W = 0, GD with T = 0.5 does not stay in the pit", "leaves the pit", _pit_gd_large),
        Claim("sgd.pit_gd_small_step_stuck", w,
              "On the pit from W = 0, GD with T = 0.05 is stuck in the local minimum", "stuck in the pit",
              _pit_gd_small),
        Claim("sgd.stationary_points_l1", w, "The stationary points of l1 are W = 1.004 and W = 1.196",
              [1.004, 1.196], _stationary_points),
        Claim("sgd.consecutive_steps_5", w, "5 consecutive steps of descent on l0 take W from the pit to 1.201",
              {"steps": 5, "W_after": 1.201}, _consecutive),
        Claim("sgd.run_probability_81pct", w, "Within 100 steps we have an 81% chance of getting out", 0.81,
              _run_probability),
        Claim("sgd.deeper_pit_one_more_step", w,
              "If the pit is twice as deep, only one more consecutive step is needed", "+1 step", _deeper_pit_steps),
        Claim("sgd.deeper_pit_global_minimum_unstable", w,
              "With a twice-deep pit, W = 1 is L's global minimum, yet under SGD it is not stable",
              "global minimum, not stable", _deeper_pit_unstable),
        Claim("sgd.steps_inversely_proportional_to_T", w,
              "The number of consecutive l0 steps needed to escape is inversely proportional to T", "n ∝ 1/T",
              _inverse_T),
        Claim("sgd.monte_carlo_escapes_more_easily", w,
              "We generally need significantly fewer steps than the consecutive-steps argument says",
              "> 0.81 within 100 steps", _mc_at_run_T),
        Claim("sgd.escape_probability_rises_with_T", w,
              "The larger T is, the more likely the model crosses out of the local minimum",
              "increasing in T", _rises_with_T),
        Claim("sgd.easier_than_run_model", w,
              "It is easier to escape the pit than our original model predicted (100, 1000, 10000 steps)",
              "Monte Carlo >= run model", _mc_beats_run_model),
    ]


