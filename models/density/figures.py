"""The density world's run figures, and the densities its browser page draws with them."""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from models.sgd.figures import landscape_figure, trajectories_figure
from models.viz import SMALL_FONT, Outputs, tight

# The density world's descriptions (model.DESCRIPTIONS) and its walkers, as figures and the page name them.
DESCRIPTION_LABELS = {
    "chain": "chain (exact)",
    "fokker_planck": "Fokker-Planck (Itô)",
    "printed_master": "the essay's master equation",
    "gaussian_rule": "the essay's Gaussian rule",
    "monte_carlo": "Monte Carlo walkers",
}
DESCRIPTION_COLOURS = {
    "chain": "tab:blue",
    "fokker_planck": "tab:orange",
    "printed_master": "tab:purple",
    "gaussian_rule": "tab:green",
    "monte_carlo": "tab:red",
}
# Overlapping curves stay visible: each description has its own dash as well as its colour.
DESCRIPTION_STYLES = {"chain": "-", "fokker_planck": "--", "printed_master": ":", "gaussian_rule": "-."}
MASS_SHARE = 0.998  # a density plot zooms to where this share of each description's mass lies
DENSITY_POINTS = 2000  # at most this many points per density curve; finer grids are averaged over neighbouring cells


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


MIN_ZOOM_CELLS = 40  # the densities' plot is never narrower than this many grid cells


def mass_window(W: np.ndarray, curves: dict[str, np.ndarray], low: float, high: float) -> tuple[float, float]:
    """The range of W holding MASS_SHARE of every description's mass (their union), padded by a tenth on each side
    and kept within [low, high]; the whole [low, high] when no mass is left."""
    lows, highs = [], []
    for P in curves.values():
        cumulative = np.cumsum(np.clip(P, 0, None))
        if cumulative[-1] <= 0:
            continue
        cumulative /= cumulative[-1]
        lows.append(W[np.searchsorted(cumulative, (1 - MASS_SHARE) / 2)])
        highs.append(W[min(np.searchsorted(cumulative, (1 + MASS_SHARE) / 2), len(W) - 1)])
    if not lows:
        return low, high
    start, stop = min(lows), max(highs)
    pad = max(stop - start, (high - low) / 200) / 10
    return max(low, start - pad), min(high, stop + pad)


