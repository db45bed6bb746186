"""Every registered world's page, in one headless Chromium at 1366x768: labelled tabs, a parameter panel whose
inputs show their values, plots, Play advancing the time, and no console errors.

One page server serves every world's showcase scenario (`?scenario=NAME`), so a world added to the registry is
held to the same page without a line here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.registry import worlds
from optiscape.app import requested_scenario, showcase_scenario
from tests.test_browser import _open_page, needs_chromium, start_server

WITH_PAGES = [name for name, entry in worlds().items() if entry.page]
SLIDER_WITH_VALUE = re.compile(r":\s*-?[\d,.]+(e-?\d+)?\s*$")  # "walkers per temperature: 800", "k: 1e-05"
TIME = re.compile(r"Time: (\d+)\.0")


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One page server for every world's showcase page, started once for this module."""
    url, stop = start_server("sgd_pit_escape", tmp_path_factory.mktemp("pages"))
    yield url
    stop()


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("world", WITH_PAGES)
def test_page_is_an_instrument_and_plays(world: str, page_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect

    scenario = showcase_scenario(world)
    with _open_page(f"{page_server}?scenario={scenario.stem}", viewport=(1366, 768)) as (page, record):
        step_button = page.get_by_role("button", name="Step")
        expect(step_button).to_be_enabled(timeout=60_000)
        expect(page.get_by_text("Time: 0.0")).to_be_visible()
        # a plot, or the explanation a page shows until it has something to plot
        expect(page.locator(".optiscape-plots img.widget-image, .optiscape-plots .v-alert").first).to_be_visible(
            timeout=30_000)

        tabs = page.get_by_role("tab").all_inner_texts()
        panel = page.locator(".v-card", has_text="Model parameters")
        inputs = panel.locator(".v-input").count()
        slider_labels = panel.locator(".v-slider").locator("xpath=ancestor::div[contains(@class,'v-input')][1]") \
            .locator("label").all_inner_texts()

        page.get_by_role("button", name="Play").click()
        expect(page.get_by_text(TIME)).not_to_have_text("Time: 0.0", timeout=30_000)
        try:
            page.get_by_role("button", name="Pause").click(timeout=10_000)
        except PlaywrightTimeoutError:  # a short world may finish while playing: Play stops by itself
            pass
        expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=30_000)
        page.screenshot(path=tmp_path / f"{world}.png")
        for index in range(len(tabs)):  # every tab draws without a console error (a missing asset shows up here)
            page.get_by_role("tab").nth(index).click()
            expect(page.locator(".optiscape-plots img.widget-image, .optiscape-plots .v-alert").first).to_be_visible(
                timeout=30_000)
        page.wait_for_timeout(1000)

    assert tabs and not any(re.fullmatch(r"(?i)page \d+", tab.strip()) for tab in tabs), f"unlabelled tabs: {tabs}"
    assert inputs > 0, f"{world}: the parameter panel is empty"
    unvalued = [label for label in slider_labels if not SLIDER_WITH_VALUE.search(label)]
    assert not unvalued, f"{world}: sliders that do not show their value: {unvalued}"
    assert record.console_errors == []
    assert record.outside_requests == []


def test_every_world_with_a_page_has_a_showcase_scenario() -> None:
    for world in WITH_PAGES:
        assert showcase_scenario(world).exists()


def test_an_address_may_name_only_a_shipped_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTISCAPE_SCENARIO", "/some/file.yaml")
    assert requested_scenario("scenario=density_pit_escape") == "density_pit_escape"
    assert requested_scenario("") == "/some/file.yaml"
    with pytest.raises(ValueError, match=r"\?scenario='/etc/passwd': not a shipped scenario"):
        requested_scenario("scenario=/etc/passwd")
