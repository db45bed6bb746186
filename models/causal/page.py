"""The causal world's browser page: the graph now (coloured as chosen on the page), the targets in W, and Op
over time."""

from __future__ import annotations

from typing import Any

import matplotlib.path
import networkx as nx
import numpy as np
import solara
from matplotlib.cm import ScalarMappable
from matplotlib.colors import CenteredNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.transforms import Affine2D, ScaledTranslation

from models.frame import frame
from models.viz import FIGURE_SIZE, SMALL_FONT, Slider, WorldPage

DISPLAY_DELTA = 1e-3  # δ for drawing X and Y as w + δ·τ when the scenario sets none
NODE_COLOURINGS = {"value in W": "w", "X tangent": "tx"}
BEST_LEGEND_ROWS = 1000  # beyond, legend(loc="best") costs a tenth of a second a frame: a fixed corner instead
NODE_SIZE = 2500  # points², as matplotlib's scatter and networkx take it: 50 points across


def _causal_layout(model: Any) -> dict[str, np.ndarray]:
    """What the graph plot computes once per model: each variable's position (a circle, in the order declared)."""
    return nx.circular_layout(model.graph)


def _display_delta(model: Any) -> tuple[float, str]:
    """δ for drawing X and Y, and where it comes from (the scenario's `delta`, or DISPLAY_DELTA)."""
    if model.params.delta is not None:
        return model.params.delta, "the scenario's delta"
    return DISPLAY_DELTA, "for display: the scenario sets no delta"


def _first_run(model: Any) -> str:
    """A title's note that a batch (a sweep) shows its first run only; empty for a single run."""
    return f", run 1 of {model.batch}" if model.batch > 1 else ""


def _self_loop(figure: Figure, axes: Any, centre: np.ndarray) -> FancyArrowPatch:
    """An arrow from a node back to itself, outside the node and pointing away from the layout's centre.

    Drawn in points about the node's centre (networkx scales its self-loops by the drawing's extent,
    which is about zero for nodes on one line).
    """
    radius = np.sqrt(NODE_SIZE) / 2 + 2
    direction = np.arctan2(centre[1], centre[0]) if np.any(np.abs(centre) > 1e-6) else np.pi / 2

    def point(distance: float, angle: float) -> tuple[float, float]:
        return distance * np.cos(direction + angle), distance * np.sin(direction + angle)

    curve = matplotlib.path.Path
    path = curve([point(radius, 0.5), point(2.6 * radius, 0.6), point(2.6 * radius, -0.6), point(radius, -0.5)],
                 [curve.MOVETO, curve.CURVE4, curve.CURVE4, curve.CURVE4])
    in_points = Affine2D().scale(1 / 72) + figure.dpi_scale_trans + ScaledTranslation(*centre, axes.transData)
    return FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=14, color="black", transform=in_points,
                           clip_on=False)  # a node near the axes' edge keeps its loop


@solara.component
def CausalGraphPlot(model: Any) -> None:
    """The causal graph now: parent -> child (dashed: same time), nodes coloured by w or τ_X, A outlined.

    What colours the nodes is a choice of this page (toggle buttons), not a model parameter.
    """
    frame.get()
    colouring, set_colouring = solara.use_state(next(iter(NODE_COLOURINGS)))
    layout = solara.use_memo(lambda: _causal_layout(model), [model])
    graph, params, now = model.graph, model.params, model.steps
    names = list(graph.nodes)
    state = getattr(model, NODE_COLOURINGS[colouring])
    values = np.array([float(state[name][0]) for name in names])
    norm = CenteredNorm(vcenter=0.0, halfrange=float(np.max(np.abs(values))) or 1.0)
    in_a = [model.clamped(name, now) for name in names]

    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.02, right=0.9, bottom=0.1, top=0.92)
    axes = figure.subplots()
    nx.draw_networkx_nodes(graph, layout, ax=axes, nodelist=names, node_size=NODE_SIZE, node_color=values,
                           cmap="coolwarm", vmin=norm.vmin, vmax=norm.vmax,
                           edgecolors=["black" if a else "grey" for a in in_a],
                           linewidths=[3.5 if a else 0.8 for a in in_a])
    for lag, style in ((1, "solid"), (0, "dashed")):
        edges = [(u, v) for u, v, edge_lag in graph.edges(data="lag") if edge_lag == lag and u != v]
        nx.draw_networkx_edges(graph, layout, ax=axes, edgelist=edges, style=style, node_size=NODE_SIZE,
                               arrows=True, arrowstyle="-|>", arrowsize=14, connectionstyle="arc3,rad=0.15")
    for name, _ in nx.selfloop_edges(graph):  # always lag 1: a same-time self-loop is a cycle, rejected
        axes.add_patch(_self_loop(figure, axes, layout[name]))
    roles = {name: [] for name in names}
    roles[params.perturb].append("n")
    for m in params.targets:
        roles[m].append("m")
    for name in names:
        role = f" ({', '.join(roles[name])})" if roles[name] else ""
        axes.text(*layout[name], f"{name}{role}\n{float(state[name][0]):.4g}", ha="center", va="center",
                  fontsize=SMALL_FONT)
    figure.colorbar(ScalarMappable(norm, "coolwarm"), ax=axes, shrink=0.8, label=colouring)
    # circular_layout puts the nodes on the unit circle: fixed limits leave room for self-loops and labels.
    axes.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), aspect="equal")
    axes.set_axis_off()
    until = f" until t = {params.clamp_until}" if params.clamp_until is not None else ""
    figure.legend(handles=[
        Line2D([], [], color="black", label="t - 1 -> t"),
        Line2D([], [], color="black", linestyle="--", label="same time"),
        Line2D([], [], linestyle="", marker="o", markersize=11, markerfacecolor="white", markeredgecolor="black",
               markeredgewidth=3, label=f"in A (clamped{until})"),
    ], fontsize=SMALL_FONT, loc="lower center", ncols=3, frameon=False)
    axes.set_title(f"Step {now}: {colouring}{_first_run(model)}; n = {params.perturb}_0, m = "
                   f"{', '.join(params.targets)}", fontsize=10)

    with solara.Column(gap="4px"):
        with solara.ToggleButtonsSingle(value=colouring, on_value=set_colouring, dense=True):
            for label in NODE_COLOURINGS:
                solara.Button(label, value=label)
        solara.FigureMatplotlib(figure, format="png", dependencies=[model, now, colouring])


