"""The SGD world's run figures: the landscape with its walkers, time series, escape curves, trajectories."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from models.viz import Outputs, tight


def draw_losses(ax: Any, landscape: Any, positions: np.ndarray) -> None:
    """Every l_j (thin) and L (thick, black) at the 1-D positions W."""
    for name in landscape.names:
        ax.plot(positions, landscape.loss(positions, name), linewidth=1, label=name)
    ax.plot(positions, landscape.mean_loss(positions), color="black", linewidth=2, label="L")


def landscape_figure(model: Any) -> Figure:
    """The losses with a histogram of every walker's W (1-D), or the walkers' first two coordinates."""
    ls = model.landscape
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if ls.dim == 1:
        lo, hi = ls.window()
        draw_losses(ax, ls, np.linspace(lo, hi, 800))
        ax.set(xlabel="W", ylabel="loss", title="Landscape and final walker positions")
        twin = ax.twinx()
        finite = model.position[:, 0][(model.position[:, 0] > lo) & (model.position[:, 0] < hi)]
        twin.hist(finite, bins=80, range=(lo, hi), color="tab:red", alpha=0.35)
        twin.set_ylabel("walkers")
        ax.legend(loc="lower left")
    else:
        ax.scatter(model.start_position[:, 0], model.start_position[:, 1], s=4, alpha=0.3, label="start")
        ax.scatter(model.position[:, 0], model.position[:, 1], s=4, alpha=0.5, label="now")
        ax.set(xlabel="W0", ylabel="W1", title="Walkers (first two coordinates)")
        ax.legend(loc="best")
    return tight(fig)


def draw_escape_over_time(figure: Figure, ax: Any, model: Any, points: int = 200) -> None:
    """The fraction of walkers escaped by each step so far, one line per T (a colour scale when several).

    Read from each walker's first-escape step, so it is exact at every step, collected or not.
    """
    steps = np.unique(np.linspace(0, max(model.steps, 1), points).astype(np.int64))
    temperatures = np.unique(model.temperature)
    norm = LogNorm(temperatures.min(), temperatures.max()) if len(temperatures) > 1 else None
    for T in temperatures:
        escaped = np.sort(model.escape_step[model.temperature == T])
        reached = escaped[escaped >= 0]
        fraction = np.searchsorted(reached, steps, side="right") / len(escaped)
        colour = plt.get_cmap("viridis")(norm(T)) if norm else "tab:green"
        ax.plot(steps, fraction, color=colour, linewidth=1.2, label=None if norm else f"T = {T:.3g}")
    if norm:
        figure.colorbar(ScalarMappable(norm, "viridis"), ax=figure.axes, label="T (one line each)")
    else:
        ax.legend(loc="best")
    ax.set(ylabel="escaped fraction", ylim=(-0.02, 1.02), xlim=(0, max(model.steps, 1)))


def trajectories_figure(traj: pd.DataFrame) -> Figure:
    """W0 of the first few walkers over the collected steps."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for _, g in traj.groupby("walker"):
        ax.plot(g.step, g.W0, marker="." if len(g) < 80 else None, label=f"T = {g.temperature.iloc[0]:g}")
    ax.set(xlabel="step", ylabel="W0", title="Trajectories")
    ax.legend(loc="best")
    return tight(fig)


def sgd_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """landscape.png, timeseries.png, escape.png (several T) and trajectories.png (if recorded)."""
    outputs: Outputs = {"landscape.png": landscape_figure(model)}

    series = tables["model"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 5.2), sharex=True, layout="constrained")
    several = len(np.unique(model.temperature)) > 1
    stopped = "\n(an escaped walker stays where it left)" if model.params.stop_at_escape else ""
    top.plot(series.step, series.mean_W, label=f"mean W0 of every walker{', all T' if several else ''}{stopped}")
    top.fill_between(series.step, series.mean_W - series.std_W, series.mean_W + series.std_W, alpha=0.25,
                     label="mean ± 1 standard deviation over walkers")
    top.set(ylabel="W0", title="Walkers over time")
    top.legend(loc="best")
    draw_escape_over_time(fig, bottom, model)
    bottom.set(xlabel="step")
    outputs["timeseries.png"] = fig

    escape = tables.get("escape")
    if escape is not None and escape.temperature.nunique() > 1:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for horizon, g in escape.groupby("horizon"):
            ax.errorbar(g.temperature, g.escape_probability, yerr=g.stderr, marker="o", markersize=3, capsize=2,
                        label=f"within {horizon} steps")
        spread = escape.temperature.max() / escape.temperature.min()
        ax.set(xlabel="T", ylabel="P(escaped)", title="Escape probability against T",
               xscale="log" if spread > 20 else "linear")
        ax.legend(loc="best")
        outputs["escape.png"] = tight(fig)

    traj = tables.get("trajectories")
    if traj is not None and len(traj):
        outputs["trajectories.png"] = trajectories_figure(traj)
    return outputs
