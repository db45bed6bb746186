"""The knowledge world's page in a headless Chromium: Step trains, the loss plot grows, r-q and the heatmap appear."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.test_browser import (  # noqa: F401 (serve is a fixture)
    _open_page,
    _plot_area,
    _wait_until_ready,
    needs_chromium,
    serve,
)

pytestmark = pytest.mark.browser

# The digits variant, small: 20 hidden units, 2 epochs; at 1000 examples a Step, every run has finished by step 3.
SCENARIO = """\
model: knowledge
title: Knowledge on the 8x8 digits, small
seed: 3
steps: 10
params:
  hidden: 20
  learning_rate: 0.01
  phase1_examples: 700
  phase1_epochs: 2
  phase2_epochs: 2
  seeds: 2
  examples_per_step: 1000
"""


@needs_chromium
def test_step_trains_and_the_scatter_and_heatmap_appear(serve: Callable[[str | Path], str],  # noqa: F811
                                                         tmp_path: Path) -> None:
    from playwright.sync_api import expect

    path = tmp_path / "knowledge_small.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    with _open_page(serve(path)) as (page, record):
        # Before the first Step the page explains what each plot will show, instead of empty plots.
        step_button = _wait_until_ready(page, "Knowledge on the 8x8 digits, small", 0)
        expect(page.get_by_text("learning rate")).to_be_visible()
        expect(page.get_by_text("Loss per run: nothing trained yet")).to_be_visible()
        expect(page.get_by_text("q against r: q is measured when")).to_be_visible()
        for _ in range(3):
            step_button.click()
        expect(page.get_by_text("Time: 3.0")).to_be_visible(timeout=30_000)
        expect(page.locator("img.widget-image")).to_have_count(3, timeout=15_000)  # progress, scatter, heatmap
        progress, scatter = _plot_area(page, 0), _plot_area(page, 1)
        page.screenshot(path=tmp_path / "knowledge_page.png")

    assert np.ptp(progress) > 0, "the progress plot is blank"
    # the scatter has blue points (the same network)
    blue = np.sum((scatter[..., 2] > 0.6) & (scatter[..., 0] < 0.35))
    assert blue > 50
    assert record.console_errors == []
    assert record.outside_requests == []