@solara.component
def CausalTrajectoryPlot(model: Any) -> None:
    """Each target's value in W over the steps so far, and X and Y now as w + δ·τ (one panel per target)."""
    frame.get()
    table = model.datacollector.get_model_vars_dataframe()
    steps = np.arange(len(table))  # collected at t = 0 and after every step
    delta, source = _display_delta(model)
    targets = model.params.targets
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    panels = np.atleast_1d(figure.subplots(len(targets), 1, sharex=True))
    marker = "o" if len(table) < 50 else None  # so that a lone first point shows
    for axes, m in zip(panels, targets, strict=True):
        w = float(model.w[m][0])
        x, y = w + delta * float(model.tx[m][0]), w + delta * float(model.ty[m][0])
        axes.plot(steps, table[f"w_{m}"], color="black", marker=marker, markersize=3, label=f"W: w = {w:.6g}")
        axes.plot([steps[-1]], [x], linestyle="", marker="^", color="tab:blue", label=f"X now: x - w = {x - w:.3g}")
        axes.plot([steps[-1]], [y], linestyle="", marker="v", color="tab:orange", label=f"Y now: y - w = {y - w:.3g}")
        axes.set_ylabel(f"{m}_t")
        axes.legend(fontsize=SMALL_FONT, loc="best" if len(table) <= BEST_LEGEND_ROWS else "upper right")
    panels[-1].set(xlabel="step", xlim=(0, max(steps[-1], 1) * 1.04))  # room for the markers at the end
    panels[0].set_title(f"{', '.join(targets)} in W{_first_run(model)}\n"
                        f"X, Y now = w + δ·τ, δ = {delta:g} ({source})", fontsize=10)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def CausalOpPlot(model: Any) -> None:
    """Op(A; n, m_t) of each target over the steps so far: exact (tangents), and from the finite δ (dashed)."""
    frame.get()
    table = model.datacollector.get_model_vars_dataframe()
    steps = np.arange(len(table))
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots()
    marker = "o" if len(table) < 50 else None
    undrawn = 0
    for index, m in enumerate(model.params.targets):
        colour = f"C{index}"
        columns = [(f"op_{m}", "-", f"Op(A; n, {m}_t), exact")]
        if f"op_delta_{m}" in table:
            columns.append((f"op_delta_{m}", "--", f"{m}, finite δ = {model.params.delta:g}"))
        for column, style, label in columns:
            op = table[column].to_numpy(dtype=float)
            undrawn += int(np.sum(~np.isfinite(op)))
            axes.plot(steps, np.where(np.isfinite(op), op, np.nan), color=colour, linestyle=style, marker=marker,
                      markersize=3, label=label)
        negative = table[f"comp_{m}"].to_numpy(dtype=float) < 0
        if negative.any():
            op = table[f"op_{m}"].to_numpy(dtype=float)
            axes.plot(steps, np.where(negative, op, np.nan), color=colour, linewidth=6, alpha=0.25,
                      label=f"{m}: Comp < 0 (complex Op)")
    axes.axhline(0, color="grey", linewidth=0.6)
    note = f", {undrawn} points not finite (undrawn)" if undrawn else ""
    axes.set(xlabel="step", ylabel="Op (nats)", xlim=(0, max(steps[-1], 1)))
    axes.set_title(f"A = {', '.join(model.params.clamp)}, n = {model.params.perturb}_0{_first_run(model)}{note}",
                   fontsize=10)
    axes.legend(fontsize=SMALL_FONT, loc="best" if len(table) <= BEST_LEGEND_ROWS else "upper left")
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


DELTAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # the finite δ offered on the page, with the scenario's own


def _parameter_slider(name: str, value: float) -> Slider:
    """A slider for one parameter of the graph's updates: 0 to three times its value (or -1 to 1 for 0)."""
    low, high = (min(0.0, 3 * value), max(0.0, 3 * value)) if value else (-1.0, 1.0)
    return Slider(f"parameter {name}", value=value, min=low, max=high, step=(high - low) / 60, dtype=float)


def causal_page(scenario: Any) -> WorldPage:
    """The causal world's page: inputs for the graph's parameters and δ; the graph now and Op over time (a tab),
    the targets in W over time (a tab)."""
    params = scenario.params
    inputs: dict[str, Any] = {f"parameters.{name}": _parameter_slider(name, float(value))
                              for name, value in params.parameters.items()}
    delta = params.delta if params.delta is not None else DISPLAY_DELTA
    inputs["delta"] = {"type": "Select", "label": "finite δ", "value": delta, "values": sorted({*DELTAS, delta})}
    # As for sgd_page: Reset calls CausalModel(**these); causal worlds are deterministic.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    # Two plots a tab: at 1366x768 the plots sit two to a row, and a third would be below the fold.
    return WorldPage({**fixed, **inputs}, [(CausalGraphPlot, 0), (CausalOpPlot, 0), (CausalTrajectoryPlot, 1)],
                     tabs=("Graph and Op", "Targets in W"))
