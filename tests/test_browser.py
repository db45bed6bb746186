"""The browser view in a headless Chromium: load a world's page, press Step, see the step and the plot change."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import matplotlib.image
import numpy as np
import pytest

from optiscape.app import page_builder, serve_command, serve_environment

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCENARIO = "sgd_pit_escape"  # the shipped scenario, seed 20231107
CAUSAL_SCENARIO = "causal_linear_thermostat"  # shipped; deterministic, and a step is a few microseconds
SERVER_START_SECONDS = 90
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
STEPS = 3
# Small enough to load and step quickly: the chain, both Fokker-Planck forms and the Gaussian rule on 1500 cells.
CURRENT_SCENARIO = """\
model: current
title: A small rank-1 valley
seed: 5
steps: 10
params:
  landscape:
    dim: 2
    datapoints:
      plus:
        - polynomial: {coefficients: [0, 0.7071, 0.5], axis: 0}
        - polynomial: {coefficients: [0, 0.7071, 1.0], axis: 1}
      minus:
        - polynomial: {coefficients: [0, -0.7071, 0.5], axis: 0}
        - polynomial: {coefficients: [0, -0.7071, 1.0], axis: 1}
  temperature: 0.1
  grid: {low: [-0.8, -0.8], high: [0.8, 0.8], cells: 40}
  start: {at: [0.3, 0.0]}
  walkers: 500
"""
DENSITY_SCENARIO = """\
model: density
title: Density in the pit, four ways
seed: 1
steps: 100
params:
  landscape: {preset: pit}
  temperature: 0.015
  n_walkers: 2000
  start: {local_minimum: l1, near: 1.0}
  escape: {above: {local_maximum: l1, near: 1.2}}
  grid: {low: 0.3, cells: 1500}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_server(scenario: str | Path, directory: Path) -> tuple[str, Callable[[], None]]:
    """Start a page server for a scenario (a shipped name or a YAML path) as a subprocess, logging into directory;
    returns its URL and the function that stops it."""
    port = _free_port()
    log_path = directory / f"server-{port}.log"
    log = log_path.open("wb")
    environment = {**os.environ, **serve_environment(scenario)}
    # Its own process group: stopping it stops whatever it started too (no server outlives the test).
    server = subprocess.Popen(serve_command(scenario, port), env=environment, stdout=log,
                              stderr=subprocess.STDOUT, cwd=directory, start_new_session=True)

    def stop() -> None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()

    deadline = time.monotonic() + SERVER_START_SECONDS
    while not _port_answers(port):
        if server.poll() is not None or time.monotonic() > deadline:
            state = "is not answering" if server.returncode is None else f"exited with {server.returncode}"
            stop()
            pytest.fail(f"the page server on 127.0.0.1:{port} {state} (waited {SERVER_START_SECONDS} s at "
                        f"most); its output:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.25)
    return f"http://127.0.0.1:{port}/", stop


@pytest.fixture
def serve(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str | Path], str]:
    """Start a page server for a scenario as a subprocess, stopped after the test; returns its URL."""

    def start(scenario: str | Path) -> str:
        url, stop = start_server(scenario, tmp_path)
        request.addfinalizer(stop)
        return url

    return start


@dataclass
class BrowserRecord:
    """What a page did besides drawing: console errors and requests to hosts other than this machine."""

    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)


@contextmanager
def _open_page(url: str, viewport: tuple[int, int] = (1400, 1000)) -> Iterator[tuple[Any, BrowserRecord]]:
    """A headless Chromium tab on `url`, and the record of its console errors and outside requests."""
    from playwright.sync_api import sync_playwright

    record = BrowserRecord()

    def record_console(message) -> None:
        if message.type == "error":
            record.console_errors.append(message.text)

    def record_request(request) -> None:
        host = urlparse(request.url).hostname
        if host is not None and host not in LOOPBACK_HOSTS:
            record.outside_requests.append(request.url)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.on("console", record_console)
            page.on("pageerror", lambda error: record.console_errors.append(str(error)))
            page.on("request", record_request)  # every request, answered or failed
            page.goto(url)
            yield page, record
        finally:
            browser.close()


