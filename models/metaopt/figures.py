"""The meta-optimization world's run figures and lineage files, and the drawing its browser page shares."""

from __future__ import annotations

import io
import json
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, LogNorm, Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from models.metaopt.model import TRAIT_LABELS, TRAITS
from models.viz import SMALL_FONT, Outputs, tight

CONTOUR_POINTS = 160  # per axis
MAX_TREE_NODES = 3000  # the lineage plot draws the latest-born this many (older ones are summarised in the title)
HISTOGRAM_BINS = 30


def landscape_window(model: Any) -> tuple[float, float, float, float]:
    """(x-low, x-high, y-low, y-high) around the scenario's starts and the explorers now, for the first two axes."""
    points = np.vstack([model.position[:, :2], model.birthplace[:, :2]]) if len(model.owner) else np.zeros((1, 2))
    low, high = np.min(points, axis=0), np.max(points, axis=0)
    box = getattr(model.params.landscape, "box", 5.0) if model.landscape.function == "wells" else 0.0
    low, high = np.minimum(low, -box), np.maximum(high, box)
    pad = 0.1 * np.maximum(high - low, 1.0)
    return float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1])


def landscape_grid(model: Any, window: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L on a grid over the first two axes (other coordinates at 0): X, Y, L, each (CONTOUR_POINTS, CONTOUR_POINTS)."""
    x0, x1, y0, y1 = window
    X, Y = np.meshgrid(np.linspace(x0, x1, CONTOUR_POINTS), np.linspace(y0, y1, CONTOUR_POINTS))
    points = np.zeros((X.size, model.landscape.dim))
    points[:, 0], points[:, 1] = X.ravel(), Y.ravel()
    with np.errstate(all="ignore"):
        try:
            values = model.landscape.value(points)
        except ValueError:  # an expression undefined somewhere on the grid: draw where it is defined
            values = np.array([_safe_value(model, p) for p in points])
    return X, Y, values.reshape(X.shape)


def _safe_value(model: Any, point: np.ndarray) -> float:
    try:
        return float(model.landscape.value(point[None, :])[0])
    except ValueError:
        return float("nan")


def draw_landscape(ax: Any, model: Any, grid: tuple[np.ndarray, np.ndarray, np.ndarray], contours: bool = True) -> None:
    """L with every explorer coloured by its algorithm (the first two axes): filled contours, or, for the page
    (redrawn every step), the same bands as one image, which is much cheaper to draw; a colourbar gives L."""
    X, Y, L = grid
    finite = L[np.isfinite(L)]
    if finite.size:
        levels = np.unique(np.quantile(finite, np.linspace(0, 1, 16)))
        norm = BoundaryNorm(levels, 256) if len(levels) > 1 else None
        if contours:
            shading = ax.contourf(X, Y, L, levels=levels, cmap="Greys", alpha=0.6)
            ax.contour(X, Y, L, levels=levels, colors="grey", linewidths=0.4)
        else:
            shading = ax.imshow(L, extent=(X.min(), X.max(), Y.min(), Y.max()), origin="lower", cmap="Greys",
                                norm=norm, alpha=0.6, aspect="auto", interpolation="nearest")
        ax.figure.colorbar(shading, ax=ax, label="L (bands hold equal areas)", format="%.3g")
    if len(model.owner):
        colours = plt.get_cmap("tab20")(model.uid[model.owner] % 20)
        ax.scatter(model.position[:, 0], model.position[:, 1], s=6, c=colours, linewidths=0)
        ax.scatter(model.birthplace[:, 0], model.birthplace[:, 1], s=14, marker="x", color="black", linewidths=0.6,
                   alpha=0.5)
    ax.legend(handles=[
        Line2D([], [], linestyle="", marker="o", markersize=4, color="tab:blue",
               label="explorer (colour: its algorithm)"),
        Line2D([], [], linestyle="", marker="x", markersize=5, color="black", label="an algorithm's birthplace"),
    ], loc="upper right", fontsize=SMALL_FONT, framealpha=0.8)
    ax.set(xlim=(X.min(), X.max()), ylim=(Y.min(), Y.max()), xlabel="x0", ylabel="x1")
    extra = "" if model.landscape.dim == 2 else f" (slice x2.. = 0 of d = {model.landscape.dim})"
    ax.set_title(f"Step {model.steps}: {model.n_algorithms} algorithms, {len(model.owner)} explorers{extra}",
                 fontsize=10)


def lineage_layout(lineage: nx.DiGraph, limit: int = MAX_TREE_NODES) -> tuple[list[int], dict[int, float]]:
    """The nodes to draw (the latest-born `limit`) and a y position for each: depth-first order of the forest."""
    nodes = sorted(lineage.nodes, key=lambda n: lineage.nodes[n]["born"])[-limit:]
    keep = set(nodes)
    roots = [n for n in nodes if lineage.nodes[n]["parent"] not in keep]
    y: dict[int, float] = {}
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        y[node] = float(len(y))
        stack.extend(reversed([c for c in lineage.successors(node) if c in keep]))
    return nodes, y


def draw_lineage(ax: Any, model: Any) -> None:
    """The lineage as a tree on its side: each algorithm a line from its birth to its death (or now) on a row of its
    own, coloured by G on a scale up to the largest G; a thin grey link from its parent's row where it was born."""
    lineage = model.lineage
    nodes, y = lineage_layout(lineage)
    now = max(model.steps, 1)
    born = np.array([lineage.nodes[n]["born"] for n in nodes], dtype=float)
    died = np.array([lineage.nodes[n]["died"] for n in nodes], dtype=float)
    end = np.where(died >= 0, died, now)
    generality = np.array([lineage.nodes[n]["generality"] for n in nodes])
    rows = np.array([y[n] for n in nodes])
    links = [((lineage.nodes[c]["born"], y[p]), (lineage.nodes[c]["born"], y[c]))
             for p, c in lineage.edges if p in y and c in y]
    if links:
        ax.add_collection(LineCollection(links, colors="lightgrey", linewidths=0.5))
    positive = generality[generality > 0]
    if len(positive) and positive.max() > 10 * positive.min():  # offspring G near 0 and founders near 1: log
        norm, scale = LogNorm(max(positive.min(), 1e-4), positive.max(), clip=True), "log scale"
    else:
        norm, scale = Normalize(0.0, float(positive.max()) if len(positive) else 1.0), "scale up to the largest"
    lives = LineCollection([((b, r), (e, r)) for b, e, r in zip(born, end, rows, strict=True)], cmap="viridis",
                           norm=norm, linewidths=1.5)
    lives.set_array(generality)
    ax.add_collection(lives)
    ax.figure.colorbar(lives, ax=ax, label=f"G ({scale})")
    hidden = lineage.number_of_nodes() - len(nodes)
    note = f" (latest {len(nodes)} of {lineage.number_of_nodes()})" if hidden else ""
    ax.set(xlabel="step (a line: one algorithm's life)", ylabel="algorithms, children below their parent",
           xlim=(-1, now + 1), ylim=(max(len(nodes), 1), -1))
    ax.set_yticks([])
    living = int(np.sum(died < 0))
    ax.set_title(f"Lineage{note}: depth {model.lineage_depth}, {living} alive", fontsize=10)


def draw_traits(axes: Any, model: Any) -> None:
    """One histogram per trait of the living algorithms."""
    for ax, trait in zip(np.ravel(axes), TRAITS, strict=False):
        values = getattr(model, trait)
        if len(values):
            ax.hist(values, bins=HISTOGRAM_BINS, color="tab:blue", alpha=0.8)
        ax.set_title(TRAIT_LABELS[trait], fontsize=9)
        ax.tick_params(labelsize=SMALL_FONT)
    for ax in np.ravel(axes)[len(TRAITS):]:
        ax.set_axis_off()
    np.ravel(axes)[0].figure.legend(handles=[Patch(color="tab:blue", alpha=0.8, label="living algorithms per bin")],
                                    loc="lower right", fontsize=SMALL_FONT, frameon=False)


def metaopt_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """landscape.png, lineage.png, traits.png, timeseries.png, and the lineage as lineage.graphml and lineage.json."""
    outputs: Outputs = {}
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    draw_landscape(ax, model, landscape_grid(model, landscape_window(model)))
    outputs["landscape.png"] = tight(fig)

    fig, ax = plt.subplots(figsize=(7.0, 5.0))
    draw_lineage(ax, model)
    outputs["lineage.png"] = tight(fig)

    fig, axes = plt.subplots(2, 3, figsize=(9.0, 5.2))
    draw_traits(axes, model)
    fig.suptitle(f"Traits of the living algorithms at step {model.steps}", fontsize=10)
    outputs["traits.png"] = tight(fig)

    table = tables["model"]
    fig, axes = plt.subplots(3, 1, figsize=(6.4, 7.0), sharex=True)
    axes[0].plot(table["step"], table["algorithms"], label="algorithms")
    axes[0].plot(table["step"], table["explorers"], label="explorers")
    axes[0].set(yscale="log", ylabel="living")
    axes[0].legend(fontsize=SMALL_FONT)
    axes[1].plot(table["step"], table["best_fitness"], color="tab:green")
    axes[1].set(ylabel="best fitness -L found")
    axes[2].plot(table["step"], table["mean_generality"], label="mean G")
    axes[2].plot(table["step"], table["max_generality"], label="max G")
    axes[2].set(xlabel="step", ylabel="G", ylim=(-0.02, 1.02))
    axes[2].legend(fontsize=SMALL_FONT)
    outputs["timeseries.png"] = tight(fig)

    graphml = io.BytesIO()
    nx.write_graphml(model.lineage, graphml)
    outputs["lineage.graphml"] = graphml.getvalue()
    outputs["lineage.json"] = json.dumps(model.lineage_json())
    return outputs
