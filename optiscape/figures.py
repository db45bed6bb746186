"""PNG figures of a run, drawn from the tables a model returns (matplotlib, no display needed)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from models.claims import Figure
from optiscape.plugins import resolve

# The density world's descriptions (models.density.DESCRIPTIONS) and its walkers, as figures and the page name them.
DESCRIPTION_LABELS = {
    "chain": "chain (exact)",
    "fokker_planck": "Fokker-Planck (Itô)",
    "seed_master": "seed's master equation",
    "gaussian_rule": "seed's Gaussian rule",
    "monte_carlo": "Monte Carlo walkers",
}
DESCRIPTION_COLOURS = {
    "chain": "tab:blue",
    "fokker_planck": "tab:orange",
    "seed_master": "tab:purple",
    "gaussian_rule": "tab:green",
    "monte_carlo": "tab:red",
}
DENSITY_POINTS = 2000  # at most this many points per density curve; finer grids are averaged over neighbouring cells


def draw(figure: Figure, path: Path) -> Path:
    """Draw a Figure (a claim's data) to a PNG."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for s in figure.series:
        if s.error is not None:
            ax.errorbar(s.x, s.y, yerr=s.error, label=s.label, marker="o", markersize=3, capsize=2)
        else:
            ax.plot(s.x, s.y, label=s.label, marker="." if len(s.x) < 60 else None)
    for y, label in figure.hlines:
        ax.axhline(y, color="grey", linestyle=":", label=label)
    ax.set(title=figure.title, xlabel=figure.xlabel, ylabel=figure.ylabel, xscale=figure.xscale,
           yscale=figure.yscale)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- the SGD world -------------------------------------------------------------------------------


def _draw_losses(ax: Any, landscape: Any, positions: np.ndarray) -> None:
    """Every l_j (thin) and L (thick, black) at the 1-D positions W."""
    for name in landscape.names:
        ax.plot(positions, landscape.loss(positions, name), linewidth=1, label=name)
    ax.plot(positions, landscape.mean_loss(positions), color="black", linewidth=2, label="L")


def _landscape_figure(model: Any, out: Path) -> Path:
    """landscape.png: the losses with a histogram of every walker's W (1-D), or the walkers' first two coordinates."""
    ls = model.landscape
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if ls.dim == 1:
        lo, hi = ls.window()
        _draw_losses(ax, ls, np.linspace(lo, hi, 800))
        ax.set(xlabel="W", ylabel="loss", title="Landscape and final walker positions")
        twin = ax.twinx()
        finite = model.position[:, 0][(model.position[:, 0] > lo) & (model.position[:, 0] < hi)]
        twin.hist(finite, bins=80, range=(lo, hi), color="tab:red", alpha=0.35)
        twin.set_ylabel("walkers")
        ax.legend(fontsize=8, loc="lower left")
    else:
        ax.scatter(model.start_position[:, 0], model.start_position[:, 1], s=4, alpha=0.3, label="start")
        ax.scatter(model.position[:, 0], model.position[:, 1], s=4, alpha=0.5, label="now")
        ax.set(xlabel="W0", ylabel="W1", title="Walkers (first two coordinates)")
        ax.legend(fontsize=8)
    return _save(fig, out / "landscape.png")


def _trajectories_figure(traj: pd.DataFrame, out: Path) -> Path:
    """trajectories.png: W0 of the first few walkers over the collected steps."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for _, g in traj.groupby("walker"):
        ax.plot(g.step, g.W0, marker="." if len(g) < 80 else None, label=f"T = {g.temperature.iloc[0]:g}")
    ax.set(xlabel="step", ylabel="W0", title="Trajectories")
    ax.legend(fontsize=8)
    return _save(fig, out / "trajectories.png")


def sgd_figures(model: Any, tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """The SGD world's figures: landscape and walkers, time series, escape curves, trajectories."""
    paths = [_landscape_figure(model, out)]

    series = tables["model"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 5.2), sharex=True)
    top.plot(series.step, series.mean_W, label="mean W0")
    top.fill_between(series.step, series.mean_W - series.std_W, series.mean_W + series.std_W, alpha=0.25)
    top.set(ylabel="W0", title="Walkers over time")
    bottom.plot(series.step, series.escaped_fraction)
    bottom.set(xlabel="step", ylabel="escaped fraction")
    paths.append(_save(fig, out / "timeseries.png"))

    escape = tables.get("escape")
    if escape is not None and escape.temperature.nunique() > 1:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for horizon, g in escape.groupby("horizon"):
            ax.errorbar(g.temperature, g.escape_probability, yerr=g.stderr, marker="o", markersize=3, capsize=2,
                        label=f"within {horizon} steps")
        spread = escape.temperature.max() / escape.temperature.min()
        ax.set(xlabel="T", ylabel="P(escaped)", title="Escape probability against T",
               xscale="log" if spread > 20 else "linear")
        ax.legend(fontsize=8)
        paths.append(_save(fig, out / "escape.png"))

    traj = tables.get("trajectories")
    if traj is not None and len(traj):
        paths.append(_trajectories_figure(traj, out))
    return paths