def _wait_until_ready(page, title: str, images: int):
    """Wait for the Step button, the title, "Time: 0.0" and `images` plots; returns the Step button."""
    from playwright.sync_api import expect

    step_button = page.get_by_role("button", name="Step")
    expect(step_button).to_be_enabled(timeout=30_000)
    expect(page.get_by_text(title)).to_be_visible()
    expect(page.get_by_text("Time: 0.0")).to_be_visible()
    expect(page.locator("img.widget-image")).to_have_count(images, timeout=15_000)
    return step_button


def _press_step(page, step_button) -> float:
    """Press Step STEPS times, wait until the page shows the new time, and return it (a Step takes the page's
    "steps per frame")."""
    from playwright.sync_api import expect

    per_step = int(re.search(r"steps per frame: (\d+)", page.get_by_text("steps per frame").inner_text()).group(1))
    for _ in range(STEPS):
        step_button.click()
    expect(page.get_by_text(f"Time: {STEPS * per_step:.1f}")).to_be_visible(timeout=15_000)
    return float(STEPS * per_step)


def _plot_area(page, index: int) -> np.ndarray:
    """The pixels of the index-th matplotlib figure on the page, below its title (rows x columns x RGBA)."""
    png = page.locator("img.widget-image").nth(index).evaluate(
        "async image => Array.from(new Uint8Array(await (await fetch(image.src)).arrayBuffer()))"
    )
    pixels = matplotlib.image.imread(io.BytesIO(bytes(png)), format="png")
    return pixels[len(pixels) // 10:]  # the title says the step; the rest is axes and data


def _wait_for_plot(page, index: int, wanted, seconds: float = 10) -> np.ndarray:
    """The index-th plot area once `wanted(pixels)` holds, or as it is after `seconds` (images load late)."""
    deadline = time.monotonic() + seconds
    pixels = _plot_area(page, index)
    while not wanted(pixels) and time.monotonic() < deadline:
        time.sleep(0.25)
        pixels = _plot_area(page, index)
    return pixels


needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian's chromium is not installed at {CHROMIUM}")


@needs_chromium
def test_step_redraws_the_walkers_and_reset_restores_them(serve: Callable[[str | Path], str], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _open_page(serve(SCENARIO)) as (page, record):
        step_button = _wait_until_ready(page, "Escaping the pit under SGD", 2)
        at_start = _plot_area(page, 0)
        _press_step(page, step_button)
        after_steps = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, at_start))
        page.screenshot(path=tmp_path / "page_after_steps.png")

        # Reset rebuilds the world from the scenario (seed 20231107): the walkers are back at the start.
        page.get_by_role("button", name="Reset").click()
        expect(page.get_by_text("Time: 0.0")).to_be_visible(timeout=15_000)
        after_reset = _wait_for_plot(page, 0, lambda pixels: np.array_equal(pixels, at_start))

    assert not np.array_equal(after_steps, at_start), "the walker plot did not change after Step"
    assert np.array_equal(after_reset, at_start), "Reset did not redraw the walkers at their start"
    assert record.console_errors == []
    assert record.outside_requests == []


@needs_chromium
def test_step_moves_the_densities_and_a_description_can_be_hidden(serve: Callable[[str | Path], str],
                                                                  tmp_path: Path) -> None:
    from playwright.sync_api import expect

    scenario = tmp_path / "density_pit.yaml"
    scenario.write_text(DENSITY_SCENARIO, encoding="utf-8")
    with _open_page(serve(scenario)) as (page, record):
        step_button = _wait_until_ready(page, "Density in the pit, four ways", 2)
        at_start = _plot_area(page, 0)
        _press_step(page, step_button)
        after_steps = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, at_start))
        page.screenshot(path=tmp_path / "density_page_after_steps.png")

        # Hiding a description is the page's own choice: the plot is redrawn, the run does not move.
        page.get_by_role("button", name="printed master").click()
        without_printed_master = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, after_steps))
        expect(page.get_by_text(f"Time: {STEPS:.1f}")).to_be_visible()

    assert not np.array_equal(after_steps, at_start), "the density plot did not change after Step"
    assert not np.array_equal(without_printed_master, after_steps), "hiding a description did not redraw the densities"
    assert record.console_errors == []
    assert record.outside_requests == []


