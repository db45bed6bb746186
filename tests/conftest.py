"""Shared test helpers."""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import settings


def mc_tolerance(p: float, n: int, sigmas: float = 4.0) -> float:
    """4 Monte Carlo standard errors of a proportion estimated from n samples (with a floor for p near 0 or 1)."""
    p = min(max(p, 1.0 / n), 1 - 1.0 / n)
    return sigmas * math.sqrt(p * (1 - p) / n)


@pytest.fixture
def pit_escape_params() -> dict:
    return {
        "landscape": {"preset": "pit"},
        "start": {"local_minimum": "l1", "near": 1.0},
        "escape": {"above": {"local_maximum": "l1", "near": 1.2}},
    }


# Hypothesis: a fixed derandomised profile in CI (reproducible), random exploration elsewhere.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
