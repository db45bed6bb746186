"""The knowledge world's browser page: training progress, q against r for weights and biases, the pixel heatmap.

Each Step trains every active run (phase 1, then the four forks of each seed) on `examples_per_step` more
examples. q exists once a seed's four forks have finished, so the scatter and the heatmap appear then.
"""

from __future__ import annotations

from typing import Any

import solara
from matplotlib.figure import Figure

from models.frame import frame
from models.knowledge.figures import R_LABEL, draw_heatmap, draw_progress, draw_scatter
from models.viz import FIGURE_SIZE, SMALL_FONT, Slider, WorldPage

RATE_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0)  # the learning rates offered: the scenario's times these


def _waiting(model: Any) -> str:
    run = model.runs[0]
    forks = [r for r in model.runs if r.parent == run.row]
    done = sum(r.done_examples for r in [run, *forks])
    total = sum(len(r.examples) for r in [run, *forks])
    return f"q is measured when seed 0's phase 1 and its four forks have finished: {done:,} of {total:,} examples"


@solara.component
def KnowledgeProgressPlot(model: Any) -> None:
    """Each run's loss over the examples it has trained so far."""
    frame.get()
    if model.examples_trained == 0:
        solara.Info(f"Loss per run: nothing trained yet. Each Step trains every active run on "
                    f"{model.params.examples_per_step:,} more examples ({model.examples_total:,} in all).")
        return
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    draw_progress(figure.subplots(), model)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def KnowledgeScatterPlot(model: Any) -> None:
    """q against r for weights and for biases of seed 0's network (cross-seed control in grey), once measured."""
    frame.get()
    if not model.seed_finished(0):
        solara.Info(f"q against r: {_waiting(model)}.")
        return
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    draw_scatter(left, model, "weights", legend=False)
    draw_scatter(right, model, "biases", legend=False)
    right.set_ylabel("")
    for axes in (left, right):  # two panels in one page column: one r label under both, one legend above
        axes.set_xlabel("")
    figure.supxlabel(R_LABEL, fontsize=SMALL_FONT + 1)
    figure.legend(*left.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=SMALL_FONT,
                  markerscale=3)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def KnowledgeHeatmapPlot(model: Any) -> None:
    """Per input pixel, the correlation of r and q over its outgoing weights (seed 0), once measured."""
    frame.get()
    if not model.seed_finished(0):
        solara.Info(f"Per input pixel: {_waiting(model)}.")
        return
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    draw_heatmap(figure, figure.subplots(), model)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


def knowledge_page(scenario: Any) -> WorldPage:
    """Inputs: activation, learning rate (the scenario's times 0.1 to 10), examples per Step; three plots."""
    params = scenario.params
    rates = [params.learning_rate * f for f in RATE_FACTORS]
    inputs: dict[str, Any] = {
        "activation": {"type": "Select", "label": "activation", "value": params.activation,
                       "values": ["softplus", "relu", "sigmoid"]},
        "learning_rate": {"type": "Select", "label": "learning rate", "value": params.learning_rate,
                          "values": rates},
        "examples_per_step": Slider("examples per run per Step", value=params.examples_per_step, min=100,
                                    max=max(10_000, params.examples_per_step), step=100, dtype=int),
    }
    # As the other pages: Reset calls KnowledgeModel(**these), seeded by the scenario.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    return WorldPage({**fixed, **inputs},
                     [(KnowledgeProgressPlot, 0), (KnowledgeScatterPlot, 0), (KnowledgeHeatmapPlot, 0)],
                     tabs=("Training and q against r",))
