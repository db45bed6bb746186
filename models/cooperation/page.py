"""The cooperation world's browser page: cooperation, utilities and wealth, the chain, and its latest blocks."""

from __future__ import annotations

from typing import Any

import solara
from matplotlib.figure import Figure

from models.cooperation.figures import draw_chain, draw_cooperation, draw_wealth
from models.frame import frame
from models.viz import FIGURE_SIZE, Slider, WorldPage

MAX_BROWSER_PLAYERS = 5_000  # more makes every round (and its signatures) sluggish in the page
LATEST_BLOCKS = 8


def _panel(model: Any, draw: Any, title: str) -> None:
    table = model.datacollector.get_model_vars_dataframe()
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    axes = figure.subplots()
    draw(axes, table)
    axes.set_title(f"Round {model.steps}: {title}")
    solara.FigureMatplotlib(figure, format="png", dependencies=[model, model.steps])


@solara.component
def CooperationPlot(model: Any) -> None:
    """Share of players in C (all, humans, AIs) with r_t and s_t."""
    frame.get()
    _panel(model, draw_cooperation, "cooperation")


@solara.component
def WealthPlot(model: Any) -> None:
    """Payoffs per round, wallets per ID and the Gini of wealth."""
    frame.get()
    _panel(model, draw_wealth, "utilities and wealth")


@solara.component
def ChainPlot(model: Any) -> None:
    """Chain height, bans, mutations, thefts, captures and rejected transactions."""
    frame.get()
    _panel(model, draw_chain, "the chain")


def block_html(model: Any, k: int = LATEST_BLOCKS) -> str:
    """The newest k blocks as an HTML table (height, round, hash, transactions accepted / rejected)."""
    table = model.block_table(k)
    if table.empty:
        return "<p>No signed ledger in this world (ledger: off or unsigned): no blocks.</p>"
    head = "".join(f"<th style='padding:0 8px'>{c}</th>" for c in ("height", "round", "hash", "accepted",
                                                                    "rejected"))
    rows = "".join(f"<tr><td>{r.height}</td><td>{r.round}</td><td><code>{r.hash}</code></td><td>{r.accepted}</td>"
                   f"<td>{r.rejected}</td></tr>" for r in table.itertuples())
    return (f"<p><b>Latest blocks</b> (chain height {model.ledger.height()})</p>"
            f"<table style='text-align:right'><tr>{head}</tr>{rows}</table>")


@solara.component
def BlockTable(model: Any) -> None:
    """The latest blocks of the chain."""
    frame.get()
    solara.HTML(tag="div", unsafe_innerHTML=block_html(model))


def cooperation_page(scenario: Any) -> WorldPage:
    """Sliders for the four guidelines' knobs, the tax, the AI IDs and, where the world votes, the AIs' agreement;
    plots of cooperation, wealth and the chain; the blocks."""
    params = scenario.params
    if params.n_humans + params.n_ais * params.copies > MAX_BROWSER_PLAYERS:
        raise ValueError(f"{scenario.path}: at most {MAX_BROWSER_PLAYERS} players in the browser, the scenario has "
                         f"{params.n_humans + params.n_ais * params.copies} (run it with `optiscape run`)")
    inputs = {
        "cooperation_gain": Slider("cooperation gain (guideline 1)", value=params.cooperation_gain, min=0.0,
                                   max=3.0, step=0.1, dtype=float),
        "aggression_gain": Slider("aggression gain (guideline 2)", value=params.aggression_gain, min=0.0, max=2.0,
                                  step=0.05, dtype=float),
        "tax_rate": Slider("tax on AI income", value=params.tax_rate, min=0.0, max=0.9, step=0.05, dtype=float),
        "n_ais": Slider(f"AI IDs (beside {params.n_humans:,} humans)", value=params.n_ais, min=1,
                        max=max(1, min(MAX_BROWSER_PLAYERS - params.n_humans, 4 * params.n_ais) // params.copies),
                        step=1, dtype=int),
    }
    if params.proposal_every:  # this world votes on the tax: how far the AIs agree that it should go
        inputs["ai_agreement"] = Slider("chance an AI votes to abolish the tax", value=params.ai_agreement, min=0.0,
                                        max=1.0, step=0.05, dtype=float)
    # Reset calls CooperationModel(**these), seeded by the scenario; the page's chain always lives in memory.
    fixed = {**params.model_dump(), "params": params, "rng": scenario.seed, "ledger_path": ":memory:"}
    return WorldPage({**fixed, **inputs}, [(CooperationPlot, 0), (WealthPlot, 0), (ChainPlot, 1), (BlockTable, 1)],
                     tabs=("Cooperation and wealth", "The chain"))