@needs_chromium
def test_step_moves_the_current_worlds_density(serve: Callable[[str | Path], str], tmp_path: Path) -> None:
    scenario = tmp_path / "current_valley.yaml"
    scenario.write_text(CURRENT_SCENARIO, encoding="utf-8")
    with _open_page(serve(scenario)) as (page, record):
        step_button = _wait_until_ready(page, "A small rank-1 valley", 1)
        at_start = _plot_area(page, 0)
        _press_step(page, step_button)
        after_steps = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, at_start))

    assert not np.array_equal(after_steps, at_start), "the current world's density did not change after Step"
    assert record.console_errors == []
    assert record.outside_requests == []


@needs_chromium
def test_step_moves_the_causal_world_and_the_graph_can_show_tangents(serve: Callable[[str | Path], str],
                                                                     tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _open_page(serve(CAUSAL_SCENARIO)) as (page, record):
        step_button = _wait_until_ready(page, "The linear thermostat", 2)  # graph, Op (W over time: a tab)
        graph_at_start, op_at_start = _plot_area(page, 0), _plot_area(page, 1)
        _press_step(page, step_button)
        graph_after_steps = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, graph_at_start))
        # Op(A; R_0, R_t) is 0 at t = 0 and grows as the thermostat (T, in A) pulls R back: the curve rises.
        op_after_steps = _wait_for_plot(page, 1, lambda pixels: not np.array_equal(pixels, op_at_start))

        # Colouring the nodes by τ_X is the page's own choice: the graph is redrawn, the run does not move.
        page.get_by_role("button", name="X tangent").click()
        by_tangent = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, graph_after_steps))
        expect(page.get_by_text(f"Time: {STEPS:.1f}")).to_be_visible()
        page.screenshot(path=tmp_path / "causal_page_after_steps.png", full_page=True)

    assert not np.array_equal(graph_after_steps, graph_at_start), "the causal graph did not change after Step"
    assert not np.array_equal(op_after_steps, op_at_start), "the Op plot did not change after Step"
    assert not np.array_equal(by_tangent, graph_after_steps), "colouring by the X tangent did not redraw the graph"
    assert record.console_errors == []
    assert record.outside_requests == []


def test_unknown_world_names_the_known_ones() -> None:
    from models.registry import worlds

    with pytest.raises(ValueError) as raised:
        page_builder("nope")
    assert str(raised.value) == f"no browser page for world 'nope': expected one of {sorted(worlds())}"
    assert {"sgd", "density", "current", "causal", "metaopt", "intelligence", "knowledge",
            "cooperation"} <= set(worlds())


@needs_chromium
def test_sigterm_stops_a_playing_page_server_at_once(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    port = _free_port()
    server = subprocess.Popen(serve_command(CAUSAL_SCENARIO, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _port_answers(port) and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.25)
        with _open_page(f"http://127.0.0.1:{port}/") as (page, _):
            expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=30_000)
            page.get_by_role("button", name="Play").click()
            expect(page.get_by_text("Time: 0.0")).not_to_be_visible(timeout=30_000)  # playing
            stopped_at = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
            seconds = time.monotonic() - stopped_at
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    output = server.stdout.read().decode(errors="replace")
    assert seconds < 2, f"the server took {seconds:.1f} s to stop"
    assert "Traceback" not in output and "Warning" not in output, output  # a clean terminal: no third-party noise
    assert output.startswith("The linear thermostat"), output
