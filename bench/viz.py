"""Time from the command to a usable page, split into start-up (until the port answers), page (until Step can be
pressed) and first plot (until a plot shows): `optiscape viz` (one process: the server runs in it) beside the way
it used to start, `python -m solara run optiscape.app` in a second process, in one run.

The browser (Debian's headless Chromium, as the browser tests use) is already running, as a user's is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from optiscape.app import serve_environment

SCENARIO = "sgd_pit_escape"
NAME = "viz.first_render"
UNIT = "pages/s"
ROUNDS = 3
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _commands(port: int) -> dict[str, list[str]]:
    return {
        "optiscape viz": [sys.executable, "-m", "optiscape.cli", "viz", SCENARIO, "--port", str(port)],
        "solara run (2 processes)": [sys.executable, "-m", "solara", "run", "optiscape.app", "--host", "127.0.0.1",
                                     "--port", str(port), "--production", "--no-open", "--no-check-version"],
    }


def _time_one(browser, variant: str) -> dict[str, float]:
    """Seconds from the command to: the port answering, Step enabled, the first plot shown."""
    from playwright.sync_api import expect

    port = _free_port()
    environment = {**os.environ, **serve_environment(SCENARIO)}
    started = time.perf_counter()
    server = subprocess.Popen(_commands(port)[variant], env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        split = {"start-up": time.perf_counter() - started}
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"http://127.0.0.1:{port}/")
        expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=120_000)
        split["page"] = time.perf_counter() - started
        expect(page.locator("img.widget-image").first).to_be_visible(timeout=120_000)
        split["first plot"] = time.perf_counter() - started
        page.close()
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    return split


def run() -> list[dict]:
    """Both ways, ROUNDS times in turn; the best of each (by time to the first plot), with its split."""
    from playwright.sync_api import sync_playwright

    best: dict[str, dict[str, float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(ROUNDS):
                for variant in _commands(0):
                    split = _time_one(browser, variant)
                    if variant not in best or split["first plot"] < best[variant]["first plot"]:
                        best[variant] = split
        finally:
            browser.close()
    for variant, split in best.items():
        print(f"  {variant}: " + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in split.items()), flush=True)
    return [{"benchmark": NAME, "variant": variant, "rate": 1 / split["first plot"], "unit": UNIT,
             "split_seconds": split} for variant, split in best.items()]


# The target is "no slower": one process saves a second interpreter's start-up, a few tenths of a second.
RATIOS = [(NAME, "optiscape viz", "solara run (2 processes)", 1.0)]
