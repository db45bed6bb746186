"""The browser view: a SolaraViz page for any registered world, served by `solara run optiscape.app`.

The page shows the scenario named by the environment variable OPTISCAPE_SCENARIO (a YAML path,
or the name of a shipped scenario), `sgd_pit_escape` when it is unset. Every browser session
builds its own model, seeded from the scenario. Each world registers a page builder in PAGES:
it turns a scenario into SolaraViz's model parameters (fixed values and user inputs) and plots.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.path
import networkx as nx
import numpy as np
import solara
import solara.server.settings
from matplotlib.cm import ScalarMappable
from matplotlib.colors import CenteredNorm, LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.transforms import Affine2D, ScaledTranslation
from mesa.visualization import Slider, SolaraViz
from mesa.visualization.utils import update_counter

import scenarios
from models.params import Grid
from optiscape.figures import (
    DESCRIPTION_COLOURS,
    DESCRIPTION_LABELS,
    density_curves,
    has_absorbing_edge,
    walker_density,
)
from optiscape.plugins import resolve
from scenarios import Scenario

SCENARIO_VARIABLE = "OPTISCAPE_SCENARIO"
DEFAULT_SCENARIO = "sgd_pit_escape"
MAX_BROWSER_WALKERS = 20_000  # walkers over all temperatures; more makes each step and plot sluggish
LANDSCAPE_POINTS = 600
HISTOGRAM_BINS = 80
FIGURE_SIZE = (6.4, 4.4)  # inches; margins are fixed, as bbox_inches="tight" adds half again to each frame

# The page must work offline: without this, Solara's server reports usage to mixpanel.com.
solara.server.settings.telemetry.mixpanel_enable = False


def serve_command(scenario_path: str | Path, port: int) -> list[str]:
    """The argv that serves the page on 127.0.0.1:port, for OPTISCAPE_SCENARIO set as `serve_environment` gives it.

    The scenario is loaded here, so a bad file fails with its one-line message before a server starts.
    """
    scenarios.load(scenario_path)
    return [
        sys.executable, "-m", "solara", "run", "optiscape.app",
        "--host", "127.0.0.1", "--port", str(port), "--production",
        "--no-open", "--no-check-version",  # no browser of the server's own, no request to pypi.org
    ]


def serve_environment(scenario_path: str | Path) -> dict[str, str]:
    """The environment for `serve_command`: the scenario's absolute path (telemetry is also off on import)."""
    path = scenarios.load(scenario_path).path.resolve()
    return {SCENARIO_VARIABLE: str(path), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}


# --- what a world's page is made of -------------------------------------------------------------


@dataclass(frozen=True)
class WorldPage:
    """What SolaraViz shows for one world: its model parameters (fixed values and user inputs) and plots."""

    model_params: dict[str, Any]
    components: list[tuple[Callable[..., Any], int]]

    def initial_arguments(self) -> dict[str, Any]:
        """The model's keyword arguments before any input is touched: fixed values, and each input's start value."""
        arguments = {}
        for name, spec in self.model_params.items():
            if isinstance(spec, Slider):
                arguments[name] = spec.value
            elif isinstance(spec, dict) and "type" in spec:
                arguments[name] = spec["value"]
            else:
                arguments[name] = spec
        return arguments


# --- the SGD world (seed 000) ---------------------------------------------------------------------


def _landscape_curves(model: Any) -> dict[str, Any]:
    """What the landscape plot computes once per model: W, each l_j, L and the escape region."""
    landscape = model.landscape
    low, high = landscape.window()
    positions = np.linspace(low, high, LANDSCAPE_POINTS)
    return {
        "window": (low, high),
        "W": positions,
        "losses": {name: landscape.loss(positions, name) for name in landscape.names},
        "L": landscape.mean_loss(positions),
        "escape": model.escape_region.contains_all(positions[:, None]),
    }