def draw_densities(ax: Any, model: Any, names: Any = None, bins: int = 100) -> tuple[float, float]:
    """The walkers' histogram and each chosen description's P(W), zoomed to where the mass is; returns the zoom.

    The landscape L is drawn thin and grey on a second y axis, and an inset shows the whole grid when the zoom
    is less than half of it.
    """
    grid = model.grid
    W, curves = density_curves(model, names)
    window = mass_window(W, curves or density_curves(model)[1], grid.low, grid.high)
    if window[1] - window[0] < MIN_ZOOM_CELLS * grid.width:  # a point mass: show its neighbourhood, not one cell
        middle, half = sum(window) / 2, MIN_ZOOM_CELLS * grid.width / 2
        window = (max(grid.low, middle - half), min(grid.high, middle + half))
    landscape_axes = ax.twinx()
    positions = np.linspace(*window, 600)
    landscape_axes.plot(positions, model.landscape.mean_loss(positions), color="grey", linewidth=0.8)
    landscape_axes.set_ylabel("L (thin grey)", color="grey")
    landscape_axes.tick_params(axis="y", colors="grey")
    ax.set_zorder(landscape_axes.get_zorder() + 1)  # the densities in front of the landscape
    ax.patch.set_visible(False)

    density, edges, outside = walker_density(model, min(grid.cells, bins), window)
    label = DESCRIPTION_LABELS["monte_carlo"] + (" (not escaped)" if has_absorbing_edge(model) else "")
    if outside:
        label += f", {outside:,} outside the plot"
    ax.stairs(density, edges, fill=True, color=DESCRIPTION_COLOURS["monte_carlo"], alpha=0.3, label=label)
    for name, P in curves.items():
        ax.plot(W, P, color=DESCRIPTION_COLOURS.get(name), linestyle=DESCRIPTION_STYLES.get(name, "-"),
                linewidth=1.6, label=DESCRIPTION_LABELS.get(name, name))
    for value, edge in ((grid.low, model.low_boundary), (grid.high, model.high_boundary)):
        if edge == "absorbing" and window[0] <= value <= window[1]:
            ax.axvline(value, color="black", linestyle="--", linewidth=1, label="absorbing edge (escape)")
    # The y range follows the walkers and the bulk of each curve: a spike a few cells wide (the continuum's, at
    # a large T) is cut at the top rather than flattening everything else.
    inside = (W >= window[0]) & (W <= window[1])
    bulk = [float(np.percentile(P[inside], 99)) for P in curves.values() if inside.any()]
    top = 1.25 * max([float(density.max(initial=0.0)), *bulk])
    ax.set(xlim=window, ylim=(0, top if top > 0 else None), xlabel="W", ylabel="P(W) (per unit W)")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.figure.legend(loc="outside lower center", ncols=2, fontsize=SMALL_FONT, columnspacing=0.6,
                     handlelength=1.2)  # below the plot, off the curves
    if window[1] - window[0] < (grid.high - grid.low) / 2:
        inset = ax.inset_axes([0.74, 0.45, 0.24, 0.3])
        whole = np.linspace(grid.low, grid.high, 400)
        inset.plot(whole, model.landscape.mean_loss(whole), color="grey", linewidth=0.8)
        inset.axvspan(*window, color="tab:red", alpha=0.25)
        inset.set(xlim=(grid.low, grid.high), yticks=[])
        inset.set_title("whole grid:\nL, zoom shaded", fontsize=SMALL_FONT)
        inset.tick_params(labelsize=SMALL_FONT)
    return window


def walker_density(model: Any, bins: int, window: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                                             int]:
    """(P, bin edges, walkers outside the grid): the Monte Carlo density on the grid's range, as the descriptions'.

    With an absorbing edge only the walkers that have not escaped count, over all walkers, so that it integrates
    to the surviving fraction as the descriptions' densities integrate to their mass left.
    """
    grid = model.grid
    walkers = model.position[:, 0]
    if has_absorbing_edge(model):
        walkers = walkers[model.escape_step < 0]
    counts, edges = np.histogram(walkers, bins=bins, range=window or (grid.low, grid.high))
    return counts / (model.n_walkers * np.diff(edges)), edges, len(walkers) - int(counts.sum())


def densities_figure(model: Any) -> Figure:
    """densities.png: every description's P(W) and the walkers' histogram now, zoomed to where the mass is."""
    fig, ax = plt.subplots(figsize=(7.2, 4.6), layout="constrained")
    draw_densities(ax, model)
    ax.set_title(f"Densities after {model.steps} steps (T = {model.T:g})")
    return fig


def moments_figure(model: Any, series: pd.DataFrame) -> Figure:
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
    top.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return tight(fig)


def escape_times_figure(model: Any, escape_times: pd.DataFrame) -> Figure:
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
    ax.legend(loc="lower left")
    return tight(fig)


def density_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """The density world's figures: the landscape with its walkers, the densities now, their moments over time,
    and (with an absorbing edge) the survival curves."""
    outputs: Outputs = {"landscape.png": landscape_figure(model), "densities.png": densities_figure(model),
                        "moments.png": moments_figure(model, tables["model"])}
    escape_times = tables.get("escape_times")
    if escape_times is not None:
        outputs["escape_times.png"] = escape_times_figure(model, escape_times)
    traj = tables.get("trajectories")
    if traj is not None and len(traj):
        outputs["trajectories.png"] = trajectories_figure(traj)
    return outputs
