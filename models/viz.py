"""What the worlds' browser pages and run figures share: the page's shape, plot sizes, and figure helpers.

A world's `page.py` builds a `WorldPage` from a scenario; its `figures.py` returns matplotlib Figures
(and any other outputs of a run as text or bytes) by file name, and `optiscape` writes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib

# Figures are drawn off-screen, never in a window; a Jupyter kernel's inline backend (which it names in
# MPLBACKEND) draws off-screen too, and shows a figure as a cell's value.
if "backend_inline" not in os.environ.get("MPLBACKEND", ""):
    matplotlib.use("Agg")
from matplotlib.figure import Figure

FIGURE_SIZE = (5.0, 3.6)  # inches of a page plot: at 100 dpi, about the width of one of two columns at 1366x768
LANDSCAPE_POINTS = 600
HISTOGRAM_BINS = 80

Outputs = dict[str, Figure | str | bytes]  # a run's figures and files by file name ("landscape.png": a Figure)


def tight(figure: Figure) -> Figure:
    """The figure with its subplots laid out to fit (as run figures are saved)."""
    figure.tight_layout()
    return figure


SMALL_FONT = 9  # points: the smallest text on a plot; a page plot shows at ~0.8x at 1366x768, so 9 pt is ~10 px


def input_value_text(value: Any) -> str:
    """How an input's current value is written beside its label (4 significant digits, thousands separated)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


@dataclass(frozen=True)
class Slider:
    """A page input: a slider from min to max in steps of step, starting at value (Mesa's Slider, as data)."""

    label: str
    value: float | int
    min: float | int
    max: float | int
    step: float | int = 1
    dtype: type = int

    @property
    def is_float_slider(self) -> bool:
        return self.dtype is float


@dataclass(frozen=True)
class WorldPage:
    """What the browser shows for one world: its model parameters (fixed values and user inputs) and plots.

    components: (plot, tab index) pairs, as Mesa's SolaraViz takes them; `tabs` names the tabs in index order.
    An input named "a.b" (say "parameters.k") sets key b of the model argument a, so a slider can change one
    entry of a mapping; a Select with a "meaning" mapping passes meaning[label] for the label chosen.
    `steps_per_frame` is how many steps Step takes and Play draws after, at the start: a world that collects
    every n steps sets n, so that the first Step shows a new point.
    """

    model_params: dict[str, Any]
    components: list[tuple[Callable[..., Any], int]]
    tabs: tuple[str, ...] = ()
    steps_per_frame: int = 1

    def inputs(self) -> dict[str, Any]:
        """The inputs a user can change (sliders, ours or Mesa's, and selects), by model argument."""
        return {name: spec for name, spec in self.model_params.items()
                if hasattr(spec, "is_float_slider") or (isinstance(spec, dict) and "type" in spec)}

    def tab_names(self) -> list[str]:
        """One name per tab (index order); a tab the page does not name is called by its plots."""
        indices = sorted({index for _, index in self.components})
        named = dict(enumerate(self.tabs))
        return [named.get(index) or ", ".join(_plot_name(plot) for plot, i in self.components if i == index)
                for index in indices]

    def initial_arguments(self) -> dict[str, Any]:
        """The model's keyword arguments before any input is touched: fixed values, and each input's start value."""
        inputs = self.inputs()
        return self.model_arguments({name: _start_value(spec) for name, spec in inputs.items()})

    def model_arguments(self, values: dict[str, Any]) -> dict[str, Any]:
        """The model's keyword arguments for these input values (by input name) on top of the fixed ones."""
        inputs = self.inputs()
        arguments = {name: value for name, value in self.model_params.items() if name not in inputs}
        for name, value in values.items():
            meaning = inputs[name].get("meaning") if isinstance(inputs.get(name), dict) else None
            value = meaning[value] if meaning else value
            argument, _, key = name.partition(".")
            if key:
                arguments[argument] = {**arguments[argument], key: value}
            else:
                arguments[argument] = value
        return arguments


def _start_value(spec: Any) -> Any:
    return spec["value"] if isinstance(spec, dict) else spec.value


def _plot_name(plot: Any) -> str:
    """A plot component's name in words: "LandscapePlot" -> "landscape"."""
    name = getattr(plot, "__name__", None) or getattr(getattr(plot, "f", None), "__name__", "plots")
    return name.removesuffix("Plot").lower() or "plots"
