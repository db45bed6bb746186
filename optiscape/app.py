"""The browser view: a SolaraViz page for any registered world, served by `solara run optiscape.app`.

The page shows the scenario named by the environment variable OPTISCAPE_SCENARIO (a YAML path,
or the name of a shipped scenario), `sgd_pit_escape` when it is unset. Every browser session
builds its own model, seeded from the scenario. Each world declares a page builder (models.registry):
it turns a scenario into SolaraViz's model parameters (fixed values and user inputs) and plots.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import solara
import solara.lab
import solara.server.settings

import scenarios
from models.frame import frame
from models.registry import worlds
from models.viz import WorldPage, input_value_text
from scenarios import Scenario

SCENARIO_VARIABLE = "OPTISCAPE_SCENARIO"
DEFAULT_SCENARIO = "sgd_pit_escape"

# The page must work offline: without this, Solara's server reports usage to mixpanel.com.
solara.server.settings.telemetry.mixpanel_enable = False


def serve_command(scenario_path: str | Path, port: int) -> list[str]:
    """The argv of `optiscape viz` serving the scenario on 127.0.0.1:port (for a test or a script to start).

    The scenario is loaded here, so a bad file fails with its one-line message before a server starts.
    """
    path = scenarios.load(scenario_path).path.resolve()
    return [sys.executable, "-m", "optiscape.cli", "viz", str(path), "--port", str(port)]


def serve_environment(scenario_path: str | Path) -> dict[str, str]:
    """The environment a page server reads: the scenario's absolute path, and Solara's telemetry off."""
    path = scenarios.load(scenario_path).path.resolve()
    return {SCENARIO_VARIABLE: str(path), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}


def serve(scenario_path: str | Path, port: int, on_ready: Callable[[], None] = lambda: None) -> None:
    """Serve the scenario's page on 127.0.0.1:port in this process until SIGINT or SIGTERM; `on_ready` is called
    once the server answers.

    The world's page and model are imported before the server answers, so the first page load only draws
    (importing them in a thread beside the starting server measured no faster: the two share one interpreter).
    """
    scenario = scenarios.load(scenario_path)
    page_builder(scenario.model)(scenario)
    scenario.world.model_class()
    os.environ.update(serve_environment(scenario.path))
    # What `solara run` sets for its server: the app to serve and where it is served.
    os.environ.update({"SOLARA_APP": __name__, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port)})
    solara.server.settings.main.mode = "production"
    # Solara warns on every first load over plain http that it falls back to samesite=lax cookies: as it should
    # on 127.0.0.1, so the warning says nothing to a user.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)
    import uvicorn
    from solara.server.starlette import app

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # The page server holds nothing to save: Ctrl-C or SIGTERM ends it at once, open pages and all.
            os._exit(0)

    server = Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            on_ready()

    threading.Thread(target=announce, daemon=True).start()
    server.run()


def page_builder(world_name: str) -> Callable[[Scenario], WorldPage]:
    """The page builder a world declares, or a ValueError naming the worlds that have one."""
    with_pages = {name: entry for name, entry in worlds().items() if entry.page}
    if world_name not in with_pages:
        raise ValueError(f"no browser page for world {world_name!r}: expected one of {sorted(with_pages)}")
    return with_pages[world_name].page_builder()


def showcase_scenario(world_name: str) -> Path:
    """The shipped scenario that shows a world's page (its `showcase`, else its first shipped scenario by name)."""
    entry = worlds()[world_name]
    if entry.showcase:
        return scenarios.load(entry.showcase).path
    own = sorted(path for path in scenarios.shipped() if scenarios.heading(path)[0] == world_name)
    if not own:
        raise ValueError(f"world {world_name!r} ships no scenario: expected a showcase scenario to show its page")
    return own[0]


# --- the page ----------------------------------------------------------------------------------


@solara.component
def StepTime(model: Any) -> None:
    """The model's time, as Mesa counts it (one per step), and whether the world has finished."""
    frame.get()
    solara.Text(f"Time: {model.time}" + ("" if model.running else " (the world has finished: Reset starts it anew)"))


@solara.component
def InputWithValue(name: str, spec: Any, value: Any, on_value: Callable[[str, Any], None]) -> None:
    """One input (a Mesa Slider, or a dict with type Select), its current value shown: a slider's in its label, a
    select's in its field (once: the label does not repeat it)."""
    label = spec["label"] if isinstance(spec, dict) else spec.label
    if isinstance(spec, dict):
        if spec["type"] != "Select":
            raise ValueError(f"input {name!r}: type {spec['type']!r} is not shown on a page; expected a Mesa Slider "
                             "or a Select")
        solara.Select(label, value=value, values=spec["values"], on_value=lambda v: on_value(name, v))
        return
    text = f"{label}: {input_value_text(value)}"
    slider = solara.SliderFloat if spec.is_float_slider else solara.SliderInt
    slider(text, value=value, min=spec.min, max=spec.max, step=spec.step, on_value=lambda v: on_value(name, v))


