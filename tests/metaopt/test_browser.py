"""The meta-optimization and intelligence-density pages in a headless Chromium: load, Step, see the plots change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from optiscape.app import page_builder
from tests import test_browser
from tests.test_browser import (
    STEPS,
    _open_page,
    _plot_area,
    _press_step,
    _wait_for_plot,
    _wait_until_ready,
    needs_chromium,
)

serve = test_browser.serve  # the page-server fixture, shared

pytestmark = pytest.mark.browser

# Small enough to step quickly on a loaded machine: 4 algorithms on 20 wells, a compute budget of 200 explorers.
METAOPT_SCENARIO = """\
model: metaopt
title: Meta-optimization, small
seed: 3
steps: 100
params:
  landscape: {function: wells, dim: 2, wells: 20, seed: 7}
  algorithms:
    - {count: 4, n_explorers: 5, angle: 40.0, speed: 0.08, generality: 0.5, reproduction: 0.02,
       start: {low: -4.0, high: 4.0}}
  compute_budget: 200
"""
INTELLIGENCE_SCENARIO = "intelligence_retire_versions"  # shipped: humans are lost within a few steps


@needs_chromium
def test_step_moves_the_explorers_and_grows_the_lineage(serve: Callable[[str | Path], str], tmp_path: Path) -> None:
    scenario = tmp_path / "metaopt_small.yaml"
    scenario.write_text(METAOPT_SCENARIO, encoding="utf-8")
    with _open_page(serve(scenario)) as (page, record):
        step_button = _wait_until_ready(page, "Meta-optimization, small", 2)  # landscape, traits
        landscape_at_start = _plot_area(page, 0)
        page.get_by_role("tab", name="Lineage").click()
        lineage_at_start = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, landscape_at_start))
        _press_step(page, step_button)
        lineage_after = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, lineage_at_start))
        page.get_by_role("tab", name="Landscape and traits").click()
        landscape_after = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, landscape_at_start))
        page.screenshot(path=tmp_path / "metaopt_page_after_steps.png", full_page=True)

    assert not np.array_equal(landscape_after, landscape_at_start), "the explorers did not move on the landscape"
    assert not np.array_equal(lineage_after, lineage_at_start), "the lineage plot did not change after Step"
    assert record.console_errors == []
    assert record.outside_requests == []


@needs_chromium
def test_step_moves_the_intelligence_line(serve: Callable[[str | Path], str], tmp_path: Path) -> None:
    with _open_page(serve(INTELLIGENCE_SCENARIO)) as (page, record):
        step_button = _wait_until_ready(page, "Intelligence density: retire old AI versions", 2)
        line_at_start = _plot_area(page, 0)
        _press_step(page, step_button)
        line_after = _wait_for_plot(page, 0, lambda pixels: not np.array_equal(pixels, line_at_start))
        page.screenshot(path=tmp_path / "intelligence_page_after_steps.png", full_page=True)

    assert STEPS == 3
    assert not np.array_equal(line_after, line_at_start), "the intelligence line did not change after Step"
    assert record.console_errors == []
    assert record.outside_requests == []


def test_both_worlds_have_pages() -> None:
    for world in ("metaopt", "intelligence"):
        assert callable(page_builder(world))