@solara.component
def LandscapePlot(model: Any) -> None:
    """L and every l_j over the landscape's window, with a histogram of the walkers' positions W (1-D)."""
    update_counter.get()
    curves = solara.use_memo(lambda: _landscape_curves(model), [model])
    positions = curves["W"]
    low, high = curves["window"]

    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.12, right=0.86, bottom=0.12, top=0.92)
    axes = figure.subplots()
    for name, loss in curves["losses"].items():
        axes.plot(positions, loss, linewidth=1, label=name)
    axes.plot(positions, curves["L"], color="black", linewidth=2, label="L (mean)")
    if curves["escape"].any():
        axes.fill_between(positions, 0, 1, where=curves["escape"], transform=axes.get_xaxis_transform(),
                          color="tab:green", alpha=0.1, label="escape region")
    axes.set(xlim=(low, high), xlabel="W", ylabel="loss")
    axes.legend(fontsize=8, loc="lower left")

    walkers = model.position[:, 0]
    counts, edges = np.histogram(walkers, bins=HISTOGRAM_BINS, range=(low, high))
    histogram_axes = axes.twinx()
    histogram_axes.stairs(counts, edges, fill=True, color="tab:red", alpha=0.35)
    histogram_axes.set_ylabel("walkers")
    outside = len(walkers) - int(counts.sum())
    note = f", {outside} outside the plot" if outside else ""
    axes.set_title(f"Step {model.steps}: {len(walkers)} walkers{note}")
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def WalkerScatterPlot(model: Any) -> None:
    """The walkers' first two coordinates (W0, W1), now and at the start; coloured by T if several."""
    update_counter.get()
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.12, right=0.95, bottom=0.12, top=0.92)
    axes = figure.subplots()
    start, now = model.start_position, model.position
    axes.scatter(start[:, 0], start[:, 1], s=4, color="lightgrey", label="start")
    temperatures = model.temperature
    if temperatures.min() < temperatures.max():
        points = axes.scatter(now[:, 0], now[:, 1], s=3, c=temperatures, cmap="viridis",
                              norm=LogNorm(temperatures.min(), temperatures.max()), label="now")
        figure.colorbar(points, ax=axes, label="T")
    else:
        axes.scatter(now[:, 0], now[:, 1], s=3, color="tab:red", label="now")
    axes.set(xlabel="W0", ylabel="W1", title=f"Step {model.steps}: {len(now)} walkers (first two of W)")
    axes.legend(fontsize=8, loc="best")
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def EscapeTimeSeriesPlot(model: Any) -> None:
    """The fraction of walkers escaped and the mean of W0 over the steps collected so far."""
    update_counter.get()
    table = model.datacollector.get_model_vars_dataframe()
    every = model.params.collect_every
    steps = np.arange(len(table)) * every
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.14, right=0.95, bottom=0.12, top=0.92)
    top, bottom = figure.subplots(2, 1, sharex=True)
    marker = "o" if len(table) < 50 else None  # so that a lone first point shows
    top.plot(steps, table["escaped_fraction"], color="tab:green", marker=marker, markersize=3)
    top.set(ylabel="escaped fraction", ylim=(-0.02, 1.02), title=f"Collected every {every} steps")
    bottom.plot(steps, table["mean_W"], color="tab:blue", marker=marker, markersize=3)
    bottom.set(xlabel="step", ylabel="mean W0", xlim=(0, max(steps[-1], every)))
    # Redrawn only when a row was collected (every `collect_every` steps), not on every step.
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, len(table)])