@solara.component
def WorldViz(page: WorldPage, model_class: Any, title: str, steps: int | None = None) -> None:
    """A world's page: Reset, Play and Step; its inputs with their values; its plots on labelled tabs.

    Changing an input starts the world anew with that value; the title then says which inputs differ from the
    scenario's (whose values it may quote). The world finishes at `steps`, the scenario's length. The controls and
    the plots are separate components, so pressing a button redraws the buttons, and only a new frame (or a new
    world) redraws the plots.
    """
    built = solara.use_memo(lambda: model_class(**page.initial_arguments()), [page])
    model = solara.use_reactive(built)
    inputs = page.inputs()
    initial = {name: spec["value"] if isinstance(spec, dict) else spec.value for name, spec in inputs.items()}
    values = solara.use_reactive(initial)
    # Held while the model steps and while a plot reads it: Solara draws in a thread of its own.
    lock = solara.use_memo(threading.RLock, [])
    frames = solara.use_memo(FrameClock, [])
    solara.Style(PAGE_CSS)
    changed = [f"{_input_label(inputs[name])} = {_shown(value)}" for name, value in values.value.items()
               if value != initial[name]]
    with solara.AppBar():
        solara.AppBarTitle(title + (f" — changed: {', '.join(changed)}" if changed else ""))
    with solara.Sidebar():
        Controls(page, model_class, model, values, lock, frames, steps)
    PlotTabs(page, model, lock, frames)


def _input_label(spec: Any) -> str:
    return str(spec["label"] if isinstance(spec, dict) else spec.label)


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@solara.component
def Controls(page: WorldPage, model_class: Any, model: solara.Reactive[Any], values: solara.Reactive[dict[str, Any]],
             lock: Any, frames: FrameClock, steps: int | None) -> None:
    """Reset, Play and Step, steps per frame, the time, and the world's inputs with their values.

    Play steps the model in a thread, `steps per frame` at a time, and asks for a new frame only when the last one
    is drawn and the model has stepped at least as long as that frame took to draw: the model, not the drawing,
    sets the pace. At the scenario's `steps` the world has finished, as `optiscape run` stops there.
    """
    inputs = page.inputs()
    playing = solara.use_reactive(False)
    steps_per_frame = solara.use_reactive(page.steps_per_frame)
    error = solara.use_reactive(cast(str | None, None))

    def advance() -> None:
        with lock:
            for _ in range(steps_per_frame.value):
                model.value.step()
                if steps is not None and model.value.steps >= steps:
                    model.value.running = False
                if not model.value.running:
                    playing.value = False
                    return

    def step() -> None:
        try:
            advance()
        except (ValueError, ArithmeticError) as exc:
            error.value = f"step failed: {exc}"
        next_frame()

    def play(cancel: threading.Event) -> None:
        if not playing.value:
            return
        closed = _session_closed()
        try:
            while playing.value and not cancel.is_set() and not closed.is_set():
                advance()
                if frames.due():
                    frames.request()
                    next_frame()
        except Exception as exc:  # a thread's exception is otherwise lost: the page must say it
            error.value = f"Play stopped: {type(exc).__name__}: {exc}"
            playing.value = False
        next_frame()  # the state Play stopped at

    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)

    def rebuild(new_values: dict[str, Any]) -> None:
        playing.value = False
        error.value = None
        try:
            model.value = model_class(**page.model_arguments(new_values))
        except ValueError as exc:  # a combination of inputs the world rejects: say so, keep the last world
            error.value = str(exc)
            return
        values.value = new_values

    def change(name: str, value: Any) -> None:
        rebuild({**values.value, name: value})

    with solara.Card("Controls"):
        with solara.Row(justify="space-between"):
            solara.Button("Reset", color="primary", on_click=lambda: rebuild(values.value))
            running = model.value.running  # False once the world has finished
            solara.Button("❚❚ Pause" if playing.value else "▶ Play", color="primary",
                          on_click=lambda: playing.set(not playing.value), disabled=not running)
            solara.Button("Step", color="primary", on_click=step, disabled=playing.value or not running)
        solara.SliderInt(f"steps per frame: {steps_per_frame.value}", value=steps_per_frame, min=1,
                         max=max(100, page.steps_per_frame * 10), step=1)
        StepTime(model.value)
        if error.value:
            solara.Error(error.value)
    with solara.Card("Model parameters"):
        for name, spec in inputs.items():
            InputWithValue(name, spec, values.value[name], change)
        if not inputs:
            solara.Text("Every parameter comes from the scenario file.")


