"""The random-walk world's browser page: a slider for the step size, the walkers' spread against step_size sqrt(t)."""

from __future__ import annotations

from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure

from models.frame import frame
from models.viz import FIGURE_SIZE, Slider, WorldPage


@solara.component
def SpreadPlot(model: Any) -> None:
    """The walkers' spread over the steps so far, beside the random walk's step_size * sqrt(t)."""
    frame.get()  # redraw when the page says a new frame is due
    table = model.datacollector.get_model_vars_dataframe()
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots()
    steps = np.arange(len(table))
    axes.plot(steps, table["spread"], label="walkers")
    axes.plot(steps, model.params.step_size * np.sqrt(steps), "--", label="step_size √t")
    axes.set(xlabel="step", ylabel="spread")
    axes.legend()
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


def random_walk_page(scenario: Any) -> WorldPage:
    """Every parameter fixed as the scenario has it, except the step size, which a slider sets."""
    params = scenario.params
    inputs = {"step_size": Slider("step size", value=params.step_size, min=0.1, max=2.0, step=0.1, dtype=float)}
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    return WorldPage({**fixed, **inputs}, [(SpreadPlot, 0)], tabs=("Spread",))
