"""What the worlds' browser pages and run figures share: the page's shape, plot sizes, and figure helpers.

A world's `page.py` builds a `WorldPage` from a scenario; its `figures.py` returns matplotlib Figures
(and any other outputs of a run as text or bytes) by file name, and `optiscape` writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

FIGURE_SIZE = (6.4, 4.4)  # inches; margins are fixed, as bbox_inches="tight" adds half again to each frame
LANDSCAPE_POINTS = 600
HISTOGRAM_BINS = 80

Outputs = dict[str, Figure | str | bytes]  # a run's figures and files by file name ("landscape.png": a Figure)


def tight(figure: Figure) -> Figure:
    """The figure with its subplots laid out to fit (as run figures are saved)."""
    figure.tight_layout()
    return figure


@dataclass(frozen=True)
class WorldPage:
    """What SolaraViz shows for one world: its model parameters (fixed values and user inputs) and plots."""

    model_params: dict[str, Any]
    components: list[tuple[Callable[..., Any], int]]

    def initial_arguments(self) -> dict[str, Any]:
        """The model's keyword arguments before any input is touched: fixed values, and each input's start value."""
        # Imported here: mesa.visualization imports Solara, which a run's figures never need.
        from mesa.visualization import Slider

        arguments = {}
        for name, spec in self.model_params.items():
            if isinstance(spec, Slider):
                arguments[name] = spec.value
            elif isinstance(spec, dict) and "type" in spec:
                arguments[name] = spec["value"]
            else:
                arguments[name] = spec
        return arguments