def sgd_page(scenario: Scenario) -> WorldPage:
    """The SGD world's page: inputs for T (if single), walkers and method; walker and time-series plots."""
    params = scenario.params
    inputs: dict[str, Any] = {}
    if not isinstance(params.temperature, list | Grid):
        temperature = float(params.temperature)
        inputs["temperature"] = Slider("T (step size)", value=temperature, min=temperature / 10,
                                       max=temperature * 10, step=temperature / 10, dtype=float)
    most_walkers = max(1, MAX_BROWSER_WALKERS // len(params.temperatures()))
    walker_step = max(1, most_walkers // 100)
    inputs["n_walkers"] = Slider("walkers per temperature", value=min(params.n_walkers, most_walkers),
                                 min=walker_step, max=most_walkers, step=walker_step, dtype=int)
    if params.method in ("sgd", "gd"):
        inputs["method"] = {"type": "Select", "label": "method", "value": params.method,
                            "values": ["sgd", "gd"]}
    # Every scenario value is passed again on Reset, which calls SGDModel(**these), seeded by the scenario.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    walkers_plot = LandscapePlot if params.landscape.dim == 1 else WalkerScatterPlot
    return WorldPage({**fixed, **inputs}, [(walkers_plot, 0), (EscapeTimeSeriesPlot, 0)])


# --- the density world ----------------------------------------------------------------------------

SHORT_LABELS = {"chain": "chain", "fokker_planck": "Fokker-Planck", "seed_master": "seed master",
                "gaussian_rule": "Gaussian rule"}


def _grid_landscape(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """What the density plot computes once per model: (W, L(W)) over the density grid's range."""
    positions = np.linspace(model.grid.low, model.grid.high, LANDSCAPE_POINTS)
    return positions, model.landscape.mean_loss(positions)


@solara.component
def DensityPlot(model: Any) -> None:
    """P(W, t) of the descriptions chosen on the page, the walkers' density, and L (thin) over the grid's range.

    Which descriptions show is a choice of this page (toggle buttons), not a model parameter: changing it
    redraws the plot and leaves the run alone.
    """
    update_counter.get()
    names = list(model.masses)
    shown, set_shown = solara.use_state(names)
    positions, loss = solara.use_memo(lambda: _grid_landscape(model), [model])
    chosen = [name for name in names if name in shown]
    absorbing = has_absorbing_edge(model)

    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.12, right=0.86, bottom=0.12, top=0.92)
    axes = figure.subplots()
    landscape_axes = axes.twinx()
    landscape_axes.plot(positions, loss, color="grey", linewidth=0.8)
    landscape_axes.set_ylabel("L (thin grey)", color="grey")
    landscape_axes.tick_params(axis="y", colors="grey")
    axes.set_zorder(landscape_axes.get_zorder() + 1)
    axes.patch.set_visible(False)

    density, edges, outside = walker_density(model, min(model.grid.cells, HISTOGRAM_BINS))
    walkers_label = "walkers (not escaped)" if absorbing else "walkers"
    axes.stairs(density, edges, fill=True, color=DESCRIPTION_COLOURS["monte_carlo"], alpha=0.3, label=walkers_label)
    grid_positions, curves = density_curves(model, chosen, LANDSCAPE_POINTS)
    for name, P in curves.items():
        axes.plot(grid_positions, P, color=DESCRIPTION_COLOURS[name], linewidth=1.3, label=DESCRIPTION_LABELS[name])
    axes.set(xlim=(model.grid.low, model.grid.high), ylim=(0, None), xlabel="W", ylabel="P(W) (per unit W)")
    axes.legend(fontsize=8, loc="upper left")
    survivors = f", {np.mean(model.escape_step < 0):.1%} of walkers not escaped" if absorbing else ""
    note = f", {outside} outside the grid" if outside else ""
    axes.set_title(f"Step {model.steps}: P(W){survivors}{note}", fontsize=10)

    with solara.Column(gap="4px"):
        with solara.ToggleButtonsMultiple(value=chosen, on_value=set_shown, dense=True):
            for name in names:
                solara.Button(SHORT_LABELS.get(name, name), value=name)
        solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps, tuple(chosen)])


@solara.component
def DensityTimeSeriesPlot(model: Any) -> None:
    """Each description's mass left (or, with no absorbing edge, its mean W) over the steps collected so far."""
    update_counter.get()
    table = model.datacollector.get_model_vars_dataframe()
    every = model.params.collect_every
    steps = np.arange(len(table)) * every
    absorbing = has_absorbing_edge(model)
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.14, right=0.95, bottom=0.12, top=0.92)
    axes = figure.subplots()
    marker = "o" if len(table) < 50 else None  # so that a lone first point shows
    column = "{}_survival" if absorbing else "{}_mean"
    for name in model.masses:
        axes.plot(steps, table[column.format(name)], color=DESCRIPTION_COLOURS[name], marker=marker, markersize=3,
                  label=DESCRIPTION_LABELS[name])
    # The walkers' collected mean includes escaped walkers: it compares only when nothing absorbs.
    walkers = 1.0 - table["escaped_fraction"] if absorbing else table["mean_W"]
    axes.plot(steps, walkers, color=DESCRIPTION_COLOURS["monte_carlo"], linestyle="--", marker=marker, markersize=3,
              label=DESCRIPTION_LABELS["monte_carlo"])
    axes.set(xlabel="step", ylabel="mass not escaped" if absorbing else "mean W", xlim=(0, max(steps[-1], every)),
             title=f"Collected every {every} steps")
    axes.legend(fontsize=8, loc="lower left" if absorbing else "best")
    with solara.Column(gap="4px"):
        solara.FigureMatplotlib(figure, format="png", dependencies=[model, len(table)])
        for warning in model.warnings:
            solara.Text(f"Warning: {warning}", style={"font-size": "12px", "color": "#8a5a00"})