def next_frame() -> None:
    """Redraw every plot: one more frame (and one more of Mesa's, for plots written against Mesa's counter)."""
    frame.value += 1
    mesa_visualization = sys.modules.get("mesa.visualization.utils")
    if mesa_visualization is not None:
        mesa_visualization.update_counter.value += 1


def _session_closed() -> threading.Event:
    """Set when this browser session's tab closes, so that Play stops with it (never set in Jupyter)."""
    from solara.server import kernel_context

    try:
        return kernel_context.get_current_context().closed_event
    except RuntimeError:  # no server session: a notebook
        return threading.Event()


class FrameClock:
    """Whether Play may ask for a new frame: the last one is drawn, and the model has since stepped at least as
    long as it took to draw (a frame not drawn within FRAME_TIMEOUT counts as drawn, so Play never stalls)."""

    FRAME_TIMEOUT = 10.0  # seconds

    def __init__(self) -> None:
        self.pending = False
        self.requested = self.finished = time.monotonic()
        self.drawing = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if self.pending and now - self.requested > self.FRAME_TIMEOUT:
            self.drawn()
        return not self.pending and now - self.finished >= self.drawing

    def request(self) -> None:
        self.pending, self.requested = True, time.monotonic()

    def drawn(self) -> None:
        if self.pending:
            self.finished = time.monotonic()
            self.pending, self.drawing = False, self.finished - self.requested


@solara.component
def FrameDrawn(frames: FrameClock) -> None:
    """Nothing to see: tells the frame clock when a frame's plots are drawn (its effect runs after theirs)."""
    frame.get()
    solara.use_effect(frames.drawn)


@solara.component
def LockedPlot(plot: Any, model: Any, lock: Any) -> None:
    """A page's plot, its function run while holding the model's lock (so no step runs while it reads the model)."""
    with lock:
        getattr(plot, "f", plot)(model)


@solara.component
def PlotTabs(page: WorldPage, model: solara.Reactive[Any], lock: Any, frames: FrameClock) -> None:
    """The world's plots, one labelled tab at a time (only the tab shown is drawn)."""
    tab = solara.use_reactive(0)
    indices = sorted({index for _, index in page.components})
    with solara.lab.Tabs(value=tab):
        for name in page.tab_names():
            solara.lab.Tab(name)
    with solara.Div(classes=["optiscape-plots"]):
        for plot, index in page.components:
            if index == indices[tab.value]:
                LockedPlot(plot, model.value, lock).key(_plot_key(plot))
        FrameDrawn(frames)


def _plot_key(plot: Any) -> str:
    function = getattr(plot, "f", plot)
    return f"{function.__module__}.{function.__qualname__}"


# Plots fill their grid cell (matplotlib's PNGs are drawn at 100 dpi, wider than a cell at 1366x768); toggle
# buttons wrap to the plot's width; one that is on is filled, one that is off is white.
PAGE_CSS = """
.optiscape-plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px;
                   padding: 12px; }
.optiscape-plots img.widget-image { max-width: 100%; height: auto; }
.v-btn-toggle { flex-wrap: wrap; }
.v-btn-toggle > .v-btn.v-btn--active { background-color: #1976d2 !important; color: #fff !important; }
.v-btn-toggle > .v-btn:not(.v-btn--active) { background-color: #fff !important; color: #555 !important; }
"""


@solara.component
def ScenarioPage(scenario: Scenario) -> None:
    """The page of one scenario, with a model of its own for this browser session."""
    page = solara.use_memo(lambda: page_builder(scenario.model)(scenario), [scenario])
    WorldViz(page, scenario.world.model_class(), scenario.title, scenario.steps)


def page_for(scenario_path: str | Path) -> Any:
    """The page for one scenario file (or shipped scenario name), e.g. to display in Jupyter."""
    scenario = scenarios.load(scenario_path)
    page_builder(scenario.model)
    return ScenarioPage(scenario)


def requested_scenario(search: str | None) -> str:
    """The scenario a page address asks for: `?scenario=NAME` names a shipped scenario (only those: the address
    must not read files), else the server's own (OPTISCAPE_SCENARIO)."""
    asked = parse_qs(search or "").get("scenario", [""])[0]
    if asked:
        known = {path.stem for path in scenarios.shipped()}
        if asked not in known:
            raise ValueError(f"?scenario={asked!r}: not a shipped scenario; expected one of `optiscape list`")
        return asked
    return os.environ.get(SCENARIO_VARIABLE, DEFAULT_SCENARIO)


@solara.component
def Page() -> None:
    """What the server serves: the scenario named by OPTISCAPE_SCENARIO, or a shipped one named in the address."""
    router = solara.use_router()
    try:
        path, problem = requested_scenario(router.search), None
    except ValueError as exc:
        path, problem = None, str(exc)
    scenario = solara.use_memo(lambda: scenarios.load(path) if path else None, [path])
    if scenario is None:
        solara.Error(problem)
        return
    ScenarioPage(scenario)
