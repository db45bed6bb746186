"""The SGD world's browser page: the landscape with its walkers (1-D) or the walkers' first two coordinates,
and the escaped fraction and mean W over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import solara
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from models.frame import frame
from models.params import Values
from models.sgd.figures import draw_escape_over_time
from models.viz import FIGURE_SIZE, HISTOGRAM_BINS, LANDSCAPE_POINTS, Slider, WorldPage

MAX_BROWSER_WALKERS = 50_000  # walkers over all temperatures; more makes each step and plot sluggish


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


ALL_TEMPERATURES = "all"


def _temperature_text(T: float) -> str:
    return f"T = {T:.3g}"


@solara.component
def LandscapePlot(model: Any) -> None:
    """L and every l_j over the landscape's window, with a histogram of the walkers' positions W (1-D).

    Which temperature's walkers the histogram shows is a choice of this page (all of them, or one T).
    """
    frame.get()
    curves = solara.use_memo(lambda: _landscape_curves(model), [model])
    temperatures = np.unique(model.temperature)
    choices = [ALL_TEMPERATURES, *(_temperature_text(T) for T in temperatures)] if len(temperatures) > 1 else []
    shown, set_shown = solara.use_state(ALL_TEMPERATURES)
    shown = shown if shown in choices else ALL_TEMPERATURES
    positions = curves["W"]
    low, high = curves["window"]

    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots()
    for name, loss in curves["losses"].items():
        axes.plot(positions, loss, linewidth=1, label=name)
    axes.plot(positions, curves["L"], color="black", linewidth=2, label="L (mean)")
    if curves["escape"].any():
        axes.fill_between(positions, 0, 1, where=curves["escape"], transform=axes.get_xaxis_transform(),
                          color="tab:green", alpha=0.1, label="escape region")
    axes.set(xlim=(low, high), xlabel="W", ylabel="loss")

    if shown == ALL_TEMPERATURES:
        walkers, which = model.position[:, 0], f"all {len(temperatures)} T" if len(temperatures) > 1 else \
            _temperature_text(temperatures[0])
    else:
        T = temperatures[choices.index(shown) - 1]
        walkers, which = model.position[model.temperature == T, 0], shown
    counts, edges = np.histogram(walkers, bins=HISTOGRAM_BINS, range=(low, high))
    histogram_axes = axes.twinx()
    bars = histogram_axes.stairs(counts, edges, fill=True, color="tab:red", alpha=0.35)
    histogram_axes.set_ylabel("walkers per bin")
    handles, labels = axes.get_legend_handles_labels()
    axes.legend([*handles, bars], [*labels, f"walkers ({which})"], loc="upper right")
    outside = len(walkers) - int(counts.sum())
    note = f", {outside:,} outside the plot" if outside else ""
    axes.set_title(f"Step {model.steps}: {len(walkers):,} walkers at {which}{note}")
    with solara.Column(gap="4px"):
        if choices:
            solara.Select("walkers shown", value=shown, values=choices, on_value=set_shown)
        solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps, shown])


@solara.component
def WalkerScatterPlot(model: Any) -> None:
    """The walkers' first two coordinates (W0, W1), now and at the start; coloured by T if several."""
    frame.get()
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots()
    start, now = model.start_position, model.position
    axes.scatter(start[:, 0], start[:, 1], s=4, color="lightgrey", label="start")
    temperatures = model.temperature
    if temperatures.min() < temperatures.max():
        points = axes.scatter(now[:, 0], now[:, 1], s=3, c=temperatures, cmap="viridis",
                              norm=LogNorm(temperatures.min(), temperatures.max()), label="now (colour: T)")
        figure.colorbar(points, ax=axes, label="T")
    else:
        axes.scatter(now[:, 0], now[:, 1], s=3, color="tab:red", label="now")
    axes.set(xlabel="W0", ylabel="W1", title=f"Step {model.steps}: {len(now):,} walkers (first two of W)")
    axes.legend(loc="best")
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def EscapeTimeSeriesPlot(model: Any) -> None:
    """The fraction of walkers escaped, one line per T, and the mean of W0 over the steps collected so far."""
    frame.get()
    table = model.datacollector.get_model_vars_dataframe()
    every = model.params.collect_every
    steps = np.arange(len(table)) * every
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    draw_escape_over_time(figure, top, model)
    top.set_title(f"Collected every {every} steps (a Step takes {every})" if every > 1 else "Every step")
    marker = "o" if len(table) < 50 else None  # so that a lone first point shows
    bottom.plot(steps, table["mean_W"], color="tab:blue", marker=marker, markersize=3, label="mean W0, all T")
    bottom.set(xlabel="step", ylabel="mean W0", xlim=(0, max(steps[-1], every)))
    bottom.legend(loc="best")
    # Redrawn only when a row was collected (every `collect_every` steps), not on every step.
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, len(table)])


def sgd_page(scenario: Any) -> WorldPage:
    """The SGD world's page: inputs for T (if single), walkers and method; walker and time-series plots."""
    params = scenario.params
    inputs: dict[str, Any] = {}
    if not isinstance(params.temperature, list | Values):
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
    return WorldPage({**fixed, **inputs}, [(walkers_plot, 0), (EscapeTimeSeriesPlot, 0)],
                     tabs=("Walkers and escape",), steps_per_frame=params.collect_every)