# --- the density world ---------------------------------------------------------------------------


def has_absorbing_edge(model: Any) -> bool:
    """Whether a density model's grid lets mass out (its escape threshold): then densities hold only survivors."""
    return "absorbing" in (model.low_boundary, model.high_boundary)


def density_curves(model: Any, names: Any = None, points: int = DENSITY_POINTS) -> tuple[np.ndarray, dict[str, Any]]:
    """(W, {name: P(W)}): each description's density now (mass per unit W, integrating to the mass left).

    Grids finer than `points` cells are averaged over groups of neighbouring cells (at most `points` values).
    """
    grid = model.grid
    group = max(1, math.ceil(grid.cells / points))
    starts = np.arange(0, grid.cells, group)
    sizes = np.diff(np.append(starts, grid.cells))
    positions = np.add.reduceat(grid.centres, starts) / sizes
    names = model.masses if names is None else names
    return positions, {name: np.add.reduceat(model.masses[name], starts) / (sizes * grid.width) for name in names}


def walker_density(model: Any, bins: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(P, bin edges, walkers outside the grid): the Monte Carlo density on the grid's range, as the descriptions'.

    With an absorbing edge only the walkers that have not escaped count, over all walkers, so that it integrates
    to the surviving fraction as the descriptions' densities integrate to their mass left.
    """
    grid = model.grid
    walkers = model.position[:, 0]
    if has_absorbing_edge(model):
        walkers = walkers[model.escape_step < 0]
    counts, edges = np.histogram(walkers, bins=bins, range=(grid.low, grid.high))
    return counts / (model.n_walkers * np.diff(edges)), edges, len(walkers) - int(counts.sum())


def _densities_figure(model: Any, out: Path) -> Path:
    """densities.png: every description's P(W) and the walkers' histogram now, over the landscape L (thin)."""
    grid = model.grid
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    landscape_axes = ax.twinx()
    positions = np.linspace(grid.low, grid.high, 800)
    landscape_axes.plot(positions, model.landscape.mean_loss(positions), color="grey", linewidth=0.8)
    landscape_axes.set_ylabel("L (thin grey)", color="grey")
    landscape_axes.tick_params(axis="y", colors="grey")
    ax.set_zorder(landscape_axes.get_zorder() + 1)  # the densities in front of the landscape
    ax.patch.set_visible(False)

    density, edges, outside = walker_density(model, min(grid.cells, 100))
    label = DESCRIPTION_LABELS["monte_carlo"] + (" (not escaped)" if has_absorbing_edge(model) else "")
    if outside:
        label += f", {outside} outside the grid"
    ax.stairs(density, edges, fill=True, color=DESCRIPTION_COLOURS["monte_carlo"], alpha=0.3, label=label)
    W, curves = density_curves(model)
    for name, P in curves.items():
        ax.plot(W, P, color=DESCRIPTION_COLOURS.get(name), linewidth=1.3, label=DESCRIPTION_LABELS.get(name, name))
    for value, edge in ((grid.low, model.low_boundary), (grid.high, model.high_boundary)):
        if edge == "absorbing":
            ax.axvline(value, color="black", linestyle="--", linewidth=1, label="absorbing edge (escape)")
    ax.set(xlim=(grid.low, grid.high), ylim=(0, None), xlabel="W", ylabel="P(W) (per unit W)",
           title=f"Densities after {model.steps} steps (T = {model.T:g})")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, out / "densities.png")


def _moments_figure(model: Any, series: pd.DataFrame, out: Path) -> Path:
    """moments.png: each description's mean and standard deviation of W over time, and Monte Carlo's."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.4, 5.6), sharex=True)
    for name in model.masses:
        style = {"color": DESCRIPTION_COLOURS.get(name), "label": DESCRIPTION_LABELS.get(name, name)}
        top.plot(series.step, series[f"{name}_mean"], **style)
        bottom.plot(series.step, series[f"{name}_std"], **style)
    # monte_carlo_mean/std are over the walkers not yet escaped, as the densities are over the mass not escaped.
    colour = DESCRIPTION_COLOURS["monte_carlo"]
    label = DESCRIPTION_LABELS["monte_carlo"]
    top.plot(series.step, series.monte_carlo_mean, color=colour, linestyle="--", label=label)
    bottom.plot(series.step, series.monte_carlo_std, color=colour, linestyle="--", label=label)
    title = "Moments of the mass not escaped" if has_absorbing_edge(model) else "Moments of the density over time"
    top.set(ylabel="mean of W", title=title)
    bottom.set(xlabel="step", ylabel="standard deviation of W")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return _save(fig, out / "moments.png")


def _escape_times_figure(model: Any, escape_times: pd.DataFrame, out: Path) -> Path:
    """escape_times.png: survival S(t) = 1 - mass escaped by step t, per description and for the walkers."""
    steps = np.concatenate([[0], escape_times.step.to_numpy()])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    lowest = 1.0
    for name in model.masses:
        survival = 1.0 - np.concatenate([[0.0], np.cumsum(escape_times[name].to_numpy())])
        ax.plot(steps, survival, color=DESCRIPTION_COLOURS.get(name), label=DESCRIPTION_LABELS.get(name, name))
        lowest = min(lowest, float(survival[-1]))
    # Walkers that start in the escape region have escape step 0 and are not in the table's counts.
    start = 1.0 - float(np.mean(model.escape_step == 0))
    survival = start - np.concatenate([[0.0], np.cumsum(escape_times.monte_carlo.to_numpy())])
    stderr = np.sqrt(np.clip(survival * (1 - survival), 0, None) / model.n_walkers)
    colour = DESCRIPTION_COLOURS["monte_carlo"]
    ax.step(steps, survival, where="post", color=colour, linestyle="--",
            label=f"{DESCRIPTION_LABELS['monte_carlo']} (± 2 standard errors)")
    ax.fill_between(steps, survival - 2 * stderr, survival + 2 * stderr, step="post", color=colour, alpha=0.15)
    ax.set(xlabel="step", ylabel="S(t): mass not yet escaped", yscale="log", xlim=(0, steps[-1]),
           title="Survival against time")
    if lowest > 0.1:  # within one decade the minor ticks carry the labels: 0.9 reads better than 9 x 10^-1
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, out / "escape_times.png")


