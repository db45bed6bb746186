"""The causal world's run figures: Op of each target over time, and the optimization landscape of a sweep."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from models.viz import SMALL_FONT, Outputs, tight


def causal_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """op.png: Op of each target over time (exact, and finite δ); landscape.png: 1 - Comp over a sweep's values."""
    series = tables["model"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for m in model.params.targets:
        ax.plot(series.step, series[f"op_{m}"], label=f"Op(A; n, {m}_t), exact")
        if f"op_delta_{m}" in series:
            ax.plot(series.step, series[f"op_delta_{m}"], linestyle="--", label=f"{m}, finite δ")
    title = f"A = {', '.join(model.params.clamp)}, n = {model.params.perturb}_0"
    ax.set(xlabel="step", ylabel="Op (nats)", title=title)
    ax.legend(fontsize=SMALL_FONT)
    outputs: Outputs = {"op.png": tight(fig)}
    landscape = tables.get("landscape")
    if landscape is not None:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        x = landscape.iloc[:, 0]
        for m in model.params.targets:
            ax.plot(x, 1 - landscape[f"comp_{m}"], label=f"1 - Comp for {m} at step {model.steps}")
        ax.set(xlabel=landscape.columns[0], ylabel="1 - Comp", title="The optimization landscape over initial values")
        ax.legend(fontsize=SMALL_FONT)
        outputs["landscape.png"] = tight(fig)
    return outputs
