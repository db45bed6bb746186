"""The knowledge world's run figures: training progress, r against q (weights and biases), the pixel heatmap."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.knowledge.model import Regression
from models.viz import SMALL_FONT, Outputs

SCATTER_POINTS = 20_000  # at most this many weights in a scatter (an even subsample beyond)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each run of `window` consecutive values (the last partial run dropped)."""
    n = len(values) // window
    return values[: n * window].reshape(n, window).mean(axis=1) if n else np.array([])


def draw_progress(axes: Any, model: Any, points: int = 60) -> None:
    """Each run's loss over the examples it has trained (mean of each window), forks after their phase 1."""
    drawn = False
    for run in model.runs:
        done = run.done_examples
        if done == 0:
            continue
        window = max(1, len(run.examples) // points)
        loss = moving_average(run.losses[:done], window)
        start = 0 if run.parent is None else len(model.runs[0].examples)
        x = start + window * (np.arange(len(loss)) + 0.5)
        axes.plot(x, loss, linewidth=1, linestyle="--" if run.parent is None else "-", label=run.name)
        drawn = True
    axes.set(xlabel="examples trained (each fork after its phase 1)", ylabel="loss (window means)",
             title=f"Step {model.steps}: {model.examples_trained:,} of {model.examples_total:,} examples")
    if drawn:
        axes.set_yscale("log")
        axes.legend(fontsize=SMALL_FONT, ncols=2)


R_LABEL = "r = a / (a + b) (updating by class A)"


def draw_scatter(axes: Any, model: Any, group: str, seed: int = 0, legend: bool = True) -> None:
    """q against r for a parameter group of one seed's network, with the cross-seed control in grey behind."""
    idx = model.layout.group(group)
    if len(idx) > SCATTER_POINTS:
        idx = idx[:: len(idx) // SCATTER_POINTS + 1]
    size = 2 if len(idx) > 1000 else 8
    other = (seed + 1) % model.params.seeds
    r = model.relative_updating(seed)
    if other != seed and model.seed_finished(other):
        axes.scatter(r[idx], model.relative_difference(other)[idx], s=size, color="lightgrey",
                     label="control: q of another seed")
    q = model.relative_difference(seed)
    axes.scatter(r[idx], q[idx], s=size, alpha=0.6, color="tab:blue", label="same network")
    fit = Regression.of(r[model.layout.group(group)], q[model.layout.group(group)])
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel=R_LABEL, ylabel="q = c / (c + d)",
             title=f"{group}: R² = {fit.r_squared:.3f}\np = {fit.p_value:.2g}")
    if legend:
        axes.legend(fontsize=SMALL_FONT, loc="upper left")


def draw_heatmap(figure: Figure, axes: Any, model: Any) -> None:
    """The per-pixel correlation of r and q over each pixel's outgoing weights; always-blank pixels outlined."""
    corr = model.pixel_correlation(0)
    image = axes.imshow(corr, cmap="coolwarm", vmin=-1, vmax=1)
    rows, columns = np.nonzero(model.always_blank.reshape(corr.shape))
    axes.scatter(columns, rows, marker=".", s=4 if corr.shape[0] > 16 else 30, color="black")
    figure.colorbar(image, ax=axes, label="correlation of r and q")
    axes.set(title="Per input pixel (dots: always blank)", xticks=[], yticks=[])


def knowledge_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """progress.png always; scatter.png and heatmap.png once the experiment has finished."""
    figure = Figure(figsize=(7.2, 4.4), layout="constrained")
    draw_progress(figure.subplots(), model)
    outputs: Outputs = {"progress.png": figure}
    if not model.finished:
        return outputs
    figure = Figure(figsize=(10, 4.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    draw_scatter(left, model, "weights")
    draw_scatter(right, model, "biases")
    outputs["scatter.png"] = figure
    figure = Figure(figsize=(5.2, 4.4), layout="constrained")
    draw_heatmap(figure, figure.subplots(), model)
    outputs["heatmap.png"] = figure
    return outputs
