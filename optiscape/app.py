"""The browser view: a SolaraViz page for any registered world, served by `solara run optiscape.app`.

The page shows the scenario named by the environment variable OPTISCAPE_SCENARIO (a YAML path,
or the name of a shipped scenario), `sgd_pit_escape` when it is unset. Every browser session
builds its own model, seeded from the scenario. Each world declares a page builder (models.registry):
it turns a scenario into SolaraViz's model parameters (fixed values and user inputs) and plots.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
import solara.server.settings
from mesa.visualization import SolaraViz

import scenarios
from models.registry import worlds
from models.viz import WorldPage
from scenarios import Scenario

SCENARIO_VARIABLE = "OPTISCAPE_SCENARIO"
DEFAULT_SCENARIO = "sgd_pit_escape"

# The page must work offline: without this, Solara's server reports usage to mixpanel.com.
solara.server.settings.telemetry.mixpanel_enable = False


def serve_command(scenario_path: str | Path, port: int) -> list[str]:
    """The argv that serves the page on 127.0.0.1:port, for OPTISCAPE_SCENARIO set as `serve_environment` gives it.

    The scenario is loaded here, so a bad file fails with its one-line message before a server starts.
    """
    scenarios.load(scenario_path)
    return [
        sys.executable, "-m", "solara", "run", "optiscape.app",
        "--host", "127.0.0.1", "--port", str(port), "--production",
        "--no-open", "--no-check-version",  # no browser of the server's own, no request to pypi.org
    ]


def serve_environment(scenario_path: str | Path) -> dict[str, str]:
    """The environment for `serve_command`: the scenario's absolute path (telemetry is also off on import)."""
    path = scenarios.load(scenario_path).path.resolve()
    return {SCENARIO_VARIABLE: str(path), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}


def page_builder(world_name: str) -> Callable[[Scenario], WorldPage]:
    """The page builder a world declares, or a ValueError naming the worlds that have one."""
    with_pages = {name: entry for name, entry in worlds().items() if entry.page}
    if world_name not in with_pages:
        raise ValueError(f"no browser page for world {world_name!r}: expected one of {sorted(with_pages)}")
    return with_pages[world_name].page_builder()


# --- the page ----------------------------------------------------------------------------------


@solara.component
def ScenarioPage(scenario: Scenario) -> None:
    """SolaraViz for one scenario, with a model of its own for this browser session."""
    page = solara.use_memo(lambda: page_builder(scenario.model)(scenario), [scenario])
    # The same arguments as scenario.build() plus the inputs' start values: what Reset passes again.
    model = solara.use_memo(lambda: scenario.world.model_class()(**page.initial_arguments()), [page])
    SolaraViz(model, components=page.components, model_params=page.model_params, name=scenario.title)


def page_for(scenario_path: str | Path) -> Any:
    """The page for one scenario file (or shipped scenario name), e.g. to display in Jupyter."""
    scenario = scenarios.load(scenario_path)
    page_builder(scenario.model)
    return ScenarioPage(scenario)


@solara.component
def Page() -> None:
    """What `solara run optiscape.app` serves: the scenario named by OPTISCAPE_SCENARIO."""
    path = os.environ.get(SCENARIO_VARIABLE, DEFAULT_SCENARIO)
    scenario = solara.use_memo(lambda: scenarios.load(path), [path])
    ScenarioPage(scenario)
