"""The current world's run figures: density with current streamlines, effective potential beside the loss,
escape-time map and exit distribution (2-D grids; a 3-D grid is shown as its w2 = middle slice)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from models.viz import Outputs, tight

MASS_SHOWN = 0.999  # figures zoom on the smallest box holding this much of the density


def _plane(model: Any, values: np.ndarray) -> np.ndarray:
    """A cell array as the (w0, w1) plane, (shape0, shape1); the middle w2 slice of a 3-D grid."""
    g = model.grid
    grid_values = values.reshape(g.shape)
    return grid_values[:, :, g.shape[2] // 2] if g.dim == 3 else grid_values


def _zoom(ax: Any, model: Any, density: np.ndarray) -> None:
    """Axes limits on where the mass is (with a margin), so a small density is not a dot in a big box."""
    g = model.grid
    plane = _plane(model, density)
    if not plane.sum() > 0:  # no mass left in the plane (all of it escaped at once): the whole box
        return
    limits = []
    for axis in (0, 1):
        marginal = plane.sum(axis=1 - axis)
        cumulative = np.cumsum(marginal) / max(marginal.sum(), 1e-300)
        lo = int(np.searchsorted(cumulative, (1 - MASS_SHOWN) / 2))
        hi = int(np.searchsorted(cumulative, 1 - (1 - MASS_SHOWN) / 2))
        centres = g.axis_centres(axis)
        hi = min(hi, len(centres) - 1)
        pad = 0.15 * (centres[hi] - centres[lo]) + g.width[axis]
        limits.append((max(g.low[axis], centres[lo] - pad), min(g.high[axis], centres[hi] + pad)))
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])


def density_figure(model: Any, density: np.ndarray, current: np.ndarray | None, title: str) -> Figure:
    """A density heatmap (per unit area) with the current's streamlines over it."""
    g = model.grid
    figure = Figure(figsize=(6.4, 5.2))
    ax = figure.subplots()
    x, y = g.axis_centres(0), g.axis_centres(1)
    plane = _plane(model, density / g.volume)
    image = ax.pcolormesh(x, y, plane.T, shading="nearest", cmap="viridis")
    figure.colorbar(image, ax=ax, label="density (probability per unit area)")
    if current is not None:
        u, v = _plane(model, current[:, 0]).T, _plane(model, current[:, 1]).T
        speed = np.hypot(u, v)
        if speed.max() > 0:
            ax.streamplot(x, y, u, v, color="white", linewidth=0.4 + 2.0 * speed / speed.max(), density=1.2,
                          arrowsize=0.8)
            ax.plot([], [], color="white", label="probability current J (width: |J|)")
            ax.legend(loc="upper right", fontsize=9, facecolor="0.3", labelcolor="white")
    _zoom(ax, model, density)
    ax.set_xlabel("w0")
    ax.set_ylabel("w1")
    ax.set_title(title, fontsize=10)
    return tight(figure)


def potential_figure(model: Any, pi: np.ndarray) -> Figure:
    """The effective potential -T log pi beside the loss L (each shifted to minimum 0), over where SGD lives."""
    g = model.grid
    figure = Figure(figsize=(11.0, 4.4))
    axes = figure.subplots(1, 2, sharex=True, sharey=True)
    x, y = g.axis_centres(0), g.axis_centres(1)
    order = np.argsort(pi)[::-1]
    lived = np.zeros(len(pi), dtype=bool)  # the cells holding MASS_SHOWN of pi
    lived[order[: int(np.searchsorted(np.cumsum(pi[order]), MASS_SHOWN)) + 1]] = True
    loss = model.cell_loss - model.cell_loss[lived].min()
    for ax, values, name in ((axes[0], loss, "loss L"), (axes[1], model.stationary["potential"],
                                                         f"effective potential -T log pi (T = {model.T:g})")):
        top = float(values[lived].max())
        plane = _plane(model, np.where(values <= top, values, np.nan))
        image = ax.contourf(x, y, plane.T, levels=np.linspace(0, top, 11), cmap="magma_r")
        figure.colorbar(image, ax=ax, label=f"{name.split(' (')[0]} above its minimum")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("w0")
        ax.set_aspect("equal")
        _zoom(ax, model, pi)
    axes[0].set_ylabel("w1")
    figure.suptitle(f"Where SGD lives ({MASS_SHOWN:.1%} of pi): its effective potential beside the loss", fontsize=11)
    return tight(figure)


def escape_figure(model: Any, exits: pd.DataFrame) -> Figure:
    """The mean escape time from every cell (log colour), and where escapes land along the boundary."""
    g = model.grid
    figure = Figure(figsize=(11.0, 4.4))
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    tau = _plane(model, model.escape_map).astype(float)
    tau[tau <= 0] = np.nan
    image = left.pcolormesh(g.axis_centres(0), g.axis_centres(1), tau.T, shading="nearest", cmap="cividis",
                            norm=LogNorm(vmin=np.nanmin(tau), vmax=np.nanmax(tau[np.isfinite(tau)])))
    figure.colorbar(image, ax=left, label="mean SGD steps to escape (chain, exact)")
    left.set_xlabel("w0")
    left.set_ylabel("w1")
    left.set_title("Escape-time map (white: the escape region)", fontsize=10)
    axis = exits.columns[0]
    right.plot(exits[axis], exits["chain"], color="tab:blue", label="chain (exact)")
    if "monte_carlo" in exits:
        right.step(exits[axis], exits["monte_carlo"], where="mid", color="tab:red", alpha=0.7,
                   label=f"walkers ({int(np.sum(model.walkers.escape_step >= 0))} escaped)")
    right.set_xlabel(f"{axis} where the escape lands")
    right.set_ylabel("share of escapes per cell row")
    right.set_title("Exit distribution along the boundary", fontsize=10)
    right.legend(fontsize=9)
    nonzero = exits[axis][exits["chain"] > 1e-4 * exits["chain"].max()]
    right.set_xlim(float(nonzero.min()), float(nonzero.max()))
    return tight(figure)


def current_figures(model: Any, tables: dict[str, pd.DataFrame]) -> Outputs:
    """The run's figures by file name."""
    if model.chain.absorbing.any():
        outputs: Outputs = {"density.png": density_figure(model, model.mass, None,
                                                          f"The chain's density after {model.sgd_steps} SGD steps "
                                                          "(survivors)")}
        if model.grid.dim == 2:
            outputs["escape_time.png"] = escape_figure(model, tables["exits"])
        return outputs
    s = model.stationary
    return {
        "stationary_current.png": density_figure(model, s["pi"], s["current"],
                                                 f"Stationary density and current (T = {model.T:g}, exact chain)\n"
                                                 f"circulation {s['circulation']:.3g} per step, entropy production "
                                                 f"{s['entropy_production']:.3g} per step"),
        "effective_potential.png": potential_figure(model, s["pi"]),
    }