def density_figures(model: Any, tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """The density world's figures: the landscape with its walkers, the densities now, their moments over time,
    and (with an absorbing edge) the survival curves."""
    paths = [_landscape_figure(model, out), _densities_figure(model, out), _moments_figure(model, tables["model"], out)]
    escape_times = tables.get("escape_times")
    if escape_times is not None:
        paths.append(_escape_times_figure(model, escape_times, out))
    traj = tables.get("trajectories")
    if traj is not None and len(traj):
        paths.append(_trajectories_figure(traj, out))
    return paths


def causal_figures(model: Any, tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """The causal world's figures: Op of each target over time (exact, and finite δ), and the Op landscape."""
    series = tables["model"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for m in model.params.targets:
        ax.plot(series.step, series[f"op_{m}"], label=f"Op(A; n, {m}_t), exact")
        if f"op_delta_{m}" in series:
            ax.plot(series.step, series[f"op_delta_{m}"], linestyle="--", label=f"{m}, finite δ")
    title = f"A = {', '.join(model.params.clamp)}, n = {model.params.perturb}_0"
    ax.set(xlabel="step", ylabel="Op (nats)", title=title)
    ax.legend(fontsize=8)
    paths = [_save(fig, out / "op.png")]
    landscape = tables.get("landscape")
    if landscape is not None:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        x = landscape.iloc[:, 0]
        for m in model.params.targets:
            ax.plot(x, 1 - landscape[f"comp_{m}"], label=f"1 - Comp for {m} at step {model.steps}")
        ax.set(xlabel=landscape.columns[0], ylabel="1 - Comp", title="The optimization landscape over initial values")
        ax.legend(fontsize=8)
        paths.append(_save(fig, out / "landscape.png"))
    return paths


# A world whose figures live in a module of its own registers them as "module:function".
FIGURES: dict[str, Callable | str] = {
    "sgd": sgd_figures,
    "density": density_figures,
    "causal": causal_figures,
    "metaopt": "optiscape.metaopt_figures:metaopt_figures",
    "intelligence": "optiscape.intelligence_figures:intelligence_figures",
    "knowledge": "optiscape.knowledge_figures:knowledge_figures",
    "cooperation": "optiscape.cooperation_figures:cooperation_figures",
}


def figure_maker(world_name: str) -> Callable | None:
    """The function drawing a world's run figures, or None when the world has none."""
    ref = FIGURES.get(world_name)
    return None if ref is None else resolve(ref)
