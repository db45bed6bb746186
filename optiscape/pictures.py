"""`make docs`: every world's page as a screenshot and its key run figure, drawn anew into docs/img/.

    python -m optiscape.pictures [--out docs/img] [--only WORLD]

A page is shown with its showcase scenario (models.registry), in the headless Chromium the browser tests use, at
1366x768 after a few Steps; the key figure is the world's `key_figure` ("scenario:figure.png") from a run of that
scenario. A world added to the registry gets both without a line here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scenarios
from models.registry import worlds
from optiscape.app import serve_command, showcase_scenario

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1366, "height": 768}
STEPS_BEFORE_SHOT = 3  # Step presses before the screenshot, so that the plots show the world moving
README_FIGURE = ("sgd_pit_escape", "escape.png", "demo_escape.png")  # the README's picture
SERVER_START_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def page_screenshots(out: Path, names: list[str]) -> list[Path]:
    """docs/img/<world>_page.png for each named world, from one page server."""
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    server = subprocess.Popen(serve_command(showcase_scenario(names[0]), port), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    written = []
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the page server on 127.0.0.1:{port} did not start") from None
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                for name in names:
                    scenario = showcase_scenario(name).stem
                    page = browser.new_page(viewport=VIEWPORT)
                    page.goto(f"http://127.0.0.1:{port}/?scenario={scenario}")
                    step = page.get_by_role("button", name="Step")
                    expect(step).to_be_enabled(timeout=60_000)
                    for _ in range(STEPS_BEFORE_SHOT):
                        step.click()
                        expect(step).to_be_enabled(timeout=60_000)
                    expect(page.get_by_text("Time: 0.0")).not_to_be_visible(timeout=60_000)
                    expect(page.locator(".optiscape-plots img.widget-image").first).to_be_visible(timeout=60_000)
                    time.sleep(1.0)  # the last frame's images arrive after the time does
                    path = out / f"{name}_page.png"
                    page.screenshot(path=path)
                    page.close()
                    written.append(path)
                    print(f"  {path}  ({scenario} in the browser)", flush=True)
            finally:
                browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    return written


def key_figures(out: Path, names: list[str]) -> list[Path]:
    """docs/img/<world>.png for each named world that declares a key figure, and the README's picture."""
    from optiscape.run import run

    wanted = [(name, *worlds()[name].key_figure.split(":"), f"{name}.png") for name in names
              if worlds()[name].key_figure]
    if "sgd" in names:
        wanted.append(("sgd", *README_FIGURE))
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for _, scenario_name, figure, target in wanted:
            folder = Path(scratch) / scenario_name
            if not folder.exists():
                run(scenarios.load(scenario_name), folder, progress=sys.stderr.isatty())
            if not (folder / figure).exists():
                raise ValueError(f"{scenario_name}: its run drew no {figure}: expected one of "
                                 f"{sorted(p.name for p in folder.glob('*.png'))}")
            shutil.copyfile(folder / figure, out / target)
            written.append(out / target)
            print(f"  {out / target}  ({figure} of {scenario_name})", flush=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m optiscape.pictures", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/img", help="the folder to write into (default: docs/img)")
    parser.add_argument("--only", help="one world (default: every world with a page)")
    args = parser.parse_args(argv)
    names = [name for name, entry in worlds().items() if entry.page]
    if args.only is not None:
        if args.only not in names:
            print(f"pictures: error: --only {args.only!r}: expected one of {', '.join(names)}", file=sys.stderr)
            return 2
        names = [args.only]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("pages:", flush=True)
    page_screenshots(out, names)
    print("key figures:", flush=True)
    key_figures(out, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
