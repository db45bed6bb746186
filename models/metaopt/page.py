"""The meta-optimization world's browser page: the 2-D landscape with explorers by algorithm, the lineage, traits."""

from __future__ import annotations

from typing import Any

import solara
from matplotlib.figure import Figure

from models.frame import frame
from models.metaopt.figures import draw_landscape, draw_lineage, draw_traits, landscape_grid, landscape_window
from models.viz import FIGURE_SIZE, SMALL_FONT, Slider, WorldPage

MAX_BROWSER_EXPLORERS = 20_000  # a compute budget above this makes each step and plot sluggish


@solara.component
def MetaoptLandscapePlot(model: Any) -> None:
    """Contours of L over the first two axes, every explorer coloured by its algorithm, birthplaces as crosses."""
    frame.get()
    grid = solara.use_memo(lambda: landscape_grid(model, landscape_window(model)), [model])
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    draw_landscape(figure.subplots(), model, grid, contours=False)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def MetaoptLineagePlot(model: Any) -> None:
    """The lineage tree growing: who spawned whom and when, coloured by generality."""
    frame.get()
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    draw_lineage(figure.subplots(), model)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def MetaoptTraitsPlot(model: Any) -> None:
    """Histograms of N, S, V, G, R over the living algorithms, and the φ leader of the last window."""
    frame.get()
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots(2, 3)
    draw_traits(axes, model)
    leader = model.leaders[-1] if model.leaders else None
    text = (f"φ leader (window to step {leader['step']}): #{leader['leader']}, G = {leader['generality']:.2f}, "
            f"N = {leader['n_explorers']:.0f}, S = {leader['angle']:.0f}°" if leader else "no φ window closed yet")
    axes[1, 2].text(0.0, 0.5, text, fontsize=SMALL_FONT, wrap=True, transform=axes[1, 2].transAxes)
    figure.supxlabel("trait value", fontsize=SMALL_FONT)
    figure.supylabel("living algorithms", fontsize=SMALL_FONT)
    figure.suptitle(f"Step {model.steps}: traits of {model.n_algorithms} living algorithms", fontsize=10)
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


def _generality_inputs(params: Any) -> dict[str, Any]:
    """Inputs for how offspring generality G is drawn: p_g and p_s (binary G), or the Beta law (scalar G)."""
    if params.generality_model == "binary":
        return {name: Slider(label, value=value, min=0.0, max=min(1.0, value * 5) or 0.1, step=(value or 0.02) / 4,
                             dtype=float)
                for name, label, value in (("p_general", "p_g (a general offspring)", params.p_general),
                                           ("p_specific", "p_s (a specific offspring)", params.p_specific))}
    # Short texts: the option must fit the sidebar's field at 1366x768.
    # α a→b: α is a for a parent of G = 0 and b for G = 1 (linear between); so is β.
    law = params.beta_law
    doubled = (2 * law.beta[0], 2 * law.beta[1])
    laws = {f"scenario's: α {law.alpha[0]:g}→{law.alpha[1]:g}, β {law.beta[0]:g}→{law.beta[1]:g}": law,
            f"β doubled ({doubled[0]:g}→{doubled[1]:g})": law.model_copy(update={"beta": doubled}),
            "uniform: α = β = 1": law.model_copy(update={"alpha": (1.0, 1.0), "beta": (1.0, 1.0)})}
    return {"beta_law": {"type": "Select", "label": "offspring G ~ Beta(α, β)", "value": next(iter(laws)),
                         "values": list(laws), "meaning": {label: value.model_dump() for label, value in laws.items()}}}


def metaopt_page(scenario: Any) -> WorldPage:
    """The page: inputs for the compute budget and offspring generality; landscape, lineage and trait plots."""
    params = scenario.params
    inputs: dict[str, Any] = {}
    if params.compute_budget is not None:
        budget = min(params.compute_budget, MAX_BROWSER_EXPLORERS)
        step = max(1, budget // 20)
        inputs["compute_budget"] = Slider("compute budget (explorers)", value=budget, min=step,
                                          max=MAX_BROWSER_EXPLORERS, step=step, dtype=int)
    inputs |= _generality_inputs(params)
    # As for sgd_page: Reset calls MetaoptModel(**these), seeded by the scenario.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    components = [(MetaoptLandscapePlot, 0), (MetaoptTraitsPlot, 0), (MetaoptLineagePlot, 1)]
    return WorldPage({**fixed, **inputs}, components, tabs=("Landscape and traits", "Lineage"),
                     steps_per_frame=params.collect_every)
