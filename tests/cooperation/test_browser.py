"""The cooperation page in a headless Chromium: Step plays rounds, the plots move and the block table grows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from models.cooperation.page import block_html, cooperation_page
from scenarios import load
from tests.test_browser import STEPS, _open_page, _plot_area, _press_step, _wait_for_plot, _wait_until_ready, serve
from tests.test_browser import needs_chromium as _needs_chromium

__all__ = ["serve"]  # the fixture, imported so that pytest finds it here

# Small and quick: 20 humans, 10 AIs with 2 copies each, on a signed in-memory chain.
SCENARIO = """\
model: cooperation
title: Cooperation on a small chain
seed: 3
steps: 50
params:
  n_humans: 20
  n_ais: 10
  copies: 2
  initial_cooperation: 0.6
"""


@pytest.mark.browser
@_needs_chromium
def test_step_plays_rounds_and_the_block_table_grows(serve: Callable[[str | Path], str], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    scenario = tmp_path / "cooperation_small.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    with _open_page(serve(scenario)) as (page, record):
        step_button = _wait_until_ready(page, "Cooperation on a small chain", 2)  # cooperation, wealth
        cooperation_at_start = _plot_area(page, 0)
        page.get_by_role("tab", name="The chain").click()  # the chain plot and the latest blocks
        expect(page.get_by_text("chain height 2")).to_be_visible()  # genesis and the registrations
        chain_at_start = _plot_area(page, 0)
        _press_step(page, step_button)
        chain_after = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, chain_at_start))
        expect(page.get_by_text(f"chain height {2 + STEPS}")).to_be_visible(timeout=15_000)
        page.get_by_role("tab", name="Cooperation and wealth").click()
        cooperation_after = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, cooperation_at_start))
        page.screenshot(path=tmp_path / "cooperation_page_after_steps.png", full_page=True)

    assert not np.array_equal(cooperation_after, cooperation_at_start), "the cooperation plot did not change"
    assert not np.array_equal(chain_after, chain_at_start), "the chain plot did not change"
    assert record.console_errors == []
    assert record.outside_requests == []


def test_block_table_lists_the_newest_blocks_first(tmp_path: Path) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    page = cooperation_page(load(scenario))
    from models.cooperation.model import CooperationModel

    model = CooperationModel(**page.initial_arguments())
    for _ in range(3):
        model.step()
    text = block_html(model, 2)
    assert "chain height 5" in text
    rows = text.split("<tr>")[2:]
    assert [r.split("</td>")[0].removeprefix("<td>") for r in rows] == ["4", "3"]


def test_page_refuses_a_world_too_big_for_the_browser() -> None:
    with pytest.raises(ValueError, match="at most 5000 players in the browser, the scenario has 100000"):
        cooperation_page(load("cooperation_large"))


def test_the_ais_agreement_is_an_input_where_the_world_votes(tmp_path: Path) -> None:
    assert "ai_agreement" in cooperation_page(load("cooperation_capture_diverse")).inputs()
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    assert "ai_agreement" not in cooperation_page(load(scenario)).inputs()  # no proposals, no vote
