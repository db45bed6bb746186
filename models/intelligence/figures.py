"""The intelligence-density world's run figures, and the drawing its browser page shares."""

from __future__ import annotations

import itertools
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from models.viz import SMALL_FONT, Outputs, tight

KIND_COLOURS = {"ai": "tab:blue", "humans": "tab:red"}


def draw_line(ax: Any, model: Any) -> None:
    """The intelligence line now: every being at its level, gaps of at least ε shaded."""
    beings = sorted(model.beings, key=lambda b: b.level)
    levels = np.array([b.level for b in beings])
    eps = model.params.epsilon
    for low, high in itertools.pairwise(levels):
        if high - low >= eps:
            ax.axvspan(low, high, color="tab:orange", alpha=0.25)
    for kind in sorted({b.kind for b in beings}):
        xs = [b.level for b in beings if b.kind == kind]
        ax.scatter(xs, np.zeros(len(xs)), marker="|", s=400, color=KIND_COLOURS.get(kind, "tab:green"), label=kind)
    ax.set_yticks([])
    top = levels[-1] if len(levels) else 1.0
    ax.set(xlabel="intelligence level", xlim=(min(-0.5, levels.min() - 0.5) if len(levels) else -0.5, top + 1.0))
    lost = "" if model.protected_alive else f"; {model.params.protected} lost at step {model.protected_lost_step}"
    ax.set_title(f"Step {model.steps}: {len(beings)} beings, policy {model.params.policy}, ε = {eps:g}{lost}",
                 fontsize=10)
    ax.legend(fontsize=SMALL_FONT, loc="upper left")


def draw_history(axes: Any, table: pd.DataFrame) -> None:
    """Top and lowest levels, beings alive and the widest gap over the steps so far."""
    top, bottom = axes
    top.plot(table["step"], table["top_level"], label="top level")
    top.plot(table["step"], table["lowest_level"], label="lowest level")
    top.plot(table["step"], table["widest_gap"], label="widest gap", linestyle="--")
    top.set(ylabel="level")
    top.legend(fontsize=SMALL_FONT)
    bottom.plot(table["step"], table["beings"], label="beings alive")
    lost = table["step"][~table["protected_alive"].astype(bool)]
    if len(lost):  # the humans are a yes/no here: shade the steps after they were lost
        bottom.axvspan(lost.iloc[0], table["step"].iloc[-1] + 0.5, color="tab:red", alpha=0.15,
                       label=f"humans lost (from step {lost.iloc[0]})")
    bottom.set(xlabel="step", ylabel="beings alive")
    bottom.legend(fontsize=SMALL_FONT)


def intelligence_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """line.png (the beings now) and history.png (levels and counts over time)."""
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    draw_line(ax, model)
    outputs: Outputs = {"line.png": tight(fig)}
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 5.4), sharex=True)
    draw_history(axes, tables["model"])
    outputs["history.png"] = tight(fig)
    return outputs
