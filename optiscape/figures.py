"""PNG figures of a run, drawn from the tables a model returns (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from models.claims import Figure


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


def sgd_figures(model: Any, tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """The SGD world's figures: landscape and walkers, time series, escape curves, trajectories."""
    paths = []
    ls = model.landscape
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if ls.dim == 1:
        lo, hi = ls.window()
        xs = np.linspace(lo, hi, 800)
        for name in ls.names:
            ax.plot(xs, ls.loss(xs, name), linewidth=1, label=name)
        ax.plot(xs, ls.mean_loss(xs), color="black", linewidth=2, label="L")
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
    paths.append(_save(fig, out / "landscape.png"))

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
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for _, g in traj.groupby("walker"):
            ax.plot(g.step, g.W0, marker="." if len(g) < 80 else None, label=f"T = {g.temperature.iloc[0]:g}")
        ax.set(xlabel="step", ylabel="W0", title="Trajectories")
        ax.legend(fontsize=8)
        paths.append(_save(fig, out / "trajectories.png"))
    return paths


FIGURES = {"sgd": sgd_figures}
