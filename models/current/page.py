"""The current world's browser page: the chain's density stepping in time with the walkers over it and the
stationary current's streamlines; beside it the effective potential and the loss, or the escape-time map."""

from __future__ import annotations

import html
import re
from typing import Any

import solara

from models.current.figures import density_figure, escape_figure, potential_figure
from models.frame import frame
from models.viz import Slider, WorldPage

SHOWN_WALKERS = 2000  # walkers drawn as dots over the density
FAIR_DISTANCE = 0.05  # total variation between the Fokker-Planck and chain densities that the page calls fair


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


def continuum_note(model: Any) -> str:
    """Whether the Fokker-Planck equation (the continuum the source essay derives) describes this world: it is
    solved on the same grid and set beside the exact chain."""
    check = model.fokker_planck
    if check is None:
        return "The Fokker–Planck equation is solved in 2-D only (one SGD step per chain step)."
    where = "It holds as T → 0 (small T·|∇g|); where the two differ, trust the chain."
    if "mean_escape_time" in check:
        chain, continuum = model.escape["mean"], check["mean_escape_time"]
        return (f"**Fokker–Planck against the exact chain:** mean escape time {continuum:,.0f} against {chain:,.0f} "
                f"steps ({continuum / chain - 1:+.0%}). {where}")
    distance = check["distance_to_chain"]
    verdict = "a fair" if distance < FAIR_DISTANCE else "not a fair"
    return (f"**Fokker–Planck against the exact chain:** total variation {distance:.3f} between their stationary "
            f"densities (0: equal; under {FAIR_DISTANCE} counts as fair here), so at this T the continuum equation "
            f"is {verdict} description. {where}")


@solara.component
def ContinuumNote(model: Any) -> None:
    """`continuum_note` on the page, under the solved picture (as HTML: solara's Markdown would ask the browser
    for KaTeX, which the offline assets do not ship)."""
    bold = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(continuum_note(model)))
    solara.HTML(tag="p", unsafe_innerHTML=bold)


def current_page(scenario: Any) -> WorldPage:
    """The current world's page: a step-size input; the density stepping in time and the solved picture."""

    params = scenario.params
    T = params.temperature
    inputs = {"temperature": Slider("T (step size)", value=T, min=round(T / 2, 4), max=round(2 * T, 4),
                                    step=round(T / 20, 5), dtype=float)}
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed}
    solved = "Escape times" if params.escape is not None else "Effective potential"
    return WorldPage({**fixed, **inputs}, [(DensityNowPlot, 0), (SolvedPlot, 1), (ContinuumNote, 1)],
                     tabs=("Density, walkers and current", solved), steps_per_frame=params.collect_every)