def density_page(scenario: Scenario) -> WorldPage:
    """The density world's page: a walkers input; the densities now (chosen on the page) and mass over time."""
    params = scenario.params
    walker_step = max(1, MAX_BROWSER_WALKERS // 100)
    inputs = {"n_walkers": Slider("walkers", value=min(params.n_walkers, MAX_BROWSER_WALKERS), min=walker_step,
                                  max=MAX_BROWSER_WALKERS, step=walker_step, dtype=int)}
    # As for sgd_page: Reset calls DensityModel(**these), seeded by the scenario.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    return WorldPage({**fixed, **inputs}, [(DensityPlot, 0), (DensityTimeSeriesPlot, 0)])


# --- the causal world ---------------------------------------------------------------------------

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
    update_counter.get()
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
                  fontsize=8)
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
    ], fontsize=8, loc="lower center", ncols=3, frameon=False)
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
    update_counter.get()
    table = model.datacollector.get_model_vars_dataframe()
    steps = np.arange(len(table))  # collected at t = 0 and after every step
    delta, source = _display_delta(model)
    targets = model.params.targets
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.14, right=0.95, bottom=0.12, top=0.87, hspace=0.3)
    panels = np.atleast_1d(figure.subplots(len(targets), 1, sharex=True))
    marker = "o" if len(table) < 50 else None  # so that a lone first point shows
    for axes, m in zip(panels, targets, strict=True):
        w = float(model.w[m][0])
        x, y = w + delta * float(model.tx[m][0]), w + delta * float(model.ty[m][0])
        axes.plot(steps, table[f"w_{m}"], color="black", marker=marker, markersize=3, label=f"W: w = {w:.6g}")
        axes.plot([steps[-1]], [x], linestyle="", marker="^", color="tab:blue", label=f"X now: x - w = {x - w:.3g}")
        axes.plot([steps[-1]], [y], linestyle="", marker="v", color="tab:orange", label=f"Y now: y - w = {y - w:.3g}")
        axes.set_ylabel(f"{m}_t")
        axes.legend(fontsize=8, loc="best" if len(table) <= BEST_LEGEND_ROWS else "upper right")
    panels[-1].set(xlabel="step", xlim=(0, max(steps[-1], 1) * 1.04))  # room for the markers at the end
    panels[0].set_title(f"{', '.join(targets)} in W{_first_run(model)}\n"
                        f"X, Y now = w + δ·τ, δ = {delta:g} ({source})", fontsize=10)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def CausalOpPlot(model: Any) -> None:
    """Op(A; n, m_t) of each target over the steps so far: exact (tangents), and from the finite δ (dashed)."""
    update_counter.get()
    table = model.datacollector.get_model_vars_dataframe()
    steps = np.arange(len(table))
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.14, right=0.95, bottom=0.12, top=0.9)
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
    axes.legend(fontsize=8, loc="best" if len(table) <= BEST_LEGEND_ROWS else "upper left")
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


def causal_page(scenario: Scenario) -> WorldPage:
    """The causal world's page: no inputs; the graph now (coloured as chosen on the page), W and Op over time."""
    params = scenario.params
    # As for sgd_page: Reset calls CausalModel(**these); causal worlds are deterministic.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    return WorldPage(fixed, [(CausalGraphPlot, 0), (CausalTrajectoryPlot, 0), (CausalOpPlot, 0)])


# A world whose page lives in a module of its own registers it as "module:function"; it is
# imported on first use, so that module may import this one's shared pieces.
PAGES: dict[str, Callable[[Scenario], WorldPage] | str] = {
    "sgd": sgd_page,
    "density": density_page,
    "causal": causal_page,
    "metaopt": "optiscape.metaopt_page:metaopt_page",
    "intelligence": "optiscape.intelligence_page:intelligence_page",
    "knowledge": "optiscape.knowledge_page:knowledge_page",
    "cooperation": "optiscape.cooperation_page:cooperation_page",
}


def page_builder(world_name: str) -> Callable[[Scenario], WorldPage]:
    """The page builder registered for a world, or a ValueError naming the worlds that have one."""
    if world_name not in PAGES:
        raise ValueError(f"no browser page for world {world_name!r}: expected one of {sorted(PAGES)}")
    return resolve(PAGES[world_name])


# --- the page ----------------------------------------------------------------------------------


@solara.component
def ScenarioPage(scenario: Scenario) -> None:
    """SolaraViz for one scenario, with a model of its own for this browser session."""
    page = solara.use_memo(lambda: page_builder(scenario.model)(scenario), [scenario])
    # The same arguments as scenario.build() plus the inputs' start values: what Reset passes again.
    model = solara.use_memo(lambda: scenario.world.model(**page.initial_arguments()), [page])
    SolaraViz(model, components=page.components, model_params=page.model_params, name=scenario.title)


def page_for(scenario_path: str | Path) -> Any:
    """The page for one scenario file (or shipped scenario name), e.g. to display in Jupyter."""
    scenario = scenarios.load(scenario_path)
    page_builder(scenario.model)
    return ScenarioPage(scenario)


@solara.component
def Page() -> None:
    """What `solara run optiscape.app` serves: the scenario named by OPTISCAPE_SCENARIO."""
    path = os.environ.get(SCENARIO_VARIABLE, DEFAULT_SCENARIO)
    scenario = solara.use_memo(lambda: scenarios.load(path), [path])
    ScenarioPage(scenario)
