"""Every registered world's page plots, drawn without a browser: each has a key (a legend or a colourbar), and
no text smaller than the house's smallest font."""

from __future__ import annotations

from typing import Any

import ipyvuetify as v
import pytest
import solara
from matplotlib.figure import Figure
from matplotlib.text import Text

import scenarios
from models.registry import worlds
from models.viz import SMALL_FONT
from optiscape.app import ScenarioPage, showcase_scenario

WITH_PAGES = [name for name, entry in worlds().items() if entry.page]
MOST_STEPS = 3


def _keys(figure: Figure) -> int:
    """Legends and colourbars in a figure."""
    legends = len(figure.legends) + sum(axes.get_legend() is not None for axes in figure.axes)
    colourbars = sum(axes.get_label() == "<colorbar>" for axes in figure.axes)
    return legends + colourbars


@solara.component
def InAppLayout(scenario: scenarios.Scenario) -> None:
    """The page as the server shows it: inside Solara's app layout, which holds the sidebar (and Step)."""
    with solara.AppLayout():
        ScenarioPage(scenario)


@pytest.mark.parametrize("world", WITH_PAGES)
def test_every_plot_on_a_page_has_a_key_and_readable_text(world: str, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[Figure] = []
    real = solara.FigureMatplotlib

    def capture(figure: Figure, *args: Any, **kwargs: Any) -> Any:
        drawn.append(figure)
        return real(figure, *args, **kwargs)

    monkeypatch.setattr(solara, "FigureMatplotlib", capture)
    pressed = 0
    _, context = solara.render(InAppLayout(scenarios.load(showcase_scenario(world))), handle_error=False)
    try:
        step = context.find(v.Btn, children=["Step"])
        while not drawn and len(step.widgets) == 1 and pressed < MOST_STEPS:  # a page may explain before it draws
            step.widget.click()
            pressed += 1
        assert drawn, f"{world}: no plot on the first tab after {MOST_STEPS} Steps"
        for figure in drawn:
            figure.canvas.draw()  # lays the text out, as the PNG does
            title = figure.axes[0].get_title() if figure.axes else ""
            assert _keys(figure) > 0, f"{world}: a plot with neither a legend nor a colourbar ({title!r})"
            small = sorted({round(t.get_fontsize(), 1) for t in figure.findobj(Text)
                            if t.get_text().strip() and t.get_visible() and t.get_fontsize() < SMALL_FONT - 0.5})
            assert not small, f"{world}: text of {small} pt in the plot {title!r}"
    finally:
        context.close()
