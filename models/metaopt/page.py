"""The meta-optimization world's browser page: the 2-D landscape with explorers by algorithm, the lineage, traits."""

from __future__ import annotations

from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import Slider
from mesa.visualization.utils import update_counter

from models.metaopt.figures import draw_landscape, draw_lineage, draw_traits, landscape_grid, landscape_window
from models.viz import FIGURE_SIZE, WorldPage

MAX_BROWSER_EXPLORERS = 20_000  # a compute budget above this makes each step and plot sluggish


@solara.component
def MetaoptLandscapePlot(model: Any) -> None:
    """Contours of L over the first two axes, every explorer coloured by its algorithm, birthplaces as crosses."""
    update_counter.get()
    grid = solara.use_memo(lambda: landscape_grid(model, landscape_window(model)), [model])
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.12, right=0.95, bottom=0.12, top=0.92)
    draw_landscape(figure.subplots(), model, grid, contours=False)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def MetaoptLineagePlot(model: Any) -> None:
    """The lineage tree growing: who spawned whom and when, coloured by generality."""
    update_counter.get()
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.92)
    draw_lineage(figure.subplots(), model)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def MetaoptTraitsPlot(model: Any) -> None:
    """Histograms of N, S, V, G, R over the living algorithms, and the φ leader of the last window."""
    update_counter.get()
    figure = Figure(figsize=FIGURE_SIZE)
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.08, top=0.88, hspace=0.5, wspace=0.35)
    axes = figure.subplots(2, 3)
    draw_traits(axes, model)
    leader = model.leaders[-1] if model.leaders else None
    text = (f"φ leader (window to step {leader['step']}): #{leader['leader']}, G = {leader['generality']:.2f}, "
            f"N = {leader['n_explorers']:.0f}, S = {leader['angle']:.0f}°" if leader else "no φ window closed yet")
    axes[1, 2].text(0.0, 0.5, text, fontsize=7, wrap=True, transform=axes[1, 2].transAxes)
    figure.suptitle(f"Step {model.steps}: traits of {model.n_algorithms} living algorithms", fontsize=10)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


def metaopt_page(scenario: Any) -> WorldPage:
    """The page: a compute-budget input (when the scenario sets one); landscape, lineage and trait plots."""
    params = scenario.params
    inputs: dict[str, Any] = {}
    if params.compute_budget is not None:
        budget = min(params.compute_budget, MAX_BROWSER_EXPLORERS)
        step = max(1, budget // 20)
        inputs["compute_budget"] = Slider("compute budget (explorers)", value=budget, min=step,
                                          max=MAX_BROWSER_EXPLORERS, step=step, dtype=int)
    # As for sgd_page: Reset calls MetaoptModel(**these), seeded by the scenario.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    components = [(MetaoptLandscapePlot, 0), (MetaoptLineagePlot, 0), (MetaoptTraitsPlot, 0)]
    return WorldPage({**fixed, **inputs}, components)
