"""The density world's browser page: the densities now (the descriptions chosen on the page) and the mass left
(or mean W) over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure

from models.density.figures import (
    DESCRIPTION_COLOURS,
    DESCRIPTION_LABELS,
    DESCRIPTION_STYLES,
    draw_densities,
    has_absorbing_edge,
)
from models.frame import frame
from models.sgd.page import MAX_BROWSER_WALKERS
from models.viz import FIGURE_SIZE, HISTOGRAM_BINS, SMALL_FONT, Slider, WorldPage

SHORT_LABELS = {"chain": "chain", "fokker_planck": "Fokker-Planck", "printed_master": "printed master",
                "gaussian_rule": "Gaussian rule"}


@solara.component
def DensityPlot(model: Any) -> None:
    """P(W, t) of the descriptions chosen on the page and the walkers' density, zoomed to where the mass is.

    Which descriptions show is a choice of this page (toggle buttons), not a model parameter: changing it
    redraws the plot and leaves the run alone.
    """
    frame.get()
    names = list(model.masses)
    shown, set_shown = solara.use_state(names)
    chosen = [name for name in names if name in shown]
    absorbing = has_absorbing_edge(model)

    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots()
    draw_densities(axes, model, chosen, HISTOGRAM_BINS)
    survivors = f": {np.mean(model.escape_step < 0):.1%} of walkers not escaped" if absorbing else ""
    axes.set_title(f"Step {model.steps}, T = {model.T:g}{survivors}", fontsize=SMALL_FONT + 1)

    with solara.Column(gap="4px"):
        solara.Text("descriptions shown (on: filled)")
        with solara.ToggleButtonsMultiple(value=chosen, on_value=set_shown, dense=True):
            for name in names:
                solara.Button(SHORT_LABELS.get(name, name), value=name)
        solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps, tuple(chosen)])


@solara.component
def DensityTimeSeriesPlot(model: Any) -> None:
    """Each description's mass left (or, with no absorbing edge, its mean W) over the steps collected so far."""
    frame.get()
    table = model.datacollector.get_model_vars_dataframe()
    every = model.params.collect_every
    steps = np.arange(len(table)) * every
    absorbing = has_absorbing_edge(model)
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots()
    marker = "o" if len(table) < 50 else None  # so that a lone first point shows
    column = "{}_survival" if absorbing else "{}_mean"
    for name in model.masses:
        axes.plot(steps, table[column.format(name)], color=DESCRIPTION_COLOURS[name], marker=marker, markersize=3,
                  linestyle=DESCRIPTION_STYLES.get(name, "-"), label=DESCRIPTION_LABELS[name])
    # The walkers' collected mean includes escaped walkers: it compares only when nothing absorbs.
    walkers = 1.0 - table["escaped_fraction"] if absorbing else table["mean_W"]
    axes.plot(steps, walkers, color=DESCRIPTION_COLOURS["monte_carlo"], linestyle="--", marker=marker, markersize=3,
              label=DESCRIPTION_LABELS["monte_carlo"])
    axes.set(xlabel="step", ylabel="mass not escaped" if absorbing else "mean W", xlim=(0, max(steps[-1], every)),
             title=f"Collected every {every} steps" if every > 1 else "Every step")
    axes.legend(loc="lower left" if absorbing else "best")
    with solara.Column(gap="4px"):
        solara.FigureMatplotlib(figure, format="png", dependencies=[model, len(table)])
        for warning in model.warnings:
            solara.Text(f"Warning: {warning}", style={"font-size": "12px", "color": "#8a5a00"})


def density_page(scenario: Any) -> WorldPage:
    """The density world's page: inputs for T and walkers; the densities now (chosen on the page), mass over time."""
    params = scenario.params
    walker_step = max(1, MAX_BROWSER_WALKERS // 100)
    T = float(params.temperature)
    inputs = {"temperature": Slider("T (step size)", value=T, min=T / 5, max=T * 5, step=T / 10, dtype=float),
              "n_walkers": Slider("walkers", value=min(params.n_walkers, MAX_BROWSER_WALKERS), min=walker_step,
                                  max=MAX_BROWSER_WALKERS, step=walker_step, dtype=int)}
    # As for sgd_page: Reset calls DensityModel(**these), seeded by the scenario.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    return WorldPage({**fixed, **inputs}, [(DensityPlot, 0), (DensityTimeSeriesPlot, 0)],
                     tabs=("Densities and mass",), steps_per_frame=params.collect_every)
