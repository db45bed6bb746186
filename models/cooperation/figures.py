"""The cooperation world's run figures (PNG) and the panels the browser page shares with them."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from models.viz import SMALL_FONT, Outputs, tight


def _marker(table: pd.DataFrame) -> str | None:
    return "o" if len(table) < 50 else None  # so that a lone first point shows


def _legend(axes: Any, twin: Any, loc: str) -> None:
    """One legend for the lines on both y axes."""
    lines, labels = axes.get_legend_handles_labels()
    more, more_labels = twin.get_legend_handles_labels()
    axes.legend(lines + more, labels + more_labels, fontsize=SMALL_FONT, loc=loc)


def draw_cooperation(axes: Any, table: pd.DataFrame) -> None:
    """Share of active players in C (all, humans, AIs), with r_t and s_t on a second axis."""
    marker = _marker(table)
    steps = np.arange(len(table))
    for column, label, colour in (("cooperation", "all players", "black"), ("human_cooperation", "humans", "tab:blue"),
                                  ("ai_cooperation", "AIs (active)", "tab:red")):
        axes.plot(steps, table[column], label=label, color=colour, marker=marker, markersize=3)
    axes.set(xlabel="round", ylabel="share playing C", ylim=(-0.02, 1.02))
    paths = axes.twinx()
    paths.plot(steps, table["r"], color="tab:green", linestyle="--", label="r_t (reliance)")
    paths.plot(steps, table["s"], color="tab:purple", linestyle=":", label="s_t (intelligence)")
    paths.set_ylabel("r_t, s_t")
    _legend(axes, paths, "lower left")


def draw_wealth(axes: Any, table: pd.DataFrame) -> None:
    """Mean wallet per ID, humans and AIs, in tokens; on a second axis, of another scale, the mean payoff per round
    (utility) and the Gini of wealth."""
    marker = _marker(table)
    steps = np.arange(len(table))
    axes.plot(steps, table["human_wealth"], color="tab:blue", marker=marker, markersize=3, label="human wallet")
    axes.plot(steps, table["ai_wealth"], color="tab:red", marker=marker, markersize=3, label="AI wallet (per ID)")
    axes.set(xlabel="round", ylabel="tokens")
    per_round = axes.twinx()
    per_round.plot(steps, table["human_payoff"], color="tab:blue", linestyle=":", label="human payoff f")
    per_round.plot(steps, table["ai_payoff"], color="tab:red", linestyle=":", label="AI payoff g")
    per_round.plot(steps, table["gini"], color="grey", linewidth=2, alpha=0.5, label="Gini of wealth")
    per_round.set_ylabel("utility per round; Gini")
    _legend(axes, per_round, "upper left")


def draw_chain(axes: Any, table: pd.DataFrame) -> None:
    """Chain height and the running counts of bans, mutations, thefts, captures and rejected transactions."""
    marker = _marker(table)
    steps = np.arange(len(table))
    for column, label in (("bans", "bans"), ("mutations", "mutations (new IDs)"), ("thefts", "thefts"),
                          ("captures", "captures"), ("rejected", "rejected transactions")):
        axes.plot(steps, table[column], label=label, marker=marker, markersize=3)
    axes.set(xlabel="round", ylabel="count so far")
    height = axes.twinx()
    height.plot(steps, table["chain_height"], color="black", linewidth=2, alpha=0.4, label="chain height")
    height.set_ylabel("blocks")
    _legend(axes, height, "upper left")


def cooperation_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """cooperation.png, wealth.png and (with a ledger) chain.png from the run's model table."""
    table = tables["model"]
    outputs: Outputs = {}
    for name, draw, title in (("cooperation", draw_cooperation, "Cooperation, r_t and s_t"),
                              ("wealth", draw_wealth, "Utilities and wealth"),
                              ("chain", draw_chain, "The chain: height, bans, mutations, thefts, captures")):
        if name != "cooperation" and model.society.state is None:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        draw(ax, table)
        ax.set_title(title, fontsize=10)
        outputs[f"{name}.png"] = tight(fig)
    return outputs
