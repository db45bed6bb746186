"""The intelligence-density world's browser page: the intelligence line now and its history."""

from __future__ import annotations

from typing import Any

import solara
from matplotlib.figure import Figure

from models.frame import frame
from models.intelligence.figures import draw_history, draw_line
from models.viz import FIGURE_SIZE, Slider, WorldPage


@solara.component
def IntelligenceLinePlot(model: Any) -> None:
    """Every being on the intelligence line, gaps of at least ε shaded (where exterminations can start)."""
    frame.get()
    figure = Figure(figsize=(FIGURE_SIZE[0], 2.4), layout="constrained")
    draw_line(figure.subplots(), model)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def IntelligenceHistoryPlot(model: Any) -> None:
    """Top and lowest levels, the widest gap, beings and whether humans live, over the steps so far."""
    frame.get()
    table = model.datacollector.get_model_vars_dataframe().rename_axis("step").reset_index()
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    draw_history(figure.subplots(2, 1, sharex=True), table)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


def intelligence_page(scenario: Any) -> WorldPage:
    """The page: inputs for ε and the policy; the line now and its history."""
    params = scenario.params
    eps = params.epsilon
    inputs = {"epsilon": Slider("ε", value=eps, min=eps / 10, max=eps * 5, step=eps / 10, dtype=float),
              "policy": {"type": "Select", "label": "policy", "value": params.policy, "values": ["keep", "retire"]}}
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    return WorldPage({**fixed, **inputs}, [(IntelligenceLinePlot, 0), (IntelligenceHistoryPlot, 0)],
                     tabs=("The line and its history",))
