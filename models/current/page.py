"""The current world's browser page: the chain's density stepping in time with the walkers over it and the
stationary current's streamlines; beside it the effective potential and the loss, or the escape-time map."""

from __future__ import annotations

from typing import Any

import solara

from models.current.figures import density_figure, escape_figure, potential_figure
from models.frame import frame
from models.viz import Slider, WorldPage

SHOWN_WALKERS = 2000  # walkers drawn as dots over the density


@solara.component
def DensityNowPlot(model: Any) -> None:
    """The chain's density after the steps taken so far, the first walkers as dots, and (with no escape region)
    the stationary current's streamlines: the density flows into the state the streamlines circulate in."""
    frame.get()
    absorbing = bool(model.chain.absorbing.any())
    current = None if absorbing else model.stationary["current"]
    figure = density_figure(model, model.mass, current,
                            f"Step {model.sgd_steps}: the chain's density (colour), walkers (dots)")
    axes = figure.axes[0]
    if model.walkers is not None:
        shown = model.walkers.position[:SHOWN_WALKERS]
        axes.scatter(shown[:, 0], shown[:, 1], s=2, color="tab:red", alpha=0.5, label="SGD walkers")
        axes.legend(loc="upper right", fontsize=9)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.sgd_steps])


@solara.component
def SolvedPlot(model: Any) -> None:
    """What the chain gives by solves: -T log pi beside the loss, or the escape-time map and exit distribution."""
    frame.get()
    if model.chain.absorbing.any():
        figure = escape_figure(model, model.exit_table())
    else:
        figure = potential_figure(model, model.stationary["pi"])
    solara.FigureMatplotlib(figure, format="png", dependencies=[model])


def current_page(scenario: Any) -> WorldPage:
    """The current world's page: a step-size input; the density stepping in time and the solved picture."""

    params = scenario.params
    T = params.temperature
    inputs = {"temperature": Slider("T (step size)", value=T, min=round(T / 2, 4), max=round(2 * T, 4),
                                    step=round(T / 20, 5), dtype=float)}
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    solved = "Escape times" if params.escape is not None else "Effective potential"
    return WorldPage({**fixed, **inputs}, [(DensityNowPlot, 0), (SolvedPlot, 1)],
                     tabs=("Density, walkers and current", solved), steps_per_frame=params.collect_every)
